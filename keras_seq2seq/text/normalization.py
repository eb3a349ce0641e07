"""Text normalisation and word splitting in the TensorFlow graph.

Only core TensorFlow string ops are used (no tensorflow-text), because the
serving export must run on stock TF Serving, which does not ship the
tensorflow-text kernels. keras-hub's tokenizers depend on tensorflow-text, so
they cannot be used for this part; that is why it is written here.
"""

import tensorflow as tf

from keras_seq2seq.text.ragged import join_rows

# Every character Python's str.isspace() calls a space (the Unicode
# separators, \p{Z}: the no-break spaces of French typography before ! ? : ;
# and inside « », em and ideographic spaces..., plus tabs, line breaks and the
# ASCII/C1 separators) becomes a plain space, so no token ever holds one
# (a vocabulary file refuses such tokens).
_SPACES = "[\\p{Z}\\t\\n\\r\\f\\v\\x{1c}-\\x{1f}\\x{85}]"
# Control characters (C0, DEL, C1) carry no text; drop them.
_CONTROLS = "[\\x{0000}-\\x{0008}\\x{000e}-\\x{001f}\\x{007f}-\\x{009f}]"
# Typographic apostrophes and hyphens map to their ASCII forms so that
# "l’heure" and "l'heure" share tokens.
_APOSTROPHES = "[\\x{2018}\\x{2019}\\x{201b}\\x{00b4}`]"
_HYPHENS = "[\\x{2010}\\x{2011}]"
# A hyphen between spaces is a dash ("Paris - Lyon", "It was - I think -"):
# it becomes an en dash, so that detokenisation can tell it from the hyphen
# inside a word ("T-shirt"), which the split below also cuts off.
_SPACED_DASH = "(^| )-+( |$)"
# Every punctuation mark or symbol becomes a token of its own. Letters with
# accents are letters (\pL), so accents are kept.
_PUNCTUATION = "([\\pP\\pS])"


def normalize(text, lowercase=False):
    """Normalise a tensor of strings (any shape), in the graph.

    Invalid UTF-8 bytes are replaced by U+FFFD first, so every later op sees
    valid text and no input string can make the graph fail.

    Args:
        text: tf.string tensor. The raw text.
        lowercase: bool. Whether to lowercase (Unicode-aware). Defaults to
            False.

    Returns:
        A tf.string tensor of the same shape, with punctuation split off
        into separate space-delimited tokens.
    """
    text = tf.convert_to_tensor(text, dtype=tf.string)
    text = tf.strings.unicode_transcode(
        text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    text = tf.strings.regex_replace(text, _SPACES, " ")
    text = tf.strings.regex_replace(text, _CONTROLS, "")
    text = tf.strings.regex_replace(text, _APOSTROPHES, "'")
    text = tf.strings.regex_replace(text, _HYPHENS, "-")
    text = tf.strings.regex_replace(text, _SPACED_DASH, "\\1\u2013\\2")
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _PUNCTUATION, " \\1 ")
    text = tf.strings.regex_replace(text, " {2,}", " ")
    return tf.strings.strip(text)


def split_words(text, lowercase=False):
    """Normalise and split strings into word tokens.

    Args:
        text: tf.string tensor of shape (batch,).
        lowercase: bool. See `normalize`. Defaults to False.

    Returns:
        A tf.RaggedTensor of strings, shape (batch, None).
    """
    return tf.strings.split(normalize(text, lowercase=lowercase))


# Detokenisation: tokens are joined with single spaces, then these rules
# (applied in order) remove the spaces that the language's typography does
# not have. French keeps its space before the high punctuation ! ? : ; and
# inside « »; English attaches all punctuation to the preceding word. A hyphen
# always joins (a spaced one became an en dash, which keeps its spaces).
_COMMON_RULES = (
    (" ?- ?", "-"),  # est - ce -> est-ce, T - shirt -> T-shirt
    (" / ", "/"),
    ("([(\\[{$]) ", "\\1"),  # no space after an opening bracket
    (" ([)\\]}])", "\\1"),  # nor before a closing one
    (" ([.,…%])", "\\1"),
    ("([0-9])([.,]) ([0-9])", "\\1\\2\\3"),  # 3 . 5 -> 3.5, 3 , 5 -> 3,5
)
_ENGLISH_RULES = (
    (" ([!?:;])", "\\1"),
    # Clitics join both sides: Tom ' s -> Tom's, don ' t -> don't.
    ("([^ ]) ' (s|t|re|ve|ll|d|m)([^\\pL]|$)", "\\1'\\2\\3"),
    # Any other apostrophe closes a word (the boys ' toys -> the boys' toys)
    # or, first in the text, opens a quote.
    (" '( |$)", "'\\1"),
    ("^' ", "'"),
)
# Elision joins both sides: l ' heure -> l'heure, n ' est -> n'est.
_FRENCH_RULES = ((" ?' ?", "'"),)


def detokenize_words(tokens, language="en"):
    """Join word tokens into readable text.

    Args:
        tokens: tf.RaggedTensor of strings, shape (batch, None).
        language: str. "fr" for French typography (a space before ! ? : ;),
            anything else for English-style spacing. Defaults to "en".

    Returns:
        A tf.string tensor of shape (batch,).
    """
    text = join_rows(tokens, separator=" ")
    rules = _COMMON_RULES + (_FRENCH_RULES if language == "fr" else _ENGLISH_RULES)
    for pattern, rewrite in rules:
        text = tf.strings.regex_replace(text, pattern, rewrite)
    return text
