"""isintool: pull order IDs out of JSON, keep a validated ISIN list fresh, and schedule it with cron.

Usage:
    isintool extract orders.json            # [1, 2, 3]
    isintool fetch -o /var/lib/isins.txt    # download, validate, replace atomically
    isintool crontab | sudo tee /etc/cron.d/isintool
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, TypeVar

import click

if TYPE_CHECKING:
    from concurrent.futures import Future

__version__ = "0.1.0"
__all__ = ["IsinToolError", "cli", "extract_ids", "format_ids"]

# --- Constants -------------------------------------------------------------------------------------

CHUNK_SIZE = 4 * 1024 * 1024  # large enough to amortise the regex call, small enough to stay flat
# Bytes that never occur inside `"id": 123`, so input may be cut just after any of them without
# splitting a match. JSON puts one at least between every two values.
_STOP_BYTES = b",{}[]"
# Files at least this big are split between the CPU cores; below it, starting workers costs more.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
SEGMENT_BYTES = 32 * 1024 * 1024  # the unit of work a core takes; its output is held until written


T = TypeVar("T")
R = TypeVar("R")


class IsinToolError(Exception):
    """Base class of every error isintool reports to its user."""


# --- Extract ---------------------------------------------------------------------------------------


def _id_pattern(key: str) -> re.Pattern[bytes]:
    """Compile the regex for `"KEY": <integer>`; the integer is group 1."""
    quoted = json.dumps(key, ensure_ascii=False).encode()
    # The look-ahead rejects the integer part of 1.5, 1e3 and the like: order IDs are integers.
    return re.compile(re.escape(quoted) + rb"\s*:\s*(\d+)(?![\d.eE])")


def _stop_bytes(key: str) -> list[bytes]:
    """The stop bytes that cannot be part of a match for this key."""
    quoted = json.dumps(key, ensure_ascii=False).encode()
    return [bytes([b]) for b in _STOP_BYTES if b not in quoted]


def extract_ids(chunks: Iterable[bytes], key: str = "id") -> Iterator[list[bytes]]:
    """Yield, a batch per chunk, the digits of every `"KEY": <integer>` in the JSON text.

    The text arrives in chunks of any size; a match split between chunks is found exactly once.
    Each chunk is cut after its last stop byte and the rest carried into the next, so memory
    stays at a few chunks unless the input runs for megabytes without a `,`, `{`, `}`, `[` or `]`.
    """
    pattern = _id_pattern(key)
    stops = _stop_bytes(key)
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        cut = max(buffer.rfind(stop) for stop in stops) + 1 if stops else 0
        if cut:
            yield pattern.findall(buffer, 0, cut)
        carry = buffer[cut:]
    yield pattern.findall(carry)


def format_ids(batches: Iterable[list[bytes]], lines: bool = False) -> Iterator[bytes]:
    """Render batches of IDs as one list, `[1, 2, 3]`, or one ID per line; yields output pieces."""
    if lines:
        for ids in batches:
            if ids:
                yield b"\n".join(ids) + b"\n"
        return
    separator = b"["  # written with the first IDs, so a read error before them prints nothing
    for ids in batches:
        if ids:
            yield separator + b", ".join(ids)
            separator = b", "
    yield b"[]\n" if separator == b"[" else b"]\n"


def _read_chunks(stream: BinaryIO, size: int = CHUNK_SIZE, limit: int | None = None) -> Iterator[bytes]:
    """Yield the stream's bytes in chunks of at most `size`, stopping after `limit` bytes if given."""
    left = limit
    while left is None or left > 0:
        chunk = stream.read(size if left is None else min(size, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def extract_file(path: str, key: str = "id", lines: bool = False) -> Iterator[bytes]:
    """Output pieces for a regular file, scanned by all CPU cores in order-keeping segments."""
    stops = _stop_bytes(key)
    workers = _available_cores()
    size = os.path.getsize(path)
    if workers < 2 or size < PARALLEL_MIN_BYTES or not stops:
        with open(path, "rb") as stream:
            yield from format_ids(extract_ids(_read_chunks(stream), key), lines=lines)
        return
    with open(path, "rb") as stream:
        points = _cut_points(stream, size, size // SEGMENT_BYTES + 1, stops)
    separator = b"\n" if lines else b", "
    jobs = [(path, start, end, key, separator) for start, end in itertools.pairwise(points)]
    # Each segment comes back as its IDs already joined: format_ids treats it as one ID.
    yield from format_ids(_parallel_map(_extract_segment, jobs, workers), lines=lines)


def _available_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _cut_points(stream: BinaryIO, size: int, parts: int, stops: list[bytes]) -> list[int]:
    """Offsets from 0 to `size` that cut a file into about `parts` pieces, each after a stop byte."""
    points = [0]
    for part in range(1, parts):
        offset = max(size * part // parts, points[-1])
        stream.seek(offset)
        for chunk in _read_chunks(stream, 64 * 1024):
            found = [i for i in (chunk.find(stop) for stop in stops) if i >= 0]
            if found:
                points.append(offset + min(found) + 1)
                break
            offset += len(chunk)
    return [*points, size] if points[-1] < size else points


def _extract_segment(job: tuple[str, int, int, str, bytes]) -> list[bytes]:
    """Worker: the IDs in bytes [start, end) of a file, joined with `separator`, as a batch of one."""
    path, start, end, key, separator = job
    with open(path, "rb") as stream:
        stream.seek(start)
        batches = extract_ids(_read_chunks(stream, limit=end - start), key)
        joined = [separator.join(ids) for ids in batches if ids]
    return [separator.join(joined)] if joined else []


def _parallel_map(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """Yield func(item) for each item, in order, computed by `workers` processes a few items ahead."""
    from concurrent.futures import ProcessPoolExecutor  # only the parallel path pays for the import
    from multiprocessing import get_context

    # fork starts a worker in a millisecond and this path runs no threads; the default from 3.14
    # on (forkserver) would re-import the module in every worker.
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) > 2 * workers:  # bounds memory when the reader of our output is slow
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# --- CLI -------------------------------------------------------------------------------------------


@click.group("isintool", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="isintool")
def cli() -> None:
    """Work with securities reference data: order IDs, ISIN lists, and their cron job."""


@cli.command()
@click.argument("file", default="-", type=click.Path(allow_dash=True))
@click.option("--key", default="id", show_default=True, metavar="NAME", help="The JSON key whose integer values to pull.")
@click.option("--lines", is_flag=True, help="Print one ID per line instead of a list.")
def extract(file: str, key: str, lines: bool) -> None:
    """Print every order ID found in FILE (default: standard input).

    \b
    Reads JSON text and prints the integer value of every "id" key, in input order:
        $ echo '{"orders":[{"id":1},{"id":2}],"errors":[{"code":3}]}' | isintool extract
        [1, 2]
    The text is scanned with one regular expression, not parsed: an "id" key in any nested
    object counts, and string values ("id": "7") do not. Input of any size streams through
    in flat memory; invalid UTF-8 is fine.
    """
    try:
        if file != "-" and os.path.isfile(file):
            _write_stdout(extract_file(file, key, lines))
        else:
            with click.open_file(file, "rb") as stream:  # `-` is standard input, left open
                _write_stdout(format_ids(extract_ids(_read_chunks(stream), key), lines=lines))
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None


def _write_stdout(pieces: Iterable[bytes]) -> None:
    """Write bytes to standard output; a reader that goes away (`| head`) ends the run quietly."""
    out = sys.stdout.buffer
    try:
        for piece in pieces:  # errors reading the input come from here, not from the writes
            _write_piece(out, piece)
        out.flush()
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point it elsewhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _write_piece(out: BinaryIO, piece: bytes) -> None:
    """Write one piece, turning a full disk or the like into a one-line error."""
    try:
        out.write(piece)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise click.ClickException(f"cannot write the output: {exc.strerror or exc}") from None


if __name__ == "__main__":
    cli(prog_name="isintool")  # the same name in --help as the installed command
