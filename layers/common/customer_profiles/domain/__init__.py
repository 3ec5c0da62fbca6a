"""Use cases: what the service does, free of HTTP and of AWS types. Each takes a `Store` and models."""
