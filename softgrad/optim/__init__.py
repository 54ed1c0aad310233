"""``softgrad.optim``: optimizers with PyTorch's names, defaults and update rules."""
from softgrad.optim import lr_scheduler
from softgrad.optim import swa_utils
from softgrad.optim.adadelta import Adadelta
from softgrad.optim.adagrad import Adagrad
from softgrad.optim.adam import Adam
from softgrad.optim.adamax import Adamax
from softgrad.optim.adamw import AdamW
from softgrad.optim.asgd import ASGD
from softgrad.optim.lbfgs import LBFGS
from softgrad.optim.nadam import NAdam
from softgrad.optim.optimizer import Optimizer
from softgrad.optim.radam import RAdam
from softgrad.optim.rmsprop import RMSprop
from softgrad.optim.rprop import Rprop
from softgrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS", "lr_scheduler",
           "swa_utils"]
