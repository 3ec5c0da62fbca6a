"""An org's own console: its view of its customers, its staff memberships and who may act, its settings
and its identification report."""
