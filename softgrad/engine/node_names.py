"""PyTorch's names for softgrad's graph nodes: what ``t.grad_fn.name()`` returns.

A softgrad primitive ``Mul`` records a node that PyTorch would call ``MulBackward0``, so by
default a primitive's name gets ``Backward0`` appended. The table below covers the primitives
whose PyTorch counterpart is named differently. Some softgrad primitives are fused where
PyTorch records several nodes: ``F.cross_entropy`` is one ``CrossEntropyLossBackward0`` node
(PyTorch: ``LogSoftmaxBackward0`` then ``NllLossBackward0``), and ``F.linear`` on a 2-D input
is one ``AddmmBackward0`` node that takes the weight directly (PyTorch adds a ``TBackward0``).
Where one softgrad primitive covers several PyTorch nodes, the most common name is used:
``Sum``/``Mean`` are ``SumBackward0``/``MeanBackward0`` with or without ``dim`` (PyTorch
says ``SumBackward1`` with a ``dim``), all indexing is ``IndexBackward0`` (PyTorch also has
``SelectBackward0``, ``SliceBackward0``), and every reshape is ``ViewBackward0``.
"""
from __future__ import annotations

from typing import Any

# softgrad primitive class name -> PyTorch grad_fn class name
TORCH_NAMES: dict[str, str] = {
    "MatMul": "MmBackward0",
    "Pow": "PowBackward1",
    "PowScalar": "PowBackward0",
    "RPowScalar": "PowBackward2",
    "FloorDiv": "FloorDivideBackward0",
    "Clamp": "ClampBackward1",
    "ZeroGrad": "SignBackward0",
    "Cast": "ToCopyBackward0",
    "ToDevice": "ToCopyBackward0",
    "Reshape": "ViewBackward0",
    "Getitem": "IndexBackward0",
    "GetitemUnique": "IndexBackward0",
    "Contiguous": "CloneBackward0",
    "MaxDim": "MaxBackward0",
    "Norm2": "LinalgVectorNormBackward0",
    "ConstantPad": "ConstantPadNdBackward0",
    "Conv2d": "ConvolutionBackward0",
    "ConvTranspose2d": "ConvolutionBackward0",
    "MaxPool2d": "MaxPool2DWithIndicesBackward0",
    "AvgPool2d": "AvgPool2DBackward0",
    "AdaptiveMaxPool2d": "AdaptiveMaxPool2DBackward0",
    "MaxUnpool": "MaxUnpool2DBackward0",
    "Dropout": "MulBackward0",
    "LogSumExp": "LogsumexpBackward0",
    "Log1p": "Log1PBackward0",
    "CrossEntropy": "CrossEntropyLossBackward0",
    "CrossEntropyProb": "CrossEntropyLossBackward0",
    "NLLLoss": "NllLossBackward0",
    "MSELoss": "MseLossBackward0",
    "BCELoss": "BinaryCrossEntropyBackward0",
    "BCEWithLogitsLoss": "BinaryCrossEntropyWithLogitsBackward0",
    "KLDivLoss": "KlDivBackward0",
}


def node_name(fn: Any) -> str:
    """PyTorch's class name for the node ``fn`` records, e.g. ``"AddmmBackward0"``.

    A primitive defined outside ``softgrad.ops`` (a user's own) is named ``<Class>Backward``,
    as PyTorch names the nodes of a custom ``autograd.Function``.
    """
    cls = type(fn).__name__
    if cls == "Linear" and type(fn).__module__ == "softgrad.ops.linear":
        inputs = getattr(fn, "needs_input_grad", ())
        return "AddmmBackward0" if len(inputs) == 3 else "MmBackward0"
    if cls == "Polygamma" and getattr(fn, "n", None) == 0:
        return "DigammaBackward0"
    if not type(fn).__module__.startswith("softgrad.ops"):
        return f"{cls}Backward"
    return TORCH_NAMES.get(cls, f"{cls}Backward0")
