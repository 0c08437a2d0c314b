"""metadata_templates."""
