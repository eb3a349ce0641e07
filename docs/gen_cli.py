"""Write the CLI reference from the parsers themselves.

`render()` builds `keras_seq2seq.cli.build_parser()` and returns one Markdown
section per subcommand: its usage line, description and every flag with its
help text and default, exactly as `keras-seq2seq SUBCOMMAND --help` prints
them. The docs build calls it (docs/hooks.py) for `reference/cli.md`, so the
page cannot drift from the code; `python docs/gen_cli.py` prints it.
"""

import argparse
import os

from keras_seq2seq.cli import build_parser

HEADER = """# Command-line reference

Generated from the parsers when the site is built (`docs/gen_cli.py`), so
every subcommand and flag below is what `keras-seq2seq SUBCOMMAND --help`
prints. Decoding and training flags are generated from the fields of
`DecodingConfig` and `TrainingConfig`; a decoding flag left out means "the
model's own setting".

"""


def subcommands(parser=None):
    """The `{name: subparser}` of `keras-seq2seq`, in the order `--help` lists them."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render(width=88) -> str:
    """The CLI reference page as Markdown."""
    # argparse wraps help to $COLUMNS; fix it so the page is the same everywhere.
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        parser = build_parser()
        parts = [HEADER, "```text\n", parser.format_help().rstrip() + "\n", "```\n\n"]
        for name, sub in subcommands(parser).items():
            parts.append(f"## `keras-seq2seq {name}`\n\n")
            parts.append("```text\n" + sub.format_help().rstrip() + "\n```\n\n")
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
