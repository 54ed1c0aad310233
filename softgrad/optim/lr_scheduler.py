"""``softgrad.optim.lr_scheduler``: learning-rate schedulers with PyTorch's names, arguments
and step semantics.

Each scheduler sets ``group['lr']`` of its optimizer on construction (epoch 0) and on every
``step()``. Call ``scheduler.step()`` after ``optimizer.step()``.

Example:
    >>> sched = sg.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> for epoch in range(30):
    ...     train_one_epoch(); sched.step()
"""
from softgrad.optim.lr_base import (ConstantLR, ExponentialLR, LambdaLR, LinearLR, LRScheduler,
                                    MultiplicativeLR, MultiStepLR, PolynomialLR, StepLR,
                                    _LRScheduler)
from softgrad.optim.lr_cycles import (ChainedScheduler, CosineAnnealingLR,
                                      CosineAnnealingWarmRestarts, OneCycleLR, ReduceLROnPlateau,
                                      SequentialLR)
from softgrad.optim.lr_cyclic import CyclicLR

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "SequentialLR", "ChainedScheduler",
           "ReduceLROnPlateau", "CyclicLR", "_LRScheduler"]
