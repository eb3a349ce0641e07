"""What `keras-seq2seq explore` shows, as plain data: the JSON of its API.

Everything here runs the project's own parts: the translator's (or
captioner's) encoder and `encode`, the decoder-step model built from the
trained layers (`build_decoder_step_model`, with the attention weights as
extra outputs), the step function's log-softmax (`run_step_model`), and
`beam_search` itself (with `trace=True`, which returns the beams of every
step). The step-by-step view is a loop over that step function: the user
chooses, at any step, which token is fed back; left alone it picks the
most likely one, which is what `greedy_search` does in one graph.
"""

import threading

import numpy as np
import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID, UNK_ID
from keras_seq2seq.decoder import run_step_model_with_extras
from keras_seq2seq.decoding.beam import beam_search, length_penalty
from keras_seq2seq.errors import Seq2SeqError
from keras_seq2seq.models.seq2seq import build_decoder_step_model

MAX_CHARACTERS = 5000
MAX_BEAM = 8
MAX_TOP_K = 20


class ExploreError(Seq2SeqError, ValueError):
    """Input the explorer cannot show; the message says what and why."""


def _floats(array, digits=None):
    values = np.asarray(array, dtype="float64").ravel().tolist()
    return values if digits is None else [round(v, digits) for v in values]


