"""Connection record -> outcome and ranked probable causes; failed attempts linked to their retries.

Judgements about certificates and handshakes are the plugin's (its findings);
this module only decides how the connection ended and puts the findings that
explain it into words, with the frames that show it.
"""

from __future__ import annotations


import dataclasses

from tsharkpost.capture.connection import Connection
from tsharkpost.plugin import tables as facts
from tsharkpost.plugin.tables import PLUGIN_ERROR_CHECK, Severity, check_weight
from tsharkpost.record.model import Cause, CauseKind, Certificate, Finding, Outcome, Side

# A retry within this many seconds of a failed attempt, from the same client to the
# same server, offering a lower maximum version (or TLS_FALLBACK_SCSV), is a fallback.
FALLBACK_WINDOW_SECONDS = 5.0
CERTIFICATE_ALERTS = {42, 43, 44, 45, 46, 48, 49}  # alerts that answer a certificate


def outcome(conn: Connection) -> Outcome:
    if not conn.is_tls:
        return Outcome.NOT_TLS
    if conn.established:
        return Outcome.ESTABLISHED
    if conn.server_hello is None and conn.plaintext_answer is not None:
        return Outcome.SERVER_ANSWERED_PLAINTEXT  # before alerts: the client's alert answers the plaintext
    fatal = conn.first_fatal_alert
    if fatal is not None:
        return Outcome.CLIENT_FATAL_ALERT if fatal.sender is Side.CLIENT else Outcome.SERVER_FATAL_ALERT
    if conn.missing_side is not None:
        return Outcome.INCOMPLETE  # one side's packets are not in the capture: no verdict on the handshake
    if not conn.saw_syn and conn.client_hello is None and conn.server_hello is None \
            and conn.certificate_flight_end is None:
        return Outcome.INCOMPLETE  # started mid-connection, past the handshake: an alert here says nothing of it
    if any(alert.encrypted for alert in conn.alerts):
        return Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE
    if conn.client_hello is None and not conn.saw_syn:
        return Outcome.INCOMPLETE  # started mid-connection
    teardown = conn.teardown
    if teardown is None:
        return Outcome.INCOMPLETE  # ended before an outcome
    reset = teardown.kind == "RST"
    if teardown.by is Side.SERVER:
        if conn.server_hello is None:
            return Outcome.SERVER_RESET_BEFORE_SERVER_HELLO if reset else Outcome.SERVER_CLOSED_BEFORE_SERVER_HELLO
        return Outcome.SERVER_RESET_AFTER_SERVER_HELLO if reset else Outcome.SERVER_CLOSED_AFTER_SERVER_HELLO
    if conn.server_hello is None and conn.certificate_flight_end is None:
        return Outcome.NO_SERVER_RESPONSE
    if conn.certificate_flight_end is not None and Side.CLIENT not in conn.ccs_from:
        return Outcome.CLIENT_RESET if reset else Outcome.CLIENT_SILENT_CLOSE
    return Outcome.CLIENT_CLOSED_DURING_HANDSHAKE


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _weight(finding: Finding) -> int:
    return check_weight(finding.check)


def _certificate_causes(conn: Connection, evidence: str) -> list[Cause]:
    """One cause per certificate with error findings, the most decisive first (the seed's check leads)."""
    found = []
    for cert in conn.certificates:
        errors = sorted((f for f in conn.certificate_findings(cert) if f.severity >= Severity.ERROR), key=_weight)
        if errors:
            found.append((_weight(errors[0]), cert.index, Cause(
                0, CauseKind.CERTIFICATE, _certificate_cause(cert, errors[0], conn),
                (evidence, *(f.message for f in errors)), tuple(f.check for f in errors))))
    return [cause for _, _, cause in sorted(found, key=lambda item: item[:2])]


def _certificate_cause(cert: Certificate, finding: Finding, conn: Connection) -> str:
    label = cert.label
    algorithm = cert.sigalg_name or cert.sigalg_oid
    if finding.check == "sigalg_not_offered":
        return (f"{label} is signed with {algorithm}, which its ClientHello did not offer "
                f"(RFC {'8446 4.2.3' if conn.version == 'TLS 1.3' else '5246 7.4.2'})")
    if finding.check == "weak_signature":
        return f"{label} is signed with {algorithm}"
    if finding.check in ("weak_rsa_key", "weak_dsa_key", "weak_ec_key"):
        return f"{label} has a {cert.key_bits}-bit {cert.key_type.upper()} key"
    if finding.check == "name_mismatch":
        return f"{label} does not name '{conn.server_name}' (SAN {', '.join(cert.san) or 'none'})"
    return f"{label}: {finding.message}"


