"""benchmarks/gpu_check.py, the script for a GPU machine, checked on whatever device is here."""

import importlib.util
import pathlib

import pytest

pytestmark = pytest.mark.slow

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_run_reports_the_lstm_kernels_and_a_falling_loss(tmp_path):
    import json

    import tensorflow as tf

    gpu_check = _script()
    out = tmp_path / "gpu_check.json"
    gpu_check.main(["--smoke", "--rounds", "1", "--train-epochs", "3", "--out", str(out)])
    results = json.loads(out.read_text())
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    for preset in ("cpu", "sutskever2014"):
        row = results["presets"][preset]
        # cuDNN kernels on a GPU, Keras' While loop of matrix products on a CPU.
        assert bool(row["cudnn_ops"]) == on_gpu
        assert row["while_loops"] != on_gpu
        assert all(rate > 0 for rate in row["target_tokens_per_second"].values())
    assert results["short_training"]["loss_fell"]
