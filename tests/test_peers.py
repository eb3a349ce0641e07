"""benchmarks/peers: the clock schedule and the race's plot and table, on
fake numbers in a temporary directory (no peer environment, no model)."""

import importlib.util
import json
import pathlib

import pytest

PEERS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "peers"


def _module(name):
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clock_schedule_and_file(tmp_path):
    clock = _module("clock")
    assert clock.parse_minutes("20,40,60") == (20.0, 40.0, 60.0)
    with pytest.raises(ValueError):
        clock.parse_minutes("40,20")
    assert [clock.minute_tag(m) for m in (20, 0.5, 1.5)] == ["min020", "min000.5", "min001.5"]
    schedule = clock.Clock((20, 40, 60))
    assert schedule.due(1199) == [] and schedule.due(2500) == [20, 40]
    assert schedule.due(3600) == [60] and schedule.finished
    clock.add_checkpoint(str(tmp_path), 20, 1200.04, 3000, tmp_path / "a.pt")
    assert clock.read_clock(str(tmp_path))["checkpoints"][0]["step"] == 3000


def test_checkpoints_after_given_steps_stop_training(tmp_path):
    import keras
    import numpy as np

    clock = _module("clock")
    assert clock.parse_steps("300,600") == (300, 600)
    with pytest.raises(ValueError):
        clock.parse_steps("600,300")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 1), "float32")
    callback = clock.keras_callback(str(tmp_path), steps=(3, 7))
    history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[callback])
    info = clock.read_clock(str(tmp_path))
    assert info["steps"] == [3, 7] and "minutes" not in info
    assert [c["step"] for c in info["checkpoints"]] == [3, 7]
    assert all(pathlib.Path(c["path"]).exists() for c in info["checkpoints"])
    assert len(history.history["loss"]) == 1  # stopped in the first epoch, at step 7


def test_uniform_init_ablation_sets_every_weight_in_range():
    import keras
    import numpy as np

    ours_train = _module("ours_train")
    model = keras.Sequential([keras.Input((3, 4)), keras.layers.LSTM(8),
                              keras.layers.Dense(2)])
    callback = ours_train.uniform_init(0.1, seed=0)
    callback.set_model(model)
    callback.on_train_begin()
    values = np.concatenate([w.numpy().ravel() for w in model.trainable_weights])
    # Every weight, biases too (Keras starts them at 0, the forget gate's at 1).
    assert values.size == model.count_params() and np.abs(values).max() <= 0.1
    assert np.abs(values).min() > 0 and values.std() > 0.05


def test_plot_and_table_on_fake_numbers(tmp_path):
    plot = _module("plot")
    rows = [{"system": system, "run": f"{system}-{seed}", "minute": minute, "set": name,
             "search": search, "bleu": bleu + minute / 10 + seed, "chrf": 50.0}
            for system, bleu in (("ours", 30.0), ("onmt-lstm", 31.0))
            for seed in ((0, 1) if system == "ours" else (0,))
            for minute in (20, 40, 60)
            for name in ("tatoeba_valid", "multi30k_val")
            for search in ("greedy", "beam5")]
    results = tmp_path / "peers.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = plot.plot(plot.read_rows(results), tmp_path / "peers.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = plot.table(plot.read_rows(results), "beam5")
    assert "| ours | Tatoeba validation (16,357) | 32.50 / 50.0 (2 runs) | 34.50" in text
    assert "| onmt-lstm | Multi30k val (1,014) | 33.00 / 50.0 |" in text


def test_collect_counts_sentences_of_batches_by_tokens(tmp_path):
    clock, collect = _module("clock"), _module("collect")
    run = tmp_path / "onmt-transformer"
    run.mkdir()
    clock.update_clock(str(run), system="onmt-transformer")
    clock.add_checkpoint(str(run), 60, 100.0, 200, run / "model_step_200.pt")
    (run / "config.yaml").write_text("batch_size: 4096\nbatch_type: tokens\n")
    # Two reports of 100 steps each: 30,000 and 34,000 sentences since the last.
    (run / "train.log").write_text(
        "[x INFO] * number of parameters: 7569728\n"
        "[x INFO] Step 100/10000000; acc: 3.5; sents:   30000; bsz: 2805/3486/300; 10 sec;\n"
        "[x INFO] Step 200/10000000; acc: 8.6; sents:   34000; bsz: 2947/3726/340; 20 sec;\n")
    row = collect.collect(str(run))
    assert row["batch_sentences"] == 320.0 and row["parameters"] == 7569728
    assert row["sentences_per_s"] == 640.0 and row["steps_per_s"] == 2.0
    # Batches in sentences are read from the config, not from the log.
    (run / "config.yaml").write_text("batch_size: 128\nbatch_type: sents\n")
    assert collect.collect(str(run))["batch_sentences"] == 128


def test_collect_reads_the_keras_hub_runs_setup(tmp_path):
    clock, collect = _module("clock"), _module("collect")
    run = tmp_path / "kerashub"
    run.mkdir()
    clock.update_clock(str(run), system="kerashub")
    clock.add_checkpoint(str(run), 60, 100.0, 50, run / "clock" / "min060.weights.h5")
    versions = {"keras": "3.15.1", "keras-hub": "0.32.0"}
    (run / "setup.json").write_text(json.dumps(
        {"vocabulary_seconds": 12.5, "parameters": 1234, "versions": versions}))
    row = collect.collect(str(run))
    assert row["versions"] == versions and row["parameters"] == 1234
    assert row["setup_seconds"]["vocabulary_seconds"] == 12.5
    assert row["sentences_per_s"] == 32.0  # 50 steps of 64 sentences in 100 s
