"""`Decoder`: text in, text out around a decoding step function.

The base of `Translator`, `Ensemble`, the captioners and the LiteRT runners:
batching sorted by length, sentence splitting and joining, greedy and beam
search in compiled graphs, penalties, n-best lists and progress bars. A
subclass gives `encode`, `step`, a `target_tokenizer` and its limits.
"""

import sys

import keras
import tensorflow as tf

from keras_seq2seq.constants import UNK_ID
from keras_seq2seq.decoding import beam_search, greedy_search, penalize_token
from keras_seq2seq.decoding.penalties import check_ngram_size, check_penalty
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text import placeholders
from keras_seq2seq.text.sentences import join_translations, split_sentences_batch


def fit_verbosity(verbose, stream=None):
    """Keras's verbosity for `verbose="auto"`: the live progress bar (1) on a
    terminal, one line per epoch (2) in a log, a pipe or CI, where the bar's
    thousands of carriage-return updates would be one unreadable line."""
    if verbose != "auto":
        return verbose
    stream = sys.stdout if stream is None else stream
    try:
        return 1 if stream.isatty() else 2
    except (AttributeError, ValueError):
        return 2


def run_step_model(decoder_step_model, tokens, states):
    """One decoding step with a `build_decoder_step_model` model.

    (tokens (B,), (rnn_states, memory)) -> (log_probs (B, V), new states);
    the memory (attention inputs, possibly empty) is carried unchanged.
    """
    rnn_states, memory = states
    logits, *rnn_states = decoder_step_model([tokens, *rnn_states, *memory], training=False)
    return tf.nn.log_softmax(logits, axis=-1), (list(rnn_states), memory)


