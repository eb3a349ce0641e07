"""Seq2SeqTranslator, the keras-hub task: generate, fit on strings, `.keras`
files and presets, each read back in a fresh process."""

import json
import subprocess
import sys

import keras
import keras_hub
import pytest

from conftest import REPO_ROOT, TINY_PAIRS
from keras_seq2seq.models.task import Seq2SeqTranslator, translator_task

SOURCES = [s for s, _ in TINY_PAIRS]


def _fresh_process(code):
    """Run `code` in a new Python; it prints a JSON value, returned here."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=str(REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def task(trained_translator):
    translator, _, _ = trained_translator
    return translator_task(translator)


def test_task_is_a_keras_hub_seq2seq_lm_that_generates_as_the_translator(task,
                                                                         trained_translator):
    translator, _, _ = trained_translator
    assert isinstance(task, keras_hub.models.Seq2SeqLM)
    assert task.backbone is translator.model
    assert task.generate(SOURCES, beam_size=1) == translator.translate(SOURCES)
    assert task.generate(SOURCES[:4]) == translator.translate(SOURCES[:4], beam_size=5)
    assert task.generate("Thank you.", beam_size=1) == translator.translate("Thank you.")


def test_keras_file_and_preset_round_trips_in_a_fresh_process(task, tmp_path):
    path, preset = tmp_path / "tiny.keras", tmp_path / "preset"
    task.save(str(path))
    task.save_to_preset(str(preset))
    expected = [task.generate(SOURCES, beam_size=3), task.generate(SOURCES)]
    got = _fresh_process(
        "import json, keras\n"
        "from keras_seq2seq import Seq2SeqTranslator  # registers the classes\n"
        f"task = keras.saving.load_model({str(path)!r})\n"
        f"preset = Seq2SeqTranslator.from_preset({str(preset)!r})\n"
        f"print(json.dumps([type(task).__name__, task.generate({SOURCES!r}, beam_size=3), "
        f"preset.generate({SOURCES!r})]))")
    assert got == ["Seq2SeqTranslator", *expected]
    # The decoding limits are the task's; the vocabulary rule the preprocessor's.
    loaded = keras.saving.load_model(str(path))
    assert loaded.decoding == task.decoding and task.decoding["max_output_tokens"] > 0
    assert loaded.config() == task.config()
    assert task.config().min_frequency == task.translator().config.min_frequency
    fresh = Seq2SeqTranslator.from_preset(str(preset), load_weights=False)
    assert fresh.generate(SOURCES) != expected[1]  # untrained weights


def test_fit_on_raw_string_pairs(trained_translator, tmp_path):
    from keras_seq2seq import load

    _, _, directory = trained_translator
    task = translator_task(load(directory))  # a copy: the shared model stays as it is
    before = task.evaluate(x=SOURCES, y=[t for _, t in TINY_PAIRS], batch_size=4,
                           verbose=0, return_dict=True)["loss"]
    task.compile(optimizer=keras.optimizers.SGD(0.5))  # the optimizer is the user's
    task.fit(x=SOURCES * 4, y=[t for _, t in TINY_PAIRS] * 4, batch_size=4, epochs=2, verbose=0)
    after = task.evaluate(x=SOURCES, y=[t for _, t in TINY_PAIRS], batch_size=4,
                          verbose=0, return_dict=True)["loss"]
    assert after < before


def test_shipped_model_is_a_preset():
    from keras_seq2seq import load

    shipped = str(REPO_ROOT / "saved_models" / "en-fr")
    task = Seq2SeqTranslator.from_preset(shipped)
    sentences = ["Nice to meet you.", "Hello. How are you?"]
    assert task.generate(sentences) == load(shipped).translate(sentences, beam_size=5)


def test_clear_errors(task, tmp_path):
    from keras_seq2seq.translator import ModelDirectoryError

    with pytest.raises(ModelDirectoryError, match="not a keras-seq2seq model directory"):
        Seq2SeqTranslator.from_preset(str(tmp_path))
    bare = Seq2SeqTranslator(task.backbone)
    with pytest.raises(ValueError, match="no preprocessor"):
        bare.generate("Hello.")
