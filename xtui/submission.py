"""The leaderboard format: an experiment's saved predictions written as the XTREME (or XTREME-R)
submission folder of google-research/xtreme's README: one folder per task, ``test-<lang>.<ext>``
in the formats ``evaluate.py`` reads (its ``mock_test_data/predictions`` shows them):

* ``udpos``, ``panx``: one predicted tag per line, a blank line after each sentence (``read_tag``);
* ``xnli`` (label names), ``pawsx`` (0 / 1): one label per line (``read_label``);
* ``xquad``, ``mlqa``, ``tydiqa``: a JSON object, question id -> answer text (``read_squad``);
* ``bucc2018``: one mined pair per line, ``<source id>\\t<target id>`` (``bucc_f1``);
* ``tatoeba``: one line per English sentence, the index of the retrieved sentence of the other
  language (``read_label``, compared with the gold index);
* XTREME-R also ``xcopa`` (``test-<lang>.jsonl``, ``{"label": choice}`` per line, ``read_xcopa``)
  and ``lareqa`` (``test-<lang>.json``: question id -> its top-20 candidate ids, the official
  ``<language>_<paragraph>_<sentence>`` names; evaluate.py has no LAReQA reader, this follows its
  Mewsli-X format) and ``mewslix`` (``test-<lang>.json``: mention id -> its top-20 entity ids, read by
  ``read_squad``; labels: mention id -> ``[gold entity id]``).

With ``labels=True`` the gold side saved with the predictions is written too, as
``labels/<task>/...`` next to ``predictions/<task>/...`` (the mock_test_data layout), so the
official ``evaluate.py`` can score the folder locally.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .errors import XtuiError

XTREME_TASKS = {
    "udpos": ("udpos", "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh"),
    "panx": ("panx", "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,"
                     "sw,yo,my,zh,kk,tr,et,fi,hu"),
    "xnli": ("xnli", "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
    "pawsx": ("pawsx", "de,en,es,fr,ja,ko,zh"),
    "xquad": ("xquad", "en,es,de,el,ru,tr,ar,vi,th,zh,hi"),
    "mlqa": ("mlqa", "en,es,de,ar,hi,vi,zh"),
    "tydiqa": ("tydiqa", "en,ar,bn,fi,id,ko,ru,sw,te"),
    "bucc": ("bucc2018", "de,fr,ru,zh"),
    "tatoeba": ("tatoeba", "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
                           "zh,kk,tr,et,fi,hu"),
}
"""xtui task -> (the submission's folder, evaluate.py's XTREME_TASK2LANGS)."""

XTREME_R_TASKS = {
    "xnli": ("xnli", "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
    "xcopa": ("xcopa", "et,ht,id,it,qu,sw,ta,th,tr,vi,zh"),
    "udpos": ("udpos", XTREME_TASKS["udpos"][1] + ",lt,pl,uk,wo,ro"),
    "panx": ("panx", XTREME_TASKS["panx"][1] + ",qu,pl,uk,az,lt,pa,gu,ro"),
    "xquad": ("xquad", XTREME_TASKS["xquad"][1] + ",ro"),
    "mlqa": XTREME_TASKS["mlqa"],
    "tydiqa": XTREME_TASKS["tydiqa"],
    "tatoeba": ("tatoeba", XTREME_TASKS["tatoeba"][1] + ",az,lt,pl,uk,ro"),
    "lareqa": ("lareqa", "ar,de,el,en,es,hi,ru,th,tr,vi,zh"),
    "mewslix": ("mewslix", "ar,de,en,es,fa,ja,pl,ro,ta,tr,uk"),
}
"""XTREME-R (evaluate.py's XTREME_R_TASK2LANGS; it lists no LAReQA languages: these are XQuAD-R's)."""

FORMATS = {"xtreme": XTREME_TASKS, "xtreme-r": XTREME_R_TASKS}


def _tags(sentences: list) -> str:
    return "".join("".join(f"{tag}\n" for tag in sentence) + "\n" for sentence in sentences)


def _labels(values: list) -> str:
    return "".join(f"{value}\n" for value in values)


def files(task: str, saved: dict, label_names: list) -> tuple:
    """The (predictions, labels) file texts of one stage's saved predictions, and the extension."""
    outputs, references, ids = saved["outputs"], saved["references"], saved["ids"]
    if task in ("udpos", "panx"):
        return _tags(outputs), _tags(references), "tsv"
    if task == "xnli":
        return _labels(label_names[p] for p in outputs), _labels(label_names[r] for r in references), "tsv"
    if task == "pawsx":
        return _labels(outputs), _labels(references), "tsv"
    if task in ("xquad", "mlqa", "tydiqa"):
        answers = {question: answer for question, answer in zip(ids, outputs)}
        gold = {"data": [{"paragraphs": [{"qas": [{"id": question, "answers": [{"text": text} for text in texts]}
                                                  for question, texts in zip(ids, references)]}]}]}
        return json.dumps(answers, ensure_ascii=False, indent=1), json.dumps(gold, ensure_ascii=False, indent=1), "json"
    if task == "bucc":
        from .scorers import bucc_pairs

        mined = bucc_pairs(outputs, references)
        return (_labels(f"{s}\t{t}" for s, t in sorted(mined["pairs"])),
                _labels(f"{s}\t{t}" for s, t in sorted(mined["gold"])), "tsv")
    if task == "tatoeba":
        return _labels(outputs["target_to_source"]), _labels(references), "tsv"
    if task == "xcopa":
        return (_labels(json.dumps({"label": p}) for p in outputs), _labels(json.dumps({"label": r}) for r in references),
                "jsonl")
    if task == "mewslix":  # already the official format: mention id -> entity ids (gold: [the gold id])
        return json.dumps(outputs, ensure_ascii=False), json.dumps(references, ensure_ascii=False), "json"
    if task == "lareqa":
        names = references["candidates"]
        ranked = {question: [names[i] for i in top] for question, top in zip(references["questions"], outputs["ranked"])}
        gold = {question: [names[i] for i in relevant]
                for question, relevant in zip(references["questions"], references["relevant"])}
        return json.dumps(ranked, ensure_ascii=False), json.dumps(gold, ensure_ascii=False), "json"
    raise XtuiError(f"task {task!r} has no submission format")


