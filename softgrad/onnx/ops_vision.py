"""ONNX converters for convolution, pooling, padding and resampling primitives.

The primitives work on (N, C, H, W); 1-D layers run them on (N, C, L) with 2-tuples whose
first entry belongs to a unit height, so 3-D inputs keep only the last entry of each pair.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.onnx.builder import Builder, converter
from softgrad.onnx.tracer import TraceNode

np = backend.np


def _geometry(node: TraceNode, *names: str) -> dict:
    """ONNX attributes (strides, pads, dilations) for a 1-D or 2-D window primitive."""
    one_d = len(node.in_shapes[0]) == 3
    p = node.params
    out = {}
    pads = p.get("pads", ((0, 0), (0, 0)))
    if one_d:
        out["pads"] = [int(pads[1][0]), int(pads[1][1])]
    else:
        out["pads"] = [int(pads[0][0]), int(pads[1][0]), int(pads[0][1]), int(pads[1][1])]
    for name, attr in (("stride", "strides"), ("dilation", "dilations"),
                       ("kernel", "kernel_shape")):
        if name in names:
            v = p.get(name, (1, 1))
            out[attr] = [int(v[1])] if one_d else [int(v[0]), int(v[1])]
    return out


@converter("Conv2d", "Conv3d")
def _conv(b: Builder, node: TraceNode, ins: list[str]) -> str:
    if len(node.in_shapes[0]) == 5:  # 3-D: 3-tuple params
        p = node.params
        pads = p.get("pads", ((0, 0),) * 3)
        attrs: dict[str, Any] = {"pads": [int(lo) for lo, _ in pads] + [int(hi) for _, hi in pads],
                 "strides": [int(v) for v in p.get("stride", (1, 1, 1))],
                 "dilations": [int(v) for v in p.get("dilation", (1, 1, 1))]}
    else:
        attrs = _geometry(node, "stride", "dilation")
    attrs["kernel_shape"] = [int(k) for k in node.in_shapes[1][2:]]
    return b.op("Conv", ins, group=int(node.params.get("groups", 1)), **attrs)


@converter("ConvTranspose2d")
def _conv_transpose(b: Builder, node: TraceNode, ins: list[str]) -> str:
    attrs = _geometry(node, "stride", "dilation")
    attrs["kernel_shape"] = [int(k) for k in node.in_shapes[1][2:]]
    nd = len(attrs["kernel_shape"])
    extra = []  # output_padding: what the traced size adds to the formula (any input size)
    for i in range(nd):
        k, s, d = attrs["kernel_shape"][i], attrs["strides"][i], attrs["dilations"][i]
        base = (node.in_shapes[0][2 + i] - 1) * s - attrs["pads"][i] - attrs["pads"][i + nd] \
            + d * (k - 1) + 1
        extra.append(int(node.out_shape[2 + i] - base))
    if any(e < 0 or e >= max(s, d) for e, s, d in zip(extra, attrs["strides"],
                                                        attrs["dilations"])):
        raise b.unsupported(node, f"output size {node.out_shape[2:]} is not reachable with "
                            "output_padding")
    return b.op("ConvTranspose", ins, group=int(node.params.get("groups", 1)),
                output_padding=extra, **attrs)


def _check_out_size(b: Builder, node: TraceNode, attrs: dict) -> None:
    """The explicit pads (which include ceil_mode's extra ones) must give the traced size."""
    spatial = node.in_shapes[0][2:]
    nd = len(spatial)
    for i in range(nd):
        k, s = attrs["kernel_shape"][i], attrs["strides"][i]
        d = attrs.get("dilations", [1] * nd)[i]
        lo, hi = attrs["pads"][i], attrs["pads"][i + nd]
        if lo >= k or hi >= k:
            raise b.unsupported(node, f"padding {lo, hi} is not smaller than the kernel {k}")
        size = (spatial[i] + lo + hi - d * (k - 1) - 1) // s + 1
        if size != node.out_shape[2 + i]:
            raise b.unsupported(node, f"window geometry gives size {size}, expected "
                                f"{node.out_shape[2 + i]}")


@converter("MaxPool2d")
def _max_pool(b: Builder, node: TraceNode, ins: list[str]) -> str:
    if node.params.get("indices") is not None:
        raise b.unsupported(node, "return_indices=True (ONNX indices differ); export the "
                            "pooled values only")
    attrs = _geometry(node, "kernel", "stride", "dilation")
    _check_out_size(b, node, attrs)
    return b.op("MaxPool", ins, **attrs)


@converter("AvgPool2d")
def _avg_pool(b: Builder, node: TraceNode, ins: list[str]) -> str:
    attrs = _geometry(node, "kernel", "stride")
    _check_out_size(b, node, attrs)
    window = int(np.prod(attrs["kernel_shape"]))
    y = b.op("AveragePool", ins, count_include_pad=1, **attrs)  # window sum / window size
    div = node.params.get("divisor", 1.0)
    dt = node.in_dtypes[0]
    if isinstance(div, (int, float)):
        return y if float(div) == window else b.op("Mul", [y, b.scalar(window / div, dt)])
    if node.in_shapes[0][2:] != node.alt_in_shapes[0][2:]:
        raise b.unsupported(node, "count_include_pad=False with padding needs fixed spatial "
                            "sizes (drop the spatial dynamic axes)")
    div = np.asarray(backend.to_numpy(div), dtype=dt)
    if len(node.in_shapes[0]) == 3:
        div = div.reshape(-1)
    return b.op("Mul", [y, b.const((window / div).astype(dt), "avg_scale")])


def _is_mean(mat: Any, n_out: int) -> bool:
    return mat is None or (n_out == 1 and np.allclose(backend.to_numpy(mat),
                                                      1.0 / np.shape(mat)[1]))


@converter("Resample")
def _resample(b: Builder, node: TraceNode, ins: list[str]) -> str:
    ah, aw = node.params.get("ah"), node.params.get("aw")
    shape, alt = node.in_shapes[0], node.alt_in_shapes[0]
    out = node.out_shape
    if _is_mean(ah, out[-2]) and _is_mean(aw, out[-1]):  # (global) mean pooling
        axes = [a for a, m in ((len(shape) - 2, ah), (len(shape) - 1, aw)) if m is not None]
        return b.reduce("ReduceMean", ins[0], axes, True)
    if tuple(shape[-2:]) != tuple(alt[-2:]):
        raise b.unsupported(node, "resampling to a fixed size needs fixed spatial sizes (drop "
                            "the spatial dynamic axes)")
    y = ins[0]
    dt = node.in_dtypes[0]
    if aw is not None:
        y = b.op("MatMul", [y, b.const(np.asarray(backend.to_numpy(aw), dt).T.copy(), "aw")])
    if ah is not None:
        y = b.op("MatMul", [b.const(np.asarray(backend.to_numpy(ah), dt), "ah"), y])
    return y


@converter("ConstantPad")
def _constant_pad(b: Builder, node: TraceNode, ins: list[str]) -> str:
    pads = node.params.get("pads", ())
    spec = [int(p[0]) for p in pads] + [int(p[1]) for p in pads]
    value = b.scalar(node.params.get("value", 0.0), node.in_dtypes[0])
    return b.op("Pad", [ins[0], b.ints(spec, "pads"), value], mode="constant")


def _border_mode(idx: object, n: int, lo: int, hi: int) -> str | None:
    i = np.arange(-lo, n + hi)
    period = 2 * (n - 1)
    r = np.abs(i) % period if period else i * 0
    cands = {"reflect": np.where(r >= n, period - r, r), "edge": np.clip(i, 0, n - 1),
             "wrap": i % n}
    got = np.asarray(backend.to_numpy(idx))
    for mode, want in cands.items():
        if got.shape == want.shape and np.array_equal(got, want):
            return mode
    return None


@converter("IndexPad")
def _index_pad(b: Builder, node: TraceNode, ins: list[str]) -> str:
    nd = len(node.in_shapes[0])
    before, after = [0] * nd, [0] * nd
    modes = set()
    for axis, (idx, lo, hi) in node.params.get("index", {}).items():
        a = int(axis) % nd
        before[a], after[a] = int(lo), int(hi)
        modes.add(_border_mode(idx, node.in_shapes[0][a], int(lo), int(hi)))
    if len(modes) != 1 or None in modes:
        raise b.unsupported(node, "padding mode not recognised")
    mode = modes.pop()
    if mode == "wrap" and b.opset < 19:
        raise b.unsupported(node, "circular padding needs opset_version >= 19")
    return b.op("Pad", [ins[0], b.ints(before + after, "pads")], mode=mode)


@converter("AdaptiveMaxPool2d")
def _adaptive_max(b: Builder, node: TraceNode, ins: list[str]) -> str:
    if node.params.get("indices") is not None:
        raise b.unsupported(node, "return_indices=True; export the pooled values only")
    spatial, out = node.in_shapes[0][2:], node.out_shape[2:]
    alt = node.alt_in_shapes[0][2:]
    if all(o == 1 for o in out):  # global max pooling, any input size
        return b.reduce("ReduceMax", ins[0], list(range(2, 2 + len(out))), True)
    if tuple(spatial) != tuple(alt) or any(n % o for n, o in zip(spatial, out)):
        raise b.unsupported(node, f"adaptive max pooling {tuple(spatial)} -> {tuple(out)} is "
                            "exported only for fixed sizes that the output size divides")
    kernel = [int(n // o) for n, o in zip(spatial, out)]
    return b.op("MaxPool", ins, kernel_shape=kernel, strides=kernel)
