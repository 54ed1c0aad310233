"""The ``torch.*`` forms of functional ops, re-exported as ``sg.*`` (``sg.dropout(x, p,
train)`` is ``F.dropout(x, p, training=train)``): they take ``train``, not ``training``."""
from __future__ import annotations

from softgrad.nn.functional.dropout_extra import alpha_dropout as _alpha_dropout
from softgrad.nn.functional.dropout_extra import feature_alpha_dropout as _feature_alpha_dropout
from softgrad.nn.functional.linear import dropout as _dropout
from softgrad.tensor import Tensor


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout``: ``F.dropout(input, p, training=train)``."""
    return _dropout(input, p, train)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.alpha_dropout``: ``F.alpha_dropout(input, p, training=train)``."""
    return _alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_alpha_dropout``: ``F.feature_alpha_dropout(input, p,
    training=train)``."""
    return _feature_alpha_dropout(input, p, train)
