"""Periodic actors, run by `periodiq actors` (see actors/__init__.py, which imports this package)."""
