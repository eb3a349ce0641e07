"""Sentence splitting: one input of several sentences -> its sentences and separators.

The model was trained on single sentences, so a paragraph is cut into
sentences, the sentences are translated as one batch, and the translations
are joined back in order with the input's own separators (the whitespace
between the sentences, newlines included).

The splitter returns a list of *pieces* that alternate separators and
sentences and always start and end with a separator (possibly empty):

    "  Hello. How are you?\n" -> ["  ", "Hello.", " ", "How are you?", "\n"]

so the sentences are `pieces[1::2]` and `"".join(pieces)` gives the input back.

Why our own rules, in core TensorFlow ops, on every side: the TF Serving
SavedModel must split in its graph (text in, text out, ops that stock TF
Serving runs: no tensorflow-text, no py_function), so a Python library cannot
be used there. We first used pysbd (a rule-based splitter that implements
the "Golden Rules" for English) on the Python side and these rules in the
graph, but on the English side of Tatoeba the two split 214 of the 162,278
lines differently (pysbd finds several sentences in 1,162): pysbd keeps "Tell me. I'm all ears." and
dialogue ('"Says who?" "Says me."') as one sentence. A user must get the
same translation from the Keras model, the LiteRT runner and the server, so
the Python side runs the same graph function (`split_sentences_batch`,
eager at its first call and compiled after, `compiled.EagerFirst`; a text
that cannot hold a boundary is cut in Python into the pieces the graph
would give, `_one_sentence`), and
pysbd is kept as an independent reference in the tests: the two agree on
the test table and on 99.8% of Tatoeba's English lines.

The rules:
- a sentence ends at `.`, `!` or `?` (a run of them, then closing quotes or
  brackets) followed by whitespace, and at every line break;
- not after a title (Mr., Dr., St., e.g., ...), a single-letter initial (J. K.
  Rowling), an ellipsis (`...`; `…` never ends one), or a number
  abbreviation before a digit (No. 5);
- not after other abbreviations (etc., U.S., p.m.) or a closing quote when
  the next word does not start with a capital, a digit or an opening quote;
- decimals (3.5) and dots inside words never split (no whitespace follows).
"""

import functools
import re

import tensorflow as tf

from keras_seq2seq.text.compiled import EagerFirst

# Titles and other abbreviations after which a sentence never ends (before a
# capital, as in "Mr. Smith", as well as before anything else).
TITLES = (
    "Mr", "Mrs", "Ms", "Messrs", "Dr", "Prof", "St", "Mt", "Ft", "Sr", "Jr", "Gen", "Col",
    "Capt", "Lt", "Sgt", "Rev", "Hon", "Gov", "Sen", "Rep", "Pres", "Supt", "Mme", "Mlle",
    "e.g", "i.e", "viz", "vs", "cf", "approx", "ca", "Fig", "fig", "Vol", "vol", "pp", "Ave",
    "Blvd", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
)
# Abbreviations that may end a sentence: they split only before a capital.
ABBREVIATIONS = ("etc", "Inc", "Ltd", "Co", "Corp", "esp", "min", "max", "dept", "est")
# "No. 5", "Nos. 1-3", "pp. 10": no split before a digit.
NUMBER_ABBREVIATIONS = ("No", "no", "Nos", "Nr", "Art", "p", "pp")

# The markers the graph splitter inserts around a separator: control
# characters that the input cannot keep (they are turned into spaces first).
_MARK = "\x1f"
_CLOSERS = "\"'”’»)\\]"
_OPENERS = "\"“‘«(\\["


def split_sentences(text):
    """Split one text into pieces (see the module docstring).

    Args:
        text: str.

    Returns:
        A list of str of odd length: separators at even positions (the first
        and last may be empty), sentences at odd positions; joining it gives
        `text` back (control characters other than tab and newline become
        spaces). A text without a sentence gives `[text, "", ""]`.
    """
    return split_sentences_batch([text])[0]


_CHUNK = 4096


@functools.lru_cache(maxsize=1)
def _compiled_splitter():
    # Eager at the first call (a one-shot command traces nothing), compiled after.
    return EagerFirst(split_sentences_graph, [tf.TensorSpec([None], tf.string)])


def split_sentences_batch(texts, eager=False):
    """`split_sentences` for a list of str, in batches through one graph
    function (`EagerFirst`: eager at its first call, compiled after; always
    eager with `eager`); a text that surely holds one sentence at most
    skips it (`_one_sentence`, the same pieces)."""
    pieces = [_one_sentence(text) for text in texts]
    rest = [i for i, p in enumerate(pieces) if p is None]
    if rest:
        splitter = split_sentences_graph if eager else _compiled_splitter()
        for start in range(0, len(rest), _CHUNK):
            chunk = rest[start : start + _CHUNK]
            rows = splitter(tf.constant([texts[i] for i in chunk], tf.string)).to_list()
            for i, row in zip(chunk, rows):
                pieces[i] = [p.decode("utf-8") for p in row]
    return pieces


# Where `split_sentences_graph` could mark a boundary: a run of terminators
# (and closers) followed by whitespace. Only " " and "\t" count here, as the
# texts this is used on hold no other character that RE2's `\s` matches.
_BOUNDARY = re.compile(rf"[.!?]+[{_CLOSERS}]*[ \t]")
# The graph's control characters (turned into spaces) and line breaks: the
# graph decides for a text holding one.
_CONTROL = re.compile(r"[\x00-\x08\n-\x1f\x7f]")


