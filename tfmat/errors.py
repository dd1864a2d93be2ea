"""The error a command reports in one sentence with exit status 2."""


class UsageError(Exception):
    """Bad input from the user (a flag, a path, a run directory that cannot be used as asked)."""
