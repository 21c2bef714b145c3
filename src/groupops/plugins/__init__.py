"""Hook specifications, the plugin manager and the built-in adapters (stores, messengers)."""
