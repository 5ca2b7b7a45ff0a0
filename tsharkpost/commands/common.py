"""What every command shares: exit codes, diagnostics, tshark options, input expansion, the -o file."""

from __future__ import annotations

import argparse
import errno
import filecmp
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from enum import IntEnum
from pathlib import Path
from typing import IO, Any, NoReturn

from tsharkpost.backups import keep_aside
from tsharkpost.capture import tshark as ts
from tsharkpost.capture.capfile import CAPTURE_SUFFIXES
from tsharkpost.capture.defaults import UDP_TIMEOUT_SECONDS
from tsharkpost.errors import OutputError, TsharkError
from tsharkpost.plugin import fields as F
from tsharkpost.render.text import diagnostic_value, printable

log = logging.getLogger("tsharkpost")



class ExitCode(IntEnum):
    """Every exit code of every command; each command's --help says what they mean for it."""

    OK = 0
    FAIL_ON = 1  # summarize: a --fail-on condition met; diff: a difference found; wireshark: a user file kept
    USAGE = 2  # bad arguments (argparse exits with 2 too)
    INPUT_ERROR = 3  # an input could not be read completely; the others were processed
    NO_TSHARK = 4  # tshark missing, too old or unusable: nothing was processed
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as a shell reports it: tshark stopped, -o left as it was
    BROKEN_PIPE = 141  # the reader of standard output went away (| head), as if killed by SIGPIPE
    TERMINATED = 143  # SIGTERM: stopped like Ctrl-C


def exit_codes_help(meanings: dict[ExitCode, str], runs_tshark: bool = True, output_file: bool = False) -> str:
    """A command's --help epilog: what each code means for it, then the codes every command shares (cli.py turns
    Ctrl-C, SIGTERM and a closed standard output into them)."""
    stopped = "interrupted by Ctrl-C ({}: SIGTERM)".format(ExitCode.TERMINATED.value)
    if runs_tshark:
        stopped += ": tshark stopped"
    if output_file:
        stopped += ", an existing -o file left as it was"
    every = {ExitCode.USAGE: "usage error, or standard output cannot be written", **meanings,
             ExitCode.INTERRUPTED: stopped,
             ExitCode.BROKEN_PIPE: "standard output closed early (e.g. | head): stopped quietly"}
    return "exit codes:\n" + "".join(f"  {code.value:<3}  {text}\n" for code, text in sorted(every.items()))


class _EscapingFormatter(logging.Formatter):
    """Every value put into a diagnostic is escaped (render.text.diagnostic_value): file names, server names and
    reasons come from the user's inputs, and an escape sequence or a newline in one must neither repaint the
    terminal nor forge a line. The message templates are the program's own and stay as written."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple):
            record.args = tuple(diagnostic_value(value) for value in record.args)
        return super().format(record)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are diagnostics like the others: argparse quotes what it could not
    take as it was typed ("unrecognized arguments: ...", "ambiguous option: ..."), and a file name a shell glob
    hands over may start like an option and hold an escape sequence or a newline. Subparsers are of this class too
    (argparse gives them their parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {printable(message)}\n")


def setup_logging() -> logging.Handler:
    """Diagnostics go to this call's stderr, one line each ("tsharkpost: ERROR: ..."); stdout carries output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EscapingFormatter("tsharkpost: %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


# -- tshark options (summarize, diff, timeline) ----------------------------------------------------------------------

class CheckedValue(argparse.Action):
    """An option whose value is checked as it is parsed: a bad one is one error line and exit 2 (argparse's own
    errors print the whole usage first)."""

    def check(self, text: str) -> object:
        raise NotImplementedError

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        try:
            self.store(namespace, self.check(str(values)))
        except ValueError as error:
            log.error("%s %s: %s", option_string, values, error)
            parser.exit(ExitCode.USAGE)

    def store(self, namespace: argparse.Namespace, value: object) -> None:
        setattr(namespace, self.dest, value)


class JobsValue(CheckedValue):
    def check(self, text: str) -> int:
        try:
            jobs = int(text)
        except ValueError:
            jobs = 0
        if jobs < 1:
            raise ValueError("not a number of captures to read at once (1 or more)")
        return jobs


class SliceValue(CheckedValue):
    def check(self, text: str) -> float:
        try:
            size = float(text)
        except ValueError:
            size = -1.0
        if not size >= 0 or size == float("inf"):
            raise ValueError("not a size in MB (0 or more; 0: never cut a capture)")
        return size


class RepeatedValue(CheckedValue):
    """A checked option that may be given more than once: its values in a list, in the order given."""

    def store(self, namespace: argparse.Namespace, value: object) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), value])


class KeylogValue(RepeatedValue):
    """--keylog: a file tshark can read (tshark itself says nothing about a missing one); repeatable, e.g. one key
    log per capture that diff compares."""

    def check(self, text: str) -> str:
        path = Path(text)
        if not path.exists():
            raise ValueError("no such file")
        if not path.is_file():
            raise ValueError("not a regular file")
        try:
            path.open("rb").close()
        except OSError as error:
            raise ValueError(f"cannot read it: {error.strerror or error}") from None
        return text


