"""Connection record -> outcome and ranked probable causes; failed attempts linked to their retries.

Judgements about certificates and handshakes are the plugin's (its findings);
this module only decides how the connection ended and puts the findings that
explain it into words, with the frames that show it.
"""

from __future__ import annotations


import dataclasses

from tsharkpost.capture.connection import Connection, tls13_family
from tsharkpost.capture.defaults import UDP_TIMEOUT_SECONDS
from tsharkpost.plugin import messages
from tsharkpost.plugin import tables as facts
from tsharkpost.plugin.tables import PLUGIN_ERROR_CHECK, Severity, check_weight
from tsharkpost.record.model import Cause, CauseKind, Certificate, Finding, Outcome, Side, stream_id

# A retry within this many seconds of a failed attempt, from the same client to the
# same server, offering a lower maximum version (or TLS_FALLBACK_SCSV), is a fallback.
FALLBACK_WINDOW_SECONDS = 5.0
CERTIFICATE_ALERTS = {42, 43, 44, 45, 46, 48, 49}  # alerts that answer a certificate
VALIDITY_CHECKS = ("expired_certificate", "not_yet_valid_certificate")  # the plugin's judgement of validity


def outcome(conn: Connection, udp_timeout: float = UDP_TIMEOUT_SECONDS) -> Outcome:
    if not conn.is_tls:
        return Outcome.NOT_TLS
    if conn.established:
        return Outcome.ESTABLISHED
    if conn.server_hello is None and conn.plaintext_answer is not None:
        return Outcome.SERVER_ANSWERED_PLAINTEXT  # before alerts: the client's alert answers the plaintext
    crypto = conn.crypto_error  # QUIC's fatal alert: a CONNECTION_CLOSE with CRYPTO_ERROR
    if crypto is not None:
        return Outcome.CLIENT_CRYPTO_ERROR if crypto.sender is Side.CLIENT else Outcome.SERVER_CRYPTO_ERROR
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
    if conn.transport != "tcp":
        return _udp_outcome(conn, udp_timeout)
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


def _udp_outcome(conn: Connection, udp_timeout: float) -> Outcome:
    """A DTLS or QUIC flow that neither completed nor sent a fatal alert: UDP has no FIN, so a silence that lasts
    the UDP timeout within the capture is the answer (a shorter one: the capture ended too early to say); QUIC's
    CONNECTION_CLOSE (not a CRYPTO_ERROR) is its teardown."""
    if conn.server_hello is None:
        if conn.hello_verify_frame is not None and not conn.hello_verify_answered:
            waited = _waited(conn, conn.hello_verify_time, udp_timeout)
            return Outcome.HELLO_VERIFY_UNANSWERED if waited else Outcome.INCOMPLETE
        if _no_common_quic_version(conn):
            return Outcome.VERSION_NEGOTIATION_FAILED
        if conn.retry_frame is not None and not conn.retry_answered:
            return Outcome.RETRY_UNANSWERED if _waited(conn, conn.retry_time, udp_timeout) else Outcome.INCOMPLETE
        if conn.packets_from[Side.SERVER] == 0:
            return Outcome.NO_SERVER_RESPONSE if _waited(conn, conn.first_time, udp_timeout) else Outcome.INCOMPLETE
    teardown = conn.teardown
    if teardown is None:
        return Outcome.INCOMPLETE  # the capture ends before an outcome
    return Outcome.CONNECTION_CLOSE_BEFORE_HANDSHAKE  # QUIC's teardown: a CONNECTION_CLOSE (DTLS has none)


def _no_common_quic_version(conn: Connection) -> bool:
    """QUIC: the server's Version Negotiation lists none of the versions the client's long headers used."""
    if conn.version_negotiation is None:
        return False
    _, offered = conn.version_negotiation
    return not set(offered) & set(conn.quic_versions_asked)


def _versions(versions: tuple[int, ...]) -> str:
    return ", ".join(facts.quic_version_label(version) for version in versions) or messages.template("versions.none")


