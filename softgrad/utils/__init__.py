"""Utilities: ``softgrad.utils.data`` (datasets, samplers, DataLoader) and ``summary``."""
from softgrad.utils import data
from softgrad.utils.model_summary import ModelSummary, summary

__all__ = ["data", "summary", "ModelSummary"]
