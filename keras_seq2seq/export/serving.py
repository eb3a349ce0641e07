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
import http.server
import json
import os
import re
import threading
import urllib.error
import urllib.request

import tensorflow as tf

MAX_BODY_BYTES = 10 * 1024 * 1024
_PREDICT_PATH = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
_STATUS_PATH = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?$")


class ServingError(RuntimeError):
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


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "keras-seq2seq-serving"
    protocol_version = "HTTP/1.1"
    # A client that stops sending mid-request frees its thread after this.
    timeout = 60

    def log_message(self, format, *args):  # quiet by default
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status, payload):
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        match = _STATUS_PATH.match(self.path)
        if not match or match.group(1) not in self.server.models.models:
            return self._send(404, {"error": f"Could not find a model at {self.path}"})
        version, _ = self.server.models.models[match.group(1)]
        self._send(200, {"model_version_status": [
            {"version": str(version), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}]})

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return self._send(400, {"error": "Invalid Content-Length"})
        if length > MAX_BODY_BYTES:
            return self._send(413, {"error": f"Request body over {MAX_BODY_BYTES} bytes"})
        body = self.rfile.read(length)
        match = _PREDICT_PATH.match(self.path)
        if not match:
            return self._send(404, {"error": f"Malformed request: POST {self.path}"})
        try:
            request = json.loads(body.decode("utf-8"))
            signature = self.server.models.signature(
                match.group(1), match.group(2),
                request.get("signature_name", "serving_default")
                if isinstance(request, dict) else "serving_default",
            )
            inputs = _inputs_from_request(request, signature)
        except LookupError as e:
            return self._send(404, {"error": str(e)})
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            return self._send(400, {"error": str(e)})
        try:
            outputs = signature(**inputs)
        except (tf.errors.OpError, ValueError, TypeError) as e:
            return self._send(400, {"error": str(e).splitlines()[0][:500]})
        if "instances" in request:
            names = sorted(outputs)
            rows = list(zip(*(_json_output(outputs[n]) for n in names)))
            predictions = [dict(zip(names, row)) for row in rows]
            if len(names) == 1:
                predictions = [row[names[0]] for row in predictions]
            return self._send(200, {"predictions": predictions})
        self._send(200, {"outputs": {n: _json_output(t) for n, t in outputs.items()}})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _PredictionServicer:
    """gRPC PredictionService.Predict over the same models."""

    def __init__(self, models):
        self.models = models

    def Predict(self, request, context):
        import grpc
        from tensorflow_serving.apis import predict_pb2

        try:
            signature = self.models.signature(
                request.model_spec.name,
                request.model_spec.version.value if request.model_spec.HasField("version")
                else None,
                request.model_spec.signature_name or "serving_default",
            )
            specs = signature.structured_input_signature[1]
            inputs = {k: tf.constant(tf.make_ndarray(request.inputs[k]), specs[k].dtype)
                      for k in specs if k in request.inputs}
            missing = sorted(set(specs) - set(inputs))
            if missing:
                raise ValueError(f"Missing input(s): {missing}")
            outputs = signature(**inputs)
        except LookupError as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        except (ValueError, TypeError, tf.errors.OpError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e).splitlines()[0][:500])
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for name, tensor in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(tensor.numpy()))
        return response


class LocalServer:
    """Serve every model under a TF Serving base path on localhost.

    Args:
        base_path: str. `BASE/NAME/VERSION/` exports; the latest version of
            each name is served.
        rest_port: int. 0 picks a free port. Defaults to 0.
        grpc_port: int or None. Also serve gRPC on this port (0 picks a free
            one). Defaults to None (REST only).
        verbose: bool. Log every request. Defaults to False.

    Use as a context manager; `rest_url(name)` and `grpc_target` tell where.
    """

    def __init__(self, base_path, rest_port=0, grpc_port=None, verbose=False, host="127.0.0.1"):
        self.models = _Models(base_path)
        self._http = _Server((host, rest_port), _Handler)
        self._http.models = self.models
        self._http.verbose = verbose
        self.host = host
        self.rest_port = self._http.server_address[1]
        self._grpc = None
        self.grpc_port = None
        if grpc_port is not None:
            from concurrent import futures

            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc

            self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
            servicer = type("Servicer", (_PredictionServicer,
                                         prediction_service_pb2_grpc.PredictionServiceServicer),
                            {})(self.models)
            prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
                servicer, self._grpc
            )
            self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
        self._thread = None

    def rest_url(self, name):
        return f"http://{self.host}:{self.rest_port}/v1/models/{name}"

    @property
    def grpc_target(self):
        return f"{self.host}:{self.grpc_port}"

    def start(self):
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        if self._grpc is not None:
            self._grpc.start()
        return self

    def serve_forever(self):
        if self._grpc is not None:
            self._grpc.start()
        self._http.serve_forever()

    def stop(self):
        self._http.shutdown()
        self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
