"""tsharkpost explain: the answers the issue pins, in every numeric form, with their sources; unknown codes say so."""

from __future__ import annotations

import json

import pytest

from tsharkpost.cli import main
from tsharkpost.errors import NotACode
from tsharkpost.explain.lookup import explain
from tsharkpost.plugin import tables as facts


def run(capsys: pytest.CaptureFixture[str], *codes: str) -> tuple[int, str, str]:
    code = main(["explain", *codes])
    out, err = capsys.readouterr()
    return code, out, err


def test_alert_43_with_rfc_status_and_windows_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "43")
    assert code == 0
    assert out.startswith("43: unsupported_certificate [tls alert; documented]\n")
    assert "TLS1_ALERT_UNSUPPORTED_CERT (schannel.h)" in out and "status               assigned" in out
    assert "returns 0x80090327 SEC_E_CERT_UNKNOWN to the receiving application" in out
    assert "source               RFC 8446 §6.2; RFC 5246 §7.2.2" in out


def test_252_is_no_alert_but_a_community_reported_error_state() -> None:
    alert, state = explain("252")
    assert (alert.kind, alert.title) == ("tls_alert", "unassigned alert 252")
    assert (state.kind, state.provenance) == ("schannel_error_state", "community-reported")
    assert state.details["meaning"].startswith("a certificate in the server's chain is signed with a signature "
                                               "algorithm the client will not accept")
    assert state.details["reported with alerts"] == "40 43"
    assert "learn.microsoft.com/en-us/archive/blogs/friis/tls-1-2-handshake-failure" in state.source


@pytest.mark.parametrize("typed", ["0x80090325", "0X80090325", "2148074277", "-2146893019", "SEC_E_UNTRUSTED_ROOT"])
def test_untrusted_root_in_every_form(typed: str) -> None:
    (answer,) = explain(typed)
    assert (answer.kind, answer.title, answer.provenance) == ("hresult", "SEC_E_UNTRUSTED_ROOT", "documented")
    assert answer.details["forms"] == "0x80090325 = 2148074277 unsigned = -2146893019 signed"
    assert answer.details["message"] == "The certificate chain was issued by an authority that is not trusted."
    assert answer.details["from alerts"].endswith("48") and "MS-ERREF" in answer.source


def test_capi2_style_hex_without_prefix() -> None:
    (answer,) = explain("800B0109")
    assert answer.title == "CERT_E_UNTRUSTEDROOT"
    # eight digits without a letter: CAPI2's hex reading when the table knows it (80090325 has no decimal one)
    assert [answer.title for answer in explain("80090325")] == ["SEC_E_UNTRUSTED_ROOT"]
    assert explain("12345678")[0].kind == "unknown"  # 0x12345678 is no error code: decimal reading only


def test_hex_above_32_bits_is_refused() -> None:
    with pytest.raises(NotACode, match="above the 32-bit range"):
        explain("0x180090325")


def test_schannel_event_36888(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "36888")
    assert code == 0 and out.startswith("36888: Schannel 36888: fatal alert generated [schannel event; documented]")
    assert "fields   AlertDesc ErrorState TargetName" in out and "this host generated the alert" in out
    assert "fox-it/dissect.etl" in out


def test_md2_oid_never_offered_in_tls() -> None:
    (answer,) = explain("1.2.840.113549.1.1.2")
    assert (answer.kind, answer.title) == ("oid", "md2WithRSAEncryption")
    assert answer.details["weakness"] == "error" and answer.details["TLS signature_algorithms"].startswith("none")
    (sha256,) = explain("1.2.840.113549.1.1.11")
    assert sha256.details["TLS signature_algorithms"] == "rsa_pkcs1_sha256"


def test_unknown_codes_say_so_rather_than_guess(capsys: pytest.CaptureFixture[str]) -> None:
    (answer,) = explain("0x80091234")
    assert answer.kind == "unknown" and answer.provenance == "unknown"
    (answer,) = explain("999")
    assert answer.kind == "unknown" and "Microsoft publishes no list" in answer.details["meaning"]
    alert, state = explain("200")  # neither an assigned alert nor a reported error state
    assert alert.title == "unassigned alert 200" and state.provenance == "unknown"
    (answer,) = explain("1.2.3.4.5")
    assert answer.kind == "unknown"


def test_not_a_code_is_one_line_and_the_rest_answered(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "4 3", "43")
    assert code == 3
    assert err == "tsharkpost: ERROR: '4 3': not a number, a hex code (0x...), an OID or a symbol name\n"
    assert out.startswith("43: unsupported_certificate")


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--format", "json", "43", "-2146893019"]) == 0
    answers = json.loads(capsys.readouterr().out)["answers"]
    assert [(a["kind"], a["title"]) for a in answers] == [("tls_alert", "unsupported_certificate"),
                                                          ("hresult", "SEC_E_UNTRUSTED_ROOT")]


