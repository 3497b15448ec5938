"""Remembering a pure function's answers for the values a log repeats.

Logs repeat themselves: a web server sees the same few hundred user agents and the same pages
millions of times, a firewall the same addresses. A detection that runs a dozen regular
expressions over each of them can ask once per distinct value instead, with ``remembered``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

Answer = TypeVar("Answer")

DEFAULT_SIZE = 4096


class remembered(Generic[Answer]):  # noqa: N801 - used as a function: remembered(scanner_name)
    """``function`` (pure, of one argument) answering from memory for the last ``size``
    distinct arguments or so: when full, the memory is emptied and fills again, so it holds at
    most ``size`` answers. Pickles without its memory: each Spark task starts empty.

    Answers are shared between calls: return immutable values (text, numbers, tuples).
    """

    def __init__(self, function: Callable[[Any], Answer], size: int = DEFAULT_SIZE) -> None:
        name = name_of(function)
        if size < 1:
            raise ValueError(f"remembered({name}): size must be at least 1, not {size}")
        self.function = function
        self.size = size
        self.answers: dict[Hashable, Answer] = {}
        self.__doc__ = function.__doc__
        self.__name__ = name

    def __call__(self, argument: Hashable) -> Answer:
        try:
            return self.answers[argument]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument (a list where text was expected): not kept
            return self.function(argument)
        answer = self.function(argument)
        if len(self.answers) >= self.size:
            self.answers.clear()
        self.answers[argument] = answer
        return answer

    def __getstate__(self) -> dict[str, Any]:
        return {"function": self.function, "size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["function"], state["size"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"remembered({self.__name__}, size={self.size})"


def name_of(function: Callable[..., Any]) -> str:
    """A function's name; for a ``functools.partial`` (settings bound to a function), the bound
    function's; else the callable's class."""
    inner = getattr(function, "func", None)
    return getattr(function, "__name__", None) or getattr(inner, "__name__", None) or type(function).__name__
