"""The resolver: the recursive node that turns any handle into a verified answer (and, later, evaluations,
certificates and regulator queries)."""
