"""Primitives that have no ONNX converter, each with the reason, named in the ExportError
raised when a traced forward uses one. Every primitive of ``softgrad.ops`` is either
converted (``CONVERTERS``) or listed here (tests/export/test_onnx_coverage.py checks it)."""
from __future__ import annotations

_NO_OP = "ONNX has no operator for it"
_LOSS = "losses are not exported (export the model; compute its loss outside the file)"
_DECOMP = "ONNX has no matrix decomposition or inverse operators"
_NOT_YET = "softgrad has no ONNX converter for it yet"

REASONS: dict[str, str] = {
    # element-wise and special functions
    "Atan2": _NO_OP + " (atan2)",
    "Copysign": "ONNX cannot tell -0.0 from 0.0 (no signbit operator)",
    "Xlogy": _NOT_YET,
    "Erfcx": _NO_OP + " (scaled erfc)",
    "Erfinv": _NO_OP + " (inverse error function)",
    "I0": _NO_OP + " (modified Bessel function I0)",
    "Lgamma": _NO_OP + " (log-gamma)",
    "Polygamma": _NO_OP + " (digamma/polygamma)",
    "Gammainc": _NO_OP + " (incomplete gamma)",
    "ScaledDotProductAttention": "never traced: during export, attention runs as its composed "
                                 "ops (matmul, softmax), which are converted",
    # random draws
    "Sampled": "a random draw; export a model without sampling",
    "StandardGamma": "a random draw; export a model without sampling",
    # linear algebra
    "Inv": _DECOMP, "Solve": _DECOMP, "Cholesky": _DECOMP, "Pinv": _DECOMP,
    "SolveTriangular": _DECOMP,
    "SvdPart": _DECOMP, "EighPart": _DECOMP, "QrPart": _DECOMP,
    "Undifferentiable": "a value computed outside the traced graph",
    # losses
    "CtcLoss": _LOSS, "NLLLoss": _LOSS, "MSELoss": _LOSS, "L1Loss": _LOSS,
    "HuberLoss": _LOSS, "BCELoss": _LOSS, "BCEWithLogitsLoss": _LOSS, "KLDivLoss": _LOSS,
    "CrossEntropy": _LOSS, "CrossEntropyProb": _LOSS, "_Pointwise": "an abstract base class",
    "_Recurrent": "an abstract base class (its subclasses are converted)",
    "_Geometry": "an abstract base class (its subclasses are converted)",
    "ConvWeightGrad": "only built by double backward through a convolution, never in a "
                      "forward pass",
    # indexing and windows
    "Fold": _NOT_YET + " (Fold)", "Unfold": _NOT_YET + " (Unfold)",
    "MaxUnpool": _NOT_YET + " (MaxUnpool)",
    "GetitemUnique": _NOT_YET, "GatherUnique": _NOT_YET, "IndexAdd": _NOT_YET,
    "IndexAddZeros": _NOT_YET, "Scatter": _NOT_YET, "ScatterReduce": _NOT_YET,
    "RepeatInterleave": _NOT_YET, "Cumprod": _NOT_YET,
}
