"""Built-in technique plugin: multilabel (in progress)."""
