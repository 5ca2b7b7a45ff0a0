"""summarize --scheduler: the captures read on a real Dask cluster (a scheduler and two workers on 127.0.0.1,
started and stopped here as the README says), with the local run's output byte for byte; a worker killed
mid-capture, an input that kills every worker it meets, and Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CAPTURES, CORPUS
from summarize_support import console_script, environment
from tsharkpost.capture import sliced
from tsharkpost.capture.analyze import PartResult
from tsharkpost.capture.offsets import descendants
from tsharkpost.capture.result import InputResult
from tsharkpost.capture.tshark import Options
from tsharkpost.cli import main

distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed (scripts/setup does it)")
from tsharkpost.capture import cluster as cluster_module  # noqa: E402 - needs distributed

DASK = Path(sys.executable).parent / "dask"
SEED = CAPTURES / "md2-root-silent-fin.pcapng"
TWIN = CAPTURES / "known-good-twin.pcapng"
# The scheduler as the README starts it for tsharkpost: one task per worker thread at a time; here a capture
# whose worker dies twice is given up (Dask's default is 3), to keep the test short.
SCHEDULER_ENVIRONMENT = {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
                         "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _end(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the cluster's processes, and whatever of theirs outlived them (a killed worker's tshark wrapper)."""
    below = [pid for process in processes for pid in descendants(process.pid)]
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and two workers (one process, one thread each) on 127.0.0.1; the workers' processes."""
    logs = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**environment(logs / "home"), **SCHEDULER_ENVIRONMENT}
    started: list[subprocess.Popen[bytes]] = []
    try:
        with open(logs / "scheduler.log", "wb") as log:
            started.append(subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                             address.rsplit(":", 1)[1], "--no-dashboard"], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, env=env))
        workers = []
        for number in range(2):
            with open(logs / f"worker-{number}.log", "wb") as log:
                workers.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "1", "--nthreads",
                                                 "1", "--host", "127.0.0.1", "--no-dashboard"],
                                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env))
        started += workers
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        _end(started[::-1])


def _json(arguments: list[str], out: Path) -> tuple[int, bytes]:
    code = main(["summarize", "--format", "json", "-o", str(out), *arguments])
    return code, out.read_bytes()


def test_the_cluster_gives_the_local_output(cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the bundled captures named relative to the current folder, a missing one, one that is no capture,
    # and third-party captures when ../shared/corpus is there (Arkime's: TLS 1.0-1.3, broken and odd ones)
    monkeypatch.chdir(CAPTURES)
    (tmp_path / "notes.pcap").write_text("not a capture\n")
    inputs = [*sorted(path.name for path in CAPTURES.glob("*.pcapng")), "missing.pcapng", str(tmp_path / "notes.pcap")]
    corpus = sorted(map(str, (CORPUS / "arkime").glob("*.pcap*"))) if CORPUS.is_dir() else []
    # When summarize reads them on the cluster and here
    remote = _json(["--scheduler", cluster[0], *inputs, *corpus], tmp_path / "remote.json")
    local = _json(["--jobs", "2", *inputs, *corpus], tmp_path / "local.json")
    # Then the output is the same, byte for byte, every input in it under the name it was given
    assert remote == local
    document = json.loads(local[1])
    assert [item["path"] for item in document["inputs"]] == [*inputs, *corpus]
    assert {item["status"] for item in document["inputs"]} >= {"ok", "error"}
    assert len(document["connections"]) > 20


def test_the_cluster_reads_a_big_capture_in_parts(cluster: tuple[str, list[subprocess.Popen[bytes]]],
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the mixed batch (250 kB) and the seed, named relative to the current folder
    monkeypatch.chdir(CAPTURES)
    inputs = ["batch-mixed.pcapng", SEED.name]
    merged: list[int] = []

    def merge(path: Path, parts: list[PartResult], options: Options, records: Path) -> tuple[InputResult, bool]:
        merged.append(len(parts))
        return sliced.merge(path, parts, options, records)

    monkeypatch.setattr(cluster_module, "merge", merge)  # watched, not replaced
    # When summarize reads them on the cluster cutting captures over 0.1 MB into parts (a task each), and here whole
    remote = _json(["--scheduler", cluster[0], "--slice-mb", "0.1", *inputs], tmp_path / "remote.json")
    local = _json(["--jobs", "1", *inputs], tmp_path / "local.json")
    # Then the output is the same, byte for byte; the batch was read in two parts (one per worker thread)
    assert remote == local
    assert merged == [2]


def _killer_tsharks(folder: Path, tshark: str) -> Path:
    """A tshark that is slow on captures named slow*, takes minutes on endless*, and kills the worker running it
    on doomed*."""
    wrapper = folder / "tshark"
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in\n  *doomed*) kill -KILL $PPID; exit 1;;\n'
                       f'  *slow*) sleep 3;;\n  *endless*) sleep 120;;\nesac\nexec {tshark} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def _worker_reading(workers: list[subprocess.Popen[bytes]], name: bytes) -> int | None:
    """The worker process whose tshark wrapper is sleeping over the capture called name, if one is."""
    for nanny in workers:
        below = descendants(nanny.pid)
        for pid in below:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                sleeping = any(Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"sleep\0")
                               for child in descendants(pid))
            except (OSError, ValueError):
                continue
            if sleeping and any(part.endswith(name) for part in argv) and parent in below:
                return parent
    return None


