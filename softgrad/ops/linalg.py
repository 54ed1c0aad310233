"""Matrix primitives: inverse, solve, determinants, Cholesky, pseudo-inverse and the SVD, the
symmetric eigendecomposition and QR. Every op works on batches ``(..., m, n)``.

The VJPs are the standard matrix-calculus results (``A^-T`` is the inverse transposed,
``sym(X) = (X + X^T) / 2``). A decomposition with several outputs is one primitive per output
(``part``), all sharing the factors computed once: a VJP is linear in the output cotangents,
so the sum of the per-output VJPs is the VJP of the whole decomposition.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


def _t(a: Any) -> Any:
    """Swap the last two axes (arrays and Tensors alike)."""
    return a.swapaxes(-1, -2)


def _diag(v: Any, eye: Any) -> Any:
    """(..., k) -> (..., k, k) diagonal matrices (``eye`` is a constant (k, k) array)."""
    return v[..., None] * eye


def _diag_of(m: Any, eye: Any) -> Any:
    """The diagonal of (..., k, k) matrices as (..., k)."""
    return (m * eye).sum(axis=-1)


class Inv(Function):
    """A^-1: grad = -A^-T g A^-T (saves the output)."""

    def forward(self, a: Any) -> Any:
        out = self.xp.linalg.inv(a)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (inv,) = self.saved
        it = _t(inv)
        return -(it @ g @ it)


class Solve(Function):
    """X = A^-1 B for B (..., n, k): grad_B = A^-T g, grad_A = -grad_B X^T."""

    def forward(self, a: Any, b: Any) -> Any:
        out = self.xp.linalg.solve(a, b)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, x = self.saved
        gb = self.xp.linalg.solve(_t(a), g)
        ga = -(gb @ _t(x)) if self.needs_input_grad[0] else None
        return ga, gb


class Det(Function):
    """det(A): grad = g * cofactor(A) = g det(A) A^-T, computed from the SVD so that it is
    right for singular A too: cofactor = det(U) det(V) U diag(prod_{j != i} s_j) V^T."""

    def forward(self, a: Any) -> Any:
        out = self.xp.linalg.det(a)
        self.save_for_backward(a, out)
        return out

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: g det(A) A^-T (A invertible)."""
        a, det = self.saved
        return _t(self.xp.linalg.inv(a)) * (g * det)[..., None, None]

    def backward(self, g: Any) -> Any:
        a = self.saved[0]
        xp = self.xp
        u, s, vh = xp.linalg.svd(a)
        n = s.shape[-1]
        ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
        before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([s[..., 1:], ones], axis=-1),
                                           axis=-1), axis=-1), axis=-1)
        others = before * after  # prod_{j != i} s_j
        signs = xp.linalg.det(u) * xp.linalg.det(vh)
        cof = (u * others[..., None, :]) @ vh
        return cof * (g * signs)[..., None, None] if n else cof


class LogAbsDet(Function):
    """log|det(A)|: grad = g A^-T."""

    def forward(self, a: Any) -> Any:
        _, out = self.xp.linalg.slogdet(a)
        self.save_for_backward(a)
        return out

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        inv = self.xp.linalg.inv(a)
        return _t(inv) * g[..., None, None]


class Cholesky(Function):
    """L with A = L L^T: grad = sym(L^-T Phi(L^T g) L^-1), Phi = lower triangle with the
    diagonal halved (saves the output)."""

    def forward(self, a: Any) -> Any:
        xp = self.xp
        out = xp.linalg.cholesky(a)
        n = a.shape[-1]
        self.phi = xp.tril(xp.ones((n, n), dtype=a.dtype), -1) + xp.eye(n, dtype=a.dtype) * 0.5
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (low,) = self.saved
        inv = self.xp.linalg.inv(low)
        ga = _t(inv) @ ((_t(low) @ g) * self.phi) @ inv
        return (ga + _t(ga)) * 0.5


