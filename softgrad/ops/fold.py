"""``Unfold`` (im2col to (N, C*KH*KW, L)) and ``Fold`` (its adjoint, col2im summing overlaps)."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops.windows import Pads, col2im_add, crop, im2col, pad_array


class Unfold(Function):
    """y[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh*s + i*d, ow*s + j*d];
    grad_x = fold(g) (window contributions summed back).

    Params: kernel, stride, pads, dilation, out_hw (all 2-tuples / pairs).
    """

    def forward(self, x: Any, kernel: tuple = (1, 1), stride: tuple = (1, 1),
                pads: Pads = ((0, 0), (0, 0)), dilation: tuple = (1, 1),
                out_hw: tuple = (1, 1)) -> Any:
        self.kernel, self.stride, self.pads, self.dilation = kernel, stride, pads, dilation
        self.x_shape = x.shape
        cols = im2col(self.xp, pad_array(self.xp, x, pads), kernel, stride, dilation, out_hw)
        n, c = x.shape[:2]
        self.cols_shape = cols.shape
        return cols.reshape(n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])

    def backward(self, g: Any) -> Any:
        return fold_array(self.xp, g.reshape(self.cols_shape), self.x_shape, self.kernel,
                          self.stride, self.pads, self.dilation)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: ``Fold`` (the array VJP is its col2im without the contiguous copy)."""
        return self.call(Fold, g, x_shape=self.x_shape, kernel=self.kernel, stride=self.stride,
                         pads=self.pads, dilation=self.dilation, out_hw=self.cols_shape[4:])


def fold_array(xp: Any, cols: Any, x_shape: tuple, kernel: tuple, stride: tuple, pads: Pads,
               dilation: tuple) -> Any:
    """col2im of cols (N, C, KH, KW, OH, OW) onto a zero (N, C, H, W) array."""
    n, c, h, w = x_shape
    (t, b), (lft, r) = pads
    buf = xp.zeros((n, c, h + t + b, w + lft + r), dtype=cols.dtype)
    col2im_add(buf, cols, kernel, stride, dilation, axis=2)
    return crop(buf, pads, (h, w)) if (t or b or lft or r) else buf


class Fold(Function):
    """y = sum of the column blocks placed at their windows (col2im); grad_x = unfold(g).

    Input (N, C*KH*KW, L). Params: x_shape (N, C, H, W) of the output, kernel, stride, pads,
    dilation, out_hw (the block grid, OH * OW = L).
    """

    def forward(self, x: Any, x_shape: tuple = (), kernel: tuple = (1, 1),
                stride: tuple = (1, 1), pads: Pads = ((0, 0), (0, 0)),
                dilation: tuple = (1, 1), out_hw: tuple = (1, 1)) -> Any:
        self.kernel, self.stride, self.pads, self.dilation = kernel, stride, pads, dilation
        self.out_hw, self.in_shape = out_hw, x.shape
        n, c = x_shape[:2]
        cols = x.reshape(n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
        y = fold_array(self.xp, cols, x_shape, kernel, stride, pads, dilation)
        return self.xp.ascontiguousarray(y)

    def backward(self, g: Any) -> Any:
        return self.call(Unfold, g, kernel=self.kernel, stride=self.stride, pads=self.pads,
                         dilation=self.dilation, out_hw=self.out_hw).reshape(self.in_shape)
