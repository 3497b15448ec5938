"""Generate a Zeek dns.log (JSON lines) of a network with known bad clients, for conf/dns-analytics.

Background: ``clients`` workstations over six hours asking for Zipf-popular domains (real
brands and a long tail of word-made domains under .com, .net, .org, .co.uk, .com.au, .de…),
CDN hostnames that look random (CloudFront, Akamai, Google Video, EC2), reverse lookups, AD SRV
lookups, AV reputation lookups that encode hashes in names (McAfee GTI, Sophos, ESET), mDNS,
Chrome's three random-label probes at start-up, NXDOMAIN typos, and two mail servers querying
DNS blocklists and SPF/DKIM TXT records.

Planted clients (the truth file lists them by kind):

- ``dga``: a DGA's burst, of one of four families' shapes: random letters, hex (a hash),
  letters and digits, and dictionary words (suppobox/matsnu-like); mostly NXDOMAIN.
- ``tunnel``: iodine-like (base32 labels, NULL), dnscat2-like (hex labels, TXT/CNAME/MX), and
  exfiltration in A/AAAA names (base32 chunks).
- ``nxdomain_storm``: random-subdomain ("water torture") floods of one domain, all NXDOMAIN.

``hard=True`` makes them quieter: DGA bursts of 12-30 domains an hour, tunnels of 60-150 queries
an hour with shorter names, storms of 160-300 names; and adds two noisy benign clients (the
truth file's ``noisy_benign``): a host whose DNS suffix search list appends a company domain to
every failed name (150-250 distinct NXDOMAIN names an hour), and an endpoint agent of a vendor
missing from ``reputation_domains`` that looks up 300 file hashes an hour below its domain.

    .venv/bin/python bench/generate_dns_traffic.py /tmp/dns.log 1000000 [--seed 7] [--hard]

writes the log and ``<log>.truth.json``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import string
from itertools import accumulate
from pathlib import Path

START = 1740981600.0  # 2025-03-03 06:00:00 UTC
SPAN = 6 * 3600.0
DEFAULT_SEED = 7

# A popular registered domain, then the labels of the names clients ask below it.
_POPULAR_TEXT = """
google.com www mail accounts apis clients4 fonts
googleapis.com ajax fonts www content-autofill safebrowsing
gstatic.com www fonts ssl maps
microsoft.com www login go aka settings-win.data
windowsupdate.com ctldl download
office.com www outlook login
live.com login outlook
facebook.com www static graph
amazon.com www images-na fls-na
apple.com www gs ocsp configuration
icloud.com p23-contacts gateway
youtube.com www m i
wikipedia.org en www upload
github.com api www codeload
githubusercontent.com raw avatars
slack.com app edgeapi
zoom.us www us04web
doubleclick.net googleads stats ad
googlesyndication.com pagead2 tpc
bbc.co.uk www static feeds
theguardian.com www assets
digicert.com ocsp crl3 crl4
linkedin.com www static
twitter.com api www
office365.com outlook
dropbox.com www client
salesforce.com login na1
atlassian.net mycompany
spotify.com apresolve spclient
netflix.com www api
abc.net.au www
gov.uk www
yahoo.co.jp www
amazon.co.uk www
"""
POPULAR = tuple(line.split() for line in _POPULAR_TEXT.strip().splitlines())
_WORDS_TEXT = """
blue green river stone cloud market garden north south smart home city bright fresh quick
global united first prime ocean forest solar pixel media data health travel food shop
store online local daily news photo design studio sport auto tech soft net web craft wood
metal paper silver golden royal happy little grand urban rural coast valley mountain lake
island bridge tower castle harbor lion tiger eagle falcon wolf bear fox
"""
WORDS = _WORDS_TEXT.split()
TAILS = ("com", "com", "com", "com", "net", "org", "co.uk", "com.au", "de", "fr", "io", "nl", "co.jp")
_DICTIONARY_DGA_WORDS_TEXT = """
table chair window letter mother father summer winter butter doctor engine pocket rocket
finger garden marble candle silver planet forest hunter bottle ladder pencil basket
"""
DICTIONARY_DGA_WORDS = _DICTIONARY_DGA_WORDS_TEXT.split()
BASE32 = string.ascii_lowercase + "234567"


def _zipf_weights(n: int, exponent: float = 1.1) -> list[float]:
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, n + 1)))


class Network:
    """The background: clients, domains and what each kind of query looks like."""

    def __init__(self, rng: random.Random, clients: int) -> None:
        self.rng = rng
        self.clients = [f"10.1.{i // 250}.{i % 250 + 2}" for i in range(clients)]
        self.resolver = "10.1.255.53"
        self.mail_servers = ["10.1.254.25", "10.1.254.26"]
        self.av_clients = set(rng.sample(self.clients, max(1, clients // 3)))
        self.domains: list[tuple[str, list[str]]] = [(entry[0], entry[1:]) for entry in POPULAR]
        seen = {entry[0] for entry in POPULAR}
        while len(self.domains) < 4000:
            name = f"{rng.choice(WORDS)}{rng.choice(WORDS)}.{rng.choice(TAILS)}"
            if name not in seen:
                seen.add(name)
                self.domains.append((name, ["www", "", "cdn", "api", "static", "mail"][: rng.randint(1, 4)]))
        self.cumulative = _zipf_weights(len(self.domains))

    def popular_name(self) -> str:
        rng = self.rng
        index = bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])
        domain, subs = self.domains[index]
        sub = rng.choice(subs)
        return f"{sub}.{domain}" if sub else domain

    def background(self, client: str) -> tuple[str, int, str, str]:
        """(query, qtype, rcode_name, resp_p) of one ordinary query of ``client``."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.70:
            return self.popular_name(), rng.choice((1, 1, 1, 28)), "NOERROR", 53
        if roll < 0.80:
            return self.cdn_name(), 1, "NOERROR", 53
        if roll < 0.84:
            ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
            return f"{ip}.in-addr.arpa", 12, rng.choice(("NOERROR", "NXDOMAIN")), 53
        if roll < 0.87:
            site = rng.choice(("", "default-first-site-name._sites."))
            return f"_ldap._tcp.{site}dc._msdcs.corp.example.com", 33, "NOERROR", 53
        if roll < 0.90 and client in self.av_clients:
            return self.reputation_name(), 1, rng.choice(("NOERROR", "NXDOMAIN")), 53
        if roll < 0.92:
            service = rng.choice(("_googlecast._tcp.local", "_spotify-connect._tcp.local", "printer.local"))
            return service, 12, "NOERROR", 5353
        if roll < 0.925:
            typo = self.popular_name().replace("o", "oo", 1).replace("e", "", 1)
            return typo, 1, "NXDOMAIN", 53
        if roll < 0.93:
            return "wpad.corp.example.com", 1, "NXDOMAIN", 53
        return self.popular_name(), 1, "NOERROR", 53

    def cdn_name(self) -> str:
        rng = self.rng
        kind = rng.randrange(4)
        if kind == 0:
            return f"d{''.join(rng.choices(string.ascii_lowercase + string.digits, k=13))}.cloudfront.net"
        if kind == 1:
            return f"e{rng.randint(1000, 9999)}.dscb.akamaiedge.net"
        if kind == 2:
            node = "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
            return f"rr{rng.randint(1, 8)}---sn-{node}.googlevideo.com"
        ip = "-".join(str(rng.randint(1, 254)) for _ in range(4))
        return f"ec2-{ip}.compute-1.amazonaws.com"

    def reputation_name(self) -> str:
        rng = self.rng
        kind = rng.randrange(3)
        if kind == 0:
            return f"0.0.0.0.1.0.0.4e.{''.join(rng.choices(BASE32, k=26))}.avqs.mcafee.com"
        if kind == 1:
            return f"{''.join(rng.choices('0123456789abcdef', k=32))}.p.06.sophosxl.net"
        return f"h3-{''.join(rng.choices('0123456789abcdef', k=40))}.e5.sk"

    def mail_query(self) -> tuple[str, int, str, str]:
        rng = self.rng
        if rng.random() < 0.6:
            ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
            zone = rng.choice(("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"))
            return f"{ip}.{zone}", 1, rng.choice(("NXDOMAIN", "NXDOMAIN", "NXDOMAIN", "NOERROR")), 53
        return self.popular_name(), rng.choice((16, 15)), "NOERROR", 53


