"""Text functions that run eagerly on their first call, compiled after."""

import threading

import tensorflow as tf


class EagerFirst:
    """`tf.function(function, input_signature=...)`, except that the first
    call runs `function` eagerly, op by op.

    Tracing a graph function is start-up time: 0.24 s for the sentence
    splitter and 0.3 s for the long-sentence splitter (with its tokenizer),
    where running their ops eagerly once takes 0.01-0.2 s on a thousand
    sentences (the compiled graph then takes 0.01-0.03 s a call). So a
    command that calls them once (`keras-seq2seq translate` on a file)
    never traces them, and a process that calls them again (a server, a
    notebook, an input of several chunks) traces them at the second call
    and runs the graph from then on. Eager and compiled run the same ops on
    strings and integers, with the same results (tests/test_sentences.py,
    tests/test_long_sentences_graph.py).
    """

    def __init__(self, function, input_signature, autograph=True):
        self.function = function
        self._signature = input_signature
        self._autograph = autograph
        self._compiled = None
        self._lock = threading.Lock()

    def __call__(self, *args):
        with self._lock:
            first = self._compiled is None
            if first:
                self._compiled = tf.function(self.function, input_signature=self._signature,
                                             autograph=self._autograph)
        if first:
            return self.function(*args)
        return self._compiled(*args)
