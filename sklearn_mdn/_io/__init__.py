"""Files: model files that cannot run code, and atomic writes."""
