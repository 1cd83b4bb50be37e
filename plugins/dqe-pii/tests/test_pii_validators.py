"""The checks that run on regex candidates: real numbers pass them, look-alikes do not."""

import pytest

from dqe_pii import validators as v


@pytest.mark.parametrize(
    "number, ok",
    [
        ("4539148803436467", True),  # Visa
        ("4539148803436468", False),  # last digit off by one
        ("378282246310005", True),  # American Express test number
        ("6011000990139424", True),
        ("0", True),
        ("18", True),
        ("19", False),
    ],
)
def test_luhn(number, ok):
    assert v.luhn_ok(number) is ok


@pytest.mark.parametrize(
    "text, ok",
    [
        ("4539 1488 0343 6467", True),
        ("4539-1488-0343-6467", True),
        ("4539148803436467", True),
        ("4539 1488-0343 6467", False),  # mixed separators
        ("45 3914 8803 4364 67", False),  # not how cards are printed
        ("4539 1488 0343 6468", False),  # Luhn fails
        ("1234 5678 9012 3452", False),  # passes Luhn, but no network starts with 1
        ("4111 1111 1111 1111", False),  # a published test number
        ("3714 496353 98431", False),  # Amex test number, 4-6-5
        ("3782 822463 10006", False),  # Luhn fails
        ("6212 3456 7890 1234 560", False),  # UnionPay prefix, 19 digits, Luhn fails
    ],
)
def test_card_numbers(text, ok):
    assert v.is_card(text) is ok


def test_test_card_numbers_count_when_asked():
    assert v.is_card("4111 1111 1111 1111", ignore_test_numbers=False)
    assert v.is_card("3714 496353 98431", ignore_test_numbers=False)


def test_card_brands():
    assert v.card_brand("4539148803436467") == "Visa"
    assert v.card_brand("5500000000000004") == "Mastercard"
    assert v.card_brand("2221000000000009") == "Mastercard"
    assert v.card_brand("371449635398431") == "American Express"
    assert v.card_brand("6212345678901232") == "UnionPay"
    assert v.card_brand("4539148803436") == "Visa"  # 13 digits
    assert v.card_brand("453914880343646") is None  # Visa has no 15-digit numbers


@pytest.mark.parametrize(
    "text, ok",
    [
        ("11010519491231002X", True),  # the example printed in GB 11643
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check character
        ("990105194912310027", False),  # no province 99
        ("110105194902300026", False),  # 30 February
        ("110105290001010020", False),  # born in 2900
        ("11010519491231002", False),  # 17 characters
    ],
)
def test_cn_resident_ids(text, ok):
    assert v.is_cn_id(text) is ok


@pytest.mark.parametrize(
    "text, ok",
    [
        ("+44 20 7946 0958", True),
        ("+1 (415) 555-2671", True),
        ("+86 138 1234 5678", True),
        ("13812345678", True),
        ("138-1234-5678", True),
        ("8613812345678", True),
        ("12812345678", False),  # Chinese mobiles start 13-19
        ("(415) 555-2671", True),
        ("415-555-2671", True),
        ("415.555.2671", True),
        ("415-555-0123", False),  # 555-01xx is reserved for fiction
        ("(555) 123-4567", False),  # area code 555 is not assigned
        ("911-555-2671", False),  # N11 codes are services
        ("+12", False),
        ("+1111111111", False),  # one digit repeated
        ("(415 555-2671", False),
    ],
)
def test_phones(text, ok):
    assert v.is_phone(text) is ok


@pytest.mark.parametrize(
    "text, include_private, ok",
    [
        ("81.2.69.160", False, True),
        ("192.168.1.10", False, False),
        ("192.168.1.10", True, True),
        ("127.0.0.1", True, True),
        ("192.0.2.44", True, False),  # documentation range
        ("203.0.113.9", False, False),
        ("256.1.1.1", False, False),
        ("010.1.1.1", False, False),  # leading zero: not an address
        ("255.255.255.0", False, False),  # a netmask
        ("2a00:1450:4001:81b::200e", False, True),
        ("2001:db8::1", True, False),
        ("fe80::1", True, True),
        ("12:30:45", False, False),
        ("1::2", False, False),  # a Python slice, lst[1::2]: reserved space, no host there
        ("::1", True, True),
    ],
)
def test_ip_addresses(text, include_private, ok):
    assert v.is_ip(text, include_private) is ok


def test_ignored_addresses():
    assert not v.is_ip("8.8.8.8", ignore=frozenset(v.WELL_KNOWN_IPS))
    assert v.is_ip("8.8.8.8")


@pytest.mark.parametrize("example", ["1.2.3.4", "12.34.56.78", "123.45.67.89", "111.111.111.111", "123.123.123.123"])
def test_addresses_written_as_examples_pass(example):
    assert not v.is_ip(example)
    assert v.is_ip("81.2.69.160")  # a host's


@pytest.mark.parametrize("number", ["1.2.3.1", "3.6.0.0", "2.1.4.3"])
def test_section_and_version_numbers_of_single_digits_are_no_addresses(number):
    # an outline's "1.2.3.1 土耳其地震法" and a build's "FBF_3.6.0.0-develop.zip" (unseen ShareGPT-zh)
    assert not v.is_ip(number)
    assert v.is_ip("8.8.8.8")  # one digit repeated is a resolver's, ignored by name


def test_entropy():
    assert v.entropy("aaaa") == 0
    assert v.entropy("abcd") == 2
    assert v.entropy("9fK2mQ7xL4vR8tW1zY6bN3cHdE5aB0pQ") > 4.5


@pytest.mark.parametrize(
    "text, ok",
    [
        ("9fK2mQ7xL4vR8tW1zY6bN3cHdE5aB0pQ1rS", True),
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9k2ZfS8a", True),  # an AWS-style secret key
        ("ThisIsAVeryLongCamelCaseIdentifier2", False),  # low entropy
        ("ToImplementTimsortAlgorithmOnLean4AndExplainMyCode", False),  # words in CamelCase: a name
        ("3f786850e387550fdab836ed7e6dc881de23001b", False),  # a git SHA
        ("123e4567-e89b-12d3-a456-426614174000", False),  # a UUID
        ("src/main/java/com/Example/MyClass2Test", False),  # a path
        ("com/playlist/37i9dQZF1DXdPec7aLTmlC", False),  # a URL's path after its host (open.spotify.com/...)
        ("net/publication/303916209_The_Importance_of_Learning", False),
        ("your9API8key7GOES6here5ABCDEFGHIJKLMN", False),  # a placeholder
        (
            "iVBORw0KGgo" + "AAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA" * 2,
            False,
        ),  # base64 data
        (
            "iVBORw0KGgoAAAANSUhEUgAAAMgAAADICAYAAACtWK6eAAAACXBIWXMAAAsTAAALEwEAmpwYAAAKT2lDQ1BQ",
            False,
        ),  # a PNG, cut
    ],
)
def test_high_entropy_tokens(text, ok):
    assert v.is_high_entropy_token(text, 4.3) is ok


def test_placeholders():
    assert v.is_placeholder("sk-xxxxxxxxxxxxxxxxxxxxxxxx")
    assert v.is_placeholder("AKIAIOSFODNN7EXAMPLE")
    assert not v.is_placeholder("sk-proj-9fK2mQ7xL4vR8tW1zY6bN3cH")
