"""``softgrad.nn``: modules, parameters, functional, init and utils (PyTorch names)."""
from softgrad.nn import functional
from softgrad.nn import init
from softgrad.nn import parallel
from softgrad.nn import utils
from softgrad.nn.modules import *
from softgrad.nn.modules.module import Module
from softgrad.nn.parallel import DataParallel
from softgrad.nn.parameter import Buffer, Parameter, UninitializedParameter

__all__ = ["DataParallel", "Module", "Parameter", "Buffer", "UninitializedParameter",
           "functional", "init", "utils"]
