"""Benchmarks of the build: `python benchmarks/run.py` (see benchmarks/README.md)."""