def check_text(text, what="text"):
    """The text to explore, or ExploreError saying what is wrong with it."""
    if not isinstance(text, str):
        raise ExploreError(f"The {what} must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise ExploreError(f"The {what} is empty: type a sentence.")
    if len(text) > MAX_CHARACTERS:
        raise ExploreError(
            f"The {what} has {len(text):,} characters; the explorer shows one sentence or a "
            f"short paragraph, at most {MAX_CHARACTERS:,} characters. Translate long texts with "
            "`keras-seq2seq translate --input FILE`.")
    return text


def _int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ExploreError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
    return value


class Explorer:
    """The data behind the explorer's page, for a Translator or a Captioner.

    Args:
        decoder: a `Translator` (text in) or a `Captioner` (images in).
        label: str. How the page names the model.
    """

    def __init__(self, decoder, label="model"):
        self.decoder = decoder
        self.label = label
        self.config = decoder.config
        self.is_captioner = decoder.source_tokenizer is None
        self.attention = self.config.attention != "none"
        self.copy = bool(self.config.copy_attention)
        self.num_states = self.config.num_layers * self.config.states_per_layer
        if self.attention:
            self.step_model = build_decoder_step_model(decoder.model, self.config,
                                                       attention_outputs=True)
        else:
            self.step_model = decoder.decoder_step_model
        self.target_vocabulary = list(decoder.target_tokenizer.vocabulary)
        # One computation at a time: the page's requests come one by one,
        # and a burst of them cannot pile up models' memory.
        self.lock = threading.Lock()

    # Inputs.

    def _inputs(self, source):
        """A batch of one: the text (translator) or the image array (captioner)."""
        if self.is_captioner:
            return source
        return tf.constant([check_text(source)])

    def _token(self, token_id):
        token = self.target_vocabulary[token_id]
        return {"id": int(token_id), "token": token}

    def info(self):
        """The model: kind, architecture, vocabularies."""
        config = self.config.to_dict()
        info = {
            "label": self.label,
            "kind": "captioner" if self.is_captioner else "translator",
            "attention": self.attention,
            "copy_attention": self.copy,
            "cell_type": config.get("cell_type", "lstm"),
            "num_layers": self.config.num_layers,
            "units": self.config.units,
            "target_vocab_size": len(self.target_vocabulary),
            "max_beam": MAX_BEAM,
            "decoding": self.decoder.decoding.to_dict(),
            "max_characters": MAX_CHARACTERS,
        }
        if not self.is_captioner:
            info.update(source_vocab_size=self.decoder.source_tokenizer.vocabulary_size,
                        reverse_source=bool(self.config.reverse_source),
                        tokenizer=self.config.tokenizer)
        return info

    # 1. The encoder.

    def encode(self, source):
        """Tokens and ids, the order the encoder reads them, its final states."""
        with self.lock:
            batch = self._inputs(source)
            (rnn_states, memory), lengths = self.decoder.encode(batch)
            result = {"states": self._states(rnn_states)}
            result["context"] = [v for layer in result["states"] for s in layer["states"]
                                 for v in s["values"]]
            if not self.is_captioner:
                result.update(self._source_tokens(batch))
            return result

    def _states(self, rnn_states):
        names = ("h", "c") if self.config.states_per_layer == 2 else ("h",)
        k = self.config.states_per_layer
        return [{"layer": i, "states": [{"name": name, "values": _floats(rnn_states[i * k + j][0])}
                                        for j, name in enumerate(names)]}
                for i in range(self.config.num_layers)]

    def _source_tokens(self, batch):
        tokenizer = self.decoder.source_tokenizer
        tokens, lengths = self.decoder.encoder_inputs(batch)
        ids = tokens[0, : int(lengths[0])].numpy().tolist()
        vocabulary = tokenizer.vocabulary
        read = [{"id": i, "token": vocabulary[i], "unknown": i == UNK_ID,
                 "piece": vocabulary[i].startswith("##")} for i in ids]
        total = int(tokenizer.encode(batch).row_lengths()[0])
        source_order = list(reversed(read)) if self.config.reverse_source else list(read)
        return {"source_tokens": source_order, "read_order": read,
                "reversed": bool(self.config.reverse_source),
                "truncated": total > len(ids), "tokens_in_text": total}

    # 2. The decoder, step by step.

    def _step(self, token, rnn_states, memory):
        log_probs, (rnn_states, _), extra = run_step_model_with_extras(
            self.step_model, tf.constant([token], tf.int32), (rnn_states, memory),
            self.num_states, normalised=getattr(self.config, "copy_attention", False))
        return log_probs[0].numpy().astype("float64"), rnn_states, extra

    def _start(self, source):
        batch = self._inputs(source)
        (rnn_states, memory), lengths = self.decoder.encode(batch)
        if int(lengths[0]) == 0:
            raise ExploreError("Nothing to translate: the text has no word the model reads.")
        limit = self.decoder.max_lengths(lengths, self.decoder.decoding)
        return list(rnn_states), list(memory), int(limit[0])

    def _top(self, log_probs, top_k):
        best = np.argsort(-log_probs, kind="stable")[:top_k]
        return [{**self._token(i), "prob": float(np.exp(log_probs[i])),
                 "log_prob": float(log_probs[i])} for i in best]

    def decode(self, source, prefix=(), top_k=5):
        """Test-phase decoding from `<start>`: at each step the input token,
        the `top_k` next tokens with probabilities, and the one fed back:
        `prefix[t]` for the first steps (the user's choices), then the most
        likely token, until `<end>` or the length limit."""
        top_k = _int(top_k, "top_k", 1, MAX_TOP_K)
        if not isinstance(prefix, (list, tuple)):
            raise ExploreError(f"prefix must be a list of token ids, got {prefix!r}.")
        prefix = [_int(t, "Each prefix token", 0, len(self.target_vocabulary) - 1)
                  for t in prefix]
        with self.lock:
            rnn_states, memory, limit = self._start(source)
            if len(prefix) > limit:
                raise ExploreError(f"The prefix has {len(prefix)} tokens; this input allows at "
                                   f"most {limit}.")
            steps, chosen, token = [], [], START_ID
            for t in range(limit):
                log_probs, rnn_states, extra = self._step(token, rnn_states, memory)
                forced = t < len(prefix)
                next_id = prefix[t] if forced else int(np.argmax(log_probs))
                step = {"step": t, "input": self._token(token),
                        "top": self._top(log_probs, top_k),
                        "chosen": {**self._token(next_id),
                                   "prob": float(np.exp(log_probs[next_id])),
                                   "log_prob": float(log_probs[next_id])},
                        "forced": forced}
                if extra:
                    step["attention"] = _floats(extra[0][0], 6)
                if len(extra) > 1:
                    step["generate_share"] = float(extra[1][0][0])
                steps.append(step)
                chosen.append(next_id)
                token = next_id
                if next_id == END_ID and t >= len(prefix) - 1:
                    break
            return {"steps": steps, "tokens": chosen, "text": self._text(chosen),
                    "log_prob": float(sum(s["chosen"]["log_prob"] for s in steps)),
                    "limit": limit}

    def _text(self, ids):
        return self.decoder.target_tokenizer.decode(tf.constant([ids or [PAD_ID]],
                                                                tf.int32))[0].numpy().decode()

    # 3. Teacher forcing.

    def teacher_forcing(self, source, reference, free_running=None):
        """Feed the reference's tokens: each true token's probability and
        loss, the model's own choice, and where free-running decoding leaves
        the reference."""
        reference = check_text(reference, "reference")
        targets = self.decoder.target_tokenizer.encode(tf.constant([reference]))[0]
        targets = targets.numpy().tolist() + [END_ID]
        if free_running is None:
            free_running = self.decode(source, top_k=1)["tokens"]
        with self.lock:
            rnn_states, memory, _ = self._start(source)
            steps, token = [], START_ID
            for t, target in enumerate(targets):
                log_probs, rnn_states, _ = self._step(token, rnn_states, memory)
                best = int(np.argmax(log_probs))
                steps.append({"step": t, "input": self._token(token), "target": self._token(target),
                              "prob": float(np.exp(log_probs[target])),
                              "loss": float(-log_probs[target]),
                              "predicted": {**self._token(best),
                                            "prob": float(np.exp(log_probs[best]))}})
                token = target
        departs = next((t for t, (a, b) in enumerate(zip(free_running, targets)) if a != b),
                       None)
        if departs is None and len(free_running) != len(targets):
            departs = min(len(free_running), len(targets))
        return {"steps": steps, "mean_loss": float(np.mean([s["loss"] for s in steps])),
                "reference_tokens": targets, "free_running": free_running,
                "free_running_text": self._text(free_running), "departs_at": departs}

    # 4. Beam search.

    def beam(self, source, beam_size=None, alpha=None):
        """The project's beam search with its trace: every step's beams
        (token, parent, summed log-probability, normalised score, finished)
        and the final hypotheses, best first. The beam size and length
        penalty are the model's own settings unless given."""
        settings = self.decoder.decoding
        beam_size = _int(settings.beam_size if beam_size is None else beam_size, "beam_size", 1,
                         MAX_BEAM)
        alpha = settings.alpha if alpha is None else alpha
        with self.lock:
            batch = self._inputs(source)
            states, lengths = self.decoder.encode(batch)
            if int(lengths[0]) == 0:
                raise ExploreError("Nothing to translate: the text has no word the model reads.")
            tokens, scores, log_probs, trace = beam_search(
                self.decoder.step, states, self.decoder.max_lengths(lengths, settings),
                beam_size=beam_size, alpha=alpha, stop=settings.beam_stop, trace=True)
        trace = {k: v[0].numpy() for k, v in trace.items()}  # (beam, time)
        steps = []
        for t in range(trace["tokens"].shape[1]):
            nodes = []
            for j in range(beam_size):
                token, parent = int(trace["tokens"][j, t]), int(trace["parents"][j, t])
                was_finished = t > 0 and bool(trace["finished"][parent, t - 1])
                nodes.append({**self._token(token), "parent": parent,
                              "log_prob": float(trace["log_probs"][j, t]),
                              "score": float(trace["scores"][j, t]),
                              "finished": bool(trace["finished"][j, t]),
                              "carried": was_finished,
                              "finishes": bool(trace["finished"][j, t]) and not was_finished})
            steps.append(nodes)
        hypotheses = []
        for j in range(beam_size):
            ids = [int(i) for i in tokens[0, j].numpy() if i != PAD_ID]
            hypotheses.append({"tokens": ids, "text": self._text(ids),
                               "log_prob": float(log_probs[0, j]),
                               "score": float(scores[0, j]),
                               "length": len(ids),
                               "length_penalty": float(length_penalty(len(ids), alpha))})
        return {"beam_size": beam_size, "alpha": alpha, "steps": steps,
                "hypotheses": hypotheses, "best": hypotheses[0]["text"]}


def toy_translator(out_dir, epochs=150, seed=0):
    """The `seed_toy` walk-through model (tutorial 01), trained in seconds on
    the article's sentences: 3-d embeddings, 16 LSTM cells."""
    from keras_seq2seq.training import TrainingConfig, train

    pairs = [("nice to meet you", "ravi de vous rencontrer"),
             ("nice to see you", "ravi de vous voir"),
             ("thank you", "merci")]
    config = TrainingConfig.create(out_dir, architecture="seed_toy", epochs=epochs, batch_size=3,
                                   learning_rate=3e-2, seed=seed, bleu_sample=0, backup=False)
    translator, _ = train(config, train_pairs=pairs, verbose=0)
    return translator
