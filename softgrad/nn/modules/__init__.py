"""Layers (``softgrad.nn.modules``); this module only re-exports."""
from softgrad.nn.modules.container import (ModuleDict, ModuleList, ParameterDict, ParameterList,
                                           Sequential)
from softgrad.nn.modules.flatten import Flatten, Unflatten
from softgrad.nn.modules.linear import Bilinear, Identity, Linear
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm,
                                               LayerNorm)
from softgrad.nn.modules.sparse import Embedding

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Identity", "Linear", "Bilinear", "Flatten", "Unflatten", "BatchNorm1d", "BatchNorm2d",
           "BatchNorm3d", "LayerNorm", "GroupNorm", "Embedding"]
