"""Spec dictionaries to TOML text (the form saves what a user would have written by hand). Headless."""

from __future__ import annotations

import json
import math

SECTIONS = ("intermediate", "target", "fewshot")


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"cannot write {value!r} to a spec")
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} to a spec")


def spec_to_toml(data: dict, header: str = "") -> str:
    """Top-level fields first, then the [intermediate], [target] and [fewshot] tables."""
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    for key, value in data.items():
        if not isinstance(value, dict) and value is not None:
            lines.append(f"{key} = {_value(value)}")
    for key in [*SECTIONS, *(k for k in data if k not in SECTIONS)]:
        section = data.get(key)
        if isinstance(section, dict):
            lines.append("")
            lines.append(f"[{key}]")
            lines.extend(f"{name} = {_value(value)}" for name, value in section.items() if value is not None)
    return "\n".join(lines) + "\n"
