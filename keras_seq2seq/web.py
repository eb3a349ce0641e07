"""`keras-seq2seq web`: the in-browser translator page, served locally.

Serves web/ (the page, its Web Worker and the ES module that holds the text
side and the searches), LiteRT.js from web/node_modules (its JavaScript and
.wasm files: no CDN) and the four files of a TFLite export. The browser
downloads the model and translates with it; no text reaches the server.
The responses carry the cross-origin isolation headers (COOP/COEP), which
let LiteRT.js use its multi-threaded WASM build.
"""

from __future__ import annotations

import http.server
import mimetypes
import os
import pathlib

from keras_seq2seq.errors import ConfigurationError

WEB_DIR = pathlib.Path(__file__).resolve().parents[1] / "web"
PAGE_FILES = ("index.html", "page.mjs", "worker.js", "seq2seq.mjs")
MODEL_FILES = ("tflite_config.json", "model.tflite", "source_vocab.txt", "target_vocab.txt")
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".html": "text/html; charset=utf-8", ".json": "application/json",
         ".txt": "text/plain; charset=utf-8", ".tflite": "application/octet-stream"}


def _litert_dirs(web_dir):
    modules = web_dir / "node_modules" / "@litertjs"
    core, utils = modules / "core", modules / "wasm-utils"
    if not (core / "dist" / "index.js").is_file():
        raise ConfigurationError(f"LiteRT.js is not installed in {web_dir}: run `npm ci` there.")
    return core, utils


def routes(model_dir, web_dir=WEB_DIR):
    """{URL path: (file, rewrite)}: every file the page may ask for."""
    web_dir = pathlib.Path(web_dir)
    model_dir = pathlib.Path(model_dir)
    if not (model_dir / "tflite_config.json").is_file():
        raise ConfigurationError(f"{model_dir} is not a TFLite export (no tflite_config.json): "
                                 "write one with `keras-seq2seq export --format tflite`.")
    core, utils = _litert_dirs(web_dir)
    table = {"/": (web_dir / "index.html", None)}
    table.update({f"/app/{name}": (web_dir / name, None) for name in PAGE_FILES})
    # The browser cannot resolve the package's bare import: point it here.
    table["/litert/core.js"] = (core / "dist" / "index.js",
                                (b'from "@litertjs/wasm-utils"', b'from "/litert/wasm-utils.js"'))
    table["/litert/wasm-utils.js"] = (utils / "dist" / "index.js", None)
    for path in (core / "wasm").iterdir():
        table[f"/litert/wasm/{path.name}"] = (path, None)
        # The Emscripten build looks for its .wasm (and its pthread workers
        # for its script) beside the worker that loaded it.
        table[f"/app/{path.name}"] = (path, None)
    for name in MODEL_FILES:
        if (model_dir / name).is_file():
            table[f"/model/{name}"] = (model_dir / name, None)
    return table


def make_server(model_dir, port=8000, host="127.0.0.1", web_dir=WEB_DIR):
    """A ThreadingHTTPServer for the page and the model (call serve_forever)."""
    table = routes(model_dir, web_dir)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self._send(body=True)

        def do_HEAD(self):  # noqa: N802
            self._send(body=False)

        def _send(self, body):
            entry = table.get(self.path.split("?", 1)[0])
            if entry is None:
                self.send_error(404)
                return
            path, rewrite = entry
            data = path.read_bytes()
            if rewrite:
                data = data.replace(*rewrite)
            kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            self.send_response(200)
            self.send_header("Content-Type", kind or "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if body:
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the browser gave up on this file (a page left)

        def log_message(self, format, *args):  # quiet
            if os.environ.get("KERAS_SEQ2SEQ_WEB_LOG"):
                super().log_message(format, *args)

    return http.server.ThreadingHTTPServer((host, port), Handler)


def serve_web(model_dir, port=8000, host="127.0.0.1"):
    server = make_server(model_dir, port, host)
    print(f"Translator page on http://{host}:{server.server_address[1]}/ "
          f"(model {model_dir}; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
