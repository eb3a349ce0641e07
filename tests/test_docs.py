"""The README and the documentation site (docs/, mkdocs.yml).

What a newcomer reads must stay true: the README's quick start and size,
every relative link, the API and CLI references against the code, the error
messages Troubleshooting quotes, the commands and Python blocks the pages
show, and (where MkDocs is installed: `pip install -e '.[docs]'`) the
strict build itself, offline.
"""

import argparse
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

import keras_seq2seq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
README = os.path.join(ROOT, "README.md")
QUICK_START = [
    "pip install -e . && keras-seq2seq translate \"Nice to meet you.\"",
    "pip install -e '.[test]' && python -m pytest",
]
# Pages the build adds (docs/hooks.py), with no file in docs/.
GENERATED = {"reference/cli.md", "benchmarks/RESULTS.md", "benchmarks/results/index.md",
             "changelog.md", "model-card.md"}
RUN_MARKER = "<!-- test: run -->"


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _pages():
    """README.md and every hand-written page of docs/."""
    pages = [README]
    for folder, _, names in os.walk(DOCS):
        pages += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".md")]
    return pages


def _blocks(text):
    """(language, code, runnable) for every fenced block of a Markdown text."""
    pattern = re.compile(r"^(?P<marker><!-- test: run -->\n)?(?P<indent> *)```(?P<lang>\w*)\n"
                         r"(?P<code>.*?)^(?P=indent)```\s*$", re.S | re.M)
    for m in pattern.finditer(text):
        code = "\n".join(line[len(m["indent"]):] for line in m["code"].splitlines())
        yield m["lang"], code, bool(m["marker"])


def _prose(text):
    """The text outside fenced code blocks."""
    return re.sub(r"^ *```.*?^ *```\s*$", "", text, flags=re.S | re.M)


def _load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", os.path.join(DOCS, "hooks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gen_cli():
    sys.path.insert(0, DOCS)
    try:
        import gen_cli
    finally:
        sys.path.remove(DOCS)
    return gen_cli


# The README.


def test_readme_is_short():
    lines = _read(README).splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; at most 250"


def test_readme_quick_start_commands_unchanged():
    blocks = [code.strip() for lang, code, _ in _blocks(_read(README)) if lang == "bash"]
    for command in QUICK_START:
        assert command in blocks, f"README.md lost its quick-start command {command!r}"


def test_readme_headline_figures_match_the_model_card():
    card = _read(os.path.join(ROOT, "saved_models", "en-fr", "README.md"))
    readme = _read(README)
    # Every BLEU of the README's shipped-model table is the card's.
    section = readme.split("## The shipped model", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "BLEU" not in line]
    figures = [f for row in rows for f in re.findall(r"\b\d\d\.\d\d\b", row)]
    assert len(figures) == 9, figures  # 3 sets x (greedy, beam 5, beam 5 with names)
    for figure in figures:
        assert figure in card, figure


# Links.


@pytest.mark.parametrize("page", _pages(), ids=lambda p: os.path.relpath(p, ROOT))
def test_relative_links_resolve(page):
    text = _prose(_read(page))
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    in_docs = os.path.abspath(page).startswith(DOCS + os.sep)
    broken = []
    for link in links:
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            continue
        target = link.split("#")[0]
        path = os.path.normpath(os.path.join(os.path.dirname(page), target))
        if in_docs and os.path.relpath(path, DOCS).replace(os.sep, "/") in GENERATED:
            continue
        if in_docs and not path.startswith(DOCS + os.sep):
            broken.append(f"{link} (outside docs/: the site cannot link it)")
        elif not os.path.exists(path):
            broken.append(link)
    assert not broken, f"{os.path.relpath(page, ROOT)}: broken links {broken}"


# The references.


def _nav_pages():
    text = _read(os.path.join(ROOT, "mkdocs.yml"))
    nav = text[text.index("\nnav:"):]
    return re.findall(r":\s+(\S+\.md)\s*$", nav, re.M)


