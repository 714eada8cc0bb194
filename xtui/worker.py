"""The worker: runs one stage, or a group of stages that share a parent checkpoint.

Launched by the executor as ``accelerate launch ... -m xtui.worker STAGE_DIR [STAGE_DIR ...]``.
It never talks to the UI or the index: it reads ``stage.json``, appends one JSON event per
line to ``events.jsonl``, saves a safetensors checkpoint and writes ``result.json``
atomically, last.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Optional

from .files import atomic_write_json, atomic_write_text, read_json

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
FORWARD_KEYS = MODEL_INPUTS + ("task_index",)
"""What a training batch passes to the model: ``task_index`` picks a mixture's head."""


class Stopped(Exception):
    """The supervisor asked this worker to stop (SIGINT / SIGTERM)."""


class Events:
    """Appends events to a stage's ``events.jsonl``; only the main process writes."""

    def __init__(self, path: Path, enabled: bool, stage: Optional[dict] = None):
        self.enabled = enabled
        self.handle = open(path, "a", encoding="utf-8") if enabled else None
        self.trackers = None
        if enabled and stage and (stage.get("run") or {}).get("trackers"):
            from .trackers import StageTrackers

            # W&B / TensorBoard / MLflow see the same events as the file (xtui.trackers)
            self.trackers = StageTrackers(stage, lambda message: self.emit("log", message=message))

    def emit(self, event: str, **fields) -> None:
        if self.handle:
            self.handle.write(json.dumps({"event": event, "time": time.time(), **fields}, ensure_ascii=False) + "\n")
            self.handle.flush()
            if self.trackers is not None:
                self.trackers.event(event, fields)

    def close(self) -> None:
        if self.trackers is not None:
            self.trackers.close()
        if self.handle:
            self.handle.close()


def _raise_stopped(signum, frame):
    raise Stopped(signal.Signals(signum).name)


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    import datasets

    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()


