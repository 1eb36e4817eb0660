"""isintool: pull order IDs out of JSON, keep a validated ISIN list fresh, and schedule it with cron.

Usage:
    isintool extract orders.json            # [1, 2, 3]
    isintool fetch -o /var/lib/isins.txt    # download, validate, replace atomically
    isintool crontab | sudo tee /etc/cron.d/isintool
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import fcntl
import io
import itertools
import json
import operator
import os
import pwd
import re
import shlex
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TypeVar

import click

# zipfile, gzip, tempfile and requests are imported in the fetch functions that use them:
# `extract` must start about as fast as `import click` does, and they cost more than half that.

if TYPE_CHECKING:
    from concurrent.futures import Future

__version__ = "0.1.0"
__all__ = [
    "IsinToolError",
    "LockedError",
    "atomic_file",
    "cli",
    "crontab_entry",
    "extract_file",
    "extract_ids",
    "extract_stream",
    "fetch_to_file",
    "format_ids",
    "is_valid_isin",
    "parse_isins",
    "write_atomically",
]

# --- Constants -------------------------------------------------------------------------------------

CHUNK_SIZE = 1024 * 1024  # extract's reads: enough to amortise a regex call, small to stay flat
# JSON writes a `{` or `,` before every object member, and a match (key, colon, value) holds one
# only inside a string value: input is cut just before one of these bytes.
_MEMBER_STARTS = b"{,"
BACKSLASH = ord("\\")
# Files at least this big are split between the CPU cores; below it, starting workers costs more.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
SEGMENT_BYTES = 16 * 1024 * 1024  # the unit of work a core takes; its output is held until written
# A JSON string as written: quotes, and any escape pair within (an unrolled loop, linear time).
JSON_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
# After a key, its string value: whole, or cut short by the end of the text.
_STRING_VALUE = re.compile(rb'\s*:\s*"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)


T = TypeVar("T")
R = TypeVar("R")


class IsinToolError(Exception):
    """Base class of every error isintool reports to its user."""


# --- Extract ---------------------------------------------------------------------------------------


def _json_key(key: str) -> bytes:
    """The key as JSON writes it: quoted, with `"` and `\\` escaped, UTF-8."""
    return json.dumps(key, ensure_ascii=False).encode()


def _key_pattern(key: str, value: bytes) -> re.Pattern[bytes]:
    """Compile a regex for the object member `"KEY": VALUE`, VALUE's text as group 1.

    The quoted key comes first, so the regex engine's fast literal search finds candidates. It
    counts only where the key's opening quote is not escaped: in valid JSON such a quoted KEY
    followed by a colon always begins an object member (were the quote a string's closing one,
    the key's text would follow a string, which JSON does not allow), so `{"my\\"id": 3}` and
    `"a,\\"id\\":5"` inside a string give nothing.
    """
    quoted = _json_key(key)
    unescaped = b"(?<!\\\\" + re.escape(quoted) + b")"  # no backslash before the opening quote
    return re.compile(re.escape(quoted) + unescaped + rb"\s*:\s*" + value, re.DOTALL)


# What extract prints: an integer as written (any sign and size; the look-ahead rejects 1.5 and
# 1e3) or a string as written, so that the list stays JSON.
_ID_VALUE = rb"(-?\d+(?![\d.eE])|" + JSON_STRING + rb")"


def _cut_before_member(key: str) -> Callable[[bytes], int]:
    """Where text may be cut without splitting a match of `"KEY": value`: before the last `{` or
    `,`, unless that stands in the string value of the last KEY, then before that KEY. 0 when
    there is no such place (a key holding both bytes is never cut)."""
    quoted = _json_key(key)
    stops = [bytes([b]) for b in _MEMBER_STARTS if b not in quoted]

    def cut(buffer: bytes) -> int:
        if not stops:
            return 0
        end = max(buffer.rfind(stop) for stop in stops)
        last_key = buffer.rfind(quoted)  # a value holds no key: only the last key's may span `end`
        while last_key > 0 and buffer[last_key - 1] == BACKSLASH:  # `\"id"` inside a string is none
            last_key = buffer.rfind(quoted, 0, last_key + len(quoted) - 1)
        if 0 <= last_key < end:
            value = _STRING_VALUE.match(buffer, last_key + len(quoted))
            if value and value.end() > end:
                end = max(buffer.rfind(stop, 0, last_key) for stop in stops)  # keep KEY with its value
        return max(end, 0)

    return cut


def extract_ids(chunks: Iterable[bytes], key: str = "id") -> Iterator[list[bytes]]:
    """Yield, a batch per chunk, every integer or string value of the key KEY in JSON text, as
    written (a string with its quotes).

    The text arrives in chunks of any size; a match split between chunks is found exactly once.
    Each chunk is cut before its last `{` or `,` outside a match and the rest carried into the
    next, so memory stays at a few chunks unless the input runs for megabytes without one.
    """
    pattern = _key_pattern(key, _ID_VALUE)
    for buffer, end in _regroup(chunks, _cut_before_member(key)):
        yield pattern.findall(buffer, 0, end)


def _regroup(chunks: Iterable[bytes], cut: Callable[[bytes], int]) -> Iterator[tuple[bytes, int]]:
    """Regroup chunks into whole units: yield (buffer, end) where buffer[:end] ends at a place
    `cut` chose, carrying the rest into the next chunk; the last pair holds what is left."""
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        end = cut(buffer)
        if end:
            yield buffer, end
        carry = buffer[end:]
    yield carry, len(carry)


def format_ids(batches: Iterable[list[bytes]], lines: bool = False) -> Iterator[bytes]:
    """Render batches of IDs as one JSON list, `[1, "a2", 3]`, or an ID a line with strings
    decoded; yields output pieces."""
    return _join_pieces((_render(ids, lines) for ids in batches if ids), lines)


def _render(ids: list[bytes], lines: bool) -> bytes:
    """A batch of IDs as one piece: joined by `, ` for a list, or a line each with strings decoded."""
    if not lines:
        return b", ".join(ids)
    text = b"\n".join(ids)
    if b'"' in text:  # string IDs: per-ID work only for them
        text = b"\n".join(_decode_string(i) if i.startswith(b'"') else i for i in ids)
    return text


def _decode_string(written: bytes) -> bytes:
    """A JSON string's value in UTF-8, from the string as written; bytes that are no UTF-8 kept."""
    try:
        return json.loads(written.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    except (ValueError, UnicodeError):  # a stray escape, or a lone surrogate such as \ud800
        return written[1:-1]


def _join_pieces(pieces: Iterable[bytes], lines: bool) -> Iterator[bytes]:
    """Rendered pieces as the list `[a, b]` or as lines."""
    if lines:
        for piece in pieces:
            yield piece + b"\n"
        return
    separator = b"["  # written with the first IDs, so a read error before them prints nothing
    for piece in pieces:
        yield separator + piece
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


def extract_stream(stream: BinaryIO, key: str = "id", lines: bool = False) -> Iterator[bytes]:
    """Output pieces for any stream (a pipe too), read in order on one core."""
    return format_ids(extract_ids(_read_chunks(stream), key), lines=lines)


def extract_file(path: str, key: str = "id", lines: bool = False) -> Iterator[bytes]:
    """Output pieces for a regular file, scanned by all CPU cores in order-keeping segments."""
    workers = _available_cores()
    size = os.path.getsize(path)
    if workers < 2 or size < PARALLEL_MIN_BYTES:
        with open(path, "rb") as stream:
            yield from extract_stream(stream, key, lines)
        return
    with open(path, "rb") as stream:
        points = _cut_points(stream, size, size // SEGMENT_BYTES + 1, _json_key(key))
    jobs = [(path, start, end, key, lines) for start, end in itertools.pairwise(points)]
    pieces = itertools.chain.from_iterable(_parallel_map(_extract_segment, jobs, workers))
    yield from _join_pieces(pieces, lines)  # each segment comes back rendered, as one piece or none


def _available_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _cut_points(stream: BinaryIO, size: int, parts: int, quoted_key: bytes) -> list[int]:
    """Offsets from 0 to `size` that cut a file into about `parts` pieces, each just before a
    quoted key whose opening quote is not escaped: no match spans such a place."""
    points = [0]
    for part in range(1, parts):
        found = _next_key(stream, max(size * part // parts, points[-1] + 1), quoted_key)
        if found is None:
            break
        points.append(found)
    return [*points, size] if points[-1] < size else points


def _next_key(stream: BinaryIO, offset: int, quoted_key: bytes) -> int | None:
    """The offset of the first `quoted_key` at or after `offset` (> 0) not preceded by `\\`."""
    position = offset - 1  # the file offset of window[0]: one byte early, to see a backslash
    stream.seek(position)
    window = b""
    for chunk in _read_chunks(stream, 64 * 1024):
        window += chunk
        found = window.find(quoted_key, 1)
        while found > 0:
            if window[found - 1] != BACKSLASH:
                return position + found
            found = window.find(quoted_key, found + 1)
        tail = window[-len(quoted_key) :]  # may hold the start of a key the next read completes
        position += len(window) - len(tail)
        window = tail
    return None


def _extract_segment(job: tuple[str, int, int, str, bool]) -> list[bytes]:
    """Worker: the IDs in bytes [start, end) of a file, rendered as one piece (none if no IDs)."""
    path, start, end, key, lines = job
    with open(path, "rb") as stream:
        stream.seek(start)
        batches = extract_ids(_read_chunks(stream, limit=end - start), key)
        pieces = [_render(ids, lines) for ids in batches if ids]
    return [(b"\n" if lines else b", ").join(pieces)] if pieces else []


def _parallel_map(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """Yield func(item) for each item, in order, computed by `workers` processes a few items ahead."""
    from concurrent.futures import ProcessPoolExecutor  # only the parallel path pays for the import
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    # fork starts a worker in a millisecond, and the CLI runs no threads that fork could catch
    # holding a lock; the default from 3.14 on (forkserver) would import the module in every
    # worker. A program with threads calling this gets Python's warning about fork and threads.
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(func, item))
                if len(pending) > 2 * workers:  # bounds memory when the reader of our output is slow
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise IsinToolError("a worker process died (out of memory?)") from None


# --- ISIN validation -------------------------------------------------------------------------------

# ISO 6166 shape: a two-letter prefix (a country, or XS, EU, XF...), nine alphanumerics, a check digit.
# Parsing works on text decoded as latin-1 (a byte a character, never an error): CPython sorts
# and searches such str a fifth faster than bytes.
ISIN_PATTERN = r"[A-Z]{2}[A-Z0-9]{9}[0-9]"
_ISIN_LINE = re.compile(r"(?m)^" + ISIN_PATTERN + r"$")
# What an ISIN token must not touch on either side (the look-arounds of _ISIN_TOKEN).
_TOKEN_BYTES = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ISIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])" + ISIN_PATTERN + r"(?![A-Za-z0-9])")


def _luhn_digit(digit: int, doubled: bool) -> int:
    """What one digit adds to a Luhn sum: itself, or its double with the two digits added."""
    return (2 * digit - 9 if digit >= 5 else 2 * digit) if doubled else digit


def _isin_char_sum(value: int, doubled: bool) -> int:
    """What one ISIN character (0-9, A=10 ... Z=35) adds; a letter counts as its two digits."""
    if value < 10:
        return _luhn_digit(value, doubled)
    tens, ones = divmod(value, 10)
    return _luhn_digit(ones, doubled) + _luhn_digit(tens, not doubled)


def _table(mapping: Callable[[int], int]) -> bytes:
    """A bytes.translate table from a function of the byte value."""
    return bytes(mapping(b) & 0xFF for b in range(256))


_ALPHANUMERIC = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CHAR_VALUE = _table(lambda b: max(_ALPHANUMERIC.find(b), 0))
_IS_DIGIT = _table(lambda b: 48 <= b <= 57)
_IS_LETTER = _table(lambda b: 65 <= b <= 90)
_IS_ALPHANUMERIC = _table(lambda b: b in _ALPHANUMERIC)
_SHAPE = (_IS_LETTER,) * 2 + (_IS_ALPHANUMERIC,) * 9 + (_IS_DIGIT,)  # ISIN_PATTERN, a position each
# Indexed by value + 36 * doubled: what a character adds to the sum (at most 18).
_CHAR_SUM = _table(lambda b: _isin_char_sum(b % 36, b >= 36) if b < 72 else 0)
_SUM_OK = _table(lambda b: b % 10 == 0)
_LINE = 13  # an ISIN and its newline: lists of them are fixed-width records, cut and read blind


def _isin_mask(lines: bytes) -> bytes:
    """One byte per 13-byte line (12 characters and a newline): 1 where the line is an ISIN,
    of ISIN_PATTERN's shape and with a check digit that holds, else 0.

    ISO 6166: write letters as numbers (A=10 ... Z=35), then the Luhn sum of all the digits,
    check digit included, must end in 0. Luhn doubles every second digit from the right, so a
    character is doubled when an odd number of digit characters stand to its right (a letter
    adds two digits, which keeps the parity).

    All lines are checked at once, a character position at a time: a column's bytes, turned
    into numbers by `translate`, are read as one big integer with a byte per line, and adding
    such integers adds every line's figures side by side. No figure passes 255 (12 characters
    add at most 12 * 18), so nothing carries into a neighbour. Python's big-integer arithmetic
    does in C what would otherwise be a loop over millions of strings.
    """
    count = len(lines) // _LINE
    total = doubled = 0  # doubled: 1 in a line's byte while an odd number of digits stand to the right
    shaped = int.from_bytes(b"\x01" * count, "big")
    for position in reversed(range(12)):
        chars = lines[position::_LINE]
        shaped &= int.from_bytes(chars.translate(_SHAPE[position]), "big")
        index = int.from_bytes(chars.translate(_CHAR_VALUE), "big") + 36 * doubled
        total += int.from_bytes(index.to_bytes(count, "big").translate(_CHAR_SUM), "big")
        doubled ^= int.from_bytes(chars.translate(_IS_DIGIT), "big")
    ok = int.from_bytes(total.to_bytes(count, "big").translate(_SUM_OK), "big")
    return (ok & shaped).to_bytes(count, "big")


def is_valid_isin(text: str) -> bool:
    """True when `text` is an upper-case ISIN whose check digit holds."""
    return len(text) == 12 and text.isascii() and _isin_mask(text.encode("ascii") + b"\n") == b"\x01"


def _valid_isins(lines: bytes) -> list[str]:
    """The ISINs among 13-byte lines, in order."""
    return list(itertools.compress(lines.decode("latin-1").split("\n"), _isin_mask(lines)))


def _keep_valid(candidates: list[str]) -> list[str]:
    """The ISIN-shaped candidates whose check digit holds, in order (_valid_isins for a list:
    the regex's candidates need no decode and split, and most often all of them are kept)."""
    mask = _isin_mask("\n".join([*candidates, ""]).encode("latin-1"))
    if b"\x00" not in mask:
        return candidates
    return list(itertools.compress(candidates, mask))


# --- Parse -----------------------------------------------------------------------------------------

# The units of fetch's work, a worker's task each: blocks of text to parse into sorted runs, and
# key ranges of the list to merge. Large enough to amortise sending them, small enough to be worked
# in the CPU's caches: 1 MiB and 64 ranges parse a GLEIF file 15% faster than 4 MiB and 8.
BLOCK_SIZE = 1024 * 1024
KEY_RANGES = 64
ISIN_COLUMN_NAMES = ("isin", "isin number")  # NSE India writes " ISIN NUMBER"
_DELIMITERS = (",", ";", "\t")
HEADER_SEARCH_LINES = 100  # preamble lines allowed before the header (Xetra's file has a few)


class CsvLayout(NamedTuple):
    """Where the ISINs stand in a CSV file."""

    delimiter: str
    column: int
    data_start: int  # offset of the first data row in the text searched for the header


class ListCounts(NamedTuple):
    """What parsing found: the ISINs in the list (sorted and unique) and what was left out."""

    count: int
    invalid: int
    duplicates: int


def find_csv_layout(head: bytes, column: str | None = None) -> CsvLayout | None:
    """Find the header naming the ISIN column in the first lines; None when the text is no CSV."""
    wanted = {column.strip().lower()} if column else set(ISIN_COLUMN_NAMES)
    offset = 0
    for line in head.split(b"\n")[:HEADER_SEARCH_LINES]:
        text = line.decode("utf-8", "replace").lstrip("\ufeff")
        for delimiter in _DELIMITERS:
            names = _header_names(text, delimiter)
            if wanted & set(names):
                return CsvLayout(
                    delimiter,
                    next(i for i, name in enumerate(names) if name in wanted),
                    offset + len(line) + 1,
                )
        offset += len(line) + 1
    if column:
        raise IsinToolError(f"no column named {column!r} in the first {HEADER_SEARCH_LINES} lines")
    return None


def _header_names(line: str, delimiter: str) -> list[str]:
    """The fields of a possible header line, stripped and lower-cased; none if it is no CSV."""
    try:
        fields = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a NUL or a stray carriage return: binary data, not a header
        return []
    return [field.strip().lower() for field in fields]


def _head(chunks: Iterator[bytes]) -> bytes:
    """Take chunks until they hold the lines where a header may stand (or the text ends)."""
    head = b""
    while head.count(b"\n") < HEADER_SEARCH_LINES and len(head) < BLOCK_SIZE:
        chunk = next(chunks, b"")
        if not chunk:
            break
        head += chunk
    return head


def _blocks(chunks: Iterable[bytes], records: bool) -> Iterator[bytes]:
    """Regroup chunks into blocks: of whole records in a CSV, of whole tokens in other text."""

    def after_last_record(buffer: bytes) -> int:
        end = buffer.rfind(b"\n") + 1
        # A newline inside a quoted field is not the end of a record: quotes before a real
        # record end come in pairs ("" escapes a quote, which keeps the count even). A stray
        # quote would keep the count odd for good, so past a few blocks take the last newline.
        if len(buffer) >= 4 * BLOCK_SIZE or b'"' not in buffer:  # `in` is fast, `count` not
            return end
        odd = buffer.count(b'"', 0, end) % 2
        while odd and end:
            previous = buffer.rfind(b"\n", 0, end - 1) + 1
            odd ^= buffer.count(b'"', previous, end) % 2
            end = previous
        return end

    def after_last_token(buffer: bytes) -> int:
        # A token ends at a byte that is no letter or digit, so a block may end after any such
        # byte: JSON or XML on one long line is then cut into blocks too.
        return len(buffer.rstrip(_TOKEN_BYTES))

    for buffer, end in _regroup(chunks, after_last_record if records else after_last_token):
        if end:
            yield buffer[:end]


def _csv_isin_pattern(layout: CsvLayout) -> re.Pattern[str]:
    """A regex for rows whose ISIN column holds an ISIN-shaped value (group 1), in unquoted
    text where every row starts with a newline (the block's first row too)."""
    d = re.escape(layout.delimiter)
    fields_before = ("[^" + d + "\n]*" + d) * layout.column  # written out: faster than {n}
    # Anchored on the newline, which the regex engine finds fast, rather than on `^`, which it
    # would try at every character. The value may be padded with blanks; the field ends there.
    return re.compile("\n" + fields_before + "[ \t]*(" + ISIN_PATTERN + ")[ \t]*\r?(?![^" + d + "\n])")


_BLANK_LINE = re.compile(r"\n(?=\r?\n)")


def _csv_candidates(block: str, layout: CsvLayout) -> tuple[list[str], int]:
    """The ISIN-shaped values of the ISIN column in a block of whole records, and its row count."""
    if '"' in block:  # quoted fields may hold delimiters and newlines: let the csv module read them
        reader = csv.reader(io.StringIO(block, newline=""), delimiter=layout.delimiter)
        try:
            rows = [row for row in reader if row]
        except csv.Error as exc:
            raise IsinToolError(f"malformed CSV near row {reader.line_num}: {exc}") from None
        fields = [row[layout.column].strip() if len(row) > layout.column else "" for row in rows]
        return _ISIN_LINE.findall("\n".join(fields)), len(rows)
    text = "\n" + block if block.endswith("\n") else "\n" + block + "\n"
    rows = text.count("\n") - 1
    if "\n\n" in text or "\n\r\n" in text:
        rows -= len(_BLANK_LINE.findall(text))
    return _csv_isin_pattern(layout).findall(text), rows


def _fixed_width_column(block: bytes, layout: CsvLayout) -> bytes | None:
    """The ISIN column of a block as 13-byte lines, when every row is laid out like the first:
    the same length, with its delimiters and line end in the same places, and no quotes.

    Files that machines write, such as GLEIF's (a 20-character LEI, a comma, a 12-character
    ISIN), are laid out so. Then the column is twelve strided slices, a character position each,
    and needs no regex. None when the block is not that regular, or the first row's field is
    not 12 characters wide: the regex reads it then.
    """
    width = block.find(b"\n") + 1
    rows = len(block) // width if width else 0
    if not rows or rows * width != len(block) or b'"' in block:  # quoted fields: the csv module's
        return None
    marks = bytearray(256)  # a delimiter reads 1, a carriage return 2, a newline 3, the rest 0
    marks[ord(layout.delimiter)], marks[13], marks[10] = 1, 2, 3
    first = block[:width]
    if block.translate(marks) != first.translate(marks) * rows:
        return None  # a row has its marks elsewhere than the first row has them
    fields = first[:-1].split(layout.delimiter.encode("latin-1"))
    if len(fields) <= layout.column or len(fields[layout.column].removesuffix(b"\r")) != 12:
        return None
    start = sum(len(field) + 1 for field in fields[: layout.column])
    lines = bytearray(_LINE * rows)
    for position in range(12):
        lines[position::_LINE] = block[start + position :: width]
    lines[12::_LINE] = b"\n" * rows
    return bytes(lines)


def _parse_block(job: tuple[bytes, CsvLayout | None]) -> tuple[str, int]:
    """Worker: a block's valid ISINs as a sorted run (text, a line each), and how many rows or
    ISIN-shaped tokens it had that were not valid ISINs."""
    block, layout = job
    lines = _fixed_width_column(block, layout) if layout else None
    if lines is not None:
        valid = _valid_isins(lines)
        rows = len(lines) // _LINE
    else:  # the general reading: the column's regex (or the csv module), or every ISIN-shaped token
        text = block.decode("latin-1")
        if layout:
            candidates, rows = _csv_candidates(text, layout)
        else:
            candidates = _ISIN_TOKEN.findall(text)
            rows = len(candidates)
        valid = _keep_valid(candidates)
    valid.sort()
    return "\n".join(valid) + "\n" if valid else "", rows - len(valid)


class _Run:
    """A sorted run seen as a sequence of ISINs, for bisect, without splitting it."""

    def __init__(self, run: str) -> None:
        self.run = run

    def __len__(self) -> int:
        return len(self.run) // _LINE

    def __getitem__(self, i: int) -> str:
        return self.run[i * _LINE : i * _LINE + 12]


def _pivots(runs: list[str], ranges: int) -> list[str]:
    """ISINs that cut the runs into `ranges` key ranges of about equal size, from a sample of
    every run (a payload sorted already has runs that each cover a narrow range)."""
    sample = sorted(isins[len(isins) * k // ranges] for isins in map(_Run, runs) for k in range(ranges))
    return sorted({sample[len(sample) * k // ranges] for k in range(1, ranges)})


def _cut_run(run: str, pivots: list[str]) -> list[str]:
    """Cut a sorted run at the pivots: piece k holds the ISINs from pivots[k-1] up to pivots[k]."""
    cuts = [0, *(_LINE * bisect.bisect_left(_Run(run), pivot) for pivot in pivots), len(run)]
    return [run[start:end] for start, end in itertools.pairwise(cuts)]


def _merge_range(runs: list[str]) -> tuple[bytes, int, int]:
    """Worker: the text of a key range's unique ISINs from its sorted runs, with the counts of
    ISINs written and of duplicates dropped."""
    isins = "".join(runs).split("\n")
    isins.pop()  # the text ends with a newline
    isins.sort()  # timsort merges the sorted runs rather than sorting afresh
    unique = list(map(operator.itemgetter(0), itertools.groupby(isins)))  # duplicates are neighbours
    text = "\n".join(unique) + "\n" if unique else ""
    return text.encode("ascii"), len(unique), len(isins) - len(unique)


def parse_isins(
    chunks: Iterable[bytes], write: Callable[[bytes], object], column: str | None = None, workers: int = 1
) -> ListCounts:
    """Collect the valid ISINs from a payload's text, given in chunks of any size, and hand the
    list (sorted and unique, a line each) to `write` in pieces, in order.

    A CSV whose header names an ISIN column (or `column`) gives that column only, so the ISINs
    of a benchmark or an underlying in other columns are not taken; rows whose field is empty
    or not a valid ISIN count as invalid. Any other text gives every ISIN-shaped token, and
    those failing the check digit count as invalid.

    A sample sort, so that `workers` processes share the work: each block of text becomes a
    sorted run of valid ISINs; the runs are cut into key ranges (set by a sample of them); each
    range's pieces are merged into unique ISINs; the ranges' texts, in order, are the list, and
    each goes to `write` as soon as it and those before it are done.
    """
    chunks = iter(chunks)
    first = _head(chunks).removeprefix(b"\xef\xbb\xbf")
    layout = find_csv_layout(first, column)
    if layout:
        first = first[layout.data_start :]
    blocks = _blocks(itertools.chain([first], chunks), records=layout is not None)
    runs = []
    invalid = 0
    for run, block_invalid in _map(_parse_block, ((block, layout) for block in blocks), workers):
        invalid += block_invalid
        if run:
            runs.append(run)
    pivots = _pivots(runs, KEY_RANGES) if runs else []
    ranges: list[list[str]] = [[] for _ in range(len(pivots) + 1)]
    while runs:  # each run gives way to its pieces, so the text is not held twice
        for pieces, piece in zip(ranges, _cut_run(runs.pop(), pivots), strict=True):
            pieces.append(piece)
    count = duplicates = 0
    for text, unique, dropped in _map(_merge_range, ranges, workers):
        if text:
            write(text)
        count += unique
        duplicates += dropped
    return ListCounts(count, invalid, duplicates)


def _map(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """map(), in `workers` processes when there is more than one."""
    return _parallel_map(func, items, workers) if workers > 1 else map(func, items)


def decompressed_chunks(raw: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    """Yield the text of a payload recognised by its bytes: a zip's one member, gzip, or plain."""
    import gzip
    import zipfile

    magic = raw.read(4)
    raw.seek(0)
    if magic.startswith(b"PK\x03\x04"):
        stream = _open_zip_member(raw)
    elif magic.startswith(b"\x1f\x8b"):
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
    else:
        stream = raw
    total = 0
    try:
        for chunk in _read_chunks(stream, BLOCK_SIZE):
            total += len(chunk)
            if total > max_bytes:
                raise IsinToolError(f"the payload decompresses to more than {max_bytes} bytes (--max-bytes)")
            yield chunk
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise IsinToolError(f"corrupt or truncated payload: {exc}") from None


def _open_zip_member(raw: BinaryIO) -> BinaryIO:
    """Open the one data file in a zip archive."""
    import zipfile

    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile as exc:
        raise IsinToolError(f"corrupt zip: {exc}") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members) or "nothing"
        raise IsinToolError(f"expected one file in the zip, found {names}")
    return archive.open(members[0])


# --- Download --------------------------------------------------------------------------------------

GLEIF_ISIN_LEI_URL = "https://mapping.gleif.org/api/v2/isin-lei/latest/download"
DEFAULT_TIMEOUT = 30.0  # seconds to connect, and for each read
DEFAULT_MAX_TIME = 3600.0  # seconds for the whole run
DEFAULT_RETRIES = 3
DEFAULT_MAX_BYTES = 2 * 1024**3
# Downloads at least this big are parsed by a process per core (GLEIF's zip is about 32 MB).
PARALLEL_FETCH_MIN_BYTES = 4 * 1024 * 1024
BACKOFF_SECONDS = 1.0  # the first wait before a retry; doubled each time
MAX_BACKOFF_SECONDS = 60.0  # a server's Retry-After is honoured as it is, within --max-time
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class Downloaded(NamedTuple):
    """A finished download: None as the body when the source answered 304 Not Modified."""

    body: BinaryIO | None
    size: int
    etag: str | None
    last_modified: str | None


class Deadline:
    """The end of `--max-time`, and how much of it is left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, 0 once none are."""
        return max(0.0, self.end - time.monotonic())

    def left(self) -> float:
        """Seconds left; raises once none are."""
        left = self.remaining()
        if not left:
            raise IsinToolError(f"gave up after {self.seconds:g} seconds (--max-time)")
        return left


def download(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: Deadline,
    retries: int = DEFAULT_RETRIES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    etag: str | None = None,
    last_modified: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Downloaded:
    """Download `url` into an anonymous temporary file, retrying what may pass.

    Connection errors, timeouts, truncated bodies, 429 and 5xx are retried with exponential
    backoff (or as `Retry-After` says); other errors are final. `progress(bytes, total)` is
    called as the body arrives.
    """
    import requests  # about 100 ms: only fetch pays for it

    headers = {"User-Agent": f"isintool/{__version__} (+{requests.utils.default_user_agent()})"}
    headers["Accept-Encoding"] = "gzip"  # only what decompressed_chunks can undo
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with requests.Session() as session:
        for attempt in range(retries + 1):
            try:
                return _download_once(session, url, headers, timeout, deadline, max_bytes, progress)
            except _Retryable as exc:
                backoff = min(BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS)
                wait = exc.retry_after if exc.retry_after is not None else backoff
                if attempt == retries:
                    raise IsinToolError(f"{exc} (after {retries + 1} attempts)") from None
                if wait >= deadline.left():
                    raise IsinToolError(f"{exc}; no time left to retry (--max-time)") from None
                time.sleep(wait)
    raise AssertionError("unreachable")


class _Retryable(Exception):
    """A failure worth another attempt."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _download_once(
    session: Any,
    url: str,
    headers: dict[str, str],
    timeout: float,
    deadline: Deadline,
    max_bytes: int,
    progress: Callable[[int, int | None], None] | None,
) -> Downloaded:
    """One GET of `url`, its body spooled to an anonymous temporary file."""
    import tempfile

    import requests

    try:
        response = session.get(url, headers=headers, stream=True, timeout=min(timeout, deadline.left()))
    except requests.exceptions.SSLError as exc:
        raise IsinToolError(f"TLS verification failed for {url}: {_reason(exc)}") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Retryable(f"cannot reach {url}: {_reason(exc)}") from None
    except requests.RequestException as exc:
        raise IsinToolError(f"bad request for {url}: {exc}") from None
    with response:
        if response.status_code == 304:
            if not {"If-None-Match", "If-Modified-Since"} & headers.keys():  # then there is nothing to keep
                raise IsinToolError(f"{url} answered 304 Not Modified to a request that was not conditional")
            return Downloaded(None, 0, response.headers.get("ETag"), response.headers.get("Last-Modified"))
        if response.status_code in _RETRY_STATUS:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            raise _Retryable(f"{url} answered HTTP {response.status_code}", retry_after)
        if response.status_code != 200:
            raise IsinToolError(f"{url} answered HTTP {response.status_code} {response.reason}")
        expected = response.headers.get("Content-Length")
        expected_size = int(expected) if expected and expected.isdigit() else None
        if expected_size is not None and expected_size > max_bytes:
            raise IsinToolError(f"{url} is {expected_size} bytes, over --max-bytes {max_bytes}")
        body = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        try:
            size = 0
            for chunk in response.raw.stream(1024 * 1024, decode_content=False):
                size += len(chunk)
                if size > max_bytes:
                    raise IsinToolError(f"{url} sent more than --max-bytes {max_bytes} bytes")
                body.write(chunk)
                if progress:
                    progress(size, expected_size)
                deadline.left()
            if expected_size is not None and size != expected_size:
                raise _Retryable(f"{url} sent {size} of {expected_size} bytes")
        except (requests.RequestException, OSError, _urllib3_errors()) as exc:
            body.close()
            raise _Retryable(f"download from {url} broke off: {_reason(exc)}") from None
        except BaseException:
            body.close()
            raise
        body.seek(0)
        return Downloaded(body, size, response.headers.get("ETag"), response.headers.get("Last-Modified"))


def _urllib3_errors() -> type[Exception]:
    """The base of the errors urllib3 raises while a body streams."""
    import urllib3

    return urllib3.exceptions.HTTPError


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reason(exc: BaseException) -> str:
    """The innermost message of a requests/urllib3 error, which names the real cause."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    reason = getattr(exc, "reason", None)
    return str(reason if isinstance(reason, BaseException) else exc)


# --- Write -----------------------------------------------------------------------------------------

NEW_FILE_MODE = 0o644  # masked by the umask, as a shell's `>` would do with 0666
SYNC_BYTES = 16 * 1024 * 1024  # a long list goes to disk in steps this big as it is written


@contextlib.contextmanager
def atomic_file(path: str) -> Iterator[BinaryIO]:
    """A file to write in place of `path`: it replaces `path` when the block ends, and is removed
    if the block raises, leaving `path` untouched. Readers see the old file or the new, never a mix.

    A temporary file in the same folder, fsynced and renamed over `path`. An existing file keeps
    its mode, and its owner and group as far as this user may give them; a new one gets 0644 less
    the umask.
    """
    import tempfile

    directory, prefix = _temporary_names(path)
    fd, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        try:
            replaced = os.stat(path)
        except FileNotFoundError:
            os.chmod(temporary, NEW_FILE_MODE & ~_umask())
        else:
            _take_owner(temporary, replaced)
            os.chmod(temporary, replaced.st_mode & 0o7777)  # after chown, which clears set-id bits
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _temporary_names(path: str) -> tuple[str, str]:
    """The folder of atomic_file's temporary files for `path`, and the start of their names
    (hidden, and ending in .tmp), which _remove_leftovers looks for."""
    return os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}."


def _take_owner(path: str, replaced: os.stat_result) -> None:
    """Give `path` the owner and group of the file it replaces, as far as this user may: root may
    give both; another user stays the owner and may give a group of their own."""
    for uid, gid in ((replaced.st_uid, replaced.st_gid), (-1, replaced.st_gid)):
        try:
            os.chown(path, uid, gid)
            return
        except PermissionError:
            continue


def write_atomically(path: str, pieces: Iterable[bytes]) -> None:
    """Replace `path` with `pieces`, as atomic_file does."""
    with atomic_file(path) as out:
        for piece in pieces:
            out.write(piece)


def _umask() -> int:
    """The process's umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make a rename in `directory` survive a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Fetch -----------------------------------------------------------------------------------------

EXIT_LOCKED = 75  # EX_TEMPFAIL: another fetch is writing this output; cron will try again
LOCK_POLL_SECONDS = 0.2  # how often `--wait` tries the lock again


class LockedError(IsinToolError):
    """Another fetch holds the lock for this output."""


class FetchResult(NamedTuple):
    """What a fetch did."""

    path: str
    written: bool  # False: the source said the list had not changed (304)
    count: int
    invalid: int
    duplicates: int
    downloaded: int
    seconds: float


@contextlib.contextmanager
def output_lock(path: str, wait: Deadline | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `PATH.lock` so that two fetches never write `path` at once.
    When another fetch holds it, fail at once, or with `wait` try again until that deadline.

    flock locks die with their process, so even a fetch killed with SIGKILL blocks no one; the
    lock file itself stays, as removing it would let a third fetch lock a different file.
    """
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while not _try_lock(fd):
            if wait is None:
                raise LockedError(f"another fetch is writing {path} (its lock: {path}.lock)")
            if not wait.remaining():
                raise LockedError(
                    f"another fetch was still writing {path} after {wait.seconds:g} s (--max-time)"
                )
            time.sleep(min(LOCK_POLL_SECONDS, wait.remaining()))
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _sidecar_path(path: str) -> str:
    return path + ".json"


def _read_sidecar(path: str, url: str) -> dict[str, object]:
    """What the last fetch of `url` into `path` recorded; empty when that was another source."""
    try:
        with open(_sidecar_path(path), "rb") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) and record.get("url") == url else {}


def _count_lines(path: str) -> int:
    """Lines in a file; 0 when there is no file."""
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in _read_chunks(f))
    except FileNotFoundError:
        return 0


def _remove_leftovers(path: str) -> None:
    """Delete temporary files that a killed fetch of `path` left; call with the lock held."""
    directory, prefix = _temporary_names(path)
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))


def read_isins(
    body: BinaryIO,
    size: int,
    write: Callable[[bytes], object],
    *,
    source: str,
    column: str | None,
    max_bytes: int,
    deadline: Deadline,
) -> ListCounts:
    """Parse a downloaded payload, handing its list to `write`; refuse one with no valid ISIN."""
    workers = _available_cores() if size >= PARALLEL_FETCH_MIN_BYTES else 1
    with body:
        counts = parse_isins(decompressed_chunks(body, max_bytes), write, column, workers)
    deadline.left()
    if not counts.count:
        raise IsinToolError(f"no valid ISIN in what {source} sent ({counts.invalid} invalid)")
    return counts


def fetch_to_file(
    url: str,
    path: str,
    *,
    column: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_time: float = DEFAULT_MAX_TIME,
    retries: int = DEFAULT_RETRIES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_shrink: bool = False,
    wait: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> FetchResult:
    """Download the list from `url` and replace `path` with it, keeping the old list on failure.

    Holds the output's lock throughout; asks the source for the list only if it changed since
    the recorded ETag / Last-Modified; refuses a list under half the size of the current one
    unless `allow_shrink`. Records the source's validators and the list's sha256 in PATH.json.
    A `path` that is a symbolic link stays one: the file it points to is replaced.
    """
    import hashlib

    started = time.monotonic()
    shown, path = path, os.path.realpath(path)
    deadline = Deadline(max_time)
    with output_lock(path, deadline if wait else None):
        _remove_leftovers(path)
        record = _read_sidecar(path, url) if os.path.exists(path) else {}
        got = download(
            url,
            timeout=timeout,
            deadline=deadline,
            retries=retries,
            max_bytes=max_bytes,
            etag=_str_or_none(record.get("etag")),
            last_modified=_str_or_none(record.get("last_modified")),
            progress=progress,
        )
        current = _count_lines(path)
        if got.body is None:
            return FetchResult(shown, False, current, 0, 0, 0, time.monotonic() - started)
        digest = hashlib.sha256()
        with atomic_file(path) as out:  # filled as the list is merged; kept only if it passes
            write = _synced_writer(out, digest)
            counts = read_isins(
                got.body, got.size, write, source=url, column=column, max_bytes=max_bytes, deadline=deadline
            )
            if counts.count * 2 < current and not allow_shrink:
                raise IsinToolError(
                    f"refusing to shrink {path} from {current} to {counts.count} ISINs (--allow-shrink)"
                )
        sidecar = {
            "url": url,
            "etag": got.etag,
            "last_modified": got.last_modified,
            "count": counts.count,
            "invalid": counts.invalid,
            "duplicates": counts.duplicates,
            "sha256": digest.hexdigest(),
            "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_atomically(_sidecar_path(path), [json.dumps(sidecar, indent=2).encode() + b"\n"])
    seconds = time.monotonic() - started
    return FetchResult(shown, True, counts.count, counts.invalid, counts.duplicates, got.size, seconds)


def _synced_writer(out: BinaryIO, digest: Any) -> Callable[[bytes], None]:
    """A `write` for the list: it hashes each piece and syncs every SYNC_BYTES to disk while the
    workers are still merging, so the closing fsync has little left to wait for."""
    unsynced = 0

    def write(piece: bytes) -> None:
        nonlocal unsynced
        digest.update(piece)
        out.write(piece)
        unsynced += len(piece)
        if unsynced >= SYNC_BYTES:
            out.flush()
            os.fdatasync(out.fileno())
            unsynced = 0

    return write


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def ping(url: str, timeout: float = 10.0) -> None:
    """GET a dead man's switch URL (healthchecks.io style)."""
    import requests

    try:
        response = requests.get(url, timeout=timeout, headers={"User-Agent": f"isintool/{__version__}"})
    except requests.RequestException as exc:
        raise IsinToolError(f"ping {url} failed: {_reason(exc)}") from None
    if response.status_code >= 400:
        raise IsinToolError(f"ping {url} answered HTTP {response.status_code}")


# --- Crontab ---------------------------------------------------------------------------------------

MAX_CRON_COMMAND = 998  # Debian cron's limit on a command's length
# Hours a default time may take: not 01:00-03:59, which daylight-saving changes skip or repeat.
_CRON_HOURS = (0, *range(4, 24))


def default_cron_time(seed: str) -> tuple[int, int]:
    """A fixed (hour, minute) derived from `seed`, never minute 0 and never 01:00-03:59.

    Different hosts and outputs get different times, so they do not all hit the source at once;
    the same seed always gives the same time.
    """
    number = zlib.crc32(seed.encode())
    return _CRON_HOURS[number % len(_CRON_HOURS)], 1 + (number // len(_CRON_HOURS)) % 59


def parse_cron_time(text: str) -> tuple[int, int]:
    """(hour, minute) from a 24-hour `HH:MM`."""
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text.strip())
    if not match:
        raise IsinToolError(f"{text!r} is not a 24-hour time like 04:30")
    return int(match[1]), int(match[2])


def shell_command(args: Iterable[str]) -> str:
    """The args as one /bin/sh command line, each quoted, `%` kept outside the quotes.

    cron removes the backslash from `\\%` but keeps it before anything else, so a `%` that
    follows a backslash cannot be written for cron. Splitting each argument at its `%`s and
    quoting the pieces apart leaves every `%` after a quote or a plain character instead.
    """
    return " ".join("%".join(shlex.quote(piece) for piece in arg.split("%")) for arg in args)


def crontab_entry(command: list[str], *, user: str, hour: int, minute: int, log: str | None = None) -> str:
    """The job line for /etc/crontab or /etc/cron.d, `M H * * * USER COMMAND`, newline-terminated.

    Escapes every `%` (cron cuts the command at a bare one and feeds the rest to stdin) and
    refuses what would break the line: newlines and the like (another job could be injected),
    a user name with spaces, a command over Debian cron's 998 characters.
    """
    for arg in [*command, user, log or ""]:
        if any(c in arg for c in "\n\r\0"):
            raise IsinToolError(f"{arg!r} holds a line break or NUL, which would end the crontab line")
    if not user or any(c.isspace() for c in user):
        raise IsinToolError(f"{user!r} is not a user name")
    line = shell_command(command)
    if log:
        line += " >> " + shell_command([log]) + " 2>&1"
    line = line.replace("%", "\\%")
    if len(line) > MAX_CRON_COMMAND:
        raise IsinToolError(f"the command is {len(line)} characters, over cron's {MAX_CRON_COMMAND}")
    return f"{minute} {hour} * * * {user} {line}\n"


def fetch_command(url: str, output: str, fetch_args: Iterable[str], quiet: bool = True) -> list[str]:
    """The argv that runs this tool's fetch from anywhere: absolute interpreter, tool and output."""
    tool = os.path.abspath(__file__)
    quiet_flag = ["--quiet"] if quiet else []
    return [
        sys.executable,
        tool,
        "fetch",
        *quiet_flag,
        "--url",
        url,
        "--output",
        os.path.abspath(output),
        *fetch_args,
    ]


# --- CLI -------------------------------------------------------------------------------------------


@click.group("isintool", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="isintool")
def cli() -> None:
    """Work with securities reference data: order IDs, ISIN lists, and their cron job."""


@cli.command(epilog="Exit codes: 0 done (no IDs prints []); 1 FILE could not be read; 2 usage error.")
@click.argument("file", default="-", type=click.Path(allow_dash=True))
@click.option(
    "--key",
    default="id",
    show_default=True,
    metavar="NAME",
    help="The JSON key whose values to pull.",
)
@click.option("--lines", is_flag=True, help="Print one ID a line, strings decoded, instead of a JSON list.")
def extract(file: str, key: str, lines: bool) -> None:
    """Print every order ID found in FILE (default: standard input).

    Reads JSON text and prints every value of the "id" key that a JSON parser reads as an
    integer or a string, in input order, as a JSON list:

    \b
        $ echo '{"orders":[{"id":1},{"id":"a2"}],"errors":[{"code":3}]}' | isintool extract
        [1, "a2"]

    The text is scanned with one regular expression, not parsed: an "id" key in any nested
    object counts too; floats, true, false, null, objects and arrays do not. Input of any
    size streams through in flat memory; invalid UTF-8 is fine.
    """
    try:
        if file != "-" and os.path.isfile(file):
            _write_stdout(extract_file(file, key, lines))
        else:
            with click.open_file(file, "rb") as stream:  # `-` is standard input, left open
                _write_stdout(extract_stream(stream, key, lines))
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None


def _setting(*names: str, metavar: str, default: Any, help: str, type: Any = None) -> Any:
    """A fetch option that cron can also set from the environment: ISINTOOL_ and the long name."""
    envvar = "ISINTOOL_" + names[-1].lstrip("-").replace("-", "_").upper()
    return click.option(
        *names,
        metavar=metavar,
        default=default,
        type=type,
        help=help,
        envvar=envvar,
        show_envvar=True,
        show_default=default is not None,
    )


class _LockedExit(click.ClickException):
    exit_code = EXIT_LOCKED


@cli.command(
    short_help="Download, validate and atomically replace the ISIN list.",
    epilog=f"Exit codes: 0 written or unchanged; 1 failed, the old list kept; 2 usage error; "
    f"{EXIT_LOCKED} another fetch holds the lock for this output.",
)
@_setting(
    "--url",
    metavar="URL",
    default=GLEIF_ISIN_LEI_URL,
    help="Where to download the list: CSV, zip, gzip, or any text holding ISINs.",
)
@_setting(
    "-o",
    "--output",
    metavar="PATH",
    default="isins.txt",
    help="The file to replace, one ISIN a line; - writes to standard output.",
)
@_setting(
    "--column",
    metavar="NAME",
    default=None,
    help="The CSV column to read (default: the one headed ISIN or ISIN NUMBER).",
)
@_setting(
    "--timeout",
    metavar="SECONDS",
    default=DEFAULT_TIMEOUT,
    type=click.FloatRange(0, min_open=True),
    help="Seconds to connect, and for each read.",
)
@_setting(
    "--max-time",
    metavar="SECONDS",
    default=DEFAULT_MAX_TIME,
    type=click.FloatRange(0, min_open=True),
    help="Seconds for the whole run, retries included.",
)
@_setting(
    "--retries",
    metavar="N",
    default=DEFAULT_RETRIES,
    type=click.IntRange(0),
    help="Further attempts after a connection error, timeout, 429 or 5xx.",
)
@_setting(
    "--max-bytes",
    metavar="N",
    default=DEFAULT_MAX_BYTES,
    type=click.IntRange(1),
    help="Limit on bytes downloaded and, separately, on bytes after decompression.",
)
@click.option(
    "--allow-shrink", is_flag=True, help="Accept a list with fewer than half the ISINs of the current file."
)
@click.option(
    "--wait",
    is_flag=True,
    help=f"Wait for another fetch of this output to end (within --max-time); else exit {EXIT_LOCKED}.",
)
@_setting(
    "--ping",
    metavar="URL",
    default=None,
    help="GET URL after success, URL/fail after a failure (healthchecks.io style).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success (cron mails any output).")
def fetch(
    url: str,
    output: str,
    column: str | None,
    timeout: float,
    max_time: float,
    retries: int,
    max_bytes: int,
    allow_shrink: bool,
    wait: bool,
    ping: str | None,
    quiet: bool,
) -> None:
    """Download a list of ISINs once, validate it, and replace OUTPUT atomically.

    The payload is recognised by its bytes: a zip holding one file, gzip, or plain text. In a
    CSV whose header names an ISIN column, only that column is read; any other text gives every
    ISIN-shaped token. Each ISIN must pass the ISO 6166 check digit; invalid ones are counted
    and skipped. The list is written sorted and unique, one ISIN a line.

    Readers of OUTPUT never see a partial list: on any failure the old file is kept as it was.
    A fetch also refuses an empty list, or one under half the size of the current file (see
    --allow-shrink). OUTPUT.json records the source's ETag and Last-Modified, and the next fetch
    downloads only if the source has changed. OUTPUT.lock keeps two fetches apart.
    """
    options = dict(column=column, timeout=timeout, max_time=max_time, retries=retries, max_bytes=max_bytes)
    try:
        with contextlib.ExitStack() as stack:
            progress = None if quiet or not sys.stderr.isatty() else _progress_bar(stack)
            if output == "-":
                result = _fetch_to_stdout(url, progress=progress, **options)
            else:
                options.update(allow_shrink=allow_shrink, wait=wait)
                result = fetch_to_file(url, output, progress=progress, **options)
    except LockedError as exc:
        raise _LockedExit(str(exc)) from None
    except (IsinToolError, OSError) as exc:
        message = _os_error_message(exc) if isinstance(exc, OSError) else str(exc)
        if ping:
            _ping_quietly(ping.rstrip("/") + "/fail")
        raise click.ClickException(message) from None
    if ping:
        _ping_quietly(ping)
    if not quiet:
        click.echo(_summary(result), err=True)


def _fetch_to_stdout(
    url: str,
    *,
    column: str | None,
    timeout: float,
    max_time: float,
    retries: int,
    max_bytes: int,
    progress: Callable[[int, int | None], None] | None,
) -> FetchResult:
    """`fetch -o -`: the list to standard output; no lock, sidecar or shrink check, as no file."""
    started = time.monotonic()
    deadline = Deadline(max_time)
    got = download(
        url, timeout=timeout, deadline=deadline, retries=retries, max_bytes=max_bytes, progress=progress
    )
    assert got.body is not None, "a request without validators gets no 304"
    pieces: list[bytes] = []  # written once whole: a failure leaves nothing on stdout
    write = pieces.append
    counts = read_isins(
        got.body, got.size, write, source=url, column=column, max_bytes=max_bytes, deadline=deadline
    )
    _write_stdout(pieces)
    seconds = time.monotonic() - started
    return FetchResult("-", True, counts.count, counts.invalid, counts.duplicates, got.size, seconds)


def _summary(result: FetchResult) -> str:
    """The one line a fetch prints on success."""
    if not result.written:
        return f"{result.path} unchanged since the last fetch ({result.count:,} ISINs)"
    return (
        f"wrote {result.count:,} ISINs to {result.path} ({result.invalid:,} invalid skipped, "
        f"{result.duplicates:,} duplicates, {result.downloaded / 1e6:.1f} MB downloaded, "
        f"{result.seconds:.1f} s)"
    )


def _progress_bar(stack: contextlib.ExitStack) -> Callable[[int, int | None], None]:
    """A progress callback that draws a bar on stderr, opened at the first report."""
    bar: Any = None

    def report(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = stack.enter_context(click.progressbar(length=total, label="Downloading", file=sys.stderr))
        bar.update(done - bar.pos)

    return report


def _ping_quietly(url: str) -> None:
    """Ping, reporting a failure on stderr without changing the exit code."""
    try:
        ping(url)
    except IsinToolError as exc:
        click.echo(f"Warning: {exc}", err=True)


def _os_error_message(exc: OSError) -> str:
    """`strerror: filename`, as a shell would say it."""
    return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror or exc)


@cli.command(
    context_settings={"ignore_unknown_options": True},
    epilog="Exit codes: 0 printed; 2 usage error (a bad --at, a line break in an argument, a line too long).",
)
@click.option(
    "--at", "at", metavar="HH:MM", help="The time of day, 24-hour (default: fixed per host and output)."
)
@click.option("--user", metavar="USER", help="The user cron runs the job as (default: you).")
@click.option("--url", metavar="URL", default=GLEIF_ISIN_LEI_URL, show_default=True, help="As in fetch.")
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    default="isins.txt",
    show_default=True,
    help="As in fetch; made absolute.",
)
@click.option(
    "--log", metavar="PATH", help="Append the job's output and errors to PATH instead of cron mailing them."
)
@click.argument("fetch_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- FETCH-OPTIONS...]")
def crontab(
    at: str | None, user: str | None, url: str, output: str, log: str | None, fetch_args: tuple[str, ...]
) -> None:
    """Print the system crontab line that runs fetch every 24 hours.

    Install it as a file of its own (names in /etc/cron.d must not hold dots):

    \b
        isintool crontab -o /var/lib/isintool/isins.txt | sudo tee /etc/cron.d/isintool

    The job runs fetch --quiet, so cron mails only failures. Paths are absolute, every
    argument is quoted for /bin/sh and every % escaped for cron. Options after -- go to
    fetch as they are:

    \b
        isintool crontab -- --max-time 600 --ping https://hc-ping.com/UUID
    """
    try:
        hour, minute = (
            parse_cron_time(at)
            if at
            else default_cron_time(f"{os.uname().nodename}:{os.path.abspath(output)}")
        )
    except IsinToolError as exc:
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    if user is None:
        user = pwd.getpwuid(os.getuid()).pw_name
    elif not _user_exists(user):
        click.echo(f"Warning: no user {user!r} on this host", err=True)
    for option, path in (("--output", output), ("--log", log)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):  # the job would fail each night until it is made
            click.echo(f"Warning: no folder {folder!r} for {option} on this host", err=True)
    command = fetch_command(url, output, fetch_args, quiet=log is None)
    try:
        entry = crontab_entry(
            command, user=user, hour=hour, minute=minute, log=os.path.abspath(log) if log else None
        )
    except IsinToolError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(
        f"# isintool {__version__}: fetch the ISIN list from {url} daily at {hour:02d}:{minute:02d}.\n"
        "# Install: save as /etc/cron.d/isintool (no dots in the name), owned by root, mode 0644.\n" + entry,
        nl=False,
    )


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


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
