"""`Decoder`: inputs in, text out around a decoding step function.

The base of `Translator`, `Ensemble`, `Captioner` and the LiteRT runners:
batching sorted by length, sentence splitting and joining, greedy and beam
search in compiled graphs, penalties, name placeholders, n-best lists and
progress bars. A subclass gives `encode`, `step` and a `target_tokenizer`;
how it decodes is one `DecodingConfig` (`self.decoding`), which every call
may override field by field.
"""

from __future__ import annotations

import collections
import concurrent.futures
import sys
import threading

import keras
import tensorflow as tf

from keras_seq2seq.constants import BATCHES_IN_FLIGHT, DECODE_BATCH_SIZE, UNK_ID
from keras_seq2seq.decoding import beam_search, greedy_search, penalize_token
from keras_seq2seq.decoding.graph_options import LeanRewrites
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import DecodingConfig
from keras_seq2seq.text import placeholders
from keras_seq2seq.text.long_sentences import long_sentence_limit, split_long_sentences
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


def run_step_model(decoder_step_model, tokens, states, normalised=False):
    """One decoding step with a `build_decoder_step_model` model.

    (tokens (B,), (rnn_states, memory)) -> (log_probs (B, V), new states);
    the memory (attention inputs, possibly empty) is carried unchanged.
    `normalised`: the model's first output is already log-probabilities
    (a copy-attention model's is), not logits to log-softmax.
    """
    log_probs, states, _ = run_step_model_with_extras(decoder_step_model, tokens, states,
                                                      normalised=normalised)
    return log_probs, states


def run_step_model_with_extras(decoder_step_model, tokens, states, num_states=None,
                               normalised=False):
    """`run_step_model` for a step model with outputs after its states (the
    explorer's, with the attention weights): -> (log_probs, new states, the
    extra outputs). `num_states` defaults to the number of states given."""
    rnn_states, memory = states
    outputs = decoder_step_model([tokens, *rnn_states, *memory], training=False)
    count = len(rnn_states) if num_states is None else num_states
    logits, rest = outputs[0], list(outputs[1:])
    log_probs = logits if normalised else tf.nn.log_softmax(logits, axis=-1)
    return log_probs, (rest[:count], memory), rest[count:]


def as_decoding_config(decoding) -> DecodingConfig:
    """A DecodingConfig from one, a dict (a model record's), or None (defaults)."""
    if isinstance(decoding, DecodingConfig):
        return decoding
    return DecodingConfig.from_dict(decoding)


def in_order(function, items, in_flight):
    """Yield `(item, function(item))` for each item, in order, with up to
    `in_flight` calls running at once in threads (one: plain calls here).

    A compiled search releases the GIL while TensorFlow runs it, and much
    of a search step is small ops that each keep one core busy: two
    batches in flight fill the cores that one leaves idle (1,000 Multi30k
    val sentences, the shipped model, 2 cores: 6.2 s where one at a time
    took 6.6-7.0, the same translations; benchmarks/peers/README.md,
    "Two batches in flight, the collector paused, Grappler once"). At most
    `in_flight` results wait at a time.
    (concurrent.futures' `Executor.map` would submit every item at once.)
    """
    if in_flight < 2 or len(items) < 2:
        for item in items:
            yield item, function(item)
        return
    pool = concurrent.futures.ThreadPoolExecutor(in_flight, thread_name_prefix="decode")
    running = collections.deque()
    finished = False
    try:
        for item in items:
            running.append((item, pool.submit(function, item)))
            if len(running) >= in_flight:
                item, future = running.popleft()
                yield item, future.result()
        while running:
            item, future = running.popleft()
            yield item, future.result()
        finished = True
    finally:
        # Done: the idle threads are joined now (the command's quick exit,
        # `cli.run`, needs no thread left). Left early (an error, a closed
        # generator): what has not started never will, and the running
        # calls end on their own.
        pool.shutdown(wait=finished, cancel_futures=not finished)


