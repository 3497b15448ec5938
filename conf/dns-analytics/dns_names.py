"""What a DNS query name is: its registered domain (from the Public Suffix List), the part below
it, whether it is a kind of name that is never a finding (a reverse lookup, a local or service
name, a DNSBL lookup), and how machine-generated its registered domain's label looks.

Shared by ``dns-analytics.py`` (findings) and ``dns-query-counts.py`` (the query table). Pure
functions, cached with ``remembered``: a network asks for the same names all day.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from datashark.detect.memo import remembered

# ----------------------------------------------------------------------------- registered domain

_SUFFIXES = None  # one PublicSuffixList per executor process, built on first use (~30 ms)


def public_suffix_list():
    """The Public Suffix List, ICANN section only, unknown top-level domains refused.

    ICANN only: the registered domain of ``d31qbv1cthcecs.cloudfront.net`` is ``cloudfront.net``
    (the party that runs the zone), not the customer's random label, which the private section
    would make it (a CDN's hostnames would look like a DGA's). Unknown TLDs (``.corp``, ``.lan``,
    ``cluster.local``) have no registered domain: internal names."""
    global _SUFFIXES
    if _SUFFIXES is None:
        from publicsuffixlist import PublicSuffixList

        _SUFFIXES = PublicSuffixList(accept_unknown=False, only_icann=True)
    return _SUFFIXES


def normal_name(name: object) -> str | None:
    """A query name as compared: lower case, without the root's trailing dot; None if empty."""
    if not isinstance(name, str):
        return None
    text = name.strip().rstrip(".").lower()
    return text or None


@remembered
def registered_domain(name: str) -> str | None:
    """The registered (registrable) domain of a normalised name: ``example.co.uk`` for
    ``www.example.co.uk``; None for a bare public suffix, a single label or an unknown TLD."""
    if "." not in name:
        return None
    return public_suffix_list().privatesuffix(name)


# ----------------------------------------------------------------------------- kinds of names

INTERNET = "internet"  # a name under a registered domain: judged
REVERSE = "reverse"  # in-addr.arpa / ip6.arpa: a PTR lookup
LOCAL = "local"  # .local (mDNS), .arpa (home.arpa…), .localhost, .onion, single labels
SERVICE = "service"  # a label starting with "_": SRV (AD's _ldap._tcp), DNS-SD, DKIM, DMARC
DNSBL = "dnsbl"  # four numeric labels first: 4.3.2.1.zen.spamhaus.org, an address looked up
INTERNAL = "internal"  # an unknown TLD (.corp, .lan, cluster.local): a private name space

LOCAL_SUFFIXES = ("local", "localhost", "localdomain", "arpa", "onion", "invalid", "test", "example")


class NameParts(NamedTuple):
    """A query name split for the detection: its kind (``INTERNET``, ``REVERSE``…), registered
    domain (None unless ``INTERNET``), the part below it (``""`` at the domain itself) and the
    registered domain's own label (``example`` of ``example.co.uk``)."""

    kind: str
    registered: str | None
    subdomain: str
    label: str


def _is_octet(label: str) -> bool:
    return label.isdigit() and len(label) <= 3


def _parts(name: str) -> NameParts:
    tld = name.rpartition(".")[2]
    if name.endswith((".in-addr.arpa", ".ip6.arpa")):
        return NameParts(REVERSE, None, "", "")
    if "." not in name or tld in LOCAL_SUFFIXES:
        return NameParts(LOCAL, None, "", "")
    if name.startswith("_") or "._" in name:
        return NameParts(SERVICE, None, "", "")
    labels = name.split(".", 4)
    if len(labels) == 5 and all(_is_octet(label) for label in labels[:4]):
        return NameParts(DNSBL, None, "", "")
    registered = registered_domain(name)
    if registered is None:
        return NameParts(INTERNAL, None, "", "")
    subdomain = name[: -len(registered) - 1] if len(name) > len(registered) else ""
    return NameParts(INTERNET, registered, subdomain, registered.partition(".")[0])


name_parts = remembered(_parts, size=1 << 15)
name_parts.__doc__ = "``NameParts`` of a normalised query name (remembered)."


def table_domain(name: str) -> str:
    """The domain a query counts under in the query table: the registered domain, else
    ``in-addr.arpa``/``ip6.arpa`` for reverse lookups, else the name itself (local names)."""
    parts = name_parts(name)
    if parts.registered is not None:
        return parts.registered
    if parts.kind == REVERSE:
        return "ip6.arpa" if name.endswith(".ip6.arpa") else "in-addr.arpa"
    if parts.kind == SERVICE:
        return registered_domain(name) or name
    return name


def under(name: str, domains: frozenset) -> bool:
    """Whether ``name`` is one of ``domains`` or below one (``x.avqs.mcafee.com`` under ``mcafee.com``)."""
    if name in domains:
        return True
    dot = name.find(".")
    while dot != -1:
        if name[dot + 1 :] in domains:
            return True
        dot = name.find(".", dot + 1)
    return False


# ----------------------------------------------------------------------------- label features

