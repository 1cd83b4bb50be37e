"""Checks that tell real personal data from look-alikes, run only on regex candidates.

The rules find candidates with one vectorized regex pass over a batch; these functions then
decide about the few candidates there are: a Luhn digit for card numbers, the ISO 7064 check
character and a real birth date for Chinese resident IDs, routability for IP addresses, and
character statistics for secrets.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from datetime import date

# Card numbers every payment provider documents for testing: not anyone's card.
TEST_CARDS = frozenset(
    {
        "4111111111111111",
        "4242424242424242",
        "4012888888881881",
        "4000056655665556",
        "4222222222222",
        "5555555555554444",
        "5105105105105100",
        "5200828282828210",
        "2223003122003222",
        "378282246310005",
        "371449635398431",
        "378734493671000",
        "6011111111111117",
        "6011000990139424",
        "3530111333300000",
        "3566002020360505",
        "30569309025904",
        "38520000023237",
        "6200000000000005",
    }
)

# Province-level codes that open a resident ID (GB/T 2260): 11 Beijing ... 65 Xinjiang,
# 71 Taiwan, 81 Hong Kong, 82 Macao, 83 residence permits for Taiwan residents.
CN_REGIONS = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"

_PLACEHOLDER = re.compile(
    r"x{4}|your|example|placeholder|dummy|redacted|sample|fake|here|1234567|abcdef", re.IGNORECASE
)
_HEX = re.compile(r"[0-9a-fA-F-]+")


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) check that every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """The card network a number of this prefix and length belongs to, or None."""
    n = len(number)
    two, four = int(number[:2]), int(number[:4])
    if number[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "Mastercard"
    if two in (34, 37) and n == 15:
        return "American Express"
    if (number.startswith("6011") or two == 65 or 644 <= int(number[:3]) <= 649) and 16 <= n <= 19:
        return "Discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "JCB"
    if two == 62 and 16 <= n <= 19:
        return "UnionPay"
    if (two in (36, 38, 39) or 300 <= int(number[:3]) <= 305) and n == 14:
        return "Diners Club"
    return None


def _card_layout_ok(text: str) -> bool:
    """Written as one run of digits, or in the groups cards print: 4-4-4-4(-3), 4-6-5, 4-6-4."""
    groups = re.split(r"[ -]", text)
    if len(groups) == 1:
        return True
    if len({ch for ch in text if not ch.isdigit()}) > 1:
        return False
    sizes = [len(g) for g in groups]
    return sizes in ([4, 6, 5], [4, 6, 4]) or (
        all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4 and len(sizes) >= 4
    )


def is_card(text: str, ignore_test_numbers: bool = True) -> bool:
    number = digits(text)
    if not 13 <= len(number) <= 19 or not _card_layout_ok(text):
        return False
    if ignore_test_numbers and number in TEST_CARDS:
        return False
    if len(number) == 18 and is_cn_id(number):
        return False  # an 18-digit resident ID that happens to pass Luhn is PII006's
    return card_brand(number) is not None and luhn_ok(number) and len(set(number)) > 1


def is_cn_id(text: str) -> bool:
    """An 18-character resident ID: province code, a real birth date, and the check character."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    if int(text[:2]) not in CN_REGIONS:
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    check = _CN_CHECK[sum(int(d) * w for d, w in zip(text, _CN_WEIGHTS, strict=False)) % 11]
    return text[17].upper() == check


_NANP = re.compile(r"\(?([2-9][0-9]{2})\)?[ .-]?([2-9][0-9]{2})[ .-]([0-9]{4})")
_CN_MOBILE = re.compile(r"(?:86)?1[3-9][0-9]{9}")


def is_phone(text: str) -> bool:
    """E.164 with its '+', a Chinese mobile (11 digits from 13x to 19x, +86 optional) or a North
    American number with separators (area code and exchange not starting 0 or 1)."""
    number = digits(text)
    if text.count("(") != text.count(")"):
        return False
    if _CN_MOBILE.fullmatch(number) and not re.search(r"[().]", text):
        return True
    if text.startswith("+"):
        return 8 <= len(number) <= 15 and len(set(number)) > 2
    m = _NANP.fullmatch(text)
    if not m:
        return False
    area, exchange, line = m.groups()
    fictional = area == "555" or (exchange == "555" and line.startswith("01"))
    return not fictional and area[1:] != "11" and exchange[1:] != "11"


