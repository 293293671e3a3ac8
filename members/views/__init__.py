"""Coordinator pages of the registry: dashboard, members, PPEs and installations, registry upload."""
