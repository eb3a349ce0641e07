"""The tutorials run, at reduced size, and show what they promise."""

import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT


def run_tutorial(name, tmp_path, quick=True, timeout=600, **env):
    """Run tutorials/<name> in a fresh process; return its stdout."""
    env = dict(os.environ, TUTORIAL_OUT=str(tmp_path), **env)
    if quick:
        env["TUTORIAL_QUICK"] = "1"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tutorials" / name)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.docs_examples
def test_tutorial_01_walkthrough(tmp_path):
    out = run_tutorial("01_seq2seq_walkthrough.py", tmp_path)
    assert "encoder input (reversed source): ['you', 'meet', 'to', 'nice']" in out
    assert "   0 |        <start> |         ravi" in out
    assert "   4 |     rencontrer |        <end>" in out
    assert "step by step: ravi de vous rencontrer" in out
    assert "translate():   ravi de vous rencontrer" in out
    young = [line for line in out.splitlines() if line.startswith("after 5 epochs:")]
    assert young and "ravi de vous rencontrer" not in young[0]
    assert (tmp_path / "01_training_curve.png").stat().st_size > 1000


@pytest.mark.docs_examples
def test_tutorial_05_image_captioning(tmp_path):
    import pytest

    pytest.importorskip("sklearn")
    out = run_tutorial("05_image_captioning.py", tmp_path)
    assert "digit images in both training and test: 0" in out
    assert "= initial h and c of the decoder LSTM" in out
    assert "'decoder_embedding', 'decoder_rnn_0'" in out
    assert "exact match on 50 test canvases (greedy):" in out
    assert "same as Keras:  True" in out
    for name in ("05_training_curve.png", "05_captions.png"):
        assert (tmp_path / name).stat().st_size > 1000


# The two longest tutorials run with `-m slow` (with the trainings), so the
# default run stays under 10 minutes on two cores.
@pytest.mark.slow
def test_tutorial_04_deployment(tmp_path):
    out = run_tutorial("04_deployment.py", tmp_path, quick=False)
    lines = {line.split(":")[0].strip(): line.split(":", 1)[1].strip()
             for line in out.splitlines() if ":" in line}
    # The SavedModel and the REST server give exactly the Keras translations.
    assert lines["Keras"] == lines["SavedModel"] == lines["REST"]
    assert "gare" in lines["Keras"]
    assert lines["TFLite"].startswith("[")
    assert (tmp_path / "04_serving" / "en-fr" / "1" / "saved_model.pb").exists()
    size = float(lines["TFLite int8"].split()[0])
    assert size < 0.3 * float(lines["TFLite int8"].split("float32 weights")[1].split()[0])


# Also behind the slow marker (19 s): training on real Tatoeba pairs is in
# the default run through test_training.py's real-corpus test.
@pytest.mark.slow
def test_tutorial_02_tatoeba(tmp_path):
    from conftest import DATA_DIR, require_data

    require_data("tatoeba/eng-fra.tsv.gz")
    out = run_tutorial("02_english_french_tatoeba.py", tmp_path,
                       KERAS_SEQ2SEQ_DATA=str(DATA_DIR))
    bleu = [float(line.split("BLEU ")[1].split(",")[0]) for line in out.splitlines()
            if line.startswith("beam ")]
    assert len(bleu) == 2 and all(0.0 <= b <= 100.0 for b in bleu)
    assert "nrefs:1|case:mixed|eff:no|tok:13a" in out
    assert "attention rows sum to 1: True" in out
    for name in ("02_training_curves.png", "02_attention.png"):
        assert (tmp_path / name).stat().st_size > 1000


@pytest.mark.slow
def test_tutorial_03_sutskever_recipe(tmp_path):
    from conftest import DATA_DIR, require_data

    require_data("multi30k/train.de.gz", "multi30k/test_2016_flickr.en.gz")
    out = run_tutorial("03_sutskever_recipe.py", tmp_path, timeout=900,
                       KERAS_SEQ2SEQ_DATA=str(DATA_DIR))
    assert "reverse_source=False: encoder reads ['ein', 'hund', 'läuft']" in out
    assert "reverse_source=True: encoder reads ['läuft', 'hund', 'ein']" in out
    rows = [line for line in out.splitlines() if line.startswith(("1 layer", "2 layers"))
            and "done" not in line]
    assert len(rows) == 3
    assert "reversal effect (greedy BLEU, reversed - as is):" in out
