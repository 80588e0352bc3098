"""The package's version, read by the package, its persistence and its build."""

__version__ = "0.1.0.dev0"
