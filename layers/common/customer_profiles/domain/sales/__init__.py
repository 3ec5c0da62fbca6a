"""Sales: consumer purchases, the venue window (point of sale), resellers' orders, receipt codes."""