def _quic_causes(conn: Connection, result: Outcome) -> list[Cause]:
    """QUIC's failures before any handshake: no common version, a Retry never followed, a CONNECTION_CLOSE."""
    if result is Outcome.VERSION_NEGOTIATION_FAILED and conn.version_negotiation is not None:
        frame, offered = conn.version_negotiation
        return [Cause(0, CauseKind.NO_COMMON_PARAMETERS, messages.template("cause.version_negotiation_failed"),
                      (messages.say("evidence.version_negotiation_failed", asked=_versions(conn.quic_versions_asked),
                                    frame=frame, offered=_versions(offered)),))]
    if result is Outcome.RETRY_UNANSWERED:
        return [Cause(0, CauseKind.TEARDOWN, messages.template("cause.retry_unanswered"),
                      (messages.say("evidence.retry_unanswered", frame=conn.retry_frame,
                                    seconds=_silence(conn, conn.retry_time)),))]
    teardown, code = conn.teardown, conn.close_code
    if teardown is None or code is None:
        return []
    values: dict[str, object] = {"side": teardown.by.value, "frame": teardown.frame,
                                 "code": f"0x{code:02x}" if code >= 0 else "?",
                                 "after": teardown.after or messages.template("evidence.no_message")}
    kind = "application_close" if conn.close_application else "transport_close"
    fact = None if conn.close_application else facts.quic_transport_errors().get(code)
    values["name"] = fact.name if fact else messages.template(f"{kind}.unnamed")
    summary = (messages.say("cause.transport_close", meaning=fact.meaning, **values) if fact
               else messages.say(f"cause.{kind}.unnamed", **values))
    return [Cause(0, CauseKind.TEARDOWN, summary, (messages.say(f"evidence.{kind}", **values),))]


def _waited(conn: Connection, since: float, udp_timeout: float) -> bool:
    """Whether the client's wait since `since` lasted the UDP timeout within the capture, or the client ended it
    itself (its QUIC CONNECTION_CLOSE: it gave up)."""
    return conn.teardown is not None or (conn.capture_end or conn.last_time) - since >= udp_timeout


def _silence(conn: Connection, since: float) -> str:
    """Seconds from `since` (the client's first unanswered datagram, or the HelloVerifyRequest) to the capture's
    end, as causes show them."""
    return _seconds(max(0.0, (conn.capture_end or conn.last_time) - since))


def _seconds(seconds: float) -> str:
    """Seconds to the millisecond; a shorter time that is not none to its first digit ("0.0004", never "0"); a
    million or more (a --udp-timeout meant as "never") to six digits ("1e+30", not 31 of them)."""
    if seconds >= 1e6:
        return f"{seconds:.6g}"
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{seconds:.1g}" if text == "0" and seconds > 0 else text


def _weight(finding: Finding) -> int:
    return check_weight(finding.check)


def _certificate_causes(conn: Connection, evidence: str, chain: list[Certificate] | None = None) -> list[Cause]:
    """One cause per certificate of a chain (the server's unless given) with error findings, the most decisive
    first (the seed's check leads). Validity is the plugin's judgement too (expired_certificate, ...), and an
    intermediate out of date (a warning: clients that find no other path refuse it) is a cause as well."""
    found = []
    for cert in conn.certificates if chain is None else chain:
        errors = sorted((f for f in conn.certificate_findings(cert) if f.severity >= Severity.ERROR
                         or (f.check in VALIDITY_CHECKS and f.severity >= Severity.WARNING)), key=_weight)
        if errors:
            kind = CauseKind.EXPIRED_CERTIFICATE if errors[0].check in VALIDITY_CHECKS else CauseKind.CERTIFICATE
            found.append((_weight(errors[0]), cert.index, Cause(
                0, kind, _certificate_cause(cert, errors[0], conn),
                (evidence, *(f.message for f in errors)), tuple(f.check for f in errors))))
    return [cause for _, _, cause in sorted(found, key=lambda item: item[:2])]