class Decoder:
    """Text in, text out around a step function: the base of `Translator`,
    `Ensemble`, the captioners and the TFLite runners (public so that
    other decoders can be built on it).

    A subclass provides `encode(texts) -> (states, source_lengths)` and
    `step(tokens, states) -> (log_probs, states)` (the decoding contract),
    plus `target_tokenizer` and the decoding limits set by `_set_limits`.
    """

    def _set_limits(self, max_input_tokens, max_output_tokens, length_ratio, length_offset):
        self.max_input_tokens = max_input_tokens
        self.max_output_tokens = max_output_tokens
        self.length_ratio = length_ratio
        self.length_offset = length_offset
        self._graphs = {}

    def max_lengths(self, source_lengths):
        """Most tokens to generate per sentence: ratio * source words + offset."""
        limit = tf.cast(self.length_ratio * tf.cast(source_lengths, tf.float32), tf.int32)
        return tf.minimum(limit + self.length_offset, self.max_output_tokens)

    def search(self, texts, beam_size=1, alpha=0.6, unk_penalty=0.0, no_repeat_ngram=0):
        """tf.string (B,) -> (tokens (B, K, T), scores (B, K), source lengths (B,)).

        K is `beam_size`. Greedy search for beam size 1 (its score is the
        summed log-probability), beam search otherwise (length-normalised
        scores, best first). `unk_penalty` is subtracted from the
        log-probability of `<unk>` at every step (`penalize_token`);
        `no_repeat_ngram` >= 2 forbids repeating an n-gram of that many
        tokens (`block_repeated_ngrams`).
        """
        states, lengths = self.encode(texts)
        max_lengths = self.max_lengths(lengths)
        step = penalize_token(self.step, UNK_ID, unk_penalty)
        if beam_size == 1:
            tokens, scores = greedy_search(step, states, max_lengths,
                                           no_repeat_ngram=no_repeat_ngram)
            return tokens[:, None, :], scores[:, None], lengths
        tokens, scores, _ = beam_search(step, states, max_lengths, beam_size=beam_size, alpha=alpha,
                                        no_repeat_ngram=no_repeat_ngram)
        return tokens, scores, lengths

    def _check_replace_unknown(self):
        raise ConfigurationError(f"{type(self).__name__} cannot replace <unk>: it needs a "
                                 "single word-level Translator with attention.")

    def translate_batch(self, texts, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0):
        """One batch in the graph: inputs (B,) -> (translations tf.string
        (B, K), scores (B, K)), K = beam_size; what the SavedModel exports
        wrap in their signatures."""
        return self._finish(*self.search(texts, beam_size, alpha, unk_penalty, no_repeat_ngram))

    def _finish(self, tokens, scores, lengths):
        """Search output -> (translations (B, K) tf.string, scores (B, K))."""
        shape = tf.shape(tokens)  # (batch, beam, time)
        flat = tf.reshape(tokens, [shape[0] * shape[1], shape[2]])
        translations = tf.reshape(self.target_tokenizer.decode(flat), shape[:2])
        # A source without a single word has nothing to translate.
        has_words = lengths[:, None] > 0
        translations = tf.where(has_words, translations, tf.constant(""))
        return translations, tf.where(has_words, scores, 0.0)

    # What `encode` takes: a batch of strings here; images for a captioner.
    input_spec = tf.TensorSpec([None], tf.string)
    progress_unit = "sentence"

    def _graph(self, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0,
               replace_unknown=False):
        key = (int(beam_size), float(alpha), float(unk_penalty), int(no_repeat_ngram),
               bool(replace_unknown))
        if key not in self._graphs:
            self._graphs[key] = tf.function(
                # replace_unknown only when set: subclasses' translate_batch
                # (captioners) do not take it.
                lambda inputs: self.translate_batch(
                    inputs, *key[:4], **({"replace_unknown": True} if key[4] else {})
                ),
                input_signature=[self.input_spec],
            )
        return self._graphs[key]

    def _check_search_options(self, batch_size, beam_size, n_best, unk_penalty=0.0,
                              no_repeat_ngram=0):
        check_penalty(unk_penalty)
        check_ngram_size(no_repeat_ngram)
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}.")
        if beam_size < 1:
            raise ConfigurationError(f"beam_size must be >= 1, got {beam_size}.")
        if n_best is not None and not 1 <= n_best <= beam_size:
            raise ConfigurationError(
                f"n_best must be between 1 and beam_size={beam_size}, got {n_best}.")

    def _decode_batches(
        self, inputs, batch_size, beam_size, alpha, n_best, progress, unk_penalty=0.0,
        no_repeat_ngram=0, order=None, replace_unknown=False,
    ):
        """Decode a sequence of inputs (list or array) batch by batch.

        `order` (a permutation of the input indices, e.g. by length) is the
        order in which they are batched; results come back in input order.

        Returns a list: one string per input, or with `n_best` a list of
        (text, score) per input.
        """
        graph = self._graph(beam_size, alpha, unk_penalty, no_repeat_ngram, replace_unknown)
        bar = keras.utils.Progbar(len(inputs), unit_name=self.progress_unit,
                                  verbose=fit_verbosity("auto")) if progress else None
        order = list(range(len(inputs))) if order is None else list(order)
        results = [None] * len(inputs)
        done = 0
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            chunk = tf.convert_to_tensor(
                [inputs[i] for i in indices], dtype=self.input_spec.dtype
            )
            translations, scores = graph(chunk)
            for i, row, row_scores in zip(indices, translations.numpy(), scores.numpy()):
                if n_best is None:
                    results[i] = row[0].decode("utf-8")
                else:
                    results[i] = [
                        (t.decode("utf-8"), float(sc)) for t, sc in zip(row[:n_best], row_scores)
                    ]
            done += len(indices)
            if bar is not None:
                bar.update(done)
        return results

    def translate(
        self, texts, batch_size=64, beam_size=1, alpha=0.6, n_best=None, progress=False,
        unk_penalty=0.0, no_repeat_ngram=0, split_sentences=True, replace_unknown=False,
        protect_names=None,
    ):
        """Translate a string or a list of strings.

        Args:
            texts: str or list of str (bytes are decoded as UTF-8, invalid
                bytes replaced).
            batch_size: int. Sentences decoded together. Defaults to 64.
            beam_size: int. 1 for greedy search, more for beam search.
                Defaults to 1.
            alpha: float. Length-penalty strength of beam search. Defaults
                to 0.6.
            n_best: int or None. When set, return the `n_best` best
                hypotheses of each sentence as (text, score) pairs, best
                first (at most `beam_size`). Defaults to None.
            progress: bool. Show a Keras progress bar. Defaults to False.
            unk_penalty: float. Subtracted from the log-probability of
                `<unk>` at every step: `float("inf")` never writes `<unk>`
                (the search takes the best real word instead), 0 is the
                paper's decoder. Defaults to 0.
            no_repeat_ngram: int. When >= 2, no translation repeats an
                n-gram of this many tokens (word pieces with a word-piece
                model), which stops degenerate loops. Defaults to 0 (off).
            split_sentences: bool. Cut each text into sentences
                (`keras_seq2seq.text.sentences`), translate them as one
                batch and join the translations with the text's own
                separators, so a paragraph comes out sentence by sentence.
                With `n_best`, each text is decoded whole. Defaults to True.
            replace_unknown: bool. Word-level models with attention: write
                the source word that the attention points to in place of
                each `<unk>` (Luong et al. 2015; OpenNMT's
                `replace_unknown_target`), so names and numbers are copied.
                Defaults to False.
            protect_names: bool or None. Translate each rare capitalised
                word (one that the source vocabulary cuts into 3+ pieces or
                cannot spell, not the first of its sentence) as a
                placeholder name the model copies whole ("Tom"), and put
                the word back (`keras_seq2seq.text.placeholders`); a
                sentence whose translation loses or repeats a placeholder
                is translated again as it is. None (the default): on when
                the model's vocabularies hold a placeholder name and
                `n_best` is not set, off otherwise.

        Returns:
            A string per input (a list for a list), or with `n_best` a list
            of (text, score) per input.
        """
        self._check_search_options(batch_size, beam_size, n_best, unk_penalty, no_repeat_ngram)
        if replace_unknown:
            self._check_replace_unknown()
        single = isinstance(texts, (str, bytes))
        texts = [texts] if single else list(texts)
        texts = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t
                 for t in texts]
        if protect_names is None:
            protect_names = n_best is None and self.has_name_placeholders()
        if protect_names and n_best is not None:
            raise ConfigurationError("protect_names does not combine with n_best: a name "
                                     "restored in one hypothesis may be lost in another.")
        pieces = None
        if split_sentences and n_best is None:
            pieces = split_sentences_batch(texts)
            texts = [sentence for p in pieces for sentence in p[1::2]]

        def decode(inputs, progress):
            # Batches of similar lengths: less padding, fewer wasted steps.
            order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
            return self._decode_batches(
                inputs, batch_size, beam_size, alpha, n_best, progress, unk_penalty,
                no_repeat_ngram, order=order, replace_unknown=replace_unknown,
            )

        if protect_names:
            results = self._translate_protecting_names(texts, decode, progress)
        else:
            results = decode(texts, progress)
        if pieces is not None:
            joined, position = [], 0
            for p in pieces:
                count = len(p) // 2
                joined.append(join_translations(p, results[position : position + count]))
                position += count
            results = joined
        return results[0] if single else results

    def _translate_protecting_names(self, texts, decode, progress):
        """`translate(protect_names=True)`: decode the masked sentences and
        put the names back; the sentences whose translation lost or
        repeated a placeholder are masked again from the next placeholder
        (`placeholders.ATTEMPTS` in all), then decoded as they are. The
        masking and restoring are the graph functions the SavedModel runs."""
        mask, restore = self._name_graphs()
        results = [None] * len(texts)
        pending = list(range(len(texts)))
        for offset in range(min(placeholders.ATTEMPTS, len(self.name_placeholders()))):
            if not pending:
                break
            masked, used, words = mask(tf.constant([texts[i] for i in pending], tf.string),
                                       tf.constant(offset))
            out = decode([text.decode("utf-8") for text in masked.numpy()],
                         progress and offset == 0)
            restored, ok = restore(tf.constant(out, dtype=tf.string), used, words)
            for i, text, good in zip(pending, restored.numpy(), ok.numpy()):
                if good:
                    results[i] = text.decode("utf-8")
            pending = [i for i, good in zip(pending, ok.numpy()) if not good]
        if pending:
            for i, result in zip(pending, decode([texts[i] for i in pending], False)):
                results[i] = result
        return results

    def _placeholders_or_none(self):
        if not hasattr(self, "_usable_placeholders"):
            tokenizer = getattr(self, "source_tokenizer", None)
            self._usable_placeholders = None if tokenizer is None else (
                placeholders.usable_placeholders(tokenizer, self.target_tokenizer))
        return self._usable_placeholders

    def has_name_placeholders(self):
        """Whether `protect_names` can run here (what its default follows)."""
        return bool(self._placeholders_or_none())

    def name_placeholders(self):
        """The placeholder names this model uses for `protect_names`: those
        of `placeholders.PLACEHOLDERS` that both vocabularies hold whole."""
        found = self._placeholders_or_none()
        if found is None:
            raise ConfigurationError(f"{type(self).__name__} cannot protect names: it reads "
                                     "no source text.")
        if not found:
            raise ConfigurationError(
                "protect_names needs a placeholder name that both vocabularies hold as one "
                f"token; this model's hold none of {', '.join(placeholders.PLACEHOLDERS)}.")
        return found

    def _name_graphs(self):
        if getattr(self, "_name_functions", None) is None:
            names, tokenizer = self.name_placeholders(), self.source_tokenizer
            text = tf.TensorSpec([None], tf.string)
            strings = tf.TensorSpec([None, len(names)], tf.string)

            # Plain TensorFlow control flow inside: nothing for autograph
            # to convert (and a lambda's source it cannot parse).
            @tf.autograph.experimental.do_not_convert
            def mask(sentences, offset):
                return placeholders.mask_names(sentences, tokenizer, names, offset)

            @tf.autograph.experimental.do_not_convert
            def restore(translations, used, words):
                return placeholders.restore_names(translations, used, words, names)

            self._name_functions = (
                tf.function(mask, input_signature=[text, tf.TensorSpec([], tf.int32)]),
                tf.function(restore, input_signature=[
                    text, tf.TensorSpec([None, len(names)], tf.bool), strings]),
            )
        return self._name_functions
