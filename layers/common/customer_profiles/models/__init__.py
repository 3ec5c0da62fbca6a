"""Models: `domain` (what the service knows), `api` (what the routes take and answer)."""
