"""Exceptions that carry a one-line, user-facing message.

The CLI turns ``ConfigError`` into exit code 2 and ``UseCaseError`` into exit code 1,
so the type says who has to act: the person editing a conf, or the use case's author.
"""

from __future__ import annotations

from dataclasses import dataclass


class DataSharkError(Exception):
    """Base class: ``str(err)`` is the whole message shown to the user."""


class ConfigError(DataSharkError):
    """A conf file, key or value is wrong; nothing was run for it."""


class UseCaseError(DataSharkError):
    """A use case's code or data failed while it ran."""


@dataclass(frozen=True)
class ConfLocation:
    """Where in a conf file something is, as every conf error names it: the file, the section
    (``out_csv``; nested ones in order) and the key, e.g. ``/x/ssh.conf: [out_csv], key 'path'``."""

    file: str
    sections: tuple[str, ...] = ()
    key: str | None = None

    def section(self, *names: str) -> ConfLocation:
        """The location of a section inside this one."""
        return ConfLocation(self.file, (*self.sections, *names))

    def at(self, key: str) -> ConfLocation:
        """The location of ``key`` in this section."""
        return ConfLocation(self.file, self.sections, key)

    @property
    def place(self) -> str:
        """The location inside the file: ``[out_csv], key 'path'``, ``key 'type'``, ``[log_filter]``."""
        section = "".join(f"[{name}]" for name in self.sections)
        key = f"key '{self.key}'" if self.key is not None else ""
        return ", ".join(part for part in (section, key) if part)

    def error(self, problem: str) -> ConfigError:
        """A ConfigError saying ``problem`` about this location: ``<location>: <problem>``, or
        ``<location> is ...`` when the problem is a predicate (``is required ...``)."""
        separator = " " if problem.startswith(("is ", "has ")) else ": "
        return ConfigError(f"{self}{separator}{problem}")

    def __str__(self) -> str:
        return f"{self.file}: {self.place}" if self.place else self.file
