"""Built-in technique plugin: distill (in progress)."""
