"""Image captioning: data, images, model, training, decoding, exports, CLI."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq import load
from keras_seq2seq.captioning import (
    CaptionCorpus,
    CaptionerConfig,
    ImageError,
    build_captioning_models,
    load_captioner,
    load_image,
    read_coco,
    read_flickr8k,
    read_image_list,
    train_captioner,
)
from keras_seq2seq.captioning.config import CaptionerTrainingConfig
from keras_seq2seq.captioning.model import build_context_model
from keras_seq2seq.cli import main
from keras_seq2seq.data import CorpusError
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.model_directory import ModelDirectoryError
from keras_seq2seq.models.seq2seq import build_decoder_step_model
from keras_seq2seq.translator import load_translator

digits = pytest.importorskip("keras_seq2seq.captioning.digits")
pytest.importorskip("sklearn")


def small_config(**overrides):
    values = dict(backbone="small_cnn", image_height=16, image_width=48, pooling="flatten",
                  cnn_filters=(8, 16), units=32, embedding_dim=16, max_target_length=12)
    values.update(overrides)
    return CaptionerConfig(**values)


def png(array):
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    return tf.io.encode_png(tf.constant(array)).numpy()


@pytest.fixture(scope="module")
def digit_corpora():
    return _small_digit_corpora()


def _small_digit_corpora():
    images, labels = digits.load_sklearn_digits()
    pools = digits.split_digit_images(len(images), seed=0)
    return tuple(
        digits.make_canvases(images, labels, pool, n, height=16, width=48, max_digits=2,
                             sizes=(10, 14), seed=i)
        for i, (pool, n) in enumerate(zip(pools, (1500, 100, 60)))
    )


@pytest.fixture(scope="module")
def trained_captioner(digit_corpora, tmp_path_factory):
    train, validation, test = digit_corpora
    out = str(tmp_path_factory.mktemp("captioner"))
    config = CaptionerTrainingConfig.create(out, small_config(), epochs=6, batch_size=32,
                                            learning_rate=3e-3)
    captioner, history = train_captioner(config, train_corpus=train,
                                         validation_corpus=validation, verbose=0)
    return captioner, history, out, test


# Data.

def test_digit_captions_and_split_by_source_image(digit_corpora):
    assert digits.caption_for([7, 2, 9]) == "three handwritten digits: seven, two, nine"
    assert digits.caption_for([0]) == "one handwritten digit: zero"
    train, validation, test = digit_corpora
    used = [set(sum(c.digits, [])) for c in (train, validation, test)]
    assert not (used[0] & used[1]) and not (used[0] & used[2]) and not (used[1] & used[2])
    assert train.images.shape == (1500, 16, 48) and train.images.dtype == np.uint8
    images, labels = digits.load_sklearn_digits()
    for (_, caption), sources in zip(test.pairs[:20], test.digits[:20]):
        names = caption.split(": ")[1].split(", ")
        assert names == [digits.DIGIT_NAMES[labels[s]] for s in sources]
        assert caption.startswith(digits.COUNT_NAMES[len(sources) - 1] + " ")
    # Every canvas has ink: the digits were drawn.
    assert (train.images.reshape(len(train.images), -1).max(axis=1) > 100).all()


def _write_images(directory, names):
    directory.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        (directory / name).write_bytes(png(np.full([6, 6, 3], 40 * i, np.uint8)))
    return str(directory)


def test_flickr8k_reader_counts_bad_lines_and_missing_images(tmp_path):
    images = _write_images(tmp_path / "img", ["a.jpg", "b.jpg"])
    tokens = tmp_path / "Flickr8k.token.txt"
    tokens.write_bytes(
        b"a.jpg#0\tA dog runs .\n"
        b"a.jpg#1\tA brown dog .\n"
        b"no tab here\n"
        b"missing.jpg#0\tA cat .\n"
        b"b.jpg#0\t\n"
        b"b.jpg#1\tTwo people \xff.\n"
        b"b.jpg#2\tTwo people .\n"
    )
    corpus = read_flickr8k(str(tokens), images)
    assert [c for _, c in corpus.pairs] == ["A dog runs .", "A brown dog .", "Two people ."]
    assert [os.path.basename(corpus.images[i]) for i, _ in corpus.pairs] == ["a.jpg"] * 2 + [
        "b.jpg"]
    assert corpus.report.skipped == 4
    reasons = dict(corpus.report.problems)
    assert "no tab" in reasons[3] and "missing.jpg not found" in reasons[4]
    assert "empty caption" in reasons[5] and "UTF-8" in reasons[6]
    with pytest.raises(CorpusError, match="Image directory not found"):
        read_flickr8k(str(tokens), str(tmp_path / "nope"))


def test_coco_and_image_list_readers(tmp_path):
    images = _write_images(tmp_path / "img", ["1.jpg", "2.jpg"])
    annotations = tmp_path / "captions.json"
    annotations.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "1.jpg"}, {"id": 2, "file_name": "2.jpg"},
                   {"id": 3, "file_name": "3.jpg"}],
        "annotations": [{"image_id": 1, "caption": "A bus."}, {"image_id": 2, "caption": ""},
                        {"image_id": 3, "caption": "Gone."}, {"image_id": 9, "caption": "x"},
                        {"image_id": 2, "caption": "A tree."}],
    }))
    corpus = read_coco(str(annotations), images)
    assert [c for _, c in corpus.pairs] == ["A bus.", "A tree."]
    assert corpus.report.skipped == 3
    annotations.write_text("{not json")
    with pytest.raises(CorpusError, match="not a COCO captions file"):
        read_coco(str(annotations), images)

    names, captions = tmp_path / "train_images.txt", tmp_path / "train.en"
    names.write_text("1.jpg\n2.jpg\n3.jpg\n")
    captions.write_text("One.\nTwo.\nThree.\n")
    corpus = read_image_list(str(names), str(captions), images)
    assert [c for _, c in corpus.pairs] == ["One.", "Two."] and corpus.report.skipped == 1
    captions.write_text("One.\nTwo.\n")
    with pytest.raises(CorpusError, match="different numbers of lines"):
        read_image_list(str(names), str(captions), images)


def test_corpus_split_keeps_images_apart():
    corpus = CaptionCorpus([f"{i}.jpg" for i in range(10)],
                           [(i % 10, f"caption {i}") for i in range(30)])
    train, validation = corpus.split(0.2, seed=1)
    assert len(validation.images) == 2 and len(train.images) == 8
    assert not set(train.images) & set(validation.images)
    assert len(train.pairs) + len(validation.pairs) == 30
    for part in (train, validation):
        for index, caption in part.pairs:
            assert int(caption.split()[1]) % 10 == int(
                part.images[index].split(".")[0])


# Images: every kind of input gives a correct resize or a clear error.

def test_image_kinds_decode_to_the_same_pixels(tmp_path):
    rgb = np.zeros([20, 30, 3], np.uint8)
    rgb[:, :15] = [200, 100, 50]
    expected = load_image(rgb, 10, 15)
    assert expected.shape == (10, 15, 3) and expected.dtype == np.float32
    np.testing.assert_allclose(expected[:, :6], np.broadcast_to([200, 100, 50], (10, 6, 3)),
                               atol=1)
    np.testing.assert_allclose(load_image(png(rgb), 10, 15), expected, atol=0.5)
    rgba = np.concatenate([rgb, np.full([20, 30, 1], 255, np.uint8)], axis=-1)
    np.testing.assert_allclose(load_image(png(rgba), 10, 15), expected, atol=0.5)
    sixteen = rgb.astype(np.uint16) * 257
    np.testing.assert_allclose(load_image(png(sixteen), 10, 15), expected, atol=0.5)
    np.testing.assert_allclose(load_image(sixteen, 10, 15), expected, atol=0.5)
    gray = np.full([20, 30], 77, np.uint8)
    np.testing.assert_allclose(load_image(png(gray), 10, 15), 77, atol=0.5)
    jpeg = tf.io.encode_jpeg(tf.constant(rgb), quality=95).numpy()
    # JPEG is lossy (chroma subsampling blurs the colour edge): compare away from it.
    away = np.r_[0:5, 10:15]
    np.testing.assert_allclose(load_image(jpeg, 10, 15)[:, away], expected[:, away], atol=8)
    path = tmp_path / "image.png"
    path.write_bytes(png(rgb))
    np.testing.assert_allclose(load_image(str(path), 10, 15), expected, atol=0.5)


def test_bad_images_are_clear_errors(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, [64, 64, 3], dtype=np.uint8)
    jpeg = tf.io.encode_jpeg(tf.constant(rgb)).numpy()
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(jpeg[: len(jpeg) // 2], 8, 8, name="half.jpg")
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(b"this is not an image at all", 8, 8)
    with pytest.raises(ImageError, match="empty file"):
        load_image(b"", 8, 8)
    with pytest.raises(ImageError, match="nope.png"):
        load_image(str(tmp_path / "nope.png"), 8, 8)
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros([4, 4, 2]), 8, 8)
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full([4, 4, 3], np.nan), 8, 8)
    # A header claiming 100,000 x 100,000 pixels is refused before decoding.
    header = bytearray(png(np.zeros([2, 2], np.uint8)))
    header[16:24] = (100_000).to_bytes(4, "big") * 2
    with pytest.raises(ImageError, match="pixels, more than"):
        load_image(bytes(header), 8, 8)


def test_a_10000_by_10000_image_is_resized():
    big = np.zeros([10_000, 10_000, 1], np.uint8)
    big[:, 5_000:] = 255
    data = png(big)
    del big
    image = load_image(data, 4, 4)
    assert image.shape == (4, 4, 3)
    # Left half black, right half white: the outer columns keep their colour
    # (the antialiasing filter blends the two inner ones) and the mean is kept.
    np.testing.assert_allclose(image[:, 0], 0, atol=1)
    np.testing.assert_allclose(image[:, 3], 255, atol=1)
    assert abs(image.mean() - 127.5) < 1


# Model.

def test_config_errors():
    with pytest.raises(ValueError, match="backbone"):
        CaptionerConfig(backbone="vgg99")
    with pytest.raises(ValueError, match="weights must be None"):
        CaptionerConfig(backbone="small_cnn", weights="imagenet")
    with pytest.raises(ValueError, match="pooling"):
        CaptionerConfig(pooling="sum")
    config = small_config(cnn_filters=[4, 8])
    assert CaptionerConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("cell_type,num_layers", [("lstm", 2), ("gru", 1)])
def test_step_model_reproduces_teacher_forcing(cell_type, num_layers):
    config = small_config(cell_type=cell_type, num_layers=num_layers)
    keras.utils.set_random_seed(1)
    image_encoder, caption_model, end_to_end = build_captioning_models(config, 20)
    images = np.random.default_rng(0).uniform(0, 255, [3, 16, 48, 3]).astype(np.float32)
    tokens = np.array([[2, 5, 6, 7], [2, 9, 4, 0], [2, 11, 0, 0]], np.int32)
    logits = end_to_end({"images": images, "decoder_tokens": tokens}).numpy()
    states = build_context_model(caption_model, config)(image_encoder(images))
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    assert len(states) == num_layers * config.states_per_layer
    step = build_decoder_step_model(caption_model, config)
    for t in range(tokens.shape[1]):
        step_logits, *states = step([tf.constant(tokens[:, t]), *states])
        np.testing.assert_allclose(step_logits.numpy(), logits[:, t], atol=1e-4)


def test_keras_applications_backbone_frozen_with_local_weights_file(tmp_path):
    config = small_config(backbone="mobilenet_v2", image_height=32, image_width=32,
                          pooling="avg")
    image_encoder, caption_model, end_to_end = build_captioning_models(config, 20)
    # Frozen: only the context layer and the decoder train.
    trainable = {w.path.split("/")[0] for w in end_to_end.trainable_weights}
    assert not any("mobilenet" in name or "conv" in name.lower() for name in trainable)
    assert image_encoder.output.shape[-1] == 1280
    # A local weights file stands in for the "imagenet" download.
    network = image_encoder.layers[-2]
    path = str(tmp_path / "mobilenet.weights.h5")
    network.save_weights(path)
    encoder2, _, _ = build_captioning_models(config.replace(weights=path), 20)
    images = np.random.default_rng(0).uniform(0, 255, [2, 32, 32, 3]).astype(np.float32)
    np.testing.assert_allclose(encoder2(images), image_encoder(images), atol=1e-5)


def test_frozen_backbone_trains_on_cached_features(digit_corpora, tmp_path):
    train, validation, _ = digit_corpora
    config = small_config(backbone="mobilenet_v2", image_height=32, image_width=32,
                          pooling="avg")
    cache = tmp_path / "features"
    subset = train.subset(range(64))
    run = CaptionerTrainingConfig.create(str(tmp_path / "run"), config, epochs=1,
                                         feature_cache=str(cache))
    captioner, history = train_captioner(run, train_corpus=subset,
                                         validation_corpus=validation.subset(range(16)),
                                         verbose=0)
    features = np.load(cache / "train.npy")
    assert features.shape == (64, 1280)
    np.testing.assert_allclose(
        features[:4], captioner.image_encoder(
            np.stack([load_image(im, 32, 32) for im in subset.images[:4]])), atol=1e-4)
    # A second run reads the cache (same numbers, no recomputation needed).
    os.utime(cache / "train.npy", (0, 0))
    train_captioner(run.replace(out=str(tmp_path / "run2")), train_corpus=subset, verbose=0)
    assert os.stat(cache / "train.npy").st_mtime == 0
    assert isinstance(captioner.caption(subset.images[0]), str)


# Training and decoding.

def test_training_learns_and_greedy_is_beam_one(trained_captioner):
    captioner, history, _, test = trained_captioner
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    # The stored default is beam 5 (DecodingConfig); greedy is beam size 1.
    assert captioner.decoding.beam_size == 5
    greedy = captioner.caption(test.images, batch_size=16, beam_size=1)
    assert captioner.caption(test.images, batch_size=7, beam_size=1) == greedy
    assert all(c.split(": ")[0] in ("one handwritten digit", "two handwritten digits")
               for c in greedy[:10])
    references = [c for _, c in test.pairs]
    # Six epochs of a tiny model learn to count the digits of unseen images
    # (chance: 50%); reading them takes longer (the benchmark).
    assert np.mean([h.split(":")[0] == r.split(":")[0]
                    for h, r in zip(greedy, references)]) > 0.8
    n_best = captioner.caption(test.images[:3], beam_size=3, n_best=3)
    for hypotheses in n_best:
        scores = [s for _, s in hypotheses]
        assert scores == sorted(scores, reverse=True) and len(hypotheses) == 3


def test_save_load_and_kind_checks(trained_captioner, tmp_path):
    captioner, _, out, test = trained_captioner
    loaded = load_captioner(out)
    assert loaded.caption(test.images[:20]) == captioner.caption(test.images[:20])
    assert loaded.config == captioner.config
    size = os.path.getsize(os.path.join(out, "model.weights.h5"))
    assert size < 1.5 * 4 * captioner.model.count_params() + 200_000  # no optimizer state
    # The one loader dispatches on the directory's kind; the translator
    # loader refuses a captioner.
    assert type(load(out)).__name__ == "Captioner"
    with pytest.raises(ModelDirectoryError, match="not a translator"):
        load_translator(out)
    with pytest.raises(ModelDirectoryError, match="not found"):
        load_captioner(str(tmp_path / "nothing"))


def test_caption_accepts_files_bytes_and_arrays(trained_captioner, tmp_path):
    captioner, _, _, test = trained_captioner
    image = test.images[0]
    expected = captioner.caption([image])[0]
    path = tmp_path / "canvas.png"
    path.write_bytes(png(image))
    assert captioner.caption(str(path)) == expected
    assert captioner.caption(png(image)) == expected
    assert captioner.caption([np.repeat(image[..., None], 3, axis=-1)]) == [expected]
    # Twice the size: resized back to the model's input.
    bigger = np.kron(image, np.ones([2, 2], np.uint8))
    assert isinstance(captioner.caption([bigger])[0], str)
    with pytest.raises(ImageError, match="image 1"):
        captioner.caption([image, b"garbage"])
    assert captioner.caption([]) == []


def test_unreadable_training_images_are_skipped(tmp_path, caplog):
    images = _write_images(tmp_path / "img", ["a.png", "b.png", "c.png"])
    (tmp_path / "img" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    corpus = CaptionCorpus([os.path.join(images, n) for n in ("a.png", "b.png", "c.png")],
                           [(0, "a dark square"), (1, "a broken file"), (2, "a gray square")])
    config = CaptionerTrainingConfig.create(str(tmp_path / "run"), small_config(), epochs=1)
    captioner, _ = train_captioner(config, train_corpus=corpus, verbose=0)
    assert captioner.metadata["unreadable_images"] == 1
    assert captioner.metadata["train_captions"] == 2
    assert "broken" not in captioner.target_tokenizer.vocabulary
    assert "b.png" in caplog.text


# Exports.

def test_saved_model_takes_image_bytes(trained_captioner, tmp_path):
    from keras_seq2seq.captioning.export import export_captioner_saved_model

    captioner, _, _, test = trained_captioner
    directory = export_captioner_saved_model(captioner, str(tmp_path), name="digits")
    assert directory.endswith(os.path.join("digits", "1"))
    assert os.path.isfile(os.path.join(directory, "assets.extra", "tf_serving_warmup_requests"))
    serving = tf.saved_model.load(directory)
    assert sorted(serving.signatures) == ["decode_step", "encode_image", "serving_default"]
    serve = serving.signatures["serving_default"]
    images = [png(image) for image in test.images[:12]]
    # A JPEG too: any supported format, any size.
    images.append(tf.io.encode_jpeg(tf.constant(np.kron(test.images[12], np.ones(
        [3, 3], np.uint8))[..., None]), quality=100).numpy())
    out = serve(image_bytes=tf.constant(images))
    captions = [c.decode() for c in out["caption"].numpy()]
    assert captions[:12] == captioner.caption(test.images[:12])
    assert out["score"].shape == (13,)
    with pytest.raises(tf.errors.InvalidArgumentError):
        serve(image_bytes=tf.constant([b"not an image"]))
    # Still serving after a bad request.
    again = serve(image_bytes=tf.constant(images[:2]))["caption"].numpy()
    assert [c.decode() for c in again] == captions[:2]


def test_tflite_encode_image_and_decode_step(trained_captioner, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from test_export_tflite import _ops

    from keras_seq2seq.captioning.export import export_captioner_tflite
    from keras_seq2seq.export.runner import TFLiteCaptioner

    captioner, _, _, test = trained_captioner
    path = export_captioner_tflite(captioner, str(tmp_path))
    _, ops = _ops(path)
    assert not [op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]
    assert "CONV_2D" in ops
    lite = TFLiteCaptioner(str(tmp_path))
    assert sorted(lite.runtime.signatures) == ["decode_step", "encode_image"]
    keras_captions = captioner.caption(test.images[:30])
    lite_captions = lite.caption(test.images[:30])
    assert np.mean([a == b for a, b in zip(keras_captions, lite_captions)]) >= 0.95
    assert lite.caption(test.images[:3], beam_size=3) == captioner.caption(
        test.images[:3], beam_size=3)
    int8 = export_captioner_tflite(captioner, str(tmp_path / "int8"), quantize="dynamic-int8")
    assert os.path.getsize(int8) < 0.5 * os.path.getsize(path)


def test_cli_train_caption_and_export(trained_captioner, tmp_path, capsys):
    _, _, out, test = trained_captioner
    paths = []
    for i in range(2):
        paths.append(str(tmp_path / f"{i}.png"))
        with open(paths[-1], "wb") as f:
            f.write(png(test.images[i]))
    assert main(["caption", "--model", out, *paths]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == paths
    expected = load_captioner(out).caption(paths)
    assert [line.split("\t")[1] for line in lines] == expected
    bad = str(tmp_path / "bad.jpg")
    with open(bad, "wb") as f:
        f.write(b"\xff\xd8 truncated")
    assert main(["caption", "--model", out, bad, paths[0]]) == 1
    captured = capsys.readouterr()
    assert "bad.jpg" in captured.err and paths[0] in captured.out
    assert main(["export", "--model", out, "--out", str(tmp_path / "serving")]) == 0
    assert os.path.isdir(tmp_path / "serving" / os.path.basename(out) / "1")
    assert main(["translate", "--model", out, "hello"]) == 1
    assert "captioner" in capsys.readouterr().err

    run = str(tmp_path / "cli-run")
    assert main(["train-captioner", "--digits", "--digits-train", "200", "--epochs", "1",
                 "--units", "32", "--embedding-dim", "16", "--digits-augment",
                 "--lr-schedule", "plateau", "--lr-patience", "2", "--out", run]) == 0
    assert load_captioner(run).config.image_width == 96
    with open(os.path.join(run, "config.json")) as f:
        metadata = json.load(f)["metadata"]
    assert (metadata["lr_schedule"], metadata["lr_patience"]) == ("plateau", 2)
    saved = CaptionerTrainingConfig.load(run)
    assert (saved.data.digits, saved.data.digits_train, saved.data.digits_augment) == (
        True, 200, True)
    assert (saved.model.image_height, saved.model.pooling, saved.model.max_target_length,
            saved.model.units, saved.model.dropout) == (32, "flatten", 12, 32, 0.2)


def test_augmented_training_canvases_leave_validation_and_test_unchanged():
    plain = digits.digits_corpora(40, 20, 30, seed=2)
    augmented = digits.digits_corpora(40, 20, 30, seed=2, augment_train=True)
    unwarped = digits.digits_corpora(40, 20, 30, seed=2, augment_train=True, warp_train=False)
    for i in (1, 2):
        np.testing.assert_array_equal(plain[i].images, augmented[i].images)
        np.testing.assert_array_equal(plain[i].images, unwarped[i].images)
        assert plain[i].pairs == augmented[i].pairs
    assert not np.array_equal(plain[0].images, augmented[0].images)
    assert not np.array_equal(unwarped[0].images, augmented[0].images)
    images, labels = digits.load_sklearn_digits()
    for (_, caption), sources in zip(augmented[0].pairs, augmented[0].digits):
        assert caption == digits.caption_for([int(labels[s]) for s in sources])


def test_warp_digit_matches_resize_and_rotates_about_the_centre():
    images, _ = digits.load_sklearn_digits()
    source = images[7]
    for height, width in ((12, 12), (20, 15), (15, 9)):
        plain = digits.warp_digit(source, height, width)
        resized = tf.image.resize(source[..., None].astype("float32"), [height, width],
                                  method="bilinear", antialias=True)[..., 0]
        np.testing.assert_allclose(plain, resized, atol=1e-3)
        # Half a turn samples the same points in reverse order.
        np.testing.assert_allclose(digits.warp_digit(source, height, width, angle=180),
                                   plain[::-1, ::-1], atol=1e-3)
    plain = digits.warp_digit(source, 15, 15)
    slanted = digits.warp_digit(source, 15, 15, shear=0.3)
    # A slant moves rows by their distance from the centre row.
    np.testing.assert_allclose(slanted[7], plain[7], atol=1e-3)
    assert np.abs(slanted[1] - plain[1]).max() > 10


def test_local_server_serves_captions_over_rest(trained_captioner, tmp_path):
    import base64
    import urllib.error
    import urllib.request

    from keras_seq2seq.captioning.export import export_captioner_saved_model
    from keras_seq2seq.export.serving import LocalServer

    captioner, _, _, test = trained_captioner
    export_captioner_saved_model(captioner, str(tmp_path), name="digits")

    def post(url, payload):
        request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    images = [{"b64": base64.b64encode(png(image)).decode()} for image in test.images[:4]]
    with LocalServer(str(tmp_path)) as server:
        url = server.rest_url("digits") + ":predict"
        status, answer = post(url, {"instances": images})
        assert status == 200
        assert [p["caption"] for p in answer["predictions"]] == captioner.caption(
            test.images[:4])
        bad = {"b64": base64.b64encode(b"not an image").decode()}
        status, answer = post(url, {"instances": [bad]})
        assert status == 400 and "error" in answer
        status, _ = post(url, {"instances": images[:1]})
        assert status == 200  # still serving


def test_captioner_settings_are_checked_before_training(digit_corpora, tmp_path):
    train, _, _ = digit_corpora
    with pytest.raises(ConfigurationError, match="lr_schedule must be one of"):
        CaptionerTrainingConfig.create(str(tmp_path / "run"), small_config(),
                                       lr_schedule="cosine")
    config = CaptionerTrainingConfig.create(str(tmp_path / "run2"), small_config(), patience=2)
    with pytest.raises(ConfigurationError, match="needs validation data"):
        train_captioner(config, train_corpus=train)
    with pytest.raises(ConfigurationError, match="takes a CaptionerTrainingConfig"):
        train_captioner(train)  # the corpus first: the signature of before
    with pytest.raises(ConfigurationError, match="No captioned images"):
        train_captioner(config.replace(out=str(tmp_path / "run3")))
