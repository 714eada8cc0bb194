"""Training throughput: xtui's worker against `transformers.Trainer`, and MFU.

Both sides train the packaged MiniLM (`minilm` preset) for one epoch on the *same* tokenised
features (a fixed random subset of the task's English training data), with the same batch
size, maximum length, learning rate, warm-up and weight decay, on this machine's CPU. Model
loading is outside the timed region on both sides; each timed region is one training call
(xtui: `Worker.train`, the code path of every training stage; Trainer: `trainer.train()`),
so optimizer creation and data loading are inside it for both.

The baseline is what a careful user writes: `AutoModelFor...` with its standard head,
dynamic padding through `DataCollatorWithPadding` / `DataCollatorForTokenClassification`,
`report_to="none"`, no evaluation, no saving, the default (fused) AdamW. For reference the
table also shows Trainer with `train_sampling_strategy="group_by_length"` (not the goal's
baseline: an option a user has to know about).

MFU = 6 × non-embedding parameters × real (non-padding) tokens / wall time / measured
matmul peak; both sides by the same formula, over the same wall-clock region.
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
from pathlib import Path

from .common import SHARED_DATA, append_results, fmt, goal_text, machine, markdown_table, median, offline, print_table, spread

GOAL = 1.3
MFU_GOAL = 0.5


def _tasks(registry, quick: bool) -> list:
    """(label, task name, data dir, max_length, batch size, examples, repeats factor, grouped Trainer too)
    per kind, real data when present."""
    scale = 0.5 if quick else 1.0
    tasks = []
    data = SHARED_DATA if (SHARED_DATA / "xnli").is_dir() else None
    if data and "xnli" in registry.tasks:
        tasks.append(("classification", "xnli", data, 128, 32, int(256 * scale), 1, True))
    else:
        tasks.append(("classification", "demo_sentiment", None, 128, 32, int(256 * scale), 1, True))
    if data and "udpos" in registry.tasks:
        tasks.append(("tagging", "udpos", data, 128, 32, int(256 * scale), 1, True))
    else:
        tasks.append(("tagging", "demo_entities", None, 128, 32, int(256 * scale), 1, True))
    qa = [n for n in ("xquad", "squad_v1") if n in registry.tasks and registry.tasks[n].kind == "qa"]
    if qa and data:
        # 384 tokens per window is expensive on CPU: fewer features, more (shorter) repetitions
        tasks.append(("qa", qa[0], data, 384, 16, int(64 * scale), 5 / 3, False))
    return tasks


def run(repeats: int = 3, quick: bool = False, with_grouped_trainer: bool = True) -> dict:
    offline()
    import datasets
    import torch
    import transformers
    from transformers import (AutoModelForQuestionAnswering, AutoModelForSequenceClassification,
                              AutoModelForTokenClassification, DataCollatorForTokenClassification,
                              DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments)

    from xtui.kinds import load_kind_class
    from xtui.models import resolve_model
    from xtui.perf import non_embedding_parameters
    from xtui.plugins import load_plugins
    from xtui.stage import StageConfig
    from xtui.worker import Events, Worker, quiet_libraries

    quiet_libraries()
    datasets.disable_progress_bars()
    registry = load_plugins()
    model_ref = resolve_model("minilm").to_json()
    worker = Worker()
    scratch = Path(tempfile.mkdtemp(prefix="xtui-bench-throughput-"))
    worker.cache_dir = scratch / "cache"
    peak = worker.peak_flops()
    info = machine(torch.__version__)
    info["torch threads"] = torch.get_num_threads()
    info["peak (measured fp32 matmul)"] = f"{peak['flops'] / 1e9:.1f} GFLOP/s" if peak else "?"
    rows, results = [], {}
    heads = {"classification": AutoModelForSequenceClassification, "tagging": AutoModelForTokenClassification,
             "qa": AutoModelForQuestionAnswering}
    print(f"throughput: MiniLM on {info['cpu']} ({info['cores']} cpus, {info['torch threads']} torch threads), "
          f"peak {info['peak (measured fp32 matmul)']}, {repeats} interleaved repetitions")
    for label, task_name, data_dir, max_length, batch_size, count, more, grouped_too in _tasks(registry, quick):
        task = registry.tasks[task_name]
        kind_info = registry.kinds[task.kind]
        kind = load_kind_class(kind_info.target)(task.labels, worker.tokenizer(model_ref), max_length,
                                                 {**task.options, "language": task.train_language})
        stage = StageConfig.standalone(
            task_name, {"target": kind_info.target, "version": kind_info.version}, model_ref, task.train_language,
            {"batch_size": batch_size, "gradient_accumulation": 1, "max_steps": None, "epochs": 1.0, "weight_decay": 0.01,
             "learning_rate": 5e-5, "warmup_ratio": 0.1, "max_length": max_length, "eval_batch_size": 64},
            data_dir=str(data_dir) if data_dir else None, class_names=task.labels)
        features = worker.load_features(stage, kind, task.train_language, task.train_split)
        subset = sorted(random.Random(0).sample(range(len(features)), min(count, len(features))))
        features = [features[i] for i in subset]
        lengths = [len(f["input_ids"]) for f in features]
        tokens = sum(lengths)
        padded_random = _expected_padding(lengths, batch_size)
        columns = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features[0]] + list(kind.label_keys)
        dataset = datasets.Dataset.from_list([{k: f[k] for k in columns} for f in features])
        tokenizer = worker.tokenizer(model_ref)
        collator = DataCollatorForTokenClassification(tokenizer) if label == "tagging" else DataCollatorWithPadding(tokenizer)
        print(f"  {label} ({task_name}): {len(features)} features, batch {batch_size}, max_length {max_length}, "
              f"mean length {tokens / len(features):.0f}, {len(features) // batch_size + (len(features) % batch_size > 0)} steps")
        mfu_reported: list = []
        cpu_seconds: dict = {}

        def xtui_side():
            model = worker.build_model(stage, kind).to(worker.device.accelerator.device)
            events = Events(scratch / "events.jsonl", True)
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            summary = worker.train(stage, model, kind, features, events)
            elapsed = time.perf_counter() - start
            cpu_seconds.setdefault("xtui", []).append(time.process_time() - cpu)
            events.close()
            assert summary["examples_seen"] == len(features), summary
            if summary.get("mfu") is not None:
                mfu_reported.append(summary["mfu"])
            xtui_side.params = non_embedding_parameters(model)
            return len(features) / elapsed

        def trainer_side(grouped: bool = False, name: str = "Trainer"):
            def run_trainer():
                extra = {"num_labels": len(task.labels)} if label != "qa" else {}
                model = heads[label].from_pretrained(model_ref["source"], **extra)
                args = TrainingArguments(
                    output_dir=str(scratch / "trainer"), per_device_train_batch_size=batch_size, num_train_epochs=1,
                    learning_rate=5e-5, weight_decay=0.01, warmup_steps=0.1, report_to="none", save_strategy="no",
                    eval_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, seed=1,
                    **({"train_sampling_strategy": "group_by_length"} if grouped else {}))
                trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
                trainer.remove_callback(PrinterCallback)
                gc.collect()
                start, cpu = time.perf_counter(), time.process_time()
                output = trainer.train()
                elapsed = time.perf_counter() - start
                cpu_seconds.setdefault(name, []).append(time.process_time() - cpu)
                assert output.global_step == -(-len(features) // batch_size), output
                run_trainer.params = non_embedding_parameters(model)
                return len(features) / elapsed
            return run_trainer

        sides = {"xtui": xtui_side, "Trainer": trainer_side()}
        grouped = with_grouped_trainer and grouped_too
        if grouped:
            sides["Trainer group_by_length"] = trainer_side(True, "Trainer group_by_length")
        _warm_up(worker, stage, kind, features[:batch_size])
        values = {name: [] for name in sides}
        names = list(sides)
        task_repeats = max(repeats, round(repeats * more) | 1)  # odd: a true median
        for repeat in range(task_repeats):
            order = names if repeat % 2 == 0 else list(reversed(names))  # A,B,C then C,B,A: drift hits all alike
            for name in order:
                value = sides[name]()
                values[name].append(value)
                print(f"    {name} #{repeat + 1}: {value:.2f} examples/s")
        x, t = median(values["xtui"]), median(values["Trainer"])
        ratio = x / t
        ratios = [a / b for a, b in zip(values["xtui"], values["Trainer"])]
        cpu_ratio = median(cpu_seconds["Trainer"]) / median(cpu_seconds["xtui"])
        params = getattr(xtui_side, "params", 0)
        tparams = getattr(sides["Trainer"], "params", params)
        mfu_x = 6 * params * tokens * x / len(features) / peak["flops"] if peak else None
        mfu_t = 6 * tparams * tokens * t / len(features) / peak["flops"] if peak else None
        result = {"task": task_name, "features": len(features), "batch_size": batch_size, "max_length": max_length,
                  "xtui": values["xtui"], "trainer": values["Trainer"], "ratio": ratio, "ratio_per_pair": ratios,
                  "mfu_xtui_wall": mfu_x, "mfu_trainer_wall": mfu_t, "mfu_xtui_reported": median(mfu_reported),
                  "padding_random": padded_random, "repeats": task_repeats, "cpu_seconds": cpu_seconds,
                  "ratio_cpu_time": cpu_ratio}
        if grouped:
            result["trainer_grouped"] = values["Trainer group_by_length"]
        results[label] = result
        row = [f"{label} ({task_name})", f"{len(features)} / {batch_size} / {max_length}",
               f"{fmt(x)} ({spread(values['xtui'])})", f"{fmt(t)} ({spread(values['Trainer'])})",
               f"**{ratio:.2f}×** ({min(ratios):.2f}–{max(ratios):.2f})", f"{cpu_ratio:.2f}×", str(task_repeats)]
        if with_grouped_trainer:
            g = median(values["Trainer group_by_length"]) if grouped else None
            row.append(f"{fmt(g)} ({x / g:.2f}×)" if g else "not run")
        row += [f"{100 * mfu_x:.1f}%" if mfu_x else "-", f"{100 * mfu_t:.1f}%" if mfu_t else "-",
                f"{100 * median(mfu_reported):.1f}%" if mfu_reported else "-", goal_text(ratio, GOAL),
                goal_text(median(mfu_reported), MFU_GOAL) if mfu_reported else "-"]
        rows.append(row)
    headers = ["task", "examples / batch / max len", "xtui ex/s", "Trainer ex/s", "xtui ÷ Trainer", "same, by CPU time", "reps",
               *(["Trainer group_by_length ex/s (xtui ÷ it)"] if with_grouped_trainer else []),
               "MFU xtui (wall)", "MFU Trainer (wall)", "MFU xtui (its events)", f"goal ≥ {GOAL}×",
               f"MFU goal ≥ {100 * MFU_GOAL:.0f}%"]
    print_table("training throughput, examples/s: median (min–max)", headers, rows)
    notes = [
        f"Model: pretrained MiniLM-L6 (`minilm`), fp32 on CPU, {info['torch threads']} torch threads; one epoch over the same "
        f"features on both sides; {repeats} repetitions per side, interleaved (A,B,C then C,B,A).",
        "xtui: `Worker.train` (length-grouped batches, fused AdamW, no per-step host sync); Trainer: transformers "
        f"{transformers.__version__}, default fused AdamW, dynamic padding through its data collator.",
        "Ratio column: median xtui ÷ median Trainer (range: per-pair ratios); 'same, by CPU time': median Trainer "
        "process CPU seconds ÷ median xtui CPU seconds (less sensitive to other processes taking the cores). MFU (wall): 6 × non-embedding parameters × "
        "real tokens ÷ wall time of the whole training call ÷ the measured matmul peak; MFU (its events): what the worker "
        "reports in its step/done events (training loop time only).",
        "The CPU is shared with other work while this runs (see the load average): absolute numbers move between runs, "
        "the interleaved ratio much less.",
    ]
    body = markdown_table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    if not any(entry[0] == "qa" for entry in _tasks(registry, quick)):
        body += "- QA: no extractive-QA task with local data is registered, so QA was not measured.\n"
    append_results("Training throughput vs transformers.Trainer (goal 2) and MFU (goal 3)", info, body)
    return results


def _expected_padding(lengths: list, batch_size: int) -> float:
    """Padding share of random batches (what Trainer's default sampler computes on), by simulation."""
    rng = random.Random(1)
    order = list(range(len(lengths)))
    total = real = 0
    for _ in range(20):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = [lengths[i] for i in order[start:start + batch_size]]
            total += len(batch) * max(batch)
            real += sum(batch)
    return 1 - real / total


def _warm_up(worker, stage, kind, features) -> None:
    """One untimed forward/backward so one-time kernel set-up is not charged to whichever side runs first."""
    model = worker.build_model(stage, kind)
    batch = kind.collate(features)
    logits = model(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch})
    kind.loss(logits, batch).backward()


if __name__ == "__main__":
    run()
