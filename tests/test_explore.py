"""`keras-seq2seq explore`: the JSON API against the Python API, bad input,
and the page in a real headless browser (Chromium through selenium)."""

import io
import os
import shutil
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_PAIRS, tiny_config
from keras_seq2seq.constants import END_ID, START_ID

SENTENCES = ["Nice to meet you.", "I am cold.", "We are late.", "She is tired."]


@pytest.fixture(scope="module")
def attention_model(tmp_path_factory):
    """A tiny word-level model with attention that knows TINY_PAIRS, and its directory."""
    from keras_seq2seq.training import TrainingConfig, train

    directory = str(tmp_path_factory.mktemp("attention"))
    translator, _ = train(
        TrainingConfig.create(directory, tiny_config(units=48, embedding_dim=24,
                              attention="luong"), epochs=12, batch_size=12, learning_rate=1e-2,
                              seed=2, bleu_sample=0),
        train_pairs=TINY_PAIRS * 10, verbose=0)
    return translator, directory


@pytest.fixture(scope="module")
def attention_translator(attention_model):
    return attention_model[0]


@pytest.fixture(scope="module")
def client(attention_translator):
    from keras_seq2seq.explore import Explorer, create_app

    return create_app(Explorer(attention_translator, label="tiny")).test_client()


def _post(client, path, **body):
    response = client.post(path, json=body)
    return response.status_code, response.get_json()


def _step_log_probs(translator, text, tokens):
    """The translator's own step function fed <start> + tokens."""
    states, _ = translator.encode(tf.constant([text]))
    rows, token = [], START_ID
    for next_token in tokens:
        log_probs, states = translator.step(tf.constant([token]), states)
        rows.append(log_probs[0].numpy())
        token = next_token
    return np.array(rows)


def test_decode_is_greedy_search_and_the_step_function(client, attention_translator):
    for text in SENTENCES:
        status, data = _post(client, "/api/decode", text=text, top_k=4)
        assert status == 200
        assert data["text"] == attention_translator.translate([text])[0]
        assert data["tokens"][-1] == END_ID
        expected = np.exp(_step_log_probs(attention_translator, text, data["tokens"]))
        for step, row in zip(data["steps"], expected):
            ids = [c["id"] for c in step["top"]]
            assert ids == list(np.argsort(-row, kind="stable")[:4])
            np.testing.assert_allclose([c["prob"] for c in step["top"]], row[ids], atol=1e-5)
            # Attention over the source: a distribution over its tokens.
            assert abs(sum(step["attention"]) - 1) < 1e-3


def test_a_chosen_token_is_fed_back_and_decoding_continues(client, attention_translator):
    text = "I am cold."
    _, greedy = _post(client, "/api/decode", text=text)
    alternative = greedy["steps"][0]["top"][1]["id"]
    status, data = _post(client, "/api/decode", text=text, prefix=[alternative])
    assert status == 200 and data["tokens"][0] == alternative and data["steps"][0]["forced"]
    assert not data["steps"][1]["forced"]
    expected = _step_log_probs(attention_translator, text, data["tokens"])
    # After the forced token, each choice is the step function's argmax.
    assert data["tokens"][1:] == [int(np.argmax(row)) for row in expected[1:]]


def test_encoder_view_shows_reading_order_and_states(client, attention_translator):
    status, data = _post(client, "/api/encode", text="Nice to meet you.")
    assert status == 200
    written = [t["token"] for t in data["source_tokens"]]
    assert written == ["Nice", "to", "meet", "you", "."]
    assert [t["token"] for t in data["read_order"]] == written[::-1] and data["reversed"]
    (rnn_states, _), _ = attention_translator.encode(tf.constant(["Nice to meet you."]))
    np.testing.assert_allclose(data["states"][0]["states"][0]["values"], rnn_states[0][0],
                               atol=1e-6)
    assert len(data["context"]) == 2 * 48
    _, unknown = _post(client, "/api/encode", text="Nice to meet zebras.")
    assert [t["unknown"] for t in unknown["source_tokens"]] == [False, False, False, True, False]


