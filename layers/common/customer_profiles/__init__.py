"""Customer profile service: the shared package every function imports (from the common layer)."""