def _expired(conn: Connection) -> list[Certificate]:
    """Certificates not valid at the time the chain was sent (judged on capture time, never today)."""
    if conn.certificate_flight_end is None:
        return []
    sent = conn.certificate_flight_end[1]
    return [cert for cert in conn.certificates if cert.not_after and not cert.valid_at(sent)]


def causes(conn: Connection) -> list[Cause]:
    """Ranked probable causes of a failure, each with its evidence."""
    found: list[Cause] = []
    result = conn.outcome
    chain = f"the chain in frame {conn.certificate_frame}" if conn.certificate_frame else "the server's flight"
    teardown = conn.teardown
    server_alert = next((alert for alert in conn.alerts if alert.encrypted and alert.sender is Side.SERVER), None) \
        if result is Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE else None
    if server_alert is not None and server_alert is next(alert for alert in conn.alerts if alert.encrypted):
        # The server's alert says nothing of the client judging the chain: no certificate cause rests on it.
        found.append(Cause(0, CauseKind.ALERT, "the server sent an encrypted alert during the handshake (which "
                           "one needs a key log)", (f"server sent an encrypted alert in frame {server_alert.frame}",)))
    elif result in (Outcome.CLIENT_SILENT_CLOSE, Outcome.CLIENT_RESET, Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE):
        if result is Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE:
            alert = next(alert for alert in conn.alerts if alert.encrypted)
            hung_up = f"client sent an encrypted alert in frame {alert.frame} right after {chain}"
            if conn.encrypted_handshake and not conn.certificates:
                hung_up += " (TLS 1.3: the chain is encrypted; give a key log to see it)"
        else:
            how = "hung up" if teardown and teardown.kind == "FIN" else "reset the connection"
            hung_up = f"client {how} {_ms(teardown.seconds_after if teardown else None)} after {chain} " \
                      f"(frame {teardown.frame if teardown else '?'}), without an alert"
        found += _certificate_causes(conn, hung_up)
        for cert in _expired(conn):
            found.append(Cause(0, CauseKind.EXPIRED_CERTIFICATE,
                               f"{cert.label} is not valid at capture time (until {cert.not_after})", (hung_up,)))
        if not found and not _plugin_failures(conn):  # "nothing wrong" only from a plugin that checked it all
            found.append(Cause(0, CauseKind.UNEXPLAINED_REFUSAL,
                               "client refused the server's certificate flight; the plugin found nothing wrong "
                               "with the chain (check trust: unknown CA, revocation, policy)", (hung_up,)))
    elif result in (Outcome.CLIENT_FATAL_ALERT, Outcome.SERVER_FATAL_ALERT):
        fatal = conn.first_fatal_alert
        assert fatal is not None
        fact = facts.alerts().get(fatal.code or -1)
        said = f"{fatal.sender.value} sent fatal alert {fatal.code} {fatal.name} in frame {fatal.frame}"
        if fatal.sender is Side.CLIENT and fatal.code in CERTIFICATE_ALERTS:
            found += _certificate_causes(conn, said)
            for cert in _expired(conn):
                found.append(Cause(0, CauseKind.EXPIRED_CERTIFICATE, f"{cert.label} is not valid at capture time "
                                   f"(valid {cert.not_before} to {cert.not_after})", (said,)))
        if fatal.sender is Side.SERVER and conn.server_hello is None and fatal.code in (40, 70, 71):
            offered = conn.client_hello
            detail = (f"client offered {offered.cipher_suite_count} cipher suites up to {offered.max_version}"
                      if offered else "no ClientHello seen")
            found.append(Cause(0, CauseKind.NO_COMMON_PARAMETERS, f"server found no protocol version or cipher "
                               f"suite in common with the client ({fatal.name})", (said, detail)))
        found.append(Cause(0, CauseKind.ALERT, f"{fatal.name}: {fact.meaning}" if fact else f"alert {fatal.code}",
                           (said,)))
    elif result is Outcome.INCOMPLETE:
        found += _capture_gap(conn)
    elif result is Outcome.SERVER_ANSWERED_PLAINTEXT and conn.plaintext_answer is not None:
        frame, line = conn.plaintext_answer
        what = "HTTP" if line.startswith("HTTP/") or line.startswith("<") else f"'{line}'"
        hello = conn.client_hello.frame if conn.client_hello else "?"
        found.append(Cause(0, CauseKind.PLAINTEXT_ANSWER, f"the server answered in plaintext ({what}) - TLS client "
                           "pointed at a non-TLS port", (f"frame {frame}: '{line}' from the server, after the "
                                                         f"ClientHello in frame {hello}",)))
    elif result.failed:
        evidence = (f"{teardown.kind} from the {teardown.by.value} in frame {teardown.frame} after "
                    f"{teardown.after or 'no TLS message'}",) if teardown else ()
        found.append(Cause(0, CauseKind.TEARDOWN, result.value.replace("_", " "), evidence))
    for finding in conn.findings:
        if finding.cert_index is None and finding.severity >= Severity.ERROR and finding.check != "fatal_alert":
            found.append(Cause(0, CauseKind.FINDING, finding.message, (f"frame {finding.frame}",), (finding.check,)))
    failures = _plugin_failures(conn)
    if failures:  # first, failed or not: every other word about this connection may be missing something
        frames = ", ".join(str(finding.frame) for finding in failures)
        found.insert(0, Cause(0, CauseKind.PLUGIN_ERROR, f"the plugin failed on frame{'s' * (len(failures) > 1)} "
                              f"{frames} of this connection, so its checks are incomplete (a bug: please report it)",
                              tuple(f"frame {finding.frame}: {finding.message}" for finding in failures),
                              (PLUGIN_ERROR_CHECK,)))
    return [dataclasses.replace(cause, rank=rank) for rank, cause in enumerate(found, start=1)]


