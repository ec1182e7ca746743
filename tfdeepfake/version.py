"""The package version (one place: the root package, setup.cfg's check and exports read it)."""

__version__ = "0.1.0"
