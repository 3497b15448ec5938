"""Which librdkafka rsyslog's Kafka output (omkafka) logs in to Kafka with.

omkafka runs on the system's librdkafka. Before 2.6.1, librdkafka repeats the client's nonce in
a SCRAM login and Kafka 4 brokers refuse it as invalid credentials (librdkafka issue #4895);
Debian 12 ships 2.0.2. confluent-kafka's wheel carries a recent librdkafka of the same ABI
(``librdkafka.so.1``): for a SCRAM login over an older system library, rsyslogd is started with
that one first on its library path. Nothing changes for PLAIN, TLS-only or plaintext Kafka.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

from datashark.acquisition.settings import KafkaTarget

SCRAM_FIXED = (2, 6, 1)
SONAME = "librdkafka.so.1"
FOLDER = "librdkafka"  # in the work folder: the link rsyslogd finds first

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Choice:
    """The library folder to put first for rsyslogd (None: the system's), and why, to log."""

    folder: Path | None
    notice: str


def choose(kafka: KafkaTarget, work_dir: Path) -> Choice:
    """The librdkafka omkafka should run on for ``kafka``'s login."""
    mechanism = kafka.options.get("sasl.mechanism", "")
    system = system_version()
    if not mechanism.upper().startswith("SCRAM") or system is None or system >= SCRAM_FIXED:
        return Choice(None, "")
    broken = f"omkafka's librdkafka {_text(system)} cannot log in with {mechanism} to Kafka 4 brokers"
    wheel = wheel_library()
    if wheel is None or wheel[1] < SCRAM_FIXED:
        return Choice(
            None,
            f"{broken} (fixed in {_text(SCRAM_FIXED)}, librdkafka issue #4895) and confluent-kafka's "
            "is no newer: use sasl.mechanism = PLAIN over SASL_SSL, or a newer librdkafka",
        )
    path, version = wheel
    folder = work_dir / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    link = folder / SONAME
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(path)
    return Choice(folder, f"{broken}: it runs on confluent-kafka's librdkafka {_text(version)} instead")


def system_version() -> Version | None:
    """The version of the librdkafka the dynamic linker finds for omkafka; None without one."""
    try:
        library = ctypes.CDLL(SONAME)
    except OSError:
        return None
    return _decode(library.rd_kafka_version())


def wheel_library() -> tuple[Path, Version] | None:
    """The librdkafka confluent-kafka's wheel carries (next to the package), with its version;
    None when confluent-kafka is absent or was built against the system's library."""
    try:
        import confluent_kafka
    except ImportError:
        return None
    folder = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    found = sorted(folder.glob("librdkafka*.so.1"))
    if not found:
        return None
    return found[0], _decode(confluent_kafka.libversion()[1])


def _decode(number: int) -> Version:
    """librdkafka's version number, 0xMMmmrrxx, as (major, minor, revision)."""
    return (number >> 24) & 0xFF, (number >> 16) & 0xFF, (number >> 8) & 0xFF


def _text(version: Version) -> str:
    return ".".join(str(part) for part in version)
