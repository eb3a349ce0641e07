"""Hostile and careless clients against the local server, on loopback.

Each case was found against the old `http.server` server (issue 18); each
test checks that the server answers it with a clear JSON error (or closes
the connection) quickly, and goes on answering good requests.
"""

import json
import os
import socket
import threading
import time

import pytest

from conftest import TINY_PAIRS
from keras_seq2seq.export import export_saved_model
from keras_seq2seq.export.limits import ServingLimits
from keras_seq2seq.export.serving import LocalServer, ServingError, translate_grpc, translate_rest

LIMITS = ServingLimits(max_body_bytes=100_000, max_instances=64, max_chars=2_000,
                       max_sentences=200, request_timeout=2.0, idle_timeout=5.0,
                       queue_timeout=5.0)


@pytest.fixture(scope="module")
def served(trained_translator, tmp_path_factory):
    translator, _, _ = trained_translator
    base = tmp_path_factory.mktemp("serving")
    export_saved_model(translator, str(base), name="tiny")
    with LocalServer(str(base), grpc_port=0, limits=LIMITS) as running:
        yield translator, running, str(base)


def _connect(running, timeout=10):
    return socket.create_connection(("127.0.0.1", running.rest_port), timeout=timeout)


def _read_all(sock, limit=1 << 20):
    """Everything the server sends until it closes (or the timeout)."""
    chunks = []
    try:
        while sum(map(len, chunks)) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except socket.timeout:
        chunks.append(b"<timeout>")
    return b"".join(chunks)


def _request(path, body, method="POST", extra=""):
    if isinstance(body, str):
        body = body.encode()
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


def _still_serving(translator, running):
    results = translate_rest(running.rest_url("tiny"), ["Thank you."], timeout=30)
    assert results[0][0] == translator.translate("Thank you.")


PREDICT = "/v1/models/tiny:predict"
GOOD = json.dumps({"inputs": {"text": ["Thank you."]}})


def test_a_billion_string_grpc_claim_is_refused(served):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    translator, running, _ = served
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    proto = request.inputs["text"]
    proto.dtype = 7  # DT_STRING
    proto.tensor_shape.dim.add().size = 1_000_000_000
    proto.string_val.append(b"a")
    assert len(request.SerializeToString()) < 64
    with grpc.insecure_channel(running.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        start = time.monotonic()
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(request, timeout=30)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "holds 1" in error.value.details()
        assert time.monotonic() - start < 5
    assert translate_grpc(running.grpc_target, "tiny", ["Thank you."])[0][0] == \
        translator.translate("Thank you.")
    with pytest.raises(ServingError, match="at most 64"):
        translate_grpc(running.grpc_target, "tiny", ["a"] * 65)


def test_oversized_body_is_answered_and_its_rest_never_runs(served):
    translator, running, _ = served
    smuggled = _request(PREDICT, GOOD)
    filler = b" " * (LIMITS.max_body_bytes + 1 - len(smuggled))
    before = running.predictions
    with _connect(running) as sock:
        try:
            sock.sendall(_request(PREDICT, filler + smuggled))
            answer = _read_all(sock)
        except ConnectionResetError:
            # The server answered 413 and closed with our body unread; the
            # kernel's reset can overtake its answer.
            answer = None
    if answer is not None:
        assert answer.startswith(b"HTTP/1.1 413") and b'{"error"' in answer
        assert answer.count(b"HTTP/1.1") == 1 and b"translation" not in answer
    # The tail was never parsed as a second request.
    time.sleep(0.5)
    assert running.predictions == before
    _still_serving(translator, running)


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "99999999999999999999"])
def test_bad_content_length_is_a_400(served, length):
    translator, running, _ = served
    with _connect(running) as sock:
        start = time.monotonic()
        sock.sendall(f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"
                     .encode())
        answer = _read_all(sock)
        assert time.monotonic() - start < 5
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 413")), answer[:200]
    _still_serving(translator, running)


def test_a_truncated_body_is_never_predicted(served):
    translator, running, _ = served
    with _connect(running) as sock:
        sock.sendall(_request(PREDICT, GOOD)[:-5])  # declared longer than sent
        sock.shutdown(socket.SHUT_WR)
        answer = _read_all(sock)
    assert b"200 OK" not in answer and b"translation" not in answer
    _still_serving(translator, running)


