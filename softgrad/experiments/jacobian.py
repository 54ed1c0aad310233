"""Experiment 3: the Jacobian view of softmax and of softmax + cross-entropy.

For one sample's logits ``z`` (from a freshly initialised network), autograd's Jacobian of
``f = softmax(z)`` is set next to the closed form ``diag(f) - f fᵀ``, the sigmoid's next to
``diag(s (1 - s))``, and the gradient that ``F.cross_entropy`` sends back to a batch of ``l``
logits next to ``(p - y) / l``. Everything is computed in float64, so the differences show
rounding only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import softgrad as sg
import softgrad.nn.functional as F
from softgrad import backend
from softgrad.autograd.functional import jacobian
from softgrad.datasets import Split
from softgrad.experiments.models import mlp

np = backend.np


@dataclass
class JacobianView:
    """Autograd's matrices next to the closed forms, for one dataset.

    Attributes:
        dataset: dataset name.
        logits: the sample's logits z (C values).
        softmax: f = softmax(z).
        jacobian_autograd, jacobian_formula: (C, C) Jacobian of softmax from autograd and
            ``diag(f) - f fᵀ``.
        sigmoid_jacobian_autograd, sigmoid_jacobian_formula: the same for the sigmoid,
            against ``diag(s (1 - s))``.
        grad_autograd, grad_formula: (l, C) gradient of the mean cross-entropy at a batch of
            ``l`` logits, from backward and as ``(p - y) / l``.
        max_diff_*: largest absolute difference of each pair.
        labels: the ``l`` labels of the batch (``label`` is the first).
    """

    dataset: str
    label: int
    logits: list[float]
    softmax: list[float]
    jacobian_autograd: list[list[float]]
    jacobian_formula: list[list[float]]
    sigmoid_jacobian_autograd: list[list[float]]
    sigmoid_jacobian_formula: list[list[float]]
    batch_size: int
    grad_autograd: list[list[float]]
    grad_formula: list[list[float]]
    max_diff_jacobian: float = 0.0
    max_diff_sigmoid: float = 0.0
    max_diff_grad: float = 0.0
    labels: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def format(self, digits: int = 4, max_classes: int = 4) -> str:
        """A printable report; matrices are cut to their first ``max_classes`` rows/cols."""
        k = min(max_classes, len(self.logits))

        def mat(rows: list[list[float]]) -> str:
            return "\n".join("    [" + " ".join(f"{v:+.{digits}f}" for v in r[:k]) + "]"
                             for r in rows[:k])

        cut = "" if k == len(self.logits) else f" (first {k} of {len(self.logits)} classes)"
        return "\n".join([
            f"Jacobian view on {self.dataset}: one sample, label {self.label}{cut}",
            "  f = softmax(z) = [" + " ".join(f"{v:.{digits}f}" for v in self.softmax[:k]) + "]",
            "  autograd Jacobian of softmax:", mat(self.jacobian_autograd),
            "  diag(f) - f fᵀ:", mat(self.jacobian_formula),
            f"  max |difference| = {self.max_diff_jacobian:.2e}",
            f"  sigmoid: autograd Jacobian vs diag(s(1-s)), max |difference| = "
            f"{self.max_diff_sigmoid:.2e}",
            f"  gradient of the mean cross-entropy at l = {self.batch_size} logits, row 1:",
            "    autograd:  [" + " ".join(f"{v:+.{digits}f}" for v in self.grad_autograd[0][:k])
            + "]",
            "    (p - y)/l: [" + " ".join(f"{v:+.{digits}f}" for v in self.grad_formula[0][:k])
            + "]",
            f"  max |difference| = {self.max_diff_grad:.2e}",
        ])


def _max_diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def run_jacobian(split: Split, batch_size: int = 8, seed: int = 0,
                 hidden: tuple = (50,)) -> JacobianView:
    """Compare autograd with the closed forms on ``batch_size`` test samples of ``split``.

    The logits come from an untrained ``in-50-C`` network (seeded), in float64.
    """
    sg.manual_seed(seed)
    model = mlp(split.num_features, hidden, split.num_classes, "sigmoid").double()
    x = sg.tensor(split.x_test[:batch_size].reshape(min(batch_size, len(split.x_test)), -1),
                  dtype=sg.float64)
    y = split.y_test[:batch_size]
    with sg.no_grad():
        z_batch = model(x).detach()
    z = z_batch[0].detach()
    f = F.softmax(z, dim=0).numpy()
    jac = jacobian(lambda t: F.softmax(t, dim=0), z).numpy()
    formula = np.diag(f) - np.outer(f, f)
    s = z.sigmoid().numpy()
    jac_s = jacobian(lambda t: t.sigmoid(), z).numpy()
    formula_s = np.diag(s * (1 - s))
    zb = z_batch.clone().requires_grad_(True)
    F.cross_entropy(zb, sg.tensor(y)).backward()
    l = len(y)
    p = F.softmax(z_batch, dim=1).numpy()
    onehot = np.eye(split.num_classes)[y]
    grad_formula = (p - onehot) / l
    grad = zb.grad.numpy()
    return JacobianView(split.name, int(y[0]), z.numpy().tolist(), f.tolist(), jac.tolist(),
                        formula.tolist(), jac_s.tolist(), formula_s.tolist(), l, grad.tolist(),
                        grad_formula.tolist(), _max_diff(jac, formula), _max_diff(jac_s, formula_s),
                        _max_diff(grad, grad_formula), [int(v) for v in y])
