"""GPU throughput and MFU (goal 7): XLM-R base, bf16, xtui's worker against Trainer.

Runs only where CUDA is available; otherwise it records that no GPU was there. XLM-R base
weights cannot be downloaded offline, so the model is a randomly initialised XLM-R base
(`XLMRobertaConfig()` defaults: 12 layers, hidden 768, vocabulary 250,002); throughput does not
depend on the weights. Inputs are XNLI (or demo) English features tokenised with the packaged
MiniLM tokenizer (ids fit in XLM-R's vocabulary). xtui trains with bf16 autocast and TF32
(its GPU default); Trainer with `bf16=True`, `tf32=True`, dynamic padding, fused AdamW.
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
from pathlib import Path

from .common import SHARED_DATA, append_results, fmt, machine, markdown_table, median, offline, print_table, spread


def run(repeats: int = 3, quick: bool = False, smoke_cpu: bool = False) -> dict:
    """``smoke_cpu`` runs the same code on CPU with a small config (to test this file without a GPU)."""
    offline()
    import torch

    if not torch.cuda.is_available() and not smoke_cpu:
        info = machine(torch.__version__)
        body = ("No GPU on this machine (`torch.cuda.is_available()` is False): the XLM-R base bf16 throughput and MFU "
                "benchmark was **not run**. On a machine with a GPU, `make bench` runs it (this file: "
                "`benchmarks/gpu.py`).\n")
        append_results("GPU throughput and MFU, XLM-R base bf16 (goal 7)", info, body)
        print("gpu: no GPU here; recorded that the GPU benchmark was not run")
        return {"ran": False}

    import datasets
    from transformers import (AutoModel, AutoModelForSequenceClassification, DataCollatorWithPadding, PrinterCallback,
                              Trainer, TrainingArguments, XLMRobertaConfig)

    from xtui.data import load_examples
    from xtui.kinds.base import TaskModel
    from xtui.kinds.classification import ClassificationKind
    from xtui.models import resolve_model
    from xtui.perf import non_embedding_parameters
    from xtui.plugins import load_plugins
    from xtui.stage import StageConfig
    from xtui.worker import Events, Worker, quiet_libraries

    quiet_libraries()
    datasets.disable_progress_bars()
    registry = load_plugins()
    worker = Worker()
    device = worker.device.accelerator.device
    scratch = Path(tempfile.mkdtemp(prefix="xtui-bench-gpu-"))
    peak = worker.peak_flops()
    info = machine(torch.__version__)
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    info["precision"] = worker.device.speed["precision"]
    peak_label = f"{peak['flops'] / 1e12:.2f} TFLOP/s" if peak else "?"
    info[f"peak (measured {worker.device.speed['precision']} matmul)"] = peak_label
    data = SHARED_DATA if (SHARED_DATA / "xnli").is_dir() else None
    task_name = "xnli" if data and "xnli" in registry.tasks else "demo_sentiment"
    task = registry.tasks[task_name]
    tokenizer = worker.tokenizer(resolve_model("minilm").to_json())
    kind = ClassificationKind(task.labels, tokenizer, 128, {})
    examples = load_examples(task, "en", "train", data)
    count = 64 if smoke_cpu else (1024 if quick else 2048)
    examples = [examples[i % len(examples)] for i in random.Random(0).sample(range(max(count, len(examples))), count)]
    features = [{k: v for k, v in f.items() if k != "token_type_ids"} for f in kind.features(examples)]
    batch_size = 32
    config = XLMRobertaConfig(num_hidden_layers=2, hidden_size=128, intermediate_size=256, num_attention_heads=2) \
        if smoke_cpu else XLMRobertaConfig()
    config.pad_token_id = tokenizer.pad_token_id
    kind_info = registry.kinds[task.kind]
    stage = StageConfig.standalone(
        task_name, {"target": kind_info.target, "version": kind_info.version}, resolve_model("minilm").to_json(), "en",
        {"batch_size": batch_size, "gradient_accumulation": 1, "max_steps": None, "epochs": 1.0, "weight_decay": 0.01,
         "learning_rate": 2e-5, "warmup_ratio": 0.1, "max_length": 128, "eval_batch_size": 64},
        data_dir=str(data) if data else None, class_names=task.labels)
    dataset = datasets.Dataset.from_list(features)
    tokens = sum(len(f["input_ids"]) for f in features)
    print(f"gpu: {'XLM-R base' if not smoke_cpu else 'small XLM-R (CPU smoke test)'}, {len(features)} features, "
          f"batch {batch_size}, {worker.device.speed['precision']}, on {info['gpu'] if device.type == 'cuda' else 'cpu'}")

    def xtui_side():
        torch.manual_seed(1)
        model = TaskModel(AutoModel.from_config(config), kind.build_head(config.hidden_size, 0.1)).to(device)
        events = Events(scratch / "events.jsonl", True)
        gc.collect()
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        summary = worker.train(stage, model, kind, features, events)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        xtui_side.params = non_embedding_parameters(model)
        xtui_side.mfu.append(summary.get("mfu"))
        del model
        return len(features) / elapsed

    xtui_side.mfu = []

    def trainer_side():
        torch.manual_seed(1)
        hf_config = XLMRobertaConfig.from_dict({**config.to_dict(), "num_labels": len(task.labels)})
        model = AutoModelForSequenceClassification.from_config(hf_config)
        cuda = device.type == "cuda"
        args = TrainingArguments(output_dir=str(scratch / "trainer"), per_device_train_batch_size=batch_size,
                                 num_train_epochs=1, learning_rate=2e-5, weight_decay=0.01, warmup_steps=0.1,
                                 report_to="none", save_strategy="no", eval_strategy="no", logging_strategy="no",
                                 disable_tqdm=True, seed=1, bf16=cuda and worker.device.speed["precision"] == "bf16",
                                 tf32=cuda or None, use_cpu=not cuda)
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer))
        trainer.remove_callback(PrinterCallback)
        gc.collect()
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        trainer.train()
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        trainer_side.params = non_embedding_parameters(model)
        del trainer, model
        return len(features) / elapsed

    values = {"xtui": [], "Trainer": []}
    sides = {"xtui": xtui_side, "Trainer": trainer_side}
    for repeat in range(repeats):
        for name in (list(sides) if repeat % 2 == 0 else list(reversed(sides))):
            values[name].append(sides[name]())
            print(f"    {name} #{repeat + 1}: {values[name][-1]:.1f} examples/s")
    x, t = median(values["xtui"]), median(values["Trainer"])
    flops = lambda rate, params: 6 * params * tokens * rate / len(features)  # noqa: E731
    mfu_x = flops(x, xtui_side.params) / peak["flops"] if peak else None
    mfu_t = flops(t, trainer_side.params) / peak["flops"] if peak else None
    reported = [m for m in xtui_side.mfu if m is not None]
    headers = ["model", "xtui ex/s", "Trainer ex/s", "xtui ÷ Trainer", "MFU xtui (wall)", "MFU Trainer (wall)",
               "MFU xtui (its events)"]
    rows = [["XLM-R base (random init)" if not smoke_cpu else "small XLM-R (CPU smoke test)",
             f"{fmt(x)} ({spread(values['xtui'])})", f"{fmt(t)} ({spread(values['Trainer'])})", f"**{x / t:.2f}×**",
             f"{100 * mfu_x:.1f}%" if mfu_x else "-", f"{100 * mfu_t:.1f}%" if mfu_t else "-",
             f"{100 * median(reported):.1f}%" if reported else "-"]]
    print_table("GPU training throughput", headers, rows)
    notes = [f"{len(features)} {task_name} English features (MiniLM tokenizer), batch {batch_size}, max length 128, one "
             f"epoch; {repeats} repetitions per side, interleaved; MFU = 6 × non-embedding parameters × real tokens ÷ "
             f"wall time ÷ measured matmul peak ({peak_label})."]
    body = markdown_table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    append_results("GPU throughput and MFU, XLM-R base bf16 (goal 7)" + (" — CPU smoke test" if smoke_cpu else ""), info, body)
    return {"ran": True, "xtui": values["xtui"], "trainer": values["Trainer"], "mfu_xtui": mfu_x, "mfu_trainer": mfu_t}


if __name__ == "__main__":
    import sys

    run(smoke_cpu="--smoke-cpu" in sys.argv)