class Pinv(Function):
    """A+ (singular values <= ``cutoff`` dropped): grad = -X^T g X^T + (1 - A X) g^T X X^T
    + X^T X g^T (1 - X A), X = A+ (exact where the rank is locally constant)."""

    def forward(self, a: Any, rtol: Any = None, atol: Any = None) -> Any:
        xp = self.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else s.sum(axis=-1, keepdims=True)
        cut = xp.maximum(smax * rtol, atol)
        keep = s > cut
        inv_s = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype, copy=False)
        out = _t(vh) @ (inv_s[..., None] * _t(u))
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> Any:
        a, x = self.saved
        xt, gt = _t(x), _t(g)
        first = -(xt @ g @ xt)
        left = gt @ x @ xt
        left = left - a @ (x @ left)
        right = xt @ x @ gt
        right = right - (right @ x) @ a
        return first + left + right


_DECOMPOSITION = (
    "{name}: second derivatives of a matrix decomposition are not supported (backward with "
    "create_graph=True through svd/eigh/qr)")


def _svd_vjp(u: Any, s: Any, vh: Any, gu: Any, gs: Any, gvh: Any, eye: Any) -> Any:
    """The VJP of the thin SVD A = U diag(s) Vh for any of the cotangents (None = zero):
    U [sym terms + diag(gs)] Vh plus the parts of gU, gVh outside the spans of U, V."""
    v = _t(vh)
    s2 = s * s
    gap = s2[..., None, :] - s2[..., :, None]  # s_j^2 - s_i^2
    f = (1 - eye) / (gap + eye)  # 1 / gap off the diagonal, 0 on it
    inner = 0
    inv_s = None
    out = 0
    if gs is not None:
        inner = inner + _diag(gs, eye)
    if gu is not None:
        j = _t(u) @ gu
        inner = inner + (f * (j - _t(j))) * s[..., None, :]
        inv_s = 1 / s
        outside = gu - u @ (_t(u) @ gu)  # (1 - U U^T) gU
        out = out + (outside * inv_s[..., None, :]) @ vh
    if gvh is not None:
        gv = _t(gvh)
        k = vh @ gv
        inner = inner + s[..., :, None] * (f * (k - _t(k)))
        inv_s = 1 / s
        outside = gv - v @ (vh @ gv)  # (1 - V V^T) gV
        out = out + (u * inv_s[..., None, :]) @ _t(outside)
    return out + u @ inner @ vh


class SvdPart(Function):
    """One factor of the thin SVD (``part`` 'U', 'S' or 'Vh'), from ``factors`` computed
    once: grad = the SVD's VJP with this factor's cotangent only (see ``_svd_vjp``)."""

    double_backward_error = _DECOMPOSITION

    def forward(self, a: Any, part: str = "S", factors: tuple = ()) -> Any:
        self.part, self.factors = part, factors
        k = factors[1].shape[-1]
        self.eye = self.xp.eye(k, dtype=a.dtype)
        return factors["USV".index(part[0])]

    def backward(self, g: Any) -> Any:
        u, s, vh = self.factors
        k = s.shape[-1]
        if self.part == "U":
            return _svd_vjp(u, s, vh, g[..., :k], None, None, self.eye)
        if self.part == "Vh":
            return _svd_vjp(u, s, vh, None, None, g[..., :k, :], self.eye)
        return _svd_vjp(u, s, vh, None, g, None, self.eye)


class EighPart(Function):
    """Eigenvalues ('L') or eigenvectors ('V') of a symmetric matrix, from ``factors``:
    grad = sym(V (diag(gL) + F o (V^T gV)) V^T), F_ij = 1 / (l_j - l_i), 0 on the diagonal."""

    double_backward_error = _DECOMPOSITION

    def forward(self, a: Any, part: str = "L", factors: tuple = ()) -> Any:
        self.part, self.factors = part, factors
        self.eye = self.xp.eye(a.shape[-1], dtype=a.dtype)
        return factors[0 if part == "L" else 1]

    def backward(self, g: Any) -> Any:
        lam, v = self.factors
        eye = self.eye
        if self.part == "L":
            inner = _diag(g, eye)
        else:
            gap = lam[..., None, :] - lam[..., :, None]
            inner = (1 - eye) / (gap + eye) * (_t(v) @ g)
        out = v @ inner @ _t(v)
        return (out + _t(out)) * 0.5


