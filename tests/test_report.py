"""benchmarks/report.py renders benchmarks/RESULTS.md from benchmarks/results/."""

import importlib.util
import json
import pathlib
import re
import shutil

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


def _report():
    spec = importlib.util.spec_from_file_location("report", BENCHMARKS / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report()


def test_committed_page_is_the_render_of_the_results_files():
    assert report.main(["--check"]) == 0
    assert report.render() == (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8")


def test_a_changed_value_changes_the_rendered_table(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(BENCHMARKS / "results", results)
    path = results / "deployment.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["tflite_dynamic-int8"]["bleu"] = 12.34
    path.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "RESULTS.md"
    assert report.main(["--results", str(results), "--out", str(out)]) == 0
    before = (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8").splitlines()
    after = out.read_text(encoding="utf-8").splitlines()
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert len(before) == len(after)
    assert changed == [(
        "| TFLite dynamic int8 | 8.1 | 46.05 | 30.33 | 92.5% | 5.2 | 7.1 |",
        "| TFLite dynamic int8 | 8.1 | 12.34 | 30.33 | 92.5% | 5.2 | 7.1 |")]


def test_a_changed_row_of_a_jsonl_file_changes_its_row(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(BENCHMARKS / "results", results)
    path = results / "multi30k.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    old = f"| {rows[0]['greedy_bleu']:.2f} |"
    rows[0]["greedy_bleu"] = 98.76
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    before = report.render().splitlines()
    after = report.render(results).splitlines()
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert len(changed) == 1 and rows[0]["command"] in changed[0][1]
    assert changed[0][1] == changed[0][0].replace(old, "| 98.76 |", 1)


def test_every_transcribed_table_carries_the_label():
    transcribed = json.loads((BENCHMARKS / "results" / "transcribed.json").read_text("utf-8"))
    assert transcribed["transcribed"] is True
    page = report.render()
    rendered = {part.transcribed for _, parts in report.SECTIONS for part in parts
                if hasattr(part, "transcribed")}
    assert rendered == set(transcribed["tables"])
    for table in transcribed["tables"].values():
        title = f"**{table['title']}** ({report.TRANSCRIBED};"
        header = "| " + " | ".join(table["header"]) + " |"
        # The label is on the line right above the table it belongs to.
        assert len(re.findall(re.escape(title) + r"[^\n]*\n\n" + re.escape(header), page)) == 1


def test_relative_links_resolve():
    page = (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", page)
    assert links
    for link in links:
        assert (BENCHMARKS / link).exists(), link
