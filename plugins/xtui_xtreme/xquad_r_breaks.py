"""XQuAD-R's own sentence breaks, for rows that come without them (the Hub's
``google-research-datasets/xquad_r``, XQuAD's JSON files).

XTREME-R scores LAReQA on the sentence breaks that XQuAD-R ships (``sentence_breaks`` per
paragraph in google-research-datasets/lareqa ``xquad-r/<lang>.json``); the Hub dataset dropped
them. ``xquad_r_breaks.json.gz`` maps the SHA-1 of each of XQuAD-R's 2,640 paragraphs (240 in
each of 11 languages) to its breaks, so a row whose context is one of them gets XQuAD-R's breaks.

Source: google-research-datasets/lareqa at 9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c,
``xquad-r/*.json``; licence CC BY-SA 4.0 (the table is derived from that data and shared under
the same licence). Rebuild it from a checkout with ``python -m xtui_xtreme.xquad_r_breaks DIR``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional

TABLE = Path(__file__).with_name("xquad_r_breaks.json.gz")


def context_key(context: str) -> str:
    return hashlib.sha1(context.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _table() -> dict:
    with gzip.open(TABLE, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def xquad_r_breaks(context: str) -> Optional[list]:
    """XQuAD-R's ``[start, end]`` sentence breaks of this paragraph, or None if it is not one of XQuAD-R's."""
    return _table().get(context_key(context))


def build(lareqa: Path) -> dict:
    """The table of a lareqa checkout's ``xquad-r/*.json``."""
    table: dict = {}
    for path in sorted(Path(lareqa, "xquad-r").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                table[context_key(paragraph["context"])] = paragraph["sentence_breaks"]
    return table


if __name__ == "__main__":
    built = build(Path(sys.argv[1]))
    with gzip.GzipFile(TABLE, "wb", mtime=0) as handle:
        handle.write(json.dumps(built, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    print(f"{TABLE}: {len(built)} paragraphs")