# ----------------------------------------------------------------------------- planted clients


def _tld(rng: random.Random) -> str:
    return rng.choice(("com", "net", "org", "info", "biz", "ru", "top", "xyz"))


def dga_domain(rng: random.Random, family: str) -> str:
    """One domain of a DGA family's shape."""
    if family == "letters":
        label = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(10, 18)))
    elif family == "hex":
        label = "".join(rng.choices("0123456789abcdef", k=rng.choice((16, 20, 32))))
    elif family == "alnum":
        label = "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(10, 16)))
    else:  # dictionary words
        label = rng.choice(DICTIONARY_DGA_WORDS) + rng.choice(DICTIONARY_DGA_WORDS)
    return f"{label}.{_tld(rng)}"


def tunnel_query(rng: random.Random, family: str, domain: str, counter: int, hard: bool) -> tuple[str, int]:
    """(query, qtype) of one tunnelled message."""
    if family == "iodine":
        size = rng.randint(40, 63) if hard else rng.randint(100, 180)
        payload = "".join(rng.choices(BASE32, k=size))
        labels = [payload[i : i + 63] for i in range(0, len(payload), 63)]
        return f"{'.'.join(labels)}.{domain}", rng.choice((10, 10, 16))
    if family == "dnscat2":
        size = rng.randint(30, 50) if hard else rng.randint(60, 120)
        payload = f"{counter:04x}" + "".join(rng.choices("0123456789abcdef", k=size))
        labels = [payload[i : i + 60] for i in range(0, len(payload), 60)]
        return f"{'.'.join(labels)}.{domain}", rng.choice((16, 5, 15))
    size = rng.randint(24, 40) if hard else rng.randint(40, 60)
    payload = "".join(rng.choices(BASE32, k=size))
    return f"{payload}.{counter}.{domain}", rng.choice((1, 28))


