# The two commands of README.md. Each sets up .venv on a fresh machine first.
.PHONY: site test serve bench clean

site:
	bash scripts/setup.sh
	.venv/bin/python -m mkdocs build --strict

test:
	bash scripts/setup.sh
	bash scripts/browser-deps.sh
	.venv/bin/python -m pytest

serve:
	bash scripts/setup.sh
	.venv/bin/python -m mkdocs serve

bench:
	bash scripts/setup.sh
	.venv/bin/python benchmarks/run.py $(ARGS)

clean:
	rm -rf site .cache
