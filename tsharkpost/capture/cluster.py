"""Many captures read on a Dask cluster (`summarize --scheduler`): tasks of one or more captures, run by workers.

Imported only when --scheduler is given: dask.distributed is an optional extra (`tsharkpost[cluster]`).

Workers need tshark and tsharkpost (the same version) and see the captures at the same paths (a shared
filesystem); tshark is the one the client found, at the same path. A task reads its captures with analyze(),
as a local run does, into files of the worker's own, and hands back each InputResult and its records
(zlib-compressed JSON lines); the client writes the records to its scratch folder as each task finishes
and lets the cluster forget it, so the client holds one task's records at a time, compressed. Small captures
travel in batches of up to BATCH_CAPTURES consecutive inputs (a task's round trips through the scheduler cost
about 25 ms of CPU, a tenth of a small capture), large ones and the parts of a big one alone.

A path given relative to the client's folder is read through its absolute form, and the records and reason
name it as given, so the output is the local run's byte for byte.

Faults: a worker that dies while reading a capture (killed, out of memory, its machine gone) is replaced by the
scheduler, which gives the capture to another worker, up to its allowed-failures setting (Dask's default: 3
deaths); past that a batch is split and each of its captures tried alone again, so that a capture that kills
workers costs only itself; a capture alone that fails so, or any other failure of the cluster, is reported as
an error with the reason;
a scheduler lost mid-run (after the client's 30 seconds of trying to reconnect) makes every input not yet read
an error naming that failure. Every input is accounted for. Ctrl-C cancels what has not started and tells the
running tasks to stop their tshark (a Dask Event each task watches).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
import uuid
import zlib
from pathlib import Path
from typing import Any

from distributed import Client, Event, Future, as_completed, get_client
from distributed.comm.addressing import parse_address, parse_host_port

from tsharkpost.capture import tshark as ts
from tsharkpost.capture.aggregate import PatternTally
from tsharkpost.capture.analyze import PartResult, analyze
from tsharkpost.capture.batch import Finished
from tsharkpost.capture.offsets import PROC, descendants
from tsharkpost.capture.result import InputResult, InputStatus
from tsharkpost.capture.sliced import DEFAULT_SLICE_MB, merge, part_count, part_file, read_part, remove
from tsharkpost.errors import TsharkpostError
from tsharkpost.record.jsonform import from_json

CONNECT_TIMEOUT_SECONDS = 30
STOP_POLL_SECONDS = 1.0
KILL_POLL_SECONDS = 0.1  # once told to stop: how soon a tshark the task starts after that is ended
REASON_LENGTH = 300
CHUNK = 1 << 20
THREADS_REFRESH_SECONDS = 1.0
IN_FLIGHT_PER_THREAD = 2
BATCH_CAPTURES = 8  # small captures read by one task, at most: a task's round trips cost 25 ms of CPU
BATCH_BYTES = 16 << 20  # a capture this large or larger is a task of its own
BATCHES_PER_THREAD = 4  # at least this many tasks per worker thread, so that the batches even out
Outcome = tuple[InputResult, bytes]  # a task's answer: the result, and its records compressed
PartOutcome = tuple[PartResult, bytes, bytes]  # a part's answer: the result, its records and keys compressed


class _Client(Client):
    """Dask's client, whose instance left half-built by a failed connection (a server that answers, but not as a
    scheduler; a stop while connecting) closes within a second when collected, not within Dask's minute."""

    def __del__(self) -> None:
        if getattr(self, "_Client__loop", None) is not None:
            try:
                self.close(timeout=1)
            except Exception:  # noqa: BLE001, S110 - nothing is left to say at collection
                pass


class ClusterError(TsharkpostError):
    """The scheduler cannot be reached: nothing was sent."""


