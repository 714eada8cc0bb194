"""Two or more experiments side by side: how their specs differ and which result cells they share.
Headless: the app's compare screen and `xtui runs compare` both show these."""

from __future__ import annotations


def flatten(data, prefix: str = "") -> dict:
    out = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    else:
        out[prefix] = data
    return out


def spec_differences(specs: list) -> list:
    """(field, [value per experiment]) for every field whose values are not all equal. An unset field
    (None) reads as absent: a spec recorded before a field existed does not differ in it."""
    flat = [flatten(spec or {}) for spec in specs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = []
    for key in keys:
        values = ["—" if f.get(key) is None else f[key] for f in flat]
        if any(v != values[0] for v in values[1:]):
            rows.append((key, values))
    return rows


def _cell_key(table: dict, intermediate: str, column: str) -> tuple:
    return (table["task"], table["metric"], table["shots"], intermediate, column)


def shared_results(tables_per_experiment: list) -> tuple:
    """(rows, only_some): rows are (task, metric, K, intermediate, column, [(mean, std) per experiment]) present in all;
    a cell that is not zero-shot (xtui.results.marked) is (mean, std, True)."""
    from .results import marked

    cells = []
    for tables in tables_per_experiment:
        found = {}
        for table in tables:
            for intermediate, row in table["cells"].items():
                for column, value in row.items():
                    if value and value[0] is not None:
                        mark = (True,) if marked(table, intermediate, column) else ()
                        found[_cell_key(table, intermediate, column)] = (*value[:2], *mark)
        cells.append(found)
    keys = list(dict.fromkeys(k for found in cells for k in found))
    shared = [k for k in keys if all(k in found for found in cells)]
    rows = [(*key, [found[key] for found in cells]) for key in shared]
    return rows, len(keys) - len(shared)


def format_cell(value) -> str:
    """``61.2 ± 1.3`` (percent) of a (mean, std) cell; ``61.2 ± 1.3 †`` when it is not zero-shot."""
    from .selection import NOT_ZERO_SHOT

    mean, std = value[:2]
    return f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if std else "") + (f" {NOT_ZERO_SHOT}" if value[2:] else "")


def compare_legend(rows: list) -> str:
    """The legend of the shared results when a cell is marked not zero-shot; empty otherwise."""
    from .selection import LEGEND

    return LEGEND if any(value[2:] for *_, values in rows for value in values) else ""
