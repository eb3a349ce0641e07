from keras_seq2seq.decoding.greedy import greedy_search

__all__ = ["greedy_search"]