def test_beam_tree_best_is_beam_search(client, attention_translator):
    for k in (2, 5, 8):
        status, data = _post(client, "/api/beam", text="Nice to meet you.", beam_size=k)
        assert status == 200
        assert data["best"] == attention_translator.translate(["Nice to meet you."],
                                                              beam_size=k)[0]
        # The tree holds each final hypothesis: follow the parents back.
        steps = data["steps"]
        for j, hypothesis in enumerate(data["hypotheses"]):
            path, beam = [], j
            for t in range(len(steps) - 1, -1, -1):
                node = steps[t][beam]
                if not node["carried"]:
                    path.append(node["id"])
                beam = node["parent"]
            assert path[::-1] == hypothesis["tokens"]
        scores = [h["score"] for h in data["hypotheses"]]
        assert scores == sorted(scores, reverse=True)


def test_teacher_forcing_matches_the_training_model(client, attention_translator):
    import keras

    text, reference = "I am cold.", "J'ai faim."
    status, data = _post(client, "/api/teacher", text=text, reference=reference)
    assert status == 200
    targets = data["reference_tokens"]
    tokens, _ = attention_translator.encoder_inputs(tf.constant([text]))
    decoder_tokens = tf.constant([[START_ID] + targets[:-1]])
    logits = attention_translator.model({"encoder_tokens": tokens,
                                         "decoder_tokens": decoder_tokens}, training=False)
    log_probs = keras.ops.convert_to_numpy(tf.nn.log_softmax(logits))[0]
    np.testing.assert_allclose([s["loss"] for s in data["steps"]],
                               [-log_probs[t, y] for t, y in enumerate(targets)], atol=1e-4)
    # The model says "J'ai froid .": it leaves the reference at "faim".
    assert data["free_running_text"] == attention_translator.translate([text])[0]
    assert data["departs_at"] == data["reference_tokens"].index(
        attention_translator.target_tokenizer.vocabulary.index("faim"))


@pytest.mark.parametrize("body,message", [
    ({"text": ""}, "empty"),
    ({"text": "   \n"}, "empty"),
    ({"text": " ".join(["word"] * 10000)}, "at most 5,000 characters"),
    ({"text": 42}, "must be a string"),
    ({"text": "I am cold.", "top_k": "5"}, "top_k must be a whole number"),
    ({"text": "I am cold.", "prefix": [-1]}, "prefix token"),
    ({"text": "I am cold.", "prefix": "abc"}, "prefix must be a list"),
    ({"text": "I am cold.", "prefix": [4] * 500}, "at most"),
])
def test_bad_input_is_a_clear_message_and_the_server_keeps_answering(client, body, message):
    status, data = _post(client, "/api/decode", **body)
    assert status == 400 and message in data["error"]
    assert _post(client, "/api/decode", text="I am cold.")[0] == 200


