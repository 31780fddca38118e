"""Each observable type is validated and normalised, so duplicates and searches match."""

import pytest

from incidents.observables import InvalidObservable, normalise, search_forms

VALID = [
    ("ipv4", " 192.0.2.10 ", "192.0.2.10"),
    ("ipv4", "192[.]0[.]2[.]10", "192.0.2.10"),
    ("ipv4", "001.002.003.004", "1.2.3.4"),
    ("ipv6", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("cidr", "192.0.2.77/24", "192.0.2.0/24"),
    ("cidr", "2001:db8::1/32", "2001:db8::/32"),
    ("domain", "Example.COM.", "example.com"),
    ("domain", "bücher.example", "xn--bcher-kva.example"),
    ("domain", "evil[.]example[.]org", "evil.example.org"),
    ("url", "HXXPS://Evil.Example/Path?q=1", "https://evil.example/Path?q=1"),
    ("url", "http://[2001:db8::1]:8080", "http://[2001:db8::1]:8080/"),
    ("url", "http://192.0.2.1/x", "http://192.0.2.1/x"),
    ("email", "Phisher@Example.ORG", "Phisher@example.org"),
    ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("asn", "as3320", "AS3320"),
    ("asn", "64512", "AS64512"),
    ("cve", "cve-2024-3400", "CVE-2024-3400"),
    ("cve", "CVE-2021-44228", "CVE-2021-44228"),
]

INVALID = [
    ("ipv4", "256.1.1.1", "not an IPv4 address"),
    ("ipv4", "2001:db8::1", "is an IPv6 address, not IPv4"),
    ("ipv6", "192.0.2.1", "is an IPv4 address, not IPv6"),
    ("cidr", "192.0.2.1", "no prefix length"),
    ("cidr", "192.0.2.0/33", "not an IP network"),
    ("domain", "localhost", "not a domain name"),
    ("domain", "-bad-.example", "not a domain name"),
    ("domain", "1.2.3.4", "looks like an IP address"),
    ("url", "evil.example/path", "scheme"),
    ("url", "javascript:alert(1)", "scheme"),
    ("url", "http://", "no host"),
    ("url", "http://example.com:99999/", "invalid port"),
    ("email", "no-at-sign.example", "not an e-mail address"),
    ("md5", "abc", "expected 32 hexadecimal"),
    ("sha1", "z" * 40, "expected 40 hexadecimal"),
    ("sha256", "e3b0c442", "expected 64 hexadecimal"),
    ("asn", "AS0", "not an AS number"),
    ("asn", "AS4294967296", "not an AS number"),
    ("cve", "CVE-24-1", "not a CVE identifier"),
    ("ipv4", "   ", "empty"),
    ("hostname", "example.com", "Unknown observable type"),
    ("domain", "a" * 3000 + ".example", "longer than"),
]


@pytest.mark.parametrize("kind,raw,expected", VALID)
def test_valid_observable_is_normalised(kind, raw, expected):
    assert normalise(kind, raw) == expected


@pytest.mark.parametrize("kind,raw,message", INVALID)
def test_invalid_observable_is_refused_saying_why(kind, raw, message):
    with pytest.raises(InvalidObservable, match=message):
        normalise(kind, raw)


def test_search_term_matches_every_type_it_could_be():
    assert ("ipv4", "192.0.2.10") in search_forms("192.0.2.10")
    assert ("domain", "example.com") in search_forms("EXAMPLE.com")
    assert search_forms("not a thing at all") == []
