"""A person's and an org's data rights: export, erasure, consent with its provenance."""
