"""Corpus metrics of a translator on (source, reference) pairs."""

import math
import re
import time
import weakref

import keras
import sacrebleu
import tensorflow as tf

from keras_seq2seq.constants import DECODE_BATCH_SIZE, UNK
from keras_seq2seq.data.pipeline import make_dataset
from keras_seq2seq.errors import ConfigurationError


def _check_lengths(hypotheses, references):
    if len(hypotheses) != len(references):
        raise ConfigurationError(f"{len(hypotheses)} hypotheses but {len(references)} references.")


def _score(metric, hypotheses, references, with_signature):
    hypotheses, references = list(hypotheses), list(references)
    _check_lengths(hypotheses, references)
    score = metric.corpus_score(hypotheses, [references])
    return (score, str(metric.get_signature())) if with_signature else score


def corpus_bleu(hypotheses, references, tokenize="13a", with_signature=False):
    """Corpus BLEU (sacreBLEU, cased) of detokenized hypotheses, one reference each.

    Returns a `sacrebleu.BLEUScore` (`.score` is the usual 0-100 number,
    `str()` the full line), with the sacreBLEU signature string as a second
    value when `with_signature`.
    """
    return _score(sacrebleu.BLEU(tokenize=tokenize), hypotheses, references, with_signature)


def corpus_chrf(hypotheses, references, with_signature=False):
    """Corpus chrF (sacreBLEU) against one reference each; see `corpus_bleu`."""
    return _score(sacrebleu.CHRF(), hypotheses, references, with_signature)


# One compiled scoring step per model, kept while the model lives: evaluate
# and the benchmarks score the same model several times. reduce_retracing:
# batches differ in padded length, and a trace per shape would compile the
# model again for each.
_NLL_FUNCTIONS = weakref.WeakKeyDictionary()


def _nll_function(model):
    function = _NLL_FUNCTIONS.get(model)
    if function is None:
        model_ref = weakref.ref(model)  # a strong one would keep the key alive

        @tf.function(reduce_retracing=True)
        def function(inputs, targets, weights):
            logits = model_ref()(inputs, training=False)
            nll = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
            return tf.reduce_sum(nll * weights), tf.reduce_sum(weights)

        _NLL_FUNCTIONS[model] = function
    return function


def perplexity(translator, pairs, batch_size=64, progress=False):
    """Perplexity of the references under teacher forcing.

    exp(mean negative log-likelihood per target token), `<end>` included,
    padding excluded. Pairs whose source is empty are left out (the model
    cannot encode them).

    Args:
        translator: Translator.
        pairs: list of (source, reference) strings.
        batch_size: int. Defaults to 64.
        progress: bool. Show a progress bar. Defaults to False.

    Returns:
        (perplexity, target tokens counted).
    """
    dataset = make_dataset(
        pairs,
        translator.source_tokenizer,
        translator.target_tokenizer,
        batch_size=batch_size,
        reverse_source=translator.config.reverse_source,
        max_source_length=10**6,
        max_target_length=10**6,
        shuffle=False,
        bucket_boundaries=None,
        cache=False,
    )
    batch_nll = _nll_function(translator.model)

    total, count = 0.0, 0.0
    bar = keras.utils.Progbar(len(pairs), unit_name="pair") if progress else None
    seen = 0
    for inputs, targets, weights in dataset:
        nll, tokens = batch_nll(inputs, targets, weights)
        total += float(nll)
        count += float(tokens)
        seen += int(targets.shape[0])
        if bar is not None:
            bar.update(seen)
    if not count:
        raise ConfigurationError("No reference token to score: every pair was empty.")
    return math.exp(total / count), int(count)


# Source-length buckets in words, as in Sutskever et al. 2014, Figure 3
# (upper bounds; the last bucket is open).
LENGTH_BUCKETS = (9, 14, 24)


def source_words(text):
    """Words of a source sentence, as the length buckets count them."""
    return len(text.split())


def bleu_by_length(sources, hypotheses, references, buckets=LENGTH_BUCKETS):
    """Corpus BLEU per source-length bucket.

    Args:
        sources, hypotheses, references: sequences of str, aligned.
        buckets: increasing ints: upper bounds (in source words, inclusive)
            of all buckets but the last, which is open. Defaults to
            (9, 14, 24): <= 9, 10-14, 15-24, 25+ words.

    Returns:
        A list of {"words": "10-14", "pairs": int, "bleu": float or None}, one
        per bucket (BLEU None for an empty bucket).
    """
    edges = [0, *buckets]
    names = [f"<={buckets[0]}"] + [f"{lo + 1}-{hi}" for lo, hi in zip(edges[1:], edges[2:])]
    names.append(f"{buckets[-1] + 1}+")
    grouped = [([], []) for _ in names]
    for source, hypothesis, reference in zip(sources, hypotheses, references):
        n = source_words(source)
        index = next((i for i, bound in enumerate(buckets) if n <= bound), len(buckets))
        grouped[index][0].append(hypothesis)
        grouped[index][1].append(reference)
    return [
        {"words": name, "pairs": len(hyps),
         "bleu": round(corpus_bleu(hyps, refs).score, 2) if hyps else None}
        for name, (hyps, refs) in zip(names, grouped)
    ]


_WORDS = re.compile(re.escape(UNK) + r"|\w+|[^\w\s]")


def repeated_ngram_share(hypotheses, n=3):
    """Share of hypotheses in which some word n-gram occurs more than once.

    Words are the lowercased words and punctuation marks of the text, and
    `<unk>` is one word; n-grams that hold an `<unk>` are not counted (two
    unknown words are not a loop). The measure of degenerate loops ("cinq
    cinq cinq ans" has "cinq cinq" twice at n=2, and "lisent un livre et
    lisent un livre" has "lisent un livre" twice at n=3).
    """
    if not hypotheses:
        return 0.0
    repeated = 0
    for hypothesis in hypotheses:
        words = _WORDS.findall(hypothesis.lower())
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        grams = [g for g in grams if UNK not in g]
        repeated += len(grams) != len(set(grams))
    return repeated / len(hypotheses)


