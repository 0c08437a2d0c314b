"""handle_registry."""
