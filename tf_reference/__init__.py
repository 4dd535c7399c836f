"""Keras twins of scratchnn models (see issue: parity)."""
