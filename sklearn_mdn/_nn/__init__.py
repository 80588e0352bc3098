"""The training engine: the only code that imports torch or skorch."""
