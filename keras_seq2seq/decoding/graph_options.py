"""Grappler's rewrites for decoding graphs: one pass, no memory optimiser.

TensorFlow optimises a compiled function's graph (Grappler) the first time
it runs. By default its meta-optimiser runs every rewrite twice over the
graph, and the memory optimiser looks for tensors to swap or recompute for
backpropagation. A decoding graph is run forward only, and the second pass
removes 5 of the 1,352 nodes of ours: with the shipped model, Grappler took
0.29 s of the first call's 0.52 s (`TF_CPP_VMODULE=meta_optimizer=1`), and
one pass without the memory optimiser makes the first call 0.14 s shorter,
with passes over 1,000 sentences as fast and the same translations
(benchmarks/peers/README.md, "Two batches in flight, the collector paused,
Grappler once").

TensorFlow has no public setting for either (`tf.config.optimizer.
set_experimental_options` toggles single rewrites, not the passes), and the
options a function is called with are per thread (a decoder runs its
batches in threads). So `LeanRewrites` wraps a `tf.function` and sets
them, through `tensorflow.python.eager.context`, for each of its calls in
the calling thread only. Should that internal API change, the function is
called as it is: the same results, Grappler's default work.
"""

from __future__ import annotations

import contextlib
import threading

_lean = {}  # (serialized ConfigProto, executor) -> the lean FunctionCallOptions
_lock = threading.Lock()


def _lean_options(options):
    """A FunctionCallOptions like `options`, with one meta-optimiser pass and
    no memory optimiser."""
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
    from tensorflow.python.eager import context

    key = (options.config_proto_serialized, options.executor_type)
    with _lock:
        if key not in _lean:
            config = config_pb2.ConfigProto()
            config.ParseFromString(key[0])
            rewrites = config.graph_options.rewrite_options
            rewrites.meta_optimizer_iterations = rewriter_config_pb2.RewriterConfig.ONE
            rewrites.memory_optimization = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT
            _lean[key] = context.FunctionCallOptions(executor_type=key[1],
                                                     config_proto=config)
        return _lean[key]


@contextlib.contextmanager
def lean_rewrites_scope():
    """Run the `tf.function` calls of this block (in this thread) with the
    lean rewrites; unchanged if TensorFlow's internals differ."""
    try:
        from tensorflow.python.eager import context

        ctx = context.context()
        saved = ctx.function_call_options
        ctx.function_call_options = _lean_options(saved)
    except (ImportError, AttributeError, TypeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        ctx.function_call_options = saved


class LeanRewrites:
    """A `tf.function` whose calls run with the lean rewrites
    (`lean_rewrites_scope`); its other attributes (`get_concrete_function`,
    ...) are the function's own."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        with lean_rewrites_scope():
            return self.function(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.function, name)
