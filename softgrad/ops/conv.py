"""Convolution primitives (1-D, 2-D and 3-D), transposed convolution, and the weight gradient.

Shapes: x (N, C, *S), conv weight (O, C / groups, *K), transposed-conv weight
(C, O / groups, *K), for 1, 2 or 3 spatial axes. Params ``stride``, ``pads`` (``((lo, hi),
...)``) and ``dilation`` are per-axis tuples; the last ``x.ndim - 2`` entries are used, so 1-D
layers may pass 2-tuples whose first entry belongs to a unit height.

The three primitives are each other's adjoints. With ``<., .>`` the sum of an element-wise
product, ``<conv(x, W), g> = <x, conv_transpose(g, W)> = <W, weight_grad(x, g)>``, so:

- ``Conv``:            grad_x = conv_transpose(g, W),   grad_W = weight_grad(x, g)
- ``ConvTranspose``:   grad_x = conv(g, W),             grad_W = weight_grad(g, x)
- ``ConvWeightGrad``:  grad_x = conv_transpose(g, H),   grad_g = conv(x, H)   (H: upstream)

On arrays each VJP runs the GEMM lowerings of ``conv_lowering``; with ``create_graph`` the
same VJPs are recorded as these primitives on Tensors, so gradients of any order follow.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops import conv_lowering as low

KEEP_COLS_BYTES = 8 * 2**20  # forward keeps im2col columns up to this size for grad_W


def _geo(nd: int, stride: tuple, pads: tuple, dilation: tuple, groups: int) -> tuple:
    """(stride, pads, dilation, groups) for ``nd`` spatial axes (the trailing entries)."""
    return (tuple(stride[-nd:]), tuple(tuple(p) for p in pads[-nd:]), tuple(dilation[-nd:]),
            groups)


def _bias_grad(g: Any) -> Any:
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


class _Geometry(Function):
    """Shared parameter handling of the convolution primitives."""

    def _setup(self, x: Any, stride: tuple, pads: tuple, dilation: tuple, groups: int) -> tuple:
        nd = x.ndim - 2
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups
        self.geo = _geo(nd, stride, pads, dilation, groups)
        return self.geo

    def _params(self) -> dict:
        return {"stride": self.stride, "pads": self.pads, "dilation": self.dilation,
                "groups": self.groups}


class Conv2d(_Geometry):
    """y = conv(x, W) + b.  grad_x = conv_transpose(g, W); grad_W = weight_grad(x, g);
    grad_b = g summed over every axis but the channels.

    Inputs: x (N, C, *S), w (O, C/G, *K), optional b (O,). Params: stride, pads, dilation,
    groups; ``out``: the output's spatial size when it is not the floor-mode one (used by
    the transposed convolution's gradient).
    """

    def forward(self, x: Any, w: Any, b: Any = None, stride: tuple = (1, 1),
                pads: tuple = ((0, 0), (0, 0)), dilation: tuple = (1, 1), groups: int = 1,
                out: tuple | None = None) -> Any:
        geo = self._setup(x, stride, pads, dilation, groups)
        y, self.cols = low.forward(self.xp, x, w, geo, b, KEEP_COLS_BYTES, out)
        self.x_shape = x.shape
        self.save_for_backward(x, w)
        return y

    def backward(self, g: Any) -> tuple:
        x, w = self.saved
        need = self.needs_input_grad
        gx, gw = low.backward(self.xp, g, x, w, self.geo, self.x_shape, need[0], need[1],
                              self.cols)
        return gx, gw, _bias_grad(g) if len(need) > 2 and need[2] else None

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: the two adjoint primitives (the array VJP is one fused lowering that
        reuses forward's columns)."""
        x, w = self.saved
        need = self.needs_input_grad
        gx = gw = None
        if need[0]:
            gx = self.call(ConvTranspose2d, g, w, **self._params(), out_hw=tuple(x.shape[2:]))
        if need[1]:
            gw = self.call(ConvWeightGrad, x, g, **self._params(), w_shape=tuple(w.shape))
        return gx, gw, _bias_grad(g) if len(need) > 2 and need[2] else None


class Conv3d(Conv2d):
    """Conv2d's primitive on (N, C, D, H, W) input with 3-tuple params (a real 3-D lowering:
    its columns hold kD * kH * kW taps per channel)."""


