"""Defaults of the analysis that the user may change and that several stages carry (the options of
capture/tshark.py, the classification, the commands' --help): one place, so that no stage imports another's
for a number."""

from __future__ import annotations

# UDP has no FIN: a DTLS or QUIC client's wait for an answer is a verdict only once it lasted this long in the
# capture (--udp-timeout). 10 s is the handshake timeout of MsQuic (.NET's QuicConnectionOptions.HandshakeTimeout)
# and Chromium, after which those clients give up; by then a DTLS client on RFC 6347's and RFC 9147's timer
# (1 s, doubled each time) has sent its hello four times (at 0, 1, 3 and 7 s), and a QUIC client on RFC 9002's
# initial PTO (about 1 s, doubled) as often. A shorter wait ends with the capture too early to say.
UDP_TIMEOUT_SECONDS = 10.0