class Worker:
    def __init__(self):
        import torch
        from accelerate import Accelerator

        self.torch = torch
        self.accelerator = Accelerator()
        self.tokenizers: dict = {}
        self.examples: dict = {}
        self.features: dict = {}
        self.parent_state: dict = {}
        self.parent_models: dict = {}
        self.registry = None
        self.feature_cache = None
        self.cache_dir: Optional[Path] = None
        self.peak: Optional[dict] = None
        self._trained_optimizer = lambda: None
        self.speed = _speed_settings(torch, self.accelerator.device)

    # -- caches shared by the stages of one group ------------------------------------------
    def task(self, name: str, stage: Optional[dict] = None):
        """A registered task; with ``stage``, resolved against its data folder (labels files)."""
        from .plugins import load_plugins

        if self.registry is None:
            self.registry = load_plugins()
        task = self.registry.task(name)
        return task.with_data(Path(stage["data_dir"])) if stage and stage.get("data_dir") else task

    def tokenizer(self, model: dict):
        from transformers import AutoTokenizer

        source = model["source"]
        if source not in self.tokenizers:
            name, _, revision = source.partition("@")
            self.tokenizers[source] = AutoTokenizer.from_pretrained(name, revision=revision or None)
        return self.tokenizers[source]

    def load_examples(self, stage: dict, language: str, split: str) -> list:
        from .data import load_examples

        key = (stage["task"], language, split, stage.get("data_dir"))
        if key not in self.examples:
            data_dir = Path(stage["data_dir"]) if stage.get("data_dir") else None
            self.examples[key] = load_examples(self.task(stage["task"]), language, split, data_dir,
                                               stage.get("misaligned_answers", "error"))
        return self.examples[key]

    def load_features(self, stage: dict, kind, language: str, split: str) -> list:
        """Tokenised features of a split: once per process, and once per runs directory through
        the content-addressed cache (data fingerprint, tokenizer, max length, kind code, options)."""
        key = self.feature_key(stage, kind, language, split)
        if key not in self.features:
            from .featcache import FeatureCache

            if self.feature_cache is None:
                self.feature_cache = FeatureCache(self.cache_dir)
            self.features[key] = self.feature_cache.get(key, lambda: kind.features(self.load_examples(stage, language, split)))
        return self.features[key]

    def feature_key(self, stage: dict, kind, language: str, split: str) -> str:
        import inspect

        import tokenizers
        import transformers

        from . import __version__
        from .featcache import code_digest, feature_key

        data_dir = Path(stage["data_dir"]) if stage.get("data_dir") else None
        kind_info = stage.get("kind") or {}
        task = self.task(stage["task"])

        def source_of(thing) -> Optional[str]:
            try:
                return inspect.getsourcefile(thing) if thing is not None else None
            except TypeError:
                return None
        return feature_key(
            data=task.fingerprint(language, split, data_dir),
            tokenizer=stage["model"].get("fingerprint") or stage["model"]["source"],
            max_length=kind.max_length, kind=kind_info.get("target", type(kind).__name__),
            kind_version=str(kind_info.get("version", "")), kind_code=code_digest(source_of(type(kind))),
            options=dict(kind.options), labels=list(kind.labels),
            versions={"xtui": __version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                      "convert": code_digest(source_of(task.convert))},
        )

    def build_model(self, stage: dict, kind):
        """Encoder from the parent checkpoint (or the base model), head from the parent when
        it was trained on the same task, fresh otherwise."""
        from safetensors.torch import load_file
        from transformers import AutoModel

        from .kinds.base import TaskModel

        torch = self.torch
        parent_dir = stage.get("parent_dir")
        model_ref = stage["model"]
        parent = read_json(Path(parent_dir) / "stage.json") if parent_dir else None
        grouped = bool(parent_dir) and stage["type"] in ("fewshot", "evaluate")
        reuse_key = (type(kind), tuple(kind.labels), stage["task"], kind.pooling)
        reusable = self.parent_models.get(parent_dir) if grouped else None
        if (reusable is not None and reusable[0] == reuse_key and parent_dir in self.parent_state
                and parent is not None and parent["task"] == stage["task"]):
            # Another stage of this group: restore the parent's weights in place (no model build).
            model = reusable[1]
            state = self.parent_state[parent_dir][1]
            model.encoder.load_state_dict(state["encoder"])
            model.head.load_state_dict(state["head"])
            torch.manual_seed(stage["seed"])
            return model
        if parent_dir and parent_dir in self.parent_state:
            encoder_config, state = self.parent_state[parent_dir]
            encoder = AutoModel.from_config(encoder_config)
            encoder.load_state_dict(state["encoder"])
        elif parent_dir:
            encoder = AutoModel.from_pretrained(Path(parent_dir) / "checkpoint")
        elif model_ref["tiny"]:
            from transformers import XLMRobertaConfig

            from .models import TINY_CONFIG

            tokenizer = self.tokenizer(model_ref)
            config = {k: v for k, v in TINY_CONFIG.items() if k != "model_type"}
            torch.manual_seed(stage["seed"])
            encoder = AutoModel.from_config(
                XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **config)
            )
        else:
            name, _, revision = model_ref["source"].partition("@")
            encoder = AutoModel.from_pretrained(name, revision=revision or None)
        dropout = getattr(encoder.config, "hidden_dropout_prob", 0.1)
        torch.manual_seed(stage["seed"])
        head = kind.build_head(encoder.config.hidden_size, dropout)
        if parent is not None and parent["task"] == stage["task"]:
            if parent_dir in self.parent_state:
                head.load_state_dict(self.parent_state[parent_dir][1]["head"])
            else:
                head.load_state_dict(load_file(Path(parent_dir) / "checkpoint" / "head.safetensors"))
        if parent_dir and parent_dir not in self.parent_state and stage["type"] in ("fewshot", "evaluate"):
            self.parent_state[parent_dir] = (
                encoder.config,
                {"encoder": {k: v.clone() for k, v in encoder.state_dict().items()},
                 "head": {k: v.clone() for k, v in head.state_dict().items()}},
            )
        model = TaskModel(encoder, head)
        if grouped:
            self.parent_models[parent_dir] = (reuse_key, model)
        return model

    # -- training and evaluation ------------------------------------------------------------
    def autocast(self):
        """bf16 autocast on GPUs that support it (``XTUI_PRECISION=fp32`` turns it off); a no-op elsewhere."""
        import contextlib

        if self.speed["precision"] != "bf16":
            return contextlib.nullcontext()
        return self.torch.autocast(device_type=self.accelerator.device.type, dtype=self.torch.bfloat16)

    def peak_flops(self) -> Optional[dict]:
        """The device's measured matmul peak (cached per machine), for MFU; None if it cannot be measured."""
        if self.peak is None:
            from .perf import peak_flops

            torch = self.torch
            dtype = torch.bfloat16 if self.speed["precision"] == "bf16" else torch.float32
            try:
                self.peak = peak_flops(torch, self.accelerator.device, dtype)
            except Exception as error:  # never fail a stage over a statistic
                self.peak = {"flops": None, "error": f"{type(error).__name__}: {error}"}
        return self.peak if self.peak.get("flops") else None

    def evaluate(self, model, kind, features: list, examples: list, batch_size: int,
                 keep: Optional[Path] = None, meta: Optional[dict] = None) -> dict:
        """The kind's metrics on ``features``; with ``keep``, the decoded predictions are saved there
        (``xtui.predictions``)."""
        torch = self.torch
        accelerator = self.accelerator
        model.eval()
        order = sorted(range(len(features)), key=lambda i: _length(features[i]))
        predictions: list = [None] * len(features)
        with torch.no_grad(), self.autocast():
            for start in range(0, len(order), batch_size):
                indices = order[start:start + batch_size]
                batch_features = [features[i] for i in indices]
                batch = kind.collate(batch_features)
                logits = model(**{k: batch[k].to(accelerator.device) for k in MODEL_INPUTS if k in batch})
                for index, prediction in zip(indices, kind.decode(logits.float().cpu(), batch_features)):
                    predictions[index] = prediction
        model.train()
        from .predictions import score_and_keep

        return score_and_keep(kind, predictions, examples, features, keep, meta)

    def train(self, stage: dict, model, kind, features: list, events: Events, selection=None,
              stage_dir: Optional[Path] = None, batch_size: Optional[int] = None) -> dict:
        """Train ``model`` on ``features`` with the stage's hyper-parameters.

        ``selection`` is ``(evaluate_fn, metric)``: evaluate at a few points and keep the best state.
        With ``stage_dir``, training state is checkpointed periodically under ``resume/`` and an
        interrupted run continues from there, ending with the same weights as an uninterrupted one.
        """
        torch = self.torch
        accelerator = self.accelerator
        from torch.utils.data import DataLoader
        from transformers import get_linear_schedule_with_warmup

        config = dict(stage["training"])
        # Frozen or not is set on every training (a group's stages reuse one model object).
        frozen = model.freeze_embeddings(bool(config.get("freeze_embeddings"))) if hasattr(model, "freeze_embeddings") else 0
        accumulation = config.get("gradient_accumulation", 1)
        if batch_size is not None and batch_size != config["batch_size"]:
            # --auto-batch-size: smaller batches, more accumulation, the same effective batch
            accumulation = accumulation * config["batch_size"] // batch_size
            config["batch_size"] = batch_size
        from .batching import LengthGroupedBatchSampler
        from .perf import non_embedding_parameters

        # Length-grouped batches: dynamic padding then pads little (see xtui.batching).
        if hasattr(kind, "batch_sampler"):  # a mixture: one task per batch, tasks drawn by its policy
            sampler = kind.batch_sampler(config["batch_size"], group_by_length=self.speed["group_by_length"])
        else:
            sampler = LengthGroupedBatchSampler([_length(f) for f in features], config["batch_size"],
                                                group_by_length=self.speed["group_by_length"])
        # The loader's own generator: creating an epoch's iterator must not draw from the global RNG
        # (dropout's), or a resumed run would drift from an uninterrupted one.
        loader = DataLoader(features, batch_sampler=sampler, collate_fn=kind.collate, generator=torch.Generator())
        updates_per_epoch = max(1, math.ceil(len(loader) / accumulation))
        total = config["max_steps"] or max(1, math.ceil(config["epochs"] * updates_per_epoch))
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        # Frozen parameters stay out of the optimizer: no AdamW state for a 96M-row vocabulary.
        trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for n, p in trainable if not n.endswith(no_decay)], "weight_decay": config["weight_decay"]},
            {"params": [p for n, p in trainable if n.endswith(no_decay)], "weight_decay": 0.0},
        ]
        optimizer, optimizer_name = _adamw(torch, groups, config["learning_rate"], accelerator.device)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(config["warmup_ratio"] * total), total)
        model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

        if selection is not None:
            count = math.ceil(total / updates_per_epoch) if total >= 2 * updates_per_epoch else 4
            count = max(1, min(count, 10, total))
            eval_points = {math.ceil(total * i / count) for i in range(1, count + 1)}
        else:
            eval_points = set()
        checkpoints = Checkpoints(stage_dir, stage.get("run", {}), accelerator) if stage_dir else None
        progress = {"step": 0, "epoch": 0, "batch": 0, "seen": 0, "best": None}
        best_state = None
        if checkpoints and checkpoints.progress():
            progress, best_state = checkpoints.restore()
            events.emit("resume", step=progress["step"], total=total)
        events.emit("train", total_steps=total, examples=len(features), batch_size=config["batch_size"],
                    gradient_accumulation=accumulation, updates_per_epoch=updates_per_epoch, start_step=progress["step"])
        log_every = max(1, total // 100)
        step, epoch, seen = progress["step"], progress["epoch"], progress["seen"]
        best = progress["best"]
        # Model FLOPs: 6 x non-embedding parameters x real (non-padding) tokens; MFU against the measured peak.
        params = non_embedding_parameters(accelerator.unwrap_model(model))
        peak = self.peak_flops()
        window_examples = window_batches = 0
        tokens_done = 0
        selection_seconds = 0.0
        window_start = started = time.perf_counter()
        running_loss = torch.zeros((), device=accelerator.device)
        window_tokens = torch.zeros((), dtype=torch.long, device=accelerator.device)
        last_loss = float("nan")
        task_batches: dict = {}
        model.train()
        while step < total:
            # Each epoch's order depends on (seed, epoch) only, so a resumed run sees the same batches.
            sampler.epoch_seed = stage["seed"] * 100_003 + epoch
            skip = progress["batch"] if epoch == progress["epoch"] else 0
            batches = accelerator.skip_first_batches(loader, skip) if skip else loader
            micro = skip
            for batch in batches:
                with self.autocast():
                    logits = model(**{k: batch[k] for k in FORWARD_KEYS if k in batch})
                    loss = kind.loss(logits, batch) / accumulation
                accelerator.backward(loss)
                if "task_index" in batch:
                    task_batches[batch["task_index"]] = task_batches.get(batch["task_index"], 0) + 1
                # accumulated on the device: no host sync until the next log line
                running_loss += loss.detach() * accumulation
                window_tokens += batch["attention_mask"].sum()
                window_batches += 1
                examples_in_batch = batch["input_ids"].size(0) * accelerator.num_processes
                seen += examples_in_batch
                window_examples += examples_in_batch
                micro += 1
                if micro % accumulation and micro != len(loader):
                    continue
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                now = time.perf_counter()
                # On a GPU a log line is a host sync (.item()): at most 4 a second there.
                due = step % log_every == 0 and (accelerator.device.type != "cuda" or now - window_start >= 0.25)
                if due or step == total or now - window_start > 2.0:
                    last_loss = (running_loss / max(window_batches, 1)).item()
                    tokens = int(window_tokens.item()) * accelerator.num_processes
                    tokens_done += tokens
                    window = max(now - window_start, 1e-9)
                    events.emit("step", step=step, total=total, epoch=epoch, loss=last_loss,
                                lr=scheduler.get_last_lr()[0], examples_per_second=window_examples / window,
                                **_flops_fields(params, tokens, window, peak))
                    running_loss.zero_()
                    window_tokens.zero_()
                    window_batches = window_examples = 0
                    window_start = now
                if step in eval_points:
                    evaluate, metric = selection
                    evaluated = time.perf_counter()
                    scores = evaluate(model)
                    # selection evaluations are not training: keep them out of throughput and MFU
                    selection_seconds += time.perf_counter() - evaluated
                    window_start += time.perf_counter() - evaluated
                    events.emit("eval", step=step, split="validation", metrics=scores, selection=True)
                    if best is None or scores[metric] > best["value"]:
                        unwrapped = accelerator.unwrap_model(model)
                        best = {"step": step, "value": scores[metric], "metrics": scores}
                        best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
                        if checkpoints:
                            checkpoints.save_best(best_state)
                if step >= total:
                    break
                if checkpoints and checkpoints.due(step):
                    at_end = micro >= len(loader)
                    checkpoints.save({"step": step, "epoch": epoch + 1 if at_end else epoch,
                                      "batch": 0 if at_end else micro, "seen": seen, "best": best})
                    events.emit("checkpoint", step=step)
            epoch += 1
        elapsed = time.perf_counter() - started
        tokens_done += int(window_tokens.item()) * accelerator.num_processes
        training_seconds = max(elapsed - selection_seconds, 1e-9)
        unwrapped = accelerator.unwrap_model(model)
        summary = {"steps": total, "examples_seen": seen, "train_examples": len(features), "final_loss": last_loss,
                   "seconds": elapsed, "examples_per_second": (seen - progress["seen"]) / training_seconds,
                   "epochs_run": seen / max(len(features), 1), "batch_size": config["batch_size"],
                   "gradient_accumulation": accumulation, "training_seconds": training_seconds,
                   "selection_seconds": selection_seconds, "tokens": tokens_done,
                   **_flops_fields(params, tokens_done, training_seconds, peak), "non_embedding_parameters": params,
                   "peak_flops": peak["flops"] if peak else None, "precision": self.speed["precision"],
                   "optimizer": optimizer_name, "length_grouped": self.speed["group_by_length"],
                   "trainable_parameters": sum(p.numel() for _, p in trainable),
                   "frozen_embedding_parameters": frozen if config.get("freeze_embeddings") else 0}
        if progress["step"]:
            summary["resumed_from_step"] = progress["step"]
        if task_batches:  # a mixture: batches each task got (in this process, since any resume)
            summary["batches_per_task"] = [task_batches.get(i, 0) for i in range(max(task_batches) + 1)]
        if best is not None:
            if best["step"] != total:
                unwrapped.load_state_dict(best_state)
            summary["selection"] = {"strategy": "best English validation", "metric": selection[1],
                                    "step": best["step"], "value": best["value"], "evaluations": len(eval_points)}
            summary["validation"] = best["metrics"]
        else:
            summary["selection"] = {"strategy": "last checkpoint", "step": total,
                                    "reason": "no English validation data" if stage["type"] == "target" else "no selection"}
        import weakref

        self._trained_optimizer = weakref.ref(optimizer.optimizer if hasattr(optimizer, "optimizer") else optimizer)
        _release(accelerator)
        return summary

    def train_with_batch_search(self, stage, model, kind, features, events, selection, stage_dir) -> dict:
        """Train; with ``run.auto_batch_size``, halve the batch on out-of-memory (keeping the
        effective batch through gradient accumulation), as Accelerate's find_executable_batch_size does."""
        batch_size = stage["training"]["batch_size"]
        searching = bool(stage.get("run", {}).get("auto_batch_size"))
        initial = {k: v.detach().clone() for k, v in model.state_dict().items()} if searching else None
        while True:
            try:
                _fault_oom(batch_size)
                summary = self.train(stage, model, kind, features, events, selection, stage_dir, batch_size)
                if self._trained_optimizer() is not None:
                    # something still holds the optimizer state (a reference cycle): collect it now,
                    # not at Python's next full collection, so the next stage has the memory
                    import gc

                    gc.collect()
                return summary
            except Exception as error:
                if not searching or _classify(error)[0] != "out of memory" or batch_size == 1:
                    raise
                self.accelerator.free_memory()
                if self.torch.cuda.is_available():
                    self.torch.cuda.empty_cache()
                model.load_state_dict(initial)
                batch_size //= 2
                events.emit("log", message=f"out of memory: retrying with batch_size {batch_size}", level="warning")

    # -- multi-task mixtures ---------------------------------------------------------------------
    def mixture_kind(self, stage: dict, max_length: int) -> tuple:
        """The mixture's kind (one member kind per task) and its members as pseudo-stages
        (``stage`` with the member's task and kind), for loading data and features."""
        from .kinds import build_kind
        from .kinds.mixture import MixtureKind

        tokenizer = self.tokenizer(stage["model"])
        members, kinds = [], []
        for member in stage["mixture"]["tasks"]:
            task = self.task(member["task"], stage)
            members.append({**stage, "task": member["task"], "kind": member["kind"], "language": member["language"],
                            "data": member["data"]})
            member_kind = build_kind(member["kind"]["target"], task, tokenizer, max_length, member["language"],
                                     (member.get("scorer") or {}).get("name"))
            member_kind.pooling = member.get("pooling")
            kinds.append(member_kind)
        mixture = stage["mixture"]
        kind = MixtureKind([m["task"] for m in members], kinds, mixture.get("sampling", "proportional"),
                           mixture.get("temperature") or 2.0)
        return kind, members

    def mixture_data(self, stage: dict, kind, members: list, eval_batch: int) -> tuple:
        """Training features of every member, end to end; model selection on the mean of the
        members' headline validation scores (members without validation data do not count)."""
        task_features, validations = [], []
        for index, (member, member_kind) in enumerate(zip(members, kind.kinds)):
            task = self.task(member["task"])
            task_features.append(self.load_features(member, member_kind, member["language"], task.train_split))
            if "validation" in member["data"]:
                validations.append((index, task, member_kind,
                                    self.load_examples(member, member["language"], task.validation_split),
                                    self.load_features(member, member_kind, member["language"], task.validation_split)))
        features = kind.join(task_features, _length)
        if not validations:
            return features, None

        def evaluate(model) -> dict:
            heads = self.accelerator.unwrap_model(model).head
            scores = {}
            try:
                for index, task, member_kind, examples, member_features in validations:
                    heads.active = index
                    for name, value in self.evaluate(model, member_kind, member_features, examples, eval_batch).items():
                        scores[f"{task.name}.{name}"] = value
            finally:
                heads.active = 0
            headline = [scores[f"{task.name}.{task.metric}"] for _, task, *_ in validations]
            return {"average": sum(headline) / len(headline), **scores}
        return features, (evaluate, "average")

    def save_checkpoint(self, model, stage_dir: Path) -> None:
        from safetensors.torch import save_file

        if not self.accelerator.is_main_process:
            return
        final = stage_dir / "checkpoint"
        partial = stage_dir / "checkpoint.partial"
        if partial.exists():
            import shutil

            shutil.rmtree(partial)
        model.encoder.save_pretrained(partial)
        _fault("checkpoint")
        save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, partial / "head.safetensors")
        if final.exists():
            import shutil

            shutil.rmtree(final)
        os.replace(partial, final)

    # -- one stage -------------------------------------------------------------------------------
    def run_stage(self, stage_dir: Path) -> bool:
        from .kinds import build_kind
        from .shots import sample_shots

        torch = self.torch
        accelerator = self.accelerator
        stage = read_json(stage_dir / "stage.json")
        main = accelerator.is_main_process
        events = Events(stage_dir / "events.jsonl", main, stage)
        started = time.time()
        events.emit("start", pid=os.getpid(), pgid=os.getpgid(0), host=socket.gethostname(),
                    type=stage["type"], device=str(accelerator.device), processes=accelerator.num_processes,
                    threads=self.speed["threads"], precision=self.speed["precision"])
        clock = time.perf_counter()
        timing: dict = {}
        try:
            from accelerate.utils import set_seed

            if self.cache_dir is None:
                self.cache_dir = _feature_cache_dir(stage_dir)
            set_seed(stage["seed"])
            from .models import prepare_model

            # A preset made on first use (the e5 conversion): once per cache, under a lock; a stat after that.
            prepare_model(stage["model"], log=lambda message: events.emit("log", message=message, level="info"))
            max_length = stage.get("training", {}).get("max_length") or stage.get("max_length", 128)
            if stage.get("mixture"):
                kind, members = self.mixture_kind(stage, max_length)
                metric = "average"
            else:
                task = self.task(stage["task"], stage)
                kind = build_kind(stage["kind"]["target"], task, self.tokenizer(stage["model"]), max_length,
                                  stage["language"], (stage.get("scorer") or {}).get("name"))
                kind.pooling = stage.get("pooling")
                metric = task.metric
            model = self.build_model(stage, kind).to(accelerator.device)
            if self.speed["compile"] and stage["type"] != "evaluate" and hasattr(model, "compile"):
                model.compile(dynamic=True)
            timing["model"] = time.perf_counter() - clock
            result: dict = {}
            eval_batch = stage.get("eval_batch_size") or stage.get("training", {}).get("eval_batch_size", 64)
            language = stage["language"]
            if stage["type"] in ("intermediate", "target"):
                if stage.get("mixture"):
                    # (stages run one process each: several processes per stage would need DDP told that each
                    # step leaves the other tasks' heads without gradients, find_unused_parameters=True)
                    features, selection = self.mixture_data(stage, kind, members, eval_batch)
                else:
                    features = self.load_features(stage, kind, language, task.train_split)
                    selection = None
                    if "validation" in stage["data"]:
                        valid_examples = self.load_examples(stage, language, task.validation_split)
                        valid_features = self.load_features(stage, kind, language, task.validation_split)
                        selection = (lambda m: self.evaluate(m, kind, valid_features, valid_examples, eval_batch), task.metric)
                train_started = time.perf_counter()
                result["train"] = self.train_with_batch_search(stage, model, kind, features, events, selection, stage_dir)
                timing["train"] = time.perf_counter() - train_started
                result["selection"] = result["train"].pop("selection")
                if "validation" in result["train"]:
                    result["validation"] = result["train"].pop("validation")
                if stage.get("mixture"):
                    result["mixture"] = {"tasks": kind.names, "sizes": kind.sizes, "weights": kind.weights,
                                         "sampling": kind.sampling,
                                         "temperature": kind.temperature if kind.sampling == "temperature" else None,
                                         "batches_per_task": _padded(result["train"].pop("batches_per_task", []),
                                                                     len(kind.names))}
            elif stage["type"] == "fewshot":
                pool_split = stage["shot_pool"]["split"]
                pool = self.load_examples(stage, language, pool_split)
                if stage.get("shot_file"):  # a published set (fewshot.shot_sets_from), matched by content
                    from .buckets import match_set

                    indices = match_set(Path(stage["shot_file"]), pool, stage.get("labels_names") or [],
                                        f"the {language} shot pool of {stage['task']} ({pool_split})")
                    result["shot_file"] = stage["shot_file"]
                else:
                    strata = [kind.stratum(e) for e in pool] if stage.get("stratified", True) else [None] * len(pool)
                    indices = sample_shots(strata, stage["shots"], stage["shot_seed"], stage.get("stratified", True),
                                           what=f"{stage['task']} {language} {pool_split}")
                shots = [pool[i] for i in indices]
                if main:
                    atomic_write_text(stage_dir / "shots.jsonl", "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in shots))
                result["shot_indices"] = indices
                result["shot_split"] = pool_split
                features = kind.features(shots)
                set_seed(stage["seed"])
                train_started = time.perf_counter()
                result["train"] = self.train_with_batch_search(stage, model, kind, features, events, None, None)
                timing["train"] = time.perf_counter() - train_started
                result["selection"] = result["train"].pop("selection")
                model = self.accelerator.unwrap_model(model)
            if stage["type"] in ("evaluate", "fewshot"):
                split = stage["evaluation"]["split"]
                examples = self.load_examples(stage, language, split)
                features = self.load_features(stage, kind, language, split)
                eval_started = time.perf_counter()
                from .predictions import PREDICTIONS_FILE

                scores = self.evaluate(model, kind, features, examples, eval_batch,
                                       keep=stage_dir / PREDICTIONS_FILE if main else None,
                                       meta={"stage": stage["hash"], "task": stage["task"], "split": split})
                timing["eval"] = time.perf_counter() - eval_started
                events.emit("eval", split=split, language=language, metrics=scores,
                            examples_per_second=len(examples) / max(timing["eval"], 1e-9))
                result["metrics"] = scores
                result["evaluation"] = {"split": split, "language": language, "examples": len(examples)}
            if stage.get("save_checkpoint"):
                self.save_checkpoint(self.accelerator.unwrap_model(model), stage_dir)
            if main:
                import shutil

                shutil.rmtree(stage_dir / "resume", ignore_errors=True)
            # Where the time went: "train" is the whole training call (its loop alone is
            # train.training_seconds), "eval" the final evaluation, the rest is overhead.
            timing["total"] = time.perf_counter() - clock
            result["timing"] = timing
            result = {
                "hash": stage["hash"], "type": stage["type"], "status": "done", "task": stage["task"],
                "language": language, "labels": stage["labels"], "seed": stage["seed"],
                "metric": metric, "scorer": _scorer_record(kind), **result,
                "device": str(accelerator.device), "processes": accelerator.num_processes,
                "versions": _versions(), "started": started, "finished": time.time(),
                "seconds": time.time() - started,
            }
            if main:
                atomic_write_json(stage_dir / "result.json", result)
            speed = {k: result["train"][k] for k in ("examples_per_second", "tokens_per_second", "flops_per_second", "mfu")
                     if k in result.get("train", {})}
            events.emit("done", metric=metric, metrics=result.get("metrics") or result.get("validation") or {},
                        seconds=result["seconds"],
                        **speed)
            return True
        except Stopped as stop:
            events.emit("stopped", signal=str(stop))
            raise
        except Exception as error:
            cause, hint = _classify(error)
            message = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
            if main:
                atomic_write_text(stage_dir / "error.txt", traceback.format_exc())
            events.emit("error", message=message, cause=cause, hint=hint)
            print(f"xtui worker: stage {stage_dir.name} failed: {message}", file=sys.stderr)
            return False
        finally:
            events.close()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


class Checkpoints:
    """Periodic training state under ``<stage>/resume/``: Accelerate's save/load state (model,
    optimizer, scheduler, RNG) plus the data position and the best validation state so far."""

    def __init__(self, stage_dir: Path, run: dict, accelerator):
        self.folder = Path(stage_dir) / "resume"
        self.accelerator = accelerator
        self.every_steps = run.get("checkpoint_every_steps")
        self.every_seconds = 60.0 * float(run.get("checkpoint_every_minutes") or 0) or None
        self.last = time.monotonic()

    def progress(self) -> Optional[dict]:
        return read_json(self.folder / "progress.json")

    def due(self, step: int) -> bool:
        if self.every_steps and step % self.every_steps == 0:
            return True
        return bool(self.every_seconds) and time.monotonic() - self.last >= self.every_seconds

    def save(self, progress: dict) -> None:
        import shutil

        state = self.folder / f"state-{progress['step']}"
        self.accelerator.save_state(str(state))
        if self.accelerator.is_main_process:
            _fault("checkpoint")
            atomic_write_json(self.folder / "progress.json", {**progress, "state": state.name})
            for old in self.folder.glob("state-*"):
                if old != state:
                    shutil.rmtree(old, ignore_errors=True)
        self.last = time.monotonic()

    def save_best(self, state: dict) -> None:
        from safetensors.torch import save_file

        if self.accelerator.is_main_process:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / "best.partial.safetensors"
            save_file({k: v.contiguous() for k, v in state.items()}, str(partial))
            os.replace(partial, self.folder / "best.safetensors")

    def restore(self) -> tuple:
        from safetensors.torch import load_file

        progress = self.progress()
        self.accelerator.load_state(str(self.folder / progress["state"]))
        best_state = None
        if progress.get("best") and (self.folder / "best.safetensors").is_file():
            best_state = load_file(str(self.folder / "best.safetensors"))
        return progress, best_state

    def clear(self) -> None:
        import shutil

        if self.accelerator.is_main_process:
            shutil.rmtree(self.folder, ignore_errors=True)


def _scorer_record(kind) -> Optional[dict]:
    """Which scorer gave the stage's metrics (name, version, the official script it reproduces)."""
    scorer = getattr(kind, "_scorer", None)
    return {"name": scorer.name, "version": scorer.version, "reproduces": scorer.reproduces} if scorer else None


def _padded(values: list, size: int) -> list:
    return list(values) + [0] * (size - len(values))


def _length(feature: dict) -> int:
    """Tokens a feature pads to: its length, or its longest row for multi-row features (multiple choice)."""
    ids = feature["input_ids"]
    if ids and isinstance(ids[0], (list, tuple)):
        return max(len(row) for row in ids)
    return len(ids)


def _release(accelerator) -> None:
    """Drop the accelerator's references to a finished training's model, optimizer, scheduler and
    loader, as ``free_memory`` does but without its full ``gc.collect()`` (0.1-0.3 s per stage with
    features in memory; refcounting frees the state, and the caller checks that it did)."""
    names = ("_schedulers", "_optimizers", "_models", "_dataloaders")
    if not all(isinstance(getattr(accelerator, name, None), list) for name in names) or getattr(
            accelerator, "deepspeed_engine_wrapped", None) is not None:
        accelerator.free_memory()
        return
    for name in names:
        setattr(accelerator, name, [])
    accelerator.step = 0


def _feature_cache_dir(stage_dir: Path) -> Path:
    """``$XTUI_HOME/cache/features``: the runs directory holding this stage (stages/<hash>)."""
    stage_dir = Path(stage_dir).resolve()
    if stage_dir.parent.name == "stages":
        return stage_dir.parent.parent / "cache" / "features"
    from .store import xtui_home

    return xtui_home() / "cache" / "features"


def _speed_settings(torch, device) -> dict:
    """How this worker trains fast: precision (bf16 autocast on GPUs that support it, TF32 matmuls on
    GPU), threads (never more than the CPUs this process may use), length-grouped batches, optional
    ``torch.compile``. Environment: ``XTUI_PRECISION`` (auto, bf16, fp32), ``XTUI_GROUP_BY_LENGTH=0``,
    ``XTUI_COMPILE=1``. None of these is part of a stage's hash (like the device, they are how a stage
    runs, not what it computes)."""
    from .perf import usable_cpus

    cuda = getattr(device, "type", str(device)) == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    precision = os.environ.get("XTUI_PRECISION", "auto").strip().lower() or "auto"
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    elif precision not in ("bf16", "fp32"):
        precision = "fp32"
    cpus = usable_cpus()
    if not cuda and torch.get_num_threads() > cpus:
        torch.set_num_threads(cpus)
    return {"precision": precision, "tf32": cuda, "threads": torch.get_num_threads(),
            "group_by_length": os.environ.get("XTUI_GROUP_BY_LENGTH", "1") != "0",
            "compile": os.environ.get("XTUI_COMPILE", "0") == "1"}


def _adamw(torch, groups: list, lr: float, device) -> tuple:
    """AdamW with the fused kernel where this torch has it for the device (CPU and CUDA in torch >= 2.4),
    else the multi-tensor (foreach) one."""
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True), "adamw (fused)"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr, foreach=True), "adamw (foreach)"


