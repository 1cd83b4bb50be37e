"""PII001-PII006: personal data and secrets in instructions, answers and system prompts.

Every rule works the same way: one regex pass over the batch's text column finds candidates
(polars, in Rust), and a validator decides about the unique candidates, which are few: a Luhn
digit, a check character, a routable address. A record with a confirmed match fails, and the
message names what was found, masked. With ``redact = true`` a rule also replaces what it
finds with a typed placeholder (``<EMAIL>``) in ``dqe filter``'s outputs.
"""

from __future__ import annotations

import re
from typing import ClassVar

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions
from dqe_pii import validators
from dqe_pii.text import TEXT_COLUMN

# ASCII word boundary: unlike \b it holds between a digit and a Chinese character.
_B = r"(?-u:\b)"


class PiiOptions(RuleOptions):
    redact: bool = Field(
        False,
        description="in `dqe filter` output, replace each match with a placeholder (<EMAIL>) and list it under _dqe.redactions",
    )


def mask(text: str) -> str:
    """A match as messages show it: enough to find it in the record, not enough to use it."""
    if len(text) <= 6:
        return "*" * len(text)
    keep = 2 if len(text) < 12 else 3
    middle = "".join("*" if ch.isalnum() else ch for ch in text[keep:-keep])
    if len(middle) > 24:
        middle = middle[:8] + "…" + middle[-8:]
    return text[:keep] + middle + text[-keep:]


def _turn_holding(turns: pl.Series, match: str) -> int | None:
    """The 1-based turn whose text holds the record's first match, so that a finding points at
    the turn to fix, not the last one; None where it is in the system prompt only."""
    return next((i for i, content in enumerate(turns.struct.field("content"), 1) if content and match in content), None)


class PiiRule(RecordRule):
    """Base of the PII rules: candidates by regex, then ``is_match`` on each unique candidate."""

    kind: ClassVar[str]  # the placeholder's name: <EMAIL>
    noun: ClassVar[str]  # "e-mail address"
    pattern: ClassVar[str]  # candidates, in the syntax of Rust's regex crate (polars)
    needs = (TEXT_COLUMN,)
    Options: ClassVar[type[RuleOptions]] = PiiOptions

    def is_match(self, candidate: str) -> bool:
        """Whether a candidate is the real thing; every candidate is, unless a rule says."""
        return True

    def find(self, texts: pl.Series) -> pl.DataFrame:
        """Confirmed matches: ``row`` (position in ``texts``) and ``match``, in text order."""
        found = (
            pl.DataFrame({"text": texts})
            .with_row_index("row")
            .select("row", match=pl.col("text").str.extract_all(self.pattern))
            .filter(pl.col("match").list.len() > 0)
            .explode("match")
        )
        if found.height == 0:
            return found
        unique = found["match"].unique()
        confirmed = unique.filter(pl.Series([self.is_match(c) for c in unique.to_list()], dtype=pl.Boolean))
        return found.filter(pl.col("match").is_in(confirmed.implode()))

    def _plural(self, n: int) -> str:
        return self.noun if n == 1 else self.noun + ("es" if self.noun.endswith("ss") else "s")

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        found = self.find(batch[TEXT_COLUMN])
        messages: list[str | None] = [None] * batch.height
        turns: list[int | None] = [None] * batch.height
        if found.height:
            note = "; redacted in filter output" if self.options.redact else ""  # type: ignore[attr-defined]
            for row, matches in found.group_by("row", maintain_order=True).agg(pl.col("match")).iter_rows():
                shown = ", ".join(mask(m) for m in list(dict.fromkeys(matches))[:2])
                messages[row] = f"{len(matches)} {self._plural(len(matches))}: {shown}{note}"
                turns[row] = _turn_holding(batch["turns"][row], matches[0])
        failed = pl.Series([m is not None for m in messages], dtype=pl.Boolean)
        return pl.DataFrame(
            {
                "passed": ~failed,
                "score": (~failed).cast(pl.Float64),
                "message": pl.Series(messages, dtype=pl.String),
                "turn": pl.Series(turns, dtype=pl.Int32),
            }
        )

    def redact(self, texts: pl.Series) -> pl.DataFrame | None:
        if not self.options.redact:  # type: ignore[attr-defined]
            return None
        found = self.find(texts)
        out = texts.to_list()
        count = [0] * len(out)
        placeholder = f"<{self.kind}>"
        for row, matches in found.group_by("row").agg(pl.col("match").unique()).iter_rows():
            text = out[row]
            for m in sorted(matches, key=len, reverse=True):  # a longer match may contain a shorter one
                count[row] += text.count(m)
                text = text.replace(m, placeholder)
            out[row] = text
        return pl.DataFrame({"text": pl.Series(out, dtype=pl.String), "count": pl.Series(count, dtype=pl.UInt32)})


