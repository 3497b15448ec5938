"""Writes tests/data/auth.log: a day and a half of made-up OpenSSH syslog lines for the tests.

The file is what an internet-facing bastion host's /var/log/auth.log holds: dictionary attacks,
a root brute force, slow attackers spreading their guesses over the day, scanners whose clients
cannot negotiate, and the team's own logins from the office network with the odd typo. Every
address is from the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24) or the private 10.0.0.0/8, every host name is made up, and the script is the
project's own, so the file is ours to ship under the project's licence.

The output is the same bytes on every run and every Python version: the only source of chance
is ``random.Random(SEED).random()``, whose sequence Python guarantees for a given seed.
tests/unit/test_auth_log_data.py checks that the committed file is what this script writes.

    python tests/data/make_auth_log.py            rewrites tests/data/auth.log
    python -m tests.data.make_auth_log OUT.log    writes OUT.log instead
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

OUTPUT = Path(__file__).with_name("auth.log")
SEED = 3164
HOST = "bastion-01"
START = datetime(2024, 3, 14, 6, 0, 0)
END = START + timedelta(hours=30)
FIRST_PID = 48213

TEAM_UIDS = {"alice": 1000, "bob": 1001, "deploy": 1002}
ACCOUNTS = ("root", "postgres", *TEAM_UIDS)
DICTIONARY = (
    "root", "admin", "test", "oracle", "ubuntu", "pi", "postgres", "user", "guest", "git",
    "ftpuser", "mysql", "support", "hadoop", "nagios", "jenkins", "test1", "administrator",
    "debian", "centos", "minecraft", "teamspeak", "steam", "elastic", "kafka", "dev", "web",
    "www", "backup", "operator", "ansible", "docker", "user1", "demo", "sysadmin", "info",
    "webmaster", "tomcat", "zabbix", "odoo", "redis", "vagrant", "server", "ftp", "student",
)  # fmt: skip
OLD_KEX = "diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1"
OLD_HOST_KEYS = "ssh-rsa,ssh-dss"

T = TypeVar("T")


class Dice:
    """Chance drawn only from ``random()``, the one method whose sequence Python keeps stable."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def between(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""
        return low + int(self._random.random() * (high - low + 1))

    def chance(self, probability: float) -> bool:
        return self._random.random() < probability

    def pick(self, items: Sequence[T]) -> T:
        return items[self.between(0, len(items) - 1)]

    def shuffled(self, items: Sequence[T]) -> list[T]:
        order = list(items)
        for i in range(len(order) - 1, 0, -1):
            j = self.between(0, i)
            order[i], order[j] = order[j], order[i]
        return order


class Connection:
    """One TCP connection to sshd: its messages, each at a number of seconds after it opened."""

    def __init__(self, opened: datetime, ip: str, port: int) -> None:
        self.opened = opened
        self.ip = ip
        self.port = port
        self.elapsed = 0
        self.messages: list[tuple[int, str]] = []

    @property
    def peer(self) -> str:
        """The client as sshd names it: ``203.0.113.45 port 51234``."""
        return f"{self.ip} port {self.port}"

    def log(self, message: str, after: int = 0) -> None:
        self.elapsed += after
        self.messages.append((self.elapsed, message))


