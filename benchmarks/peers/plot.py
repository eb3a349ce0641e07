"""The race's figure and table from benchmarks/results/peers.jsonl.

    python benchmarks/peers/plot.py [--results benchmarks/results/peers.jsonl]
        [--out benchmarks/results/peers_bleu.png] [--search beam5]

One PNG: BLEU against training minutes, one panel per validation set, one
line per system (the mean over runs where a system ran twice, e.g. ours
with seeds 0 and 1, with each run's points drawn too), for one search.
Prints a Markdown table (system, set, BLEU and chrF at each minute) for
benchmarks/RESULTS.md's renderer to take or a person to paste. Reads
only the JSONL rows (evaluate.py's fields); needs matplotlib, no model.
"""

import argparse
import collections
import json
import pathlib
import statistics

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
SET_TITLES = {"tatoeba_valid": "Tatoeba validation (16,357)",
              "multi30k_val": "Multi30k val (1,014)"}


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def curves(rows, search):
    """{set: {system: {minute: [bleu per run]}}} for one search."""
    def by_minute():
        return collections.defaultdict(list)

    out = collections.defaultdict(lambda: collections.defaultdict(by_minute))
    for row in rows:
        if row["search"] == search:
            out[row["set"]][row["system"]][float(row["minute"])].append(row["bleu"])
    return out


def table(rows, search):
    """Markdown: one line per (system, set), BLEU / chrF at each minute (means over runs)."""
    minutes = sorted({float(r["minute"]) for r in rows if r["search"] == search})
    cells = collections.defaultdict(list)
    for r in rows:
        if r["search"] == search:
            cells[(r["system"], r["set"], float(r["minute"]))].append((r["bleu"], r["chrf"]))
    keys = sorted({(s, t) for s, t, _ in cells})
    lines = ["| system | set | " + " | ".join(f"{m:g} min" for m in minutes) + " |",
             "|---|---|" + "---|" * len(minutes)]
    for system, name in keys:
        row = []
        for m in minutes:
            values = cells.get((system, name, m))
            if not values:
                row.append("")
                continue
            bleu = statistics.mean(v[0] for v in values)
            chrf = statistics.mean(v[1] for v in values)
            runs = f" ({len(values)} runs)" if len(values) > 1 else ""
            row.append(f"{bleu:.2f} / {chrf:.1f}{runs}")
        lines.append(f"| {system} | {SET_TITLES.get(name, name)} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot(rows, out, search="beam5"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = curves(rows, search)
    sets = [s for s in SET_TITLES if s in data] + sorted(s for s in data if s not in SET_TITLES)
    if not sets:
        raise SystemExit(f"no rows with search {search!r}")
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4.2), squeeze=False)
    # One colour per system in every panel, even where a system has no
    # scores for a set (matplotlib's cycle would shift the colours).
    systems = sorted({system for name in sets for system in data[name]})
    # tab20: twenty distinct colours (the default cycle repeats after ten);
    # the peers dashed, ours solid.
    cycle = plt.get_cmap("tab20").colors
    colours = {system: cycle[i % len(cycle)] for i, system in enumerate(systems)}
    for ax, name in zip(axes[0], sets):
        for system in sorted(data[name]):
            points = sorted(data[name][system].items())
            xs = [m for m, _ in points]
            ax.plot(xs, [statistics.mean(v) for _, v in points], marker="o", label=system,
                    color=colours[system], linestyle="-" if system.startswith("ours") else "--")
            for m, values in points:
                if len(values) > 1:
                    ax.scatter([m] * len(values), values, s=12, color=colours[system], alpha=0.5)
        ax.set_title(SET_TITLES.get(name, name))
        ax.set_xlabel("training minutes (2 CPU cores)")
        ax.set_ylabel(f"BLEU ({search})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(RESULTS / "peers.jsonl"))
    p.add_argument("--out", default=str(RESULTS / "peers_bleu.png"))
    p.add_argument("--search", default="beam5", choices=("greedy", "beam5"))
    args = p.parse_args(argv)
    rows = read_rows(args.results)
    print(f"wrote {plot(rows, args.out, args.search)}")
    print(table(rows, args.search))


if __name__ == "__main__":
    main()