def _flops_fields(params: int, tokens: int, seconds: float, peak: Optional[dict]) -> dict:
    """Throughput fields of step events and the train summary: tokens/s, model FLOP/s and MFU."""
    from .perf import training_flops

    seconds = max(seconds, 1e-9)
    flops = training_flops(params, tokens) / seconds
    fields = {"tokens_per_second": tokens / seconds, "flops_per_second": flops}
    if peak:
        fields["mfu"] = flops / peak["flops"]
    return fields


def _fault_oom(batch_size: int) -> None:
    """Fault injection for tests: XTUI_FAULT_OOM_ABOVE=N fails batches larger than N as CUDA would."""
    limit = os.environ.get("XTUI_FAULT_OOM_ABOVE")
    if limit and batch_size > int(limit):
        import torch

        raise torch.OutOfMemoryError(f"CUDA out of memory (simulated by XTUI_FAULT_OOM_ABOVE={limit}, batch {batch_size})")


def _fault(point: str) -> None:
    """Fault injection for tests: XTUI_FAULT=checkpoint raises a disk-full error there."""
    if os.environ.get("XTUI_FAULT") == point:
        import errno

        raise OSError(errno.ENOSPC, "No space left on device (simulated by XTUI_FAULT)")


def _classify(error: Exception) -> tuple:
    from .errors import XtuiError

    name = type(error).__name__
    text = str(error).lower()
    if "out of memory" in text or name in ("OutOfMemoryError", "MemoryError"):
        return "out of memory", "lower batch_size (and raise gradient_accumulation to keep the effective batch)"
    if isinstance(error, XtuiError):
        return "bad input", ""
    if isinstance(error, OSError) and getattr(error, "errno", None) == 28:
        return "disk full", "free space in the runs directory (XTUI_HOME)"
    return "exception", "see error.txt in the stage directory"


