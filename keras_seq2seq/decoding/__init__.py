from keras_seq2seq.decoding.beam import beam_search, length_penalty
from keras_seq2seq.decoding.greedy import greedy_search
from keras_seq2seq.decoding.penalties import penalize_token

__all__ = ["beam_search", "greedy_search", "length_penalty", "penalize_token"]
