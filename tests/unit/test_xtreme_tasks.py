"""The built-in XTREME plugin: registration, Hub locators, both row formats, real local data."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA

from xtui.data import load_examples
from xtui.errors import DataError
from xtui.plugins import load_plugins
from xtui.tasks import SPLITS, HubRef, Task, validate_task

import xtui_xtreme
from xtui_xtreme import tasks as xt

TASK_NAMES = ("xnli", "pawsx", "bucc", "tatoeba", "udpos", "panx", "mnli", "qqp", "sst2", "anli", "anli_plus",
              "xquad", "mlqa", "tydiqa", "lareqa", "mewslix", "xcopa", "squad_v1", "squad_v2", "hellaswag",
              "cosmosqa", "commonsenseqa", "siqa", "ccg")
LOCAL_ONLY = {"ccg"}
"""Licensed data (CCGbank): no Hub locator, local files only."""
SHOT_SPLITS = {"tydiqa": "train"}
"""Few-shot pools other than ``validation``: TyDiQA GoldP's dev set is its test set."""
NO_ENGLISH_VALIDATION = {"xquad", "tydiqa", "lareqa", "mewslix"}
"""XQuAD (and LAReQA, on XQuAD-R) has no dev data (SQuAD v1.1 dev holds its paragraphs); TyDiQA's dev
set is its test set; Mewsli-X keeps the last checkpoint, as XTREME-R does (its WikiNews dev is not read)."""
LOCAL_FOLDERS = {"lareqa": "xquad"}
"""Tasks that read another task's local folder: XQuAD-R is XQuAD's questions and paragraphs."""
NO_TEST = {("xcopa", "en")}
"""English COPA's test labels are hidden."""
SHA = re.compile(r"^[0-9a-f]{40}$")


SHARED = SHARED_DATA
needs_data = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"real data samples not found at {SHARED} (set XTUI_SHARED_DATA)"
)


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    registered: list = []
    xtui_xtreme.register_tasks(registered.append)
    return {task.name: task for task in registered}


# --------------------------------------------------------------------------- registration


def test_registers_every_task_and_each_validates(tasks):
    assert tuple(tasks) == TASK_NAMES
    for task in tasks.values():
        assert validate_task(task, sorted(load_plugins().kinds)) == [], task.name
        assert task.description and "\n" not in task.description
        assert task.shot_split == SHOT_SPLITS.get(task.name, "validation") and task.test_split == "test"
        assert task.train_language == "en"
        assert task.languages[0] == "en" or task.kind == "retrieval"  # retrieval is scored against English
        assert task.folder == LOCAL_FOLDERS.get(task.name, task.name)
        assert len(set(task.languages)) == len(task.languages)


def test_kinds_metrics_roles_and_labels(tasks):
    expected = {
        "xnli": ("classification", "accuracy", {"target"}, 15),
        "pawsx": ("classification", "accuracy", {"target"}, 7),
        "udpos": ("tagging", "f1", {"target"}, 38),
        "panx": ("tagging", "f1", {"target"}, 48),
        "mnli": ("classification", "accuracy", {"intermediate"}, 1),
        "qqp": ("classification", "accuracy", {"intermediate"}, 1),
        "sst2": ("classification", "accuracy", {"intermediate"}, 1),
        "anli": ("classification", "accuracy", {"intermediate"}, 1),
        "tatoeba": ("retrieval", "accuracy", {"target"}, 41),
        "bucc": ("retrieval", "f1", {"target"}, 4),
        "lareqa": ("answer_retrieval", "map@20", {"target"}, 11),
        "mewslix": ("entity_retrieval", "map@20", {"target"}, 11),
        "anli_plus": ("classification", "accuracy", {"intermediate"}, 1),
        "ccg": ("tagging", "accuracy", {"intermediate"}, 1),
    }
    for name, (kind, metric, roles, n_languages) in expected.items():
        task = tasks[name]
        assert (task.kind, task.metric, set(task.roles), len(task.languages)) == (kind, metric, roles, n_languages)
    assert tasks["xnli"].labels == ("entailment", "neutral", "contradiction") == tasks["anli"].labels
    assert tasks["panx"].labels == ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
    assert len(tasks["udpos"].labels) == 17 and list(tasks["udpos"].labels) == sorted(tasks["udpos"].labels)
    assert set(xt.UDPOS_CONFIGS) | set(xt.UDPOS_XTREME_R_TREEBANKS) == set(tasks["udpos"].languages)
    assert set(tasks["udpos"].local_only) == set(xt.UDPOS_XTREME_R_TREEBANKS)  # UD v2.7: no Hub copy


