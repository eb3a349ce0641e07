"""The local server's limits (no TensorFlow here: the CLI reads the defaults
for `serve --help`)."""

import dataclasses

from keras_seq2seq.errors import ConfigurationError, Seq2SeqError
from keras_seq2seq.settings import Settings, setting


@dataclasses.dataclass(frozen=True)
class ServingLimits(Settings):
    """What one request may ask of the local server, and how it queues.

    Every limit is checked before any TensorFlow work, on REST and gRPC
    alike; a request over one gets a 400 (gRPC INVALID_ARGUMENT) that names
    it. The defaults admit a few hundred paragraphs per request.

    >>> ServingLimits(max_instances=8).max_instances
    8
    """

    max_body_bytes: int = setting(4_194_304, "Largest request body (REST) or message (gRPC).")
    max_instances: int = setting(256, "Most strings per request.")
    max_chars: int = setting(50_000, "Most characters per string.")
    # Each sentence is a row of the search, so this bounds its memory.
    # Counted, not split: an abbreviation counts too.
    max_sentences: int = setting(1024, "Most sentence ends (. ! ? ...) per request.")
    # TF Serving's formats need 3.
    max_json_depth: int = setting(16, "Deepest JSON nesting.")
    # A client that sends slower is disconnected, however steadily it drips.
    request_timeout: float = setting(30.0, "Seconds to receive a whole request (headers and "
                                     "body).")
    idle_timeout: float = setting(60.0, "Seconds an idle keep-alive connection stays open.")
    # Connections beyond `max_connections` wait in the listen backlog.
    threads: int = setting(8, "Request threads (REST, and the same for gRPC).")
    max_connections: int = setting(512, "Open connections at once; more wait in the backlog.")
    backlog: int = setting(1024, "Connections waiting to be accepted.")
    # Each prediction uses all the CPU cores TensorFlow has.
    concurrent_predictions: int = setting(2, "Predictions run at once.")
    queue_timeout: float = setting(30.0, "Seconds a request waits for a prediction slot "
                                   "before a 503 (gRPC UNAVAILABLE).")

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
