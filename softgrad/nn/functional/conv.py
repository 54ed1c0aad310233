"""Convolutions: ``conv1d, conv2d, conv_transpose1d, conv_transpose2d`` (PyTorch-named).

Each is one fused primitive (``ops.conv``): im2col through an ``as_strided`` window view and
one batched GEMM. Unbatched input (no N axis) is accepted as in PyTorch.
"""
from __future__ import annotations

from collections.abc import Sequence

from softgrad.nn.functional._spatial import batched as _batched
from softgrad.ops.conv import Conv2d, ConvTranspose2d
from softgrad.ops.windows import as_tuple
from softgrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

IntOr = int | Sequence[int]


def _shape(t: Tensor) -> str:
    return str(list(t.shape))


def _check_common(name: str, x: Tensor, weight: Tensor, bias: Tensor | None, nd: int,
                  groups: int) -> None:
    if weight.dim() != nd + 2:
        raise RuntimeError(f"{name}(): expected {nd + 2}D weight, got weight of size "
                           f"{_shape(weight)}")
    if not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f"{name}(): non-positive groups is not supported (got {groups})")
    if x._data.dtype != weight._data.dtype:
        raise RuntimeError(f"{name}(): input dtype {x.dtype} and weight dtype {weight.dtype} "
                           f"must be the same")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{name}(): expected a floating point input, got {x.dtype}")
    if bias is not None and (bias.dim() != 1 or bias._data.dtype != weight._data.dtype):
        raise RuntimeError(f"{name}(): bias must be 1-D of dtype {weight.dtype}, got size "
                           f"{_shape(bias)} and dtype {bias.dtype}")