def test_a_worker_killed_mid_capture(cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path,
                                     tshark: str) -> None:
    address, workers = cluster
    # Given a capture whose reading takes a while, and two others
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(SEED, inputs / "slow.pcapng")
    shutil.copy(TWIN, inputs / "twin.pcapng")
    shutil.copy(SEED, inputs / "seed.pcapng")
    out = tmp_path / "remote.json"
    run = subprocess.Popen([*console_script(), "summarize", "--format", "json", "-o", str(out), "--scheduler",
                            address, "--tshark", str(_killer_tsharks(tmp_path, tshark)), str(inputs)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=environment(tmp_path / "home"))
    # When the worker reading the slow one is killed while it reads
    killed = None
    deadline = time.monotonic() + 30
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        killed = _worker_reading(workers, b"slow.pcapng")
        time.sleep(0.1)
    assert killed is not None, "the slow capture was never seen being read"
    os.kill(killed, signal.SIGKILL)
    _, stderr = run.communicate(timeout=120)
    # Then every input is in the output, the slow one read again elsewhere, in full, as the same capture is
    document = json.loads(out.read_text())
    status = {Path(item["path"]).name: (item["status"], item["reason"]) for item in document["inputs"]}
    assert status == {name: ("ok", None) for name in ("seed.pcapng", "slow.pcapng", "twin.pcapng")}
    assert run.returncode == 0 and stderr == b""
    records = {name: [{k: v for k, v in item.items() if k != "capture"} for item in document["connections"]
                      if Path(item["capture"]).name == name] for name in ("slow.pcapng", "seed.pcapng")}
    assert records["slow.pcapng"] == records["seed.pcapng"] != []


def _watch_units(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of captures in each task the client sends (cluster._units watched, not replaced)."""
    sizes: list[int] = []
    units = cluster_module._units

    def watched(*arguments: object) -> list[tuple[tuple[int, ...], int, Options]]:
        made = units(*arguments)  # type: ignore[arg-type]
        sizes.extend(len(numbers) for numbers, _, _ in made)
        return made

    monkeypatch.setattr(cluster_module, "_units", watched)
    return sizes


def test_many_small_captures_travel_in_batches(cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 40 small captures (the bundled ones, copied round-robin)
    sources = sorted(CAPTURES.glob("*.pcapng"))
    inputs = []
    for number in range(40):
        inputs.append(tmp_path / f"{number:02d}-{sources[number % len(sources)].name}")
        shutil.copy(sources[number % len(sources)], inputs[-1])
    sizes = _watch_units(monkeypatch)
    # When summarize reads them on the cluster and here
    remote = _json(["--scheduler", cluster[0], *map(str, inputs)], tmp_path / "remote.json")
    local = _json(["--jobs", "2", *map(str, inputs)], tmp_path / "local.json")
    # Then they went in tasks of several captures, each an eighth (2 threads x 4) of those left, rounded up: large
    # first, single captures last; every one in order, and the output is the local one byte for byte
    assert sizes == [5, 5, 4, 4, 3, 3, 2, 2, 2, 2] + [1] * 8
    assert remote == local
    assert [Path(item["path"]).name for item in json.loads(local[1])["inputs"]] == [path.name for path in inputs]


def test_an_input_that_kills_every_worker(cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path,
                                          tshark: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a capture that kills each worker that reads it (here through its tshark), among 15 good ones: enough
    # for tasks of two captures each
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(SEED, inputs / "doomed.pcapng")
    for number in range(15):
        shutil.copy(TWIN, inputs / f"twin-{number:02d}.pcapng")
    sizes = _watch_units(monkeypatch)
    # When summarize reads them on the cluster
    code, said = _json(["--scheduler", cluster[0], "--tshark", str(_killer_tsharks(tmp_path, tshark)),
                        str(inputs)], tmp_path / "remote.json")
    # Then the doomed one's task is split once its workers have died too often, and the doomed one alone is an
    # error, saying why; its task mate and every other capture are read
    assert sizes == [2, 2, 2, 2] + [1] * 8
    document = json.loads(said)
    status = {Path(item["path"]).name: (item["status"], item["reason"]) for item in document["inputs"]}
    assert code == 3 and len(status) == 16
    assert status.pop("doomed.pcapng") == ("error", "the workers reading it died, too often to try again (Dask's "
                                                    "KilledWorker; the workers' logs say why they died)")
    assert set(status.values()) == {("ok", None)}


def _reading_endless(workers: list[subprocess.Popen[bytes]]) -> bool:
    return any(_worker_reading(workers, f"endless-{number}.pcapng".encode()) for number in range(6))


def test_ctrl_c_stops_the_cluster_work(cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path,
                                       tshark: str) -> None:
    address, workers = cluster
    # Given captures whose reading takes a while, on the cluster
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for number in range(6):
        shutil.copy(SEED, inputs / f"endless-{number}.pcapng")
    run = subprocess.Popen([*console_script(), "summarize", "--scheduler", address, "--tshark",
                            str(_killer_tsharks(tmp_path, tshark)), str(inputs)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(tmp_path / "home"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _reading_endless(workers):
        time.sleep(0.1)
    # When Ctrl-C reaches the client while the workers read
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    # Then it stops in one line, and within seconds (not the minutes each reading takes) no worker reads any
    # of the captures any more
    assert run.returncode == 130 and stderr.decode().strip().splitlines()[-1] == "tsharkpost: ERROR: interrupted"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _reading_endless(workers):
        time.sleep(0.2)
    assert not _reading_endless(workers)


# --scheduler values refused at once as usage errors (exit 2, nothing read), with the reason shown: an address
# without a port; tls:// (with no TLS context in Dask's configuration it made a traceback and a 60 s hang on exit);
# port 99999 (it waited 30 s to time out, hence the short timeout).
BAD_SCHEDULERS = [
    ("tcp://127.0.0.1", "missing port number in address '127.0.0.1'", 120),
    ("tls://127.0.0.1:1", "tls:// is not supported", 120),
    ("tcp://127.0.0.1:99999", "port 99999 is out of range", 20),
]


@pytest.mark.parametrize(("address", "reason", "timeout"), BAD_SCHEDULERS, ids=["no-port", "not-tcp", "port-range"])
def test_a_bad_scheduler_address_is_a_usage_error(tmp_path: Path, address: str, reason: str, timeout: int) -> None:
    done = subprocess.run([*console_script(), "summarize", "--scheduler", address, str(SEED)],
                          capture_output=True, text=True, env=environment(tmp_path / "home"), timeout=timeout,
                          check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"tsharkpost: ERROR: --scheduler {address}: {reason} (expected tcp://HOST:PORT)\n"


@pytest.mark.parametrize("stop", ["kill", "terminate"])   # SIGKILL, or SIGTERM: it shuts down, cancelling tasks
def test_a_scheduler_lost_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                                  stop: str) -> None:
    """The scheduler killed once the first capture is back: no traceback, and none of Dask's own log lines; every
    input has its result, those not read an error naming the cluster's failure in one line."""
    from tsharkpost.capture import cluster, tshark as ts
    from tsharkpost.capture.cluster import analyze_on_cluster
    from tsharkpost.capture.result import InputStatus

    # The client tries to reconnect for its connect timeout before it gives up: 30 s of waiting, not of testing.
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_SECONDS", 5)

    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**environment(tmp_path / "home"), **SCHEDULER_ENVIRONMENT}
    started: list[subprocess.Popen[bytes]] = []
    paths = []
    for number in range(12):
        paths.append(tmp_path / f"copy-{number}.pcapng")
        shutil.copyfile(SEED, paths[-1])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    try:
        with open(tmp_path / "scheduler.log", "wb") as log:
            started.append(subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                             address.rsplit(":", 1)[1], "--no-dashboard"], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, env=env))
        with open(tmp_path / "worker.log", "wb") as log:
            started.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                             "--host", "127.0.0.1", "--no-dashboard"], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, env=env))
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        told: list[int] = []

        def finished(number: int, result: object) -> None:
            told.append(number)
            if len(told) == 1:
                getattr(started[0], stop)()
                started[0].wait()

        results = analyze_on_cluster(paths, ts.locate(None), ts.Options(), address, scratch, finished)
    finally:
        _end(started[::-1])
    assert sorted(told) == list(range(len(paths)))
    assert sorted(result.path for result in results) == sorted(str(path) for path in paths)
    assert results[told[0]].status == InputStatus.OK
    lost = [result for result in results if result.status == InputStatus.ERROR]
    assert lost, "the scheduler was killed after the first capture: some were not read"
    assert all(result.reason.startswith("the cluster") and "\n" not in result.reason for result in lost)
    said = capfd.readouterr().err
    assert "Traceback" not in said and "distributed." not in said, said


