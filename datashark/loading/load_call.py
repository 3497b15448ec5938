"""Calling a use case's ``load()``: importing its code, and passing what its signature accepts.

The original's ``load(streamingData, trainingData, context, conf)`` and shorter forms such as
``load(batchData)`` or ``load(batchData, conf)`` all work. A batch use case's ``load()`` written
that way too gets, as ``trainingData``, an RDD of the conf's ``training`` (``OptionalData``): the
same detection then runs over a file with ``type = batch`` and nothing else changed. A
``load()`` with a parameter named ``lookups`` gets the values of the conf's ``[lookups]``
(``datashark.lookups.live.Lookups``; empty without that section), wherever the parameter is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from datashark.config.secrets import redacted
from datashark.errors import UseCaseError
from datashark.loading.codeimport import import_file, unique_module_name
from datashark.lookups.live import Lookups

if TYPE_CHECKING:
    from datashark.config.usecase import UseCase

# How many data arguments load() receives: batchData; or streamingData, trainingData.
DATA_ARGUMENTS_BY_TYPE = {"batch": 1, "streaming": 2}


class OptionalData:
    """Data ``load()`` gets only when a parameter without a default is left for it: a batch use
    case's training data, which a ``load(batchData[, conf, context])`` never sees and a
    ``load(streamingData, trainingData, context, conf)`` gets as its ``trainingData``.
    Built by ``build`` only when passed (None without ``build``)."""

    def __init__(self, build: Callable[[], Any] | None = None) -> None:
        self.build = build

    def value(self) -> Any:
        return self.build() if self.build is not None else None


def import_code(usecase: UseCase) -> ModuleType:
    """Import the use case's code file and check it has a callable ``load``."""
    try:
        module = import_file(usecase.code_path, unique_module_name("datashark_usecase", usecase.code_path))
    except Exception as err:  # the user's module may raise anything while importing
        raise UseCaseError(f"{usecase.code_path}: import failed: {type(err).__name__}: {err}") from err
    if not callable(getattr(module, "load", None)):
        raise UseCaseError(f"{usecase.code_path}: no load() function defined")
    try:
        bind_load_arguments(inspect.signature(module.load), *load_arguments(usecase, None))
    except UseCaseError as err:
        raise UseCaseError(f"{usecase.code_path}: {err}") from None
    return module


def load_arguments(
    usecase: UseCase,
    context: Any,
    *data: Any,
    training: Callable[[], Any] | None = None,
    spark: Any = None,
    lookups: Lookups | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """The data and named values ``load()`` may take, in the original's order and names.

    A batch use case's data is followed by its training data, built by ``training`` only if
    ``load()`` takes it (see ``OptionalData``). The conf comes without its secrets: what
    ``load()``'s functions close over is shipped to executors and written into streaming
    checkpoints, and plugins get theirs on their own. A DataFrame use case may also take
    ``spark`` (the SparkSession). ``lookups``: the started lookups of the use case
    (``LookupSet.start``); none given, an empty mapping.
    """
    values: list[Any] = list(data) or [None] * DATA_ARGUMENTS_BY_TYPE[usecase.type]
    if usecase.type == "batch":
        values.append(OptionalData(training))
    named = {
        "conf": redacted(usecase.conf),
        "context": context,
        "lookups": lookups if lookups is not None else Lookups(),
    }
    if usecase.reads_frames:
        named["spark"] = spark
    return values, named


def call_load(load: Callable[..., Any], data: list[Any], named: dict[str, Any]) -> Any:
    """Call ``load`` with what its signature accepts.

    ``data`` fills the parameters that are not named like an entry of ``named`` (``conf``,
    ``context``), in order: so ``load(batchData)``, ``load(batchData, conf)`` and the
    original's ``load(streamingData, trainingData, context, conf)`` all work.
    """
    args, kwargs = bind_load_arguments(inspect.signature(load), data, named)
    return load(*args, **kwargs)


def bind_load_arguments(
    signature: inspect.Signature, data: list[Any], named: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """The ``(args, kwargs)`` that ``call_load`` passes; a TypeError-free mapping or UseCaseError.

    Data goes positionally until a parameter has been bound by name: after that, passing more
    positionally would collide with it, so later data goes by name too. ``OptionalData`` fills
    only a parameter without a default (never ``*args``), and is built only then.
    """
    pending = list(data)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    unused_named = dict(named)
    for param in signature.parameters.values():
        takes_data = bool(pending) and param.kind is not param.KEYWORD_ONLY
        if takes_data and isinstance(pending[0], OptionalData):
            takes_data = param.default is param.empty
        if param.kind is param.VAR_POSITIONAL:
            if not kwargs:
                args.extend(item for item in pending if not isinstance(item, OptionalData))
                pending.clear()
        elif param.kind is param.VAR_KEYWORD:
            kwargs.update(unused_named)
        elif param.name in unused_named and param.kind is not param.POSITIONAL_ONLY:
            kwargs[param.name] = unused_named.pop(param.name)
        elif takes_data:
            value = pending.pop(0)
            if isinstance(value, OptionalData):
                value = value.value()
            if kwargs:
                kwargs[param.name] = value
            else:
                args.append(value)
        elif param.default is param.empty:
            accepted = ", ".join([*(_data_name(item, i) for i, item in enumerate(data)), *named])
            raise UseCaseError(
                f"load() parameter '{param.name}' cannot be supplied (dataShark passes: {accepted})"
            )
    return args, kwargs


def _data_name(item: Any, index: int) -> str:
    return "<training data>" if isinstance(item, OptionalData) else f"<data {index + 1}>"
