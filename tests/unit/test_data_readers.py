"""Local data readers: JSONL, CoNLL-U and SQuAD JSON; malformed input names file and line."""

from __future__ import annotations

import json

import pytest

from xtui.data import read_conllu, read_jsonl, read_squad
from xtui.errors import DataError


def one_line(error) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


# --------------------------------------------------------------------------- JSONL

def test_jsonl_yields_line_numbers_and_skips_blank_lines(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text('{"premise": "a", "label": 0}\n\n   \n{"premise": "ü", "label": 2}\n', encoding="utf-8")
    assert list(read_jsonl(path)) == [(1, {"premise": "a", "label": 0}), (4, {"premise": "ü", "label": 2})]


def test_jsonl_without_final_newline(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}', encoding="utf-8")
    assert [row["a"] for _, row in read_jsonl(path)] == [1, 2]


def test_jsonl_bad_json_names_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n', encoding="utf-8")
    reader = read_jsonl(path)
    assert next(reader) == (1, {"a": 1})  # rows before the error are read
    with pytest.raises(DataError) as caught:
        list(reader)
    message = one_line(caught)
    assert message.startswith(f"{path}:3: invalid JSON")


@pytest.mark.parametrize("line, kind", [("[1, 2]", "list"), ('"text"', "str"), ("3", "int"), ("null", "NoneType")])
def test_jsonl_non_object_line(tmp_path, line, kind):
    path = tmp_path / "validation.jsonl"
    path.write_text('{"a": 1}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_jsonl(path))
    assert one_line(caught) == f"{path}:2: expected a JSON object, got {kind}"


# --------------------------------------------------------------------------- CoNLL-U

CONLLU = """\
# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\t_\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\t_\t_\t5\tcase\t_\t_
4\tel\tel\tDET\t_\t_\t5\tdet\t_\t_
5\tmar\tmar\tNOUN\t_\t_\t1\tobl\t_\t_
5.1\tvan\tir\tVERB\t_\t_\t_\t_\t_\t_
6\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

# sent_id = 2
1\tSí\tsí\tINTJ\t_\t_\t0\troot\t_\t_
"""


def test_conllu_skips_comments_multiword_tokens_and_empty_nodes(tmp_path):
    path = tmp_path / "test.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    sentences = list(read_conllu(path))
    assert sentences == [
        {"tokens": ["Vamos", "nos", "a", "el", "mar", "."], "upos": ["VERB", "PRON", "ADP", "DET", "NOUN", "PUNCT"],
         "line": 4},
        {"tokens": ["Sí"], "upos": ["INTJ"], "line": 14},
    ]


def test_conllu_three_columns(tmp_path):
    path = tmp_path / "train.conllu"
    path.write_text("1\tThe\tDET\n2\tdog\tNOUN\n\n\n1\tRuns\tVERB\n\n", encoding="utf-8")
    assert list(read_conllu(path)) == [
        {"tokens": ["The", "dog"], "upos": ["DET", "NOUN"], "line": 1},
        {"tokens": ["Runs"], "upos": ["VERB"], "line": 5},
    ]


@pytest.mark.parametrize("bad_line, count", [("3\tmar\tmar\tNOUN\t_", 5), ("3 mar NOUN", 1)])
def test_conllu_wrong_column_count_names_file_and_line(tmp_path, bad_line, count):
    path = tmp_path / "test.conllu"
    path.write_text("# c\n1\tEl\tel\tDET\t_\t_\t2\tdet\t_\t_\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_conllu(path))
    message = one_line(caught)
    assert message.startswith(f"{path}:3: ")
    assert f"got {count}" in message


def test_conllu_non_numeric_word_id(tmp_path):
    path = tmp_path / "test.conllu"
    path.write_text("x\tEl\tDET\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_conllu(path))
    assert one_line(caught).startswith(f"{path}:1: word ID 'x'")


# --------------------------------------------------------------------------- SQuAD JSON

SQUAD = {
    "version": "1.1",
    "data": [
        {"title": "Rhine", "paragraphs": [
            {"context": "The Rhine flows north.", "qas": [
                {"id": "q1", "question": "Which way?", "answers": [{"text": "north", "answer_start": 16}]},
                {"id": "q2", "question": "What flows?", "answers": [{"text": "The Rhine", "answer_start": 0},
                                                                     {"text": "Rhine", "answer_start": 4}]},
            ]},
            {"context": "It is long.", "qas": [
                {"id": "q3", "question": "Is it short?", "answers": [], "is_impossible": True},
            ]},
        ]},
        {"title": "Empty", "paragraphs": []},
    ],
}


def write_json(tmp_path, document, name="test.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_squad_is_flattened_like_the_hub_rows(tmp_path):
    rows = list(read_squad(write_json(tmp_path, SQUAD)))
    assert [row["id"] for row in rows] == ["q1", "q2", "q3"]
    assert rows[0] == {"id": "q1", "title": "Rhine", "context": "The Rhine flows north.", "question": "Which way?",
                       "answers": {"text": ["north"], "answer_start": [16]}, "is_impossible": False}
    assert rows[1]["answers"] == {"text": ["The Rhine", "Rhine"], "answer_start": [0, 4]}
    assert rows[2]["context"] == "It is long."
    assert rows[2]["answers"] == {"text": [], "answer_start": []} and rows[2]["is_impossible"] is True
    for row in rows:
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
            assert row["context"][start:start + len(text)] == text


def test_squad_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "test.json"
    path.write_text('{"data": [\n  {"title": "x",\n  oops}\n]}', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_squad(path))
    assert one_line(caught).startswith(f"{path}:3: invalid JSON")


@pytest.mark.parametrize("document, words", [
    ([SQUAD], "top-level 'data' list"),
    ({"version": "1.1"}, "top-level 'data' list"),
    ({"data": {"title": "x"}}, "top-level 'data' list"),
    ({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}, "'T' has no 'context'"),
    ({"data": [{"title": "T", "paragraphs": [{"context": 5, "qas": []}]}]}, "'T' has no 'context'"),
    ({"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"question": "q?"}]}]}]}, "is not an object with 'id' and 'question'"),
    ({"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "1"}]}]}]}, "is not an object with 'id' and 'question'"),
])
def test_squad_malformed_documents(tmp_path, document, words):
    path = write_json(tmp_path, document)
    with pytest.raises(DataError) as caught:
        list(read_squad(path))
    message = one_line(caught)
    assert message.startswith(f"{path}: ") and words in message


@pytest.mark.parametrize("document", [
    {"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": [{"answer_start": 0}]}]}]}]},
    {"data": [1]},
    {"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [5]}]}]},
], ids=["answer-without-text", "article-not-object", "question-not-object"])
def test_squad_other_malformed_documents_are_data_errors(tmp_path, document):
    with pytest.raises(DataError):
        list(read_squad(write_json(tmp_path, document)))


def test_jsonl_invalid_utf8_is_a_data_error(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(DataError, match=":2:"):
        list(read_jsonl(path))