class QrPart(Function):
    """Q or R of the reduced QR, from ``factors``. For m >= n: with M = R gR^T - gQ^T Q,
    grad = (gQ + Q copyltu(M)) R^-T, copyltu(M) = the symmetric matrix with M's lower
    triangle. For m < n, A = [X | Y] with X square: grad_X as above with gQ + Y gV^T,
    grad_Y = Q gV, where gV is gR's columns beyond m."""

    double_backward_error = _DECOMPOSITION

    def forward(self, a: Any, part: str = "Q", factors: tuple = ()) -> Any:
        self.part, self.factors, self.a = part, factors, a
        return factors[0 if part == "Q" else 1]

    def backward(self, g: Any) -> Any:
        xp = self.xp
        q, r = self.factors
        m, n = self.a.shape[-2:]
        gq = g if self.part == "Q" else xp.zeros_like(q)
        gr = g if self.part == "R" else xp.zeros_like(r)
        if m >= n:
            return _qr_square_vjp(xp, q, r, gq, gr)
        y = self.a[..., m:]
        gx = _qr_square_vjp(xp, q, r[..., :m], gq + y @ _t(gr[..., m:]), gr[..., :m])
        return xp.concatenate([gx, q @ gr[..., m:]], axis=-1)


def _qr_square_vjp(xp: Any, q: Any, r: Any, gq: Any, gr: Any) -> Any:
    m = r @ _t(gr) - _t(gq) @ q
    low = xp.tril(m, -1)
    copyltu = low + _t(low) + xp.tril(xp.triu(m))
    rhs = gq + q @ copyltu  # solve X R^T = rhs, i.e. R X^T = rhs^T
    return _t(xp.linalg.solve(r, _t(rhs)))


# ---------------------------------------------------------------------- triangular solves
def solve_triangular(xp: Any, a: Any, b: Any, upper: bool, left: bool, unit: bool) -> Any:
    """Array-level triangular solve; only the ``upper``/lower triangle of ``a`` is read."""
    tri = xp.triu(a) if upper else xp.tril(a)
    if unit:
        n = a.shape[-1]
        eye = xp.eye(n, dtype=a.dtype)
        tri = tri * (1 - eye) + eye
    if left:
        return xp.linalg.solve(tri, b)
    return xp.swapaxes(xp.linalg.solve(xp.swapaxes(tri, -1, -2), xp.swapaxes(b, -1, -2)), -1, -2)


class SolveTriangular(Function):
    """X = A^-1 B (left) or B A^-1 (right), A triangular.

    Left: grad_B = A^-T gX, grad_A = -tri(grad_B X^T). Right: grad_B = gX A^-T,
    grad_A = -tri(X^T grad_B); ``tri`` keeps A's triangle (and drops a unit diagonal).
    """

    def forward(self, a: Any, b: Any, upper: bool = False, left: bool = True,
                unitriangular: bool = False) -> Any:
        self.upper, self.left, self.unit = upper, left, unitriangular
        out = solve_triangular(self.xp, a, b, upper, left, unitriangular)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, x = self.saved
        need = self.needs_input_grad
        if self.left:
            gb = self.call(SolveTriangular, a.mT, g, upper=not self.upper, left=True,
                           unitriangular=self.unit)
            ga = -(gb @ x.mT) if need[0] else None
        else:
            gb = self.call(SolveTriangular, a.mT, g, upper=not self.upper, left=False,
                           unitriangular=self.unit)
            ga = -(x.mT @ gb) if need[0] else None
        if ga is not None:
            k = 1 if self.unit else 0
            ga = self.xp.triu(ga, k) if self.upper else self.xp.tril(ga, -k)
        return ga, (gb if need[1] else None)
