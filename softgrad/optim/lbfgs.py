"""L-BFGS: limited-memory quasi-Newton steps, with an optional strong-Wolfe line search."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from softgrad import backend
from softgrad.autograd import grad_mode
from softgrad.optim._line_search import strong_wolfe
from softgrad.optim.optimizer import Optimizer, _check_nonneg
from softgrad.tensor import Tensor

np = backend.np


class LBFGS(Optimizer):
    """L-BFGS, with PyTorch's algorithm, defaults and state layout.

    Each ``step(closure)`` runs up to ``max_iter`` iterations on all parameters seen as one
    flat vector: the direction is the two-loop product of the inverse-Hessian estimate built
    from the last ``history_size`` pairs ``(s = x' - x, y = g' - g)`` with ``-g``; the step
    length is ``lr`` (``min(1, 1/|g|_1) * lr`` on the very first iteration), or comes from a
    strong-Wolfe line search with ``line_search_fn='strong_wolfe'``. Iterations stop early
    when ``max|g| <= tolerance_grad``, or the step or the loss change falls below
    ``tolerance_change``, or ``max_eval`` evaluations are spent. Memory: about
    ``(2 * history_size + 3)`` copies of the parameters.

    Args:
        params: parameters (one group only).
        lr: step length. Default: 1.
        max_iter: iterations per ``step``. Default: 20.
        max_eval: closure evaluations per ``step``. Default: ``max_iter * 5 // 4``.
        tolerance_grad: first-order optimality tolerance. Default: 1e-7.
        tolerance_change: tolerance on step and loss changes. Default: 1e-9.
        history_size: number of correction pairs kept. Default: 100.
        line_search_fn: None or ``'strong_wolfe'``. Default: None.

    Example:
        >>> opt = sg.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        >>> opt.step(closure)
    """

    _scalar_state = ("t", "H_diag", "prev_loss")

    def __init__(self, params: Any, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_nonneg("learning rate", lr)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"only 'strong_wolfe' is supported as line_search_fn, got "
                             f"{line_search_fn!r}")
        if not isinstance(history_size, int) or history_size < 1:
            raise ValueError(f"history_size must be a positive integer, got {history_size!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._spare: list = []

    @property
    def _params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    # ------------------------------------------------------------------ flat views
    def _gather_flat_grad(self) -> Any:
        """A fresh flat copy of all gradients (zeros for parameters without one)."""
        arrays = [p._data for p in self._params]
        xp = backend.xp_of(arrays[0])
        out = xp.empty(sum(a.size for a in arrays), dtype=xp.result_type(*arrays))
        offset = 0
        for p, a in zip(self._params, arrays):
            part = out[offset: offset + a.size]
            if p.grad is None:
                part[...] = 0
            else:
                part[...] = p.grad._data.reshape(-1)
            offset += a.size
        return out

    def _add_grad(self, t: float, d: Any) -> None:
        """``params += t * d`` (d flat), in place."""
        offset = 0
        for p in self._params:
            pd = p._data
            s = self._scratch(pd, 0)
            np.multiply(d[offset: offset + pd.size].reshape(pd.shape), t, out=s)
            pd += s
            p._version += 1
            offset += pd.size

    def _set_params(self, arrays: list) -> None:
        for p, a in zip(self._params, arrays):
            np.copyto(p._data, a)
            p._version += 1

    def _absmax(self, a: Any) -> float:
        return float(np.abs(a, out=self._scratch(a, 1)).max())

    def _buffer_like(self, a: Any) -> Any:
        """A flat array like ``a``: a recycled history vector when one is free."""
        while self._spare:
            b = self._spare.pop()
            if b.shape == a.shape and b.dtype == a.dtype and type(b) is type(a):
                return b
        return backend.xp_of(a).empty_like(a)

    # ------------------------------------------------------------------ step
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` iterations; ``closure`` zeroes the gradients, computes the
        loss, calls ``backward()`` and returns the loss. Returns the first loss."""
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure that reevaluates the model and "
                            "returns the loss")
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        group = self.param_groups[0]
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")

        def evaluate() -> Any:
            with grad_mode.enable_grad():
                return closure()

        with grad_mode.no_grad():
            return self._run(group, evaluate)

    def _run(self, group: dict[str, Any], evaluate: Callable[[], Any]) -> Any:
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if self._absmax(flat_grad) <= tol_grad:
            return orig_loss

        d, prev_flat_grad = _raw(state.get("d")), _raw(state.get("prev_flat_grad"))
        old_dirs = [_raw(v) for v in state.get("old_dirs") or []]
        old_stps = [_raw(v) for v in state.get("old_stps") or []]
        ro = list(state.get("ro") or [])
        t, h_diag, prev_loss = state.get("t"), state.get("H_diag"), state.get("prev_loss")
        opt_cond = False
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # direction
            if state["n_iter"] == 1:
                d = np.negative(flat_grad)
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                h_diag = self._update_memory(flat_grad, prev_flat_grad, d, t, old_dirs,
                                             old_stps, ro, h_diag, history_size)
                al = state.setdefault("al", [None] * history_size)
                al.extend([None] * (history_size - len(al)))
                d = self._two_loop(flat_grad, d, old_dirs, old_stps, ro, h_diag, al)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                np.copyto(prev_flat_grad, flat_grad)
            prev_loss = loss
            # step length
            if state["n_iter"] == 1:
                grad_l1 = float(np.abs(flat_grad, out=self._scratch(flat_grad, 1)).sum())
                t = min(1.0, 1.0 / grad_l1) * lr
            else:
                t = lr
            gtd = float(flat_grad.dot(d))
            if gtd > -tol_change:              # not a descent direction any more
                break
            if group["line_search_fn"] is not None:
                x_init = [p._data.copy() for p in self._params]

                def at(step: float, x_init: list = x_init, d: Any = d) -> tuple[float, Any]:
                    self._add_grad(step, d)
                    value = float(evaluate())
                    grad = self._gather_flat_grad()
                    self._set_params(x_init)
                    return value, grad

                loss, flat_grad, t, ls_evals = strong_wolfe(at, d, t, loss, flat_grad, gtd,
                                                            max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = self._absmax(flat_grad) <= tol_grad
            else:
                self._add_grad(t, d)
                ls_evals = 0
                if n_iter != max_iter:         # the last iteration needs no new gradient
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = self._absmax(flat_grad) <= tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals
            # stopping tests
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if abs(t) * self._absmax(d) <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state["d"], state["t"] = _wrap(d), t
        state["old_dirs"], state["old_stps"] = [_wrap(v) for v in old_dirs], [
            _wrap(v) for v in old_stps]
        state["ro"], state["H_diag"] = ro, h_diag
        state["prev_flat_grad"], state["prev_loss"] = _wrap(prev_flat_grad), prev_loss
        return orig_loss

    def _update_memory(self, flat_grad: Any, prev_flat_grad: Any, d: Any, t: float,
                       old_dirs: list, old_stps: list, ro: list, h_diag: float,
                       history_size: int) -> float:
        """Store the pair ``(y, s)`` of the last iteration when its curvature ``y.s`` is
        positive enough; returns the new initial-Hessian scale ``y.s / y.y``."""
        y = np.subtract(flat_grad, prev_flat_grad, out=self._buffer_like(flat_grad))
        s = np.multiply(d, t, out=self._buffer_like(d))
        ys = float(y.dot(s))
        if ys <= 1e-10:
            self._spare += [y, s]
            return h_diag
        if len(old_dirs) == history_size:      # forget the oldest pair, reuse its memory
            self._spare += [old_dirs.pop(0), old_stps.pop(0)]
            ro.pop(0)
        old_dirs.append(y)
        old_stps.append(s)
        ro.append(1.0 / ys)
        return ys / float(y.dot(y))

    def _two_loop(self, flat_grad: Any, d: Any, old_dirs: list, old_stps: list, ro: list,
                  h_diag: float, al: list) -> Any:
        """The L-BFGS direction ``-H g``, written into ``d`` (its old value is spent)."""
        q = np.negative(flat_grad, out=d)
        tmp = self._scratch(q, 1)
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = float(old_stps[i].dot(q)) * ro[i]
            np.multiply(old_dirs[i], al[i], out=tmp)
            q -= tmp
        q *= h_diag
        for i in range(len(old_dirs)):
            be_i = float(old_dirs[i].dot(q)) * ro[i]
            np.multiply(old_stps[i], al[i] - be_i, out=tmp)
            q += tmp
        return q

    # ------------------------------------------------------------------ state
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict from :meth:`state_dict` or PyTorch's LBFGS (history lists are
        cast like the parameters, ``ro``/``al`` entries become floats)."""
        super().load_state_dict(state_dict)
        p0 = self._params[0]
        st = self.state.get(p0)
        if not st:
            return
        for key in ("old_dirs", "old_stps"):
            if st.get(key) is not None:
                st[key] = [_wrap(_as_array(v, p0)) for v in st[key]]
        for key in ("ro", "al"):
            if st.get(key) is not None:
                st[key] = [None if v is None else float(_raw(v)) for v in st[key]]
        if st.get("n_iter") is not None:
            st["n_iter"] = int(st["n_iter"])
        if st.get("func_evals") is not None:
            st["func_evals"] = int(st["func_evals"])

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._spare = []


def _raw(v: Any) -> Any:
    return v._data if isinstance(v, Tensor) else v


def _wrap(v: Any) -> Any:
    return None if v is None else Tensor._wrap(v)


def _as_array(v: Any, like: Tensor) -> Any:
    """A flat history vector as an array of ``like``'s dtype and device."""
    arr = backend.xp_of(like._data).asarray(backend.to_device(_raw(v), like.device))
    return arr.astype(like._data.dtype, copy=False).reshape(-1)