def planted(rng: random.Random, hard: bool) -> tuple[list[tuple], dict[str, str]]:
    """The planted clients' queries (ts, client, query, qtype, rcode_name, resp_p) and truth."""
    rows: list[tuple] = []
    truth: dict[str, str] = {}
    index = 0

    def client() -> str:
        nonlocal index
        index += 1
        return f"10.66.{index // 250}.{index % 250 + 2}"

    for family in ("letters", "hex", "alnum", "dictionary"):
        for _ in range(2):
            address = client()
            truth[address] = f"dga:{family}"
            start = START + rng.uniform(0, SPAN - 3600)
            count = rng.randint(12, 30) if hard else rng.randint(60, 250)
            if family == "dictionary" and not hard:
                count = rng.randint(200, 400)
            for _ in range(count):
                domain = dga_domain(rng, family)
                rcode = "NXDOMAIN" if rng.random() < 0.9 else "NOERROR"
                rows.append((start + rng.uniform(0, 1800), address, domain, 1, rcode, 53))
    for family in ("iodine", "dnscat2", "a-record"):
        for _ in range(2):
            address = client()
            truth[address] = f"tunnel:{family}"
            domain = f"{rng.choice(WORDS)}{rng.randint(10, 99)}.{_tld(rng)}"
            start = START + rng.uniform(0, SPAN - 3600)
            count = rng.randint(60, 150) if hard else rng.randint(400, 3000)
            for counter in range(count):
                query, qtype = tunnel_query(rng, family, domain, counter, hard)
                rows.append((start + rng.uniform(0, 3000), address, query, qtype, "NOERROR", 53))
    for _ in range(3):
        address = client()
        truth[address] = "nxdomain_storm"
        victim = rng.choice(POPULAR[10:])[0]
        start = START + rng.uniform(0, SPAN - 3600)
        count = rng.randint(160, 300) if hard else rng.randint(400, 2000)
        for _ in range(count):
            label = "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(6, 12)))
            rows.append((start + rng.uniform(0, 3000), address, f"{label}.{victim}", 1, "NXDOMAIN", 53))
    if hard:
        noisy_benign(rng, rows, client(), client())
    rows.sort()
    return rows, truth


def noisy_benign(rng: random.Random, rows: list[tuple], suffix_host: str, agent_host: str) -> None:
    """Benign clients a detector must cope with (see the module's docstring)."""
    start = START + rng.uniform(0, SPAN - 3600)
    for _ in range(rng.randint(150, 250)):
        domain, *subs = rng.choice(POPULAR)
        name = f"{rng.choice(subs)}{rng.randint(1, 40)}.{domain}.corp.example.com"
        rows.append((start + rng.uniform(0, 3000), suffix_host, name, 1, "NXDOMAIN", 53))
    start = START + rng.uniform(0, SPAN - 3600)
    for _ in range(300):
        digest = "".join(rng.choices("0123456789abcdef", k=40))
        name = f"{digest}.fp.cloudscan-vendor.com"
        rows.append((start + rng.uniform(0, 3000), agent_host, name, 16, "NOERROR", 53))