class Decoder:
    """Inputs in, text out around a step function (public so that other
    decoders can be built on it).

    A subclass provides `encode(inputs, max_tokens) -> (states,
    source_lengths)` and `step(tokens, states) -> (log_probs, states)` (the
    decoding contract), `target_tokenizer`, and calls `_init_decoding`.
    A decoder that reads source text has a `source_tokenizer` too (name
    placeholders need it).

    Attributes:
        decoding: DecodingConfig. How this model translates unless a call
            says otherwise.
    """

    # What `encode` takes: a batch of strings here; images for a captioner.
    input_spec = tf.TensorSpec([None], tf.string)
    progress_unit = "sentence"
    source_tokenizer = None
    # Whether this decoder can write aligned source words for <unk>.
    can_replace_unknown = False
    # Batches decoded at once by `decode_batches` (`constants.
    # BATCHES_IN_FLIGHT`); 1 where the step cannot run in two threads.
    batches_in_flight = BATCHES_IN_FLIGHT

    def _init_decoding(self, decoding):
        self.decoding = as_decoding_config(decoding)
        self._graphs = {}
        self._compiled_ahead = set()
        self._usable_placeholders = None

    def settings(self, decoding: DecodingConfig | dict | None = None, *, n_best=None,
                 **changes) -> DecodingConfig:
        """The settings one call decodes with: `decoding` (else this model's
        own) with `changes` applied, checked against what this decoder can
        do; `protect_names=None` is resolved to on or off."""
        settings = self.decoding if decoding is None else as_decoding_config(decoding)
        if changes:
            settings = settings.replace(**changes)
        if settings.replace_unknown and not self.can_replace_unknown:
            raise ConfigurationError(
                f"replace_unknown needs a single word-level Translator with attention; "
                f"this is a {self._describe_kind()}.")
        if n_best is not None and not 1 <= n_best <= settings.beam_size:
            raise ConfigurationError(
                f"n_best must be between 1 and beam_size={settings.beam_size}, got {n_best}.")
        protect = settings.protect_names
        if protect is None:
            protect = n_best is None and self.has_name_placeholders()
        elif protect and n_best is not None:
            raise ConfigurationError("protect_names does not combine with n_best: a name "
                                     "restored in one hypothesis may be lost in another.")
        elif protect:
            self.name_placeholders()  # a clear error when there are none
        if n_best is not None:  # every hypothesis of an n-best list finished
            settings = settings.replace(beam_stop="all")
        return settings.replace(protect_names=bool(protect))

    def _describe_kind(self):
        return type(self).__name__

    # The search.

    def max_lengths(self, source_lengths, settings: DecodingConfig):
        """Most tokens to generate per sentence: ratio * source tokens + offset."""
        limit = tf.cast(settings.length_ratio * tf.cast(source_lengths, tf.float32), tf.int32)
        return tf.minimum(limit + settings.length_offset, settings.max_output_tokens)

    def search(self, inputs, settings: DecodingConfig):
        """inputs (B,) -> (tokens (B, K, T), scores (B, K), source lengths (B,)).

        K is `settings.beam_size`. Greedy search for beam size 1 (its score
        is the summed log-probability), beam search otherwise
        (length-normalised scores, best first); the `<unk>` penalty wraps
        the step function, n-gram blocking is the searches' own.
        """
        states, lengths = self.encode(inputs, settings.max_input_tokens)
        max_lengths = self.max_lengths(lengths, settings)
        step = penalize_token(self.step, UNK_ID, settings.unk_penalty)
        if settings.beam_size == 1:
            tokens, scores = greedy_search(step, states, max_lengths,
                                           no_repeat_ngram=settings.no_repeat_ngram)
            return tokens[:, None, :], scores[:, None], lengths
        stop = settings.beam_stop
        if stop == "settled" and settings.unk_penalty < 0:
            stop = "all"  # a bonus for <unk> could lift a live hypothesis: no ceiling
        tokens, scores, _ = beam_search(step, states, max_lengths, beam_size=settings.beam_size,
                                        alpha=settings.alpha, stop=stop,
                                        no_repeat_ngram=settings.no_repeat_ngram)
        return tokens, scores, lengths

    def translate_batch(self, inputs, settings: DecodingConfig):
        """One batch: inputs (B,) -> (translations tf.string (B, K), scores
        (B, K)), with the names protected when `settings` says so (all the
        attempts in this one call); what the SavedModel's `serving_default`
        traces, and what `translate` compiles when no names are protected
        (with them it runs the attempts over its whole input, `_attempt_graph`)."""
        if not settings.protect_names:
            return self._search_and_finish(inputs, settings)
        return placeholders.protect_names(lambda batch: self._search_and_finish(batch, settings),
                                          inputs, self.source_tokenizer,
                                          self.name_placeholders())

    def _search_and_finish(self, inputs, settings: DecodingConfig):
        """`search`, then `finish`: inputs (B,) -> (translations (B, K), scores (B, K))."""
        return self.finish(inputs, *self.search(inputs, settings), settings)

    def finish(self, inputs, tokens, scores, lengths, settings):
        """Search output -> (translations (B, K) tf.string, scores (B, K))."""
        shape = tf.shape(tokens)  # (batch, beam, time)
        flat = tf.reshape(tokens, [shape[0] * shape[1], shape[2]])
        translations = tf.reshape(self.target_tokenizer.decode(flat), shape[:2])
        return self._blank_empty(translations, scores, lengths)

    @staticmethod
    def _blank_empty(translations, scores, lengths):
        # A source without a single token has nothing to translate.
        has_words = lengths[:, None] > 0
        return (tf.where(has_words, translations, tf.constant("")),
                tf.where(has_words, scores, 0.0))

    def _graph(self, settings: DecodingConfig):
        """`translate_batch` for these settings, compiled once per settings."""
        if settings not in self._graphs:
            self._graphs[settings] = self._compile(
                lambda inputs: self.translate_batch(inputs, settings))
        return self._graphs[settings]

    def _attempt_graph(self, settings: DecodingConfig):
        """One attempt of the name placeholders (`placeholders.
        translate_attempt`) for these settings, compiled once per settings:
        (inputs (B,), attempt) -> (translations (B,), scores (B,), ok (B,))."""
        key = ("attempt", settings)
        if key not in self._graphs:
            self._graphs[key] = self._compile(
                lambda inputs, attempt: placeholders.translate_attempt(
                    lambda batch: self._search_and_finish(batch, settings), inputs, attempt,
                    self.source_tokenizer, self.name_placeholders()),
                extra_spec=[tf.TensorSpec([], tf.int32)])
        return self._graphs[key]

    def _batch_graph(self, settings: DecodingConfig, n_best):
        """The compiled function that `decode_batches` calls for these
        settings, and whether it is the name placeholders' attempt graph
        (`_attempt_graph`, which takes the attempt number after the inputs)
        rather than `_graph`."""
        if settings.protect_names and n_best is None:
            return self._attempt_graph(settings), True
        return self._graph(settings), False

    def _compile(self, function, extra_spec=()):
        # Optimised by Grappler in one pass at its first call (`graph_options`).
        return LeanRewrites(tf.function(function,
                                        input_signature=[self.input_spec, *extra_spec],
                                        autograph=False))

    # Text in, text out.

    def _compile_ahead(self, settings, n_best):
        """Compile the graph that `translate` will decode with, in a thread,
        while `translate` splits its texts: tracing it and TensorFlow's
        preparation at its first call (Grappler, kernels) took 1 s of a
        one-shot command's start-up on the shipped model, the splitting
        0.1-0.25 s, and the preparation runs without the GIL. A call on
        one empty string does both. Returns the thread, or None when this
        decoder has already compiled it (or decodes eagerly)."""
        key = (settings, n_best is None)
        if (key in self._compiled_ahead or self.batches_in_flight < 2
                or self.input_spec.dtype != tf.string):
            return None
        self._compiled_ahead.add(key)
        graph, by_attempt = self._batch_graph(settings, n_best)
        extra = (tf.constant(0),) if by_attempt else ()

        def compile_graph():
            try:
                graph(tf.constant([""]), *extra)
            except Exception:  # noqa: BLE001 - the real call raises it again, in its place
                pass

        thread = threading.Thread(target=compile_graph, name="decode-compile", daemon=True)
        thread.start()
        return thread

    def decode_batches(self, inputs, settings, batch_size, n_best, progress, order=None):
        """Decode a sequence of inputs (list or array) batch by batch.

        `order` (a permutation of the input indices, e.g. by length) is the
        order in which they are batched; results come back in input order:
        one string per input, or with `n_best` a list of (text, score).
        """
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}.")
        bar = keras.utils.Progbar(len(inputs), unit_name=self.progress_unit,
                                  verbose=fit_verbosity("auto")) if progress else None
        order = list(range(len(inputs))) if order is None else list(order)
        results = [None] * len(inputs)

        def batches(graph, pending, *extra):
            def run(indices):
                chunk = tf.convert_to_tensor([inputs[i] for i in indices],
                                             dtype=self.input_spec.dtype)
                return graph(chunk, *extra)

            chunks = [pending[start : start + batch_size]
                      for start in range(0, len(pending), batch_size)]
            yield from in_order(run, chunks, self.batches_in_flight)

        graph, by_attempt = self._batch_graph(settings, n_best)
        if by_attempt:
            # `placeholders.protect_names` attempt by attempt over all the
            # inputs: the few sentences whose translation lost a placeholder
            # are translated again together, not in a small search of their
            # own in every batch (the SavedModel's single call keeps the
            # retries inside its graph). The same translations
            # (benchmarks/peers/README.md, "The first pass and the start-up,
            # cut again").
            pending, done = order, 0
            for attempt in range(placeholders.attempts(self.name_placeholders())):
                failed = []
                for indices, (translations, _scores, ok) in batches(graph, pending,
                                                                   tf.constant(attempt)):
                    for i, text, good in zip(indices, translations.numpy(), ok.numpy()):
                        if good:
                            results[i] = text.decode("utf-8")
                            done += 1
                        else:
                            failed.append(i)
                    if bar is not None:
                        bar.update(done)
                pending = failed
            return results

        done = 0
        for indices, (translations, scores) in batches(graph, order):
            for i, row, row_scores in zip(indices, translations.numpy(), scores.numpy()):
                if n_best is None:
                    results[i] = row[0].decode("utf-8")
                else:
                    results[i] = [(t.decode("utf-8"), float(s))
                                  for t, s in zip(row[:n_best], row_scores)]
            done += len(indices)
            if bar is not None:
                bar.update(done)
        return results

    def translate(self, texts, decoding: DecodingConfig | dict | None = None, *,
                  batch_size: int = DECODE_BATCH_SIZE, n_best: int | None = None,
                  progress: bool = False, **changes):
        """Translate a string or a list of strings.

        Args:
            texts: str or list of str (bytes are decoded as UTF-8, invalid
                bytes replaced).
            decoding: DecodingConfig, dict or None. How to decode; None:
                this model's own settings (`self.decoding`, stored with the
                model).
            batch_size: int. Sentences decoded together. Defaults to 128
                (`constants.DECODE_BATCH_SIZE`).
            n_best: int or None. When set, return the `n_best` best
                hypotheses of each text as (text, score) pairs, best first
                (at most `beam_size`; each text decoded whole). Defaults to
                None.
            progress: bool. Show a Keras progress bar. Defaults to False.
            **changes: DecodingConfig fields to change for this call
                (`beam_size=1` for greedy search, `unk_penalty`, ...).

        Returns:
            A string per input (a list for a list), or with `n_best` a list
            of (text, score) per input.
        """
        settings = self.settings(decoding, n_best=n_best, **changes)
        single = isinstance(texts, (str, bytes))
        texts = [texts] if single else list(texts)
        ahead = self._compile_ahead(settings, n_best) if texts else None
        texts = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t
                 for t in texts]
        pieces = None
        if settings.split_sentences and n_best is None:
            pieces = split_sentences_batch(texts)
            texts = [sentence for p in pieces for sentence in p[1::2]]
        # Sentences over the input or output limits: translated in clauses.
        groups = None
        if n_best is None and self.source_tokenizer is not None:
            texts, groups = split_long_sentences(texts, self.source_tokenizer,
                                                 self.long_sentence_limit(settings),
                                                 settings.max_input_tokens)
        # Batches of similar lengths: less padding, fewer wasted steps.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        if ahead is not None:
            ahead.join()
        results = self.decode_batches(texts, settings, batch_size, n_best, progress, order)
        if groups is not None:
            results = [" ".join(results[a:b]) for a, b in groups]
        if pieces is not None:
            joined, position = [], 0
            for p in pieces:
                count = len(p) // 2
                joined.append(join_translations(p, results[position : position + count]))
                position += count
            results = joined
        return results[0] if single else results

    def long_sentence_limit(self, settings: DecodingConfig) -> int:
        """Most source pieces translated in one piece (`keras_seq2seq.text.
        long_sentences`): the input limit (and an export's fixed source
        length) and two thirds of the output cap."""
        limit = settings.max_input_tokens
        fixed = getattr(self, "max_source_tokens", None)
        if fixed:
            limit = min(limit, fixed)
        return long_sentence_limit(limit, settings.max_output_tokens)

    # Name placeholders (`keras_seq2seq.text.placeholders`).

    def has_name_placeholders(self) -> bool:
        """Whether `protect_names` can run here (what its default follows)."""
        if self.source_tokenizer is None:
            return False
        if self._usable_placeholders is None:
            self._usable_placeholders = placeholders.usable_placeholders(
                self.source_tokenizer, self.target_tokenizer)
        return bool(self._usable_placeholders)

    def name_placeholders(self):
        """The placeholder names this model uses for `protect_names`: those
        of `placeholders.PLACEHOLDERS` that both vocabularies hold whole."""
        if self.source_tokenizer is None:
            raise ConfigurationError(f"{self._describe_kind()} cannot protect names: it reads "
                                     "no source text.")
        if not self.has_name_placeholders():
            raise ConfigurationError(
                "protect_names needs a placeholder name that both vocabularies hold as one "
                f"token; this model's hold none of {', '.join(placeholders.PLACEHOLDERS)}.")
        return self._usable_placeholders