def test_entry_point_loads_the_plugin():
    registry = load_plugins(refresh=True)
    info = next((p for p in registry.plugins if p.module == "xtui_xtreme"), None)
    assert info is not None, "entry point xtreme = 'xtui_xtreme' not installed (pip install -e .)"
    assert info.error is None
    assert tuple(info.tasks) == TASK_NAMES


def test_import_needs_neither_torch_nor_datasets():
    code = "import sys, xtui_xtreme; sys.exit(bool({'torch', 'datasets'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --------------------------------------------------------------------------- hub locators


def test_every_hub_ref_is_pinned_and_coverage_is_complete(tasks):
    for task in tasks.values():
        if task.name in LOCAL_ONLY:
            assert task.hub is None and task.unavailable
            continue
        claimed = {}
        for language in task.languages:
            for split in SPLITS:
                refs = task.hub_refs(language, split)
                if not refs:
                    continue
                for ref in refs:
                    assert isinstance(ref, HubRef)
                    assert ref.dataset and ref.split, (task.name, language, split)
                    assert SHA.match(ref.revision), (task.name, language, split, ref.revision)
                claimed[(language, split)] = refs
        if task.kind == "retrieval":  # no training data, no English side of its own
            assert not any(split == "train" for _, split in claimed), task.name
        else:
            assert ("en", "train") in claimed, task.name
            assert (("en", "validation") in claimed) == (task.name not in NO_ENGLISH_VALIDATION), task.name
        assert task.hub("xx", "test") is None and task.hub("en", "bogus") is None
        if "target" in task.roles:
            expected = {language for language in task.languages
                        if (task.name, language) not in NO_TEST and language not in task.local_only}
            assert {language for language, split in claimed if split == "test"} == expected, task.name
            if "de" in task.languages and task.name == "lareqa":  # every language's XQuAD-R file, de first
                fingerprint = task.fingerprint("de", "test", None)
                assert fingerprint.startswith("de=hub:google-research-datasets/xquad_r:de:") and fingerprint.count("=hub:") == 11
            elif task.name == "mewslix":  # the language's mentions, then the candidate set every language shares
                fingerprint = task.fingerprint("de", "test", None)
                assert fingerprint.startswith("hub:izhx/mewsli-x:de:test:") and " + candidates=hub:izhx/mewsli-x:" in fingerprint
            elif "de" in task.languages:
                assert task.fingerprint("de", "test", None).startswith("hub:google/xtreme:")


