"""``softgrad.nn``: modules, parameters, functional and init."""
from softgrad.nn import functional  # noqa: F401