def _conv_pads(name: str, padding: IntOr | str, kernel: tuple, dilation: tuple,
               stride: tuple, nd: int) -> tuple:
    """Padding as ((top, bottom), (left, right)); 'same' may be asymmetric, as PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * max(2, nd)
        if padding != "same":
            raise ValueError(f"{name}(): invalid padding string {padding!r}, should be one of "
                             f"{{'valid', 'same'}}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}(): padding='same' is not supported for strided "
                             f"convolutions (stride={stride[-nd:]})")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    p = as_tuple(padding, nd, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{name}(): negative padding is not supported (got {p})")
    p = (0,) * (2 - nd) + p
    return tuple((v, v) for v in p)


def _params(name: str, nd: int, stride: IntOr, dilation: IntOr) -> tuple[tuple, tuple]:
    s = as_tuple(stride, nd, "stride")
    d = as_tuple(dilation, nd, "dilation")
    if any(v < 1 for v in s):
        raise RuntimeError(f"{name}(): non-positive stride is not supported (got {s})")
    if any(v < 1 for v in d):
        raise RuntimeError(f"{name}(): dilation should be greater than zero (got {d})")
    return (1,) * (2 - nd) + s, (1,) * (2 - nd) + d


def _check_channels(name: str, x: Tensor, weight: Tensor, bias: Tensor | None,
                    groups: int) -> None:
    """Channel counts of input (N, C_in, ...), weight (C_out, C_in / groups, ...) and bias agree."""
    o, cg = weight.shape[0], weight.shape[1]
    if o % groups:
        raise RuntimeError(f"{name}(): out_channels ({o}, weight of size {_shape(weight)}) must "
                           f"be divisible by groups={groups}")
    if x.shape[1] != cg * groups:
        raise RuntimeError(f"{name}(): Given groups={groups}, weight of size {_shape(weight)}, "
                           f"expected input{_shape(x)} to have {cg * groups} channels, but got "
                           f"{x.shape[1]} channels instead")
    if bias is not None and bias.shape[0] != o:
        raise RuntimeError(f"{name}(): Given weight of size {_shape(weight)}, expected bias to "
                           f"be 1-dimensional with {o} elements, but got bias of size "
                           f"{_shape(bias)} instead")


def _check_fits(name: str, input: Tensor, weight: Tensor, padded: tuple,
                eff: tuple) -> None:
    """Each padded spatial size holds the dilated kernel (``eff``)."""
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"{name}(): Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be "
                           f"greater than actual input size (input {_shape(input)}, "
                           f"weight {_shape(weight)})")


def _conv(name: str, nd: int, input: Tensor, weight: Tensor, bias: Tensor | None,
          stride: IntOr, padding: IntOr | str, dilation: IntOr, groups: int) -> Tensor:
    x, added = _batched(name, input, nd)
    _check_common(name, x, weight, bias, nd, groups)
    s, d = _params(name, nd, stride, dilation)
    kernel = (1,) * (2 - nd) + tuple(weight.shape[2:])
    _check_channels(name, x, weight, bias, groups)
    pads = _conv_pads(name, padding, kernel, d, s, nd)
    spatial = (1,) * (2 - nd) + tuple(x.shape[2:])
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    eff = tuple(dd * (k - 1) + 1 for k, dd in zip(kernel, d))
    _check_fits(name, input, weight, padded[2 - nd:], eff[2 - nd:])
    args = (x, weight) if bias is None else (x, weight, bias)
    out = Tensor._apply(Conv2d, *args, stride=s, pads=pads, dilation=d, groups=groups)
    return out.squeeze(0) if added else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: IntOr = 1, padding: IntOr | str = 0, dilation: IntOr = 1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation over (N, C_in, L) input. See ``nn.Conv1d``.

    Args:
        weight: (C_out, C_in / groups, K).  bias: (C_out,) or None.
        stride, dilation: int or 1-tuple.  padding: int, 1-tuple, ``'valid'`` or ``'same'``.
        groups: split the channels into this many independent groups.
    Shape: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out),
    L_out = floor((L + 2 * padding - dilation * (K - 1) - 1) / stride) + 1.
    Example:
        >>> F.conv1d(sg.randn(4, 3, 20), sg.randn(8, 3, 5)).shape
        (4, 8, 16)
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: IntOr = 1, padding: IntOr | str = 0, dilation: IntOr = 1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation over (N, C_in, H, W) input. See ``nn.Conv2d``.

    Args:
        weight: (C_out, C_in / groups, KH, KW).  bias: (C_out,) or None.
        stride, dilation: int or pair.  padding: int, pair, ``'valid'`` or ``'same'``.
        groups: split the channels into this many independent groups.
    Shape: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = floor((H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) / stride[0]) + 1.
    Example:
        >>> F.conv2d(sg.randn(2, 1, 28, 28), sg.randn(6, 1, 5, 5)).shape
        (2, 6, 24, 24)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(name: str, nd: int, input: Tensor, weight: Tensor,
                    bias: Tensor | None, stride: IntOr, padding: IntOr, output_padding: IntOr,
                    groups: int, dilation: IntOr,
                    output_size: Sequence[int] | None = None) -> Tensor:
    x, added = _batched(name, input, nd)
    _check_common(name, x, weight, bias, nd, groups)
    s, d = _params(name, nd, stride, dilation)
    if isinstance(padding, str):
        raise ValueError(f"{name}(): padding must be an int or a tuple of ints, got {padding!r}")
    p = (0,) * (2 - nd) + as_tuple(padding, nd, "padding")
    op = (0,) * (2 - nd) + as_tuple(output_padding, nd, "output_padding")
    c_in, og = weight.shape[0], weight.shape[1]
    kernel = (1,) * (2 - nd) + tuple(weight.shape[2:])
    if x.shape[1] != c_in:
        raise RuntimeError(f"{name}(): Given transposed=1, weight of size {_shape(weight)}, "
                           f"expected input{_shape(x)} to have {c_in} channels, but got "
                           f"{x.shape[1]} channels instead")
    if c_in % groups:
        raise RuntimeError(f"{name}(): in_channels ({c_in}) must be divisible by groups="
                           f"{groups}")
    if bias is not None and bias.shape[0] != og * groups:
        raise RuntimeError(f"{name}(): expected bias of size [{og * groups}], got "
                           f"{_shape(bias)}")
    for a, b_, c in zip(op, s, d):
        if a < 0 or (a >= b_ and a >= c):
            raise RuntimeError(f"{name}(): output padding must be smaller than either stride "
                               f"or dilation, but got output_padding={op[2 - nd:]}, "
                               f"stride={s[2 - nd:]}, dilation={d[2 - nd:]}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{name}(): negative padding is not supported (got {p[2 - nd:]})")
    spatial = (1,) * (2 - nd) + tuple(x.shape[2:])
    out_hw = [(n - 1) * ss - 2 * pp + dd * (k - 1) + 1 + oo
              for n, ss, pp, dd, k, oo in zip(spatial, s, p, d, kernel, op)]
    if output_size is not None:
        want = (1,) * (2 - nd) + tuple(int(v) for v in tuple(output_size)[-nd:])
        for i in range(2 - nd, 2):
            lo, hi = out_hw[i] - op[i], out_hw[i] - op[i] + s[i] - 1
            if not lo <= want[i] <= hi:
                raise ValueError(f"{name}(): requested output size {tuple(output_size)} is not "
                                 f"reachable; each size must be in [{lo}, {hi}]")
        out_hw = list(want)
    if any(v <= 0 for v in out_hw):
        raise RuntimeError(f"{name}(): output size {tuple(out_hw[2 - nd:])} is too small for "
                           f"input {_shape(input)} and weight {_shape(weight)}")
    pads = tuple((v, v) for v in p)
    args = (x, weight) if bias is None else (x, weight, bias)
    out = Tensor._apply(ConvTranspose2d, *args, stride=s, pads=pads, dilation=d, groups=groups,
                        out_hw=tuple(out_hw))
    return out.squeeze(0) if added else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOr = 1, padding: IntOr = 0, output_padding: IntOr = 0,
                     groups: int = 1, dilation: IntOr = 1) -> Tensor:
    """1-D transposed convolution (the gradient of ``conv1d`` w.r.t. its input).

    Args:
        weight: (C_in, C_out / groups, K).  bias: (C_out,) or None.
        output_padding: extra size added to one side of the output.
    Shape: (N, C_in, L) -> (N, C_out, L_out),
    L_out = (L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1.
    See ``nn.ConvTranspose1d``.
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOr = 1, padding: IntOr = 0, output_padding: IntOr = 0,
                     groups: int = 1, dilation: IntOr = 1) -> Tensor:
    """2-D transposed convolution (the gradient of ``conv2d`` w.r.t. its input).

    Args:
        weight: (C_in, C_out / groups, KH, KW).  bias: (C_out,) or None.
        output_padding: extra size added to the bottom/right of the output.
    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (KH - 1)
    + output_padding[0] + 1. See ``nn.ConvTranspose2d``.
    Example:
        >>> F.conv_transpose2d(sg.randn(1, 4, 5, 5), sg.randn(4, 2, 3, 3), stride=2).shape
        (1, 2, 11, 11)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