def certificate_values(cert: Certificate) -> dict[str, object]:
    """What every message names a certificate by: {cert}, {index}, {role}, {name} (as the plugin fills them)."""
    name = cert.subject_cn or cert.subject or messages.template("name.none")
    values: dict[str, object] = {"index": cert.index, "role": messages.role(cert.index, cert.self_signed, cert.sender),
                                 "name": messages.cut(name, messages.NAME_BYTES)}
    values["cert"] = messages.fill(messages.template("cert"), values)
    return values


def _severity_name(finding: Finding) -> str:
    """The severities.tsv name of a finding's severity (the variant its messages are picked by)."""
    try:
        return Severity(finding.severity).name.lower()
    except ValueError:
        return str(finding.severity)


def _certificate_cause(cert: Certificate, finding: Finding, conn: Connection) -> str:
    """The finding's sentence, from the template the plugin fills for it (lua/tables/messages.tsv)."""
    values = certificate_values(cert)
    variants: tuple[str, ...] = ()
    check = finding.check
    if check in ("sigalg_not_offered", "weak_signature"):
        values["algorithm"] = facts.signature_label(cert.sigalg_oid, cert.sigalg_name)
        if check == "sigalg_not_offered" and tls13_family(conn.version):  # RFC 8446's certificate rules
            variants = ("tls13",)
    elif check in ("weak_rsa_key", "weak_dsa_key", "weak_ec_key"):
        values["bits"] = cert.key_bits if cert.key_bits is not None else "?"
        values["curve"] = cert.key_curve or messages.template("curve.unnamed")
    elif check in VALIDITY_CHECKS:
        return finding.message  # the plugin's sentence: it names the frame's time it judged at
    elif check == "name_mismatch":
        values["sni"] = messages.cut(conn.server_name or "", messages.NAME_BYTES)
        values["names"] = messages.listed(cert.san or ((cert.subject_cn,) if cert.subject_cn else ()), 3)
    else:
        return messages.say("cause.certificate_other", cert=values["cert"], message=finding.message)
    text = messages.pick(check, "text", *variants, _severity_name(finding))
    if text is None:
        return messages.say("cause.certificate_other", cert=values["cert"], message=finding.message)
    return messages.cut(messages.fill(text, values), messages.TEXT_BYTES)