def test_every_page_is_in_the_nav_and_exists():
    nav = _nav_pages()
    on_disk = {os.path.relpath(p, DOCS).replace(os.sep, "/") for p in _pages() if p != README}
    assert on_disk <= set(nav), f"pages missing from the nav: {sorted(on_disk - set(nav))}"
    assert set(nav) <= on_disk | GENERATED, sorted(set(nav) - on_disk - GENERATED)


def test_api_reference_covers_every_public_name():
    text = _read(os.path.join(DOCS, "reference", "api.md"))
    documented = {}
    for target in re.findall(r"^::: (\S+)\s*$", text, re.M):
        module, _, name = target.rpartition(".")
        documented[name] = module
    missing = sorted(set(keras_seq2seq.__all__) - set(documented))
    assert not missing, f"docs/reference/api.md has no ::: directive for {missing}"
    for name in keras_seq2seq.__all__:
        # The directive names where the object is defined, and it is that object.
        module = importlib.import_module(documented[name])
        assert getattr(module, name) is getattr(keras_seq2seq, name), name


def test_cli_reference_covers_every_subcommand_and_flag():
    gen_cli = _gen_cli()
    page = gen_cli.render()
    for name, sub in gen_cli.subcommands().items():
        assert f"## `keras-seq2seq {name}`" in page, name
        section = page.split(f"## `keras-seq2seq {name}`")[1].split("\n## ")[0]
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in section, f"{name}: {flag} missing from the CLI reference"


def test_changelog_page_is_the_changelog():
    pages = _load_hooks().generated_pages()
    assert pages["changelog.md"] == _read(os.path.join(ROOT, "CHANGELOG.md"))
    assert pages["benchmarks/RESULTS.md"] == _read(os.path.join(ROOT, "benchmarks",
                                                                "RESULTS.md"))


# Troubleshooting quotes real messages.


def _source_text():
    texts = []
    for folder, _, names in os.walk(os.path.join(ROOT, "keras_seq2seq")):
        texts += [_read(os.path.join(folder, n)) for n in names if n.endswith(".py")]
    return "\n".join(texts)


def test_troubleshooting_quotes_messages_the_code_prints():
    text = _read(os.path.join(DOCS, "troubleshooting.md"))
    quoted = [fragment for line in text.splitlines() if line.startswith(">")
              for fragment in re.findall(r"`([^`]+)`", line)]
    assert len(quoted) >= 20, quoted
    source = _source_text()
    missing = [fragment for fragment in quoted if fragment not in source]
    assert not missing, f"messages quoted in troubleshooting.md but not in the code: {missing}"


# Commands and code blocks.


def _commands(code):
    """Each `keras-seq2seq ...` command of a shell block, as arguments."""
    code = re.sub(r"\\\n", " ", code)
    for line in code.splitlines():
        line = line.split(" #")[0].strip()
        if "keras-seq2seq " not in line or line.startswith("#"):
            continue
        for part in re.split(r"&&|\|", line):
            part = part.split("<")[0].split(">")[0]
            words = shlex.split(part)
            if "keras-seq2seq" in words:
                yield words[words.index("keras-seq2seq") + 1:]


def _shell_commands():
    found = []
    for page in _pages():
        for lang, code, _ in _blocks(_read(page)):
            if lang in ("bash", "sh", "shell", "console"):
                found += [(os.path.relpath(page, ROOT), args) for args in _commands(code)]
    return found


