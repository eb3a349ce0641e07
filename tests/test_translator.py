import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_PAIRS, tiny_config
from keras_seq2seq import load
from keras_seq2seq.model_directory import ModelDirectoryError
from keras_seq2seq.translator import Translator


def test_training_loss_falls_and_model_learns_the_pairs(trained_translator):
    translator, history, _ = trained_translator
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0]
    sources = [s for s, _ in TINY_PAIRS]
    expected = [t for _, t in TINY_PAIRS]
    hypotheses = translator.translate(sources)
    correct = sum(h == e for h, e in zip(hypotheses, expected))
    assert correct >= len(TINY_PAIRS) - 1, list(zip(hypotheses, expected))


def test_translate_single_string_and_batches(trained_translator):
    translator, _, _ = trained_translator
    sources = [s for s, _ in TINY_PAIRS]
    assert translator.translate(sources[0]) == translator.translate([sources[0]])[0]
    assert translator.translate(sources, batch_size=5) == translator.translate(sources)


def test_model_directory_contents(trained_translator):
    translator, _, directory = trained_translator
    for name in ("config.json", "source_vocab.txt", "target_vocab.txt", "model.weights.h5",
                 "history.json"):
        assert os.path.isfile(os.path.join(directory, name)), name
    record = json.load(open(os.path.join(directory, "config.json"), encoding="utf-8"))
    assert record["model"]["reverse_source"] is True
    assert record["source_language"] == "en" and record["target_language"] == "fr"
    assert record["metadata"]["seed"] == 1
    assert os.path.isdir(os.path.join(directory, "checkpoints"))
    assert os.listdir(os.path.join(directory, "logs"))


