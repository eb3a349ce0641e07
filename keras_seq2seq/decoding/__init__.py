from keras_seq2seq.decoding.beam import beam_search, length_penalty
from keras_seq2seq.decoding.greedy import greedy_search

__all__ = ["beam_search", "greedy_search", "length_penalty"]
