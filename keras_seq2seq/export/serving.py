"""TF Serving clients (REST and gRPC) and a local server that speaks the
same protocols over an exported SavedModel.

The server exists because the tensorflow_model_server binary cannot be
installed everywhere (not on our CI machines): it implements TF Serving's
documented REST API (`GET /v1/models/NAME`, `POST
/v1/models/NAME[/versions/N]:predict` with the "instances" (row) or "inputs"
(columnar) request formats, `{"b64": ...}` for binary strings, `{"error":
...}` answers) and the gRPC `PredictionService.Predict` method, for tests and
local development. In production, run TF Serving itself:

    docker run -p 8500:8500 -p 8501:8501 \\
        -v "$PWD/serving/en-fr:/models/en-fr" -e MODEL_NAME=en-fr tensorflow/serving
"""

import base64
import binascii
import http
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf

from keras_seq2seq.errors import Seq2SeqError
from keras_seq2seq.export.limits import RequestError, ServingLimits

_PREDICT_PATH = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
_STATUS_PATH = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?$")


class ServingError(Seq2SeqError, RuntimeError):
    """The server answered with an error, or could not be reached."""


# Clients.


def _json_string(text):
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(text).decode("ascii")}
    return text


def translate_rest(url, texts, timeout=60.0, signature_name="serving_default"):
    """Translate through TF Serving's REST predict API.

    Args:
        url: str. The model's URL, e.g. `http://localhost:8501/v1/models/en-fr`
            (optionally with `/versions/N`).
        texts: list of str (or bytes).
        timeout: float. Seconds. Defaults to 60.
        signature_name: str. Defaults to "serving_default".

    Returns:
        A list of (translation, score).
    """
    body = json.dumps({
        "signature_name": signature_name,
        "inputs": {"text": [_json_string(t) for t in texts]},
    }).encode("utf-8")
    request = urllib.request.Request(
        url.rstrip("/") + ":predict", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")
        raise ServingError(f"{url} answered HTTP {e.code}: {detail[:500]}") from e
    except (urllib.error.URLError, OSError) as e:
        raise ServingError(f"Cannot reach the model server at {url}: {e}") from e
    outputs = answer.get("outputs")
    if not isinstance(outputs, dict) or "translation" not in outputs:
        raise ServingError(f"{url} answered without outputs.translation: {str(answer)[:500]}")
    return list(zip(outputs["translation"], outputs.get("score", [None] * len(texts))))


def translate_grpc(target, model_name, texts, timeout=60.0, signature_name="serving_default"):
    """Translate through TF Serving's gRPC PredictionService (port 8500).

    Args:
        target: str. `host:port`.
        model_name: str. The served model's name.
        texts: list of str (or bytes).

    Returns:
        A list of (translation, score).
    """
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    data = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(data, dtype=tf.string))
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as e:
            raise ServingError(f"gRPC Predict on {target} failed: {e.code()}: {e.details()}") from e
    translations = [t.decode("utf-8") for t in tf.make_ndarray(response.outputs["translation"])]
    scores = tf.make_ndarray(response.outputs["score"]).tolist()
    return list(zip(translations, scores))


# The local server.


class _Models:
    """The latest version of every model under a base path, loaded once."""

    def __init__(self, base_path):
        self.base_path = base_path
        self.models = {}
        if not os.path.isdir(base_path):
            raise ServingError(f"Model base path not found: {base_path}")
        for name in sorted(os.listdir(base_path)):
            versions = [int(v) for v in os.listdir(os.path.join(base_path, name)) if v.isdigit()]
            if versions:
                version = max(versions)
                loaded = tf.saved_model.load(os.path.join(base_path, name, str(version)))
                self.models[name] = (version, loaded)
        if not self.models:
            raise ServingError(f"No exported model (NAME/VERSION/) under {base_path}")

    def signature(self, name, version, signature_name):
        if name not in self.models:
            raise LookupError(f"Servable not found for request: Latest({name})")
        served, model = self.models[name]
        if version is not None and int(version) != served:
            raise LookupError(f"Servable not found for request: Specific({name}, {version})")
        if signature_name not in model.signatures:
            raise ValueError(f"Serving signature name: \"{signature_name}\" not found in "
                             "signature def")
        return model.signatures[signature_name]


