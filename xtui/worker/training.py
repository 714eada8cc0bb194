"""The training loop of a stage: length-grouped batches, fused AdamW over the trainable
parameters, a linear schedule, no host sync per step, model selection (on English or target-language
dev data, at a few points or every ``eval_every`` steps) with early stopping after ``patience``
evaluations without improvement, periodic resumable checkpoints, and the batch-size search on
out-of-memory."""

from __future__ import annotations

import math
import time
import weakref
from pathlib import Path
from typing import Optional

from ..selection import LAST, TARGET_DEV, eval_points, phase_select
from ..stage import StageType
from .checkpoints import Checkpoints
from .events import Preempted, Preemption
from .faults import classify, fault_oom

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


def adamw(torch, groups: list, lr: float, device) -> tuple:
    """AdamW with the fused kernel where this torch has it for the device (CPU and CUDA in torch >= 2.4),
    else the multi-tensor (foreach) one."""
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True), "adamw (fused)"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr, foreach=True), "adamw (foreach)"


def flops_fields(params: int, tokens: int, seconds: float, peak: Optional[dict]) -> dict:
    """Throughput fields of step events and the train summary: tokens/s, model FLOP/s and MFU."""
    from ..perf import training_flops

    seconds = max(seconds, 1e-9)
    flops = training_flops(params, tokens) / seconds
    fields = {"tokens_per_second": tokens / seconds, "flops_per_second": flops}
    if peak:
        fields["mfu"] = flops / peak["flops"]
    return fields


class _Items:
    """The dataset of a sharded loader: its batch sampler's items are the features' keys (xtui.batching.ShardedBatches)."""

    def __getitem__(self, item):
        return item


class Trainer:
    def __init__(self, device):
        self.device = device
        self._trained_optimizer = lambda: None

    def train(self, stage, model, kind, features: list, events, selection=None, stage_dir: Optional[Path] = None,
              batch_size: Optional[int] = None) -> dict:
        """Train ``model`` on ``features`` with the stage's hyper-parameters.

        ``selection`` is ``(evaluate_fn, metric[, what])`` (xtui.kinds.base.Kind.selection): evaluate at
        a few points (or every ``training.eval_every`` steps) and keep the best state; with
        ``training.patience``, stop after that many evaluations without improvement.
        With ``stage_dir``, training state is checkpointed periodically under ``resume/`` and an
        interrupted run continues from there, ending with the same weights as an uninterrupted one.
        """
        run = TrainingRun(self.device, stage, model, kind, features, events, selection, stage_dir, batch_size)
        summary = run.run()
        optimizer = run.optimizer
        self._trained_optimizer = weakref.ref(getattr(optimizer, "optimizer", optimizer))
        self.device.release()
        return summary

    def train_with_batch_search(self, stage, model, kind, features, events, selection, stage_dir) -> dict:
        """Train; with ``run.auto_batch_size``, halve the batch on out-of-memory (keeping the effective
        batch through gradient accumulation), as Accelerate's find_executable_batch_size does."""
        batch_size = stage.training.batch_size
        searching = bool((stage.run or {}).get("auto_batch_size"))
        initial = {k: v.detach().clone() for k, v in model.state_dict().items()} if searching else None
        while True:
            try:
                fault_oom(batch_size)
                summary = self.train(stage, model, kind, features, events, selection, stage_dir, batch_size)
                if self._trained_optimizer() is not None:
                    # something still holds the optimizer state (a reference cycle): collect it now,
                    # not at Python's next full collection, so the next stage has the memory
                    import gc

                    gc.collect()
                return summary
            except Exception as error:
                if not searching or classify(error)[0] != "out of memory" or batch_size == 1:
                    raise
                self.device.accelerator.free_memory()
                self.device.empty_cache()
                model.load_state_dict(initial)
                batch_size //= 2
                events.log(f"out of memory: retrying with batch_size {batch_size}", level="warning")


