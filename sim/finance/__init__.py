"""Project finance of a conversion: debt schedules, the lender's covenants and taxes, as monthly arrays."""
