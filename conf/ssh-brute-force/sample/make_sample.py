"""Writes auth.log next to this script: a made-up day and a half of an internet-facing SSH server.

Every address is from the documentation ranges (RFC 5737) or 10.0.0.0/8; the messages are those
OpenSSH 7.4 to 9.8 and pam_unix write, in the header formats hosts write them: RFC 3164 (with and
without ``<PRI>``), rsyslog's ISO 8601 times, journalctl's ``short-precise``, and RFC 5424. The
chance comes only from ``random.Random(16)``: every run writes the same bytes.

    python conf/ssh-brute-force/sample/make_sample.py
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2025, 3, 14, 0, 0, 0, tzinfo=timezone.utc)
HOST = "bastion-01"
NAMES = [
    "admin",
    "test",
    "user",
    "oracle",
    "postgres",
    "ubuntu",
    "pi",
    "guest",
    "ftpuser",
    "git",
    "deploy",
    "support",
    "webmaster",
    "mysql",
    "nagios",
    "hadoop",
    "jenkins",
    "tomcat",
    "www-data",
    "backup",
    "operator",
    "demo",
    "student",
    "dev",
    "minecraft",
]

# pam_unix ends the line with a space when it has no user name, as the real one does.
PAM_FAILURE = "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip} "

rng = random.Random(16)
lines: list[tuple[datetime, str]] = []
pid = 20000


def next_pid() -> int:
    global pid
    pid += rng.randint(1, 7)
    return pid


def rfc3164(when: datetime, program: str, message: str, pri: bool = False) -> str:
    head = (
        f"<38>{when:%b} {when.day:2d} {when:%H:%M:%S}" if pri else f"{when:%b} {when.day:2d} {when:%H:%M:%S}"
    )
    return f"{head} {HOST} {program}: {message}"


def iso(when: datetime, program: str, message: str) -> str:
    return f"{when.isoformat(timespec='microseconds')} {HOST} {program}: {message}"


def precise(when: datetime, program: str, message: str) -> str:
    return f"{when:%b %d %H:%M:%S}.{when.microsecond:06d} {HOST} {program}: {message}"


def rfc5424(when: datetime, app: str, procid: int, message: str) -> str:
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"<38>1 {stamp} {HOST} {app} {procid} - - {message}"


def emit(when: datetime, line: str) -> None:
    lines.append((when, line))


def guess(when, ip, user, valid, style="3164", program=None, wrong=3):
    """One connection guessing ``wrong`` passwords for ``user``; the time after it."""
    p = next_pid()
    port = rng.randint(32768, 60999)
    prog = program or f"sshd[{p}]"

    def say(t, message):
        if style == "iso":
            emit(t, iso(t, prog, message))
        elif style == "pri":
            emit(t, rfc3164(t, prog, message, pri=True))
        else:
            emit(t, rfc3164(t, prog, message))

    t = when
    if not valid:
        say(t, f"Invalid user {user} from {ip} port {port}")
    for attempt in range(wrong):
        t += timedelta(seconds=rng.uniform(1.0, 3.0))
        if attempt == 0 and valid:
            say(t, PAM_FAILURE.format(ip=ip) + f" user={user}")
        elif attempt == 0:
            say(t, "pam_unix(sshd:auth): check pass; user unknown")
            say(t, PAM_FAILURE.format(ip=ip))
        what = f"invalid user {user}" if not valid else user
        say(t, f"Failed password for {what} from {ip} port {port} ssh2")
    t += timedelta(seconds=rng.uniform(0.5, 1.5))
    state = "invalid" if not valid else "authenticating"
    say(t, f"Connection closed by {state} user {user} {ip} port {port} [preauth]")
    return t


def login(when, ip, user, method, style="3164"):
    p = next_pid()
    port = rng.randint(32768, 60999)
    key = ": ED25519 SHA256:3kQ1dWm2aCkqZVb9l3gG7o8cE1xY2Vtq0nqg3a8dXfE" if method == "publickey" else ""
    say = (
        (lambda t, m: emit(t, iso(t, f"sshd[{p}]", m)))
        if style == "iso"
        else (lambda t, m: emit(t, rfc3164(t, f"sshd[{p}]", m)))
    )
    say(when, f"Accepted {method} for {user} from {ip} port {port} ssh2{key}")
    say(when, f"pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)")
    end = when + timedelta(minutes=rng.uniform(2, 40))
    say(end, f"Received disconnect from {ip} port {port}:11: disconnected by user")
    say(end, f"Disconnected from user {user} {ip} port {port}")
    say(end, f"pam_unix(sshd:session): session closed for user {user}")
    return end


# 203.0.113.45: fast dictionary attack, a new invalid user name each connection (RFC 3164).
t = START + timedelta(hours=2, minutes=1)
for name in NAMES[:20]:
    t = guess(t, "203.0.113.45", name, valid=False, wrong=rng.randint(2, 3)) + timedelta(
        seconds=rng.uniform(1, 8)
    )

# 198.51.100.23: root brute force, then an accepted password: the compromise (rsyslog ISO times).
t = START + timedelta(hours=5, minutes=31)
for _ in range(4):
    t = guess(t, "198.51.100.23", "root", valid=True, style="iso") + timedelta(seconds=rng.uniform(2, 6))
login(t + timedelta(seconds=3), "198.51.100.23", "root", "password", style="iso")

# 198.51.100.200: slow attacker, one or two guesses every 1-2.5 hours, a new name each time (<PRI>).
t = START + timedelta(hours=1, minutes=12)
for name in NAMES:
    if t > START + timedelta(hours=34):
        break
    guess(t, "198.51.100.200", name, valid=False, style="pri", wrong=rng.randint(1, 2))
    t += timedelta(minutes=rng.uniform(60, 150))

# 192.0.2.77: root with MaxAuthTries cut-offs, rsyslog's repeated-message lines (journalctl short-precise).
t = START + timedelta(hours=9, minutes=40, seconds=5)
for _ in range(3):
    p, port = next_pid(), rng.randint(32768, 60999)
    prog = f"sshd-session[{p}]"
    emit(t, precise(t, prog, f"Failed password for root from 192.0.2.77 port {port} ssh2"))
    t += timedelta(seconds=4)
    emit(
        t,
        precise(
            t, prog, f"message repeated 4 times: [ Failed password for root from 192.0.2.77 port {port} ssh2]"
        ),
    )
    t += timedelta(seconds=1)
    emit(
        t,
        precise(
            t,
            prog,
            f"error: maximum authentication attempts exceeded for root from 192.0.2.77 port {port} "
            f"ssh2 [preauth]",
        ),
    )
    emit(
        t,
        precise(
            t,
            prog,
            f"Disconnecting authenticating user root 192.0.2.77 port {port}: Too many authentication "
            f"failures [preauth]",
        ),
    )
    emit(
        t,
        precise(
            t,
            prog,
            "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=192.0.2.77  user=root",
        ),
    )
    t += timedelta(seconds=rng.uniform(5, 20))

# 192.0.2.10: key-exchange flood of an old scanner (RFC 5424, from a journald forwarder).
t = START + timedelta(hours=13, minutes=2)
for _ in range(30):
    p, port = next_pid(), rng.randint(32768, 60999)
    emit(
        t,
        rfc5424(
            t,
            "sshd",
            p,
            f"Unable to negotiate with 192.0.2.10 port {port}: no matching key exchange "
            "method found. Their offer: diffie-hellman-group14-sha1,diffie-hellman-group1-sha1 [preauth]",
        ),
    )
    t += timedelta(seconds=rng.uniform(3, 15))

# 203.0.113.200: banner grabber: connects, sends nothing or closes during the key exchange.
t = START + timedelta(hours=20, minutes=44)
for i in range(26):
    p, port = next_pid(), rng.randint(32768, 60999)
    if i % 2:
        emit(
            t,
            rfc3164(t, f"sshd[{p}]", f"Did not receive identification string from 203.0.113.200 port {port}"),
        )
    else:
        emit(t, rfc3164(t, f"sshd[{p}]", f"Connection closed by 203.0.113.200 port {port} [preauth]"))
    t += timedelta(seconds=rng.uniform(5, 18))

# Benign: 10.0.5.20, the CI runner, public key every half hour.
t = START + timedelta(minutes=7)
while t < START + timedelta(hours=36):
    login(t, "10.0.5.20", "deploy", "publickey")
    t += timedelta(minutes=30, seconds=rng.uniform(-20, 20))

# Benign: 10.20.1.37, bob, office hours, now and then a mistyped password first.
for day in (0, 1):
    t = START + timedelta(days=day, hours=8, minutes=rng.uniform(0, 30))
    while t < START + timedelta(days=day, hours=18) and t < START + timedelta(hours=36):
        if rng.random() < 0.3:
            t = guess(t, "10.20.1.37", "bob", valid=True, wrong=1) + timedelta(seconds=5)
        t = login(t, "10.20.1.37", "bob", "password") + timedelta(minutes=rng.uniform(20, 90))

# Noise without a source address: sudo, user changes, cron.
for hour in (3, 9, 15, 27, 33):
    t = START + timedelta(hours=hour, minutes=rng.randint(0, 59))
    p = next_pid()
    emit(
        t,
        rfc3164(
            t, f"sudo[{p}]", "    bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/apt update"
        ),
    )
    emit(
        t,
        rfc3164(
            t, f"CRON[{p + 1}]", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
        ),
    )
t = START + timedelta(hours=10, minutes=3)
emit(
    t,
    rfc3164(
        t, "useradd[31002]", "new user: name=carol, UID=1003, GID=1003, home=/home/carol, shell=/bin/bash"
    ),
)

lines.sort(key=lambda item: item[0])
Path(__file__).with_name("auth.log").write_text("".join(line + "\n" for _, line in lines), encoding="utf-8")