def analyze_on_cluster(paths: list[Path], tshark: ts.Tshark, options: ts.Options, scheduler: str, scratch: Path,
                       finished: Finished | None = None, slice_mb: float = DEFAULT_SLICE_MB) -> list[InputResult]:
    """Each capture through analyze() on a worker, its records written to a file in scratch (as batch.analyze_all);
    a capture larger than slice_mb MB in parts, one task each (capture/sliced.py), merged here."""
    try:
        scheme, location = parse_address(scheduler)
        port = parse_host_port(location)[1]  # before Client, which hangs on closing after a bad address
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range")
        if scheme != "tcp":  # tls:// without Dask's TLS configured fails as a bad address does, inproc:// is local
            raise ValueError(f"{scheme}:// is not supported")
    except ValueError as error:
        raise ClusterError(f"--scheduler {scheduler}: {error} (expected tcp://HOST:PORT)") from None
    # Asked first with a plain connection: a port nobody listens on is said at once (Dask's client retries it for
    # its whole timeout), and a stop (Ctrl-C, SIGTERM) while waiting leaves no half-built client behind, whose
    # closing blocked the exit for a minute.
    try:
        with socket.create_connection(parse_host_port(location), timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {error.strerror or error}") from None
    # Dask logs its own view of a lost scheduler (tracebacks, timestamped lines) on stderr; each input's reason says
    # what became of it, in one line, instead.
    for name in ["distributed", *(name for name in logging.root.manager.loggerDict if name.startswith("distributed."))]:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        client = _Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
    except Exception as error:  # noqa: BLE001 - a server that is no Dask scheduler fails in any way (MemoryError)
        said = ": ".join(part for part in (type(error).__name__, _one_line(error)) if part)
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} (is it one?): {said}"[:REASON_LENGTH]) \
            from None
    try:   # a scheduler without workers would take the tasks and wait, silently, for good
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as error:
        client.close()
        raise ClusterError(f"the Dask scheduler at {scheduler} has no worker (waited {CONNECT_TIMEOUT_SECONDS} s: "
                           f"{_one_line(error)})") from None
    run = f"tsharkpost-{uuid.uuid4().hex}"
    stop = Event(f"{run}-stop", client=client)
    results: list[InputResult | None] = [None] * len(paths)
    futures: dict[Future[Any], tuple[tuple[int, ...], int]] = {}  # in flight -> (inputs, part; -1: whole ones)
    done = as_completed(loop=client.loop)

    threads = _Threads(client)
    counts = [part_count(path, slice_mb, threads.count()) for path in paths]
    waiting: collections.deque[tuple[tuple[int, ...], int, ts.Options]] = collections.deque(
        _units(paths, counts, threads.count(), options))
    parts: dict[int, list[PartResult | None]] = {number: [None] * count for number, count in enumerate(counts)
                                                 if count > 1}
    readings: dict[int, ts.Options] = {}

    def submit() -> None:
        """Keep two tasks in flight per worker thread: one read, one ready to start when it is done (a
        round trip to the client between captures cost 20 percent on small files). No more, so that the queue
        waits here, and a worker that dies takes few captures with it: each waiting there counts that death
        against Dask's allowed-failures as the one it was reading does. A part of a capture counts as one."""
        while waiting and len(futures) < IN_FLIGHT_PER_THREAD * threads.count():
            numbers, part, reading = waiting.popleft()
            number = numbers[0]
            path = paths[number]
            future: Future[Any]
            if part < 0:
                key = f"{run}-{'-'.join(str(item) for item in numbers)}"
                future = client.submit(_analyze_on_worker, [(str(paths[item]), os.path.abspath(paths[item]))
                                                            for item in numbers], tshark, options, stop.name,
                                       key=key, pure=False)
            else:
                key = f"{run}-{number}-{part}{'-again' if number in readings else ''}"
                future = client.submit(_read_part_on_worker, str(path), os.path.abspath(path), part, counts[number],
                                       tshark, reading, stop.name, key=key, pure=False)
            futures[future] = (numbers, part)
            done.add(future)

    try:
        submit()
        for future in done:
            numbers, part = futures.pop(future)
            number = numbers[0]
            submit()  # the next task first: its worker starts on it while this one's records come back
            if part < 0:
                if len(numbers) > 1 and future.status != "finished":
                    # A batch whose task failed (its workers died): each capture again on its own, so that one
                    # capture that kills workers costs only itself.
                    future.release()
                    waiting.extendleft(((item,), -1, options) for item in reversed(numbers))
                    submit()
                    continue
                collected = _collect([paths[item] for item in numbers], future,
                                     [scratch / f"{item}.jsonl" for item in numbers])
                future.release()
                for item, result in zip(numbers, collected):
                    results[item] = result
                    if finished:
                        finished(item, result)
                continue
            held = parts[number]
            held[part] = _collect_part(paths[number], future, scratch / f"{number}.parts", part)
            future.release()
            if any(item is None for item in held):
                continue
            reading = readings.get(number, options)
            result, again = merge(paths[number], [item for item in held if item], reading,
                                  scratch / f"{number}.jsonl")
            remove([item for item in held if item])
            if again:
                readings[number] = dataclasses.replace(options, reassemble_out_of_order=True)
                parts[number] = [None] * counts[number]
                waiting.extendleft(((number,), item, readings[number]) for item in reversed(range(counts[number])))
                submit()
                continue
            results[number] = result
            if finished:
                finished(number, result)
    except Exception as error:  # noqa: BLE001 - the cluster as a whole failed (its scheduler gone): inputs say so
        _stop(client, stop, list(futures))
        reason = f"the cluster stopped before reading it: {type(error).__name__}: {_one_line(error)}"[:REASON_LENGTH]
        for number, path in enumerate(paths):
            if results[number] is None:
                results[number] = result = InputResult(str(path), InputStatus.ERROR, reason)
                if finished:
                    finished(number, result)
    except BaseException:
        _stop(client, stop, list(futures))
        raise
    finally:
        client.close()
    return [result for result in results if result is not None]