# ----------------------------------------------------------------------------- writing

QTYPE_NAMES = {1: "A", 5: "CNAME", 10: "NULL", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV"}
RCODES = {"NOERROR": 0, "NXDOMAIN": 3}


def zeek_line(rng: random.Random, number: int, row: tuple, resolver: str) -> str:
    """One Zeek dns.log JSON record."""
    ts, client, query, qtype, rcode_name, resp_p = row
    answered = rcode_name == "NOERROR"
    answers = ""
    if answered and qtype in (1, 28):
        address = f"93.184.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        answers = f',"answers":["{address}"],"TTLs":[{rng.choice((60.0, 300.0, 3600.0))}]'
    server = "224.0.0.251" if resp_p == 5353 else resolver
    return (
        f'{{"ts":{ts:.6f},"uid":"C{number:017d}","id.orig_h":"{client}",'
        f'"id.orig_p":{rng.randint(1024, 65535)},'
        f'"id.resp_h":"{server}","id.resp_p":{resp_p},"proto":"udp","trans_id":{rng.randint(0, 65535)},'
        f'"rtt":{rng.uniform(0.0005, 0.08):.6f},"query":"{query}","qclass":1,"qclass_name":"C_INTERNET",'
        f'"qtype":{qtype},"qtype_name":"{QTYPE_NAMES.get(qtype, str(qtype))}","rcode":{RCODES[rcode_name]},'
        f'"rcode_name":"{rcode_name}","AA":false,"TC":false,"RD":true,"RA":true,"Z":0{answers},'
        f'"rejected":false}}\n'
    )


def write(path: Path, events: int, seed: int = DEFAULT_SEED, hard: bool = False) -> None:
    """Write ``events`` Zeek dns.log JSON records to ``path`` (planted ones included, in time
    order) and the planted clients by kind to ``<path>.truth.json``."""
    rng = random.Random(seed)
    network = Network(rng, clients=max(40, events // 2000))
    attacks, truth = planted(rng, hard)
    noisy = sorted({row[1] for row in attacks} - set(truth))
    background = max(0, events - len(attacks))
    step = SPAN / max(1, background)
    starters = set()  # clients whose browser started (Chrome's probes) this hour
    path = Path(path)
    with path.open("w", encoding="ascii") as out:
        a = 0
        number = 0
        buffer: list[str] = []
        for i in range(background):
            ts = START + i * step
            while a < len(attacks) and attacks[a][0] <= ts:
                buffer.append(zeek_line(rng, number, attacks[a], network.resolver))
                a += 1
                number += 1
            if rng.random() < 0.02:
                client = rng.choice(network.mail_servers)
                query = network.mail_query()
            else:
                client = network.clients[int(rng.random() ** 1.5 * len(network.clients))]
                hour_key = (client, int((ts - START) // 3600))
                if hour_key not in starters and rng.random() < 0.01:
                    starters.add(hour_key)
                    for _ in range(3):  # Chrome's probes of the resolver's NXDOMAIN hijacking
                        label = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(7, 15)))
                        buffer.append(
                            zeek_line(rng, number, (ts, client, label, 1, "NXDOMAIN", 53), network.resolver)
                        )
                        number += 1
                query = network.background(client)
            buffer.append(zeek_line(rng, number, (ts, client, *query), network.resolver))
            number += 1
            if len(buffer) >= 10000:
                out.write("".join(buffer))
                buffer.clear()
        for row in attacks[a:]:
            buffer.append(zeek_line(rng, number, row, network.resolver))
            number += 1
        out.write("".join(buffer))
    truth_path = path.with_name(path.name + ".truth.json")
    summary = {"seed": seed, "hard": hard, "planted": truth, "noisy_benign": noisy}
    truth_path.write_text(json.dumps(summary, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("events", type=int)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--hard", action="store_true", help="quieter planted clients")
    args = parser.parse_args()
    write(args.path, args.events, args.seed, args.hard)


if __name__ == "__main__":
    main()
