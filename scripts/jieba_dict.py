"""Write docs/.jieba-dict.txt: jieba's dictionary cut down to the words this site's Chinese text holds.

Material's search plugin segments every page's Chinese text with jieba when it builds the search index.
Loading jieba's full dictionary (349,000 words) takes about 0.75 s of every `mkdocs build`; this one
(about 3,000 words) loads in milliseconds and segments the site's text exactly as the full one does:

* jieba's segmentation of a run of Chinese characters only looks up words that occur in that run, so
  the cut-down dictionary keeps every dictionary word that occurs in the site's text, with its frequency;
* it scores a segmentation by log(frequency) - log(total of all frequencies), so one extra entry, a
  private-use character that no text contains, carries the frequencies of the words left out and keeps
  the total unchanged.

The text is the Markdown of docs/ and the Chinese strings of generator/ (the values and labels the plugin
writes into pages). After editing Chinese text run `python scripts/jieba_dict.py`;
tests/test_docs.py checks that the file is current. Text the dictionary does not cover is still found by
search: jieba's HMM segments it, as it segments words missing from its full dictionary.

jieba's dictionary is MIT-licensed (https://github.com/fxsjy/jieba).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / ".jieba-dict.txt"
FILLER = "\ue000"  # a private-use character: in no text, so never a match
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")  # \p{script=Han}'s blocks


def site_text(repo: Path = REPO) -> list[str]:
    """The runs of Chinese characters of the site's sources."""
    files = sorted((repo / "docs").rglob("*.md")) + sorted((repo / "generator").rglob("*.py"))
    return sorted({run for path in files for run in HAN.findall(path.read_text(encoding="utf-8"))})


def full_dictionary() -> Path:
    import jieba

    return Path(jieba.__file__).resolve().parent / jieba.DEFAULT_DICT_NAME


def cut_down(runs: Iterable[str], dictionary: Path) -> str:
    """The lines of `dictionary` whose word occurs in one of `runs`, in the dictionary's order, then the
    filler entry that keeps the total frequency."""
    words: dict[str, tuple[int, str]] = {}
    total = 0
    with dictionary.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.split()
            if len(parts) < 2:
                continue
            freq = int(parts[1])
            total += freq
            words[parts[0]] = (n, line.rstrip("\n"))
    longest = max(map(len, words))
    kept: dict[str, tuple[int, str]] = {}
    for run in runs:
        for i in range(len(run)):
            for j in range(i + 1, min(len(run), i + longest) + 1):
                found = words.get(run[i:j])
                if found is not None:
                    kept[run[i:j]] = found
    lines = [line for _, line in sorted(kept.values())]
    rest = total - sum(int(line.split()[1]) for line in lines)
    return "\n".join([*lines, f"{FILLER} {rest} x"]) + "\n"


def main() -> int:
    text = cut_down(site_text(), full_dictionary())
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}: {text.count(chr(10)) - 1} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
