"""carbon_efficiency."""