def test_odd_text_and_odd_requests(client):
    # Emoji and control characters: translated (the emoji is an unknown word).
    for text in ["I am cold 🙂🙂.", "I am\x00 cold\x07.\x1b[31m", "🙂"]:
        status, data = _post(client, "/api/decode", text=text)
        assert status == 200 and data["text"], (text, data)
    status, data = _post(client, "/api/beam", text="I am cold.", beam_size=9)
    assert status == 400 and "beam_size" in data["error"]
    response = client.post("/api/decode", data=b"{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]
    response = client.post("/api/caption", data={"image": (io.BytesIO(b"GIF89a"), "x.gif")})
    assert response.status_code == 400 and "translates text" in response.get_json()["error"]
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/decode").status_code == 405
    big = client.post("/api/decode", data=b"x" * (9 * 1024 * 1024),
                      content_type="application/json")
    assert big.status_code == 413 and "MB" in big.get_json()["error"]
    # The page and its scripts come from the package: nothing from a CDN.
    page = client.get("/").data.decode()
    assert "https://" not in page and "http://" not in page
    assert client.get("/static/plotly.min.js").data.startswith(b"/**")
    assert client.get("/static/explorer.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    # A malformed multipart body is the client's error, answered as JSON.
    broken = client.post("/api/caption", data=b"--x\r\nnot a part",
                         content_type="multipart/form-data; boundary=x")
    assert broken.status_code == 400 and broken.get_json()["error"]


def test_captioner_upload_and_a_non_image(tmp_path):
    from keras_seq2seq.captioning import CaptionerConfig, build_captioning_models
    from keras_seq2seq.captioning.captioner import Captioner
    from keras_seq2seq.explore import Explorer, create_app
    from keras_seq2seq.text import WordTokenizer

    config = CaptionerConfig(backbone="small_cnn", image_height=16, image_width=16,
                             pooling="flatten", cnn_filters=(4,), units=8, embedding_dim=4,
                             max_target_length=5)
    vocabulary = ["<pad>", "<unk>", "<start>", "<end>", "one", "two"]
    _, _, model = build_captioning_models(config, len(vocabulary))
    captioner = Captioner(model, config, WordTokenizer(vocabulary))
    client = create_app(Explorer(captioner)).test_client()
    assert client.get("/api/model").get_json()["kind"] == "captioner"
    image = tf.io.encode_png(np.full((20, 30, 3), 120, np.uint8)).numpy()
    response = client.post("/api/caption", data={"image": (io.BytesIO(image), "a.png"),
                                                 "beam_size": "3"})
    assert response.status_code == 200
    data = response.get_json()
    # The step-by-step decoder is test-phase greedy decoding.
    assert data["decode"]["text"] == captioner.caption(image, beam_size=1)
    assert data["beam"]["best"] == captioner.caption(image, beam_size=3)
    response = client.post("/api/caption", data={"image": (io.BytesIO(b"not an image"), "a.txt")})
    assert response.status_code == 400 and "a.txt is not an image" in response.get_json()["error"]
    status, data = _post(client, "/api/decode", text="hello")
    assert status == 400 and "upload an image" in data["error"]


def test_toy_model_trains_and_is_explored(tmp_path):
    from keras_seq2seq.explore import Explorer, toy_translator

    translator = toy_translator(str(tmp_path), epochs=3)
    assert translator.config.embedding_dim == 3 and translator.config.units == 16
    data = Explorer(translator).decode("nice to meet you")
    assert data["text"] == translator.translate(["nice to meet you"], beam_size=1)[0]


def test_cli_starts_the_explorer_and_prints_its_url(attention_model):
    import json
    import subprocess
    import sys
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "keras_seq2seq.cli", "explore", "--model", attention_model[1],
         "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Explorer for "), (line, process.stderr.read()[-2000:])
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/model", timeout=30) as response:
            assert json.load(response)["attention"] is True
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b"See the model think" in response.read()
    finally:
        process.terminate()
        process.wait(30)


# The page in a real browser.

def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver "
                    "(`.ci/run` does)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1300,2400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module")
def server_url(attention_translator):
    from keras_seq2seq.explore import Explorer, serve_explorer

    ready = threading.Event()
    urls = []

    def on_ready(url):
        urls.append(url)
        ready.set()

    threading.Thread(target=serve_explorer, daemon=True,
                     args=(Explorer(attention_translator, label="tiny"),),
                     kwargs={"port": 0, "on_ready": on_ready}).start()
    assert ready.wait(30)
    return urls[0]