def test_shell_blocks_show_commands_that_parse():
    from keras_seq2seq.cli import build_parser

    commands = _shell_commands()
    assert len(commands) >= 30, len(commands)
    subcommands = _gen_cli().subcommands()
    problems = []
    for page, args in commands:
        if not args or args[0] not in subcommands:
            problems.append(f"{page}: keras-seq2seq {' '.join(args)}: no such subcommand")
            continue
        known = {flag for action in subcommands[args[0]]._actions
                 for flag in action.option_strings}
        for word in args[1:]:
            flag = word.split("=")[0]
            if flag.startswith("--") and flag not in known:
                problems.append(f"{page}: keras-seq2seq {args[0]}: unknown flag {flag}")
        try:
            build_parser().parse_known_args(args)
        except SystemExit:
            problems.append(f"{page}: keras-seq2seq {' '.join(args)} does not parse")
    assert not problems, "\n".join(problems)


def _runnable():
    for page in _pages():
        code = [c for lang, c, run in _blocks(_read(page)) if run and lang == "python"]
        if code:
            yield pytest.param(code, id=os.path.relpath(page, ROOT))


def test_python_blocks_are_marked_only_where_they_can_run():
    marked = sum(len(p.values[0]) for p in _runnable())
    assert marked >= 4, marked
    for page in _pages():
        text = _read(page)
        for m in re.finditer(re.escape(RUN_MARKER) + r"\n(.*)", text):
            assert m.group(1).startswith("```python"), f"{page}: {RUN_MARKER} before {m.group(1)}"


# Every page's blocks run in one process (one TensorFlow start-up, one
# shipped model loaded once is the costly part), each page in a namespace of
# its own, its blocks in order (so a page's blocks may build on each other).
RUN_PAGES = textwrap.dedent("""
    import json, sys, traceback
    failures = []
    for page, blocks in json.load(open(sys.argv[1], encoding="utf-8")).items():
        namespace = {"__name__": "__main__"}
        try:
            exec(compile("\\n\\n".join(blocks), page, "exec"), namespace)
        except Exception:
            failures.append(page + ":\\n" + traceback.format_exc())
    if failures:
        sys.exit("\\n".join(failures))
""")


@pytest.mark.docs_examples
def test_runnable_python_blocks_run(tmp_path):
    """The marked blocks of every page run, with the shipped model."""
    pages = {p.id: p.values[0] for p in _runnable()}
    assert len(pages) >= 2
    blocks = tmp_path / "blocks.json"
    blocks.write_text(json.dumps(pages), encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", RUN_PAGES, str(blocks)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]


# The site itself.


def test_mkdocs_build_is_strict_and_offline(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        # .ci/run installs the docs extra and builds the site after pytest.
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]'); .ci/run builds the site")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                             "-d", str(site)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = {}
    for folder, _, names in os.walk(site):
        for name in names:
            if name.endswith(".html"):
                path = os.path.join(folder, name)
                html[os.path.relpath(path, site)] = _read(path)
    # Nothing fetched when a page is opened: no remote fonts, scripts or styles.
    for name, text in html.items():
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, name
        remote = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="(https?://[^"]+)"', text)
        assert not remote, f"{name} loads {remote}"
        assert not re.search(r"https?://[^\"' ]*cdn", text), name
    api = html[os.path.join("reference", "api", "index.html")]
    for name in keras_seq2seq.__all__:
        assert 'id="keras_seq2seq.' in api and re.search(rf'id="[\w.]*\.{name}"', api), name
    cli = html[os.path.join("reference", "cli", "index.html")]
    for name in _gen_cli().subcommands():
        assert f"keras-seq2seq {name}" in cli, name
    assert "Migration: renamed or removed names" in html[os.path.join("changelog",
                                                                      "index.html")]


def test_site_is_ignored_by_git():
    assert "site/" in _read(os.path.join(ROOT, ".gitignore")).split()


def test_argparse_is_what_the_cli_reference_reads():
    # gen_cli walks argparse's private _SubParsersAction; fail loudly if it moves.
    assert hasattr(argparse, "_SubParsersAction")
    from keras_seq2seq.cli import build_parser

    parser = build_parser()
    choices = next(a.choices for a in parser._actions
                   if isinstance(a, argparse._SubParsersAction))
    assert sorted(_gen_cli().subcommands()) == sorted(choices) and len(choices) >= 9