class TrainingRun:
    """One call of :meth:`Trainer.train`: the loop's state, step by step."""

    def __init__(self, device, stage, model, kind, features, events, selection, stage_dir, batch_size):
        self.device, self.stage, self.kind, self.features, self.events = device, stage, kind, features, events
        self.selection = selection
        self.torch = device.torch
        self.accelerator = device.accelerator
        self.config = dict(stage.training.to_json())
        self.accumulation = self.config.get("gradient_accumulation", 1)
        if batch_size is not None and batch_size != self.config["batch_size"]:
            # --auto-batch-size: smaller batches, more accumulation, the same effective batch
            self.accumulation = self.accumulation * self.config["batch_size"] // batch_size
            self.config["batch_size"] = batch_size
        # Frozen or not is set on every training (a group's stages reuse one model object).
        self.frozen = model.freeze_embeddings(bool(self.config.get("freeze_embeddings")))
        self._prepare(model)
        self.checkpoints = Checkpoints(stage_dir, stage.run or {}, self.accelerator) if stage_dir else None
        self._resume()

    def _prepare(self, model) -> None:
        from torch.utils.data import DataLoader
        from transformers import get_linear_schedule_with_warmup

        torch, config = self.torch, self.config
        # Length-grouped batches: dynamic padding then pads little (see xtui.batching).
        self.sampler = self.kind.batch_sampler(self.features, config["batch_size"], self.device.speed["group_by_length"])
        # The loader's own generator: creating an epoch's iterator must not draw from the global RNG
        # (dropout's), or a resumed run would drift from an uninterrupted one.
        processes = self.accelerator.num_processes
        self.sharded = processes > 1
        if self.sharded:
            # Every process sees its part of the one-process run's batches (xtui.batching.ShardedBatches).
            from ..batching import ShardedBatches

            features, collate = self.features, self.kind.collate
            loader = DataLoader(_Items(), batch_sampler=ShardedBatches(self.sampler, processes, self.accelerator.process_index),
                                collate_fn=lambda items: (collate([features[i] for i, _, _ in items]), items[0][1], items[0][2]),
                                generator=torch.Generator())
        else:
            loader = DataLoader(self.features, batch_sampler=self.sampler, collate_fn=self.kind.collate,
                                generator=torch.Generator())
        self.updates_per_epoch = max(1, math.ceil(len(loader) / self.accumulation))
        self.total = config["max_steps"] or max(1, math.ceil(config["epochs"] * self.updates_per_epoch))
        # Frozen parameters stay out of the optimizer: no AdamW state for a 96M-row vocabulary.
        self.trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for n, p in self.trainable if not n.endswith(NO_DECAY)], "weight_decay": config["weight_decay"]},
            {"params": [p for n, p in self.trainable if n.endswith(NO_DECAY)], "weight_decay": 0.0},
        ]
        optimizer, self.optimizer_name = adamw(torch, groups, config["learning_rate"], self.accelerator.device)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(config["warmup_ratio"] * self.total), self.total)
        if self.sharded:
            self.model, self.optimizer, self.scheduler = self.accelerator.prepare(model, optimizer, scheduler)
            self.loader = loader
        else:
            self.model, self.optimizer, self.loader, self.scheduler = self.accelerator.prepare(model, optimizer, loader,
                                                                                               scheduler)
        every = config.get("eval_every")
        self.eval_points = eval_points(self.total, self.updates_per_epoch, every) if self.selection else set()
        self.patience = config.get("patience") if self.selection else None

    def _resume(self) -> None:
        self.progress = {"step": 0, "epoch": 0, "batch": 0, "seen": 0, "best": None}
        self.best_state = None
        if self.checkpoints and self.checkpoints.progress():
            self.progress, self.best_state = self.checkpoints.restore()
            self.events.emit("resume", step=self.progress["step"], total=self.total)
        self.events.emit("train", total_steps=self.total, examples=len(self.features), batch_size=self.config["batch_size"],
                         gradient_accumulation=self.accumulation, updates_per_epoch=self.updates_per_epoch,
                         start_step=self.progress["step"])
        self.step, self.epoch, self.seen = self.progress["step"], self.progress["epoch"], self.progress["seen"]
        self.best = self.progress["best"]
        self.stopped = False
        self.logged = self.step

    def run(self) -> dict:
        from ..perf import non_embedding_parameters

        torch, device = self.torch, self.accelerator.device
        # Model FLOPs: 6 x non-embedding parameters x real (non-padding) tokens; MFU against the measured peak.
        self.params = non_embedding_parameters(self.accelerator.unwrap_model(self.model))
        self.peak = self.device.peak_flops()
        self.log_every = max(1, self.total // 100)
        self.window_examples = self.window_batches = self.tokens_done = 0
        self.selection_seconds = 0.0
        self.window_start = self.started = time.perf_counter()
        self.running_loss = torch.zeros((), device=device)
        self.window_tokens = torch.zeros((), dtype=torch.long, device=device)
        self.last_loss = float("nan")
        self.model.train()
        Preemption.training = True
        try:
            while self.step < self.total and not self.stopped:
                self._epoch()
                self.epoch += 1
        finally:
            Preemption.training = False
        return self._summary()

    def _epoch(self) -> None:
        # Each epoch's order depends on (seed, epoch) only, so a resumed run sees the same batches.
        self.sampler.epoch_seed = self.stage.seed * 100_003 + self.epoch
        skip = self.progress["batch"] if self.epoch == self.progress["epoch"] else 0
        batches = self.accelerator.skip_first_batches(self.loader, skip) if skip else self.loader
        micro = skip
        for batch in batches:
            self._forward_backward(batch)
            micro += 1
            if micro % self.accumulation and micro != len(self.loader):
                continue
            self._update()
            if self.step in self.eval_points:
                self._select()
            if self.step >= self.total or self.stopped:
                return
            preempted = self._preempted()
            if self.checkpoints and (preempted or self.checkpoints.due(self.step)):
                at_end = micro >= len(self.loader)
                self.checkpoints.save({"step": self.step, "epoch": self.epoch + 1 if at_end else self.epoch,
                                       "batch": 0 if at_end else micro, "seen": self.seen, "best": self.best})
                self.events.emit("checkpoint", step=self.step)
            if preempted and preempted == "SIGUSR1" and not Preempted(preempted).requeue:
                # warned, but no requeue left (or none asked for): the checkpoint is saved, train on until the
                # limit itself (its SIGTERM checkpoints again and stops)
                Preemption.requested = ""
                self.events.log(f"time-limit warning at step {self.step}: checkpoint saved; no requeue left, "
                                "training on until the limit")
            elif preempted:
                raise Preempted(preempted)

    def _preempted(self) -> str:
        """The signal that asked for a checkpoint and a stop (``Preemption``), '' when none did. With several
        processes only one may have got it, and saving is collective: they agree on it after each step."""
        asked = Preemption.requested
        if self.accelerator.num_processes > 1:
            flag = self.torch.tensor([1 if asked else 0], device=self.accelerator.device)
            if int(self.accelerator.reduce(flag, reduction="sum").item()):
                asked = asked or "SIGUSR1"
            else:
                asked = ""
        return asked

    def _forward_backward(self, batch) -> None:
        weight = 1.0
        if self.sharded:
            from accelerate.utils import send_to_device

            batch, weight, examples = batch
            batch = send_to_device(batch, self.accelerator.device)
        else:
            examples = batch["input_ids"].size(0)
        with self.device.autocast():
            logits = self.model(**{k: batch[k] for k in self.kind.model_inputs if k in batch})
            loss = self.kind.loss(logits, batch) / self.accumulation
        self.accelerator.backward(loss * weight if self.sharded else loss)
        # accumulated on the device: no host sync until the next log line
        if self.sharded:
            # the batch's mean loss and its tokens, over the processes (every process sums the same steps)
            window = self.torch.stack([loss.detach().double() * (self.accumulation * weight / self.accelerator.num_processes),
                                       batch["attention_mask"].sum().double() * (weight > 0)])
            self.torch.distributed.all_reduce(window)
            self.running_loss += window[0].float()
            self.window_tokens += window[1].long()
        else:
            self.running_loss += loss.detach() * self.accumulation
            self.window_tokens += batch["attention_mask"].sum()
        self.window_batches += 1
        self.seen += examples
        self.window_examples += examples

    def _update(self) -> None:
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        now = time.perf_counter()
        # On a GPU a log line is a host sync (.item()): at most 4 a second there.
        due = self.step % self.log_every == 0 and (self.accelerator.device.type != "cuda" or now - self.window_start >= 0.25)
        if due or self.step == self.total or now - self.window_start > 2.0:
            self._log(now)

    def _log(self, now: float) -> None:
        self.logged = self.step
        self.last_loss = (self.running_loss / max(self.window_batches, 1)).item()
        tokens = int(self.window_tokens.item())
        self.tokens_done += tokens
        window = max(now - self.window_start, 1e-9)
        self.events.emit("step", step=self.step, total=self.total, epoch=self.epoch, loss=self.last_loss,
                         lr=self.scheduler.get_last_lr()[0], examples_per_second=self.window_examples / window,
                         **flops_fields(self.params, tokens, window, self.peak))
        self.running_loss.zero_()
        self.window_tokens.zero_()
        self.window_batches = self.window_examples = 0
        self.window_start = now

    def _select(self) -> None:
        evaluate, metric = self.selection[:2]
        evaluated = time.perf_counter()
        scores = evaluate(self.model)
        # selection evaluations are not training: keep them out of throughput and MFU
        self.selection_seconds += time.perf_counter() - evaluated
        self.window_start += time.perf_counter() - evaluated
        if self.best is None or scores[metric] > self.best["value"]:
            unwrapped = self.accelerator.unwrap_model(self.model)
            self.best = {"step": self.step, "value": scores[metric], "metrics": scores}
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
            if self.checkpoints:
                self.checkpoints.save_best(self.best_state)
        stop = bool(self.patience) and self._stale() >= self.patience
        self.events.emit("eval", step=self.step, split="validation", metrics=scores, selection=True,
                         **({"early_stop": self.patience} if stop else {}))
        if stop:
            self._stop()

    def _stale(self) -> int:
        """Evaluations since the best one (counted from the steps, so a resumed run counts the same)."""
        return sum(1 for point in self.eval_points if self.best["step"] < point <= self.step)

    def _stop(self) -> None:
        """Early stopping: no improvement in ``patience`` evaluations; the step is logged as the last one."""
        self.stopped = True
        if self.logged != self.step:
            self._log(time.perf_counter())
        self.events.log(f"early stopping at step {self.step} of {self.total}: no improvement on validation in "
                        f"{self.patience} evaluations (best at step {self.best['step']})")

    def _summary(self) -> dict:
        elapsed = time.perf_counter() - self.started
        self.tokens_done += int(self.window_tokens.item())
        seconds = max(elapsed - self.selection_seconds, 1e-9)
        summary = {"steps": self.step, "examples_seen": self.seen, "train_examples": len(self.features),
                   "final_loss": self.last_loss, "seconds": elapsed,
                   "examples_per_second": (self.seen - self.progress["seen"]) / seconds,
                   "epochs_run": self.seen / max(len(self.features), 1), "batch_size": self.config["batch_size"],
                   "gradient_accumulation": self.accumulation, "training_seconds": seconds,
                   "selection_seconds": self.selection_seconds, "tokens": self.tokens_done,
                   **flops_fields(self.params, self.tokens_done, seconds, self.peak), "non_embedding_parameters": self.params,
                   "peak_flops": self.peak["flops"] if self.peak else None, "precision": self.device.speed["precision"],
                   "optimizer": self.optimizer_name, "length_grouped": self.device.speed["group_by_length"],
                   "trainable_parameters": sum(p.numel() for _, p in self.trainable),
                   "frozen_embedding_parameters": self.frozen if self.config.get("freeze_embeddings") else 0}
        if self.progress["step"]:
            summary["resumed_from_step"] = self.progress["step"]
        summary["selection"] = self._chosen()
        if self.best is not None:
            summary["validation"] = self.best["metrics"]
        return summary

    def _chosen(self) -> dict:
        """Which weights the stage keeps, and why (result.json's ``selection``): the best validation
        state (loaded back when it was not the last), or the last step's."""
        select = phase_select(self.config, self.stage.type.value)
        if self.best is None:
            if self.config.get("select") == LAST:
                reason = 'select = "last"'
            else:
                reason = "no English validation data" if self.stage.type is StageType.TARGET else "no selection"
            return {"strategy": "last checkpoint", "select": LAST, "step": self.step, "reason": reason}
        if self.best["step"] != self.step:
            self.accelerator.unwrap_model(self.model).load_state_dict(self.best_state)
        what = self.selection[2] if len(self.selection) > 2 else {}
        record = {"strategy": "best target-language validation" if select == TARGET_DEV else "best English validation",
                  "select": select, "metric": self.selection[1], "step": self.best["step"], "value": self.best["value"],
                  "evaluations": sum(1 for point in self.eval_points if point <= self.step), **what,
                  "eval_every": self.config.get("eval_every"), "patience": self.patience, "early_stopped": self.stopped}
        if self.stopped:
            record["stopped_at"] = self.step
        return record
