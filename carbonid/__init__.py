"""carbonid."""
