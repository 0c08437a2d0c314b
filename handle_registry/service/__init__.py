"""The registry service: prefix applications and approval, signed prefix records, delegation, templates."""
