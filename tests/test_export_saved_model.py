"""SavedModel export for TF Serving, checked in processes that know only TensorFlow."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from conftest import TINY_PAIRS, shipped_model_and_validation
from keras_seq2seq.cli import main
from keras_seq2seq.export import ExportError, export_saved_model, next_version

# Runs in a fresh interpreter: tensorflow only, no project code, no tensorflow_text.
PLAIN_TF_SCRIPT = r"""
import json, sys
import tensorflow as tf
assert "keras_seq2seq" not in sys.modules and "tensorflow_text" not in sys.modules
model = tf.saved_model.load(sys.argv[1])
texts = json.loads(sys.argv[2])
out = model.signatures["serving_default"](text=tf.constant(texts))
encoded = model.signatures["encode"](encoder_tokens=tf.constant([[5, 6, 7], [8, 0, 0]]))
step = model.signatures["decode_step"](token=tf.constant([2, 2]), **encoded)
print(json.dumps({
    "signatures": sorted(model.signatures),
    "translations": [t.decode("utf-8") for t in out["translation"].numpy()],
    "scores": out["score"].numpy().tolist(),
    "encode": sorted(encoded),
    "decode_step": {k: list(v.shape) for k, v in step.items()},
    "modules": sorted(m for m in sys.modules if m.startswith(("keras_seq2seq", "tensorflow_text"))),
}))
"""


def _run_plain_tf(directory, texts):
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_TF_SCRIPT, directory, json.dumps(texts)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def exported(trained_translator, tmp_path_factory):
    translator, _, _ = trained_translator
    base = tmp_path_factory.mktemp("serving")
    return translator, export_saved_model(translator, str(base), name="tiny"), str(base)


def test_layout_versions_and_warmup(exported):
    translator, directory, base = exported
    assert directory == os.path.join(base, "tiny", "1")
    assert os.path.isfile(os.path.join(directory, "saved_model.pb"))
    warmup = os.path.join(directory, "assets.extra", "tf_serving_warmup_requests")
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(tf.data.TFRecordDataset(warmup).as_numpy_iterator())
    assert len(records) == 1
    log = prediction_log_pb2.PredictionLog.FromString(records[0])
    assert log.predict_log.request.model_spec.signature_name == "serving_default"
    assert len(tf.make_ndarray(log.predict_log.request.inputs["text"])) == 3
    assert next_version(os.path.join(base, "tiny")) == 2
    second = export_saved_model(translator, base, name="tiny")
    assert second.endswith(os.path.join("tiny", "2"))
    with pytest.raises(ExportError, match="already exists"):
        export_saved_model(translator, base, name="tiny", version=1)
    assert not [d for d in os.listdir(os.path.join(base, "tiny")) if d.startswith(".")]


def test_every_signature_runs_with_plain_tensorflow(exported):
    translator, directory, _ = exported
    sources = [s for s, _ in TINY_PAIRS]
    result = _run_plain_tf(directory, sources)
    assert result["signatures"] == ["decode_step", "encode", "serving_default"]
    assert result["modules"] == []
    assert result["translations"] == translator.translate(sources)
    assert result["encode"] == ["state_0_0", "state_0_1"]
    vocab = translator.target_tokenizer.vocabulary_size
    assert result["decode_step"] == {"logits": [2, vocab], "state_0_0": [2, 64],
                                     "state_0_1": [2, 64]}


def test_serving_signature_survives_any_string(exported):
    translator, directory, _ = exported
    nasty = ["", "   ", "😀" * 50, "a\x00b\x1b[0m", "Nice " * 5000, "\ufeff", "Thank you."]
    result = _run_plain_tf(directory, nasty)
    assert len(result["translations"]) == len(nasty)
    assert result["translations"][:2] == ["", ""]
    assert result["translations"][-1] == translator.translate("Thank you.")
    limit = translator.decoding.max_output_tokens
    assert all(len(t.split()) <= limit for t in result["translations"])
    model = tf.saved_model.load(directory)
    out = model.signatures["serving_default"](text=tf.constant([b"\xff\xfe", b"ok \xc3"]))
    assert out["translation"].shape == (2,)


# Slow: the tiny all-paths parity test exports beam 5 by default; attention exports:
# test_copy_attention, test_export_tflite
@pytest.mark.slow
def test_beam_export_and_attention_model(tmp_path):
    from conftest import tiny_config
    from keras_seq2seq.training import TrainingConfig, train

    translator, _ = train(
        TrainingConfig.create(str(tmp_path / "m"), tiny_config(attention="luong"), epochs=3),
        train_pairs=TINY_PAIRS, verbose=0)
    directory = export_saved_model(translator, str(tmp_path / "serving"), beam_size=3)
    result = _run_plain_tf(directory, ["Thank you.", "I am cold."])
    assert result["translations"] == translator.translate(["Thank you.", "I am cold."],
                                                          beam_size=3)
    # The <unk> penalty is baked into serving_default (-50: <unk> everywhere).
    directory = export_saved_model(translator, str(tmp_path / "serving"), beam_size=3,
                                   unk_penalty=-50.0)
    result = _run_plain_tf(directory, ["Thank you."])
    assert result["translations"] == translator.translate(["Thank you."], beam_size=3,
                                                          unk_penalty=-50.0)
    assert "<unk>" in result["translations"][0]
    assert result["encode"] == ["attention_keys", "encoder_outputs", "source_mask",
                                "state_0_0", "state_0_1"]


def test_export_errors(exported, tmp_path):
    translator, _, _ = exported
    with pytest.raises(ExportError, match="Invalid model name"):
        export_saved_model(translator, str(tmp_path), name="a/b")
    from keras_seq2seq.translator import Ensemble

    with pytest.raises(ExportError, match="single Translator"):
        export_saved_model(Ensemble([translator]), str(tmp_path))


def test_export_cli(trained_translator, tmp_path, capsys):
    _, _, directory = trained_translator
    assert main(["export", "--model", directory, "--out", str(tmp_path), "--name", "m"]) == 0
    assert "saved_model_cli show" in capsys.readouterr().out
    assert (tmp_path / "m" / "1" / "saved_model.pb").exists()


@pytest.mark.slow
def test_shipped_model_saved_model_parity_on_200_real_sentences(tmp_path):
    """(Slow: the default run has the tiny model's all-paths parity test,
    tests/test_parity.py, and `-m slow` the shipped model's on every path.)"""
    translator, validation = shipped_model_and_validation(200)
    sources = [s for s, _ in validation]
    directory = export_saved_model(translator, str(tmp_path), name="en-fr")
    result = _run_plain_tf(directory, sources)
    assert result["translations"] == translator.translate(sources)
