"""Where `isintool fetch` spends its CPU, stage by stage, on a payload read from disk.

    python bench/stages.py PAYLOAD [--column Id] [--rounds 3] [--profile]

Runs fetch's parse of PAYLOAD (a zip, gzip or plain file, as a download would deliver it) in
this process, one stage after the other, and prints the CPU seconds of each: inflating, cutting
blocks, picking the column (the fixed-width path for machine-written CSV, else the reading's
regex and the values' records), validating the check digits, the per-block sort of the valid
records (_valid_sorted: the others marked, the sort, the cut), the key ranges' pivots and cuts,
then the merge (the range's pieces joined, their sort, the repeats dropped) and the write (with
its sha256). Each stage calls the functions fetch calls, in the order fetch calls them; the
merge's steps are those of _merge_runs, taken apart. Then it times parse_texts whole, in one
process and with a worker per core (CPU of this process and its children): the difference is
what the hand-overs between processes cost. With --profile, cProfile's view of one process as
well. Medians of --rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import isintool  # noqa: E402


def _texts(path: str) -> Iterator[tuple[str, Iterator[bytes]]]:
    """The payload's texts, as fetch gets them from a download: read in fetch's pieces."""
    with open(path, "rb") as f:
        for text in isintool._decompressed_texts(isintool._read_chunks(f, isintool.READ_SIZE), 2**40):
            yield path, text


class _Clock:
    """CPU seconds by stage, summed over calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def time(self, stage: str, func: Callable[..., object], *args: object) -> object:
        started = time.process_time()
        result = func(*args)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.process_time() - started
        return result

    def timed(self, stage: str, items: Iterator[object]) -> Iterator[object]:
        """The items, the time to make each counted in `stage`."""
        while True:
            started = time.process_time()
            item = next(items, None)
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.process_time() - started
            if item is None:
                return
            yield item


def stages(path: str, column: str | None) -> dict[str, float]:
    """CPU seconds of each stage of fetch's parse of one payload, in one process."""
    clock = _Clock()
    readings: list[isintool._Reading] = []
    texts = ((source, clock.timed("inflate", iter(text))) for source, text in _texts(path))
    runs = []
    for block, reading in clock.timed("cut into blocks", isintool._text_jobs(texts, column, readings)):
        lines = (
            clock.time("column: fixed width", isintool._fixed_width_column, block, reading.layout)
            if reading.layout
            else None
        )
        if lines is None:
            candidates, _rows = clock.time(
                "column: regex", reading.kind.values, block.decode("latin-1"), reading
            )
            lines = clock.time("column: records", isintool._value_lines, candidates)
        mask = clock.time("validate", isintool._isin_mask, lines)
        runs.append(clock.time("block sort", isintool._valid_sorted, lines, mask))
    clock.seconds["cut into blocks"] -= clock.seconds["inflate"]  # the blocks' chunks come inflated
    runs = [run for run in runs if run]
    count = isintool._key_range_count(runs)
    pivots = clock.time("pivots and cuts", isintool._pivots, runs, count) if runs else []
    ranges = clock.time("pivots and cuts", isintool._KeyRanges.of, runs, pivots)
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as out:
        for k in range(len(ranges)):
            pieces = [run[cuts[k] : cuts[k + 1]] for run, cuts in zip(ranges.runs, ranges.cuts, strict=True)]
            records = clock.time("merge: join", bytearray().join, pieces)
            clock.time("merge: sort", isintool._sort_records, records)
            text, _dropped = clock.time("merge: drop duplicates", isintool._without_repeats, records)
            clock.time("write (and sha256)", digest.update, text)
            clock.time("write (and sha256)", out.write, text)
    return clock.seconds


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def whole(path: str, column: str | None, workers: int) -> float:
    """CPU seconds (this process and its children) of parse_texts over the payload."""
    started = _cpu()
    with open(os.devnull, "wb") as out:
        isintool.parse_texts(_texts(path), out.write, column, workers)
    return _cpu() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("payload")
    parser.add_argument("--column")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also cProfile one process")
    args = parser.parse_args()
    rounds = [stages(args.payload, args.column) for _ in range(args.rounds)]
    print(f"CPU seconds by stage, one process, medians of {args.rounds}: {args.payload}")
    for stage in rounds[0]:
        print(f"  {stage:<26} {statistics.median(r[stage] for r in rounds):6.2f}")
    total = statistics.median(sum(r.values()) for r in rounds)
    print(f"  {'sum':<26} {total:6.2f}")
    one, parallel = [], []
    workers = isintool._available_cores()
    minimum = isintool.PARALLEL_MIN_BLOCKS
    for _ in range(args.rounds):
        isintool.PARALLEL_MIN_BLOCKS = 10**9  # no worker starts
        one.append(whole(args.payload, args.column, workers))
        isintool.PARALLEL_MIN_BLOCKS = minimum
        parallel.append(whole(args.payload, args.column, workers))
    print(f"parse_texts whole, one process:          {statistics.median(one):6.2f}")
    print(
        f"parse_texts whole, {workers} worker processes:   {statistics.median(parallel):6.2f} (all processes)"
    )
    if args.profile:
        isintool.PARALLEL_MIN_BLOCKS = 10**9
        profile = cProfile.Profile()
        with open(os.devnull, "wb") as out:
            profile.runcall(isintool.parse_texts, _texts(args.payload), out.write, args.column)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
