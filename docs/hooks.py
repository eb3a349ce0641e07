"""MkDocs hooks: pages made from files that live elsewhere in the repository.

The site shows, without copying them into docs/:

- `reference/cli.md`: the CLI reference, generated from the parsers
  (`docs/gen_cli.py`), so it cannot drift from `keras-seq2seq --help`;
- `benchmarks/RESULTS.md` and the files it links to (`benchmarks/results/`:
  figures and the raw results): the page that `benchmarks/report.py` writes,
  as it is, so its own relative links resolve;
- `changelog.md`: CHANGELOG.md (issue 33's migration list);
- `model-card.md`: the shipped model's card, `saved_models/en-fr/README.md`.

They are added as generated files when the build collects the pages, so
`mkdocs build --strict` checks their links like any other page's.
"""

import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (page in the site, file in the repository)
INCLUDED = {
    "benchmarks/RESULTS.md": "benchmarks/RESULTS.md",
    "changelog.md": "CHANGELOG.md",
    "model-card.md": "saved_models/en-fr/README.md",
}


def generated_pages() -> dict:
    """`{src_uri: markdown}` of the pages the build adds (tests read it too)."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    docs_dir = os.path.join(ROOT, "docs")
    if docs_dir not in sys.path:
        sys.path.insert(0, docs_dir)
    import gen_cli

    pages = {"reference/cli.md": gen_cli.render(), "benchmarks/results/index.md": _raw_results()}
    for uri, path in INCLUDED.items():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            pages[uri] = f.read()
    return pages


def _raw_results() -> str:
    """A page listing the raw results files, for RESULTS.md's link to `results/`."""
    lines = ["# Raw benchmark results", "",
             "The files `benchmarks/report.py` renders into the "
             "[benchmark results](../RESULTS.md), one per benchmark:", ""]
    for path in sorted(glob.glob(os.path.join(ROOT, "benchmarks", "results", "*"))):
        name = os.path.basename(path)
        if os.path.isfile(path) and name != "index.md":
            lines.append(f"- [{name}]({name})")
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown, page, config, files):
    # A link to the folder becomes a link to its listing page.
    if page.file.src_uri == "benchmarks/RESULTS.md":
        markdown = markdown.replace("](results/)", "](results/index.md)")
    return markdown


def on_files(files, config):
    # Imported here so that tests can read generated_pages() without mkdocs.
    from mkdocs.structure.files import File

    for uri, content in generated_pages().items():
        files.append(File.generated(config, uri, content=content))
    for path in sorted(glob.glob(os.path.join(ROOT, "benchmarks", "results", "*"))):
        if not os.path.isfile(path):
            continue
        uri = "benchmarks/results/" + os.path.basename(path)
        files.append(File.generated(config, uri, abs_src_path=path))
    return files