def _one_sentence(text):
    """The pieces `split_sentences_graph` gives `text` when it cannot hold a
    boundary, else None (the graph decides).

    The graph marks boundaries only at a terminator run followed by
    whitespace and at line breaks, after turning control characters into
    spaces; a text without control characters (tabs aside) and without
    such a run is one sentence (or none), cut from its leading and trailing
    whitespace as the graph cuts it. Written in Python because the graph's
    first call is traced, 0.25 s of `translate`'s start-up, and most inputs
    are one sentence; `tests/test_sentences.py` compares the two.
    """
    if not isinstance(text, str) or _CONTROL.search(text):
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the graph replaces them
        return None
    core = text.strip(" \t")
    if not core:
        return [text, "", ""]
    if _BOUNDARY.search(core):
        return None
    lead = text[: len(text) - len(text.lstrip(" \t"))]
    return [lead, core, text[len(lead) + len(core) :]]


def count_sentences(texts, split=True):
    """How many sentences `translate` decodes for these texts: the non-empty
    sentences of each (each text counts as one when `split` is off)."""
    texts = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t for t in texts]
    if not split:
        return len(texts)
    # Eagerly: `translate` has split these texts once already, and a second
    # call of the `EagerFirst` splitter would trace its graph (0.24 s) for
    # the one count a command prints.
    pieces = split_sentences_batch(texts, eager=True)
    return sum(sum(1 for s in p[1::2] if s) for p in pieces)


def sentences_of(pieces):
    """The sentences of a `split_sentences` piece list."""
    return pieces[1::2]


def join_translations(pieces, translations):
    """Put translated sentences back between the input's own separators.

    A text without a sentence (empty or whitespace only) translates to "".
    """
    if not any(pieces[1::2]):
        return ""
    out = list(pieces)
    out[1::2] = translations
    return "".join(out)


def _alternatives(words):
    return "|".join(re.escape(w) for w in words)


def split_sentences_graph(texts):
    """Split a batch of texts into pieces, in core TensorFlow ops.

    Args:
        texts: tf.string tensor (B,).

    Returns:
        tf.RaggedTensor of tf.string (B, None): per text, separators at even
        positions and sentences at odd positions, as `split_sentences`.
        Invalid UTF-8 bytes become U+FFFD and ASCII control characters
        other than tab and newline become spaces first (they cannot be
        translated anyway).
    """
    # Valid UTF-8 first (invalid bytes become U+FFFD, as in `normalize`), so
    # every regex below sees text and the separators put back are text too.
    texts = tf.strings.unicode_transcode(
        tf.convert_to_tensor(texts, tf.string), "UTF-8", "UTF-8", errors="replace",
        replacement_char=0xFFFD,
    )
    texts = tf.strings.regex_replace(texts, r"[\x00-\x08\x0b-\x1f\x7f]", " ")
    lead = tf.strings.regex_replace(texts, r"^(\s*)[\s\S]*$", r"\1")
    core = tf.strings.regex_replace(texts, r"^\s+|\s+$", "")
    trail = tf.strings.regex_replace(texts, r"^[\s\S]*?(\s*)$", r"\1")
    # A text of whitespace only is all lead: [text, "", ""].
    trail = tf.where(tf.equal(core, ""), "", trail)
    m = _MARK
    closers, openers = _CLOSERS, _OPENERS
    # Every candidate boundary: terminators (+ closers), then whitespace.
    marked = tf.strings.regex_replace(core, rf"([.!?]+[{closers}]*)(\s+)", rf"\1{m}\2{m}")
    # Every line break that is not one already.
    marked = tf.strings.regex_replace(marked, rf"([^\s{m}])(\s*\n\s*)", rf"\1{m}\2{m}")
    # Exceptions: the boundary is removed unless its whitespace holds a line
    # break ([^\S\n]+ is whitespace without a newline).
    gap = rf"{m}([^\S\n]+){m}"
    titles = _alternatives(TITLES)
    marked = tf.strings.regex_replace(marked, rf"\b({titles})\.{gap}", r"\1.\2")
    numbers = _alternatives(NUMBER_ABBREVIATIONS)
    marked = tf.strings.regex_replace(marked, rf"\b({numbers})\.{gap}([0-9])", r"\1.\2\3")
    # Ellipses ("...", "…" with closers).
    marked = tf.strings.regex_replace(marked, rf"(\.\.\.[{closers}]*){gap}", r"\1\2")
    # Single-letter initials: twice, as a match takes the space that the
    # next initial's match would need before it.
    for _ in range(2):
        marked = tf.strings.regex_replace(
            marked, rf"(^|[\s{openers}])([A-Za-z])\.{gap}", r"\1\2.\3")
    # Other abbreviations and dotted acronyms, and closing quotes/brackets:
    # a boundary only before a capital, a digit or an opening quote.
    not_capital = rf"([^A-Z0-9{openers}])"
    abbreviations = _alternatives(ABBREVIATIONS)
    marked = tf.strings.regex_replace(
        marked, rf"\b({abbreviations}|(?:[A-Za-z]\.)+[A-Za-z])\.{gap}{not_capital}", r"\1.\2\3")
    marked = tf.strings.regex_replace(
        marked, rf"([.!?][{closers}]+){gap}{not_capital}", r"\1\2\3")
    parts = tf.strings.split(marked, m)  # (B, None): sentence, sep, ..., sentence
    return tf.concat([lead[:, None], parts, trail[:, None]], axis=1)


def sentence_mask(pieces):
    """tf.bool ragged mask of the sentence positions of `split_sentences_graph` pieces."""
    positions = tf.ragged.range(pieces.row_lengths())
    return tf.equal(positions % 2, 1)