def _decode_json_value(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"], validate=True)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ValueError(f"Unsupported input value of type {type(value).__name__}")


def _inputs_from_request(request, signature):
    """TF Serving's row ("instances") or columnar ("inputs") format -> tensors."""
    if not isinstance(request, dict):
        raise ValueError("The request body must be a JSON object.")
    specs = signature.structured_input_signature[1]
    if ("instances" in request) == ("inputs" in request):
        raise ValueError("Request must have exactly one of 'instances' or 'inputs'.")
    if "instances" in request:
        instances = request["instances"]
        if not isinstance(instances, list):
            raise ValueError("'instances' must be a list.")
        if len(specs) == 1:
            (key,) = specs

            def value(instance):
                if isinstance(instance, dict) and "b64" not in instance:
                    if key not in instance:
                        raise ValueError(f"An instance has no '{key}'.")
                    return instance[key]
                return instance

            columns = {key: [value(i) for i in instances]}
        else:
            if not all(isinstance(i, dict) for i in instances):
                raise ValueError("Each instance must be an object with the signature's inputs.")
            columns = {key: [i.get(key) for i in instances] for key in specs}
    else:
        columns = request["inputs"]
        if len(specs) == 1 and not isinstance(columns, dict):
            columns = {next(iter(specs)): columns}
        if not isinstance(columns, dict):
            raise ValueError("'inputs' must be an object with the signature's inputs.")
    missing = sorted(set(specs) - set(columns))
    if missing:
        raise ValueError(f"Missing input(s): {missing}")
    tensors = {}
    for key, spec in specs.items():
        values = columns[key]
        if spec.dtype == tf.string:
            if not isinstance(values, list):
                raise ValueError(f"Input '{key}' must be a list of strings.")
            values = [_decode_json_value(v) for v in values]
            if not all(isinstance(v, bytes) for v in values):
                raise ValueError(f"Input '{key}' must contain strings.")
        tensors[key] = tf.constant(values, dtype=spec.dtype)
        if not spec.shape.is_compatible_with(tensors[key].shape):
            raise ValueError(f"Input '{key}' has shape {tensors[key].shape.as_list()}, "
                             f"the signature expects {spec.shape.as_list()}.")
    return tensors


def _json_output(tensor):
    array = tensor.numpy()
    if tensor.dtype == tf.string:
        def convert(x):
            return [convert(v) for v in x] if isinstance(x, list) else x.decode("utf-8", "replace")
        return convert(array.tolist())
    return array.tolist()


_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f]+")
# A JSON string (with escapes) or a bracket: strings are skipped whole, in C.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _check_json_depth(body, limit):
    # Python's json module recurses once per level and raises RecursionError
    # (deep in C) past about a thousand; refuse deep bodies before parsing.
    depth = 0
    for match in _JSON_TOKEN.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise RequestError(f"JSON nested deeper than {limit} levels.")
        elif token in (b"]", b"}"):
            depth -= 1


def _check_limits(tensors, limits):
    """Per-request limits on the (already converted) string inputs."""
    for key, tensor in tensors.items():
        if tensor.dtype != tf.string:
            continue
        if tensor.shape.rank == 1 and tensor.shape[0] == 0:
            raise RequestError(f"Input '{key}' is empty: send at least one string.")
        count = tensor.shape.num_elements()
        if count > limits.max_instances:
            raise RequestError(f"Input '{key}' has {count} strings; at most "
                               f"{limits.max_instances} per request (--max-instances).")
        texts = [t.decode("utf-8", "replace") for t in tensor.numpy().reshape(-1)]
        longest = max((len(t) for t in texts), default=0)
        if longest > limits.max_chars:
            raise RequestError(f"Input '{key}' has a string of {longest} characters; at "
                               f"most {limits.max_chars} (--max-chars).")
        sentences = sum(max(1, len(_SENTENCE_END.findall(t))) for t in texts)
        if sentences > limits.max_sentences:
            raise RequestError(f"Input '{key}' has {sentences} sentence ends; at most "
                               f"{limits.max_sentences} per request (--max-sentences): "
                               "split it into several requests.")


