"""The public API the issues list exists, with PyTorch's parameter names, order and defaults.

Every name below is looked up on softgrad; where PyTorch is installed and the object has a
Python signature there, ``inspect.signature`` parameter names (in order) and defaults must
agree. ``OMITTED`` documents the few PyTorch parameters softgrad leaves out on purpose.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import pytest

import softgrad as sg
from checks import needs_torch, torch

# Issue 2: creation, dtypes, grad mode, autograd
TOP = ("tensor from_numpy as_tensor zeros ones full empty eye arange linspace rand randn randint "
       "zeros_like ones_like randn_like rand_like full_like empty_like manual_seed no_grad "
       "enable_grad set_grad_enabled is_grad_enabled save load cat stack where einsum matmul "
       "maximum minimum clamp sum mean var std prod max min amax amin argmax argmin logsumexp "
       "norm cumsum reshape flatten unflatten squeeze unsqueeze transpose permute swapaxes tile "
       "flip roll narrow chunk split gather scatter_add index_select masked_fill exp log log1p "
       "expm1 sqrt rsqrt sin cos tanh sigmoid relu sign floor ceil round abs neg mm bmm dot "
       "broadcast_to concat is_tensor numel softmax log_softmax device inference_mode "
       "sort argsort topk kthvalue median nonzero argwhere unique bincount count_nonzero "
       "take_along_dim index_add scatter scatter_reduce masked_select repeat_interleave mv "
       "addmm outer diag diagonal triu tril trace cumprod logcumsumexp lerp clamp_min "
       "clamp_max nan_to_num isclose meshgrid searchsorted movedim Size").split()
DTYPES = "float32 float64 int64 bool float double long".split()
TENSOR = ("shape dtype ndim size numel T grad requires_grad is_leaf device item numpy tolist "
          "detach requires_grad_ float double long to backward grad_fn dim __array__ "
          "add sub mul div pow matmul __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ "
          "__truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __pow__ __rpow__ __matmul__ "
          "__rmatmul__ __iadd__ __isub__ __imul__ __itruediv__ add_ sub_ mul_ div_ zero_ fill_ "
          "copy_ neg abs exp log log1p expm1 sqrt rsqrt sin cos tanh sigmoid relu sign clamp "
          "floor ceil round __lt__ __le__ __gt__ __ge__ __eq__ __ne__ sum mean var std prod max "
          "min amax amin argmax argmin logsumexp norm cumsum reshape view flatten unflatten "
          "squeeze unsqueeze transpose permute swapaxes expand repeat tile flip roll narrow chunk "
          "split gather scatter_add index_select masked_fill __getitem__ softmax "
          "log_softmax uniform_ normal_ exp_ abs_ neg_ sqrt_ relu_ sigmoid_ tanh_ clamp_ "
          "masked_fill_ new_zeros new_ones new_full new_empty new_tensor "
          "sort argsort topk kthvalue median nonzero argwhere unique bincount count_nonzero "
          "take_along_dim index_add scatter scatter_reduce masked_select repeat_interleave mm "
          "bmm mv addmm outer dot diag diagonal triu tril trace cumprod logcumsumexp lerp "
          "clamp_min clamp_max nan_to_num isclose type_as contiguous is_contiguous scatter_ "
          "index_add_ scatter_reduce_ tril_ triu_").split()
AUTOGRAD = ["autograd.grad", "autograd.gradcheck", "autograd.functional.jacobian",
            "autograd.functional.hessian", "autograd.functional.vjp"]
FUNCTIONAL = ("softmax log_softmax sigmoid logsigmoid tanh relu leaky_relu elu selu gelu silu "
              "softplus hardtanh cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss "
              "huber_loss binary_cross_entropy binary_cross_entropy_with_logits kl_div linear "
              "dropout").split()
# Issue 3: nn, init, optim, schedulers, data
MODULES = ("Module Parameter Sequential ModuleList ModuleDict Linear Bilinear Identity Flatten "
           "Unflatten ReLU Sigmoid Tanh LeakyReLU GELU ELU SiLU Softplus Softmax LogSoftmax "
           "Dropout BatchNorm1d LayerNorm Embedding CrossEntropyLoss NLLLoss MSELoss L1Loss "
           "SmoothL1Loss HuberLoss BCELoss BCEWithLogitsLoss KLDivLoss").split()
MODULE_METHODS = ("parameters named_parameters buffers named_buffers children named_children "
                  "modules named_modules train eval zero_grad apply to state_dict "
                  "load_state_dict register_buffer register_parameter add_module forward "
                  "requires_grad_ extra_repr").split()
INIT = ("uniform_ normal_ constant_ zeros_ ones_ xavier_uniform_ xavier_normal_ kaiming_uniform_ "
        "kaiming_normal_ orthogonal_ calculate_gain").split()
NN_UTILS = ["clip_grad_norm_", "clip_grad_value_"]
OPTIMIZERS = "SGD Adam AdamW RMSprop Adagrad Adadelta".split()
OPTIMIZER_METHODS = "zero_grad step state_dict load_state_dict add_param_group".split()
SCHEDULERS = ("StepLR MultiStepLR ExponentialLR CosineAnnealingLR LambdaLR OneCycleLR "
              "ReduceLROnPlateau LinearLR SequentialLR").split()
DATA = "Dataset TensorDataset Subset ConcatDataset random_split DataLoader".split()

# PyTorch parameters softgrad leaves out on purpose, with the reason.
OMITTED: dict[str, set] = {
    # deprecated / vmap-only options
    "autograd.grad": {"only_inputs", "is_grads_batched"},
    # forward-mode AD, batched and masked checks do not exist in softgrad
    "autograd.gradcheck": {"check_undefined_grad", "check_grad_dtypes", "check_batched_grad",
                           "check_batched_forward_grad", "check_forward_ad",
                           "check_backward_ad", "fast_mode", "masked"},
    "autograd.functional.jacobian": {"strategy"},
    "autograd.functional.hessian": {"outer_jacobian_strategy"},
    "autograd.functional.vjp": {"strict"},
    # softgrad has no out= arguments; norm's dtype= is not supported
    "norm": {"out", "dtype"},
    # the deprecated positional form state_dict(destination, prefix, keep_vars)
    "nn.Module.state_dict": {"args"},
}
# PyTorch's signature is not comparable: einsum(*args) also takes the sublist format,
# softgrad's einsum(equation, *operands) takes the equation string only.
NOT_COMPARED = {"einsum"}
# defaults that differ only in form: random_split's generator=None means the global one
SAME_MEANING_DEFAULTS = {("utils.data.random_split", "generator")}
# softgrad's own name for a PyTorch parameter (positional use is unaffected)
RENAMED: dict[str, dict] = {
    "autograd.gradcheck": {"fn": "func"},  # the issue spells it gradcheck(fn, inputs)
}
# softgrad parameters PyTorch does not have
EXTRA: dict[str, set] = {"autograd.gradcheck": {"seed"},
                         "save": {"format"}}  # "torch" (PyTorch's zip) or "safetensors"


def _get(root: Any, dotted: str) -> Any:
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _params(obj: Any) -> list | None:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    ps = list(sig.parameters.values())
    if ps and ps[0].name == "self":
        ps = ps[1:]
    kinds = [q.kind for q in ps]
    if kinds == [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]:
        return None  # an opaque (*args, **kwargs) wrapper
    return ps


def _same_default(a: Any, b: Any) -> bool:
    if a is inspect.Parameter.empty or b is inspect.Parameter.empty:
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if any(isinstance(v, (int, float, str, bool, tuple, type(None))) for v in (a, b)):
        try:
            return bool(a == b)
        except Exception:
            return False
    return True  # objects (generators, dtypes) are compared by name only


def _compare(key: str, ours: Any, theirs: Any) -> None:
    ps, pt = _params(ours), _params(theirs)
    if ps is None or pt is None or key in NOT_COMPARED:
        return
    omitted, extra = OMITTED.get(key, set()), EXTRA.get(key, set())
    renamed = RENAMED.get(key, {})
    ps_names = [renamed.get(p.name, p.name) for p in ps if p.name not in extra]
    pt_names = [p.name for p in pt if p.name not in omitted]
    assert ps_names == pt_names, f"{key}: softgrad {ps_names} vs PyTorch {pt_names}"
    by_name = {p.name: p for p in pt}
    for p in ps:
        name = renamed.get(p.name, p.name)
        if name in by_name:
            q = by_name[name]
            if (key, name) in SAME_MEANING_DEFAULTS:
                continue
            assert _same_default(p.default, q.default), \
                f"{key}({name}=...): default {p.default!r} vs PyTorch {q.default!r}"
            var = (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            assert (p.kind in var) == (q.kind in var), f"{key}({name}): {p.kind} vs {q.kind}"


def _cases() -> list:
    out = [(f"sg.{n}", n) for n in TOP] + [(f"sg.{n}", n) for n in AUTOGRAD]
    out += [(f"F.{n}", f"nn.functional.{n}") for n in FUNCTIONAL]
    out += [(f"nn.{n}", f"nn.{n}") for n in MODULES]
    out += [(f"Module.{n}", f"nn.Module.{n}") for n in MODULE_METHODS]
    out += [(f"init.{n}", f"nn.init.{n}") for n in INIT]
    out += [(f"nn.utils.{n}", f"nn.utils.{n}") for n in NN_UTILS]
    out += [(f"optim.{n}", f"optim.{n}") for n in OPTIMIZERS]
    out += [(f"Optimizer.{n}", f"optim.Optimizer.{n}") for n in OPTIMIZER_METHODS]
    out += [(f"lr_scheduler.{n}", f"optim.lr_scheduler.{n}") for n in SCHEDULERS]
    out += [(f"data.{n}", f"utils.data.{n}") for n in DATA]
    return out


CASES = _cases()


@pytest.mark.parametrize("label, path", CASES, ids=[c[0] for c in CASES])
def test_name_exists(label: str, path: str) -> None:
    assert callable(_get(sg, path)) or inspect.isclass(_get(sg, path)), label


@needs_torch
@pytest.mark.parametrize("label, path", CASES, ids=[c[0] for c in CASES])
def test_signature_matches_torch(label: str, path: str) -> None:
    key = path[len("nn."):] if path.startswith("nn.functional") else path
    _compare(key if path.startswith("autograd") else path, _get(sg, path), _get(torch, path))


@pytest.mark.parametrize("name", TENSOR)
def test_tensor_attribute_exists(name: str) -> None:
    assert hasattr(sg.Tensor, name), f"Tensor.{name}"


@pytest.mark.parametrize("name", DTYPES)
def test_dtype_exists(name: str) -> None:
    assert isinstance(getattr(sg, name), sg.dtype)


def test_default_dtype_is_float32() -> None:
    assert sg.float == sg.float32 and sg.double == sg.float64 and sg.long == sg.int64
    assert sg.tensor([1.0]).dtype == sg.float32 and sg.tensor([1]).dtype == sg.int64


def test_top_level_namespace_has_no_internal_helpers() -> None:
    """``sg.*`` exposes functions, not the imports of the files that define them."""
    for name in ["np", "S", "Any", "Sequence", "annotations", "builtins", "Einsum", "Where",
                 "parse_einsum", "norm_dim", "broadcast_error", "index_add_zeros", "INTERNAL"]:
        assert not hasattr(sg, name), f"sg.{name} leaks an implementation detail"


@needs_torch
def test_top_level_function_names_exist_in_torch() -> None:
    """Every public callable of ``sg`` is named as in PyTorch (softgrad's own are listed)."""
    own = {"DType", "MinMaxResult"}
    missing = [n for n in dir(sg) if not n.startswith("_") and callable(getattr(sg, n))
               and not inspect.ismodule(getattr(sg, n)) and n not in own
               and not hasattr(torch, n)]
    assert not missing, f"not PyTorch names: {missing}"


def test_function_forms_show_the_method_parameters() -> None:
    params = list(inspect.signature(sg.sum).parameters)
    assert params[:3] == ["input", "dim", "keepdim"]
    assert list(inspect.signature(sg.split).parameters)[:3] == [
        "tensor", "split_size_or_sections", "dim"]  # PyTorch's name for this one


def _public_pairs() -> list:
    """Every public callable of these softgrad namespaces that PyTorch also has."""
    spaces = ["nn", "nn.functional", "nn.init", "nn.utils", "optim", "optim.lr_scheduler",
              "utils.data", "autograd", "autograd.functional", "linalg", "special"]
    out = []
    for space in spaces:
        ours = _get(sg, space)
        for name in sorted(dir(ours)):
            obj = getattr(ours, name)
            if name.startswith("_") or inspect.ismodule(obj) or not callable(obj):
                continue
            if getattr(obj, "__module__", "").startswith("softgrad"):
                out.append(f"{space}.{name}")
    return out


@needs_torch
@pytest.mark.parametrize("path", _public_pairs())
def test_every_public_callable_matches_torch(path: str) -> None:
    theirs = torch
    for part in path.split("."):
        theirs = getattr(theirs, part, None)
        if theirs is None:
            return  # a softgrad-only helper
    key = path[len("nn."):] if path.startswith("nn.functional") else path
    _compare(key, _get(sg, path), theirs)


def test_every_sg_function_module_name_is_exported() -> None:
    """What function_forms.py, functions.py and functions_more.py define is ``sg.*`` (the
    package imports each name explicitly, so a new one must be added there too)."""
    import ast
    from pathlib import Path

    root = Path(sg.__file__).parent
    missing = []
    for file in ("function_forms.py", "functions.py", "functions_more.py"):
        tree = ast.parse((root / file).read_text())
        defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        defined += [t.id for n in tree.body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)]
        private = {"function_form", "write_out", "np", "P", "R"}
        missing += [f"{file}: {name}" for name in defined
                    if not name.startswith("_") and name not in private and not hasattr(sg, name)]
    assert not missing, f"add to the imports of softgrad/__init__.py: {missing}"
