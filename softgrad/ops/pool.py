"""Max and average pooling over (N, C, H, W) (1-D pooling runs with H = 1).

Both loop over the ``KH * KW`` kernel offsets only; each step reads one strided slice of
the padded input, so no window copy is made. ``pads`` is ``((top, bottom), (left, right))``
and its bottom/right part also covers windows that ``ceil_mode`` lets run past the input.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops import _pool_kernels
from softgrad.ops.fold import Fold
from softgrad.ops.windows import Pads, crop, offset_slices, pad_array


def _lift(x: Any) -> tuple[Any, bool]:
    return (x[:, :, None, :], True) if x.ndim == 3 else (x, False)


def _disjoint(kernel: tuple, stride: tuple, dilation: tuple) -> bool:
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


class MaxPool2d(Function):
    """y = max over each window; grad_x[argmax] += g (the first maximum wins, NaN propagates).

    Forward is a running ``maximum`` over the kernel-offset slices plus one compare per
    offset for the argmax (kept as a small uint8 offset index). Params: kernel, stride,
    pads, dilation, out_hw; ``indices``: a list that receives that offset index array
    (N, C, OH, OW) when ``return_indices`` is asked for.
    """

    def forward(self, x: Any, kernel: tuple = (1, 1), stride: tuple = (1, 1),
                pads: Pads = ((0, 0), (0, 0)), dilation: tuple = (1, 1),
                out_hw: tuple = (1, 1), indices: list | None = None) -> Any:
        xp = self.xp
        x4, self.squeeze = _lift(x)
        self.kernel, self.stride, self.pads, self.dilation = kernel, stride, pads, dilation
        self.x_shape, self.xp_dtype, self.axp = x4.shape, x.dtype, xp
        self.tiled = _tiles(x4.shape, kernel, stride, pads, dilation, out_hw)
        xpad = pad_array(xp, x4, pads, -xp.inf)
        lead = (slice(None), slice(None))
        views = [xpad[lead + offset_slices(i, j, stride, dilation, out_hw)]
                 for i in range(kernel[0]) for j in range(kernel[1])]
        if len(views) == 1:
            best = views[0].copy()
        else:
            best = xp.maximum(views[0], views[1])
            for v in views[2:]:
                xp.maximum(best, v, out=best)
        self.arg = _first_argmax(xp, views, best)
        if (pads[0] != (0, 0) or pads[1] != (0, 0)) and xp.isneginf(best).any():
            _point_into_input(xp, self.arg, best, kernel, stride, pads, dilation)
        if indices is not None:
            indices.append(self.arg)
        return best[:, :, 0, :] if self.squeeze else best

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: g times the one-hot argmax per kernel offset, folded back (the array
        VJP scatters with a compiled pass or per-offset slices)."""
        axp = self.axp
        k = self.kernel[0] * self.kernel[1]
        hit = self.arg[:, :, None] == axp.arange(k).reshape(1, 1, k, 1, 1)
        return _fold_back(self, g, hit.astype(self.xp_dtype))

    def backward(self, g: Any) -> Any:
        xp, arg = self.xp, self.arg
        g4 = g[:, :, None, :] if self.squeeze else g
        n, c, h, w = self.x_shape
        if self.tiled:
            g4 = xp.ascontiguousarray(g4)
            k = _pool_kernels.kernels(xp, g4, arg)
            if k is not None:  # one compiled pass (the fast extra)
                gx = xp.empty(self.x_shape, dtype=g.dtype)
                k(g4, arg, gx, self.kernel[0], self.kernel[1])
                return gx.reshape(n, c, w) if self.squeeze else gx
        (t, b), (lft, r) = self.pads
        padded = (n, c, h + t + b, w + lft + r)
        kh, kw = self.kernel
        out_hw = g4.shape[2:]
        # disjoint windows that tile the whole input write every element exactly once
        tiles = _disjoint(self.kernel, self.stride, self.dilation) and \
            self.stride == self.kernel and padded[2] == kh * out_hw[0] and \
            padded[3] == kw * out_hw[1]
        buf = xp.empty(padded, dtype=g.dtype) if tiles else xp.zeros(padded, dtype=g.dtype)
        disjoint = _disjoint(self.kernel, self.stride, self.dilation)
        for i in range(kh):
            for j in range(kw):
                sl = (slice(None), slice(None)) + offset_slices(i, j, self.stride,
                                                                self.dilation, out_hw)
                hit = arg == i * kw + j
                if disjoint:
                    xp.multiply(g4, hit, out=buf[sl])
                else:
                    buf[sl] += g4 * hit
        gx = crop(buf, self.pads, (h, w)) if (t or b or lft or r) else buf
        return gx.reshape(n, c, w) if self.squeeze else gx


