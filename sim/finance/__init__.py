"""Project finance: debt, covenants and taxes (issue #10)."""