def choose_stages(store, experiment: dict, intermediate: Optional[str], shots: int, shot_set: Optional[int],
                  seed: Optional[int]) -> dict:
    """(task, language) -> the one finished evaluating stage of that selection; an ambiguous
    selection (several intermediate tasks or seeds and none given) is an error naming the choices."""
    from .stage import find_stage

    wanted_type = "evaluate" if shots == 0 else "fewshot"
    found: dict = {}
    choices = {"intermediate": set(), "seed": set()}
    for digest in experiment.get("stages", []):
        stage = find_stage(store.stage_dir(digest))
        labels = stage.grid.to_json() if stage else {}
        if stage is None or stage.type != wanted_type or (labels.get("shots") or 0) != shots \
                or store.stage_result(digest) is None:
            continue
        if shots and labels.get("shot_set") != (shot_set if shot_set is not None else 0):
            continue
        choices["intermediate"].add(str(labels.get("intermediate")))
        choices["seed"].add(labels.get("seed"))
        if intermediate is not None and str(labels.get("intermediate")) != intermediate:
            continue
        if seed is not None and labels.get("seed") != seed:
            continue
        found.setdefault((stage.task, stage.language), []).append((digest, stage, labels))
    for option, given in (("intermediate", intermediate), ("seed", seed)):
        if given is None and len(choices[option]) > 1:
            listed = ", ".join(sorted(str(c) for c in choices[option]))
            raise XtuiError(f"the experiment has several {option} choices ({listed}); pick one with --{option}")
        if given is not None and str(given) not in {str(c) for c in choices[option]}:
            listed = ", ".join(sorted(str(c) for c in choices[option])) or "none"
            raise XtuiError(f"--{option} {given}: the experiment has no such {option} at K={shots} (valid: {listed})")
    return {key: stages[0] for key, stages in found.items()}


def export_submission(store, experiment: dict, folder: Path, fmt: str = "xtreme", intermediate: Optional[str] = None,
                      shots: int = 0, shot_set: Optional[int] = None, seed: Optional[int] = None,
                      labels: bool = False) -> dict:
    """Write the submission folder; returns ``{"written": [...], "missing": {task: [languages]},
    "missing_tasks": [...], "no_predictions": [...]}``."""
    from .predictions import PREDICTIONS_FILE, read_predictions

    if fmt not in FORMATS:
        raise XtuiError(f"--format {fmt!r}: valid submission formats are {', '.join(FORMATS)}")
    tasks = FORMATS[fmt]
    stages = choose_stages(store, experiment, intermediate, shots, shot_set, seed)
    folder = Path(folder)
    report = {"written": [], "missing": {}, "missing_tasks": [], "no_predictions": []}
    for task, (name, languages) in tasks.items():
        languages = languages.split(",")
        present = [language for language in languages if (task, language) in stages]
        if not present:
            report["missing_tasks"].append(name)
            continue
        for language in languages:
            if (task, language) not in stages:
                report["missing"].setdefault(name, []).append(language)
                continue
            digest, stage, _ = stages[task, language]
            path = store.stage_dir(digest) / PREDICTIONS_FILE
            if not path.is_file():
                report["no_predictions"].append(f"{name}/{language} ({digest[:12]})")
                continue
            predicted, gold, extension = files(task, read_predictions(path), list(stage.class_names))
            for side, text in (("predictions", predicted), ("labels", gold)):
                if side == "labels" and not labels:
                    continue
                target = folder / side / name / f"test-{language}.{extension}" if labels else \
                    folder / name / f"test-{language}.{extension}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            report["written"].append(f"{name}/test-{language}.{extension}")
    return report