def _tiles(shape: tuple, kernel: tuple, stride: tuple, pads: Pads, dilation: tuple,
           out_hw: tuple) -> bool:
    """Whether the windows tile the input without overlap or padding (stride == kernel,
    dilation 1, floor-mode output): the case of the compiled kernels."""
    return (tuple(stride) == tuple(kernel) and tuple(dilation) == (1, 1) and
            tuple(pads[0]) == (0, 0) and tuple(pads[1]) == (0, 0) and
            tuple(out_hw) == (shape[2] // kernel[0], shape[3] // kernel[1]))


def _first_argmax(xp: Any, views: list, best: Any) -> Any:
    """Index of the first view equal to ``best`` (or the first NaN), per output element."""
    k = len(views)
    dtype = xp.uint8 if k < 256 else xp.int32
    arg = xp.zeros(best.shape, dtype=dtype)
    if k == 1:
        return arg
    taken = views[0] == best
    for idx in range(1, k):
        eq = views[idx] == best
        first = xp.greater(eq, taken)  # equal here and at no earlier offset
        if idx < k - 1:
            taken |= eq
        arg += first.view(xp.uint8) * xp.uint8(idx) if k < 256 else first * idx
    if xp.isnan(best).any():  # rare: point NaN windows at their first NaN
        nan_at = best != best
        for idx in reversed(range(k)):
            v = views[idx]
            arg[nan_at & (v != v)] = idx
    return arg


def _point_into_input(xp: Any, arg: Any, best: Any, kernel: tuple, stride: tuple, pads: Pads,
                      dilation: tuple) -> None:
    """Windows whose maximum is -inf point at their first element inside the input (not
    the padding), as PyTorch's argmax does."""
    oh, ow = best.shape[2:]
    first = []
    for size, k, s, lo, d in ((oh, kernel[0], stride[0], pads[0][0], dilation[0]),
                              (ow, kernel[1], stride[1], pads[1][0], dilation[1])):
        start = xp.arange(size) * s - lo  # input index of offset 0
        first.append(xp.clip(-(start // d), 0, k - 1))  # smallest i with start + i*d >= 0
    default = (first[0][:, None] * kernel[1] + first[1][None, :]).astype(arg.dtype)
    xp.copyto(arg, xp.broadcast_to(default, arg.shape), where=xp.isneginf(best))


def _fold_back(fn: MaxPool2d | AvgPool2d, g: Any, weights: Any) -> Any:
    """Pooling VJP on Tensors: g times constant per-offset weights (N|1, C|1, K, OH, OW),
    folded back onto the input (for higher-order gradients)."""
    g4 = g.unsqueeze(2) if fn.squeeze else g
    n, c, _, w = fn.x_shape
    out_hw = tuple(g4.shape[2:])
    k = fn.kernel[0] * fn.kernel[1]
    cols = (g4.unsqueeze(2) * fn.xp.const(weights)).reshape(n, c * k, out_hw[0] * out_hw[1])
    gx = fn.call(Fold, cols, x_shape=fn.x_shape, kernel=fn.kernel, stride=fn.stride,
                 pads=fn.pads, dilation=fn.dilation, out_hw=out_hw)
    return gx.reshape(n, c, w) if fn.squeeze else gx


def flat_indices(xp: Any, arg: Any, kernel: tuple, stride: tuple, pads: Pads,
                 dilation: tuple, width: int) -> Any:
    """Kernel-offset argmax (N, C, OH, OW) -> flat int64 indices into each (H, W) plane."""
    kw = kernel[1]
    oh, ow = arg.shape[2], arg.shape[3]
    ki, kj = arg // kw, arg % kw
    rows = (xp.arange(oh) * stride[0] - pads[0][0]).reshape(oh, 1) + ki * dilation[0]
    cols = xp.arange(ow) * stride[1] - pads[1][0] + kj * dilation[1]
    return (rows.astype(xp.int64) * width + cols).astype(xp.int64)


class AvgPool2d(Function):
    """y = window sum / divisor; grad_x = g / divisor added back onto every window element.

    Params: kernel, stride, pads, out_hw and ``divisor``: a scalar or an (OH, OW) array.
    """

    def forward(self, x: Any, kernel: tuple = (1, 1), stride: tuple = (1, 1),
                pads: Pads = ((0, 0), (0, 0)), out_hw: tuple = (1, 1),
                divisor: Any = 1.0) -> Any:
        xp = self.xp
        x4, self.squeeze = _lift(x)
        self.kernel, self.stride, self.pads, self.divisor = kernel, stride, pads, divisor
        self.x_shape, self.xp_dtype, self.axp, self.dilation = x4.shape, x.dtype, xp, (1, 1)
        xpad = pad_array(xp, x4, pads, 0.0)
        total = None
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                v = xpad[(slice(None), slice(None)) + offset_slices(i, j, stride, (1, 1),
                                                                    out_hw)]
                if total is None:
                    total = v.copy()
                else:
                    total += v
        total /= divisor
        return total[:, :, 0, :] if self.squeeze else total

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: g / divisor on every kernel offset, folded back (the array VJP adds
        into per-offset slices in place)."""
        axp = self.axp
        k = self.kernel[0] * self.kernel[1]
        div = self.divisor if isinstance(self.divisor, float) else self.divisor[None]
        scale = axp.ones((1, 1, k, 1, 1), dtype=self.xp_dtype) / div
        return _fold_back(self, g, scale.astype(self.xp_dtype))

    def backward(self, g: Any) -> Any:
        xp = self.xp
        g4 = g[:, :, None, :] if self.squeeze else g
        share = g4 / self.divisor
        n, c, h, w = self.x_shape
        (t, b), (lft, r) = self.pads
        buf = xp.zeros((n, c, h + t + b, w + lft + r), dtype=g.dtype)
        disjoint = _disjoint(self.kernel, self.stride, (1, 1))
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                sl = (slice(None), slice(None)) + offset_slices(i, j, self.stride, (1, 1),
                                                                g4.shape[2:])
                if disjoint:
                    buf[sl] = share
                else:
                    buf[sl] += share
        gx = crop(buf, self.pads, (h, w)) if (t or b or lft or r) else buf
        return gx.reshape(n, c, w) if self.squeeze else gx


class AdaptiveMaxPool2d(Function):
    """y[oh, ow] = max of x over rows [floor(oh*H/OH), ceil((oh+1)*H/OH)) and the same for
    columns; grad_x = g summed onto each argmax (a bincount, so overlapping windows add up).

    Max over a rectangle is a max over rows of a max over columns, so the loops run over
    OH + OW output positions, never OH * OW. Params: ``out_hw``, ``indices`` (as MaxPool2d,
    but receiving flat indices into each (H, W) plane).
    """

    def forward(self, x: Any, out_hw: tuple = (1, 1), indices: list | None = None) -> Any:
        xp = self.xp
        x4, self.squeeze = _lift(x)
        n, c, h, w = x4.shape
        oh, ow = out_hw
        self.x_shape = x4.shape
        colmax = xp.empty((n, c, h, ow), dtype=x.dtype)
        colarg = xp.empty((n, c, h, ow), dtype=xp.int64)
        for j in range(ow):
            lo, hi = (j * w) // ow, -((-(j + 1) * w) // ow)
            part = x4[:, :, :, lo:hi]
            a = part.argmax(axis=3)
            colarg[:, :, :, j] = a + lo
            colmax[:, :, :, j] = xp.take_along_axis(part, a[..., None], axis=3)[..., 0]
        out = xp.empty((n, c, oh, ow), dtype=x.dtype)
        flat = xp.empty((n, c, oh, ow), dtype=xp.int64)
        for i in range(oh):
            lo, hi = (i * h) // oh, -((-(i + 1) * h) // oh)
            part = colmax[:, :, lo:hi, :]
            a = part.argmax(axis=2)[:, :, None, :]
            out[:, :, i, :] = xp.take_along_axis(part, a, axis=2)[:, :, 0, :]
            col = xp.take_along_axis(colarg[:, :, lo:hi, :], a, axis=2)[:, :, 0, :]
            flat[:, :, i, :] = (a[:, :, 0, :] + lo) * w + col
        self.flat = flat
        if indices is not None:
            indices.append(flat)
        return out[:, :, 0, :] if self.squeeze else out

    double_backward_error = "double backward through adaptive max pooling is not supported"

    def backward(self, g: Any) -> Any:
        xp = self.xp
        n, c, h, w = self.x_shape
        g4 = g[:, :, None, :] if self.squeeze else g
        plane = (xp.arange(n * c, dtype=xp.int64) * (h * w)).reshape(n, c, 1, 1)
        gx = xp.bincount((self.flat + plane).ravel(), weights=g4.ravel(), minlength=n * c * h * w)
        gx = gx.astype(g.dtype, copy=False).reshape(n, c, h, w)
        return gx.reshape(n, c, w) if self.squeeze else gx
