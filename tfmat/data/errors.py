"""Errors of the data layer."""


class DataError(Exception):
    """A dataset that is missing or unreadable; the message tells the user what to do."""