def causes(conn: Connection, udp_timeout: float = UDP_TIMEOUT_SECONDS) -> list[Cause]:
    """Ranked probable causes of a failure, each with its evidence."""
    found: list[Cause] = []
    result = conn.outcome
    chain = (messages.say("chain.in_frame", frame=conn.certificate_frame) if conn.certificate_frame
             else messages.template("chain.flight"))
    teardown = conn.teardown
    server_alert = next((alert for alert in conn.alerts if alert.encrypted and alert.sender is Side.SERVER), None) \
        if result is Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE else None
    if server_alert is not None and server_alert is next(alert for alert in conn.alerts if alert.encrypted):
        # The server's alert says nothing of the client judging the chain: no certificate cause rests on it.
        found.append(Cause(0, CauseKind.ALERT, messages.template("cause.server_encrypted_alert"),
                           (messages.say("evidence.server_encrypted_alert", frame=server_alert.frame),)))
    elif result in (Outcome.CLIENT_SILENT_CLOSE, Outcome.CLIENT_RESET, Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE):
        if result is Outcome.ENCRYPTED_ALERT_IN_HANDSHAKE:
            alert = next(alert for alert in conn.alerts if alert.encrypted)
            hung_up = messages.say("evidence.encrypted_alert", frame=alert.frame, chain=chain)
            if conn.encrypted_handshake and not conn.certificates:
                hung_up = messages.say("evidence.encrypted_chain", evidence=hung_up)
        else:
            # The plugin's silent_teardown sentence, for the connection's first FIN or RST
            how = "fin" if teardown and teardown.kind == "FIN" else "rst"
            hung_up = messages.fill(messages.template(f"silent_teardown.{how}.text"), {
                "side": Side.CLIENT.value, "delay": messages.delay(teardown.seconds_after if teardown else None),
                "chain": chain, "frame": teardown.frame if teardown else "?"})
        found += _certificate_causes(conn, hung_up)
        unread = _chain_unread(conn)
        if not found and unread:  # no chain was read: nothing was checked, so nothing is "found wrong" either
            found.append(Cause(0, CauseKind.CHAIN_UNREAD, messages.say("cause.chain_unread", why=unread), (hung_up,)))
        elif not found and not _plugin_failures(conn):  # "nothing wrong" only from a plugin that checked it all
            found.append(Cause(0, CauseKind.UNEXPLAINED_REFUSAL, messages.template("cause.unexplained_refusal"),
                               (hung_up,)))
    elif result in (Outcome.CLIENT_FATAL_ALERT, Outcome.SERVER_FATAL_ALERT, Outcome.CLIENT_CRYPTO_ERROR,
                    Outcome.SERVER_CRYPTO_ERROR):
        fatal = conn.first_fatal_alert
        assert fatal is not None
        fact = facts.alerts().get(fatal.code or -1)
        values: dict[str, object] = {"side": fatal.sender.value, "code": fatal.code, "name": fatal.name,
                                     "frame": fatal.frame, "error": f"0x{0x100 + (fatal.code or 0):04x}"}
        said = messages.fill(messages.template(
            "quic_crypto_error.text" if conn.transport == "quic" else "fatal_alert.text"), values)
        if fatal.sender is Side.CLIENT and fatal.code in CERTIFICATE_ALERTS:
            found += _certificate_causes(conn, said)
        if fatal.sender is Side.SERVER and fatal.code in CERTIFICATE_ALERTS and conn.client_certificates:
            found += _certificate_causes(conn, said, conn.client_certificates)  # mutual TLS: the client's chain
        if fatal.sender is Side.SERVER and conn.server_hello is None and fatal.code in (40, 70, 71):
            offered = conn.client_hello
            detail = (messages.say("evidence.offered", count=offered.cipher_suite_count, version=offered.max_version)
                      if offered else messages.template("evidence.no_client_hello"))
            found.append(Cause(0, CauseKind.NO_COMMON_PARAMETERS,
                               messages.say("cause.no_common_parameters", alert=fatal.name), (said, detail)))
        summary = (messages.say("cause.alert", name=fatal.name, meaning=fact.meaning) if fact
                   else messages.say("cause.alert_unassigned", code=fatal.code))
        found.append(Cause(0, CauseKind.ALERT, summary, (said,)))
    elif result is Outcome.INCOMPLETE:
        found += _capture_gap(conn, udp_timeout)
    elif result is Outcome.SERVER_ANSWERED_PLAINTEXT and conn.plaintext_answer is not None:
        frame, line = conn.plaintext_answer
        what = "HTTP" if line.startswith("HTTP/") or line.startswith("<") else f"'{line}'"
        hello = conn.client_hello.frame if conn.client_hello else "?"
        found.append(Cause(0, CauseKind.PLAINTEXT_ANSWER, messages.say("cause.plaintext_answer", what=what),
                           (messages.say("evidence.plaintext_answer", frame=frame, line=line, hello=hello),)))
    elif result is Outcome.HELLO_VERIFY_UNANSWERED:
        # The seconds are evidence, not the cause: alike flows make one failure pattern.
        found.append(Cause(0, CauseKind.TEARDOWN, messages.template("cause.hello_verify_unanswered"),
                           (messages.say("evidence.hello_verify_unanswered", frame=conn.hello_verify_frame,
                                         seconds=_silence(conn, conn.hello_verify_time)),)))
    elif result in (Outcome.VERSION_NEGOTIATION_FAILED, Outcome.RETRY_UNANSWERED,
                    Outcome.CONNECTION_CLOSE_BEFORE_HANDSHAKE):
        found += _quic_causes(conn, result)
    elif result is Outcome.NO_SERVER_RESPONSE and conn.transport != "tcp":
        hello = conn.client_hello.frame if conn.client_hello else conn.first_frame
        # The timeout in the cause, the seconds in the evidence: alike flows make one failure pattern.
        lasted = (conn.capture_end or conn.last_time) - conn.first_time >= udp_timeout
        summary = (messages.template("cause.no_server_response_udp_closed") if not lasted
                   else messages.say("cause.no_server_response_udp", timeout=_seconds(udp_timeout)) if udp_timeout
                   else messages.template("cause.no_server_response_udp_capture"))  # --udp-timeout 0
        found.append(Cause(0, CauseKind.TEARDOWN, summary,
                           (messages.say("evidence.no_server_response_udp", frame=hello,
                                         seconds=_silence(conn, conn.first_time),
                                         count=conn.packets_from[Side.CLIENT]),)))
    elif result.failed:
        evidence = (messages.say("evidence.teardown", how=teardown.kind, side=teardown.by.value, frame=teardown.frame,
                                 after=teardown.after or messages.template("evidence.no_message")),) \
            if teardown else ()
        found.append(Cause(0, CauseKind.TEARDOWN, messages.say("cause.teardown", outcome=result.value.replace("_", " ")),
                           evidence))
    for finding in conn.findings:
        if finding.cert_index is None and finding.severity >= Severity.ERROR \
                and finding.check not in ("fatal_alert", "quic_crypto_error"):  # the alert's own causes say it
            found.append(Cause(0, CauseKind.FINDING, finding.message, (f"frame {finding.frame}",), (finding.check,)))
    failures = _plugin_failures(conn)
    if failures:  # first, failed or not: every other word about this connection may be missing something
        frames = ", ".join(str(finding.frame) for finding in failures)
        found.insert(0, Cause(0, CauseKind.PLUGIN_ERROR, messages.say(
            "cause.plugin_error" if len(failures) == 1 else "cause.plugin_errors", frames=frames),
            tuple(messages.say("evidence.plugin_error", frame=finding.frame, message=finding.message)
                  for finding in failures), (PLUGIN_ERROR_CHECK,)))
    return [dataclasses.replace(cause, rank=rank) for rank, cause in enumerate(found, start=1)]


