"""Layers: the dense core, the convolution stack, normalization, pooling, reshaping, merging."""

from .base import ActivatedLayer, Layer
from .activation_layers import ELU, LeakyReLU, ReLU
from .convolution import Conv2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer
from .merging import (Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply, Subtract,
                      add, average, concatenate, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization
from .pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D
from .pooling_global import GlobalAveragePooling2D, GlobalMaxPooling2D
from .reshaping import Reshape, ZeroPadding2D

GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D

__all__ = ["Layer", "ActivatedLayer", "Input", "InputLayer", "Dense", "Flatten",
           "Activation", "Dropout", "ReLU", "LeakyReLU", "ELU", "BatchNormalization",
           "Conv2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
           "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D",
           "GlobalMaxPool2D", "ZeroPadding2D", "Reshape", "Merge", "Add", "Subtract",
           "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate"]