class Email(PiiRule):
    """Finds e-mail addresses. Addresses at reserved example domains (example.com, .test,
    .invalid, .localhost, an "example" domain in any country: sales@example.in), placeholders
    (yourname@yourdomain.com, xxxx@gmail.com, name@email.xx, a domain masked as email@xxx.com), git remotes (git@host), scp and rsync targets (user@host.com:~/dir),
    image names like logo@2x.png and a user at a host whose name ends in no top-level domain (ssh
    user@server.localshare: a country's two letters, a name of up to four, or a longer one in the
    list of common ones) are not personal data and pass."""

    code = "PII001"
    name = "email-address"
    summary = "an e-mail address in an instruction, answer or system prompt"
    why = (
        "A model memorizes strings it sees in training and can repeat them to anyone: an address "
        "in the data is an address the model may leak. It is personal data under GDPR and PIPL, "
        "and a data set that holds it may not be shared or trained on without consent."
    )
    example = "An answer 'Write to jane.doe@gmail.com for a refund.' fails: '1 e-mail address: jan*.***@*****.com'."
    kind = "EMAIL"
    noun = "e-mail address"
    # a colon and a path after the host are taken with it: "user@host.com:~/dir" is an scp or
    # rsync target, a login, not an address
    pattern = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?::[~/])?"

    class Options(PiiOptions):
        ignore_domains: list[str] = Field(
            default_factory=lambda: [
                "example.com",
                "example.org",
                "example.net",
                "example",
                "test",
                "invalid",
                "localhost",
            ],
            description="domains (and their subdomains) whose addresses are placeholders, not people",
        )

    _ASSETS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff"})
    # top-level domains longer than four letters that addresses use
    _LONG_TLDS = frozenset(
        [
            "aero",
            "coop",
            "museum",
            "travel",
            "jobs",
            "asia",
            "online",
            "store",
            "cloud",
            "email",
            "digital",
            "agency",
            "global",
            "world",
            "space",
            "website",
            "today",
            "network",
            "company",
            "media",
            "group",
            "center",
            "centre",
            "studio",
            "design",
            "academy",
            "systems",
            "software",
            "services",
            "solutions",
            "consulting",
            "technology",
            "business",
            "finance",
            "health",
            "school",
            "education",
            "london",
            "berlin",
            "tokyo",
        ]
    )

    def is_match(self, candidate: str) -> bool:
        if candidate.endswith((":~", ":/")):
            return False
        local, _, domain = candidate.lower().rpartition("@")
        labels = domain.split(".")
        tld = labels[-1]
        if local == "git" or tld in self._ASSETS or "example" in labels[:-1]:
            return False
        if len(tld) > 4 and tld not in self._LONG_TLDS:
            return False
        if local.startswith("your") or domain.startswith("your"):  # youremail@yourdomain.com
            return False
        # xxxx@gmail.com, yyyy@...: one letter repeated; name@email.xx: "xx" is no top-level domain;
        # email@xxx.com: the domain masked
        masked = any(set(label) == {"x"} for label in labels[:-1])
        if re.fullmatch(r"([a-z])\1{2,}", local) or tld in ("xx", "xxx") or masked:
            return False
        return not any(domain == d or domain.endswith("." + d) for d in self.options.ignore_domains)  # type: ignore[attr-defined]