VOWELS = frozenset("aeiouy")
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
HEX = frozenset("0123456789abcdef")
# The ~150 most frequent letter pairs of English text and of popular domain names: most pairs
# of a word, a brand or a compound (facebook, weatherchannel) are among them; a third of the
# pairs of random letters are.
_BIGRAM_TEXT = """th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le
    ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr
    no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni
    ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev ld ry mp fe bl ab gh ty op
    wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc fa ef cu rn sc
    gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi rc rr eg au ck
    ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip ub oi rl gu dr hr
    oa ok oe ks nk ze za iz zo oz yt nf sk sm sn sw tw tc xt wn ya ja jo ju ka ko ku ik yn oy"""
COMMON_BIGRAMS = frozenset(_BIGRAM_TEXT.split())


class LabelFeatures(NamedTuple):
    """What makes a label look machine-generated: its length, Shannon entropy (bits per
    character), share of digits, longest run of digits and of consonants, share of vowels among
    its letters, share of its letter pairs among ``COMMON_BIGRAMS``, letter/digit switches, and
    how many of its letters are among English's rarest (j q x z) and rare ones (those and v k w f b)."""

    length: int
    entropy: float
    digit_share: float
    longest_digits: int
    longest_consonants: int
    vowel_share: float
    common_bigram_share: float
    switches: int
    rarest_letters: int = 0
    rare_letters: int = 0


RAREST_LETTERS = frozenset("jqxz")
RARE_LETTERS = frozenset("jqxzvkwfb")


def entropy(text: str) -> float:
    """Shannon entropy of ``text``'s characters, bits per character (0 for an empty text)."""
    if not text:
        return 0.0
    size = len(text)
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def _features(label: str) -> LabelFeatures:
    digits = letters = vowels = 0
    digit_run = longest_digits = consonant_run = longest_consonants = switches = 0
    previous_digit: bool | None = None
    for char in label:
        is_digit = char.isdigit()
        if is_digit:
            digits += 1
            digit_run += 1
            longest_digits = max(longest_digits, digit_run)
            consonant_run = 0
        else:
            digit_run = 0
            if char in LETTERS:
                letters += 1
                if char in VOWELS:
                    vowels += 1
                    consonant_run = 0
                else:
                    consonant_run += 1
                    longest_consonants = max(longest_consonants, consonant_run)
            else:
                consonant_run = 0
        if previous_digit is not None and is_digit != previous_digit and (is_digit or char in LETTERS):
            switches += 1
        if is_digit or char in LETTERS:
            previous_digit = is_digit
    pairs = [label[i : i + 2] for i in range(len(label) - 1)]
    letter_pairs = [pair for pair in pairs if pair[0] in LETTERS and pair[1] in LETTERS]
    common = sum(1 for pair in letter_pairs if pair in COMMON_BIGRAMS)
    size = len(label) or 1
    return LabelFeatures(
        length=len(label),
        entropy=round(entropy(label), 3),
        digit_share=round(digits / size, 3),
        longest_digits=longest_digits,
        longest_consonants=longest_consonants,
        vowel_share=round(vowels / letters, 3) if letters else 0.0,
        common_bigram_share=round(common / len(letter_pairs), 3) if letter_pairs else 1.0,
        switches=switches,
        rarest_letters=sum(1 for char in label if char in RAREST_LETTERS),
        rare_letters=sum(1 for char in label if char in RARE_LETTERS),
    )


label_features = remembered(_features, size=1 << 15)
label_features.__doc__ = "``LabelFeatures`` of a label (remembered)."


def generated_points(features: LabelFeatures) -> int:
    """How machine-generated a label looks, in points (3 or more: generated). One point each for
    a long label (12+), few common letter pairs (under 50%; two under 35%), a run of 4+
    consonants, few vowels (under 25% of letters), digits mixed into letters (2+ switches), a
    long run of digits (4+), rare letters (one of j q x z and 3+ of j q x z v k w f b).
    Entropy gives no point: at 8 to 20 characters a word's is as high as random letters'."""
    points = 0
    if features.length >= 12:
        points += 1
    if features.common_bigram_share < 0.35:
        points += 2
    elif features.common_bigram_share < 0.5:
        points += 1
    if features.longest_consonants >= 4:
        points += 1
    if features.vowel_share < 0.25:
        points += 1
    if features.switches >= 2:
        points += 1
    if features.longest_digits >= 4:
        points += 1
    if features.rarest_letters >= 1 and features.rare_letters >= 3:
        points += 1
    return points


GENERATED_MIN_LENGTH = 8  # shorter labels are brands and acronyms as often as generated


def _looks_generated(label: str) -> bool:
    if len(label) < GENERATED_MIN_LENGTH or label.startswith("xn--"):  # punycode (IDN) looks random
        return False
    if "-" in label:  # a label with hyphens is words (my-shop-online) in all but rare DGAs
        return False
    if len(label) >= 16 and all(char in HEX for char in label) and not label.isdigit():
        return not label.isalpha()  # a hash in hex: both digits and a-f letters
    return generated_points(label_features(label)) >= 3


looks_generated = remembered(_looks_generated, size=1 << 15)
looks_generated.__doc__ = (
    "Whether a registered domain's label (``xjw3kd9a``) looks machine-generated: 8+ characters, "
    "no punycode, no hyphen, and a hex hash or 3+ ``generated_points`` (remembered)."
)
