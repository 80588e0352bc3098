"""Private names of the dependencies, warnings and version checks."""
