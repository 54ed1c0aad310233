"""What several test files share: op cases, checks against PyTorch, the module registry, the
NumPy stand-in for CuPy, signature comparison. Imported as ``tests.helpers.<module>``."""