def _capture_gap(conn: Connection) -> list[Cause]:
    """What the capture lacks, in terms of what it holds (a cause never claims evidence the capture does not)."""
    missing = conn.missing_side
    if missing is not None:
        present = Side.SERVER if missing is Side.CLIENT else Side.CLIENT
        seen = "a TLS answer to its ClientHello" if present is Side.SERVER else (
            "ChangeCipherSpec or encrypted records that answer the server's flight"
            if Side.CLIENT in conn.ccs_from or Side.CLIENT in conn.ciphertext_from else "data after its SYN")
        return [Cause(0, CauseKind.CAPTURE_GAP, f"the {missing.value}'s side is not in the capture",
                      (f"{conn.packets_from[present]} frames from the {present.value} (it sent {seen}), "
                       f"none from the {missing.value}",))]
    if not conn.saw_syn and conn.client_hello is None and conn.server_hello is None:
        return [Cause(0, CauseKind.CAPTURE_GAP, "the capture starts after the handshake: it holds no verdict on it",
                      (f"first frame {conn.first_frame}: no SYN, no ClientHello, no ServerHello",))]
    if conn.teardown is None:
        return [Cause(0, CauseKind.CAPTURE_GAP, "the capture ends before the connection's outcome",
                      ("no fatal alert, FIN or RST in the capture",))]
    return []


def _plugin_failures(conn: Connection) -> list[Finding]:
    return [finding for finding in conn.findings if finding.check == PLUGIN_ERROR_CHECK]


def find_retry(failed: Connection, candidates: list[Connection]) -> Connection | None:
    """The connection that retried a failed attempt soon after, with a lower maximum version or the SCSV."""
    tried = failed.client_hello.max_version if failed.client_hello else None
    for retry in sorted(candidates, key=lambda conn: conn.first_time):
        hello = retry.client_hello
        if (retry is failed or hello is None or retry.fallback_of is not None
                or not 0 <= retry.first_time - failed.last_time <= FALLBACK_WINDOW_SECONDS
                or (retry.client, retry.server, retry.server_port) != (failed.client, failed.server, failed.server_port)):
            continue
        lower = bool(tried and hello.max_version and facts.version_rank(hello.max_version) < facts.version_rank(tried))
        if lower or "TLS_FALLBACK_SCSV" in hello.notable_offers:
            return retry
    return None


def classify(conn: Connection, candidates: list[Connection]) -> Connection:
    """Decide the outcome and causes of a finished connection; link it to the retry among candidates."""
    conn.outcome = outcome(conn)
    conn.causes = causes(conn)
    retry = find_retry(conn, candidates) if conn.outcome.failed else None
    if retry is not None and retry.client_hello is not None:
        conn.retried_by, retry.fallback_of = retry.stream, conn.stream
        tried = conn.client_hello.max_version if conn.client_hello else "?"
        conn.causes.append(Cause(len(conn.causes) + 1, CauseKind.FALLBACK,
                                 f"client fell back to {retry.client_hello.max_version} "
                                 f"(stream {retry.stream}, {outcome(retry).value})",
                                 (f"retry {_ms(retry.first_time - conn.last_time)} later, offering "
                                  f"{retry.client_hello.max_version} instead of {tried}",)))
    return conn
