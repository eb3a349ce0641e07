"""`keras-seq2seq web --model DIR --port N`: the in-browser translator page."""


def add_parser(subparsers):
    p = subparsers.add_parser(
        "web", help="Serve a page that translates in the browser with a TFLite export "
        "(LiteRT.js in a Web Worker; every asset from this machine).")
    p.add_argument("--model", default="saved_models/en-fr/tflite",
                   help="A TFLite export directory (default: %(default)s).")
    p.add_argument("--port", type=int, default=8000, help="Port (default: %(default)s; 0: any).")
    p.add_argument("--host", default="127.0.0.1", help="Address (default: %(default)s).")
    p.set_defaults(func=web)


def web(args, parser):
    from keras_seq2seq.web import serve_web

    try:
        serve_web(args.model, args.port, args.host)
    except KeyboardInterrupt:
        pass
