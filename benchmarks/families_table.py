"""The README's families table from the JSON rows `benchmarks/families.py` prints (one per line):

    python benchmarks/families.py ... > families.jsonl && python benchmarks/families_table.py families.jsonl
"""
from __future__ import annotations

import json
import sys

COLUMNS = (("test -ELBO", "neg_elbo", "{:.2f}"), ("IW-NLL", "iw_nll", "{:.2f}"), ("MSE", "mse", "{:.2f}"),
           ("probe", "probe_accuracy", "{:.3f}"), ("class consistency", "class_consistency", "{:.2f}"),
           ("samples/s", "samples_per_second", "{:,.0f}"), ("train s", "train_seconds", "{:.0f}"))


def cell(row: dict, key: str, fmt: str) -> str:
    if row.get(key) is not None:
        return fmt.format(row[key])
    return "n/a" if key in ("neg_elbo", "iw_nll") else "-"


def table(rows: list[dict]) -> str:
    lines = ["| system | model | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for row in rows:
        if "model" not in row:
            continue
        model = row["model"] + (f" ({row['variant']})" if row.get("variant") else "")
        if "error" in row:
            lines.append(f"| {row['system']} | {model} | failed: {row['error']} |")
            continue
        lines.append(f"| {row['system']} | {model} | " + " | ".join(cell(row, k, f) for _, k, f in COLUMNS) + " |")
    return "\n".join(lines)


def read_rows(path: str) -> list[dict]:
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{") and line.endswith("}"):
                rows.append(json.loads(line))
    return rows


if __name__ == "__main__":
    print(table(read_rows(sys.argv[1])))
