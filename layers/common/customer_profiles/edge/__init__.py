"""The edge: what functions need between AWS and the domain (settings, HTTP, tokens, idempotency, events,
secrets). Imported by functions, never by `data`."""
