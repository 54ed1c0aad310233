"""Convolution and transposed convolution as im2col + one batched GEMM per call.

Shapes (2-D; a 3-D input ``(N, C, L)`` is run as ``(N, C, 1, L)``):
x (N, C, H, W), conv weight (O, C / groups, KH, KW), transposed-conv weight
(C, O / groups, KH, KW). ``pads`` is ``((top, bottom), (left, right))``.

The three building blocks are each other's adjoints:
``conv_forward`` (im2col of x, then W @ cols), ``conv_input_grad`` (W^T @ g, then col2im:
a transposed convolution) and ``conv_weight_grad`` (g @ cols^T summed over the batch).
Column buffers above ``CHUNK_BYTES`` are built one batch slice at a time; a large stride-1
input gradient is computed as a plain convolution of g with the flipped kernel instead of
col2im. In graph mode (higher-order gradients) the VJPs are recorded through
``Unfold``/``Fold`` and matmuls on Tensors.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops.fold import Fold, Unfold
from softgrad.ops.windows import Pads, col2im_add, crop, im2col, out_size, pad_array


KEEP_COLS_BYTES = 32 * 2**20  # im2col buffers up to this size are saved for backward
CHUNK_BYTES = 8 * 2**20  # larger column buffers are built a batch slice at a time


def batch_chunk(n: int, per_sample_bytes: int) -> int:
    """Samples per slice so one slice's columns stay near ``CHUNK_BYTES`` (cache-sized)."""
    return max(1, min(n, CHUNK_BYTES // max(per_sample_bytes, 1)))


def conv_forward(xp: Any, x: Any, w: Any, stride: tuple, pads: Pads, dilation: tuple,
                 groups: int, out_hw: tuple | None = None) -> tuple[Any, Any]:
    """(y, cols): y (N, O, OH, OW) = W (O, C/G*KH*KW) @ cols (N, C*KH*KW, OH*OW) per group.

    Large inputs run a batch slice at a time (im2col of the slice, then its GEMM straight
    into y), so the columns stay cache-sized; ``cols`` is then None.
    """
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if out_hw is None:
        out_hw = (out_size(h, kh, stride[0], *pads[0], dilation[0]),
                  out_size(wd, kw, stride[1], *pads[1], dilation[1]))
    length = out_hw[0] * out_hw[1]
    m = batch_chunk(n, c * kh * kw * length * x.itemsize)
    if m < n:
        y = xp.empty((n, o) + tuple(out_hw), dtype=x.dtype)
        for i in range(0, n, m):
            y[i:i + m] = conv_forward(xp, x[i:i + m], w, stride, pads, dilation, groups,
                                      out_hw)[0]
        return y, None
    cols = im2col(xp, pad_array(xp, x, pads), (kh, kw), stride, dilation, out_hw)
    if groups == 1:
        y = xp.matmul(_flat(w, o), cols.reshape(n, c * kh * kw, length))
    else:
        y = xp.matmul(_flat(w, o).reshape(groups, o // groups, cg * kh * kw),
                      cols.reshape(n, groups, cg * kh * kw, length))
    return y.reshape(n, o, out_hw[0], out_hw[1]), cols


def weight_grad_from_input(xp: Any, g: Any, src: Any, w_shape: tuple, stride: tuple,
                           pads: Pads, dilation: tuple, groups: int) -> Any:
    """``conv_weight_grad`` with the columns of ``src`` rebuilt a batch slice at a time.

    g (N, O, OH, OW) is the gradient of the convolution of src (N, C, H, W).
    """
    n, c = src.shape[:2]
    kernel, out_hw = tuple(w_shape[2:]), tuple(g.shape[2:])
    per = c * kernel[0] * kernel[1] * out_hw[0] * out_hw[1] * src.itemsize
    m = batch_chunk(n, per)
    gw = None
    for i in range(0, n, m):
        cols = im2col(xp, pad_array(xp, src[i:i + m], pads), kernel, stride, dilation, out_hw)
        part = conv_weight_grad(xp, g[i:i + m], cols, w_shape, groups)
        if gw is None:
            gw = part
        else:
            gw += part
    return gw


def conv_input_grad(xp: Any, g: Any, w: Any, x_shape: tuple, stride: tuple, pads: Pads,
                    dilation: tuple, groups: int) -> Any:
    """Gradient (N, C, H, W) of a convolution's input: W^T @ g, then col2im.

    The batch axis is moved innermost first, so the GEMM is one (C*K*K, O) @ (O, L*N)
    product and every col2im slice add runs over rows of ``OW * N`` elements.
    """
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    h, wd = x_shape[2], x_shape[3]
    length = oh * ow
    full = _full_conv_pads(pads, (kh, kw), stride, dilation)
    if full is not None and o * h * wd <= c * length and (length >= 256 or cg == 1):
        return _input_grad_as_conv(xp, g, w, x_shape, full, dilation, groups)
    m = batch_chunk(n, c * kh * kw * length * g.itemsize)
    if m < n:  # batch slices keep the column buffer cache-sized
        gx = xp.empty((n, c, h, wd), dtype=g.dtype)
        for i in range(0, n, m):
            gx[i:i + m] = conv_input_grad(xp, g[i:i + m], w, (min(m, n - i), c, h, wd),
                                          stride, pads, dilation, groups)
        return gx
    gt = xp.ascontiguousarray(g.transpose(1, 2, 3, 0))  # (O, OH, OW, N)
    if groups == 1:
        gc = _flat(w, o).T @ gt.reshape(o, length * n)
    else:
        og = o // groups
        gc = xp.matmul(_flat(w, o).reshape(groups, og, cg * kh * kw).transpose(0, 2, 1),
                       gt.reshape(groups, og, length * n))
    gc = gc.reshape(c, kh, kw, oh, ow, n)
    (t, b), (lft, r) = pads
    buf = xp.zeros((c, h + t + b, wd + lft + r, n), dtype=g.dtype)
    col2im_add(buf, gc, (kh, kw), stride, dilation, axis=1)
    return xp.ascontiguousarray(crop(buf, pads, (h, wd), axis=1).transpose(3, 0, 1, 2))


def _full_conv_pads(pads: Pads, kernel: tuple, stride: tuple, dilation: tuple) -> Pads | None:
    """Padding that turns a stride-1 input gradient into a plain convolution of g, or None
    (strided, or padded by more than the dilated kernel)."""
    if stride != (1, 1):
        return None
    out = tuple((d * (k - 1) - lo, d * (k - 1) - hi)
                for (lo, hi), k, d in zip(pads, kernel, dilation))
    return None if min(min(p) for p in out) < 0 else out


def _input_grad_as_conv(xp: Any, g: Any, w: Any, x_shape: tuple, full: Pads, dilation: tuple,
                        groups: int) -> Any:
    """Stride-1 input gradient as a 'full' convolution of g with the flipped, transposed
    kernel: one im2col of g and a GEMM straight into (N, C, H, W), no col2im adds. Used
    where g's columns are no larger than the col2im ones and the GEMMs are big enough."""
    o, cg, kh, kw = w.shape
    og = o // groups
    wt = w.reshape(groups, og, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    wt = xp.ascontiguousarray(wt).reshape(groups * cg, og, kh, kw)
    return conv_forward(xp, g, wt, (1, 1), full, dilation, groups, out_hw=x_shape[2:])[0]


def conv_weight_grad(xp: Any, g: Any, cols: Any, w_shape: tuple, groups: int) -> Any:
    """Gradient of a convolution's weight: sum over the batch of g (O, L) @ cols^T (L, CKK).

    Computed as cols (CKK, L) @ g^T (L, O) per sample, the orientation BLAS runs fastest
    for the usual CKK > O, then summed over the batch and transposed once.
    """
    n, o = g.shape[:2]
    length = g.shape[2] * g.shape[3]
    ckk = cols.shape[1] * cols.shape[2] * cols.shape[3]
    if groups == 1:
        gw = xp.matmul(cols.reshape(n, ckk, length),
                       g.reshape(n, o, length).transpose(0, 2, 1)).sum(axis=0).T
    else:
        og, k = o // groups, ckk // groups
        gw = xp.matmul(cols.reshape(n, groups, k, length),
                       g.reshape(n, groups, og, length).transpose(0, 1, 3, 2))
        gw = gw.sum(axis=0).transpose(0, 2, 1)
    return xp.ascontiguousarray(gw).reshape(w_shape)


def _flat(w: Any, o: int) -> Any:
    return w.reshape(o, -1)


def _as_2d(x: Any, w: Any) -> tuple[Any, Any, bool]:
    """Lift 1-D convolution arrays (N, C, L), (O, C, K) to 2-D ones with H = 1."""
    if x.ndim == 3:
        return x[:, :, None, :], w[:, :, None, :], True
    return x, w, False


def _lift_t(fn: Function, *ts: Any) -> list:
    """Tensors of a 1-D convolution given an H = 1 axis (graph mode)."""
    return [t.unsqueeze(2) if fn.squeeze else t for t in ts]


def _conv_backward_graph(fn: Function, g: Any, x: Any, w: Any) -> tuple:
    """Conv2d's VJP recorded on Tensors (unfold / fold / matmul), for higher-order grads."""
    xp, need, groups = fn.xp, fn.needs_input_grad, fn.groups
    x4, w4, g4 = _lift_t(fn, x, w, g)
    n, c, h, wd = x4.shape
    o, cg, kh, kw = w4.shape
    out_hw = tuple(g4.shape[2:])
    length, og = out_hw[0] * out_hw[1], o // groups
    geo = dict(kernel=(kh, kw), stride=fn.stride, pads=fn.pads, dilation=fn.dilation,
               out_hw=out_hw)
    g3 = g4.reshape(n, groups, og, length)
    wg = w4.reshape(groups, og, cg * kh * kw)
    gx = gw = gb = None
    if need[0]:
        cols = (wg.mT @ g3).reshape(n, c * kh * kw, length)
        gx = xp.apply(Fold, cols, x_shape=(n, c, h, wd), **geo).reshape(x.shape)
    if need[1]:
        cols = xp.apply(Unfold, x4, **geo).reshape(n, groups, cg * kh * kw, length)
        gw = (g3 @ cols.mT).sum(axis=0).reshape(w.shape)
    if len(need) > 2 and need[2]:
        gb = g4.sum(axis=(0, 2, 3))
    return gx, gw, gb


def _conv_transpose_backward_graph(fn: Function, g: Any, x: Any, w: Any) -> tuple:
    """ConvTranspose2d's VJP recorded on Tensors: a convolution of g by W, and x @ cols(g)."""
    xp, need, groups = fn.xp, fn.needs_input_grad, fn.groups
    x4, w4, g4 = _lift_t(fn, x, w, g)
    n, c_in, h, wd = x4.shape
    _, cg, kh, kw = w4.shape
    length, og = h * wd, c_in // groups
    cols = xp.apply(Unfold, g4, kernel=(kh, kw), stride=fn.stride, pads=fn.pads,
                    dilation=fn.dilation, out_hw=(h, wd))
    cols = cols.reshape(n, groups, cg * kh * kw, length)
    gx = gw = gb = None
    if need[0]:
        gx = (w4.reshape(groups, og, cg * kh * kw) @ cols).reshape(x.shape)
    if need[1]:
        gw = (x4.reshape(n, groups, og, length) @ cols.mT).sum(axis=0).reshape(w.shape)
    if len(need) > 2 and need[2]:
        gb = g4.sum(axis=(0, 2, 3))
    return gx, gw, gb


class Conv2d(Function):
    """y = conv(x, W) + b.  grad_x = conv_transpose(g, W); grad_W = sum_n g @ cols(x)^T;
    grad_b = g summed over (N, H, W).

    Inputs: x (N, C, H, W) or (N, C, L), w (O, C/G, KH, KW) or (O, C/G, K), optional b (O,).
    Params: stride, pads, dilation (2-tuples, already normalised), groups.
    """

    def forward(self, x: Any, w: Any, b: Any = None, stride: tuple = (1, 1),
                pads: Pads = ((0, 0), (0, 0)), dilation: tuple = (1, 1), groups: int = 1) -> Any:
        x4, w4, self.squeeze = _as_2d(x, w)
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups
        y, cols = conv_forward(self.xp, x4, w4, stride, pads, dilation, groups)
        # keep the columns for grad_W unless they are large: then backward redoes im2col
        self.cols = cols if cols is not None and cols.nbytes <= KEEP_COLS_BYTES else None
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        self.save_for_backward(x, w)
        self.x_shape = x4.shape
        return y[:, :, 0, :] if self.squeeze else y

    def backward(self, g: Any) -> tuple:
        x, w = self.saved
        xp, need = self.xp, self.needs_input_grad
        if self._graph:
            return _conv_backward_graph(self, g, x, w)
        w4 = w[:, :, None, :] if self.squeeze else w
        g4 = g[:, :, None, :] if self.squeeze else g
        gx = gw = gb = None
        if need[0]:
            gx = conv_input_grad(xp, g4, w4, self.x_shape, self.stride, self.pads,
                                 self.dilation, self.groups).reshape(x.shape)
        if need[1]:
            if self.cols is not None:
                gw = conv_weight_grad(xp, g4, self.cols, w.shape, self.groups)
            else:
                x4 = x[:, :, None, :] if self.squeeze else x
                gw = weight_grad_from_input(xp, g4, x4, w4.shape, self.stride, self.pads,
                                            self.dilation, self.groups).reshape(w.shape)
        if len(need) > 2 and need[2]:
            gb = g4.sum(axis=(0, 2, 3))
        return gx, gw, gb


class ConvTranspose2d(Function):
    """y = conv_transpose(x, W) + b (the adjoint of Conv2d in x).  grad_x = conv(g, W);
    grad_W = sum_n x @ cols(g)^T; grad_b = g summed over (N, H, W).

    Inputs: x (N, C, H, W) or (N, C, L), w (C, O/G, KH, KW) or (C, O/G, K), optional b (O,).
    Params: stride, pads, dilation, groups and ``out_hw``: the output's spatial size
    (it includes ``output_padding``).
    """

    def forward(self, x: Any, w: Any, b: Any = None, stride: tuple = (1, 1),
                pads: Pads = ((0, 0), (0, 0)), dilation: tuple = (1, 1), groups: int = 1,
                out_hw: tuple = (1, 1)) -> Any:
        x4, w4, self.squeeze = _as_2d(x, w)
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups
        n = x4.shape[0]
        y_shape = (n, w4.shape[1] * groups) + tuple(out_hw)
        y = conv_input_grad(self.xp, x4, w4, y_shape, stride, pads, dilation, groups)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        self.save_for_backward(x, w)
        return y[:, :, 0, :] if self.squeeze else y

    def backward(self, g: Any) -> tuple:
        x, w = self.saved
        xp, need = self.xp, self.needs_input_grad
        if self._graph:
            return _conv_transpose_backward_graph(self, g, x, w)
        x4, w4, _ = _as_2d(x, w)
        g4 = g[:, :, None, :] if self.squeeze else g
        gx = gw = gb = None
        if need[0] or need[1]:
            gx4, cols = conv_forward(xp, g4, w4, self.stride, self.pads, self.dilation,
                                     self.groups, out_hw=x4.shape[2:])
            if need[0]:
                gx = gx4.reshape(x.shape)
            if need[1] and cols is not None:
                gw = conv_weight_grad(xp, x4, cols, w.shape, self.groups)
            elif need[1]:
                gw = weight_grad_from_input(xp, x4, g4, w4.shape, self.stride, self.pads,
                                            self.dilation, self.groups).reshape(w.shape)
        if len(need) > 2 and need[2]:
            gb = g4.sum(axis=(0, 2, 3))
        return gx, gw, gb
