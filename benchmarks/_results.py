"""Shared by the benchmark scripts and `report.py`: where results live, how
they are read, and a Markdown table.

The scripts write only `benchmarks/results/*.json[l]`; `python
benchmarks/report.py` renders every table of `benchmarks/RESULTS.md` from them.
"""

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"


def read(results_dir, name):
    """One results file: a JSON document, or a list of rows for `.jsonl`."""
    text = (pathlib.Path(results_dir) / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def table(header, rows):
    """Markdown table lines: `header` and each row are lists of cells."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)]
