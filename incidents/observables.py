"""Validation and normalisation of observables, one function per type; pure, no ORM.

Normalised values are what de-duplication and "who else saw this?" search compare,
so ``1.2.3.4`` and ``001.002.003.004`` are one address, ``Example.COM.`` and
``example.com`` one domain. Defanged input from analysts' reports (``hxxp``, ``[.]``)
is refanged first.
"""

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from django.db import models

from csoa_portal.input_rules import is_digits


class ObservableType(models.TextChoices):
    IPV4 = "ipv4", "IPv4 address"
    IPV6 = "ipv6", "IPv6 address"
    CIDR = "cidr", "IP network (CIDR)"
    DOMAIN = "domain", "Domain name"
    URL = "url", "URL"
    EMAIL = "email", "E-mail address"
    MD5 = "md5", "MD5 hash"
    SHA1 = "sha1", "SHA-1 hash"
    SHA256 = "sha256", "SHA-256 hash"
    ASN = "asn", "Autonomous system number"
    CVE = "cve", "CVE identifier"


class InvalidObservable(ValueError):
    """The message names what is wrong with the value, for a per-row error report."""


MAX_VALUE_LENGTH = 2048
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HEX = re.compile(r"^[0-9a-f]+$")
_CVE = re.compile(r"^CVE-(\d{4})-(\d{4,19})$", re.ASCII)
_URL_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "ws", "wss"}
_HASH_LENGTHS = {ObservableType.MD5: 32, ObservableType.SHA1: 40, ObservableType.SHA256: 64}


def refang(value: str) -> str:
    value = value.strip()
    value = re.sub(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]", ".", value, flags=re.IGNORECASE)
    value = re.sub(r"\[@\]|\[at\]", "@", value, flags=re.IGNORECASE)
    value = re.sub(r"^hxxp", "http", value, flags=re.IGNORECASE)
    value = re.sub(r"^fxp", "ftp", value, flags=re.IGNORECASE)
    return value.replace("[:]", ":").replace("[://]", "://")


_DOTTED_QUAD = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$", re.ASCII)


def _ip(value: str, version: int) -> str:
    if _DOTTED_QUAD.match(value):
        # Zero-padded octets (001.002.003.004) are read as decimal, as analysts mean them.
        value = ".".join(str(int(octet)) for octet in value.split("."))
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise InvalidObservable(f"{value!r} is not an IPv{version} address.") from None
    if address.version != version:
        raise InvalidObservable(f"{value!r} is an IPv{address.version} address, not IPv{version}.")
    return address.compressed


def _cidr(value: str) -> str:
    if "/" not in value:
        raise InvalidObservable(f"{value!r} has no prefix length: write it as address/prefix, e.g. 192.0.2.0/24.")
    try:
        return ipaddress.ip_network(value, strict=False).compressed
    except ValueError as exc:
        raise InvalidObservable(f"{value!r} is not an IP network: {exc}.") from None


def _domain(value: str) -> str:
    name = value.lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidObservable(f"{value!r} is not a valid internationalised domain name.") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidObservable(f"{value!r} is not a domain name (letters, digits and hyphens, with a dot).")
    if labels[-1].isdigit():
        raise InvalidObservable(f"{value!r} looks like an IP address, not a domain name.")
    return name


def _host(host: str, original: str) -> str:
    if ":" in host:
        return f"[{_ip(host, 6)}]"
    try:
        return ipaddress.IPv4Address(host).compressed
    except ValueError:
        pass
    try:
        return _domain(host)
    except InvalidObservable:
        raise InvalidObservable(f"{original!r} has no valid host name.") from None


def _url(value: str) -> str:
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError as exc:  # an unclosed IPv6 bracket (http://[::1) and the like
        raise InvalidObservable(f"{value!r} is not a URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        raise InvalidObservable(f"{value!r} is not a URL with a scheme such as http:// or https://.")
    if not hostname:
        raise InvalidObservable(f"{value!r} has no host.")
    netloc = _host(hostname, value)
    try:
        port = parts.port
    except ValueError:
        raise InvalidObservable(f"{value!r} has an invalid port.") from None
    if port is not None:
        netloc = f"{netloc}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or any(c.isspace() for c in local):
        raise InvalidObservable(f"{value!r} is not an e-mail address.")
    return f"{local}@{_domain(domain)}"


def _hash(value: str, kind: ObservableType) -> str:
    digest = value.lower()
    length = _HASH_LENGTHS[kind]
    if len(digest) != length or not _HEX.match(digest):
        raise InvalidObservable(f"{value!r} is not a {kind.label}: expected {length} hexadecimal characters.")
    return digest


def _asn(value: str) -> str:
    number = value.upper().removeprefix("AS").strip()
    if not is_digits(number) or not 0 < int(number) < 2**32:
        raise InvalidObservable(f"{value!r} is not an AS number (AS1 to AS4294967295).")
    return f"AS{int(number)}"


def _cve(value: str) -> str:
    match = _CVE.match(value.upper())
    if not match or int(match.group(1)) < 1999:
        raise InvalidObservable(f"{value!r} is not a CVE identifier like CVE-2024-3400.")
    return f"CVE-{match.group(1)}-{match.group(2)}"


def normalise(kind: str, value) -> str:
    """The canonical form of ``value`` as an observable of ``kind``, or InvalidObservable."""
    if kind not in ObservableType.values:
        raise InvalidObservable(f"Unknown observable type {kind!r}; use one of: {', '.join(ObservableType.values)}.")
    if not isinstance(value, str) or not value.strip():
        raise InvalidObservable("The value is empty.")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidObservable(f"The value is longer than {MAX_VALUE_LENGTH} characters.")
    kind = ObservableType(kind)
    value = refang(value)
    if kind == ObservableType.IPV4:
        return _ip(value, 4)
    if kind == ObservableType.IPV6:
        return _ip(value, 6)
    if kind == ObservableType.CIDR:
        return _cidr(value)
    if kind == ObservableType.DOMAIN:
        return _domain(value)
    if kind == ObservableType.URL:
        return _url(value)
    if kind == ObservableType.EMAIL:
        return _email(value)
    if kind in _HASH_LENGTHS:
        return _hash(value, kind)
    if kind == ObservableType.ASN:
        return _asn(value)
    return _cve(value)


def search_forms(value: str) -> list[tuple[str, str]]:
    """Every (type, normalised value) a free-text search term could be, for "who else saw this?"."""
    forms = []
    for kind in ObservableType.values:
        try:
            forms.append((kind, normalise(kind, value)))
        except InvalidObservable:
            continue
    return forms