class Phone(PiiRule):
    """Finds phone numbers: international numbers written with their '+' and country code
    (+44 20 7946 0958), Chinese mobile numbers (13812345678, 138-1234-5678, +86 138 1234 5678)
    and North American numbers with separators ((415) 555-2671). Bare runs of digits of other
    lengths are not taken for phone numbers: in math and code they are everywhere. Nor is a
    number in a URL (a photo's id in flickr.com/photos/.../15282135291/), in a longer dotted
    number (the invalid address 123.456.789.0123) or in a number's decimals, nor a bare run of 11
    digits that a key other than a phone's names ("volume": 18685106753 in a tool's output):
    a quantity or an id with a mobile number's shape."""

    code = "PII002"
    name = "phone-number"
    summary = "a phone number (international, Chinese mobile or North American)"
    why = (
        "A phone number identifies and reaches a person; a model that memorized one can repeat "
        "it. Under PIPL a mobile number is personal information that needs consent to process."
    )
    example = "An answer '请拨打13812345678联系我' fails: '1 phone number: 13*******78'."
    kind = "PHONE"
    noun = "phone number"
    # what may stand before a number and decide it: a URL's separator, or a key and its colon
    _CONTEXT = r"""(?:[/=?&#]|[A-Za-z_]{1,24}\.?[\\"']{0,3}\s*[:=]\s*[\\"']{0,3})"""
    # a longer dotted number, and a number with many decimals (47120.19206242691), taken whole: no
    # part of either is a phone
    _DOTTED = r"[0-9]{2,}(?:\.[0-9]+){3,}|[0-9]+\.[0-9]{7,}"
    pattern = (
        rf"{_DOTTED}|{_CONTEXT}?(?:(?-u:\B)\+[1-9][0-9]{{0,3}}(?:[ .-]?\(?[0-9]{{1,5}}\)?){{1,6}}"
        rf"|{_B}(?:86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{{4}}){{2}}{_B}"
        rf"|(?:\([2-9][0-9]{{2}}\) ?|{_B}[2-9][0-9]{{2}}[ .-])[2-9][0-9]{{2}}[ .-][0-9]{{4}}{_B})"
    )
    _KEYS = frozenset(
        [
            "phone",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "cellphone",
            "contact",
            "call",
            "fax",
            "hotline",
            "number",
            "no",
            "whatsapp",
            "wechat",
            "sms",
        ]
    )
    _KEYED = re.compile(_CONTEXT)  # the same context, read back in Python to judge a candidate

    def find(self, texts: pl.Series) -> pl.DataFrame:
        found = super().find(texts)
        return found.with_columns(pl.col("match").str.replace(f"^{self._CONTEXT}", ""))

    def is_match(self, candidate: str) -> bool:
        if re.fullmatch(self._DOTTED, candidate):
            return False
        context = self._KEYED.match(candidate)
        prefix = context.group() if context else ""
        number = candidate[len(prefix) :]
        if prefix[:1] in ("/", "=", "?", "&", "#"):  # in a URL
            return False
        key = prefix.rstrip(" \t:=\"'\\.").lower()
        if prefix and number.isdigit() and key not in self._KEYS:
            return False  # a bare run under a key that names something else
        return validators.is_phone(number.rstrip(" .-"))


class CardNumber(PiiRule):
    """Finds payment card numbers: 13 to 19 digits, run together or in the groups cards are
    printed in, with a known network prefix and length (Visa, Mastercard, American Express,
    Discover, JCB, UnionPay, Diners Club) and a valid Luhn check digit. The test numbers
    payment providers publish (4111 1111 1111 1111, ...) pass unless ignore-test-numbers is off,
    and so do the decimals of a number (8.371278458844134)."""

    code = "PII003"
    name = "card-number"
    summary = "a payment card number (network prefix, length and Luhn digit checked)"
    why = (
        "A card number in training data is a PCI DSS incident and a fraud risk once a model can "
        "be prompted to repeat it. The Luhn digit and network prefix keep order numbers and "
        "other long numbers from being taken for cards."
    )
    example = "'My card is 4539 1488 0343 6467' fails: '1 card number: 453* **** **** *467'."
    kind = "CARD_NUMBER"
    noun = "card number"
    # a digit and a point before the run are taken with it: the decimals of a number
    # ("8.371278458844134") are no card
    pattern = rf"(?:[0-9]\.)?{_B}[0-9](?:[ -]?[0-9]){{12,18}}{_B}"

    class Options(PiiOptions):
        ignore_test_numbers: bool = Field(
            True, description="let the card numbers payment providers publish for testing pass"
        )

    def is_match(self, candidate: str) -> bool:
        if candidate[1:2] == ".":
            return False
        return validators.is_card(candidate, self.options.ignore_test_numbers)  # type: ignore[attr-defined]