def test_a_scheduler_without_workers_is_said_not_waited_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler no worker ever joined would take the tasks and wait for good: it is refused after the connect
    timeout, with nothing read."""
    from tsharkpost.capture import cluster, tshark as ts

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_SECONDS", 3)
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**environment(tmp_path / "home"), **SCHEDULER_ENVIRONMENT}
    with open(tmp_path / "scheduler.log", "wb") as log:
        scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                      address.rsplit(":", 1)[1], "--no-dashboard"], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=env)
    try:
        with distributed.Client(address, timeout=30):   # the scheduler is up (it answers), with no worker
            pass
        began = time.monotonic()
        with pytest.raises(cluster.ClusterError) as refused:
            cluster.analyze_on_cluster([SEED], ts.locate(None), ts.Options(), address, tmp_path)
        assert time.monotonic() - began < 20
    finally:
        _end([scheduler])
    assert str(refused.value).startswith(f"the Dask scheduler at {address} has no worker (waited 3 s: ")


def test_a_stop_before_the_task_starts_tshark_still_ends_it(tmp_path: Path) -> None:
    """The client's stop can come while a task writes its part, before the task's tshark runs: the task's watcher
    keeps ending what the task starts on that part until the task is done (a Ctrl-C in that window left the
    workers' tsharks reading their parts to the end)."""
    class Said:  # the client's stop Event, already set
        def is_set(self) -> bool:
            return True

    part = tmp_path / "part-0.cap"
    done = threading.Event()
    watcher = threading.Thread(target=cluster_module._watch_stop, args=(Said(), [str(part)], done), daemon=True)
    watcher.start()
    time.sleep(cluster_module.STOP_POLL_SECONDS + 0.5)   # the watcher has seen the stop, with nothing to end yet
    # When the task then starts its reader on the part (in a process group of its own, as ts.run starts tshark)
    late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", str(part)], start_new_session=True)
    try:
        # Then it is ended within moments, not left to run
        assert late.wait(timeout=5) == -signal.SIGTERM
    finally:
        if late.poll() is None:
            late.kill()
            late.wait()
        done.set()
        watcher.join(timeout=5)
    assert not watcher.is_alive()


def test_a_killed_workers_folders_are_removed_by_the_next_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-task leaves its folder (a part file, records); the next task on any worker removes the
    folders of worker processes that are gone, and no other."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"tsharkpost-worker-{gone.pid}-x1y2"
    alive = tmp_path / f"tsharkpost-worker-{os.getppid()}-z3"
    unrelated = tmp_path / "tsharkpost-worker-_qu9mkwg"   # named before folders carried their worker's id
    for folder in (stale, alive, unrelated):
        folder.mkdir()
        (folder / "part-1.cap").write_bytes(b"x" * 100)
    with cluster_module._scratch() as scratch:
        assert Path(scratch).name.startswith(f"tsharkpost-worker-{os.getpid()}-")
        assert not stale.exists() and alive.exists() and unrelated.exists()


def test_a_scheduler_address_that_is_refused_or_no_scheduler_is_one_line(tmp_path: Path) -> None:
    """A port nobody listens on is said at once; a server there that is no Dask scheduler (Dask's client read its
    answer as a frame length and failed with MemoryError, then took a minute to close) is said in one line, soon."""
    refused = f"tcp://127.0.0.1:{_free_port()}"
    began = time.monotonic()
    done = subprocess.run([*console_script(), "summarize", "--scheduler", refused, str(SEED)], capture_output=True,
                          text=True, env=environment(tmp_path / "home"), timeout=60, check=False)
    assert time.monotonic() - began < 10
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"tsharkpost: ERROR: cannot reach the Dask scheduler at {refused}: Connection refused\n"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"

        def answer() -> None:   # an HTTP server's answer, to whoever connects
            with contextlib.suppress(OSError):
                while True:
                    peer, _ = server.accept()
                    peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

        threading.Thread(target=answer, daemon=True).start()
        began = time.monotonic()
        done = subprocess.run([*console_script(), "summarize", "--scheduler", address, str(SEED)],
                              capture_output=True, text=True, env=environment(tmp_path / "home"), timeout=90,
                              check=False)
    assert time.monotonic() - began < 45
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"tsharkpost: ERROR: cannot reach the Dask scheduler at {address} (is it one?): ")
    assert done.stderr.count("\n") == 1, done.stderr
