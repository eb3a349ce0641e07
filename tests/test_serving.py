"""TF Serving REST/gRPC clients against a local server over a real SavedModel."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import TINY_PAIRS
from keras_seq2seq.cli import main
from keras_seq2seq.export import export_saved_model
from keras_seq2seq.export.serving import (
    LocalServer,
    ServingError,
    translate_grpc,
    translate_rest,
)

NASTY = ["", "   ", "😀🎉" * 20, "a\x00b\x07\x1b[31m", "Nice " * 5000, "\ufeff\u200b",
         b"\xff\xfe invalid", "Thank you."]


@pytest.fixture(scope="module")
def server(trained_translator, tmp_path_factory):
    translator, _, _ = trained_translator
    base = tmp_path_factory.mktemp("serving")
    export_saved_model(translator, str(base), name="tiny")
    with LocalServer(str(base), grpc_port=0) as running:
        yield translator, running


def _post(url, payload):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_rest_client_matches_the_keras_model(server):
    translator, running = server
    sources = [s for s, _ in TINY_PAIRS]
    results = translate_rest(running.rest_url("tiny"), sources)
    assert [t for t, _ in results] == translator.translate(sources)
    assert all(isinstance(score, float) for _, score in results)


def test_grpc_client_matches_the_keras_model(server):
    translator, running = server
    sources = [s for s, _ in TINY_PAIRS[:4]]
    results = translate_grpc(running.grpc_target, "tiny", sources)
    assert [t for t, _ in results] == translator.translate(sources)
    with pytest.raises(ServingError, match="NOT_FOUND"):
        translate_grpc(running.grpc_target, "missing", ["x"])


def test_rest_row_and_columnar_formats(server):
    translator, running = server
    url = running.rest_url("tiny") + ":predict"
    status, answer = _post(url, {"instances": ["Thank you.", {"text": "I am cold."}]})
    assert status == 200
    assert [p["translation"] for p in answer["predictions"]] == translator.translate(
        ["Thank you.", "I am cold."])
    status, answer = _post(url, {"inputs": {"text": ["Thank you."]}})
    assert status == 200 and answer["outputs"]["translation"] == [translator.translate(
        "Thank you.")]
    status, answer = _post(running.rest_url("tiny") + "/versions/1:predict",
                           {"inputs": ["Thank you."]})
    assert status == 200


@pytest.mark.parametrize(
    "payload, status, message",
    [
        (b"{not json", 400, "Expecting"),
        ({"instances": "x"}, 400, "list"),
        ({"instances": [1, 2]}, 400, "strings"),
        ({"instances": [{"other": "x"}]}, 400, "no 'text'"),
        ({"inputs": {"text": ["a"]}, "instances": ["a"]}, 400, "exactly one"),
        ({"inputs": {"text": [["a"]]}}, 400, ""),
        ({"signature_name": "nope", "inputs": ["a"]}, 400, "not found"),
        ({"inputs": {"text": [{"b64": "!!!"}]}}, 400, ""),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_rest_bad_requests_get_clear_errors(server, payload, status, message):
    _, running = server
    code, answer = _post(running.rest_url("tiny") + ":predict", payload)
    assert code == status and message in answer["error"]


def test_rest_unknown_model_and_status(server):
    _, running = server
    code, answer = _post(running.rest_url("missing") + ":predict", {"inputs": ["a"]})
    assert code == 404 and "missing" in answer["error"]
    code, _ = _post(running.rest_url("tiny") + "/versions/7:predict", {"inputs": ["a"]})
    assert code == 404
    with urllib.request.urlopen(running.rest_url("tiny"), timeout=30) as response:
        status = json.loads(response.read())["model_version_status"][0]
    assert status["state"] == "AVAILABLE" and status["version"] == "1"
    with pytest.raises(ServingError, match="HTTP 404"):
        translate_rest(running.rest_url("missing"), ["a"])
    with pytest.raises(ServingError, match="Cannot reach"):
        translate_rest("http://127.0.0.1:9/v1/models/x", ["a"], timeout=5)


def test_any_string_through_rest_and_grpc(server):
    translator, running = server
    for results in (translate_rest(running.rest_url("tiny"), NASTY),
                    translate_grpc(running.grpc_target, "tiny", NASTY)):
        translations = [t for t, _ in results]
        assert len(translations) == len(NASTY)
        assert translations[:2] == ["", ""]
        assert translations[-1] == translator.translate("Thank you.")
        assert all(len(t.split()) <= translator.decoding.max_output_tokens for t in translations)


def _hammer(url, seconds, clients=8):
    failures, done = [], []
    stop = time.monotonic() + seconds

    def client(i):
        while time.monotonic() < stop:
            batch = [NASTY[(i + j) % len(NASTY)] for j in range(3)]
            try:
                results = translate_rest(url, batch, timeout=60)
                assert len(results) == 3
                done.append(1)
            except Exception as e:  # noqa: BLE001 - every failure is counted
                failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures, len(done)


def test_concurrent_clients(server):
    _, running = server
    failures, done = _hammer(running.rest_url("tiny"), seconds=8)
    assert not failures and done >= 8


@pytest.mark.slow
def test_eight_clients_for_sixty_seconds(server):
    _, running = server
    failures, done = _hammer(running.rest_url("tiny"), seconds=60)
    assert not failures and done > 0


def test_translate_cli_with_server(server, capsys):
    translator, running = server
    sources = ["Thank you.", "I am cold."]
    assert main(["translate", "--server", running.rest_url("tiny"), *sources]) == 0
    assert capsys.readouterr().out.splitlines() == translator.translate(sources)
    assert main(["translate", "--grpc", running.grpc_target, "--model-name", "tiny",
                 "Thank you."]) == 0
    assert capsys.readouterr().out.strip() == translator.translate("Thank you.")
    assert main(["translate", "--server", "http://127.0.0.1:9/v1/models/x", "hi"]) == 1
    assert "Cannot reach" in capsys.readouterr().err


def test_a_stalled_client_does_not_block_others(server):
    import socket

    translator, running = server
    stalled = socket.create_connection(("127.0.0.1", running.rest_port), timeout=30)
    stalled.sendall(b"POST /v1/models/tiny:predict HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{")
    try:
        results = translate_rest(running.rest_url("tiny"), ["Thank you."], timeout=30)
        assert results[0][0] == translator.translate("Thank you.")
    finally:
        stalled.close()