def test_hub_refs_point_at_the_right_configs(tasks):
    assert tasks["xnli"].hub("en", "train") == HubRef("nyu-mll/glue", "mnli", "train", xt.GLUE_REVISION)
    assert tasks["xnli"].hub("de", "train") is None
    assert tasks["xnli"].hub("de", "validation") == HubRef(
        "google/xtreme", "XNLI", "validation", xt.XTREME_REVISION, (("language", "de"),)
    )
    assert tasks["xnli"].hub("en", "test").where == (("language", "en"),)
    assert tasks["pawsx"].hub("de", "test").config == "PAWS-X.de"
    assert tasks["pawsx"].hub("en", "train").config == "PAWS-X.en"
    assert tasks["pawsx"].hub("de", "train") is None  # machine-translated in XTREME
    assert tasks["udpos"].hub("de", "test").config == "udpos.German"
    assert tasks["udpos"].hub("zh", "validation").config == "udpos.Chinese"
    assert tasks["udpos"].hub("th", "validation") is None and tasks["udpos"].hub("th", "test") is not None
    assert tasks["udpos"].hub("kk", "train") is not None and tasks["udpos"].hub("kk", "validation") is None
    assert tasks["panx"].hub("de", "test") == HubRef("google/xtreme", "PAN-X.de", "test", xt.XTREME_REVISION)
    assert tasks["mnli"].hub("en", "validation").split == "validation_matched"
    assert tasks["sst2"].hub("en", "test") is None  # GLUE test labels are hidden
    anli = tasks["anli"].hub("en", "train")
    assert (anli.dataset, anli.config, anli.split) == ("facebook/anli", "plain_text", "train_r1+train_r2+train_r3")


def test_xtreme_r_languages_point_at_their_hub_copies(tasks):
    """XTREME-R's languages beyond google/xtreme's: WikiANN (PAN-X), google/xquad (XQuAD ro), MTEB's copy of
    LASER's Tatoeba (filtered by pair); XTREME's own languages keep their google/xtreme configs (and hashes)."""
    assert tasks["panx"].hub("az", "test") == HubRef("unimelb-nlp/wikiann", "az", "test", xt.WIKIANN_REVISION)
    assert tasks["panx"].hub("qu", "train").config == "qu" and tasks["panx"].hub("qu", "bogus") is None
    assert tasks["panx"].hub("de", "test").dataset == "google/xtreme"
    assert tasks["xquad"].hub("ro", "test") == HubRef("google/xquad", "xquad.ro", "validation", xt.GOOGLE_XQUAD_REVISION)
    assert tasks["xquad"].hub("ro", "train") is None and tasks["xquad"].hub("de", "test").config == "XQuAD.de"
    assert tasks["lareqa"].hub("ro", "test") is None  # XQuAD-R has no Romanian
    assert tasks["tatoeba"].hub("uk", "test") == HubRef("mteb/tatoeba-bitext-mining", None, "test",
                                                        xt.MTEB_TATOEBA_REVISION, (("lang", "ukr-eng"),))
    assert tasks["tatoeba"].hub("de", "test").config == "tatoeba.deu"
    assert {language: tasks["udpos"].hub(language, "test") for language in xt.UDPOS_XTREME_R_TREEBANKS} == dict.fromkeys(
        xt.UDPOS_XTREME_R_TREEBANKS)  # UD v2.7: local data only
    assert "lt_alksnis, lt_hse" in tasks["udpos"].local_only["lt"] and "<data_dir>/udpos/lt/" in tasks["udpos"].local_only["lt"]


def test_mteb_tatoeba_rows_convert_like_xtreme_rows(tasks):
    mteb = {"sentence1": "Bu kitabdır.", "sentence2": "This is a book.", "lang": "aze-eng"}
    xtreme = {"source_sentence": "Bu kitabdır.", "target_sentence": "This is a book."}
    assert tasks["tatoeba"].convert(mteb) == tasks["tatoeba"].convert(xtreme) == {
        "source": "Bu kitabdır.", "target": "This is a book."}


# --------------------------------------------------------------------------- hub row formats


