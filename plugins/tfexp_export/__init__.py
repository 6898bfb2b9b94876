"""Built-in export plugin (in progress)."""
