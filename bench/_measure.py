"""Side-by-side timing for the bench scripts: median wall time and peak memory of whole commands."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    seconds: float  # median wall time
    peak_mib: float  # largest peak RSS seen in any run (the process tree's largest member)


def run_once(command: str | Sequence[str], stdout_path: str) -> tuple[float, float]:
    """Run a command once with stdout to a file; return wall seconds and peak RSS in MiB."""
    shell = isinstance(command, str)
    with open(stdout_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, shell=shell, stdout=out, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command!r} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


def compare(commands: dict[str, str | Sequence[str]], rounds: int, outdir: str) -> list[Result]:
    """Run every command `rounds` times, interleaved so that machine noise hits all alike."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
    for _ in range(rounds):
        for name, command in commands.items():
            seconds, peak = run_once(command, os.path.join(outdir, f"{name}.out"))
            walls[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
    return [Result(name, statistics.median(walls[name]), peaks[name]) for name in commands]


def report(results: list[Result], reference: str) -> str:
    """A table of medians, ratios against `reference`, and peak memory."""
    base = next(r.seconds for r in results if r.name == reference)
    lines = [f"{'command':<22} {'median s':>9} {'ratio':>7} {'peak MiB':>9}"]
    for r in results:
        lines.append(f"{r.name:<22} {r.seconds:>9.3f} {r.seconds / base:>7.2f} {r.peak_mib:>9.0f}")
    lines.append(f"(ratio = median wall time / median of {reference}; lower is faster)")
    return "\n".join(lines)