def fingerprint(user: str) -> str:
    """A stable made-up key fingerprint in OpenSSH's ``SHA256:`` form (43 base64 characters)."""
    digest = hashlib.sha256(f"made-up key of {user}".encode()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def pam_failure(conn: Connection, user: str, valid: bool, after: int = 0) -> None:
    """pam_unix's first failure on a connection; an unknown user gets no ``user=`` field."""
    fields = f"logname= uid=0 euid=0 tty=ssh ruser= rhost={conn.ip} "
    if valid:
        fields += f" user={user}"
    else:
        conn.log("pam_unix(sshd:auth): check pass; user unknown", after)
        after = 0
    conn.log(f"pam_unix(sshd:auth): authentication failure; {fields}", after)


def password_guesses(dice: Dice, conn: Connection, user: str, tries: int, rdns: str = "") -> None:
    """A client trying ``tries`` passwords for one user name, then leaving or being cut off at 6."""
    valid = user in ACCOUNTS
    who = user if valid else f"invalid user {user}"
    gone = "authenticating user" if valid else "invalid user"
    if rdns:
        mismatch = f"{rdns} [{conn.ip}] failed - POSSIBLE BREAK-IN ATTEMPT!"
        conn.log(f"reverse mapping checking getaddrinfo for {mismatch}")
    if not valid:
        conn.log(f"Invalid user {user} from {conn.peer}", dice.between(0, 1))
    pam_failure(conn, user, valid, dice.between(0, 1))
    for attempt in range(tries):
        pause = dice.between(2, 4) if attempt == 0 else dice.between(1, 3)
        conn.log(f"Failed password for {who} from {conn.peer} ssh2", pause)
    if tries >= 6:
        conn.log(f"error: maximum authentication attempts exceeded for {who} from {conn.peer} ssh2 [preauth]")
        conn.log(f"Disconnecting {gone} {user} {conn.peer}: Too many authentication failures [preauth]")
    elif dice.chance(0.5):
        conn.log(f"Received disconnect from {conn.peer}:11: Bye Bye [preauth]", dice.between(0, 1))
        conn.log(f"Disconnected from {gone} {user} {conn.peer} [preauth]")
    else:
        conn.log(f"Connection closed by {gone} {user} {conn.peer} [preauth]", dice.between(0, 2))
    if valid and tries > 1:
        rest = f"logname= uid=0 euid=0 tty=ssh ruser= rhost={conn.ip}  user={user}"
        conn.log(f"PAM {tries - 1} more authentication failures; {rest}")
        if tries > 3:
            conn.log(f"PAM service(sshd) ignoring max retries; {tries} > 3")


def team_login(dice: Dice, conn: Connection, user: str, method: str, typos: int, seconds: int) -> None:
    """A team member's session: ``typos`` wrong passwords first, then in, then out ``seconds`` later."""
    where = f"from {conn.peer} ssh2"
    if typos:
        pam_failure(conn, user, valid=True, after=dice.between(3, 8))
        for _ in range(typos):
            conn.log(f"Failed password for {user} {where}", dice.between(2, 3))
    if method == "password":
        conn.log(f"Accepted password for {user} {where}", dice.between(3, 9))
    else:
        key = f"{method} SHA256:{fingerprint(user)}"
        conn.log(f"Accepted publickey for {user} {where}: {key}", dice.between(0, 1))
    conn.log(f"pam_unix(sshd:session): session opened for user {user}(uid={TEAM_UIDS[user]}) by (uid=0)")
    conn.log(f"Received disconnect from {conn.peer}:11: disconnected by user", seconds)
    conn.log(f"Disconnected from user {user} {conn.peer}")
    conn.log(f"pam_unix(sshd:session): session closed for user {user}")


def mistyped_user(dice: Dice, conn: Connection, typed: str) -> None:
    """``ssh alcie@bastion``: no key for that name, one password at the prompt, then Ctrl-C."""
    conn.log(f"Invalid user {typed} from {conn.peer}")
    pam_failure(conn, typed, valid=False, after=dice.between(4, 9))
    conn.log(f"Failed password for invalid user {typed} from {conn.peer} ssh2", dice.between(2, 3))
    conn.log(f"Connection closed by invalid user {typed} {conn.peer} [preauth]", dice.between(3, 12))


def scan(dice: Dice, conn: Connection) -> None:
    """A scanner: an old client that cannot negotiate, or one that never authenticates."""
    kind = dice.between(0, 3)
    if kind == 0:
        offer = f"no matching key exchange method found. Their offer: {OLD_KEX}"
        conn.log(f"Unable to negotiate with {conn.peer}: {offer} [preauth]")
    elif kind == 1:
        offer = f"no matching host key type found. Their offer: {OLD_HOST_KEYS}"
        conn.log(f"Unable to negotiate with {conn.peer}: {offer} [preauth]")
    elif kind == 2:
        conn.log(f"Connection closed by {conn.peer} [preauth]", dice.between(0, 20))
    else:
        conn.log(f"Did not receive identification string from {conn.peer}", dice.between(10, 120))


def connections(dice: Dice) -> list[Connection]:
    """Everything that reaches sshd between START and END."""
    found: list[Connection] = []

    def connect(at: datetime, ip: str) -> Connection:
        found.append(Connection(at, ip, dice.between(32768, 60999)))
        return found[-1]

    def minutes(low: int, high: int) -> timedelta:
        """Somewhere from ``low`` to ``high`` minutes, to the second."""
        return timedelta(seconds=dice.between(low * 60, high * 60))

    # Fast dictionary attack: one user name per connection, a few a minute; it comes back at night.
    for start, names in ((190, 2 * len(DICTIONARY)), (22 * 60 + 30, 30)):
        at = START + minutes(start, start + 5)
        for user in (dice.shuffled(DICTIONARY) + dice.shuffled(DICTIONARY))[:names]:
            password_guesses(dice, connect(at, "203.0.113.45"), user, dice.between(1, 3))
            at += timedelta(seconds=dice.between(8, 40))

    # A second dictionary attack, from a host whose reverse DNS does not match its address.
    at = START + minutes(13 * 60, 13 * 60 + 10)
    for user in dice.shuffled(DICTIONARY):
        rdns = "mail.kestrel-trading.example"
        password_guesses(dice, connect(at, "198.51.100.23"), user, dice.between(1, 3), rdns)
        at += timedelta(seconds=dice.between(20, 90))

    # Root brute force: six passwords a connection until sshd cuts it off, only ever for root.
    at = START + minutes(20 * 60 + 35, 20 * 60 + 45)
    for _ in range(24):
        password_guesses(dice, connect(at, "192.0.2.77"), "root", 6)
        at += timedelta(seconds=dice.between(30, 75))

    # Slow attacker: one guess every hour or two, a different name each time, over the whole day.
    at = START + minutes(20, 30)
    slow_names = iter(dice.shuffled(DICTIONARY))
    while at < END:
        password_guesses(dice, connect(at, "198.51.100.200"), next(slow_names), 1)
        at += minutes(70, 150)

    # Slow and narrow: only a Raspberry Pi's and a cloud image's default users, every few hours.
    at = START + minutes(90, 100)
    while at < END:
        password_guesses(dice, connect(at, "203.0.113.9"), dice.pick(("pi", "ubuntu")), dice.between(1, 2))
        at += minutes(180, 300)

    scanners = ("192.0.2.10", "198.51.100.77", "203.0.113.200", "203.0.113.201")
    at = START + minutes(5, 10)
    while at < END:
        scan(dice, connect(at, dice.pick(scanners)))
        at += minutes(15, 55)

    # The deploy job logs in with its key from the CI runner at :02 and :32 of every hour.
    for run in range((END - START) // timedelta(minutes=30)):
        at = START + timedelta(minutes=2 + 30 * run, seconds=dice.between(4, 25))
        team_login(dice, connect(at, "10.0.5.20"), "deploy", "ED25519", 0, dice.between(8, 75))

    # alice (key) and bob (password) work office hours; now and then she mistypes her user name and
    # he his password.
    for day in (START.replace(hour=0), START.replace(hour=0) + timedelta(days=1)):
        at = day + minutes(8 * 60 + 30, 9 * 60 + 15)
        while at < day + timedelta(hours=18) and at < END:
            conn = connect(at, "10.20.1.15")
            if dice.chance(0.3):
                mistyped_user(dice, conn, dice.pick(("alcie", "aliec", "alice.smith")))
                conn = connect(at + timedelta(seconds=dice.between(40, 90)), "10.20.1.15")
            team_login(dice, conn, "alice", "RSA", 0, 60 * dice.between(20, 150))
            at += minutes(90, 200)
        at = day + minutes(9 * 60, 9 * 60 + 40)
        while at < day + timedelta(hours=19) and at < END:
            typos = dice.pick((0, 0, 0, 1, 1, 2))
            team_login(dice, connect(at, "10.20.1.37"), "bob", "password", typos, 60 * dice.between(10, 120))
            at += minutes(60, 160)
    return found


def syslog_lines(found: list[Connection], dice: Dice) -> list[str]:
    """The connections' messages as RFC 3164 lines, in time order, one sshd pid per connection."""
    events: list[tuple[datetime, int, str]] = []
    pid = FIRST_PID
    for order, conn in enumerate(sorted(found, key=lambda c: c.opened)):
        pid += dice.between(1, 40)
        for seconds, message in conn.messages:
            events.append((conn.opened + timedelta(seconds=seconds), order, f"sshd[{pid}]: {message}"))
    events.sort(key=lambda event: (event[0], event[1]))
    return [f"{when:%b} {when.day:2d} {when:%H:%M:%S} {HOST} {text}" for when, _, text in events]


def auth_log() -> bytes:
    """The whole file: ASCII, one line per message, LF endings."""
    dice = Dice(SEED)
    return "".join(line + "\n" for line in syslog_lines(connections(dice), dice)).encode("ascii")


def main(argv: list[str]) -> None:
    target = Path(argv[0]) if argv else OUTPUT
    target.write_bytes(auth_log())


if __name__ == "__main__":
    main(sys.argv[1:])
