"""The ssh-brute-force use case's message table and scoring, without Spark.

`bin/datashark test conf/ssh-brute-force` runs its cases through Spark; here the pure functions
are checked line by line, over the OpenSSH wordings of several versions.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest

from datashark.detect.severity import level_of
from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "ssh-brute-force"
WHEN = datetime(2025, 3, 3, 10, 4, 2, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ssh() -> ModuleType:
    path = FOLDER / "ssh-brute-force.py"
    return import_file(path, unique_module_name("ssh_brute_force_unit", path))


@pytest.mark.parametrize(
    ("message", "kind", "src", "user", "port"),
    [
        (
            "Failed password for root from 203.0.113.9 port 50122 ssh2",
            "failure",
            "203.0.113.9",
            "root",
            50122,
        ),
        (
            "Failed password for invalid user admin from 203.0.113.9 port 1 ssh2",
            "failure",
            "203.0.113.9",
            "admin",
            1,
        ),
        (
            "Failed none for invalid user  from 5.188.10.180 port 2 ssh2",
            "method_query",
            "5.188.10.180",
            "",
            2,
        ),
        (
            "Failed publickey for git from 2001:db8::7 port 3 ssh2: RSA SHA256:x",
            "key_failure",
            "2001:db8::7",
            "git",
            3,
        ),
        ("Failed password for root from ::ffff:192.0.2.77 port 4 ssh2", "failure", "192.0.2.77", "root", 4),
        ("Invalid user oracle from 203.0.113.9 port 5", "invalid_user", "203.0.113.9", "oracle", 5),
        ("Invalid user webmaster from 173.234.31.186", "invalid_user", "173.234.31.186", "webmaster", None),
        (
            "User carol from 203.0.113.9 not allowed because not listed in AllowUsers",
            "invalid_user",
            "203.0.113.9",
            "carol",
            None,
        ),
        (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=198.51.100.2  "
            "user=root",
            "pam_failure",
            "198.51.100.2",
            "root",
            None,
        ),
        (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=198.51.100.2 ",
            "pam_failure",
            "198.51.100.2",
            None,
            None,
        ),
        (
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host.example  "
            "user=guest",
            "pam_failure",
            "host.example",
            "guest",
            None,
        ),
        (
            "error: maximum authentication attempts exceeded for invalid user pi from 192.0.2.7 port "
            "6 ssh2 [preauth]",
            "max_tries",
            "192.0.2.7",
            "pi",
            6,
        ),
        ("Disconnected from invalid user pi 192.0.2.7 port 7 [preauth]", "preauth", "192.0.2.7", "pi", 7),
        (
            "Disconnected from authenticating user root 192.0.2.7 port 8 [preauth]",
            "preauth",
            "192.0.2.7",
            "root",
            8,
        ),
        (
            "Connection closed by authenticating user root 192.0.2.7 port 9 [preauth]",
            "preauth",
            "192.0.2.7",
            "root",
            9,
        ),
        (
            "Connection reset by invalid user a b 192.0.2.7 port 10 [preauth]",
            "preauth",
            "192.0.2.7",
            "a b",
            10,
        ),
        (
            "Disconnecting authenticating user root 192.0.2.7 port 11: Too many authentication "
            "failures [preauth]",
            "preauth",
            "192.0.2.7",
            "root",
            11,
        ),
        (
            "Received disconnect from 192.0.2.7 port 12:11: Bye Bye [preauth]",
            "preauth",
            "192.0.2.7",
            None,
            12,
        ),
        (
            "error: Received disconnect from 173.234.31.186: 14: No more user authentication methods "
            "available. "
            "[preauth]",
            "preauth",
            "173.234.31.186",
            None,
            None,
        ),
        (
            "Received disconnect from 10.0.5.20 port 13:11: disconnected by user",
            "logout",
            "10.0.5.20",
            None,
            13,
        ),
        ("Disconnected from user deploy 10.0.5.20 port 14", "logout", "10.0.5.20", "deploy", 14),
        (
            "Unable to negotiate with 192.0.2.10 port 15: no matching key exchange method found. "
            "Their offer: "
            "diffie-hellman-group1-sha1 [preauth]",
            "handshake",
            "192.0.2.10",
            None,
            15,
        ),
        (
            "fatal: Unable to negotiate with 192.0.2.10: no matching cipher found",
            "handshake",
            "192.0.2.10",
            None,
            None,
        ),
        (
            "Did not receive identification string from 192.0.2.10 port 16",
            "handshake",
            "192.0.2.10",
            None,
            16,
        ),
        ("Did not receive identification string from 192.0.2.10", "handshake", "192.0.2.10", None, None),
        ("Connection closed by 192.0.2.10 port 17 [preauth]", "handshake", "192.0.2.10", None, 17),
        ("Connection closed by 192.0.2.10 [preauth]", "handshake", "192.0.2.10", None, None),
        (
            "banner exchange: Connection from 192.0.2.10 port 18: invalid format",
            "handshake",
            "192.0.2.10",
            None,
            18,
        ),
        (
            "Bad protocol version identification 'GET / HTTP/1.1' from 192.0.2.10 port 19",
            "handshake",
            "192.0.2.10",
            None,
            19,
        ),
        (
            "Accepted publickey for deploy from 10.0.5.20 port 20 ssh2: ED25519 SHA256:abc",
            "login",
            "10.0.5.20",
            "deploy",
            20,
        ),
        (
            "Accepted keyboard-interactive/pam for bob from 10.20.1.37 port 21 ssh2",
            "login",
            "10.20.1.37",
            "bob",
            21,
        ),
        (
            "Failed publickey for invalid user graysky from 192.0.2.8 port 37954 ssh2: RSA SHA256:v3dp",
            "failure",
            "192.0.2.8",
            "graysky",
            37954,
        ),
        (
            "Failed unknown for invalid user redmond from 192.0.2.1 port 59197 ssh2",
            "failure",
            "192.0.2.1",
            "redmond",
            59197,
        ),
        (
            "[ID 800047 auth.info] Failed keyboard-interactive for <invalid username> "
            "from 192.0.2.55 port 42742 ssh2",
            "failure",
            "192.0.2.55",
            None,
            42742,
        ),
        (
            "Failed password for invalid user ROOT from 2001:db8::1:1",
            "failure",
            "2001:db8::1:1",
            "ROOT",
            None,
        ),
        (
            "ROOT LOGIN REFUSED FROM ::ffff:192.0.2.4 port 12345 [preauth]",
            "failure",
            "192.0.2.4",
            None,
            12345,
        ),
        (
            "error: PAM: Authentication failure for james from 192.0.2.88 via 10.1.1.201",
            "pam_failure",
            "192.0.2.88",
            "james",
            None,
        ),
        (
            "error: PAM: User not known to the underlying authentication module for "
            "illegal user kernel from 192.0.2.27",
            "pam_failure",
            "192.0.2.27",
            "kernel",
            None,
        ),
        (
            "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=192.0.2.77  user=root",
            "pam_failure",
            "192.0.2.77",
            "root",
            None,
        ),
        (
            "fatal: Timeout before authentication for 192.0.2.14 port 55555",
            "handshake",
            "192.0.2.14",
            None,
            55555,
        ),
        (
            "Timeout before authentication for connection from 192.0.2.17 to 10.0.0.1, pid = 29098",
            "handshake",
            "192.0.2.17",
            None,
            None,
        ),
        ("Disconnected from 192.0.2.4 port 36985 [preauth]", "preauth", "192.0.2.4", None, 36985),
        ("Connection reset by 192.0.2.16 port 51280", "handshake", "192.0.2.16", None, 51280),
        (
            "drop connection #1 from [192.0.2.30]:40022 on [10.0.0.1]:22 penalty: failed authentication",
            "handshake",
            "192.0.2.30",
            None,
            40022,
        ),
        ("refused connect from scanner.example (192.0.2.31)", "handshake", "192.0.2.31", None, None),
        (
            "Received disconnect from 192.0.2.89: 3: com.jcraft.jsch.JSchException: Auth fail",
            "preauth",
            "192.0.2.89",
            None,
            None,
        ),
        (
            "reverse mapping checking getaddrinfo for ns.example [173.234.31.186] failed - POSSIBLE "
            "BREAK-IN ATTEMPT!",
            "break_in",
            "173.234.31.186",
            None,
            None,
        ),
    ],
)
def test_each_openssh_message_is_classified(ssh, message, kind, src, user, port) -> None:
    found = ssh.classify(message)
    assert (found["kind"], found["src"], found["user"], found["port"]) == (kind, src, user, port)


@pytest.mark.parametrize(
    "message",
    [
        "Server listening on 0.0.0.0 port 22.",
        "pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)",
        "pam_unix(sshd:auth): check pass; user unknown",
        "input_userauth_request: invalid user admin [preauth]",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=  user=root",
        "Received disconnect from 192.0.2.7 port 12:11: Normal Shutdown",
        "error: kex_exchange_identification: Connection closed by remote host",
        "Connection closed by 192.0.2.113",
        "Disconnecting: Too many authentication failures for root [preauth]",
        "Close session: user ansible from 192.168.1.1 port 34928 id 0",
    ],
)
def test_messages_without_a_source_or_an_attempt_are_skipped(ssh, message) -> None:
    assert ssh.classify(message) is None


def test_failed_for_invalid_user_marks_the_user_invalid(ssh) -> None:
    assert ssh.classify("Failed password for invalid user a from 192.0.2.1 port 2 ssh2")["invalid"] is True
    assert ssh.classify("Failed password for a from 192.0.2.1 port 2 ssh2")["invalid"] is False


@pytest.mark.parametrize(
    ("message", "src", "user"),
    [
        # The user name is the client's: sshd's own " from ADDRESS port N ssh2" is the one that
        # ends the line or is followed by a key's fingerprint (fail2ban's injection fixtures).
        (
            "Failed password for invalid user test from 192.0.2.2 port 55555 ssh2 "
            "from 198.51.100.9 port 58946 ssh2",
            "198.51.100.9",
            "test from 192.0.2.2 port 55555 ssh2",
        ),
        (
            "Failed password for invalid user from 192.0.2.1 from 198.51.100.9 port 58946 ssh2",
            "198.51.100.9",
            "from 192.0.2.1",
        ),
        (
            "Failed password for x from 192.0.2.6 port 1 ssh2: y from 198.51.100.9 port 5 ssh2",
            "198.51.100.9",
            "x from 192.0.2.6 port 1 ssh2: y",
        ),
        (
            "Failed publickey for a from 198.51.100.9 port 5 ssh2: RSA SHA256:ab from 192.0.2.6 port 1 ssh2",
            "198.51.100.9",
            "a",
        ),
        (
            "Connection closed by authenticating user test 192.0.2.1 port 12345 "
            "198.51.100.9 port 46039 [preauth]",
            "198.51.100.9",
            "test 192.0.2.1 port 12345",
        ),
    ],
)
def test_a_user_name_cannot_name_another_source(ssh, message, src, user) -> None:
    found = ssh.classify(message)
    assert (found["src"], found["user"]) == (src, user)


def test_pam_failures_of_password_logins_are_no_failures(ssh) -> None:
    assert ssh.failures_of(values(pam_failures=12, pam_logins=12)) == 0
    assert ssh.failures_of(values(pam_failures=12, pam_logins=1)) == 11
    assert ssh.failures_of(values(failed_logins=3, pam_failures=2, pam_logins=5)) == 3


def test_a_password_login_is_counted_for_pam(ssh) -> None:
    line = {"program": "sshd", "@timestamp": WHEN}
    password = ssh.sshd_events(
        {**line, "message": "Accepted password for rda from 192.0.2.113 port 52100 ssh2"},
        timedelta(minutes=10),
        10,
    )
    key = ssh.sshd_events(
        {**line, "message": "Accepted publickey for rda from 192.0.2.113 port 52100 ssh2: RSA SHA256:x"},
        timedelta(minutes=10),
        10,
    )
    assert password[0]["pam_login"] == 1 and key[0]["pam_login"] is None


def test_a_repeated_message_counts_as_many_events(ssh) -> None:
    event = {
        "program": "sshd",
        "message": "message repeated 4 times: [ Failed password for root from 192.0.2.77 port 35465 ssh2]",
        "@timestamp": WHEN,
        "host": "bastion",
    }
    out = ssh.sshd_events(event, timedelta(minutes=10), 1000)
    assert len(out) == 4 and all(e["kind"] == "failure" and e["src"] == "192.0.2.77" for e in out)
    assert out[0]["failure_bucket"] == int(datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc).timestamp())
    assert len(ssh.sshd_events(event, timedelta(minutes=10), 2)) == 2


def test_only_sshd_lines_are_read(ssh) -> None:
    line = {"message": "Failed password for root from 192.0.2.1 port 1 ssh2", "@timestamp": WHEN}
    assert ssh.sshd_events({**line, "program": "sshd-session"}, timedelta(minutes=10), 10)
    assert ssh.sshd_events({**line, "program": "sshd(pam_unix)"}, timedelta(minutes=10), 10)
    assert ssh.sshd_events({**line, "program": "vsftpd"}, timedelta(minutes=10), 10) == []


def test_ignore_sources_takes_addresses_networks_and_names(ssh) -> None:
    networks = ssh.parse_networks("10.0.0.0/8, 192.0.2.1 bastion.example")
    assert ssh.ignored(networks, "10.9.8.7") and ssh.ignored(networks, "192.0.2.1")
    assert ssh.ignored(networks, "bastion.example")
    assert not ssh.ignored(networks, "192.0.2.2") and not ssh.ignored([], "10.9.8.7")


def values(**counts):
    base = {
        "failed_logins": 0,
        "pam_failures": 0,
        "handshake_failures": 0,
        "preauth_disconnects": 0,
        "users": 0,
        "first_failure": None,
        "first_pam_failure": None,
        "last_login": None,
    }
    return {**base, **counts}


def test_a_login_after_failures_is_critical_and_one_before_them_is_not(ssh) -> None:
    settings = ssh.settings_of({})
    after = values(failed_logins=6, first_failure=WHEN, last_login=WHEN + timedelta(seconds=5))
    fired = ssh.signals(after, "fast", settings)
    assert set(fired) == {"success_after_failures"}
    assert level_of(fired["success_after_failures"]) == "critical"
    before = values(failed_logins=6, first_failure=WHEN, last_login=WHEN - timedelta(seconds=5))
    assert ssh.signals(before, "fast", settings) == {}


def test_failures_are_the_larger_of_sshd_and_pam_counts(ssh) -> None:
    assert ssh.failures_of(values(failed_logins=3, pam_failures=12)) == 12
    assert ssh.failures_of(values(failed_logins=12, pam_failures=3)) == 12


def test_the_long_window_leaves_bursts_to_the_short_one(ssh) -> None:
    settings = ssh.settings_of({})
    slow = values(failed_logins=30, failure_peak=[(0, 3)], pam_failure_peak=[])
    assert set(ssh.signals(slow, "slow", settings)) == {"slow_brute_force"}
    burst = values(failed_logins=30, failure_peak=[(0, 25)], pam_failure_peak=[])
    assert ssh.signals(burst, "slow", settings) == {}


def test_scores_grow_with_failures_and_combine(ssh) -> None:
    settings = ssh.settings_of({})
    few = ssh.signals(values(failed_logins=10), "fast", settings)["fast_brute_force"]
    many = ssh.signals(values(failed_logins=400), "fast", settings)["fast_brute_force"]
    assert 45 <= few < many <= 75
    both = ssh.signals(values(failed_logins=10, users=5), "fast", settings)
    assert set(both) == {"fast_brute_force", "user_enumeration"}


def test_a_flood_that_is_also_guessing_is_reported_as_guessing(ssh) -> None:
    settings = ssh.settings_of({})
    assert set(ssh.signals(values(handshake_failures=25), "fast", settings)) == {"preauth_flood"}
    assert set(ssh.signals(values(failed_logins=25, preauth_disconnects=25), "fast", settings)) == {
        "fast_brute_force"
    }


def test_the_sample_is_what_its_script_writes(tmp_path) -> None:
    import shutil
    import subprocess
    import sys

    script = tmp_path / "make_sample.py"
    shutil.copy(FOLDER / "sample" / "make_sample.py", script)
    subprocess.run([sys.executable, str(script)], check=True)
    assert (tmp_path / "auth.log").read_bytes() == (FOLDER / "sample" / "auth.log").read_bytes()
