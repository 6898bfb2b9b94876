"""Built-in technique plugin: semisup (in progress)."""
