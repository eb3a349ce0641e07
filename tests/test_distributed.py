"""tf.distribute: mirrored training with fit; two multi-worker processes on localhost."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, TINY_PAIRS, tiny_config, write_tsv
from keras_seq2seq import load
from keras_seq2seq.training import TrainingConfig, train
from keras_seq2seq.training.distributed import is_chief, make_strategy


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_mirrored_strategy_trains_with_fit(tmp_path):
    translator, history = train(
        TrainingConfig.create(str(tmp_path / "run"), tiny_config(), epochs=2, strategy="mirrored",
                              bleu_sample=0),
        train_pairs=TINY_PAIRS, verbose=0)
    assert translator.metadata["strategy"] == "MirroredStrategy"
    assert len(history.history["loss"]) == 2
    assert load(str(tmp_path / "run")).translate("Thank you.") == translator.translate(
        "Thank you.")


def test_strategy_errors():
    with pytest.raises(ValueError, match="strategy must be one of"):
        make_strategy("tpu_pod")
    env = os.environ.pop("TF_CONFIG", None)
    try:
        with pytest.raises(ValueError, match="needs TF_CONFIG"):
            make_strategy("multi_worker")
    finally:
        if env is not None:
            os.environ["TF_CONFIG"] = env
    assert is_chief(make_strategy("default"))


def test_two_workers_on_localhost_end_with_identical_weights(tmp_path):
    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 3)
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    # A script per worker: train with the CLI, then dump the weights the
    # worker ends with (the non-chief writes no file of its own).
    script = tmp_path / "worker.py"
    script.write_text(
        "import json, os, sys\n"
        "import numpy as np\n"
        "from keras_seq2seq.training.distributed import make_strategy\n"
        "strategy = make_strategy('multi_worker')\n"
        "sys.path.insert(0, os.environ['TESTS_DIR'])\n"
        "from conftest import tiny_config\n"
        "from keras_seq2seq.data import read_tsv_pairs\n"
        "from keras_seq2seq.training import TrainingConfig, train\n"
        "config = TrainingConfig.create(sys.argv[2], tiny_config(), epochs=2, batch_size=4,\n"
        "                               backup=False, bleu_sample=0)\n"
        "translator, history = train(config, train_pairs=read_tsv_pairs(sys.argv[1]),\n"
        "                            verbose=0, strategy=strategy)\n"
        "np.savez(sys.argv[3], *translator.model.get_weights())\n"
        "print(json.dumps(history.history))\n"
    )
    processes = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TESTS_DIR=str(REPO_ROOT / "tests"),
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, str(script), pairs, str(tmp_path / f"out{index}"),
             str(tmp_path / f"weights{index}.npz")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    outputs = [p.communicate(timeout=400) for p in processes]
    for p, (_, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-3000:]
    weights = [np.load(tmp_path / f"weights{i}.npz") for i in range(2)]
    assert len(weights[0].files) == len(weights[1].files) > 0
    for name in weights[0].files:
        np.testing.assert_allclose(weights[0][name], weights[1][name], rtol=0, atol=1e-6)
    histories = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert histories[0]["loss"] == histories[1]["loss"] and len(histories[0]["loss"]) == 2
    assert histories[0]["loss"][1] < histories[0]["loss"][0]
    # Only the chief (worker 0) wrote checkpoints and the model.
    assert sorted(os.listdir(tmp_path / "out0" / "checkpoints")) == [
        "epoch_001.weights.h5", "epoch_002.weights.h5"]
    assert (tmp_path / "out0" / "config.json").exists()
    assert not (tmp_path / "out1").exists()
    # The chief's model is the trained one.
    chief = load(str(tmp_path / "out0"))
    for saved, trained in zip(chief.model.get_weights(), weights[0].values()):
        np.testing.assert_allclose(saved, trained, atol=1e-6)
