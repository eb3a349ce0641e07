"""Decoding graphs optimised by Grappler in one pass (decoding/graph_options.py)."""

import threading

import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

from keras_seq2seq.decoding.graph_options import LeanRewrites, lean_rewrites_scope


def _rewrites():
    config = config_pb2.ConfigProto()
    config.ParseFromString(context.context().function_call_options.config_proto_serialized)
    return config.graph_options.rewrite_options


def test_the_scope_sets_one_pass_without_the_memory_optimiser_in_its_thread_only():
    before = _rewrites()
    seen_elsewhere = []
    with lean_rewrites_scope():
        inside = _rewrites()
        other = threading.Thread(target=lambda: seen_elsewhere.append(_rewrites()))
        other.start()
        other.join()
    assert inside.meta_optimizer_iterations == rewriter_config_pb2.RewriterConfig.ONE
    assert inside.memory_optimization == rewriter_config_pb2.RewriterConfig.NO_MEM_OPT
    for untouched in (before, _rewrites(), seen_elsewhere[0]):
        assert untouched.meta_optimizer_iterations != rewriter_config_pb2.RewriterConfig.ONE
        assert untouched.memory_optimization != rewriter_config_pb2.RewriterConfig.NO_MEM_OPT


def test_a_lean_function_computes_what_the_function_computes():
    def search(x):
        total = tf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 1.5 + x),
                              (tf.constant(0), tf.zeros_like(x)))[1]
        return tf.nn.log_softmax(total)

    spec = [tf.TensorSpec([None], tf.float32)]
    plain = tf.function(search, input_signature=spec)
    lean = LeanRewrites(tf.function(search, input_signature=spec))
    x = tf.constant([0.5, -1.0, 2.0])
    assert lean(x).numpy().tolist() == plain(x).numpy().tolist()
    # The function's own attributes pass through.
    assert lean.get_concrete_function().structured_outputs.shape.as_list() == [None]


def test_a_translators_compiled_graphs_run_lean(trained_translator):
    translator, _, _ = trained_translator
    assert isinstance(translator._graph(translator.settings(None)), LeanRewrites)
