"""The PyTorch-style training loop every experiment uses.

``fit`` trains a model on a :class:`~softgrad.datasets.Split` with a chosen loss, evaluates
test accuracy after each epoch and returns a :class:`RunResult`. Optionally it records each
linear layer's weight-gradient norm and the gradient norm at the network's output (logits),
the quantities the experiments read.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, cast

import softgrad as sg
from softgrad import backend
from softgrad.experiments.progress import progress
from softgrad.experiments.results import EpochLog, RunResult
from softgrad.nn import Linear, Module
from softgrad.tensor import Tensor
from softgrad.utils.data import DataLoader

np = backend.np

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad")


@dataclass
class FitConfig:
    """Training settings.

    Attributes:
        epochs: passes over the training set. Default: 20.
        batch_size: mini-batch size. Default: 32.
        lr: learning rate. Default: 0.1.
        optimizer: one of :data:`OPTIMIZERS` (``"momentum"`` is SGD with momentum 0.9).
            Default: ``"sgd"``.
        seed: seeds the initialisation (``sg.manual_seed``) and the data order (a generator
            of the loader's own), so runs that differ only in the loss see the same batches.
        eval_batch_size: test samples per forward pass during evaluation. Default: 2000.
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 0.1
    optimizer: str = "sgd"
    seed: int = 0
    eval_batch_size: int = 2000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_optimizer(name: str, params: Any, lr: float) -> sg.optim.Optimizer:
    """An optimizer by name (see :data:`OPTIMIZERS`)."""
    table = {"sgd": lambda: sg.optim.SGD(params, lr=lr),
             "momentum": lambda: sg.optim.SGD(params, lr=lr, momentum=0.9),
             "adam": lambda: sg.optim.Adam(params, lr=lr),
             "adamw": lambda: sg.optim.AdamW(params, lr=lr),
             "rmsprop": lambda: sg.optim.RMSprop(params, lr=lr),
             "adagrad": lambda: sg.optim.Adagrad(params, lr=lr)}
    if name not in table:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return table[name]()


def linear_layers(model: Module) -> list[Linear]:
    """The model's ``Linear`` layers in definition order (input side first)."""
    return [m for m in model.modules() if isinstance(m, Linear)]


def _norm(array: Any) -> float:
    return float(np.sqrt(np.square(array, dtype=np.float64).sum()))


@sg.no_grad()
def accuracy(model: Module, x: Any, y: Any, batch_size: int = 2000) -> float:
    """Fraction of samples whose argmax output equals the label (model in eval mode).

    Shape: x (N, ...) NumPy array, y (N,) integer labels.
    """
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(y), batch_size):
        out = model(Tensor._wrap(x[start:start + batch_size]))
        correct += int((backend.to_numpy(out._data).argmax(axis=1)
                        == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(y), 1)


def fit(model: Module, split: Any, loss_fn: Callable[[Tensor, Tensor], Tensor],
        config: FitConfig, *, experiment: str = "", variant: str = "",
        record_grad_norms: bool = False, record_logit_grads: bool = False,
        show_progress: bool | None = None) -> RunResult:
    """Train ``model`` on ``split`` with mini-batch gradient descent; one log per epoch.

    Args:
        model: maps a batch of samples to (N, C) outputs (logits); the prediction is argmax.
        split: a :class:`~softgrad.datasets.Split` (float32 features, int64 labels).
        loss_fn: ``loss_fn(logits, labels) -> scalar``, a mean over the batch.
        config: a :class:`FitConfig`. The model is trained as given: build it after
            ``sg.manual_seed`` to fix its initialisation.
        experiment, variant: labels stored in the result.
        record_grad_norms: store each linear layer's mean weight-gradient norm per epoch.
        record_logit_grads: store the mean per-sample norm of the loss gradient at the
            logits, scaled by the batch size (so softmax + cross-entropy gives |p - y|).
        show_progress: tqdm bar over epochs (None: only on a terminal).
    """
    train_set, _ = split.datasets()
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True,
                        generator=np.random.default_rng(config.seed))
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr)
    layers = linear_layers(model) if record_grad_norms else []
    result = RunResult(experiment, split.name, variant,
                       dict(config.to_dict(), model=type(model).__name__))
    start = time.perf_counter()
    bar = progress(range(config.epochs), show_progress,
                   desc=f"{experiment} {split.name} {variant}".strip())
    model.train()
    for epoch in bar:
        t0 = time.perf_counter()
        loss_sum: float
        loss_sum = correct = seen = steps = 0
        norms = np.zeros(len(layers))
        logit_norm = 0.0
        for x, y in loader:
            opt.zero_grad()
            logits = model(x)
            if record_logit_grads:
                logits.retain_grad()
            loss = loss_fn(logits, y)
            loss.backward()
            opt.step()
            n = len(y)
            loss_sum += float(loss.item()) * n
            correct += int((backend.to_numpy(logits._data).argmax(axis=1)
                            == backend.to_numpy(y._data)).sum())
            seen += n
            steps += 1
            for i, layer in enumerate(layers):
                norms[i] += _norm(backend.to_numpy(cast(Tensor, layer.weight.grad)._data))
            if record_logit_grads:
                g = backend.to_numpy(logits.grad._data).astype(np.float64) * n
                logit_norm += float(np.sqrt((g * g).sum(axis=1)).mean())
        test_acc = accuracy(model, split.x_test, split.y_test, config.eval_batch_size)
        log = EpochLog(epoch + 1, loss_sum / max(seen, 1), correct / max(seen, 1), test_acc,
                       time.perf_counter() - t0, [float(v) / max(steps, 1) for v in norms],
                       logit_norm / max(steps, 1) if record_logit_grads else float("nan"))
        result.epochs.append(log)
        bar.set_postfix(loss=f"{log.train_loss:.4f}", acc=f"{test_acc:.3f}")
    bar.close()
    result.wall_time = time.perf_counter() - start
    return result
