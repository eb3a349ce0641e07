"""One behaviour everywhere: every entry point translates with the model's
stored decoding settings, so they all give the same output.

The paths: the `translate` CLI, `evaluate`'s hypotheses, a SavedModel
exported with default flags (run in a plain TensorFlow process),
`Seq2SeqTranslator.generate()`, `Translator.translate()`, a `.keras` file
reloaded in a fresh process that imports only `keras` and `keras_seq2seq`,
and the LiteRT runners. The tiny model's version runs by default; the
shipped model's, on 200 real sentences, is behind `slow`.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO_ROOT, TINY_PAIRS, require_data

# A plain TensorFlow process: only tensorflow (and tensorflow_text's ops,
# which core-op graphs do not need) is imported.
SAVED_MODEL_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    texts = json.load(open(sys.argv[2], encoding="utf-8"))
    serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    out = []
    for start in range(0, len(texts), 64):
        result = serve(text=tf.constant(texts[start:start + 64]))
        out += [t.decode("utf-8") for t in result["translation"].numpy()]
    print(json.dumps(out))
""")
# A fresh process that imports only keras and keras_seq2seq, then loads a
# .keras file the Keras way.
KERAS_FILE_SCRIPT = textwrap.dedent("""
    import json, sys
    import keras
    import keras_seq2seq
    texts = json.load(open(sys.argv[2], encoding="utf-8"))
    task = keras.saving.load_model(sys.argv[1])
    print(json.dumps(task.generate(texts)))
""")


def _run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run([sys.executable, "-c", script, *map(str, args)],
                            capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _all_paths(model_dir, texts, tmp_path, capsys, tflite_dirs=()):
    """{path name: translations} of `texts` by every entry point."""
    from keras_seq2seq import Seq2SeqTranslator, load
    from keras_seq2seq.cli import main

    inputs = tmp_path / "texts.txt"
    inputs.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    texts_json = tmp_path / "texts.json"
    texts_json.write_text(json.dumps(texts), encoding="utf-8")
    outputs = {}

    assert main(["translate", "--model", str(model_dir), "--input", str(inputs)]) == 0
    outputs["translate CLI"] = capsys.readouterr().out.splitlines()

    hypotheses = tmp_path / "hypotheses.txt"
    assert main(["evaluate", "--model", str(model_dir), "--source", str(inputs),
                 "--reference", str(inputs), "--hypotheses", str(hypotheses), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    outputs["evaluate"] = hypotheses.read_text(encoding="utf-8").splitlines()

    translator = load(str(model_dir))
    assert report["decoding"] == translator.settings().to_dict()
    outputs["Translator.translate"] = translator.translate(texts)

    task = Seq2SeqTranslator.from_preset(str(model_dir))
    outputs["generate"] = task.generate(texts)

    keras_file = tmp_path / "model.keras"
    task.save(str(keras_file))
    outputs[".keras in a fresh process"] = _run(KERAS_FILE_SCRIPT, keras_file, texts_json)

    base = tmp_path / "serving"
    assert main(["export", "--model", str(model_dir), "--out", str(base), "--name", "m"]) == 0
    capsys.readouterr()
    outputs["SavedModel"] = _run(SAVED_MODEL_SCRIPT, base / "m" / "1", texts_json)

    for name, directory in tflite_dirs:
        assert main(["translate", "--model", str(directory), "--input", str(inputs)]) == 0
        outputs[name] = capsys.readouterr().out.splitlines()
    return outputs


def test_every_entry_point_translates_alike_tiny_model(trained_translator, tmp_path, capsys):
    from keras_seq2seq.cli import main

    translator, _, directory = trained_translator
    assert translator.decoding.beam_size == 5  # the stored default, not greedy
    texts = [s for s, _ in TINY_PAIRS] + [
        "I am cold. Thank you.", "Where are you? I love cats!", "Nice to meet you here.",
        "Come here, we are late.", "He is hungry.",
    ]
    lite = tmp_path / "lite"
    assert main(["export", "--model", directory, "--format", "tflite", "--out", str(lite)]) == 0
    capsys.readouterr()
    outputs = _all_paths(directory, texts, tmp_path, capsys, [("LiteRT float", lite)])
    reference = outputs["Translator.translate"]
    assert len(reference) == len(texts)
    # Beam 5, the model's stored setting, is what every path ran: greedy
    # differs from it on some of these sentences.
    for name, out in outputs.items():
        assert out == reference, name


@pytest.mark.slow
def test_every_entry_point_translates_alike_shipped_model(tmp_path, capsys):
    """200 unseen Multi30k sentences, the shipped model, default settings."""
    import gzip

    from keras_seq2seq import load
    from keras_seq2seq.cli import main
    from keras_seq2seq.evaluation import corpus_bleu

    source, target = require_data("multi30k/val.en.gz", "multi30k/val.fr.gz")
    model_dir = REPO_ROOT / "saved_models" / "en-fr"
    with gzip.open(source, "rt", encoding="utf-8") as f:
        texts = [line.rstrip("\n") for _, line in zip(range(200), f)]
    with gzip.open(target, "rt", encoding="utf-8") as f:
        references = [line.rstrip("\n") for _, line in zip(range(200), f)]
    float_lite = tmp_path / "float"
    assert main(["export", "--model", str(model_dir), "--format", "tflite",
                 "--out", str(float_lite)]) == 0
    capsys.readouterr()
    outputs = _all_paths(model_dir, texts, tmp_path, capsys,
                         [("LiteRT float", float_lite), ("LiteRT int8", model_dir / "tflite")])
    reference = outputs["Translator.translate"]
    for name in ("translate CLI", "evaluate", "generate", ".keras in a fresh process",
                 "SavedModel"):
        assert outputs[name] == reference, name

    # Float LiteRT: at least 99% identical, every difference a near tie
    # (the Keras model's output is in the runner's own 5-best list within
    # 1e-3 of its best score: kernels round differently).
    lite = load(str(float_lite))
    differing = [i for i, (a, b) in enumerate(zip(outputs["LiteRT float"], reference)) if a != b]
    assert len(differing) <= 2, differing
    for i in differing:
        hypotheses = lite.translate(texts[i], n_best=5, protect_names=False,
                                    split_sentences=False)
        keras_best = load(str(model_dir)).translate(texts[i], protect_names=False,
                                                    split_sentences=False)
        scores = dict(hypotheses)
        assert keras_best in scores, (texts[i], keras_best, hypotheses)
        assert hypotheses[0][1] - scores[keras_best] < 1e-3, (texts[i], hypotheses)

    # int8 LiteRT (the shipped export): within 1 BLEU of the Keras model.
    keras_bleu = corpus_bleu(reference, references).score
    int8_bleu = corpus_bleu(outputs["LiteRT int8"], references).score
    assert abs(keras_bleu - int8_bleu) < 1.0, (keras_bleu, int8_bleu)


def test_shipped_model_gives_its_cards_examples_with_its_stored_settings():
    """The table in saved_models/en-fr/README.md, translated with the
    settings stored in the model directory (no keyword)."""
    card = REPO_ROOT / "saved_models" / "en-fr" / "README.md"
    if not card.exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    from keras_seq2seq import load

    text = card.read_text(encoding="utf-8")
    table = text[text.index("| input | output |"):].split("\n\n")[0].splitlines()[2:]
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table]
    assert len(rows) >= 5
    translator = load("en-fr")
    assert translator.translate([source for source, _ in rows]) == [out for _, out in rows]
