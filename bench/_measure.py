"""Side-by-side timing for the bench scripts: median wall time, CPU seconds and peak memory of whole
commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    seconds: float  # median wall time
    peak_mib: float  # the largest sum of PSS over the command's process tree, sampled every 50 ms
    cpu: float = 0.0  # median CPU seconds (user + system) of the command's whole process tree


def _tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc/PID/task/TID/children."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
        except OSError:
            pass  # the process ended meanwhile
    return pids


def _pss_kib(pid: int) -> int:
    """Proportional set size: memory shared by forked processes counts once, split among them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _sample_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Record in peak[0] the largest total PSS of the tree under pid until `done`."""
    while not done.wait(0.05):
        peak[0] = max(peak[0], sum(_pss_kib(p) for p in _tree(pid)))


def parse_arguments(
    parser: argparse.ArgumentParser, rounds: int, links: str | None = None
) -> argparse.Namespace:
    """Add the options every bench script has (--rounds, --data, --baseline, and --links where a
    server paces the payload), parse the command line, and make the data folder."""
    parser.add_argument("--rounds", type=int, default=rounds, help="runs of each command")
    if links:
        parser.add_argument("--links", default=links, help="link speeds: loopback, or MB/s")
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "isintool-bench"))
    parser.add_argument(
        "--baseline", metavar="DIR", help="also time the isintool.py of another checkout, side by side"
    )
    args = parser.parse_args()
    os.makedirs(args.data, exist_ok=True)
    return args


def _children_cpu() -> float:
    """User and system seconds of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: str | Sequence[str], stdout_path: str) -> tuple[float, float, float]:
    """Run a command once with stdout to a file; wall seconds, CPU seconds and peak MiB of its
    process tree.

    CPU seconds are the growth of RUSAGE_CHILDREN across the wait: a process's children's times
    count there once it waits for them, so a shell's pipeline, and a pool's workers, add up into
    the command's (the served link is a child too, but no one waits for it until the bench ends).
    Memory is sampled, not read from wait4: a child's ru_maxrss starts from what the forking
    process (this script) had, and a pipeline's or a pool's processes would not add up.
    """
    shell = isinstance(command, str)
    with open(stdout_path, "wb") as out:
        cpu = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.Popen(command, shell=shell, stdout=out, stdin=subprocess.DEVNULL)
        done, peak = threading.Event(), [0]
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, done, peak))
        sampler.start()
        returncode = proc.wait()
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu
        done.set()
        sampler.join()
    if returncode != 0:
        raise SystemExit(f"{command!r} failed with exit code {returncode}")
    return seconds, cpu, peak[0] / 1024


def compare(
    commands: dict[str, str | Sequence[str]], rounds: int, outdir: str, before: dict[str, str] | None = None
) -> list[Result]:
    """Run every command `rounds` times, interleaved so that machine noise hits all alike;
    `before[name]`, a shell command, runs untimed ahead of each run of that command (to put
    back the state it changes)."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
    for _ in range(rounds):
        for name, command in commands.items():
            if before and name in before:
                subprocess.run(before[name], shell=True, check=True)
            seconds, cpu, peak = run_once(command, os.path.join(outdir, f"{name}.out"))
            walls[name].append(seconds)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], peak)
    return [
        Result(name, statistics.median(walls[name]), peaks[name], statistics.median(cpus[name]))
        for name in commands
    ]


def report(results: list[Result], reference: str, memory: bool = True) -> str:
    """A table of medians of wall and CPU time, their ratios against `reference`, and (for long
    runs) peak memory."""
    base = next(r for r in results if r.name == reference)
    header = f"{'command':<22} {'wall s':>8} {'ratio':>6} {'CPU s':>8} {'ratio':>6}"
    lines = [header + (f" {'peak MiB':>9}" if memory else "")]
    for r in results:
        row = (
            f"{r.name:<22} {r.seconds:>8.3f} {r.seconds / base.seconds:>6.2f}"
            f" {r.cpu:>8.2f} {r.cpu / max(base.cpu, 1e-9):>6.2f}"
        )
        lines.append(row + (f" {r.peak_mib:>9.0f}" if memory else ""))
    lines.append(f"(medians; ratio = this command's / {reference}'s; lower is faster)")
    lines.append("(CPU = user + system seconds of all the command's processes together)")
    if memory:
        lines.append("(peak = PSS of all the command's processes together, sampled every 50 ms)")
    return "\n".join(lines)


def generated(path: str, make: Callable[[str, int], None], size: int) -> str:
    """`path`, made by make(temporary, size) unless it exists from an earlier run."""
    if not os.path.exists(path):
        print(f"generating {path} ...", file=sys.stderr)
        make(path + ".tmp", size)
        os.replace(path + ".tmp", path)
    return path


def isintool_command(root: str) -> str:
    """The command that runs the tool in `root` as the installed one runs: `-m`, from bytecode
    compiled ahead (pip compiles at install; without it every start compiles the whole file).
    `-P` (Python 3.11) keeps `-m` from putting the current folder first on the path, where the
    checkout the bench runs in would shadow a --baseline."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(root, "isintool.py")], check=True)
    return f"env PYTHONPATH={os.path.abspath(root)} {sys.executable} -P -m isintool"


def isintool_commands(root: str, baseline: str | None) -> dict[str, str]:
    """The tool in `root` by the suffix its commands' names get (none), and the --baseline
    checkout's, if given, by " (base)"."""
    tools = {"": isintool_command(root)}
    if baseline:
        tools[" (base)"] = isintool_command(baseline)
    return tools


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(folder: str, rate: float | None = None) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (at `rate` bytes a second, or as fast as it can) in a process
    of its own, as a remote server would be; yields the base URL."""
    port = free_port()
    serve = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_serve.py")
    command = [sys.executable, serve, folder, str(port), *(["--rate", str(rate)] if rate else [])]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # until it listens
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()


def link_rates(links: str) -> list[float | None]:
    """--links as bytes a second: None for loopback (as fast as it goes), else the MB/s given."""
    return [None if link == "loopback" else float(link) * 1e6 for link in links.split(",")]


def link_label(rate: float | None) -> str:
    return "loopback (no limit)" if rate is None else f"{rate / 1e6:g} MB/s ({rate * 8 / 1e6:g} Mbit/s)"
