"""softgrad's tests, laid out like the package (core, ops, nn, optim, data, ...)."""
