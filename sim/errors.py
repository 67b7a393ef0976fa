"""Errors a user can cause and fix: they are reported in one line, never as a traceback."""


class UserError(ValueError):
    """A bad config value, bad input file or misbehaving plug-in, explained in one line."""


class LookAheadError(LookupError):
    """A strategy tried to read market data after its decision day, or anything its views do not offer."""
