"""Built-in technique plugin: rl (in progress)."""
