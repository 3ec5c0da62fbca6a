"""What the table's stream drives: pending effects, completed exactly once in effect, and the activity
trail derived from each change."""
