"""Use cases: what the service does, free of HTTP and of AWS types. Each takes the narrowest port it needs
(`customer_profiles.ports`) and models."""
