"""Secrets in confs: which keys hold one, where the value really is, and keeping it out of sight.

A secret key (``password``, ``api_key``, ``sasl.password``, ``ssl.key.password``, ...) may hold
the value itself or a reference to it, resolved when the conf is read::

    password = ${env:ES_PASSWORD}          # an environment variable of the dataShark process
    api_key = ${file:/etc/datashark/es.key}  # a file's content (relative: to the conf's folder)

Every value resolved is remembered for this process, so ``scrub`` can blank it out of any text
that is about to be printed; ``redacted`` gives ``load()`` a conf without them, so what a use
case's functions close over (and Spark checkpoints) holds none.
"""

from __future__ import annotations

import copy
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from configobj import ConfigObj, Section

from datashark.errors import ConfLocation

REDACTED = "********"
SECRET_KEY = re.compile(
    r"(?:^|[._])(?:password|passwd|secret|token|api_?key|basic_auth|credentials?)$", re.IGNORECASE
)
REFERENCE = re.compile(r"^\$\{(?P<kind>env|file):(?P<name>[^}]+)\}$")
URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s:]*(?::[^/@\s]*)?@")
MIN_SCRUBBED = 4  # shorter values would blank out ordinary words
# Every secret value this process resolved, for scrub(); lives as long as the process.
_KNOWN: set[str] = set()


def is_secret_key(key: str) -> bool:
    """Whether a conf key holds a secret, by its name (``password``, ``kafka.sasl.password``, ...)."""
    return bool(SECRET_KEY.search(key))


def resolve_secrets(conf: ConfigObj, path: Path) -> None:
    """Replace references in ``conf``'s secret keys by their values, in place; warn once when a
    conf holding a secret written out can be read by other users.

    A ``#`` starts a comment in an unquoted value, so an unquoted password with one would be cut
    silently: it is an error instead.
    """
    written_out = []
    for section, key in _secret_entries(conf):
        where = _location(path, section, key)
        if section.inline_comments.get(key):
            raise where.error(
                "'#' starts a comment in an unquoted value, which would cut the secret: "
                'quote the value ("...") or use ${env:NAME} / ${file:PATH}'
            )
        value = section[key]
        reference = REFERENCE.match(value.strip())
        if reference:
            section[key] = value = _dereference(reference["kind"], reference["name"].strip(), path, where)
        elif value:
            written_out.append(where.place)
        remember(value)
    if written_out and _readable_by_others(path):
        from datashark import console

        console.to_stderr(
            f"[!] {path}: holds a secret ({written_out[0]}) and is readable by other users: "
            f"chmod 600 it, or use ${{env:NAME}} / ${{file:PATH}}"
        )


def remember(value: str) -> None:
    """A secret this process knows, to be blanked out of whatever it prints."""
    if len(value) >= MIN_SCRUBBED:
        _KNOWN.add(value)


def scrub(text: str) -> str:
    """``text`` with every known secret and any URL's ``user:password@`` blanked out."""
    text = redact_url(text)
    for value in _KNOWN:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact_url(text: str) -> str:
    """``https://user:pass@host`` -> ``https://********@host``, wherever a URL appears in ``text``."""
    return URL_USERINFO.sub(lambda match: f"{match['scheme']}{REDACTED}@", text)


def redacted(conf: ConfigObj) -> ConfigObj:
    """A copy of ``conf`` whose secret values are ``REDACTED`` (what ``load()`` receives)."""
    copied = copy.deepcopy(conf)
    for section, key in _secret_entries(copied):
        if section[key]:
            section[key] = REDACTED
    return copied


def _secret_entries(section: Section) -> Iterator[tuple[Section, str]]:
    for key in section.scalars:
        if isinstance(section[key], str) and is_secret_key(key):
            yield section, key
    for name in section.sections:
        yield from _secret_entries(section[name])


def _dereference(kind: str, name: str, conf_path: Path, where: ConfLocation) -> str:
    if kind == "env":
        value = os.environ.get(name)
        if value is None:
            raise where.error(f"environment variable {name} is not set")
        return value
    secret_file = Path(name).expanduser()
    if not secret_file.is_absolute():
        secret_file = conf_path.parent / secret_file
    try:
        value = secret_file.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as err:
        raise where.error(f"cannot read {secret_file}: {err.__class__.__name__}") from None
    if _readable_by_others(secret_file):
        from datashark import console

        console.to_stderr(f"[!] {secret_file}: holds a secret and is readable by other users: chmod 600 it")
    return value


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def _location(path: Path, section: Section, key: str) -> ConfLocation:
    names = []
    while section.parent is not section:
        names.append(section.name)
        section = section.parent
    return ConfLocation(str(path), tuple(reversed(names)), key)
