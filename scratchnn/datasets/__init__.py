"""Data sets used by the tutorials: Fashion-MNIST and make_circles."""

from . import circles, fashion_mnist

__all__ = ["circles", "fashion_mnist"]