def test_converts_hub_rows(tasks):
    xnli = {"language": "de", "sentence1": "P", "sentence2": "H", "gold_label": "contradiction"}
    assert tasks["xnli"].convert(xnli) == {"text": "P", "text_pair": "H", "label": 2}
    mnli = {"premise": "P", "hypothesis": "H", "label": 1, "idx": 7}
    assert tasks["xnli"].convert(mnli)["label"] == 1 == tasks["mnli"].convert(mnli)["label"]
    anli = {"uid": "u", "premise": "P", "hypothesis": "H", "label": 0, "reason": ""}
    assert tasks["anli"].convert(anli)["label"] == 0
    assert tasks["pawsx"].convert({"sentence1": "a", "sentence2": "b", "label": "1"})["label"] == 1
    assert tasks["qqp"].convert({"question1": "a", "question2": "b", "label": 0, "idx": 0})["text_pair"] == "b"
    assert tasks["sst2"].convert({"sentence": "fine", "label": 1, "idx": 0}) == {
        "text": "fine", "text_pair": None, "label": 1,
    }
    udpos = {"tokens": ["Das", "ist", "gut", "."], "pos_tags": [10, 3, 0, 12]}
    assert tasks["udpos"].convert(udpos)["tags"] == [10, 3, 0, 12]
    assert [tasks["udpos"].labels[i] for i in udpos["pos_tags"]] == ["PRON", "AUX", "ADJ", "PUNCT"]
    panx = {"tokens": ["Angela", "Merkel"], "ner_tags": [1, 2], "langs": ["de", "de"]}
    assert tasks["panx"].convert(panx) == {"tokens": ["Angela", "Merkel"], "tags": [1, 2]}


def test_unknown_labels_raise_value_error(tasks):
    bad = [
        ("xnli", {"premise": "P", "hypothesis": "H", "label": -1}),  # GLUE hidden test label
        ("xnli", {"sentence1": "P", "sentence2": "H", "gold_label": "maybe"}),
        ("pawsx", {"sentence1": "a", "sentence2": "b", "label": 2}),
        ("sst2", {"sentence": "a", "label": True}),
        ("udpos", {"tokens": ["a"], "upos": ["NOUNS"]}),
        ("udpos", {"tokens": ["a"], "pos_tags": [17]}),
        ("udpos", {"tokens": ["a", "b"], "upos": ["NOUN"]}),
        ("panx", {"tokens": ["a"], "ner_tags": [7]}),
        ("panx", {"tokens": ["a"], "ner_tags": ["B-MISC"]}),
    ]
    for name, row in bad:
        with pytest.raises(ValueError):
            tasks[name].convert(row)
    with pytest.raises(KeyError):
        tasks["xnli"].convert({"premise": "P", "label": 0})


# --------------------------------------------------------------------------- real local data