class Page:
    """The explorer page driven through selenium."""

    def __init__(self, driver, url):
        from selenium.webdriver.common.by import By

        self.driver, self.by = driver, By
        driver.get(url)
        self.wait_ready()

    def find(self, css):
        return self.driver.find_element(self.by.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(self.by.CSS_SELECTOR, css)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while self.find("body").get_attribute("data-state") != "ready":
            assert time.time() < deadline, "the page did not become ready"
            time.sleep(0.05)

    def click(self, css):
        self.find(css).click()
        self.wait_ready()

    def explore(self, text, reference="", beam_size=4):
        from selenium.webdriver.support.ui import Select

        # Typed into the first box; set by script where ChromeDriver cannot
        # type the characters (it types only the Basic Multilingual Plane).
        box = self.find("#text")
        box.clear()
        if text.isprintable() and all(ord(c) < 0x10000 for c in text):
            box.send_keys(text)
        else:
            self.driver.execute_script("arguments[0].value = arguments[1]", box, text)
        self.driver.execute_script("arguments[0].value = arguments[1]", self.find("#reference"),
                                   reference)
        Select(self.find("#beam-size")).select_by_visible_text(str(beam_size))
        self.click("#explore")

    def text(self, css):
        return self.find(css).text

    def candidates(self):
        return [(int(r.get_attribute("data-id")), float(r.get_attribute("data-prob")))
                for r in self.find_all("#top-k-table tr.candidate")]

    def screenshot(self, name):
        directory = os.environ.get("KERAS_SEQ2SEQ_SCREENSHOTS")
        if directory:
            os.makedirs(directory, exist_ok=True)
            self.driver.save_screenshot(os.path.join(directory, name))


def _check_page(page, translator, text, reference, beam_size, shots=""):
    """Type, step, click an alternative; check what the page shows against
    the Python API."""
    page.explore(text, reference, beam_size)
    assert page.text("#message") == ""
    # The page shows the model itself: one sentence, no name placeholders.
    model_itself = {"protect_names": False, "split_sentences": False}
    assert page.text("#translation") == translator.translate([text], beam_size=1,
                                                             **model_itself)[0]
    assert page.text("#beam-best") == translator.translate([text], beam_size=beam_size,
                                                           **model_itself)[0]
    page.screenshot(f"{shots}explorer_encoder.png")
    greedy = [int(s) for s in page.driver.execute_script(
        "return state.decode.tokens.map(String)")]
    expected = np.exp(_step_log_probs(translator, text, greedy))
    for t in range(len(greedy)):
        assert page.text("#step-label").startswith(f"step {t + 1} of {len(greedy)}")
        shown = page.candidates()
        ids = [i for i, _ in shown]
        np.testing.assert_allclose([p for _, p in shown], expected[t, ids], atol=1e-5)
        assert ids[0] == int(np.argmax(expected[t])) == greedy[t]
        if t < len(greedy) - 1:
            page.click("#next")
    page.click("#prev")
    page.click("#prev")
    # Feed back the second candidate at this step: the decoder goes on from it.
    step = len(greedy) - 3 if len(greedy) >= 3 else 0
    alternative = page.candidates()[1][0]
    page.find_all("#top-k-table tr.candidate")[1].click()
    page.wait_ready()
    forced = greedy[:step] + [alternative]
    tokens = [int(s) for s in page.driver.execute_script("return state.decode.tokens.map(String)")]
    assert tokens[: step + 1] == forced
    rows = _step_log_probs(translator, text, tokens)
    assert tokens[step + 1 :] == [int(np.argmax(r)) for r in rows[step + 1 :]]
    page.click("#run-end")
    page.screenshot(f"{shots}explorer_decoder.png")
    assert page.text("#translation") == translator.target_tokenizer.decode(
        tf.constant([tokens]))[0].numpy().decode()
    if reference:
        rows = page.find_all("#teacher-table tbody tr")
        assert len(rows) == len(translator.target_tokenizer.encode(
            tf.constant([reference]))[0]) + 1
    page.driver.execute_script("arguments[0].scrollIntoView()", page.find("#beam-section"))
    page.screenshot(f"{shots}explorer_beam.png")


def test_page_in_a_real_browser(server_url, attention_translator):
    driver = _browser()
    try:
        page = Page(driver, server_url)
        assert "tiny" in page.text("#model-info")
        _check_page(page, attention_translator, "We are late.", "Nous sommes en retard.", 3,
                    shots="tiny_")
        assert not page.find("#attention-section").get_attribute("hidden")
        # Bad input: a clear message in the page; the server keeps answering.
        for text, message in (("", "empty"), (" ".join(["word"] * 10000), "at most 5,000")):
            page.driver.execute_script("document.getElementById('text').value = arguments[0]",
                                       text)
            page.click("#explore")
            assert message in page.text("#message")
        page.explore("I am cold 🙂\x07.")
        assert page.text("#message") == "" and page.text("#translation")
        page.explore("I am cold.")
        assert page.text("#translation") == attention_translator.translate(["I am cold."])[0]
    finally:
        driver.quit()


def test_screenshots_of_the_shipped_model(tmp_path):
    """With KERAS_SEQ2SEQ_SCREENSHOTS=DIR: the same checks on the shipped
    model, and the README's screenshots written to DIR."""
    if not os.environ.get("KERAS_SEQ2SEQ_SCREENSHOTS"):
        pytest.skip("set KERAS_SEQ2SEQ_SCREENSHOTS=DIR to write the README's screenshots")
    from conftest import REPO_ROOT
    from keras_seq2seq import load
    from keras_seq2seq.explore import Explorer, serve_explorer

    model = REPO_ROOT / "saved_models" / "en-fr"
    if not (model / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    translator = load(str(model))
    urls, ready = [], threading.Event()
    threading.Thread(target=serve_explorer, daemon=True,
                     args=(Explorer(translator, label="en-fr"),),
                     kwargs={"port": 0, "on_ready": lambda u: (urls.append(u), ready.set())}
                     ).start()
    assert ready.wait(60)
    driver = _browser()
    try:
        page = Page(driver, urls[0])
        _check_page(page, translator, "My name is Alexander and I live in Toronto.",
                    "Je m'appelle Alexander et j'habite à Toronto.", 4)
    finally:
        driver.quit()
