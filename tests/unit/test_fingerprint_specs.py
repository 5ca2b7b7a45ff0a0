"""JA3, JA3S and JA4 of hello fields (capture/fingerprints.py) against the published examples of their specifications."""

from __future__ import annotations

from tsharkpost.capture import fingerprints

# FoxIO's JA4 specification (technical_details/JA4.md, "Example"): a Chrome ClientHello, GREASE already removed.
SPEC_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C,
                0x009D, 0x002F, 0x0035]
SPEC_EXTENSIONS = [0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005, 0x0023, 0x0012, 0x002B,
                   0xFF01, 0x000B, 0x000A, 0x0015]
SPEC_SIGNATURES = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def test_ja4_of_the_specification_example() -> None:
    # Given the specification's hello, with GREASE values mixed in as a browser sends them
    ciphers, extensions = [0x5A5A, *SPEC_CIPHERS], [0x0A0A, *SPEC_EXTENSIONS, 0xFAFA]
    # When its JA4 is computed, Then it is the published one
    assert fingerprints.ja4(0x0303, [0x2A2A, 0x0304, 0x0303], ciphers, extensions, "h2", SPEC_SIGNATURES) \
        == "t13d1516h2_8daaf6152771_e5627efa2ab1"


def test_ja4_without_signature_algorithms_ends_without_underscore() -> None:
    # The specification: "0005,...,ff01 = 6d807ffa2a79" when the hello has no signature algorithms.
    assert fingerprints.ja4(0x0303, [0x0304], SPEC_CIPHERS, SPEC_EXTENSIONS, "h2", []).endswith("_6d807ffa2a79")


def test_ja4_alpn_sni_version_and_empty_lists() -> None:
    assert fingerprints.ja4(0x0301, [], [0x002F], [0x000B], None, []).startswith("t10i0101" + "00_")
    assert fingerprints.ja4(0x0303, [], [0x002F], [0x0000], "http/1.1", [])[:10] == "t12d0101h1"
    assert fingerprints.ja4(0x0300, [], [], [], None, []) == "ts3i000000_000000000000_000000000000"
    # A first ALPN value that starts or ends with a non-alphanumeric character: the first and last hex digits.
    assert fingerprints.ja4(0x0303, [], [0x002F], [0x0010], "h2-", [])[8:10] == "6d"


def test_ja3_of_the_published_example() -> None:
    # Salesforce's JA3 README: "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
    prints = fingerprints.client(769, [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4], [0, 10, 11],
                                 [23, 24, 25], [0], [], None, [])
    assert prints.ja3_full == "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
    assert prints.ja3 == "ada70206e40642a3e4461f35503241d5"


def test_ja3_and_ja3s_leave_grease_out_and_keep_empty_lists() -> None:
    prints = fingerprints.client(771, [0x1A1A, 4865], [0x2A2A, 0, 0x3A3A], [0x4A4A, 29], [], [0x5A5A, 772], "h2", [])
    assert prints.ja3_full == "771,4865,0,29,"
    assert fingerprints.server(771, 4865, [0xDADA, 43, 51]) == (fingerprints.server(771, 4865, [43, 51])[0],
                                                                  "771,4865,43-51")



def test_a_client_hello_seen_again_gets_its_own_fingerprints_each_time() -> None:
    # Given the specification's hello and variants of it that each differ in a single input, asked in turn and
    # then again (fingerprints.client remembers the hellos it has fingerprinted)
    base = {"version": 0x0303, "ciphers": SPEC_CIPHERS, "extensions": SPEC_EXTENSIONS, "groups": [0x001D],
            "point_formats": [0], "supported_versions": [0x0304], "alpn": "h2", "signature_algorithms": SPEC_SIGNATURES}
    changes = {"version": 0x0301, "ciphers": SPEC_CIPHERS[:-1], "extensions": SPEC_EXTENSIONS[1:], "groups": [0x0017],
               "point_formats": [1], "supported_versions": [0x0303], "alpn": "http/1.1",
               "signature_algorithms": SPEC_SIGNATURES[:2]}
    hellos = [base] + [{**base, name: value} for name, value in changes.items()]
    for hello in hellos + hellos:
        prints = fingerprints.client(**hello)
        # Then each gets its own hello's fingerprints, as computed afresh
        assert prints.ja3_full == fingerprints.ja3_string(
            hello["version"], hello["ciphers"], hello["extensions"], hello["groups"], hello["point_formats"])
        assert prints.ja4 == fingerprints.ja4(
            hello["version"], hello["supported_versions"], hello["ciphers"], hello["extensions"], hello["alpn"],
            hello["signature_algorithms"])
    assert len({(prints.ja3_full, prints.ja4) for prints in map(lambda hello: fingerprints.client(**hello), hellos)}) \
        == len(hellos)