def test_deeply_nested_json_is_a_400(served):
    translator, running, _ = served
    body = "[" * 45_000 + "]" * 45_000  # 90 KB, under the body limit
    with _connect(running) as sock:
        sock.sendall(_request(PREDICT, body))
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400") and b"nested deeper than 16" in answer
    _still_serving(translator, running)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_get_a_json_405(served, method):
    _, running, _ = served
    with _connect(running) as sock:
        sock.sendall(_request(PREDICT, GOOD, method=method, extra="Connection: close\r\n"))
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405") and b"application/json" in head
    assert b"Allow: GET, POST" in head
    if method != "HEAD":
        assert "not supported" in json.loads(body)["error"]


@pytest.mark.parametrize("payload, message", [
    ({"inputs": {"text": []}}, "is empty"),
    ({"instances": []}, "is empty"),
    ({"inputs": {"text": ["a"] * 65}}, "at most 64 per request (--max-instances)"),
    ({"inputs": {"text": ["a" * 2001]}}, "at most 2000 (--max-chars)"),
    ({"inputs": {"text": ["Yes. " * 201]}}, "--max-sentences"),
])
def test_requests_over_a_limit_get_a_400_that_names_it(served, payload, message):
    _, running, _ = served
    with pytest.raises(ServingError, match="HTTP 400") as error:
        translate_rest(running.rest_url("tiny"),
                       payload["inputs"]["text"] if "inputs" in payload else [])
    assert message in str(error.value)


def test_a_slow_drip_client_is_cut_off_after_the_request_timeout(served):
    translator, running, _ = served
    request = _request(PREDICT, GOOD)
    with _connect(running, timeout=15) as sock:
        start = time.monotonic()
        closed = False
        for byte in request:  # one byte every 0.2 s: never idle, never done
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # reset by the server
                closed = True
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - start
    # Cut off after the 2 s deadline plus a maintenance round or two; the
    # whole request would take over 20 s at this pace.
    assert len(request) * 0.2 > 20
    assert closed and elapsed < 8, elapsed
    _still_serving(translator, running)


def _rss_mb():
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_ten_thousand_instance_request_costs_no_memory(served):
    translator, running, _ = served
    before = _rss_mb()
    for _ in range(3):
        with pytest.raises(ServingError, match="HTTP 4(00|13)"):
            translate_rest(running.rest_url("tiny"), ["Thank you."] * 10_000)
    assert _rss_mb() - before < 50
    _still_serving(translator, running)


def _clients(url, clients, requests_each):
    failures, latencies = [], []
    lock = threading.Lock()

    def client(i):
        for j in range(requests_each):
            batch = [TINY_PAIRS[(i + j + k) % len(TINY_PAIRS)][0] for k in range(3)]
            start = time.monotonic()
            try:
                assert len(translate_rest(url, batch, timeout=60)) == 3
                with lock:
                    latencies.append(time.monotonic() - start)
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with lock:
                    failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures, latencies


def test_thirty_two_concurrent_clients_without_a_failure(served):
    _, running, _ = served
    failures, latencies = _clients(running.rest_url("tiny"), clients=32, requests_each=3)
    assert not failures and len(latencies) == 96


def test_a_saturated_server_answers_503_not_a_hang(served):
    translator, running, base = served
    limits = ServingLimits(concurrent_predictions=1, queue_timeout=0.01)
    with LocalServer(base, limits=limits) as busy:
        long_batch = [" ".join(s for s, _ in TINY_PAIRS)] * 64
        results = []

        def slow():
            # Two at once with one slot: the second may be the one turned away.
            try:
                results.append(translate_rest(busy.rest_url("tiny"), long_batch, timeout=60))
            except ServingError as e:
                results.append(503 if "HTTP 503" in str(e) else str(e))

        codes = []
        threads = [threading.Thread(target=slow) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        for _ in range(20):
            try:
                translate_rest(busy.rest_url("tiny"), ["Thank you."], timeout=30)
                codes.append(200)
            except ServingError as e:
                codes.append(503 if "HTTP 503" in str(e) and "busy" in str(e) else str(e))
        for t in threads:
            t.join()
    assert 503 in codes and set(codes) <= {200, 503}, codes
    assert len(results) == 2 and any(isinstance(r, list) for r in results), results


@pytest.mark.slow
@pytest.mark.parametrize("clients", [8, 32])
def test_sixty_seconds_of_load_without_a_failure(served, clients):
    _, running, _ = served
    stop = time.monotonic() + 60
    failures, done = [], 0
    while time.monotonic() < stop:
        round_failures, latencies = _clients(running.rest_url("tiny"), clients, 1)
        failures += round_failures
        done += len(latencies)
    assert not failures and done >= clients
