"""``softgrad.optim``: optimizers with PyTorch's names, defaults and update rules."""
from softgrad.optim import lr_scheduler  # noqa: F401
from softgrad.optim.adadelta import Adadelta
from softgrad.optim.adagrad import Adagrad
from softgrad.optim.adam import Adam
from softgrad.optim.adamw import AdamW
from softgrad.optim.optimizer import Optimizer
from softgrad.optim.rmsprop import RMSprop
from softgrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
           "lr_scheduler"]
