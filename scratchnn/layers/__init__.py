"""Layers: the dense core and the convolution stack."""

from .base import ActivatedLayer, Layer
from .convolution import Conv2D
from .pooling import MaxPool2D, MaxPooling2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer

__all__ = ["Layer", "ActivatedLayer", "Input", "InputLayer", "Dense", "Flatten",
           "Activation", "Dropout",
           "Conv2D", "MaxPooling2D", "MaxPool2D"]
