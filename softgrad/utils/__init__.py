"""Utilities: ``softgrad.utils.data`` (datasets, samplers, DataLoader)."""
from softgrad.utils import data

__all__ = ["data"]