class _Threads:
    """How many threads the cluster's workers have (at least one), asked of the scheduler at most once a second."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.known = 1
        self.asked = -THREADS_REFRESH_SECONDS

    def count(self) -> int:
        if time.monotonic() - self.asked >= THREADS_REFRESH_SECONDS:
            self.known = max(sum(self.client.nthreads().values()), 1)
            self.asked = time.monotonic()
        return self.known


def _units(paths: list[Path], counts: list[int], threads: int,
           options: ts.Options) -> list[tuple[tuple[int, ...], int, ts.Options]]:
    """The tasks to send, in input order: each part of a capture read in parts; captures of BATCH_BYTES or more
    alone; smaller ones in runs of consecutive inputs. A task's round trips cost the same for one capture or
    eight: about 25 ms of CPU, a tenth of what a small capture costs. A run takes its share of the small captures
    still to come, 1 / (threads x BATCHES_PER_THREAD) of them, at most BATCH_CAPTURES: large batches first,
    single captures at the end, so that no thread is left idle while another reads a last long batch."""
    small = [counts[number] == 1 and _size(path) < BATCH_BYTES for number, path in enumerate(paths)]
    left = sum(small)
    units: list[tuple[tuple[int, ...], int, ts.Options]] = []
    batch: list[int] = []
    size = 1
    for number in range(len(paths)):
        if counts[number] > 1:
            units.extend(((number,), part, options) for part in range(counts[number]))
        elif not small[number]:
            units.append(((number,), -1, options))
        else:
            if not batch:
                size = max(1, min(BATCH_CAPTURES, -(-left // (threads * BATCHES_PER_THREAD))))
            batch.append(number)
            left -= 1
            if len(batch) == size:
                units.append((tuple(batch), -1, options))
                batch = []
    if batch:
        units.append((tuple(batch), -1, options))
    return units


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the worker says what is wrong with it


# Dask's names for a task that will never run because the client lost its scheduler (distributed's own class,
# and asyncio's, which it derives from).
CANCELLED = ("FutureCancelledError", "CancelledError")


def _one_line(error: BaseException) -> str:
    """An error's words as one line: Dask's messages run over several."""
    return " ".join(str(error).split())


def _collect(paths: list[Path], future: Future[list[Outcome]], records_files: list[Path]) -> list[InputResult]:
    """The worker's results with their records written to records_files; a failed task is each input's error."""
    try:
        outcomes: list[Outcome] = future.result()
    except Exception as error:  # noqa: BLE001 - the task's or the cluster's failure costs these inputs only
        name = type(error).__name__
        if name == "KilledWorker":
            reason = ("the workers reading it died, too often to try again (Dask's KilledWorker; the workers' logs "
                      "say why they died)")
        elif name in CANCELLED:
            reason = "the cluster stopped before reading it: its task was cancelled (the scheduler went away)"
        else:
            reason = f"the cluster could not read it: {name}: {_one_line(error)}"
        return [InputResult(str(path), InputStatus.ERROR, reason[:REASON_LENGTH], traceback=traceback.format_exc())
                for path in paths]
    collected = []
    for (result, records), records_file in zip(outcomes, records_files):
        if result.records_file is not None:
            _expand(records, records_file)
            result.records_file = str(records_file)
        collected.append(result)
    return collected


def _collect_part(path: Path, future: Future[PartOutcome], folder: Path, part: int) -> PartResult:
    """The worker's part with its records and keys written into folder; a failed task is the part's error."""
    try:
        outcome: PartOutcome = future.result()
        result, records, keys = outcome
    except Exception:  # noqa: BLE001 - as _collect
        return PartResult(_collect([path], future, [folder / f"{part}.jsonl"])[0], "", False)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    if result.result.records_file is not None:
        result.result.records_file = str(folder / f"{part}.jsonl")
        result.keys_file = str(folder / f"{part}.keys")
        for data, name in ((records, result.result.records_file), (keys, result.keys_file)):
            _expand(data, Path(name))
    return result


def _expand(data: bytes, target: Path) -> None:
    expand = zlib.decompressobj()
    with open(target, "wb") as handle:
        for start in range(0, len(data), CHUNK):
            handle.write(expand.decompress(data[start:start + CHUNK]))
        handle.write(expand.flush())


def _stop(client: Client, stop: Event, pending: list[Future[Outcome]]) -> None:
    """Ctrl-C: cancel what has not started, tell the running tasks to stop their tshark."""
    try:
        stop.set()
        client.cancel(pending)
    except Exception:  # noqa: BLE001, S110 - the cluster may be gone already; stopping must not fail
        pass


def _analyze_on_worker(captures: list[tuple[str, str]], tshark: ts.Tshark, options: ts.Options,
                       stop_name: str) -> list[Outcome]:
    """On a worker: each capture (as given, absolute) read in turn into a file of the worker's own, handed back
    with its records compressed."""
    outcomes = []
    reading: list[str] = []  # the capture being read, for the watcher
    done = threading.Event()
    # The Event is made here, in the task, with the worker's client: the watcher's thread has no client.
    stop = Event(stop_name, client=get_client())
    told = threading.Event()  # set by the watcher once the client said stop: the rest is not read
    watcher = threading.Thread(target=_watch_stop, args=(stop, reading, done, told), daemon=True)
    watcher.start()
    try:
        for given, absolute in captures:
            if told.is_set():
                break
            reading[:] = [absolute]
            with _scratch() as scratch:
                records = Path(scratch) / "records.jsonl"
                result = analyze(Path(absolute), tshark, options, records)
                if given != absolute:
                    result = _named_as_given(result, given, absolute, records)
                data = _compressed(records) if result.records_file is not None else b""
                outcomes.append((dataclasses.replace(result, records_file="" if result.records_file is not None
                                                     else None), data))
    finally:
        done.set()
    return outcomes


def _read_part_on_worker(given: str, absolute: str, part: int, count: int, tshark: ts.Tshark, options: ts.Options,
                         stop_name: str) -> PartOutcome:
    """On a worker: one part of a capture (capture/sliced.py) written and read in a folder of the worker's own,
    handed back with its records and keys compressed; the result names the capture as the client was given it."""
    with _scratch() as scratch:
        done = threading.Event()
        stop = Event(stop_name, client=get_client())
        watcher = threading.Thread(target=_watch_stop, args=(stop, [str(part_file(Path(scratch), part))], done),
                                   daemon=True)
        watcher.start()
        try:
            result = read_part(Path(absolute), part, count, tshark, options, Path(scratch), Path(given))
        finally:
            done.set()
        records = keys = b""
        if result.result.records_file is not None and result.keys_file:
            records, keys = _compressed(Path(result.result.records_file)), _compressed(Path(result.keys_file))
        return (dataclasses.replace(result, result=dataclasses.replace(result.result, records_file="")
                                    if result.result.records_file is not None else result.result,
                                    keys_file=""), records, keys)


WORKER_SCRATCH = "tsharkpost-worker-"  # + the worker process's id + "-": its folders in the temporary folder


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """A task's folder of its own, named with its worker's process id; first, the folders of worker processes that
    are gone are removed (a worker killed mid-task never removes its own: part files, records)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{WORKER_SCRATCH}*-*"):
        owner = folder.name[len(WORKER_SCRATCH):].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:  # gone: its folder is nobody's
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive, another user's
            continue
    return tempfile.TemporaryDirectory(prefix=f"{WORKER_SCRATCH}{os.getpid()}-")