# The default run loads models in fresh processes elsewhere: a model directory
# by the CLI in a subprocess, translating as this process does
# (tests/test_cli.py::test_translate_reads_stdin_one_line_per_line), a .keras
# file and a preset (tests/test_task.py, tests/test_parity.py).
@pytest.mark.slow
def test_load_in_a_fresh_process_translates_the_same(trained_translator, tmp_path):
    """The classic failure of the Keras example: inference after reloading."""
    translator, _, directory = trained_translator
    sources = [s for s, _ in TINY_PAIRS]
    expected = translator.translate(sources)
    script = (
        "import json, sys\n"
        "import keras_seq2seq\n"
        "t = keras_seq2seq.load(sys.argv[1])\n"
        "print(json.dumps(t.translate(json.loads(sys.argv[2]))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, directory, json.dumps(sources)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_inference_models_are_rebuilt_by_name_after_load(trained_translator):
    translator, _, directory = trained_translator
    loaded = load(directory)
    assert isinstance(loaded, Translator)
    tokens = tf.constant([[5, 6, 7]])
    for a, b in zip(translator.encoder_model(tokens), loaded.encoder_model(tokens)):
        tf.debugging.assert_near(a, b)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\t\n", "😀🎉", "a\x00b\x07\x1b[31m", "Nice " * 5000, "\u200b\ufeff",
     "<end> <pad>"],
)
def test_any_string_gives_a_bounded_translation(trained_translator, text):
    translator, _, _ = trained_translator
    out = translator.translate(text)
    assert isinstance(out, str)
    # Bounded: a sentence is cut to max_input_tokens pieces, translated in
    # parts of at most long_sentence_limit pieces (text/long_sentences.py).
    settings = translator.decoding
    parts = -(-settings.max_input_tokens // translator.long_sentence_limit(settings))
    assert len(out.split()) <= parts * settings.max_output_tokens
    if not text.strip():
        assert out == ""


def test_invalid_utf8_bytes_and_mixed_batches(trained_translator):
    translator, _, _ = trained_translator
    batch = [b"\xff\xfe bad", "", "Thank you.", "😀" * 3000, b"\xc3"]
    out = translator.translate(batch)
    assert len(out) == len(batch) and all(isinstance(t, str) for t in out)
    assert out[1] == "" and out[2] == translator.translate("Thank you.")


def test_source_is_reversed_for_the_encoder(trained_translator):
    translator, _, _ = trained_translator
    tokens, lengths = translator.encoder_inputs(tf.constant(["Thank you .", "you"]))
    ids = translator.source_tokenizer.encode(tf.constant(["Thank you ."])).to_list()[0]
    assert tokens.numpy()[0].tolist() == ids[::-1]
    assert tokens.numpy()[1, 1:].tolist() == [0, 0]  # padding stays on the right
    assert lengths.numpy().tolist() == [3, 1]


def test_max_output_is_tied_to_source_length(trained_translator):
    translator, _, _ = trained_translator
    limits = translator.max_lengths(tf.constant([0, 3, 1000]), translator.decoding).numpy()
    limits = limits.tolist()
    assert limits == [10, 16, translator.decoding.max_output_tokens]


def test_load_errors_name_the_file(trained_translator, tmp_path):
    _, _, directory = trained_translator
    with pytest.raises(ModelDirectoryError, match="not found"):
        load(str(tmp_path / "nowhere"))
    with pytest.raises(ModelDirectoryError, match="no config.json"):
        load(str(tmp_path))
    broken = tmp_path / "broken"
    shutil.copytree(directory, broken, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    (broken / "model.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelDirectoryError, match="model.weights.h5"):
        load(str(broken))
    os.remove(broken / "model.weights.h5")
    with pytest.raises(ModelDirectoryError, match="Weights file not found"):
        load(str(broken))
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelDirectoryError, match="config.json is invalid"):
        load(str(broken))


def _edited_copy(directory, tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    return copy


@pytest.mark.parametrize("edit, message", [
    (lambda config: config["model"].update(units=48), "config.json says units 48 but"),
    (lambda config: config["model"].update(embedding_dim=8), "says embedding_dim 8 but"),
    (lambda config: config["model"].update(num_layers=2), "says num_layers 2 but"),
    (lambda config: config["model"].update(cell_type="gru"), "says cell_type 'gru' but"),
    (lambda config: config["model"].update(attention="luong"), "does not match"),
])
def test_a_config_that_no_longer_matches_the_weights_is_one_clear_error(
        trained_translator, tmp_path, caplog, edit, message):
    _, _, directory = trained_translator
    copy = _edited_copy(directory, tmp_path, "edited")
    config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    edit(config)
    (copy / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with caplog.at_level("WARNING"), pytest.raises(ModelDirectoryError, match=message):
        load(str(copy))
    assert "freshly" not in caplog.text


@pytest.mark.parametrize("vocab", ["source_vocab.txt", "target_vocab.txt"])
def test_a_vocabulary_with_an_extra_line_names_the_vocabulary_file(
        trained_translator, tmp_path, vocab):
    _, _, directory = trained_translator
    copy = _edited_copy(directory, tmp_path, "extra")
    with open(copy / vocab, "a", encoding="utf-8") as f:
        f.write("extraword\n")
    with pytest.raises(ModelDirectoryError, match=f"{vocab} has .* tokens but .* trained with"):
        load(str(copy))


def test_output_directory_must_be_writable(tmp_path):
    from keras_seq2seq.training import TrainingConfig, train

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="Cannot write to the output directory"):
        train(
            TrainingConfig.create(str(blocker / "run"), tiny_config(), epochs=1),
            train_pairs=TINY_PAIRS, verbose=0)


def test_beam_size_one_equals_greedy_on_a_real_model(trained_translator):
    translator, _, _ = trained_translator
    sources = [s for s, _ in TINY_PAIRS] + ["I am tall.", "Good cats!"]
    greedy = translator.settings(beam_size=1)
    greedy_tokens, _, _ = translator.search(tf.constant(sources), greedy)
    encoded, lengths = translator.encode(tf.constant(sources))
    from keras_seq2seq.decoding import beam_search

    limits = translator.max_lengths(lengths, greedy)
    beam_tokens, _, _ = beam_search(translator.step, encoded, limits,
                                    beam_size=1)
    assert beam_tokens.numpy().tolist() == greedy_tokens.numpy().tolist()


def test_beam_search_translations_and_n_best(trained_translator):
    translator, _, _ = trained_translator
    sources = [s for s, _ in TINY_PAIRS]
    beam = translator.translate(sources, beam_size=4)
    assert sum(b == t for b, (_, t) in zip(beam, TINY_PAIRS)) >= len(TINY_PAIRS) - 1
    n_best = translator.translate(sources[:3], beam_size=4, n_best=3)
    for hypotheses, best in zip(n_best, beam[:3]):
        assert len(hypotheses) == 3 and hypotheses[0][0] == best
        scores = [score for _, score in hypotheses]
        assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError, match="n_best"):
        translator.translate("Thank you.", beam_size=2, n_best=3)


def test_ensemble_of_a_model_with_itself_is_that_model(trained_translator):
    from keras_seq2seq.translator import Ensemble

    translator, _, directory = trained_translator
    ensemble = Ensemble([translator, load(directory)])
    sources = [s for s, _ in TINY_PAIRS] + ["", "I love rain."]
    assert ensemble.translate(sources) == translator.translate(sources)
    assert ensemble.translate(sources, beam_size=3) == translator.translate(sources, beam_size=3)
    one = ensemble.translate(sources[:2], beam_size=3, n_best=2)
    other = translator.translate(sources[:2], beam_size=3, n_best=2)
    for a, b in zip(one, other):
        assert [t for t, _ in a] == [t for t, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)


def test_ensemble_needs_a_shared_target_vocabulary(trained_translator, tmp_path):
    from keras_seq2seq.text import WordTokenizer
    from keras_seq2seq.translator import Ensemble

    translator, _, _ = trained_translator
    other = Translator(
        translator.model, translator.config, translator.source_tokenizer,
        WordTokenizer(translator.target_tokenizer.vocabulary[:-1] + ["zzz"], language="fr"),
    )
    with pytest.raises(ValueError, match="target vocabulary"):
        Ensemble([translator, other])
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


# Slow: a training; attention models train, save and reload in test_copy_attention and
# test_bidirectional
@pytest.mark.slow
def test_attention_model_trains_saves_and_reloads(tmp_path):
    from keras_seq2seq.training import TrainingConfig, train

    out = str(tmp_path / "attention")
    translator, history = train(
        TrainingConfig.create(out, tiny_config(units=64, embedding_dim=32, attention="luong",
                              num_layers=2), epochs=16, batch_size=12, learning_rate=1e-2, seed=2),
        train_pairs=TINY_PAIRS * 10, verbose=0)
    names = {layer.name for layer in translator.model.layers}
    assert {"attention_keys", "attention", "attention_projection"} <= names
    memory = translator.encode(tf.constant(["Thank you.", "I am cold ."]))[0][1]
    assert [tuple(m.shape) for m in memory] == [(2, 4, 64), (2, 4, 64), (2, 4)]
    hypotheses = translator.translate([s for s, _ in TINY_PAIRS], beam_size=2)
    assert sum(h == t for h, (_, t) in zip(hypotheses, TINY_PAIRS)) >= len(TINY_PAIRS) - 1
    reloaded = load(out)
    assert reloaded.config.attention == "luong"
    assert reloaded.translate([s for s, _ in TINY_PAIRS], beam_size=2) == hypotheses


def test_weights_file_holds_the_weights_only(trained_translator):
    """No optimizer state in the model directory (Adam would triple its size)."""
    import h5py

    translator, _, directory = trained_translator
    stored = []
    with h5py.File(os.path.join(directory, "model.weights.h5"), "r") as f:
        f.visititems(lambda name, obj: stored.append(obj.size)
                     if isinstance(obj, h5py.Dataset) else None)
    assert sum(stored) == translator.model.count_params()


def test_unk_penalty_reaches_greedy_beam_and_ensembles(trained_translator):
    from keras_seq2seq.translator import Ensemble

    translator, _, _ = trained_translator
    sources = [s for s, _ in TINY_PAIRS[:4]] + ["I love rain."]
    for beam_size in (1, 3):
        plain = translator.translate(sources, beam_size=beam_size)
        assert translator.translate(sources, beam_size=beam_size, unk_penalty=0.0) == plain
        # A large negative penalty makes <unk> the best word at every step
        # until the length limit...
        forced = translator.translate(sources, beam_size=beam_size, unk_penalty=-1e3)
        assert all(t.split() and set(t.split()) == {"<unk>"} for t in forced)
        # ...and "never" leaves none, on a single model and an ensemble.
        for decoder in (translator, Ensemble([translator])):
            never = decoder.translate(sources, beam_size=beam_size, unk_penalty=float("inf"))
            assert not any("<unk>" in t for t in never) and all(never)
    with pytest.raises(ValueError, match="penalty"):
        translator.translate("Thank you.", unk_penalty=float("nan"))


def test_shipped_model_writes_no_unk_with_an_infinite_penalty():
    from conftest import REPO_ROOT

    model = REPO_ROOT / "saved_models" / "en-fr"
    if not (model / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    translator = load(str(model))
    # Words the shipped word-piece model has never seen whole: it spells
    # them, and writes no <unk> even without the penalty.
    source = "This territory is uncharted. Kowalski lives in Winnipeg."
    assert translator.config.tokenizer == "wordpiece"
    assert "<unk>" not in translator.translate(source)
    for beam_size in (1, 5):
        never = translator.translate(source, beam_size=beam_size, unk_penalty=float("inf"))
        assert "<unk>" not in never and never.endswith(".")


def test_in_order_runs_at_most_in_flight_calls_and_keeps_the_order():
    from keras_seq2seq.decoder import in_order

    lock, running, most, called = threading.Lock(), [0], [0], []
    both = threading.Barrier(2, timeout=30)  # the first two calls must overlap

    def square(x):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            called.append(x)
        if x < 2:
            both.wait()
        time.sleep(0.01 * (x % 3))
        with lock:
            running[0] -= 1
        return x * x

    assert list(in_order(square, list(range(9)), 2)) == [(x, x * x) for x in range(9)]
    assert most[0] == 2 and sorted(called) == list(range(9))
    # One in flight: plain calls in the caller's thread.
    threads = []
    assert list(in_order(lambda x: threads.append(threading.current_thread()) or x,
                         [1, 2], 1)) == [(1, 1), (2, 2)]
    assert threads == [threading.current_thread()] * 2

    # An error reaches the caller; later items are never started.
    called.clear()

    def fails_at_three(x):
        called.append(x)
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        list(in_order(fails_at_three, list(range(8)), 2))
    assert max(called) <= 4
    for thread in threading.enumerate():  # what was running ends on its own
        if thread.name.startswith("decode"):
            thread.join(timeout=30)
            assert not thread.is_alive()


def test_two_batches_in_flight_translate_as_one_at_a_time(trained_translator):
    translator, _, _ = trained_translator
    sources = [s for s, _ in TINY_PAIRS]
    assert translator.batches_in_flight == 2
    both = translator.translate(sources, batch_size=3, beam_size=2)
    try:
        translator.batches_in_flight = 1
        alone = translator.translate(sources, batch_size=3, beam_size=2)
    finally:
        del translator.batches_in_flight
    assert both == alone
    assert not [t for t in threading.enumerate() if t.name.startswith("decode")]


def test_loading_builds_zeros_that_the_weights_file_then_fills(trained_translator):
    from keras_seq2seq.models import build_training_model
    from keras_seq2seq.models.seq2seq import weights_to_come

    translator, _, directory = trained_translator
    with weights_to_come():
        blank = build_training_model(translator.config)
    assert all(not np.any(w) for w in blank.get_weights())
    drawn = build_training_model(translator.config)
    assert all(np.any(w) for w in drawn.get_weights() if w.ndim == 2)
    loaded = load(directory)
    for a, b in zip(loaded.model.get_weights(), translator.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_graph_is_compiled_ahead_once_while_the_texts_are_split(trained_translator):
    import keras_seq2seq
    from keras_seq2seq.translator import load_translator

    _, _, directory = trained_translator
    fresh = load_translator(directory)
    settings = fresh.settings(None)
    ahead = fresh._compile_ahead(settings, None)
    assert ahead is not None and ahead.daemon
    ahead.join(timeout=300)
    assert not ahead.is_alive()
    # Compiled: the call traced the graph `translate` uses; once per settings.
    graph = fresh._attempt_graph(settings) if settings.protect_names else fresh._graph(settings)
    assert graph.function.experimental_get_tracing_count() == 1
    assert fresh._compile_ahead(settings, None) is None
    sources = [s for s, _ in TINY_PAIRS]
    assert fresh.translate(sources) == keras_seq2seq.load(directory).translate(sources)
    assert graph.function.experimental_get_tracing_count() == 1
    assert not [t for t in threading.enumerate() if t.name == "decode-compile"]


def test_nothing_to_translate_compiles_nothing(trained_translator):
    from keras_seq2seq.translator import load_translator

    _, _, directory = trained_translator
    fresh = load_translator(directory)
    assert fresh.translate([]) == []
    assert not fresh._compiled_ahead
    assert all(graph.function.experimental_get_tracing_count() == 0
               for graph in fresh._graphs.values())