class PluginPrefValue(RepeatedValue):
    """--plugin-pref: a tshark preference, PREF:VALUE; not one of those tsharkpost's runs set themselves (the
    bridge and wire preferences: turned off, every capture would read as holding no TLS)."""

    OWN = {pref.split(":", 1)[0].lower() for pref in (F.PLUGIN_BRIDGE_PREF, F.PLUGIN_WIRE_PREF)}

    def check(self, text: str) -> str:
        name, colon, _ = text.partition(":")
        if not colon or not name.strip():
            raise ValueError("not PREF:VALUE (e.g. tpost.rsa_warning_bits:3072)")
        if name.strip().lower() in self.OWN:
            raise ValueError("tsharkpost sets this preference itself for its own reading of the capture")
        return text


def add_tshark_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keylog", action=KeylogValue, default=[], metavar="FILE",
                        help="TLS key log file (SSLKEYLOGFILE) to decrypt TLS 1.3, DTLS 1.3 and QUIC chains "
                             "(repeatable: e.g. each capture's own key log; they are read as one)")
    parser.add_argument("--decode-as", action="append", default=[], metavar="RULE",
                        help="passed to tshark -d, e.g. tcp.port==8443,tls (repeatable)")
    parser.add_argument("--plugin-pref", action=PluginPrefValue, default=[], metavar="PREF:VALUE",
                        help="a plugin preference, e.g. tpost.rsa_warning_bits:3072 (repeatable)")
    parser.add_argument("--tshark", metavar="PATH", help="the tshark executable (or its folder)")
    parser.add_argument("--udp-timeout", action=checked(_seconds), default=UDP_TIMEOUT_SECONDS, metavar="SECONDS",
                        help="a DTLS or QUIC client that got no answer (or never answered a HelloVerifyRequest) "
                             "is a failure only when the capture runs on this long after its wait began; a "
                             "shorter capture ends too early to say (capture_incomplete). UDP has no FIN to end "
                             f"a flow (default: {UDP_TIMEOUT_SECONDS:g}, the handshake timeout of MsQuic and "
                             "Chromium; 0: judge at the capture's end)")
    parser.add_argument("--tshark-timeout", action=checked(_seconds), default=ts.DEFAULT_TSHARK_TIMEOUT,
                        metavar="SECONDS",
                        help="take tshark as hung and stop it when it writes nothing for this long "
                             f"(default: {ts.DEFAULT_TSHARK_TIMEOUT:g}; 0: wait forever)")


def checked(convert: Callable[[str], object]) -> type[CheckedValue]:
    """An option whose value convert() turns into what it means, or refuses with ValueError: one error line and
    exit 2, as every checked option (argparse's own type= errors print the whole usage first)."""

    class Checked(CheckedValue):
        def check(self, text: str) -> object:
            return convert(text)

    return Checked


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError("not a number of seconds (0 or more)")
    return seconds


def tshark_options(args: argparse.Namespace, scratch: Path) -> ts.Options:
    """How tshark reads the captures, from the options above; several key logs become one file in scratch."""
    return ts.Options(key_log(args.keylog, scratch), tuple(args.decode_as), tuple(args.plugin_pref),
                      args.tshark_timeout, args.udp_timeout)


def key_log(files: list[str], scratch: Path) -> str | None:
    """The one key log tshark reads (tls.keylog_file takes one file): the only one given, or all of them one after
    the other, copied into scratch. Each line names the client random it belongs to, so they mix freely."""
    if len(files) <= 1:
        return files[0] if files else None
    combined = scratch / "keylog.txt"
    with combined.open("wb") as out:
        for name in files:
            with open(name, "rb") as given:
                shutil.copyfileobj(given, out)
            out.write(b"\n")  # a last line without its newline would run into the next file's first
    return str(combined)


def locate_tshark(args: argparse.Namespace) -> ts.Tshark | None:
    """The tshark to use, or None after saying why there is none."""
    try:
        return ts.locate(args.tshark)
    except TsharkError as error:
        log.error("%s", error)
        return None


def tshark_refuses_options(args: argparse.Namespace, tshark: ts.Tshark) -> bool:
    """True, after one error line quoting tshark, when tshark refuses --decode-as or --plugin-pref values."""
    complaint = ts.refused_options(tshark, ts.Options(None, tuple(args.decode_as), tuple(args.plugin_pref),
                                                      args.tshark_timeout))  # the key logs are not tshark's to judge
    if complaint is None:
        return False
    given = [f"--decode-as {rule}" for rule in args.decode_as] + [f"--plugin-pref {pref}" for pref in args.plugin_pref]
    log.error("%s: tshark refused %s: %s", " ".join(given), "it" if len(given) == 1 else "them", complaint)
    return True


# -- inputs ----------------------------------------------------------------------------------------------------------

