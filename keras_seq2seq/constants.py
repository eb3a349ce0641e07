"""Special tokens and their fixed ids (a contract shared by every part)."""

PAD = "<pad>"
UNK = "<unk>"
START = "<start>"
END = "<end>"

PAD_ID = 0
UNK_ID = 1
START_ID = 2
END_ID = 3

SPECIAL_TOKENS = (PAD, UNK, START, END)

# Sentences a translation call decodes together (the Python API's, the
# `translate` and `evaluate` commands'). Sorted by length, a batch wastes
# little on padding, and a larger one spreads each search step's fixed cost
# over more rows: 1,000 Multi30k val sentences with the shipped model, beam
# 5, 2 threads: 7.6 s at 64, 7.3 at 128, 7.4 at 256 (the same
# translations; benchmarks/peers/README.md, "Batch size").
DECODE_BATCH_SIZE = 128
# Batches that `Decoder.decode_batches` decodes at the same time, each in
# a thread of its own: a search step's many small ops keep one core busy
# each, so a second batch fills the other (the same translations; on 2
# cores `translate` 3-7% faster, the bare graph calls 6-11%;
# benchmarks/peers/README.md, "Two batches in flight, the collector
# paused, Grappler once").
BATCHES_IN_FLIGHT = 2
