"""The version of sklearn-mdn (read by the build backend and saved in models)."""

__version__ = "0.1.0.dev0"
