"""capture/wire.py: the plugin's tpost.tls tokens -> Records, by the rules of the TLS tree it stands for."""

from __future__ import annotations

from tsharkpost.capture.wire import records
from tsharkpost.plugin import fields as F


def test_hello_facts_keep_code_name_and_extension_scope() -> None:
    line = ("R c22 v769 l60 H t1 VTLS%201.2%20(0x0303) N0a0b CTLS_AES_128_GCM_SHA256%20(0x1301) "
            "CReserved%20(GREASE)%20(0x0a0a) xserver_name%20(0) sshop.example.net "
            "xsupported_versions%20(43) uTLS%201.3%20(0x0304) xkey_share%20(51) kx25519%20(29)")
    [record] = records(line)
    assert (record.content_type, record.length, record.opaque, record.wire_encrypted) == (22, 60, False, False)
    [hello] = record.handshakes
    assert hello.type == 1
    assert hello.values[F.HANDSHAKE_VERSION] == ["0x0303"]
    assert hello.values[F.RANDOM] == ["0a:0b"]
    assert hello.named(F.CIPHER_SUITE) == [(0x1301, "TLS_AES_128_GCM_SHA256"), (0x0a0a, None)]
    assert hello.values[F.EXTENSION_TYPE] == ["0", "43", "51"]
    assert hello.extensions[F.EXTENSION_SUPPORTED_VERSIONS] == {F.SUPPORTED_VERSION: ["0x0304"]}
    assert hello.extensions[51] == {F.KEY_SHARE_GROUP: ["29"]}
    assert hello.named(F.KEY_SHARE_GROUP) == [(29, "x25519")]


def test_hostile_server_name_is_unescaped_whole() -> None:
    [record] = records("R c22 l9 H t1 s%00a%20b%0A%25%FF")
    assert record.handshakes[0].values[F.SERVER_NAME] == ["\x00a b\n%\ufffd"]


def test_sslv2_record_is_its_own_message_and_alerts_without_values_are_encrypted() -> None:
    sslv2, alert, opaque = records("R v2 l40 t4 VSSL%202.0%20(0x0002) R c21 l26 A R o23 l19")
    assert sslv2.content_type == 22 and sslv2.handshakes[0].type == 2  # SERVER-HELLO -> ServerHello
    assert sslv2.handshakes[0].values[F.HANDSHAKE_VERSION] == ["0x0002"]
    assert alert.alert_encrypted and alert.alert_level is None
    assert (opaque.content_type, opaque.opaque, opaque.wire_encrypted) == (23, True, True)


def test_facts_of_messages_not_read_are_left_out() -> None:
    [record] = records("R c22 l30 H t11 H t14")
    assert [(h.type, h.values) for h in record.handshakes] == [(11, {}), (14, {})]