def _capture_gap(conn: Connection, udp_timeout: float) -> list[Cause]:
    """What the capture lacks, in terms of what it holds (a cause never claims evidence the capture does not)."""
    missing = conn.missing_side
    if missing is not None:
        present = Side.SERVER if missing is Side.CLIENT else Side.CLIENT
        seen = messages.template("capture_gap.seen.server" if present is Side.SERVER else
                                 "capture_gap.seen.client_tls" if Side.CLIENT in conn.ccs_from
                                 or Side.CLIENT in conn.ciphertext_from else "capture_gap.seen.client")
        return [Cause(0, CauseKind.CAPTURE_GAP, messages.say("cause.capture_gap.side", side=missing.value),
                      (messages.say("evidence.capture_gap.side", count=conn.packets_from[present],
                                    present=present.value, seen=seen, side=missing.value),))]
    if not conn.saw_syn and conn.client_hello is None and conn.server_hello is None:
        return [Cause(0, CauseKind.CAPTURE_GAP, messages.template("cause.capture_gap.late_start"),
                      (messages.say("evidence.capture_gap.late_start", frame=conn.first_frame),))]
    if conn.teardown is None:
        return [Cause(0, CauseKind.CAPTURE_GAP, messages.template("cause.capture_gap.early_end"),
                      (_early_end(conn, udp_timeout),))]
    return []


