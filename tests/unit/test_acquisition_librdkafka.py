"""Which librdkafka omkafka runs on: the system's, unless a SCRAM login needs a newer one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from datashark.acquisition import librdkafka
from datashark.acquisition.settings import KafkaTarget

OLD = (2, 0, 2)  # Debian 12's
NEW = (2, 16, 0)

Version = tuple[int, int, int]
SetVersions = Callable[[Version | None, Version | None], Path]


def target(**options: str) -> KafkaTarget:
    return KafkaTarget(
        ("k1:9092",), "syslog", dict(options), spool_max_bytes=1 << 30, memory_messages=100_000
    )


SCRAM = target(**{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.password": "pw"})


@pytest.fixture
def libraries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SetVersions:
    """Set the system's version and the wheel's library: ``libraries(system, wheel: Version | None)``."""
    wheel_file = tmp_path / "wheel" / "librdkafka-0cb94173.so.1"
    wheel_file.parent.mkdir()
    wheel_file.write_bytes(b"\x7fELF")

    def set_versions(system: Version | None, wheel: Version | None) -> Path:
        monkeypatch.setattr(librdkafka, "system_version", lambda: system)
        monkeypatch.setattr(
            librdkafka, "wheel_library", lambda: None if wheel is None else (wheel_file, wheel)
        )
        return wheel_file

    return set_versions


def test_a_scram_login_over_an_old_system_library_runs_on_the_wheels(
    libraries: SetVersions, tmp_path: Path
) -> None:
    wheel_file = libraries(OLD, NEW)
    choice = librdkafka.choose(SCRAM, tmp_path)
    assert choice.folder == tmp_path / "librdkafka"
    assert (choice.folder / "librdkafka.so.1").resolve() == wheel_file.resolve()
    assert choice.folder.stat().st_mode & 0o777 == 0o700
    assert "2.0.2" in choice.notice and "2.16.0" in choice.notice
    assert librdkafka.choose(SCRAM, tmp_path).folder == choice.folder  # the link is made anew


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"security.protocol": "SSL", "ssl.ca.location": "/ca.pem"},
        {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.password": "pw"},
    ],
)
def test_other_logins_keep_the_system_library(
    libraries: SetVersions, tmp_path: Path, options: dict[str, str]
) -> None:
    libraries(OLD, NEW)
    assert librdkafka.choose(target(**options), tmp_path) == librdkafka.Choice(None, "")
    assert not (tmp_path / "librdkafka").exists()


def test_a_fixed_system_library_is_kept(libraries: SetVersions, tmp_path: Path) -> None:
    libraries((2, 6, 1), NEW)
    assert librdkafka.choose(SCRAM, tmp_path) == librdkafka.Choice(None, "")


@pytest.mark.parametrize("wheel", [None, (2, 6, 0)])
def test_without_a_newer_library_the_notice_says_what_to_do(
    libraries: SetVersions, tmp_path: Path, wheel: Version | None
) -> None:
    libraries(OLD, wheel)
    choice = librdkafka.choose(SCRAM, tmp_path)
    assert choice.folder is None
    assert "SCRAM-SHA-512" in choice.notice and "sasl.mechanism = PLAIN" in choice.notice
    assert "pw" not in choice.notice


def test_versions_decode_from_librdkafkas_number() -> None:
    assert librdkafka._decode(0x020002FF) == (2, 0, 2)
    assert librdkafka._decode(0x021000FF) == (2, 16, 0)
