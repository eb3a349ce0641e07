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
