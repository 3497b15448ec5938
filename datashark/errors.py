"""Exceptions that carry a one-line, user-facing message.

The CLI turns ``ConfigError`` into exit code 2 and ``UseCaseError`` into exit code 1,
so the type says who has to act: the person editing a conf, or the use case's author.
"""


class DataSharkError(Exception):
    """Base class: ``str(err)`` is the whole message shown to the user."""


class ConfigError(DataSharkError):
    """A conf file, key or value is wrong; nothing was run for it."""


class UseCaseError(DataSharkError):
    """A use case's code or data failed while it ran."""
