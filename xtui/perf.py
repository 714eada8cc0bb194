"""Model FLOPs utilisation: the machine's measured matmul peak, and training FLOPs.

Training FLOPs are estimated as ``6 × non-embedding parameters × tokens`` (forward 2, backward
4 multiply-adds per parameter and token; attention's sequence-quadratic term and padding are
not counted, so this is *model* FLOPs of the real tokens). MFU is achieved model FLOP/s over
the peak FLOP/s of a plain ``torch.matmul`` on this device, measured once per machine
(device model, threads, dtype, torch version) and cached in ``$XTUI_CACHE_DIR/peak.json``
(default ``~/.cache/xtui/peak.json``). ``XTUI_PEAK_FLOPS`` overrides the measurement, e.g. with
a vendor's datasheet figure.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Optional

from .files import atomic_write_json, read_json


def cache_dir() -> Path:
    value = os.environ.get("XTUI_CACHE_DIR")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xtui"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def device_name(torch, device) -> str:
    if getattr(device, "type", str(device)) == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({usable_cpus()} cpus)"


def training_flops(params: int, tokens: int) -> float:
    return 6.0 * params * tokens


def non_embedding_parameters(model) -> int:
    """Parameters outside embedding tables (each shared tensor counted once)."""
    import torch

    total = sum(p.numel() for p in model.parameters())
    seen = set()
    embedding = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding) and id(module.weight) not in seen:
            seen.add(id(module.weight))
            embedding += module.weight.numel()
    return total - embedding


def measure_matmul_peak(torch, device, dtype, size: Optional[int] = None, repeats: int = 4) -> float:
    """Best FLOP/s of ``size × size`` matmuls (the best repeat: the machine's capability, not its load)."""
    cuda = getattr(device, "type", str(device)) == "cuda"
    size = size or (8192 if cuda else 2048)
    # its own generator: the global one is the stage's seeded stream (dropout, sampling), measured mid-run
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    a = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    b = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    best = float("inf")
    for attempt in range(repeats + 1):
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(10 if cuda else 1):
            torch.matmul(a, b)
        if cuda:
            torch.cuda.synchronize(device)
        elapsed = (time.perf_counter() - start) / (10 if cuda else 1)
        if attempt:  # the first one warms up
            best = min(best, elapsed)
    return 2.0 * size ** 3 / best


def peak_flops(torch, device, dtype) -> dict:
    """``{"flops", "device", "dtype", "source", ...}``: the cached or freshly measured peak."""
    name = device_name(torch, device)
    dtype_name = str(dtype).replace("torch.", "")
    override = os.environ.get("XTUI_PEAK_FLOPS")
    if override:
        return {"flops": float(override), "device": name, "dtype": dtype_name, "source": "XTUI_PEAK_FLOPS"}
    threads = torch.get_num_threads()
    key = f"{name}|{dtype_name}|threads={threads}|torch={torch.__version__}"
    path = cache_dir() / "peak.json"
    try:
        cached = read_json(path) or {}
    except OSError:
        cached = {}
    if isinstance(cached.get(key), dict) and cached[key].get("flops"):
        return {**cached[key], "source": str(path)}
    flops = measure_matmul_peak(torch, device, dtype)
    record = {"flops": flops, "device": name, "dtype": dtype_name, "threads": threads, "torch": torch.__version__,
              "measured": time.time(), "method": "best of 4 square matmuls"}
    try:
        cached = read_json(path) or {}
        cached = cached if isinstance(cached, dict) else {}
        cached[key] = record
        atomic_write_json(path, cached)
    except OSError:
        pass
    return {**record, "source": "measured"}
