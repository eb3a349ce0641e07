"""Seq2SeqTranslator, the keras-hub task: generate, fit on strings, `.keras`
files and presets, each read back in a fresh process."""

import json
import subprocess
import sys

import keras
import keras_hub
import pytest

from conftest import REPO_ROOT, TINY_PAIRS
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.task import Seq2SeqTranslator, translator_task
from keras_seq2seq.settings import DecodingConfig

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
    # The model's own settings, as the translator's: no default of the task's.
    assert task.decoding == translator.decoding
    assert task.generate(SOURCES) == translator.translate(SOURCES)
    assert task.generate(SOURCES, beam_size=1) == translator.translate(SOURCES, beam_size=1)
    greedy = DecodingConfig(beam_size=1)
    assert task.generate(SOURCES[:4], greedy) == translator.translate(SOURCES[:4], greedy)
    assert (task.generate("Thank you.", beam_size=1)
            == translator.translate("Thank you.", beam_size=1))


def test_decoding_settings_are_the_tasks_and_travel_with_it(trained_translator):
    translator, _, _ = trained_translator
    task = translator_task(translator, decoding={"beam_size": 2, "max_output_tokens": 7})
    assert task.decoding == translator.decoding.replace(beam_size=2, max_output_tokens=7)
    assert task.translator() is not translator and task.translator().decoding == task.decoding
    config = task.get_config()["decoding"]
    assert config == task.decoding.to_dict() and set(config) == set(DecodingConfig().to_dict())
    revived = Seq2SeqTranslator.from_config(task.get_config())
    assert revived.decoding == task.decoding
    assert Seq2SeqTranslator(task.backbone).decoding == DecodingConfig()  # beam 5


def test_keras_file_and_preset_round_trips_in_a_fresh_process(task, tmp_path):
    path, preset = tmp_path / "tiny.keras", tmp_path / "preset"
    task.save(str(path))
    task.save_to_preset(str(preset))
    expected = [task.generate(SOURCES, beam_size=1), task.generate(SOURCES, beam_size=1)]
    # `import keras_seq2seq` alone (no class named) makes the file loadable,
    # imported before Keras or after it; the classes are imported on load.
    for imports in ("import keras_seq2seq, json, sys\n"
                    "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
                    "import keras\n",
                    "import json, keras\nimport keras_seq2seq\n"):
        got = _fresh_process(
            imports +
            f"task = keras.saving.load_model({str(path)!r})\n"
            f"preset = keras_seq2seq.Seq2SeqTranslator.from_preset({str(preset)!r})\n"
            f"print(json.dumps([type(task).__name__, task.generate({SOURCES!r}, beam_size=1), "
            f"preset.generate({SOURCES!r}, beam_size=1)]))")
        assert got == ["Seq2SeqTranslator", *expected], imports
    # The decoding settings are the task's; the vocabulary rule the preprocessor's.
    loaded = keras.saving.load_model(str(path))
    assert loaded.decoding == task.decoding and task.decoding.max_output_tokens > 0
    assert loaded.config() == task.config()
    assert task.config().min_frequency == task.translator().config.min_frequency
    fresh = Seq2SeqTranslator.from_preset(str(preset), load_weights=False)
    assert fresh.generate(SOURCES, beam_size=1) != expected[0]  # untrained weights


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
    if not (REPO_ROOT / "saved_models" / "en-fr" / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    task = Seq2SeqTranslator.from_preset("en-fr")  # by name, as keras-hub's presets
    sentences = ["Nice to meet you.", "Hello. How are you?"]
    assert task.generate(sentences) == load(shipped).translate(sentences)
    assert task.backbone.get_weights()[0].tolist() == (
        Seq2SeqTranslator.from_preset(shipped).backbone.get_weights()[0].tolist())  # a path


def test_clear_errors(task, tmp_path):
    from keras_seq2seq.model_directory import ModelDirectoryError

    with pytest.raises(ModelDirectoryError, match="not a keras-seq2seq model directory"):
        Seq2SeqTranslator.from_preset(str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"Unknown preset 'en-xx'.*en-fr"):
        Seq2SeqTranslator.from_preset("en-xx")
    bare = Seq2SeqTranslator(task.backbone)
    with pytest.raises(ValueError, match="no preprocessor"):
        bare.generate("Hello.")


def test_importing_the_package_registers_stand_ins_that_the_classes_replace():
    """The registry holds a stand-in per class until its module is imported
    (checked in a fresh process: this one has imported them)."""
    got = _fresh_process(
        "import json, sys\n"
        "import keras_seq2seq\n"
        "import keras\n"
        "registry = keras.saving.get_custom_objects()\n"
        "names = ['keras_seq2seq>' + n for n in keras_seq2seq.KERAS_CLASSES]\n"
        "before = [registry[n].__name__ + ('*' if 'stand-in' in repr(registry[n]) else '')\n"
        "          for n in names]\n"
        "light = 'keras_seq2seq.models.task' not in sys.modules\n"
        "from keras_seq2seq.models.task import Seq2SeqTranslator\n"
        "import keras_seq2seq.models.seq2seq as s, keras_seq2seq.models.preprocessor as p\n"
        "import keras_seq2seq.training.losses as losses\n"
        "after = [registry[n] is c for n, c in zip(names, [s.Seq2SeqBackbone,\n"
        "         p.Seq2SeqPreprocessor, Seq2SeqTranslator, losses.TokenCrossEntropy])]\n"
        "print(json.dumps([before, light, after]))")
    assert got == [["Seq2SeqBackbone*", "Seq2SeqPreprocessor*", "Seq2SeqTranslator*",
                    "TokenCrossEntropy*"], True, [True] * 4]
