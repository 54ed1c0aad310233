"""Utilities: ``softgrad.utils.data`` (datasets, samplers, DataLoader), ``checkpoint`` and
``summary``."""
from softgrad.utils import checkpoint, data
from softgrad.utils.model_summary import ModelSummary, summary

__all__ = ["checkpoint", "data", "summary", "ModelSummary"]