class IpAddress(PiiRule):
    """Finds IPv4 and IPv6 addresses of hosts on the public internet. Private, loopback, reserved
    and documentation ranges (192.168.0.0/16, 127.0.0.1, 1::2, 192.0.2.0/24, 2001:db8::/32) and the
    well-known public resolvers (8.8.8.8, 1.1.1.1, ...) pass; version numbers like 1.2.3.4.5
    and sections of a standard (§15.12.2.7) are not addresses."""

    code = "PII004"
    name = "ip-address"
    summary = "a public IP address (private, loopback and documentation ranges pass)"
    severity = "warning"
    why = (
        "A public IP address can identify a household or a server and counts as personal data "
        "under GDPR. It is a warning by default because technical answers mention addresses "
        "for good reasons; make it an error for data from logs or support tickets."
    )
    example = "'The attacker came from 81.2.69.160' is reported: '1 IP address: 81.*.**.*60'."
    kind = "IP_ADDRESS"
    noun = "IP address"
    # a section sign is taken with the number it opens, so that "§15.12.2.7" is read as a section
    pattern = (
        rf"(?:§\s?)?{_B}[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3,}}{_B}"
        rf"|{_B}[0-9A-Fa-f]{{1,4}}(?::[0-9A-Fa-f]{{0,4}}){{2,7}}{_B}"
    )

    class Options(PiiOptions):
        include_private: bool = Field(False, description="also report private, loopback and link-local addresses")
        ignore_addresses: list[str] = Field(
            default_factory=lambda: list(validators.WELL_KNOWN_IPS),
            description="addresses that pass (public DNS resolvers by default)",
        )

    def is_match(self, candidate: str) -> bool:
        if candidate.startswith("§"):
            return False
        o = self.options
        return validators.is_ip(candidate, o.include_private, frozenset(o.ignore_addresses))  # type: ignore[attr-defined]


class Secret(PiiRule):
    """Finds API keys, tokens and private keys: by the prefixes providers give their keys
    (OpenAI and Anthropic sk-, GitHub ghp_ and github_pat_, AWS AKIA, Slack xox*-, Google AIza,
    GitLab glpat-, Hugging Face hf_, Stripe sk_live_, SendGrid SG.), JSON web tokens, PEM
    private key blocks, and random-looking tokens of 32 to 100 characters (high entropy, mixed
    case and digits). Placeholders (sk-xxxx..., AKIA...EXAMPLE, your-key-here), hex digests,
    UUIDs and long base64 data pass."""

    code = "PII005"
    name = "secret"
    summary = "an API key, access token or private key (provider prefixes, high-entropy tokens)"
    why = (
        "A leaked key is an incident on its own; a model trained on it will hand it out. Keys "
        "end up in instruction data copied from code, issues and chat logs."
    )
    example = "'export OPENAI_API_KEY=sk-proj-9fK2mQ7xL4vR8tW1zY6bN3cH' fails: '1 secret: sk-****-***…********3cH'."
    kind = "SECRET"
    noun = "secret"
    _PREFIXED = (
        r"sk-(?:proj-|ant-(?:api03-)?)?[A-Za-z0-9_-]{20,}"
        r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}"
        r"|(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"
        r"|xox[abposr]-[A-Za-z0-9-]{10,}"
        r"|AIza[0-9A-Za-z_-]{35}"
        r"|glpat-[A-Za-z0-9_-]{20,}"
        r"|hf_[A-Za-z0-9]{30,}"
        r"|(?:sk|rk)_live_[0-9A-Za-z]{16,}"
        r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"
        r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
    )
    _PEM = r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"
    pattern = rf"{_B}(?:{_PREFIXED})|{_PEM}|{_B}[A-Za-z0-9_+/-]{{32,}}={{0,2}}"

    class Options(PiiOptions):
        high_entropy: bool = Field(
            True, description="also report long random-looking tokens that carry no known prefix"
        )
        min_entropy: float = Field(
            4.3,
            ge=0,
            le=8,
            description="bits per character a token without a prefix needs to be reported",
        )

    def is_match(self, candidate: str) -> bool:
        if candidate.startswith("-----BEGIN"):
            return True
        if _PREFIXED_KEY.fullmatch(candidate):
            return not validators.is_placeholder(candidate)
        o = self.options
        return o.high_entropy and validators.is_high_entropy_token(candidate, o.min_entropy)  # type: ignore[attr-defined]


class ChineseId(PiiRule):
    """Finds Chinese resident identity card numbers (居民身份证号码): 18 characters whose
    province code, birth date and ISO 7064 MOD 11-2 check character (0-9 or X) are all valid,
    so that other 18-digit numbers pass."""

    code = "PII006"
    name = "cn-resident-id"
    summary = "a Chinese resident ID number (birth date and check character verified)"
    why = (
        "A resident ID number is sensitive personal information under PIPL: it identifies a "
        "person for life and opens bank accounts. It must not be in a training set."
    )
    example = "'我的身份证号是11010519491231002X' fails: '1 resident ID number: 110************02X'."
    kind = "CN_ID"
    noun = "resident ID number"
    pattern = (
        rf"{_B}[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{{3}}[0-9Xx]{_B}"
    )

    def is_match(self, candidate: str) -> bool:
        return validators.is_cn_id(candidate)


_PREFIXED_KEY = re.compile(Secret._PREFIXED)

RULES: tuple[type[PiiRule], ...] = (Email, Phone, CardNumber, IpAddress, Secret, ChineseId)
