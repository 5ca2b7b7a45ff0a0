"""The tshark options of every command that reads captures (summarize, diff, timeline), declared once."""

from __future__ import annotations

import argparse

from tsharkpost import tshark as ts


def add_tshark_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keylog", help="TLS key log file (SSLKEYLOGFILE) to decrypt TLS 1.3 chains")
    parser.add_argument("--decode-as", action="append", default=[], metavar="RULE",
                        help="passed to tshark -d, e.g. tcp.port==8443,tls (repeatable)")
    parser.add_argument("--plugin-pref", action="append", default=[], metavar="PREF:VALUE",
                        help="a plugin preference, e.g. tpost.rsa_warning_bits:3072 (repeatable)")
    parser.add_argument("--tshark", metavar="PATH", help="the tshark executable (or its folder)")


def tshark_options(args: argparse.Namespace) -> ts.Options:
    """How tshark reads the captures, from the options above."""
    return ts.Options(args.keylog, tuple(args.decode_as), tuple(args.plugin_pref))