def _versions() -> dict:
    import accelerate
    import torch
    import transformers

    from . import __version__

    return {"xtui": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "accelerate": accelerate.__version__, "python": platform.python_version()}


def main(argv=None) -> int:
    stage_dirs = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not stage_dirs:
        print("usage: python -m xtui.worker STAGE_DIR [STAGE_DIR ...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGINT, _raise_stopped)
    heartbeat = Heartbeat(stage_dirs)
    heartbeat.start()
    failed = 0
    done = 0
    try:
        _quiet_libraries()
        worker = Worker()
        heartbeat.main = worker.accelerator.is_main_process
        for stage_dir in stage_dirs:
            if not worker.run_stage(stage_dir):
                failed += 1
            done += 1
    except Stopped as stop:
        for stage_dir in stage_dirs[done + 1:]:
            Events(stage_dir / "events.jsonl", heartbeat.main).emit("stopped", signal=str(stop), started=False)
        return 130
    finally:
        heartbeat.stop()
    return 1 if failed else 0


class Heartbeat:
    """Touches ``<stage>/heartbeat`` every few seconds while this worker lives, so any reader
    can tell a live stage from a dead one, also across hosts (no pid check needed)."""

    def __init__(self, stage_dirs: list, every: float = 5.0):
        import threading

        self.stage_dirs = stage_dirs
        self.every = every
        self.main = os.environ.get("RANK", "0") == "0"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, name="xtui-heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        while not self.done.is_set():
            if self.main:
                beat = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()})
                for stage_dir in self.stage_dirs:
                    try:
                        (stage_dir / "heartbeat").write_text(beat)
                    except OSError:
                        pass
            self.done.wait(self.every)

    def stop(self) -> None:
        self.done.set()


if __name__ == "__main__":
    sys.exit(main())