class _Predictor:
    """Runs signatures for both protocols, at most N at once, in order of arrival."""

    def __init__(self, models, limits):
        self.models = models
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.concurrent_predictions)
        # Signature calls made: what tests of request framing check.
        self.predictions = 0
        self._count = threading.Lock()

    def run(self, signature, inputs):
        _check_limits(inputs, self.limits)
        if not self._slots.acquire(timeout=self.limits.queue_timeout):
            raise RequestError(
                f"The server is busy: no prediction slot within {self.limits.queue_timeout:g} "
                "s. Retry later.", status=503)
        try:
            with self._count:  # two predictions may run at once
                self.predictions += 1
            return signature(**inputs)
        finally:
            self._slots.release()


def _rest_predict(predictor, model_name, version, body):
    """(status, payload) for POST :predict."""
    try:
        _check_json_depth(body, predictor.limits.max_json_depth)
        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RequestError(f"The request body is not valid JSON: {e}") from None
        signature = predictor.models.signature(
            model_name, version,
            request.get("signature_name", "serving_default")
            if isinstance(request, dict) else "serving_default",
        )
        inputs = _inputs_from_request(request, signature)
        outputs = predictor.run(signature, inputs)
    except LookupError as e:
        return 404, {"error": str(e)}
    except RequestError as e:
        return e.status, {"error": str(e)}
    except (ValueError, TypeError, binascii.Error) as e:
        return 400, {"error": str(e)}
    except tf.errors.OpError as e:
        # The op's own message, without TensorFlow's "Graph execution error:"
        # preamble and traceback.
        return 400, {"error": (e.message or str(e)).strip().splitlines()[-1][:500]}
    if "instances" in request:
        names = sorted(outputs)
        rows = list(zip(*(_json_output(outputs[n]) for n in names)))
        predictions = [dict(zip(names, row)) for row in rows]
        if len(names) == 1:
            predictions = [row[names[0]] for row in predictions]
        return 200, {"predictions": predictions}
    return 200, {"outputs": {n: _json_output(t) for n, t in outputs.items()}}


class _RestApp:
    """TF Serving's REST API as a WSGI application (served by waitress)."""

    def __init__(self, predictor, verbose=False):
        self.predictor = predictor
        self.verbose = verbose

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method == "GET":
            status, payload = self._status(path)
        elif method == "POST":
            match = _PREDICT_PATH.match(path)
            if not match:
                status, payload = 404, {"error": f"Malformed request: POST {path}"}
            else:
                # waitress has read the whole body (within max_body_bytes)
                # before the application runs.
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length)
                status, payload = _rest_predict(self.predictor, match.group(1),
                                                match.group(2), body)
        else:
            status, payload = 405, {"error": f"Method {method} is not supported: GET a "
                                    "model's status, POST to its :predict."}
        if self.verbose:
            print(f"{environ.get('REMOTE_ADDR', '-')} {method} {path} {status}", flush=True)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if status == 405:
            headers.append(("Allow", "GET, POST"))
        if status == 503:
            headers.append(("Retry-After", "1"))
        start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
        return [body] if method != "HEAD" else []

    def _status(self, path):
        match = _STATUS_PATH.match(path)
        models = self.predictor.models.models
        if not match or match.group(1) not in models:
            return 404, {"error": f"Could not find a model at {path}"}
        version, _ = models[match.group(1)]
        return 200, {"model_version_status": [
            {"version": str(version), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}]}