WELL_KNOWN_IPS = (
    "8.8.8.8",
    "8.8.4.4",
    "1.1.1.1",
    "1.0.0.1",
    "1.1.1.2",  # Cloudflare's resolvers for families: 1.1.1.2 blocks malware, 1.1.1.3 adult content too
    "1.0.0.2",
    "1.1.1.3",
    "1.0.0.3",
    "9.9.9.9",
    "208.67.222.222",
    "208.67.220.220",
)


def is_ip(text: str, include_private: bool = False, ignore: frozenset[str] = frozenset()) -> bool:
    """A valid address that reaches one host on the internet (or any, with include_private);
    documentation ranges (192.0.2.0/24, 2001:db8::/32, ...) never count."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if text in ignore or str(address) in ignore:
        return False
    if address.is_unspecified or address.is_multicast or (address.version == 4 and str(address).endswith(".255")):
        return False
    if address.version == 4 and _made_up(str(address)):
        return False
    if address.is_global and not address.is_reserved:  # reserved: no host there (lst[1::2] reads as 1::2)
        return True
    documentation = any(address in net for net in _DOC_NETS)
    return (
        include_private and not documentation and (address.is_private or address.is_loopback or address.is_link_local)
    )


def _made_up(address: str) -> bool:
    """An address a person writes as an example: its digits count up (1.2.3.4, 12.34.56.78,
    123.45.67.89) or its four parts are one number of two digits or more (111.111.111.111,
    123.123.123.123; 8.8.8.8 is a resolver's). Four different single digits are a section or a
    version number (1.2.3.1, 3.6.0.0), which hosts' addresses almost never are."""
    parts = address.split(".")
    return (
        "".join(parts) in "1234567890"
        or (len(set(parts)) == 1 and len(parts[0]) > 1)
        or (all(len(p) == 1 for p in parts) and len(set(parts)) > 1)
    )


_DOC_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "0.0.0.0/8")
)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character (random base64 is about 5-6, prose about 4)."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(text: str) -> bool:
    """Keys written out as examples: sk-xxxx..., AKIA...EXAMPLE, <your key here>."""
    return bool(_PLACEHOLDER.search(text)) or len(set(text)) < 6


MAX_TOKEN = 100  # longer random-looking runs are data (base64 images), not keys
# How base64 of common files begins (PNG, JPEG, GIF, WebP, PDF, ZIP): data, even when cut short.
_BASE64_FILES = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "JVBERi0", "UEsDB")


# Words run together in CamelCase ("ToImplementTimsortOnLean4"): an identifier, however long
_CAMEL_WORDS = re.compile(r"(?:[A-Z][a-z]+|[0-9]+)+")

# A segment of lowercase letters between slashes names a place, as a URL's does after its host
# ("com/playlist/1M1rOg...", "net/publication/3039_..."); a key's base64 has none.
_PATH_SEGMENT = re.compile(r"(?:^|/)[a-z]{2,}(?:[-_][a-z]+)*/")


def is_high_entropy_token(text: str, min_entropy: float) -> bool:
    """A token of 32 to 100 characters that looks random: mixed case and digits, high
    entropy, not a hex digest or a UUID (those name things; they are not secrets), not a path or
    a URL's."""
    token = text.rstrip("=")
    if len(token) > MAX_TOKEN or token.startswith(_BASE64_FILES) or _HEX.fullmatch(token):
        return False
    if token.count("/") > 2 or "//" in token or _PATH_SEGMENT.search(token) or _CAMEL_WORDS.fullmatch(token):
        return False
    if not (any(c.islower() for c in token) and any(c.isupper() for c in token) and any(c.isdigit() for c in token)):
        return False
    return entropy(token) >= min_entropy and not is_placeholder(token)
