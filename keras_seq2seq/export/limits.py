"""The local server's limits (no TensorFlow here: the CLI reads the defaults
for `serve --help`)."""

import dataclasses

from keras_seq2seq.errors import ConfigurationError, Seq2SeqError


@dataclasses.dataclass(frozen=True)
class ServingLimits:
    """What one request may ask of the local server, and how it queues.

    Every limit is checked before any TensorFlow work, on REST and gRPC
    alike; a request over one gets a 400 (gRPC INVALID_ARGUMENT) that names
    it. The defaults admit a few hundred paragraphs per request.
    """

    # Request body (REST) or message (gRPC) size.
    max_body_bytes: int = 4_194_304
    # Strings per request (rows of the "text" input).
    max_instances: int = 256
    # Characters per string.
    max_chars: int = 50_000
    # Sentence ends (".", "!", "?", ...) in a whole request: each sentence is
    # a row of the search, so this bounds its memory. Counted, not split: an
    # abbreviation counts too, so the real sentences are fewer.
    max_sentences: int = 1024
    # Nesting of JSON arrays and objects (TF Serving's formats need 3).
    max_json_depth: int = 16
    # Seconds from a request's first byte to its last (headers and body); a
    # client that sends slower is disconnected, however steadily it drips.
    request_timeout: float = 30.0
    # Seconds an idle keep-alive connection stays open.
    idle_timeout: float = 60.0
    # Threads that parse requests and run the model (REST, and the same for
    # gRPC); connections beyond `max_connections` wait in the listen backlog.
    threads: int = 8
    max_connections: int = 512
    backlog: int = 1024
    # Predictions run at once (each uses all the CPU cores TensorFlow has); a
    # request that waits longer than `queue_timeout` seconds for its turn is
    # answered 503 (gRPC UNAVAILABLE) so a client can retry elsewhere.
    concurrent_predictions: int = 2
    queue_timeout: float = 30.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            if getattr(self, field.name) <= 0:
                raise ConfigurationError(f"ServingLimits.{field.name} must be > 0, "
                                         f"got {getattr(self, field.name)}.")


class RequestError(Seq2SeqError, ValueError):
    """A request the server refuses: (status, message)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status