def _jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _conllu_sentences(path: Path) -> list[list[str]]:
    """UPOS of the ordinary word lines, per sentence (an independent count of the file)."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
        elif not line.startswith("#"):
            columns = line.split("\t")
            if columns[0].isdigit():
                current.append(columns[3])
    return sentences


CLASSIFICATION_SAMPLES = [
    ("xnli", "en", "train"), ("xnli", "en", "test"), ("xnli", "de", "validation"), ("xnli", "de", "test"),
    ("xnli", "sw", "validation"), ("xnli", "sw", "test"), ("pawsx", "de", "validation"),
    ("pawsx", "de", "test"), ("anli", "en", "train"),
]


@needs_data
@pytest.mark.parametrize("name,language,split", CLASSIFICATION_SAMPLES)
def test_local_classification_data(tasks, name, language, split):
    task = tasks[name]
    path = SHARED / name / language / f"{split}.jsonl"
    rows = _jsonl_rows(path)
    examples = load_examples(task, language, split, SHARED)
    assert len(examples) == len(rows) > 0
    for row, example in zip(rows, examples):
        assert 0 <= example["label"] < len(task.labels)
        assert example["label"] == row["label"]
        assert example["text"] and example["text_pair"]
    assert len({example["label"] for example in examples}) == len(task.labels)


@needs_data
def test_local_sample_sizes_match_the_data_readme(tasks):
    sizes = {
        ("xnli", "en", "train"): 2000, ("xnli", "de", "test"): 401, ("xnli", "de", "validation"): 99,
        ("xnli", "sw", "test"): 401, ("pawsx", "de", "test"): 400, ("anli", "en", "train"): 2000,
        ("udpos", "en", "train"): 2009, ("udpos", "de", "test"): 400, ("panx", "en", "train"): 2000,
        ("panx", "de", "test"): 400,
    }
    for (name, language, split), size in sizes.items():
        assert len(load_examples(tasks[name], language, split, SHARED)) == size, (name, language, split)


@needs_data
def test_local_xnli_has_no_english_validation(tasks):
    assert not tasks["xnli"].has_split("en", "validation", SHARED)
    assert tasks["xnli"].has_split("de", "validation", SHARED)
    assert tasks["xnli"].fingerprint("de", "test", SHARED).startswith("sha256:")


@needs_data
@pytest.mark.parametrize("language,split", [("en", "train"), ("en", "validation"), ("de", "test"), ("zh", "test"), ("ar", "validation")])
def test_local_udpos_data(tasks, language, split):
    task = tasks["udpos"]
    sentences = _conllu_sentences(SHARED / "udpos" / language / f"{split}.conllu")
    examples = load_examples(task, language, split, SHARED)
    assert len(examples) == len(sentences) > 0
    for upos, example in zip(sentences, examples):
        assert len(example["tokens"]) == len(example["tags"]) == len(upos)
        assert [task.labels[tag] for tag in example["tags"]] == upos


@needs_data
@pytest.mark.parametrize("language,split", [("en", "train"), ("en", "validation"), ("de", "test"), ("ru", "validation")])
def test_local_panx_data(tasks, language, split):
    task = tasks["panx"]
    rows = _jsonl_rows(SHARED / "panx" / language / f"{split}.jsonl")
    examples = load_examples(task, language, split, SHARED)
    assert len(examples) == len(rows) > 0
    for row, example in zip(rows, examples):
        assert example["tokens"] == row["tokens"] and example["tags"] == row["ner_tags"]
        assert all(0 <= tag < len(task.labels) for tag in example["tags"])


# --------------------------------------------------------------------------- malformed input


def test_malformed_jsonl_line_names_file_and_line(tasks, tmp_path):
    path = tmp_path / "xnli" / "de" / "test.jsonl"
    path.parent.mkdir(parents=True)
    good = json.dumps({"premise": "P", "hypothesis": "H", "label": 0})
    path.write_text(good + "\n" + '{"premise": "P", "hypothesis": \n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_examples(tasks["xnli"], "de", "test", tmp_path)
    assert f"{path}:2:" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_label_in_jsonl_names_the_file(tasks, tmp_path):
    path = tmp_path / "pawsx" / "de" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"id": 1, "sentence1": "a", "sentence2": "b", "label": 5}) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_examples(tasks["pawsx"], "de", "test", tmp_path)
    assert str(path) in str(caught.value) and "unknown label 5" in str(caught.value)


def test_unknown_upos_tag_names_file_and_line(tasks, tmp_path):
    path = tmp_path / "udpos" / "de" / "test.conllu"
    path.parent.mkdir(parents=True)
    word = "{}\t{}\t_\t{}\t_\t_\t0\troot\t_\t_"
    path.write_text(
        "# sent_id = 1\n" + word.format(1, "Gut", "ADJ") + "\n\n"
        "# sent_id = 2\n" + word.format(1, "Das", "PRON") + "\n" + word.format(2, "Ding", "NOUNX") + "\n\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as caught:
        load_examples(tasks["udpos"], "de", "test", tmp_path)
    message = str(caught.value)
    assert f"{path}:5:" in message and "NOUNX" in message and "token 2" in message


# --------------------------------------------------------------------------- the Hub itself (opt-in)


@pytest.mark.skipif(not os.environ.get("XTUI_TEST_HUB"), reason="set XTUI_TEST_HUB=1 to read pinned Hub revisions")
@pytest.mark.parametrize(
    "name,language,split",
    [("udpos", "yo", "test"), ("panx", "yo", "validation"), ("pawsx", "de", "validation"),
     ("xnli", "sw", "validation"), ("sst2", "en", "validation"), ("anli", "en", "validation")],
)
def test_hub_rows_convert(tasks, name, language, split):
    examples = load_examples(tasks[name], language, split, None)
    assert examples