_NAME = re.compile(r"[^\W\d_][\w'-]*")


def names_kept(sources, hypotheses, references):
    """How well names and numbers pass through: (kept, total).

    A "name" is a source word that the reference also writes verbatim and
    that is a number or a capitalised word not first in its sentence
    ("Alexander", "Toronto", "2019"): a word a translation should copy. It
    is kept when the hypothesis holds it verbatim.
    """
    kept = total = 0
    for source, hypothesis, reference in zip(sources, hypotheses, references):
        words = re.findall(r"\w[\w'-]*", source)
        reference_words = set(re.findall(r"\w[\w'-]*", reference))
        hypothesis_words = set(re.findall(r"\w[\w'-]*", hypothesis))
        for i, word in enumerate(words):
            is_number = word.isdigit()
            is_name = i > 0 and bool(_NAME.fullmatch(word)) and word[0].isupper() \
                and not word.isupper()
            if (is_number or is_name) and word in reference_words:
                total += 1
                kept += word in hypothesis_words
    return kept, total


def evaluate(translator, pairs, decoding=None, *, batch_size: int = DECODE_BATCH_SIZE,
             progress: bool = False, with_perplexity: bool = True,
             **changes) -> tuple[dict, list[str]]:
    """Translate the sources and score them against the references.

    Args:
        translator: Translator, Ensemble or a LiteRT runner.
        pairs: list of (source, reference) strings.
        decoding: DecodingConfig, dict or None. How to translate; None: the
            translator's own settings (what it translates with everywhere
            else), which the report records under "decoding".
        batch_size: int. Defaults to 128 (`constants.DECODE_BATCH_SIZE`).
        progress: bool. Show progress bars. Defaults to False.
        with_perplexity: bool. Also score the references under teacher
            forcing (it does not depend on the search). Defaults to True.
        **changes: DecodingConfig fields to change (`beam_size=1`, ...).

    Returns:
        (report, hypotheses): a dict with BLEU, chrF, their sacreBLEU
        signatures, the decoding settings used, perplexity (per member for
        an ensemble), counts and timing; and the list of hypotheses.
    """
    pairs = list(pairs)
    if not pairs:
        raise ConfigurationError("Nothing to evaluate: no (source, reference) pair.")
    settings = translator.settings(decoding, **changes)
    sources, references = zip(*pairs)
    started = time.time()
    hypotheses = translator.translate(list(sources), settings, batch_size=batch_size,
                                      progress=progress)
    seconds = time.time() - started
    bleu, bleu_signature = corpus_bleu(hypotheses, references, with_signature=True)
    chrf, chrf_signature = corpus_chrf(hypotheses, references, with_signature=True)
    report = {
        "pairs": len(pairs),
        "decoding": settings.to_dict(),
        "search": settings.describe(),
        "bleu": round(bleu.score, 2),
        "bleu_signature": bleu_signature,
        "bleu_details": str(bleu),
        "chrf": round(chrf.score, 2),
        "chrf_signature": chrf_signature,
        # sacreBLEU's 13a tokenizer reads "<unk>" as three wrong tokens.
        "unknown_words": sum(h.count(UNK) for h in hypotheses),
        "repeated_trigram_share": round(repeated_ngram_share(hypotheses, 3), 4),
        "by_length": bleu_by_length(sources, hypotheses, references),
        "names_kept": names_kept(sources, hypotheses, references),
        "translation_seconds": round(seconds, 2),
        "sentences_per_second": round(len(pairs) / max(seconds, 1e-9), 1),
    }
    if not with_perplexity:
        return report, hypotheses
    if not hasattr(translator, "model") and not hasattr(translator, "members"):
        return report, hypotheses  # a LiteRT runner: no Keras model to score with
    members = getattr(translator, "members", [translator])
    perplexities = [
        perplexity(member, pairs, batch_size=batch_size, progress=progress)[0]
        for member in members
    ]
    # Per target token: per word, or per piece for word-piece models (not
    # comparable across the two).
    tokenizer = getattr(getattr(members[0], "config", None), "tokenizer", "word")
    report["perplexity_per"] = "word piece" if tokenizer == "wordpiece" else "word"
    if len(members) == 1:
        report["perplexity"] = round(perplexities[0], 2)
    else:
        report["member_perplexities"] = [round(p, 2) for p in perplexities]
    return report, hypotheses


def format_report(report) -> str:
    """`evaluate`'s report as the lines `keras-seq2seq evaluate` prints."""
    ppl = report.get("perplexity", report.get("member_perplexities", "-"))
    per = f" per {report['perplexity_per']}" if "perplexity_per" in report else ""
    kept, total = report["names_kept"]
    by_length = "  ".join(
        f"{b['words']} words: " + ("-" if b["bleu"] is None else f"{b['bleu']:.2f}")
        + f" ({b['pairs']})" for b in report["by_length"])
    return "\n".join([
        f"{report['pairs']} pairs, {report['search']}: BLEU {report['bleu']:.2f}  "
        f"chrF {report['chrf']:.2f}  perplexity {ppl}{per}  <unk> written "
        f"{report['unknown_words']}  repeated 3-grams {report['repeated_trigram_share']:.1%}  "
        f"names kept {kept}/{total}",
        report["bleu_details"],
        f"BLEU by source length: {by_length}",
        f"BLEU signature: {report['bleu_signature']}",
    ])
