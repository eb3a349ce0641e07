"""The explorer's web app: a Flask app (page, static files, JSON API) served
by waitress, the same production server as `keras-seq2seq serve`.

The page is `static/index.html` and `static/explorer.js` (written for this
project: the views are specific to seq2seq); the charts are drawn by
plotly.js, served from the installed plotly package, so the page loads
nothing from the internet.

JSON API (POST, JSON bodies; every error is `{"error": message}` with a 4xx
status, and the server keeps answering):

- `GET /api/model`: the model (kind, attention, sizes).
- `POST /api/encode {"text"}`: tokens, ids, reading order, final states.
- `POST /api/decode {"text", "prefix": [ids], "top_k"}`: the step-by-step
  decoder (the prefix tokens are fed back first, then the most likely ones).
- `POST /api/teacher {"text", "reference"}`: teacher forcing.
- `POST /api/beam {"text", "beam_size", "alpha"}`: the beam tree.
- `POST /api/caption` (multipart: `image`, and `prefix`/`top_k`/`beam_size`
  fields): a captioning model's decoder and beams for an uploaded image.
- `POST /api/toy`: train the `seed_toy` walk-through model (seconds) and
  explore it from now on.
"""

import importlib.resources
import json
import logging
import tempfile

from keras_seq2seq.explore.core import ExploreError, Explorer, toy_translator

logger = logging.getLogger("keras_seq2seq")

MAX_REQUEST_BYTES = 8 * 1024 * 1024
STATIC = importlib.resources.files("keras_seq2seq.explore") / "static"


def _plotly_js():
    return (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()


def create_app(explorer):
    """The Flask app around an `Explorer` (replaced by `/api/toy`)."""
    import flask

    app = flask.Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.json.sort_keys = False
    current = {"explorer": explorer}

    def error(message, status=400):
        return flask.jsonify(error=message), status

    def body():
        data = flask.request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ExploreError("The request body must be a JSON object, e.g. "
                               '{"text": "Nice to meet you."}.')
        return data

    def text_of(data, explorer):
        if explorer.is_captioner:
            raise ExploreError("This is a captioning model: upload an image (/api/caption).")
        return data.get("text")

    @app.errorhandler(ExploreError)
    def explore_error(e):
        return error(str(e))

    @app.errorhandler(413)
    def too_large(e):
        return error(f"The request is over {MAX_REQUEST_BYTES // (1024 * 1024)} MB.", 413)

    @app.errorhandler(404)
    def not_found(e):
        return error(f"No such page or API: {flask.request.path}", 404)

    @app.errorhandler(405)
    def wrong_method(e):
        return error(f"{flask.request.method} is not allowed on {flask.request.path}.", 405)

    @app.errorhandler(Exception)
    def internal(e):
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):  # a malformed request, not a bug
            return error(e.description or e.name, e.code or 400)
        # A bug must not take the server down: log it, answer, keep serving.
        logger.exception("explore: %s failed", flask.request.path)
        return error(f"Internal error ({type(e).__name__}); the server log has the details.",
                     500)

    @app.get("/")
    def index():
        return flask.Response((STATIC / "index.html").read_bytes(), mimetype="text/html")

    @app.get("/static/<name>")
    def static_file(name):
        types = {".js": "text/javascript", ".css": "text/css"}
        if name == "plotly.min.js":
            data = _plotly_js()
        else:
            resource = STATIC / name
            if "/" in name or not resource.is_file():
                return error(f"No such file: {name}", 404)
            data = resource.read_bytes()
        suffix = name[name.rfind("."):]
        response = flask.Response(data, mimetype=types.get(suffix, "application/octet-stream"))
        response.cache_control.max_age = 3600
        return response

    @app.get("/api/model")
    def model_info():
        return flask.jsonify(current["explorer"].info())

    @app.post("/api/encode")
    def encode():
        e = current["explorer"]
        return flask.jsonify(e.encode(text_of(body(), e)))

    @app.post("/api/decode")
    def decode():
        e, data = current["explorer"], body()
        return flask.jsonify(e.decode(text_of(data, e), data.get("prefix", []),
                                      data.get("top_k", 5)))

    @app.post("/api/teacher")
    def teacher():
        e, data = current["explorer"], body()
        return flask.jsonify(e.teacher_forcing(text_of(data, e), data.get("reference")))

    @app.post("/api/beam")
    def beam():
        e, data = current["explorer"], body()
        alpha = data.get("alpha", e.decoder.decoding.alpha)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 2:
            raise ExploreError(f"alpha must be a number from 0 to 2, got {alpha!r}.")
        return flask.jsonify(e.beam(text_of(data, e), data.get("beam_size"), float(alpha)))

    @app.post("/api/caption")
    def caption():
        from keras_seq2seq.captioning.images import ImageError, load_images

        e = current["explorer"]
        if not e.is_captioner:
            raise ExploreError("This model translates text; captions need a captioning model "
                               "(`keras-seq2seq explore --model CAPTIONER_DIR`).")
        upload = flask.request.files.get("image")
        if upload is None:
            raise ExploreError("Upload an image as the form field 'image'.")
        try:
            image = load_images([upload.read()], e.config.image_height, e.config.image_width)
        except ImageError as err:
            raise ExploreError(f"{upload.filename or 'The upload'} is not an image this model "
                               f"can read: {err}") from None
        form = flask.request.form
        try:
            prefix = json.loads(form.get("prefix", "[]"))
            top_k = int(form.get("top_k", 5))
            beam_size = int(form.get("beam_size", e.decoder.decoding.beam_size))
        except ValueError:
            raise ExploreError("prefix must be a JSON list; top_k and beam_size whole "
                               "numbers.") from None
        return flask.jsonify(decode=e.decode(image, prefix, top_k),
                             beam=e.beam(image, beam_size))

    @app.post("/api/toy")
    def toy():
        # Trained in a temporary directory; kept for the server's life.
        directory = tempfile.mkdtemp(prefix="keras-seq2seq-toy-")
        with current["explorer"].lock:
            translator = toy_translator(directory)
        current["explorer"] = Explorer(translator, label="seed_toy walk-through model")
        return flask.jsonify(current["explorer"].info())

    return app


def serve_explorer(explorer, host="127.0.0.1", port=8008, threads=4, on_ready=None):
    """Serve the explorer with waitress until interrupted.

    `on_ready(url)` is called once the socket listens (port 0 picks a free
    one).
    """
    import waitress

    server = waitress.create_server(create_app(explorer), host=host, port=port,
                                    threads=threads, max_request_body_size=MAX_REQUEST_BYTES,
                                    clear_untrusted_proxy_headers=True)
    url = f"http://{host}:{server.effective_port}/"
    if on_ready:
        on_ready(url)
    try:
        server.run()
    finally:
        server.close()
