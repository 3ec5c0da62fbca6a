"""What the table's stream drives: pending effects, completed exactly once in effect (`effects`, `stream`),
the activity trails (`trail` derives the entries of a change, `activity` writes and shows them) and the
identification report's tallies (`tallies`)."""
