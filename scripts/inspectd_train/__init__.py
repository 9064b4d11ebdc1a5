"""Shared parts of inspectd's autoencoder training scripts (train_hybrid.py, train_multilevel.py).

data: the good-image folder as one in-memory tensor; loop: seeds, the iteration cap, progress, checkpoints and
resume; export: ONNX with the named outputs `inspectd fit` reads; losses: the regularizers and distances.
"""
