"""Shared by the benchmark scripts: rewrite one section of RESULTS.md."""

import pathlib

RESULTS_MD = pathlib.Path(__file__).resolve().parent / "RESULTS.md"


def update_section(start, end, heading, lines):
    """Replace the text between the `start` and `end` markers of RESULTS.md
    with `lines` (markers included), or append it under `heading`."""
    text = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else (
        "# Benchmark results\n")
    section = "\n".join([start, "", *lines, "", end])
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text += f"\n## {heading}\n\n{section}\n"
    RESULTS_MD.write_text(text, encoding="utf-8")
