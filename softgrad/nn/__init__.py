"""``softgrad.nn``: modules, parameters, functional, init and utils (PyTorch names)."""
from softgrad.nn import functional  # noqa: F401
from softgrad.nn import init  # noqa: F401
from softgrad.nn import parallel  # noqa: F401
from softgrad.nn import utils  # noqa: F401
from softgrad.nn.modules import *  # noqa: F401,F403
from softgrad.nn.modules.module import Module
from softgrad.nn.parallel import DataParallel
from softgrad.nn.parameter import Buffer, Parameter, UninitializedParameter

__all__ = ["DataParallel", "Module", "Parameter", "Buffer", "UninitializedParameter",
           "functional", "init", "utils"]