def _waitress_classes():
    # Why waitress (a pure-Python production WSGI server, Pylons project)
    # rather than http.server: it reads every request whole in one
    # asynchronous loop before a worker thread sees it, so slow or stalled
    # clients hold no thread; it answers a bad Content-Length, a body over
    # its limit or a truncated body with an error and closes the connection
    # (no request smuggling); and it bounds connections and threads. What it
    # lacks is added here: a deadline on receiving a whole request (its
    # channel_timeout restarts at every byte).
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask

    class JsonErrorTask(ErrorTask):
        # waitress's own errors (bad framing, body too large) in TF
        # Serving's {"error": ...} form; the connection still closes after.
        def execute(self):
            error = self.request.error
            body = json.dumps({"error": f"{error.reason}: {error.body}"}).encode("utf-8")
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Channel(HTTPChannel):
        error_task_class = JsonErrorTask
        receiving_since = None

        def received(self, data):
            if data and self.request is None:
                self.receiving_since = time.time()
            return super().received(data)

    class Server(TcpWSGIServer):
        channel_class = Channel
        request_timeout = 30.0

        def maintenance(self, now):
            super().maintenance(now)
            cutoff = now - self.request_timeout
            for channel in list(self.active_channels.values()):
                started = channel.receiving_since
                if (channel.request is not None and not channel.requests
                        and started is not None and started < cutoff):
                    channel.will_close = True

    return Server


def _tensor_from_proto(name, proto, spec, limits):
    """A request's TensorProto as a tensor, checked before it is expanded.

    `tf.make_ndarray` repeats the last value to fill the declared shape, so
    a 34-byte proto claiming a billion strings would become a billion
    strings; the shape must agree with the values it holds.
    """
    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims):
        raise RequestError(f"Input '{name}' has a negative dimension in {dims}.")
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    if proto.dtype != spec.dtype.as_datatype_enum:
        raise RequestError(f"Input '{name}' has dtype {tf.as_dtype(proto.dtype).name}, "
                           f"the signature expects {spec.dtype.name}.")
    if spec.dtype == tf.string:
        held = len(proto.string_val)
    elif proto.tensor_content:
        held = len(proto.tensor_content) // spec.dtype.size
    else:
        held = max((len(getattr(proto, f.name)) for f, _ in proto.ListFields()
                    if f.name.endswith("_val")), default=0)
    if held != count:
        raise RequestError(f"Input '{name}' declares shape {dims} ({count} values) but holds "
                           f"{held}.")
    if count > limits.max_instances:
        raise RequestError(f"Input '{name}' has {count} values; at most "
                           f"{limits.max_instances} per request (--max-instances).")
    tensor = tf.constant(tf.make_ndarray(proto), spec.dtype)
    if not spec.shape.is_compatible_with(tensor.shape):
        raise RequestError(f"Input '{name}' has shape {dims}, the signature expects "
                           f"{spec.shape.as_list()}.")
    return tensor


class _PredictionServicer:
    """gRPC PredictionService.Predict over the same models."""

    def __init__(self, predictor):
        self.predictor = predictor

    def Predict(self, request, context):
        import grpc
        from tensorflow_serving.apis import predict_pb2

        codes = {404: grpc.StatusCode.NOT_FOUND, 503: grpc.StatusCode.UNAVAILABLE}
        try:
            signature = self.predictor.models.signature(
                request.model_spec.name,
                request.model_spec.version.value if request.model_spec.HasField("version")
                else None,
                request.model_spec.signature_name or "serving_default",
            )
            specs = signature.structured_input_signature[1]
            missing = sorted(set(specs) - set(request.inputs))
            if missing:
                raise RequestError(f"Missing input(s): {missing}")
            inputs = {k: _tensor_from_proto(k, request.inputs[k], specs[k],
                                            self.predictor.limits) for k in specs}
            outputs = self.predictor.run(signature, inputs)
        except LookupError as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        except RequestError as e:
            context.abort(codes.get(e.status, grpc.StatusCode.INVALID_ARGUMENT), str(e))
        except (ValueError, TypeError, tf.errors.OpError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e).splitlines()[0][:500])
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for name, tensor in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(tensor.numpy()))
        return response