class ConvTranspose2d(_Geometry):
    """y = conv_transpose(x, W) + b (the adjoint of a convolution in x).
    grad_x = conv(g, W); grad_W = weight_grad(g, x); grad_b = g summed but over channels.

    Inputs: x (N, C, *S), w (C, O/G, *K), optional b (O,). Params: stride, pads, dilation,
    groups and ``out_hw``: the output's spatial size (it includes ``output_padding``).
    """

    def forward(self, x: Any, w: Any, b: Any = None, stride: tuple = (1, 1),
                pads: tuple = ((0, 0), (0, 0)), dilation: tuple = (1, 1), groups: int = 1,
                out_hw: tuple = (1, 1)) -> Any:
        geo = self._setup(x, stride, pads, dilation, groups)
        nd = x.ndim - 2
        y_shape = (x.shape[0], w.shape[1] * groups) + tuple(out_hw[-nd:])
        y = low.backward(self.xp, x, None, w, geo, y_shape, True, False)[0]
        if b is not None:
            y += b.reshape((1, -1) + (1,) * nd)
        self.save_for_backward(x, w)
        return y

    def backward(self, g: Any) -> tuple:
        x, w = self.saved
        xp, need = self.xp, self.needs_input_grad
        gx = gw = None
        if need[0]:
            gx = low.forward(xp, g, w, self.geo, out=tuple(x.shape[2:]))[0]
        if need[1]:
            gw = low.backward(xp, x, g, w, self.geo, g.shape, False, True)[1]
        return gx, gw, _bias_grad(g) if len(need) > 2 and need[2] else None

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: the same VJPs as primitives (the array one calls the lowerings
        directly, keeping no columns)."""
        x, w = self.saved
        need = self.needs_input_grad
        gx = gw = None
        if need[0]:
            gx = self.call(Conv2d, g, w, **self._params(), out=tuple(x.shape[2:]))
        if need[1]:
            gw = self.call(ConvWeightGrad, g, x, **self._params(), w_shape=tuple(w.shape))
        return gx, gw, _bias_grad(g) if len(need) > 2 and need[2] else None


class ConvWeightGrad(_Geometry):
    """grad_W = weight_grad(x, g) of y = conv(x, W) (a bilinear map of x and g); its VJP
    for upstream H (shaped like W): grad_x = conv_transpose(g, H), grad_g = conv(x, H).

    Inputs: x (N, C, *S), g (N, O, *Out). Params: the convolution's stride, pads, dilation,
    groups and ``w_shape``. Appears only in graphs built by ``create_graph`` backward passes.
    """

    def forward(self, x: Any, g: Any, stride: tuple = (1, 1), pads: tuple = ((0, 0), (0, 0)),
                dilation: tuple = (1, 1), groups: int = 1, w_shape: tuple = ()) -> Any:
        geo = self._setup(x, stride, pads, dilation, groups)
        self.w_shape = w_shape
        w_like = _ShapeOnly(w_shape)
        self.save_for_backward(x, g)
        return low.backward(self.xp, g, x, w_like, geo, x.shape, False, True)[1]

    def backward(self, h: Any) -> tuple:
        x, g = self.saved
        xp, need = self.xp, self.needs_input_grad
        gx = gg = None
        if need[0]:
            gx = low.backward(xp, g, None, h, self.geo, x.shape, True, False)[0]
        if need[1]:
            gg = low.forward(xp, x, h, self.geo, out=tuple(g.shape[2:]))[0]
        return gx, gg

    def _backward_graph(self, h: Any) -> tuple:
        """Recorded: the same VJPs as the two convolution primitives."""
        x, g = self.saved
        need = self.needs_input_grad
        gx = gg = None
        if need[0]:
            gx = self.call(ConvTranspose2d, g, h, **self._params(), out_hw=tuple(x.shape[2:]))
        if need[1]:
            gg = self.call(Conv2d, x, h, **self._params(), out=tuple(g.shape[2:]))
        return gx, gg


class _ShapeOnly:
    """Stands in for a weight array when only its shape is needed (weight gradient)."""

    def __init__(self, shape: tuple) -> None:
        self.shape = tuple(shape)