def test_every_fact_row_has_a_source_and_a_provenance() -> None:
    for row in facts.windows_errors().values():
        assert row["source"] and row["provenance"] in ("documented", "unverified")
        assert row["symbol"].split("_")[0] in ("SEC", "NTE", "CRYPT", "TRUST", "CERT")
    for row in facts.schannel_error_states().values():
        assert row["source"] and row["provenance"] in ("documented", "community-reported")
    for row in facts.windows_events().values():
        assert row["source"] and row["evidence"] in ("tls", "certificate")
    # The alerts Schannel maps to HRESULTs on receipt are assigned alerts
    for row in facts.windows_errors().values():
        assert all(int(code) in facts.alerts() for code in row["alerts_on_receipt"].split())


def test_alert_names_the_schannel_events_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    (alert,) = [answer for answer in explain("43") if answer.kind == "tls_alert"]
    assert alert.details["Schannel events"] == ("36888 when this host generated it, 36887 when it received it "
                                                "(AlertDesc 43)")
    # The ids follow the alert_role column of windows_events.tsv, not a copy of it
    table = {key: dict(row, alert_role="") if key == ("schannel", 36888) else row
             for key, row in facts.windows_events().items()}
    table[("schannel", 36999)] = dict(facts.windows_events()[("schannel", 36888)], event_id="36999")
    monkeypatch.setattr(facts, "windows_events", lambda: table)
    (alert,) = [answer for answer in explain("43") if answer.kind == "tls_alert"]
    assert alert.details["Schannel events"] == ("36999 when this host generated it, 36887 when it received it "
                                                "(AlertDesc 43)")


@pytest.mark.parametrize("typed", ["4_3", "\u0664\u0663", "1_000", "\u0661.\u0662.\u0663"])
def test_only_ascii_digits_make_a_number(typed: str) -> None:
    # int() reads "4_3" as 43 and Arabic-Indic digits as ASCII ones; none of them is a code as logs write it
    with pytest.raises(NotACode, match="not a number, a hex code"):
        explain(typed)


def test_what_was_typed_is_echoed_on_one_line_escaped_and_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a code with a line break around it (pasted from a log), and a very long unknown name
    name = "A" * 5000
    code, out, err = run(capsys, "43\n", "\r36888", name)
    assert code == 0 and err == ""
    # Then each answer's first line starts with the code as read, and the long name is shown cut, once per field
    firsts = [block.splitlines()[0] for block in out.split("\n\n") if block]
    assert firsts[0].startswith("43: unsupported_certificate [") and firsts[1].startswith("36888: Schannel 36888")
    assert firsts[2] == f"{'A' * 80}... [5,000 characters]: {'A' * 80}... [5,000 characters] [unknown; unknown]"
    assert main(["explain", "--format", "json", "43\n"]) == 0
    assert json.loads(capsys.readouterr().out)["answers"][0]["code"] == "43"


def test_a_huge_number_is_out_of_range_not_unreadable() -> None:
    with pytest.raises(NotACode, match=r"^'9{80}'\.\.\. \[5,000 characters\]: above the 32-bit range$"):
        explain("9" * 5000)
    with pytest.raises(NotACode, match="below the 32-bit signed range"):
        explain("-" + "9" * 20)
    assert explain("+43")[0].title == "unsupported_certificate"


def test_every_code_of_the_table_in_every_form() -> None:
    # Every Windows error code of windows_errors.tsv, as hex, unsigned and signed decimal, and by symbol; the
    # success codes (SEC_I_*, 0x0009xxxx) are small positive numbers, the same signed and unsigned
    for value, row in facts.windows_errors().items():
        signed = value - (1 << 32) if value >= 1 << 31 else value
        for typed in (f"0x{value:08X}", str(value), str(signed), row["symbol"]):
            assert row["symbol"] in [answer.title for answer in explain(typed) if answer.kind == "hresult"], typed
    (answer,) = explain("590610")
    assert answer.details["forms"] == "0x00090312 = 590610 unsigned = 590610 signed"


@pytest.mark.parametrize("word", ["A", "x", "_x", "SEC_E_NO_SUCH_CODE"])
def test_any_word_that_is_no_symbol_is_answered_unknown(word: str) -> None:
    # README: a word that is no known symbol is answered as unknown (exit 0), however short
    (answer,) = explain(word)
    assert (answer.kind, answer.title) == ("unknown", word)