def expand(arguments: list[str]) -> list[Path]:
    """Files are kept as given (even a missing one, to be reported); directories yield their captures, sorted.

    Every argument is accounted for: a folder that holds no capture, and a folder that cannot be read, are kept
    themselves, for the capture stage to report (capfile.folder_problem) instead of vanishing. A path named twice
    as it was spelt (given twice, or given and found in a folder also given) is one input, read once.
    """
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        try:
            folder = path.is_dir()
        except OSError:  # not even its type can be read: the capture stage says why
            folder = False
        if not folder:
            found.append(path)
            continue
        inside: list[Path] = []
        for parent, _, names in os.walk(path, onerror=lambda error: inside.append(Path(error.filename or path))):
            inside += [Path(parent) / name for name in names if name.lower().endswith(CAPTURE_SUFFIXES)]
        found += sorted(inside) or [path]
    return list(dict.fromkeys(found))


# -- the -o file: checked and opened before any work starts, replaced only when the run has finished ---------------

class Output:
    """Where a command writes: standard output, or the -o file.

    A regular -o file is written to a temporary file beside it (same folder, so the rename is atomic) that
    commit() renames over it: a run that fails or is interrupted leaves the old file as it was, and no
    temporary file behind (leaving the `with` block without commit() discards it). A file it replaces is kept
    beside it as NAME.tsharkpost-backup-TIME, as the Wireshark installer keeps a user's file (unless it already
    held the very same bytes). A -o that is a device or a pipe (/dev/null, /dev/stdout) is written in place.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._temporary: Path | None = None
        self._target: Path | None = None
        if path is None:
            self.stream: IO[str] = sys.stdout
            return
        try:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            if path.exists() and not path.is_file():  # a device or a pipe: nothing to replace
                self.stream = path.open("w", encoding="utf-8")
                return
            target = Path(os.path.realpath(path))  # through a symbolic link: the link stays, its target changes
            if target.exists() and not os.access(target, os.W_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as error:
            raise OutputError(f"{path}: cannot write the output there: {error.strerror or error}") from None
        self._temporary, self._target = Path(temporary), target
        os.chmod(handle, stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask())
        self.stream = os.fdopen(handle, "w", encoding="utf-8")

    def commit(self) -> None:
        """The output is complete: put it in place. OSError when it cannot be (the disk is full)."""
        if self.path is None:
            self.stream.flush()
            return
        self.stream.close()
        if self._temporary is not None and self._target is not None:
            kept = _keep_previous(self._target, self._temporary)
            os.replace(self._temporary, self._target)
            self._temporary = None
            if kept is not None:   # named as the user named -o, unless it is a link to another folder
                same_folder = os.path.realpath(self.path.parent) == os.path.realpath(kept.parent)
                log.info("%s: the file it replaced is kept as %s", self.path,
                         self.path.with_name(kept.name) if same_folder else kept)

    def discard(self) -> None:
        if self.path is None:
            return
        self.stream.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()  # after commit() there is nothing left to discard


def _keep_previous(target: Path, new: Path) -> Path | None:
    """Keep the file -o is about to replace under a backup name beside it (a second name for the same file: no copy
    is made); None when there is none, or it holds exactly what replaces it (a run repeated)."""
    if not target.is_file():
        return None
    try:
        if filecmp.cmp(target, new, shallow=False):
            return None
    except OSError:   # it cannot be read (write-only): kept, as any file that may differ
        pass
    return keep_aside(target)[0]   # linked, or renamed where hard links are not: target is replaced next either way


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def prepare(args: argparse.Namespace, inputs: Iterable[Path]) -> tuple[ts.Tshark, Output] | ExitCode:
    """What a command that reads captures does before any work, each step one error line and an exit code when
    it fails: refuse an -o that is one of the inputs (captures, event logs, key logs), find tshark, let it judge the
    user's tshark options, open the -o file (standard output without one)."""
    output_path: Path | None = getattr(args, "output", None)
    key_logs = [Path(name) for name in getattr(args, "keylog", None) or []]   # inputs too: secrets, never overwritten
    try:
        refuse_input_as_output(output_path, [*inputs, *key_logs])
    except OutputError as error:
        log.error("%s", error)
        return ExitCode.USAGE
    tshark = locate_tshark(args)
    if tshark is None:
        return ExitCode.NO_TSHARK
    if tshark_refuses_options(args, tshark):
        return ExitCode.USAGE
    try:
        return tshark, Output(output_path)
    except OutputError as error:
        log.error("%s", error)
        return ExitCode.USAGE


def refuse_input_as_output(output: Path | None, inputs: Iterable[Path]) -> None:
    """OutputError when -o is one of the inputs, however spelt (a link, another path to the same file)."""
    if output is None:
        return
    for path in inputs:
        try:
            same = os.path.samefile(output, path)
        except OSError:  # either does not exist (yet): they cannot be the same file
            continue
        if same:
            raise OutputError(f"{output}: -o is also an input ({path}): choose another output file")


def write_output(output: Output, render: Callable[[IO[str]], None]) -> bool:
    """Render into the output and put it in place; False, after one error line, when the -o file cannot be
    written. On standard output an OSError (a closed pipe) is left to the command line's handler."""
    try:
        render(output.stream)
        output.commit()
    except OSError as error:
        if output.path is None:
            raise
        log.error("%s: cannot write the output there: %s", output.path, error.strerror or error)
        return False
    return True