def _early_end(conn: Connection, udp_timeout: float) -> str:
    """What the capture's early end cut short: a UDP client's wait shorter than the UDP timeout names it."""
    if conn.transport == "tcp":
        return messages.template("evidence.capture_gap.early_end")
    timeout = _seconds(udp_timeout)
    if conn.server_hello is None and conn.hello_verify_frame is not None and not conn.hello_verify_answered:
        return messages.say("evidence.capture_gap.early_end_hello_verify", frame=conn.hello_verify_frame,
                            seconds=_silence(conn, conn.hello_verify_time), timeout=timeout)
    if conn.server_hello is None and conn.retry_frame is not None and not conn.retry_answered:
        return messages.say("evidence.capture_gap.early_end_retry", frame=conn.retry_frame,
                            seconds=_silence(conn, conn.retry_time), timeout=timeout)
    if conn.server_hello is None and conn.packets_from[Side.SERVER] == 0:
        hello = conn.client_hello.frame if conn.client_hello else conn.first_frame
        return messages.say("evidence.capture_gap.early_end_no_answer", frame=hello,
                            seconds=_silence(conn, conn.first_time), timeout=timeout)
    return messages.template("evidence.capture_gap.early_end_udp")


def _chain_unread(conn: Connection) -> str | None:
    """Why the server's chain could not be read, or not all of it, or None when it was read whole (or nothing shows
    one was sent): a certificate the plugin could not parse was checked by nothing."""
    if conn.chain_encrypted:
        return messages.template("chain_unread.encrypted")
    if conn.chain_undecoded:
        said = next((finding.message for finding in conn.findings if finding.check == "chain_not_decoded"), None)
        return said or messages.template("chain_unread.undecoded")
    unparsed = next((finding for cert in conn.certificates for finding in conn.certificate_findings(cert)
                     if finding.check == "malformed_certificate"), None)
    if unparsed is not None:
        return messages.say("chain_unread.malformed", message=unparsed.message)
    return None


def _plugin_failures(conn: Connection) -> list[Finding]:
    return [finding for finding in conn.findings if finding.check == PLUGIN_ERROR_CHECK]


def find_retry(failed: Connection, candidates: list[Connection]) -> Connection | None:
    """The connection that retried a failed attempt soon after, with a lower maximum version or the SCSV, over the
    same transport (a stream number names a connection of its own transport only)."""
    tried = failed.client_hello.max_version if failed.client_hello else None
    for retry in sorted(candidates, key=lambda conn: conn.first_time):
        hello = retry.client_hello
        if (retry is failed or hello is None or retry.fallback_of is not None
                or not 0 <= retry.first_time - failed.last_time <= FALLBACK_WINDOW_SECONDS
                or (retry.client, retry.server, retry.server_port, retry.transport)
                != (failed.client, failed.server, failed.server_port, failed.transport)):
            continue
        lower = bool(tried and hello.max_version and facts.version_rank(hello.max_version) < facts.version_rank(tried))
        if lower or "TLS_FALLBACK_SCSV" in hello.notable_offers:
            return retry
    return None


def classify(conn: Connection, candidates: list[Connection], udp_timeout: float = UDP_TIMEOUT_SECONDS) -> Connection:
    """Decide the outcome and causes of a finished connection; link it to the retry among candidates.

    udp_timeout: how long a DTLS or QUIC client's unanswered wait must last in the capture to be a verdict."""
    conn.outcome = outcome(conn, udp_timeout)
    conn.causes = causes(conn, udp_timeout)
    retry = find_retry(conn, candidates) if conn.outcome.failed else None
    if retry is not None and retry.client_hello is not None:
        conn.retried_by, retry.fallback_of = retry.stream, conn.stream
        tried = conn.client_hello.max_version if conn.client_hello else "?"
        conn.causes.append(Cause(len(conn.causes) + 1, CauseKind.FALLBACK, messages.say(
            "cause.fallback", version=retry.client_hello.max_version, stream=stream_id(retry.transport, retry.stream),
            outcome=outcome(retry, udp_timeout).value), (messages.say(
                "evidence.fallback", delay=messages.delay(retry.first_time - conn.last_time),
                version=retry.client_hello.max_version, tried=tried),)))
    return conn
