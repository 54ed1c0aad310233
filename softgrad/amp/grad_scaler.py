"""``GradScaler``: dynamic loss scaling, PyTorch's companion of mixed precision.

The scaler multiplies the loss by ``scale`` before backward, divides the gradients by it
before the optimizer step, skips the step when a gradient is inf/NaN and adapts ``scale``:
times ``backoff_factor`` after a skipped step, times ``growth_factor`` after
``growth_interval`` steps in a row without one. softgrad trains in float32 (see
``autocast``), where scaling is rarely needed but harmless; with ``enabled=False``, and for
``device='cuda'`` when no GPU is available (as in PyTorch, with a warning), every method
passes through: ``scale(loss)`` is ``loss``, ``step(opt)`` is ``opt.step()``.
"""
from __future__ import annotations

import warnings
from typing import Any

from softgrad import backend, devices
from softgrad.tensor import Tensor

np = backend.np
_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Loss scaling for ``scaler.scale(loss).backward(); scaler.step(opt); scaler.update()``.

    Args:
        device: device type of the training ('cuda' or 'cpu').
        init_scale: the first scale factor.
        growth_factor: factor of the scale after ``growth_interval`` finite steps (> 1).
        backoff_factor: factor of the scale after a step with inf/NaN gradients (< 1).
        growth_interval: finite steps in a row before the scale grows.
        enabled: False makes every method a pass-through.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = devices.device(device).type
        self._enabled = bool(enabled)
        if self._enabled and self._device == "cuda" and not backend.cuda_available():
            subclassed = type(self).__init__ is not GradScaler.__init__  # cuda.amp's
            warnings.warn("GradScaler for 'cuda' is enabled, but CUDA is not available: "
                          "disabling it (scale() and step() pass through).",
                          stacklevel=3 if subclassed else 2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError(f"The growth factor must be > 1.0, got {growth_factor}")
            if backoff_factor >= 1.0:
                raise ValueError(f"The backoff factor must be < 1.0, got {backoff_factor}")
        self._init_scale = float(init_scale)
        self._scale: Any = None  # a float32 number once scale() has run, as in PyTorch
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # ------------------------------------------------------------------ the training step
    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a Tensor or an iterable of Tensors) times the current scale."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
        factor = float(self._scale)

        def apply(val: Any) -> Any:
            if isinstance(val, Tensor):
                return val * factor
            if isinstance(val, (list, tuple)):
                return type(val)(apply(v) for v in val)
            if hasattr(val, "__iter__") and not isinstance(val, (str, bytes)):
                return map(apply, val)
            raise ValueError(f"outputs must be a Tensor or an iterable of Tensors, got "
                             f"{type(val).__name__}")

        return apply(outputs)

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place and note any inf/NaN.

        Call it at most once per step, before ``step`` (e.g. to clip gradients)."""
        if not self._enabled:
            return
        self._require_scale("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = float(np.float32(1.0 / np.float64(self._scale)))
        found_inf = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g._data.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients: keep the "
                                     "parameters in float32 when using GradScaler.")
                g._data = g._data * g._data.dtype.type(inv)
                found_inf = found_inf or not bool(backend.xp_of(g._data).isfinite(g._data).all())
        state["found_inf"] = found_inf
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless done) and run ``optimizer.step(*args, **kwargs)`` unless a
        gradient is inf/NaN; returns what ``optimizer.step`` returns (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._require_scale("step")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: Any = None) -> None:
        """Adapt the scale to this iteration's steps (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        self._require_scale("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise ValueError("new_scale should be a float or a 1-element tensor with "
                                     "requires_grad=False.")
                new_scale = new_scale.item()
            self._scale = np.float32(new_scale)
        else:
            checked = [s for s in self._per_optimizer.values() if s["found_inf"] is not None]
            if not checked:
                raise RuntimeError("No inf checks were recorded prior to update(): call "
                                   "scaler.step(optimizer) first.")
            if any(s["found_inf"] for s in checked):
                self._scale = np.float32(float(self._scale) * self._backoff_factor)
                self._growth_tracker = 0
            elif self._growth_tracker + 1 == self._growth_interval:
                grown = np.float32(float(self._scale) * self._growth_factor)
                if np.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
        self._per_optimizer = {}

    # ------------------------------------------------------------------ queries and state
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict[str, Any]:
        """scale, growth_factor, backoff_factor, growth_interval, _growth_tracker ({} when
        disabled), as PyTorch writes them."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (a no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state_dict)
        if missing:
            raise KeyError(f"GradScaler state dict is missing {sorted(missing)}")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    # ------------------------------------------------------------------ helpers
    def _require_scale(self, what: str) -> None:
        if self._scale is None:
            raise RuntimeError(f"Attempted {what} but no scale has been set yet: call "
                               f"scaler.scale(loss) earlier in the iteration.")

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"stage": _READY, "found_inf": None})
