"""tests/data/auth.log is exactly what tests/data/make_auth_log.py writes, and is a real-looking auth.log."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "data" / "make_auth_log.py"
AUTH_LOG = REPO / "tests" / "data" / "auth.log"

HEADER = re.compile(
    r"(?P<stamp>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d)"
    r" [a-z0-9-]+ sshd\[\d+\]: \S"
)
# What the failed-logins example (docs/writing-use-cases.md) counts, with the threshold of its conf.
FAILED = re.compile(r"Failed password for (?:invalid user )?(\S+) from (\S+)")
EXAMPLE_THRESHOLD = 5
SHIPPABLE = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "10.0.0.0/8")
]
# The messages real sshd versions write that use cases parse; each must occur in the sample.
MESSAGES = (
    r"Failed password for \S+ from \S+ port \d+ ssh2$",
    r"Failed password for invalid user \S+ from \S+ port \d+ ssh2$",
    r"Invalid user \S+ from \S+ port \d+$",
    r"pam_unix\(sshd:auth\): authentication failure; "
    r"logname= uid=0 euid=0 tty=ssh ruser= rhost=\S+  user=\S+$",
    r"Accepted password for \S+ from \S+ port \d+ ssh2$",
    r"Accepted publickey for \S+ from \S+ port \d+ ssh2: RSA SHA256:[A-Za-z0-9+/]{43}$",
    r"Connection closed by authenticating user \S+ \S+ port \d+ \[preauth\]$",
    r"Disconnected from authenticating user \S+ \S+ port \d+ \[preauth\]$",
    r"Received disconnect from \S+ port \d+:11: Bye Bye \[preauth\]$",
    r"Unable to negotiate with \S+ port \d+: no matching key exchange method found\. ",
    r"error: maximum authentication attempts exceeded for \S+ from \S+ port \d+ ssh2 \[preauth\]$",
    r"pam_unix\(sshd:session\): session opened for user \S+\(uid=\d+\) by \(uid=0\)$",
    r"reverse mapping checking getaddrinfo for \S+ \[\S+\] failed - POSSIBLE BREAK-IN ATTEMPT!$",
)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return AUTH_LOG.read_text(encoding="ascii").splitlines()


def test_committed_file_is_what_the_script_writes(tmp_path: Path) -> None:
    fresh = tmp_path / "auth.log"
    subprocess.run([sys.executable, str(SCRIPT), str(fresh)], check=True, timeout=60)
    assert fresh.read_bytes() == AUTH_LOG.read_bytes(), (
        f"{AUTH_LOG} differs from what {SCRIPT.name} writes: run `python {SCRIPT.relative_to(REPO)}`"
    )


def test_every_line_has_a_syslog_header_and_time_never_goes_back(lines: list[str]) -> None:
    assert b"\r" not in AUTH_LOG.read_bytes()
    assert 1500 <= len(lines) <= 2500
    stamps = []
    for number, line in enumerate(lines, 1):
        header = HEADER.match(line)
        assert header, f"auth.log line {number} has no RFC 3164 sshd header: {line!r}"
        stamps.append(datetime.strptime(f"2024 {header['stamp']}", "%Y %b %d %H:%M:%S"))
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("message", MESSAGES)
def test_sample_holds_each_sshd_message(lines: list[str], message: str) -> None:
    pattern = re.compile(r"sshd\[\d+\]: " + message)
    assert any(pattern.search(line) for line in lines)


def test_only_documentation_and_private_addresses(lines: list[str]) -> None:
    found = {ipaddress.ip_address(ip) for ip in re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", "\n".join(lines))}
    assert found
    assert [ip for ip in found if not any(ip in network for network in SHIPPABLE)] == []


def test_readme_example_finds_some_sources_over_its_threshold_and_some_under(lines: list[str]) -> None:
    users: dict[str, set[str]] = {}
    for match in filter(None, map(FAILED.search, lines)):
        users.setdefault(match[2], set()).add(match[1])
    over = [ip for ip, names in users.items() if len(names) >= EXAMPLE_THRESHOLD]
    under = [ip for ip, names in users.items() if len(names) < EXAMPLE_THRESHOLD]
    assert len(over) >= 2
    assert len(under) >= 2