class LocalServer:
    """Serve every model under a TF Serving base path.

    For development and tests: it listens on 127.0.0.1 unless told
    otherwise, and has no authentication and no TLS (see the README's
    "Serving" section for production).

    Args:
        base_path: str. `BASE/NAME/VERSION/` exports; the latest version of
            each name is served.
        rest_port: int. 0 picks a free port. Defaults to 0.
        grpc_port: int or None. Also serve gRPC on this port (0 picks a free
            one). Defaults to None (REST only).
        verbose: bool. Log every request. Defaults to False.
        host: str. The address to bind. Defaults to "127.0.0.1".
        limits: ServingLimits or None. Defaults to `ServingLimits()`.

    Use as a context manager; `rest_url(name)` and `grpc_target` tell where.
    """

    def __init__(self, base_path, rest_port=0, grpc_port=None, verbose=False, host="127.0.0.1",
                 limits=None):
        self.limits = limits or ServingLimits()
        self.models = _Models(base_path)
        self._predictor = _Predictor(self.models, self.limits)
        limits = self.limits
        if not verbose:
            # waitress logs queue depth and overflow warnings per request.
            logging.getLogger("waitress").setLevel(logging.ERROR)
        server_class = _waitress_classes()
        self._http = server_class(
            _RestApp(self._predictor, verbose), host=host, port=rest_port,
            threads=limits.threads, connection_limit=limits.max_connections,
            backlog=limits.backlog, max_request_body_size=limits.max_body_bytes,
            channel_timeout=int(max(1, limits.idle_timeout)), cleanup_interval=1,
            asyncore_loop_timeout=1, ident="keras-seq2seq-serving",
            clear_untrusted_proxy_headers=True,
        )
        self._http.request_timeout = limits.request_timeout
        self.host = host
        self.rest_port = self._http.effective_port
        self._grpc = None
        self.grpc_port = None
        if grpc_port is not None:
            from concurrent import futures

            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc

            self._grpc = grpc.server(
                futures.ThreadPoolExecutor(max_workers=limits.threads),
                maximum_concurrent_rpcs=limits.max_connections,
                options=[("grpc.max_receive_message_length", limits.max_body_bytes)],
            )
            servicer = type("Servicer", (_PredictionServicer,
                                         prediction_service_pb2_grpc.PredictionServiceServicer),
                            {})(self._predictor)
            prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
                servicer, self._grpc
            )
            self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
        self._thread = None

    @property
    def predictions(self):
        """How many predictions (signature calls) the server has run."""
        return self._predictor.predictions

    def rest_url(self, name):
        return f"http://{self.host}:{self.rest_port}/v1/models/{name}"

    def decoding(self, name):
        """The decoding settings (DecodingConfig) baked into the served
        version of `name`, or None for an export that did not record them."""
        from keras_seq2seq.export.saved_model import read_export_record

        version, _ = self.models.models[name]
        return read_export_record(os.path.join(self.models.base_path, name, str(version)))

    @property
    def grpc_target(self):
        return f"{self.host}:{self.grpc_port}"

    def start(self):
        self._thread = threading.Thread(target=self._http.run, daemon=True)
        self._thread.start()
        if self._grpc is not None:
            self._grpc.start()
        return self

    def serve_forever(self):
        if self._grpc is not None:
            self._grpc.start()
        self._http.run()

    def stop(self):
        from waitress import wasyncore

        self._http.task_dispatcher.shutdown()
        wasyncore.close_all(self._http._map)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._grpc is not None:
            self._grpc.stop(grace=None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
