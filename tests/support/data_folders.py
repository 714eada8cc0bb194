"""Data folders in xtui's local layout, written by hand: BUCC 2018 sentence pairs and CCG
supertags (CCGbank's layout: CoNLL-U supertags, labels.txt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_jsonl(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


# Real-looking German/English sentence pairs (news commentary style) for the local layout.
PAIRS = [
    ("Der Ausschuss hat den Bericht gestern mit großer Mehrheit angenommen.",
     "The committee adopted the report yesterday by a large majority."),
    ("Die Preise für Energie sind im letzten Quartal deutlich gestiegen.",
     "Energy prices rose sharply in the last quarter."),
    ("Viele Bürger fordern mehr Investitionen in den öffentlichen Verkehr.",
     "Many citizens are calling for more investment in public transport."),
    ("Das Museum bleibt wegen Renovierungsarbeiten bis Mai geschlossen.",
     "The museum will remain closed for renovation until May."),
    ("Die Regierung kündigte neue Maßnahmen gegen die Arbeitslosigkeit an.",
     "The government announced new measures against unemployment."),
    ("Der Fluss trat nach tagelangem Regen über die Ufer.",
     "The river burst its banks after days of rain."),
]
UNALIGNED_DE = "Im Jahr 1998 wurde die Brücke vollständig erneuert."
UNALIGNED_EN = "The festival attracts thousands of visitors every summer."


def _pair(index: int, source: str, target: str, split: str) -> dict:
    return {"source_sentence": source, "target_sentence": target,
            "source_id": f"de-{split}-{index:06d}", "target_id": f"en-{split}-{index:06d}"}


def write_bucc(data: Path, language: str = "de") -> dict:
    """bucc/<lang>/{validation,test}.jsonl: gold pairs plus one unaligned sentence a side."""
    folder = data / "bucc" / language
    validation = [_pair(i, s, t, "v") for i, (s, t) in enumerate(PAIRS[:3])]
    validation += [{"source_sentence": UNALIGNED_DE, "target_sentence": None, "source_id": "de-v-000099"},
                   {"source_sentence": "", "target_sentence": UNALIGNED_EN, "target_id": "en-v-000099"}]
    test = [_pair(i, s, t, "t") for i, (s, t) in enumerate(PAIRS[3:])]
    test += [{"source_sentence": UNALIGNED_DE, "target_sentence": None}]
    write_jsonl(folder / "validation.jsonl", validation)
    write_jsonl(folder / "test.jsonl", test)
    return {"validation": validation, "test": test}


CCG_TRAIN = """\
1\tThe\tNP[nb]/N
2\tcat\tN
3\tsleeps\tS[dcl]\\NP
4\t.\t.

1\tMary\tN
2\tlikes\t(S[dcl]\\NP)/NP
3\tgreen\tN/N
4\tapples\tN
5\t.\t.
"""
CCG_LABELS = "N\nNP[nb]/N\nS[dcl]\\NP\n(S[dcl]\\NP)/NP\nN/N\n.\n"


def write_ccg(data: Path, labels: bool = True) -> Path:
    folder = data / "ccg" / "en"
    folder.mkdir(parents=True)
    (folder / "train.conllu").write_text(CCG_TRAIN, encoding="utf-8")
    write_jsonl(folder / "validation.jsonl", [{"tokens": ["Dogs", "bark", "."], "tags": ["N", "S[dcl]\\NP", "."]}])
    if labels:
        (folder / "labels.txt").write_text(CCG_LABELS, encoding="utf-8")
    return folder


SIQA = Path(__file__).resolve().parents[1] / "data" / "siqa"


@pytest.fixture
def xcopa_data(tmp_path, shared_data) -> Path:
    """Real English COPA + XCOPA (../shared/data) and the four real SocialIQA records (tests/data/siqa)."""
    folder = tmp_path / "xcopa-data"
    folder.mkdir()
    (folder / "xcopa").symlink_to(shared_data / "xcopa")
    (folder / "siqa").symlink_to(SIQA)
    return folder