def _compressed(path: Path) -> bytes:
    """The file zlib-compressed (fast level: JSON lines shrink about tenfold anyway), read a chunk at a time."""
    pack = zlib.compressobj(1)
    parts = []
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            parts.append(pack.compress(chunk))
    parts.append(pack.flush())
    return b"".join(parts)


def _named_as_given(result: InputResult, given: str, absolute: str, records: Path) -> InputResult:
    """The result and records of the absolute path, naming the capture as the client was given it."""
    result.path = given
    result.reason = result.reason.replace(absolute, given)
    if result.records_file is None:
        return result
    patterns = PatternTally()
    renamed = records.with_suffix(".given")
    with open(records, encoding="utf-8") as source, open(renamed, "w", encoding="utf-8") as target:
        for line in source:
            data = json.loads(line)
            data["capture"] = given
            target.write(json.dumps(data) + "\n")
            patterns.add(from_json(data))
    renamed.replace(records)
    result.patterns = patterns
    return result


def _watch_stop(stop: Event, reading: list[str], done: threading.Event, told: threading.Event | None = None) -> None:
    """Until the task is done: once the client says stop, end the tshark this worker runs on the capture it is
    reading (reading: the task's current capture, changed by the task as it goes), and any it starts after that
    (the stop may come while the task writes a part, before its tshark runs)."""
    try:
        while not done.wait(STOP_POLL_SECONDS):  # a task done within a second never asks the scheduler
            if stop.is_set():
                if told is not None:
                    told.set()
                while True:
                    for absolute in list(reading):
                        _kill_tshark(absolute)
                    if done.wait(KILL_POLL_SECONDS):
                        return
    except Exception:  # noqa: BLE001, S110 - without the scheduler there is nobody to say stop
        return


def _kill_tshark(absolute: str) -> None:
    """Terminate the process groups below this worker whose command line names the capture (tshark's, ts.run)."""
    for pid in descendants(os.getpid()):
        try:
            argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
            group = os.getpgid(pid)
            if os.fsencode(absolute) in argv and group != os.getpgrp():  # never the worker's own group
                os.killpg(group, signal.SIGTERM)
        except OSError:
            continue
