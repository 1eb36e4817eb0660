"""isintool: pull order IDs out of JSON, keep a validated ISIN list fresh, and schedule it nightly.

Usage:
    isintool extract orders.json            # [1, 2, 3]
    isintool fetch -o /var/lib/isins.txt    # download, validate, replace atomically
    isintool crontab | sudo tee /etc/cron.d/isintool    # or: systemd, kubernetes

Contents: each a `# --- Title` section below, each name defined before it is used, the sections
in the order the bytes of a fetch travel (after what every command shares):
    Records                     _Record: the small immutable records every section uses
    Errors                      IsinToolError and its children; _plural for messages
    ISIN validation             ISO 6166 check digits for a block at once; the list's 13-byte records,
                                sorted where they lie by libc's qsort (_sort_records), repeats dropped
    Chunks and worker processes reading in chunks and regrouping them; a pool started only when
                                it pays, blocks handed to it through shared memory (_Slots), the
                                results back down its pipe
    JSON text and extract       the key regex, cuts between chunks and between cores
    jq paths                    parse_path: the steps --path reads, as jq 1.6 reads them
    Reading a path              path_ids: a stream of JSON values in a window, the C decoder, tokens
    The key's paths             key_paths, paths_warning: where in the first MiB the key stands
    Secrets                     redact_url, and no secret of a URL in any message
    Deadline                    --max-time, kept by the core without signals
    Download                    _Transfer: one payload, its retries, resume and checksum; _LocalFile
    Decompress                  gzip, a zip read as a stream from its local headers, the dispatch
    Sources                     a register's answer (_get_json); ESMA's and the FCA's addresses
    Read the payload            CSV layouts, reading kinds (CSV, XML, JSON, tokens), blocks
    Sort                        key ranges' pivots, merging sorted runs
    Changes                     the list a fetch replaces, read from disk; +ISIN and -ISIN
    The parse pipeline          texts in, one list out: parse_texts (_sorted_runs: the workers)
    Write                       the atomic replacement of a file
    FIRDS                       a register's full set and its deltas, kept as (ISIN, venue) pairs
    Fetch state                 links followed safely, OUTPUT.lock, OUTPUT.json (_Sidecar)
    Fetch                       fetch_list, in the order of its steps; _fetch_firds
    Watch                       metrics for Prometheus (a file, a Pushgateway), pings
    Schedule                    one nightly job, as cron, systemd and Kubernetes see it
    CLI                         click commands, thin over the above; signals and exit codes

Features that cross sections, and where each part lives:
    extract --path      jq paths (parse_path), Reading a path (path_ids), The key's paths (the
                        warning), CLI (extract: FILES as one stream in _Input, _until_error closes
                        the list on text not JSON)
    conditional GET     Fetch state (_Sidecar keeps ETag / Last-Modified, _validators), Download
                        (_CONDITIONS, _Transfer.start: 304), Fetch (fetch_list: every part 304)
    --changes           Changes (_OldList, _changes), The parse pipeline (_KeyRanges.merge
                        compares each range), Fetch (_write_list renames the list first), FIRDS
                        (a day's +/- ISINs, _net_changes; _diff_lists on a full-set night)
    a list in parts     Fetch (_Plan: --url several times), Download (_Transfer per part), The
                        parse pipeline (parse_texts reads each text its own way)
    --firds             FIRDS (records, registers, plan, state, night), Download (_Transfer per
                        file, its MD5), Fetch (_fetch_firds: one register or the union of several),
                        Fetch state (the sidecar's `firds` records), Write (atomic_file)
    secrets             Secrets (redact_url, _secrets_hidden around fetch_list and pings),
                        Schedule (nightly_job refuses a password), Fetch state (url_sha256)
    the deadline        Deadline (_Deadline), Download (capped waits, _reads), Fetch state
                        (--wait), CLI (_alarm_at: the kernel's alarm for a call that blocks)
    signals             CLI (_Program, _signals_stop_the_run), Chunks and worker processes
                        (_start_worker, _Workers._submit: the pool's threads and workers block
                        them, so they reach the thread that acts on them)
    watching            Watch (_Outcome, _metrics_text, _write_metrics, _push_metrics, _Pings),
                        Fetch (FetchOptions.started: /start once the lock is held), CLI
                        (_Watchers: told after every run), Schedule (_writable_directives)
    the journal         CLI (_journal_prefix: priorities), Schedule (SyslogIdentifier=)
    a file not ours     Changes (_OldList.inspect: one ISIN a line?), Fetch (_refuse_files_not_ours)
"""

# Annotations are evaluated as each def and class runs (no `from __future__ import annotations`):
# a name defined later (a class in its own methods), or imported only for TYPE_CHECKING, is quoted.
import codecs
import contextlib
import errno
import functools
import inspect  # click has imported it
import io
import itertools
import math
import operator
import os
import re
import stat
import struct
import sys
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TypeVar

import click

# Modules only fetch or the schedules need (requests, csv, bisect, fcntl, shlex, pwd...) are
# imported in the functions that use them: `extract` must start about as fast as `import
# click` does, and they would cost more than half that again.

if TYPE_CHECKING:
    import datetime
    from concurrent.futures import Future

__version__ = "0.1.0"
__all__ = [
    "EACH",
    "FetchOptions",
    "FetchResult",
    "IsinToolError",
    "JsonTextError",
    "ListCounts",
    "LockedError",
    "NightlyJob",
    "PathError",
    "atomic_file",
    "cli",
    "crontab_entry",
    "extract_file",
    "extract_ids",
    "extract_stream",
    "fetch_list",
    "format_ids",
    "is_valid_isin",
    "kubernetes_manifest",
    "nightly_job",
    "parse_isins",
    "parse_path",
    "parse_texts",
    "path_ids",
    "paths_warning",
    "redact_url",
    "systemd_units",
    "write_atomically",
]


T = TypeVar("T")
R = TypeVar("R")


# --- Records --------------------------------------------------------------------------------------


class _Record:
    """The base of the module's own small records: the fields are the class's annotations, in
    order, and a class attribute of a field's name is its default. A record is what a NamedTuple
    is, made by position or by keyword, read by name (or unpacked, in the fields' order), equal to
    one of its class with the same values, hashable, never changed (`_replace` makes a changed
    copy), `_asdict()` and `_fields` as a NamedTuple's; but it is no tuple. The results the
    library hands its callers (ListCounts, FetchOptions, FetchResult, NightlyJob) stay
    NamedTuples, which a caller may index, compare with a tuple or write as a JSON array.

    Why not typing.NamedTuple here: it compiles a `__new__` for each class at import, and forty
    of them were two thirds of what the module's body cost `extract` at start-up. A record
    holds its values in the instance's `__dict__` and takes about six times as long to make:
    the readings make none per row, but for the slow FIRDS reading (_slow_records, a venue at a
    time, for layouts ESMA does not write).
    """

    _fields: tuple[str, ...] = ()
    _required: frozenset[str] = frozenset()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._fields = tuple(inspect.get_annotations(cls))  # its own: a record extends none
        cls._required = frozenset(name for name in cls._fields if not hasattr(cls, name))

    def __init__(self, *values: Any, **named: Any) -> None:
        if len(values) > len(self._fields):
            raise TypeError(f"{type(self).__name__} takes {len(self._fields)} values, not {len(values)}")
        given = dict(zip(self._fields[: len(values)], values, strict=True))
        for name in named:
            if name in given or name not in self._fields:
                raise TypeError(f"{type(self).__name__}: {name!r} twice or not a field")
        given.update(named)
        if not self._required <= given.keys():
            missing = [name for name in self._fields if name in self._required and name not in given]
            raise TypeError(f"{type(self).__name__} needs {', '.join(missing)}")
        self.__dict__.update(given)  # a default not given is read from the class

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is a record: _replace makes a changed copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is a record: _replace makes a changed copy")

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple(self) == tuple(other)  # type: ignore[call-overload]

    def __hash__(self) -> int:
        return hash((type(self), *self))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self._asdict().items())
        return f"{type(self).__name__}({fields})"

    def _replace(self: "T", **changes: Any) -> "T":
        return type(self)(**{**self._asdict(), **changes})  # type: ignore[attr-defined]

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))


# --- Errors ---------------------------------------------------------------------------------------


class IsinToolError(Exception):
    """Base class of every error isintool reports to its user: one sentence naming what to fix."""


class OptionError(IsinToolError):
    """The options ask for what cannot be, a mistake in the command rather than in the data: the
    CLI reports it as a usage error (exit 2)."""


class LockedError(IsinToolError):
    """Another fetch holds the lock for this output."""


class PathError(OptionError):
    """A --path that is not one of the jq paths extract reads."""


class JsonTextError(IsinToolError):
    """Text that is not JSON where --path must read it; `offset` counts bytes from the input's start."""

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(f"invalid JSON at byte {offset}: {problem}")
        self.offset = offset
        self.problem = problem


def _plural(count: float, noun: str) -> str:
    """`1 second`, `2.5 seconds`, `1,234 ISINs`: a count and its noun, as messages write them."""
    shown = f"{count:,}" if isinstance(count, int) else f"{count:,g}"
    return f"{shown} {noun}{'' if count == 1 else 's'}"


class _Regex:
    """A regular expression compiled on its first use rather than at import, so that `extract`
    does not pay for fetch's patterns at start-up; used as the compiled pattern is."""

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._pattern, self._flags = pattern, flags
        self._compiled: re.Pattern[Any] | None = None

    def __getattr__(self, name: str) -> Any:  # findall, fullmatch...: the compiled pattern's
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return getattr(self._compiled, name)


# --- ISIN validation, and the list's records ------------------------------------------------------

# ISO 6166 shape: a two-letter prefix (a country, or XS, EU, XF...), nine alphanumerics, a check digit.
# The readings' regexes work on text decoded as latin-1 (a byte a character, never an error):
# CPython searches such str faster than bytes.
ISIN_PATTERN = r"[A-Z]{2}[A-Z0-9]{9}[0-9]"
# A list, in memory and on disk, is fixed-width records: an ISIN and its newline. Record i starts
# at byte 13 * i, so a list is cut, bisected and read without looking at its bytes.
_LINE = 13
_ISIN_LINE = _Regex(r"(?m)^" + ISIN_PATTERN + r"$")
# The characters an ISIN token must not touch on either side: the letters and digits that
# _CHAR_CLASS writes A, a and 0 (which _ISIN_TOKEN's look-arounds refuse); _after_last_token cuts by them.
_TOKEN_BYTES = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


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
# ISIN_PATTERN a position at a time: the characters each of the 12 allows.
_ISIN_SHAPE = (_ALPHANUMERIC[10:],) * 2 + (_ALPHANUMERIC,) * 9 + (_ALPHANUMERIC[:10],)


@functools.cache
def _check_tables() -> tuple[tuple[bytes, ...], bytes, bytes]:
    """_isin_mask's translate tables, made on first use (extract starts without them).

    For each of the 12 positions, what a character adds to the sum (at most 18, five bits)
    when it is not doubled, with two flags in the bits above: 32, a digit (it flips the doubling
    of those to its left); 64, misplaced (no character ISIN_PATTERN allows in that position).
    Then what a character adds when doubled, whatever the position; and 1 for a sum ending in 0.
    """
    value = _table(lambda b: max(_ALPHANUMERIC.find(b), 0))
    digit = _table(lambda b: 48 <= b <= 57)

    def adds(allowed: bytes) -> bytes:  # at a position where `allowed` marks the characters allowed
        return _table(lambda b: _isin_char_sum(value[b], False) | digit[b] << 5 | (not allowed[b]) << 6)

    tables = {chars: adds(_table(chars.__contains__)) for chars in set(_ISIN_SHAPE)}
    by_position = tuple(tables[chars] for chars in _ISIN_SHAPE)
    return by_position, _table(lambda b: _isin_char_sum(value[b], True)), _table(lambda b: b % 10 == 0)


def _character_classes() -> bytes:
    """The translate table to _ISIN_TOKEN's character classes."""
    table = bytearray(b" " * 256)
    table[ord("A") : ord("Z") + 1] = b"A" * 26
    table[ord("0") : ord("9") + 1] = b"0" * 10
    table[ord("a") : ord("z") + 1] = b"a" * 26
    return bytes(table)


# ISIN-shaped tokens are sought in the text's character classes: each upper-case letter written
# "A", each digit "0", each lower-case letter "a", anything else " ". There the regex (ISIN_PATTERN
# between its look-arounds, a class for each character) starts with the literal "AA", which the
# regex engine finds by a fast scan. Over the text itself it would start at every capital letter,
# and XML is full of them: a FIRDS file's tags hold 33 million in 143 MB, and took 4 times as long.
_CHAR_CLASS = _character_classes()
_ISIN_TOKEN = _Regex(rb"AA(?<![Aa0]AA)[A0]{9}0(?![Aa0])")


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
    add at most 12 * 18), so nothing carries into a neighbour; a shift moves bits into the
    neighbour, so `& ones` (a 1 in each line's byte) keeps a line's own lowest bit only.
    Python's big-integer arithmetic does in C what would otherwise be a loop over millions of
    strings: two translates a position (see _check_tables), where a translate for each of the
    sum, the doubled sum, the digits and the shape took half as long again.
    """
    adds_by_position, adds_if_doubled, sum_ok = _check_tables()
    count = len(lines) // _LINE
    ones = int.from_bytes(b"\x01" * count, "big")
    low_bits = 31 * ones  # a figure's five bits in each line's byte
    total = doubled = misplaced = 0  # doubled: 1 while an odd number of digits stand to the right
    for position in reversed(range(12)):
        chars = lines[position::_LINE]
        flagged = int.from_bytes(chars.translate(adds_by_position[position]), "big")
        adds = flagged & low_bits
        adds_doubled = int.from_bytes(chars.translate(adds_if_doubled), "big")
        total += adds ^ ((adds ^ adds_doubled) & 31 * doubled)  # adds_doubled where doubled
        doubled ^= (flagged >> 5) & ones
        misplaced |= flagged
    ok = int.from_bytes(total.to_bytes(count, "big").translate(sum_ok), "big")
    return (ok & ~(misplaced >> 6) & ones).to_bytes(count, "big")


def is_valid_isin(text: str) -> bool:
    """True when `text` is an upper-case ISIN whose check digit holds."""
    return len(text) == 12 and text.isascii() and _isin_mask(text.encode("ascii") + b"\n") == b"\x01"


class _Records:
    """A list's 13-byte records seen as a sequence of ISINs, for bisect, without splitting
    them: those of a text in memory, or of a file, read a record at a time."""

    def __init__(self, count: int, isin: Callable[[int], bytes]) -> None:
        self._count, self._isin = count, isin

    @classmethod
    def of_text(cls, text: bytes) -> "_Records":
        return cls(len(text) // _LINE, lambda i: text[i * _LINE : i * _LINE + 12])

    @classmethod
    def of_file(cls, f: BinaryIO) -> "_Records":
        def isin(i: int) -> bytes:
            f.seek(i * _LINE)
            return f.read(12)

        return cls(os.fstat(f.fileno()).st_size // _LINE, isin)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int) -> bytes:
        return self._isin(i)


# Records are sorted where they lie, by the C library's qsort through ctypes (in the standard
# library), with no Python object made for an ISIN: list.sort needs a str for each, made from the
# text and joined back into it, and those took more than the sort itself. Measured on 8M GLEIF
# ISINs in blocks of 26,000 (bench/stages.py has the stages): qsort 1.5 CPU s where splitting,
# list.sort and joining took 3.5; and qsort releases the GIL, as ctypes' CDLL calls do.


@functools.cache
def _c_qsort() -> Callable[[bytearray, int], None] | None:
    """A function that sorts `count` 13-byte C strings (12 characters and a NUL) in a bytearray
    in place, by libc's qsort(3) with strcmp(3) as its comparator; None where ctypes or no C
    library is at hand (the caller sorts in Python then).

    strcmp stands in for the comparator qsort calls with two pointers to records: it takes two
    pointers to characters, which every C ABI passes alike. It reads each record up to its NUL,
    which is why every record must hold one (the caller's NUL terminators): a record without one
    would have it read into the next record, or past the buffer.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None) if os.name == "posix" else ctypes.cdll.msvcrt  # type: ignore[attr-defined]
        qsort, strcmp = libc.qsort, libc.strcmp
    except (ImportError, OSError, AttributeError):
        return None
    comparator = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, comparator]
    qsort.restype = None
    by_text = ctypes.cast(strcmp, comparator)

    def sort(records: bytearray, count: int) -> None:
        qsort((ctypes.c_char * len(records)).from_buffer(records), count, _LINE, by_text)

    return sort


def _sort_records(records: bytearray) -> None:
    """Sort 13-byte records (12 characters and a newline) in place, as bytes compare, where
    no record holds a NUL or a newline among its 12 characters (an ISIN never does): qsort's
    strcmp stops at a NUL, the Python path splits at a newline. A line that is no ISIN may hold
    either; _valid_sorted marks its first byte, which alone puts it last, and cuts it off."""
    count = len(records) // _LINE
    if len(records) != count * _LINE:
        raise ValueError("records are 13 bytes each")
    qsort = _c_qsort()
    if qsort is None:
        isins = records.split(b"\n")[:-1]  # the text ends with a newline
        isins.sort()
        records[:] = b"\n".join([*isins, b""])
        return
    records[_LINE - 1 :: _LINE] = bytes(count)  # each record a C string: see _c_qsort
    qsort(records, count)
    records[_LINE - 1 :: _LINE] = b"\n" * count


# Marks a line that is no valid ISIN so that the sort puts it after every ISIN (which all start
# with a capital letter), where it is cut off.
_NOT_AN_ISIN = ord("~")


def _valid_sorted(lines: bytearray, mask: bytes) -> bytearray:
    """The ISINs among 13-byte lines, as their _isin_mask says, sorted: the lines themselves,
    sorted in place and cut."""
    for invalid in re.finditer(b"\x00", mask):  # few, most often: a bad check digit, a blank
        lines[invalid.start() * _LINE] = _NOT_AN_ISIN
    _sort_records(lines)
    del lines[mask.count(1) * _LINE :]
    return lines


# Fewer repeats than one record in this many are copied around, a Python step a repeat; more are
# dropped as a list of the records (a Python object a record, in C): every token of the real DLTINS,
# most of them repeats, took 0.10 CPU s the first way and 0.01 s the second.
FEW_REPEATS = 16


def _without_repeats(records: bytearray) -> tuple[bytearray, int]:
    """Sorted records each once, and how many repeats were dropped.

    A record repeats the one before when all 12 of its characters do. Those are compared a
    character position at a time, as _isin_mask reads them: the position's column, a byte a
    record, read as one big integer and XORed with itself one record later, leaves a zero byte
    wherever two neighbours agree; ORed over the 12 positions, a zero byte is a repeat.
    """
    count = len(records) // _LINE
    differs = 0
    for position in range(12):
        column = records[position::_LINE]
        differs |= int.from_bytes(column[1:], "big") ^ int.from_bytes(column[:-1], "big")
    new = differs.to_bytes(max(count - 1, 0), "big")  # byte i: 0 where record i + 1 repeats record i
    repeats = new.count(0)
    if not repeats:
        return records, 0
    if repeats < count // FEW_REPEATS:  # a list's duplicates: copy the records between repeats
        repeated = [zero.start() + 1 for zero in re.finditer(b"\x00", new)]  # their record numbers
        starts = [0, *(i + 1 for i in repeated)]  # each piece runs from after a repeat to the next one
        ends = [*repeated, count]
        view = memoryview(records)
        kept = (view[start * _LINE : end * _LINE] for start, end in zip(starts, ends, strict=True))
        return bytearray().join(kept), repeats
    # many (every token of a FIRDS file: an instrument's ISIN in each record that names it)
    isins = records.split(b"\n")
    kept = [isins[0], *itertools.compress(isins[1:-1], new), b""]  # the text ends with a newline
    return bytearray(b"\n".join(kept)), repeats


# --- Chunks and worker processes ------------------------------------------------------------------


CHUNK_SIZE = 1024 * 1024  # extract's reads: enough to amortise a regex call, small to stay flat


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


def _regroup(
    chunks: Iterable[bytes], split: Callable[[bytes], tuple[int, bytes]]
) -> Iterator[tuple[bytes, int]]:
    """Regroup chunks into whole units: yield (buffer, end) where buffer[:end] ends at a place
    `split` chose; it also gives what to carry into the next chunk, buffer[end:] or the part of
    it a match may still need (see _split_open_member). The last pair holds what is left."""
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        end, carry = split(buffer)
        if end:
            yield buffer, end
    yield carry, len(carry)


def _available_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_END = object()  # the end of an iterator, for next()


class _Slots:
    """Memory shared with the worker processes forked after it is made, in `count` slots of
    `size` bytes: a task's bytes are put in a slot, and the task goes down the pipe as the slot's
    number and the length. Pickled and sent down the pipe itself, a block was copied four times
    (pickle, write, read, unpickle) into buffers made afresh each time, and fresh memory costs a
    page fault every 4 KiB: a GLEIF-sized fetch took 270,000 to 335,000 page faults with two
    workers, 116,000 through slots (as many as in one process), and 0.35 CPU s less."""

    def __init__(self, count: int, size: int) -> None:
        import mmap

        self.count, self.size = count, size
        self._memory = mmap.mmap(-1, count * size)  # anonymous: fork shares it rather than copy it

    def put(self, slot: int, data: bytes) -> int:
        """Write `data` (at most `size` bytes) into a slot; its length."""
        start = slot * self.size
        self._memory[start : start + len(data)] = data
        return len(data)

    def get(self, slot: int, length: int) -> bytes:
        """The first `length` bytes of a slot."""
        start = slot * self.size
        return self._memory[start : start + length]


def _keep_freed_memory() -> None:
    """Have glibc's malloc keep the memory a block's buffers free for the next block's, rather
    than hand it back to the system and take page faults to have it again (for the rest of the
    process, and of the workers forked after it).

    glibc (mallopt(3)) serves a request over its mmap threshold, 128 KiB at first, with a fresh
    mmap, and returns the top of its heap once twice the threshold lies free there; freeing an
    mmap'd block raises the threshold to the block's size. A block's buffers (1 MiB of text and a
    few of 400 KiB) went back and were faulted in again, block after block: 155,000 to 285,000
    minor faults for a GLEIF-sized fetch with two workers, from one run to the next. Freeing one
    4 MiB block first raises the threshold to 4 MiB: 110,000 faults in every run, up to 0.4 CPU s
    less, the same peak memory. bytes(n) is calloc'd, so its pages are not touched; other
    allocators simply free it.
    """
    bytes(4 * 1024 * 1024)


# In a worker only: the slots of its pool (see _Workers), received as it starts.
_worker_slots: _Slots | None = None


def _start_worker(
    slots: _Slots | None, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    """In each worker as it starts: keep its pool's slots, leave SIGINT and SIGTERM to the process
    that started it, then run the pool's own initializer.

    A terminal's Ctrl-C and `systemctl stop` signal every process of the job at once; a worker
    that died of them would print a traceback, and its parent would take the dead worker for a
    failure of its own. Ignoring them, the worker ends when its parent shuts the pool down (or
    its queue closes, should the parent be killed). fork copied the parent's handlers, which
    raise in the parent's way, and its mask, which blocks both while a worker is forked (see
    _Workers._submit): the handlers are replaced, so neither can act should they be unblocked."""
    import signal

    global _worker_slots
    _worker_slots = slots
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


def _from_slot(job: tuple[Callable[..., R], int, int, tuple[Any, ...]]) -> R:
    """Worker: func((data, *rest)), its data read from a slot."""
    func, slot, length, rest = job
    assert _worker_slots is not None  # a pool with slots starts its workers with them
    return func((_worker_slots.get(slot, length), *rest))


class _Workers:
    """Worker processes, started only when the work proves big enough to pay for them.

    `map` computes its first `here_first` items in this process; the pool starts if more come.
    fork starts a worker in a millisecond, and fetch runs no threads that fork could catch holding
    a lock (it reads the network in this thread); the default from 3.14 on (forkserver) would
    import the module in every worker. A program with threads calling this gets Python's warning
    about fork and threads. With `slot_size`, the bytes that `map`'s items start with travel to
    the workers through shared memory (see _Slots), when they fit in a slot.
    """

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        slot_size: int = 0,
    ) -> None:
        self.workers = workers
        self._initializer, self._initargs = initializer, initargs  # run in each worker as it starts
        self._slot_size = slot_size
        self._slots: _Slots | None = None
        self._pool: Any = None

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, traceback: object) -> None:
        if self._pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            self._pool.shutdown(cancel_futures=True)  # on an error, waits only for running items
            if isinstance(exc, BrokenProcessPool):
                raise IsinToolError("a worker process died (out of memory?)") from None

    @property
    def started(self) -> bool:
        """Whether the worker processes were started."""
        return self._pool is not None

    def map(self, func: Callable[[T], R], items: Iterable[T], here_first: int) -> Iterator[R]:
        """func(item) for each item, in order: `here_first` items here (unless the pool runs
        already), the rest by the pool, a few items ahead."""
        items = iter(items)
        if self._pool is None:
            yield from map(func, itertools.islice(items, here_first))
            following = next(items, _END)
            if following is _END or self.workers < 2:
                yield from map(func, [] if following is _END else itertools.chain([following], items))
                return
            items = itertools.chain([following], items)
            self._start()
        yield from self._ordered(func, items)

    def submit(self, func: Callable[[T], R], item: T) -> "Future[R]":
        """func(item) in a worker process, apart from `map`'s order (the pool must run)."""
        return self._submit(func, item)

    def _submit(self, func: Callable[[T], R], item: T) -> "Future[R]":
        """Hand func(item) to the pool, with SIGINT and SIGTERM blocked in this thread meanwhile.

        A submit may start the pool's threads (its manager, its queue's feeder) and fork workers:
        each inherits the mask of the thread that makes it, so none of them takes those signals,
        and the kernel hands them to a thread that can act on them: this one. (A process-wide
        signal goes to any thread that does not block it; were it the manager's, a main thread
        blocked reading the network would not know of it until the read ended.)"""
        import signal

        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            return self._pool.submit(func, item)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _start(self) -> None:
        from concurrent.futures import ProcessPoolExecutor  # only the parallel path pays for the import
        from multiprocessing import get_context

        if self._slot_size:  # a slot for each task _ordered keeps in flight
            self._slots = _Slots(self._in_flight, self._slot_size)
        self._pool = ProcessPoolExecutor(
            self.workers,
            get_context("fork"),
            initializer=_start_worker,
            initargs=(self._slots, self._initializer, self._initargs),
        )

    @property
    def _in_flight(self) -> int:
        """The tasks _ordered keeps submitted at most: two a worker, so none waits for work, and
        one more. With slots, one each."""
        return 2 * self.workers + 1

    def _ordered(self, func: Callable[[T], R], items: Iterator[T]) -> Iterator[R]:
        pending: deque[Future[R]] = deque()
        for n, item in enumerate(items):
            pending.append(self._submit_item(func, item, n))
            if len(pending) == self._in_flight:  # bounds memory when the reader of our output is slow
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _submit_item(self, func: Callable[[Any], R], item: Any, n: int) -> "Future[R]":
        """func(item) in a worker, the n-th item of a map; with slots, the bytes the item starts
        with go through one if they fit."""
        slots = self._slots
        if slots is None or len(item[0]) > slots.size:
            return self._submit(func, item)
        # Slot n % count is free: _ordered keeps at most `count` tasks in flight, so the last
        # task in it, the (n - count)-th, has given its result, and had read its bytes before.
        slot = n % slots.count
        data, *rest = item
        return self._submit(_from_slot, (func, slot, slots.put(slot, data), tuple(rest)))


def _parallel_map(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """Yield func(item) for each item, in order, computed by `workers` processes a few items ahead."""
    with _Workers(workers) as pool:
        yield from pool.map(func, items, here_first=0)


# --- JSON text and extract ------------------------------------------------------------------------


BACKSLASH = ord("\\")
# Files at least this big are split between the CPU cores; below it, starting workers costs more.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
SEGMENT_BYTES = 16 * 1024 * 1024  # the unit of work a core takes; its output is held until written
# A JSON string as written, not closed yet: its quote, and any escape pair within (linear time).
_OPEN_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*'
MAX_ID_LENGTH = 1024 * 1024  # characters of a value as written: a longer one is no ID, and is skipped


def _json_key(key: str) -> bytes:
    """The key as JSON writes it: quoted, with `"` and `\\` escaped, UTF-8."""
    if key.isprintable() and '"' not in key and "\\" not in key:  # nothing to escape (`id`)
        return b'"' + key.encode() + b'"'
    import json  # only here: extract's start-up does without it

    return json.dumps(key, ensure_ascii=False).encode()


def _key_regex(key: str, value: bytes) -> bytes:
    """A regex for the object member `"KEY": VALUE`, whose groups are VALUE's.

    The quoted key comes first, so the regex engine's fast literal search finds candidates. It
    counts only where the key's opening quote is not escaped: in valid JSON such a quoted KEY
    followed by a colon always begins an object member (were the quote a string's closing one,
    the key's text would follow a string, which JSON does not allow), so `{"my\\"id": 3}` and
    `"a,\\"id\\":5"` inside a string give nothing.
    """
    quoted = _json_key(key)
    unescaped = b"(?<!\\\\" + re.escape(quoted) + b")"  # no backslash before the opening quote
    return re.escape(quoted) + unescaped + rb"\s*:\s*" + value


# What the default mode prints, each as written, so that the list is always JSON: an integer JSON
# allows (not 007, 1., -), followed by a byte that may follow a number there; or a string JSON
# allows (UTF-8, no raw control character, only JSON's escapes).
_UTF8_CHAR = (
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_ASCII_RUN = rb'[^"\\\x00-\x1f\x80-\xff]*'
_ESCAPE = rb'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})'
_VALID_STRING = rb'"' + _ASCII_RUN + rb"(?:(?:" + _UTF8_CHAR + rb"|" + _ESCAPE + rb")" + _ASCII_RUN + rb')*"'
_VALID_ID = rb"(-?(?:0|[1-9][0-9]*)(?=[ \t\n\r,\]}])|" + _VALID_STRING + rb")"
# After a key, a member still open at the end of the text read so far: blanks, a colon, then the start
# of its value (digits, or a string not closed yet). Its blanks do not count in a match and are dropped.
_OPEN_MEMBER = _Regex(rb"\s*(?:(:)\s*(-?[0-9]*|" + _OPEN_STRING + rb"\\?))?\Z", re.DOTALL)


def _split_open_member(buffer: bytes, quoted: bytes) -> tuple[int, bytes]:
    """(end, carry): scan buffer[:end] now and carry `carry` into the next chunk.

    Only the last key KEY can begin a member still open at the end (an earlier one's value would
    hold an unescaped quote, see _key_regex). If it is open, scanning stops before it and the carry
    is the byte before it (for the look-behind), the key, and its colon and value so far; else all is
    scanned and the carry is the last len(KEY) bytes, which may begin a key cut in two (with the byte
    before it). A value open for longer than an ID can be is dropped, so the carry stays small.
    """
    last = buffer.rfind(quoted)
    while last > 0 and buffer[last - 1] == BACKSLASH:  # `\"id"` inside a string is no key
        last = buffer.rfind(quoted, 0, last + len(quoted) - 1)
    tail_start = max(len(buffer) - len(quoted), 0)  # the start of a key cut in two, and the byte before
    if tail_start and buffer.startswith(quoted, tail_start):  # a whole key, escaped: `\"id"`
        tail_start -= 1  # keep its backslash, or the next chunk would take it for a key
    tail = buffer[tail_start:]
    member = _OPEN_MEMBER.match(buffer, last + len(quoted)) if last >= 0 else None
    if member is None:  # no key, or its member ended (`"id":5}`) or was none (`["id",`)
        return len(buffer), tail
    colon, value = member.groups()
    if value is not None and len(value) > MAX_ID_LENGTH:
        return len(buffer), tail
    return last, buffer[last - 1 : last] + quoted + (b":" + value if colon else b"")  # `,"id":12`


def extract_ids(chunks: Iterable[bytes], key: str = "id") -> Iterator[list[bytes]]:
    """Yield, a batch per chunk, every integer or string value of the key KEY in JSON text, as
    written (a string with its quotes), if JSON allows it (see _VALID_ID).

    The text arrives in chunks of any size; a match split between chunks is found exactly once. Each
    chunk is scanned up to the last member KEY still open at its end (see _split_open_member), which
    is carried into the next: memory stays at a chunk and an ID, time linear, whatever the shape.
    """
    quoted = _json_key(key)
    pattern = re.compile(_key_regex(key, _VALID_ID), re.DOTALL)
    for buffer, end in _regroup(chunks, lambda buffer: _split_open_member(buffer, quoted)):
        yield pattern.findall(buffer, 0, end)


def _decode_string(written: bytes) -> bytes:
    """A JSON string's value in UTF-8, from the string as written; bytes that are no UTF-8 kept."""
    import json

    try:
        return json.loads(written.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    except (ValueError, UnicodeError):  # a stray escape, or a lone surrogate such as \ud800
        return written[1:-1]


def _render(ids: list[bytes], lines: bool) -> bytes:
    """A batch of IDs as one piece: joined by `, ` for a list, or a line each with strings decoded."""
    if not lines:
        return b", ".join(ids)
    text = b"\n".join(ids)
    if b'"' in text:  # string IDs: per-ID work only for them
        text = b"\n".join(_decode_string(i) if i.startswith(b'"') else i for i in ids)
    return text


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


def format_ids(batches: Iterable[list[bytes]], lines: bool = False) -> Iterator[bytes]:
    """Render batches of IDs as one JSON list, `[1, "a2", 3]`, or an ID a line with strings
    decoded; yields output pieces."""
    return _join_pieces((_render(ids, lines) for ids in batches if ids), lines)


def extract_stream(stream: BinaryIO, key: str = "id", lines: bool = False) -> Iterator[bytes]:
    """Output pieces for any stream (a pipe too), read in order on one core."""
    return format_ids(extract_ids(_read_chunks(stream), key), lines=lines)


def _next_member(stream: BinaryIO, offset: int, member: re.Pattern[bytes], quoted: bytes) -> int | None:
    """The offset of the first object member `member` (its quoted key, not after a backslash,
    then blanks and a colon) at or after `offset` (> 0).

    The colon is what makes it a key: a string value that reads "id" is followed by `,`, `}` or
    `]`, and cutting before it would split the member whose value it is from its key. In valid
    JSON a quoted KEY whose opening quote no backslash escapes, followed by a colon, is always a
    key (see _key_regex).
    """
    position = offset - 1  # the file offset of window[0]: one byte early, to see a backslash
    stream.seek(position)
    window = b""
    for chunk in _read_chunks(stream, 64 * 1024):
        window += chunk
        found = member.search(window, 1)
        if found:
            return position + found.start()
        # Keep what the next read may complete: a key with only blanks after it (its colon may
        # come next), else the last bytes that may begin a key, each with the byte before it.
        keep = len(window) - len(quoted)
        last = window.rfind(quoted, 1)
        if last > 0 and not window[last + len(quoted) :].strip():
            keep = min(keep, last - 1)
        position += max(keep, 0)
        window = window[max(keep, 0) :]
    return None


def _cut_points(stream: BinaryIO, size: int, parts: int, key: str) -> list[int]:
    """Offsets from 0 to `size` that cut a file into about `parts` pieces, each just before an
    object member KEY (see _next_member): no match spans such a place."""
    member = re.compile(_key_regex(key, b""))
    points = [0]
    for part in range(1, parts):
        found = _next_member(stream, max(size * part // parts, points[-1] + 1), member, _json_key(key))
        if found is None:
            break
        points.append(found)
    return [*points, size] if points[-1] < size else points


def _extract_segment(job: tuple[str, int, int, str, bool]) -> list[bytes]:
    """Worker: the IDs in bytes [start, end) of a file, rendered as one piece (none if no IDs)."""
    path, start, end, key, lines = job
    with open(path, "rb") as stream:
        stream.seek(start)
        batches = extract_ids(_read_chunks(stream, limit=end - start), key)
        pieces = [_render(ids, lines) for ids in batches if ids]
    return [(b"\n" if lines else b", ").join(pieces)] if pieces else []


def _file_pieces(path: str, key: str, lines: bool) -> Iterator[bytes]:
    """A regular file's IDs rendered in pieces (see _render), scanned by all CPU cores in
    order-keeping segments when it is big enough to pay for them."""
    workers = _available_cores()
    size = os.path.getsize(path)
    if workers < 2 or size < PARALLEL_MIN_BYTES:
        with open(path, "rb") as stream:
            yield from (_render(ids, lines) for ids in extract_ids(_read_chunks(stream), key) if ids)
        return
    with open(path, "rb") as stream:
        points = _cut_points(stream, size, size // SEGMENT_BYTES + 1, key)
    jobs = [(path, start, end, key, lines) for start, end in itertools.pairwise(points)]
    yield from itertools.chain.from_iterable(_parallel_map(_extract_segment, jobs, workers))


def extract_file(path: str, key: str = "id", lines: bool = False) -> Iterator[bytes]:
    """Output pieces for a regular file, scanned by all CPU cores in order-keeping segments."""
    return _join_pieces(_file_pieces(path, key, lines), lines)


# --- jq paths: the steps extract --path reads -----------------------------------------------------


class _Each:
    """The step `[]`: every element of an array, every value of an object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EACH"


EACH = _Each()
# A path is a tuple of steps: a key (`.id`, `."a key"`, `.["a key"]`), an index (`[0]`) or EACH (`[]`).
JqPath = tuple[Any, ...]
MAX_INDEX = 2**31 - 1  # jq 1.6 reads a larger index as no index at all (null)

# Compiled where used (re caches it): the default mode's start-up pays nothing for --path.
_PATH_TOKEN = r"""[ \t\n\r]*(?:
        (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
      | (?P<string>"(?:[^"\\]|\\.)*"?)
      | (?P<number>-?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)
      | (?P<punct>\.\.|[.\[\]])
      | (?P<other>[A-Za-z_$@][A-Za-z0-9_]*|.)
      | (?P<end>\Z)
    )"""
# jq 1.6's lexer reads `.e1` as a number (`.` then an exponent) before it reads it as a key.
_JQ_NUMBER_FIELD = _Regex(r"\.[eE][0-9]+")
_IDENTIFIER = _Regex(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBSET = 'extract reads .key, ."key", .["key"], .[N] and .[] steps'
_NOT_PATHS = {  # what jq has beyond our paths, named for the message
    "|": "a pipe",
    ",": "a comma (several paths)",
    "..": "recursive descent (..)",
    "?": "the ? operator (a path that matches nothing gives [] anyway)",
    ":": "a slice",
    "#": "a comment",
    "$": "a variable",
    "(": "parentheses",
}


def _path_tokens(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, text, column) for each token of a path, then ("end", "", column)."""
    token = re.compile(_PATH_TOKEN, re.VERBOSE | re.DOTALL)
    pos = 0
    while True:
        match = token.match(text, pos)
        assert match is not None  # `other` takes any character, `end` the end
        kind = match.lastgroup or "end"
        yield kind, match.group(kind), match.start(kind) + 1
        if kind == "end":
            return
        pos = match.end()


def _pushed_back(token: tuple[str, str, int], tokens: Iterator[tuple[str, str, int]]) -> Iterator:
    """`token`, then the rest of `tokens`."""
    yield token
    yield from tokens


def _field(text: str, field: str) -> str:
    """The key of `.name`, unless jq 1.6 reads it as a number (`.e1`)."""
    if _JQ_NUMBER_FIELD.fullmatch(field):
        raise PathError(f'--path {text!r}: jq 1.6 reads {field} as a number; write ."{field[1:]}"')
    return field[1:]


def _refused(text: str, token: str, column: int, why: str) -> PathError:
    """The PathError for `token` at `column` of the path `text`."""
    what = _NOT_PATHS.get(token[:1] if token.startswith(("$", "#")) else token)
    if what is None:
        what = f"`{token}`" if token else "the end of the path"
        if _IDENTIFIER.fullmatch(token):
            what = f"`{token}` (a function or keyword)"
    return PathError(f"--path {text!r}: {what} at column {column}: {why or _SUBSET}")


def _path_string(text: str, literal: str, column: int) -> str:
    """The key a jq string literal names: `"a key"`, with JSON's escapes, as jq 1.6 reads it."""
    if "\\(" in literal:
        raise _refused(text, "\\(", column, "string interpolation")
    import json

    try:
        key = json.loads(literal, strict=False)  # jq takes raw tabs and newlines in a string
    except ValueError:
        raise _refused(text, literal, column, "not a complete string") from None
    if re.search("[\ud800-\udfff]", key):
        raise _refused(text, literal, column, "jq 1.6 refuses a lone surrogate escape")
    return key


def _bracket(text: str, tokens: Iterator[tuple[str, str, int]]) -> Any:
    """The step written `[]`, `["key"]` or `[N]`, after its `[`."""
    kind, value, column = next(tokens)
    if (kind, value) == ("punct", "]"):
        return EACH
    if kind == "string":
        step: Any = _path_string(text, value, column)
    elif kind == "number":
        if not value.lstrip("-").isdigit():
            raise _refused(text, value, column, "an index is a whole number")
        if value.startswith("-"):
            raise _refused(text, value, column, "extract streams an array and cannot count from its end")
        step = int(value)
        if step > MAX_INDEX:
            raise _refused(text, value, column, f"jq 1.6 finds nothing beyond index {MAX_INDEX}")
    else:
        raise _refused(text, value, column, 'in [...] extract reads "key", N or nothing')
    kind, value, column = next(tokens)
    if (kind, value) != ("punct", "]"):
        raise _refused(text, value, column, "expected `]`")
    return step


def parse_path(text: str) -> JqPath:
    """The steps of a jq path such as `.orders[].id`, as jq 1.6 reads it; PathError names what is not
    one of extract's steps (pipes, `..`, slices, `?`, functions, negative indices) or what jq refuses."""
    tokens = _path_tokens(text)
    kind, value, column = next(tokens)
    if kind == "end":
        raise PathError(f"--path {text!r}: an empty path; `.` is the whole value")
    steps: list[Any] = []
    if kind == "field":  # .orders
        steps.append(_field(text, value))
    elif (kind, value) == ("punct", "."):  # `.` alone, `."a"`, `.[0]`, `. .a`
        kind, value, column = next(tokens)
        if kind == "string":
            steps.append(_path_string(text, value, column))
        else:
            tokens = _pushed_back((kind, value, column), tokens)
    else:
        raise _refused(text, value, column, "a path starts with `.`")
    for kind, value, column in tokens:
        if kind == "end":
            return tuple(steps)
        if kind == "field":  # .a .b: a key after a key
            steps.append(_field(text, value))
        elif (kind, value) == ("punct", "."):  # .a."b"; jq 1.6 refuses .a.[0] and .a.b.
            kind, value, column = next(tokens)
            if kind != "string":
                raise _refused(text, value, column, 'jq 1.6 reads only a "key" after `.` here')
            steps.append(_path_string(text, value, column))
        elif (kind, value) == ("punct", "["):
            steps.append(_bracket(text, tokens))
        else:
            raise _refused(text, value, column, "")
    raise AssertionError("unreachable: the tokens end with `end`")


def format_path(steps: JqPath) -> str:
    """The path as jq writes it, one that parse_path reads back: `.orders[].id`, `."a key"[0]`, `.`."""
    parts = []
    for step in steps:
        if step is EACH:
            parts.append("[]")
        elif isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENTIFIER.fullmatch(step) and not _JQ_NUMBER_FIELD.fullmatch("." + step):
            parts.append("." + step)
        else:
            import json

            parts.append("." + json.dumps(step, ensure_ascii=False))
    text = "".join(parts)
    return "." + text if not text.startswith(".") else text


# --- Reading a path as the text streams -----------------------------------------------------------

# The input is decoded to text (invalid UTF-8 kept as surrogates, so that any slice encodes back to
# its exact bytes) and read in a window. A container that fits in PATH_WINDOW characters is parsed whole by
# the standard library's C decoder and the path applied to the Python value; one that does not (or
# that is not JSON) is read token by token here, each of its members again offered to the decoder.
# Chunks are read PATH_WINDOW bytes at a time, so that the text held is at most two windows: what the
# decoder builds from it before it fails on a longer container (some 20 bytes an input byte, for
# small objects) stays a few MiB.
PATH_WINDOW = 256 * 1024
# After the decoder fails on a container (bigger than PATH_WINDOW, or not JSON), containers starting in the
# next _PATH_NO_TRY characters are read token by token: a chain of nested big containers would otherwise
# cost one failed parse of the window per level. Failures are then at least _PATH_NO_TRY apart, so the
# parsing wasted is at most (PATH_WINDOW + chunk) / _PATH_NO_TRY times the input: linear whatever the shape.
_PATH_NO_TRY = PATH_WINDOW // 16
# The elements of a long array (or the members of a long object skipped) are parsed PATH_BATCH characters
# at a time: the text from an element to a later comma, wrapped in brackets, parses as an array only
# if that comma is one of the array's own (else a bracket or a string is left open, or the array ends
# early), so a guess that is wrong is only slower. The comma guessed is the last one in PATH_BATCH that is
# followed by what followed the array's first comma (its blanks and first few characters): `,{"id":`.
PATH_BATCH = PATH_WINDOW // 4
_SEPARATOR_CHARS = 8  # characters of the next element in the separator, up to its first digit
PATH_MAX_DEPTH = 1_000_000  # arrays and objects inside one another (jq 1.6 stops at 256, jq 1.7 at 10,000)
# A value longer than MAX_ID_LENGTH (above) is skipped here too.

_JSON_BLANKS = _Regex(r"[ \t\n\r]*")
# A string's characters as JSON allows them (no raw control character, only JSON's escapes).
_JSON_STRING_CHARS = r'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*'
_JSON_STRING_BODY = _Regex(_JSON_STRING_CHARS)
_JSON_WORD = _Regex(r'[^ \t\n\r\[\]{},:"]*')  # a number or literal, delimited as jq's tokenizer does
_JSON_NUMBER = _Regex(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_JSON_LITERALS = frozenset({"true", "false", "null"})
_DIGIT_RUNS = r"([0-9])[0-9]+"  # squeezed to two digits, a number keeps its validity (see _scalar)

# The states of an array or object being read (an object's member: KEY, COLON, VALUE, then NEXT).
_FIRST, _KEY, _COLON, _VALUE, _NEXT = range(5)
_OBJECT = 8  # added to the state of an object in the byte stack of skipped containers


def _pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The chunks, each cut in pieces of at most `size` bytes."""
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
        else:
            view = memoryview(chunk)
            for start in range(0, len(chunk), size):
                yield view[start : start + size]


def _json_string(written: str) -> str:
    """A JSON string's value, from the string as written (quotes and escapes, valid JSON)."""
    if "\\" not in written:
        return written[1:-1]
    import json

    return json.decoder.scanstring(written, 1)[0]


def _refuse_constant(name: str) -> Any:
    """parse_constant for the C decoder: NaN and Infinity are Python's, not JSON."""
    raise ValueError(name)


@functools.cache
def _json_scanner() -> Callable[[str, int], tuple[Any, int]]:
    """The standard library's C scanner: scan(text, pos) gives (value, end), or raises
    StopIteration (no value at pos) or ValueError (not JSON). Built on first use: the default
    mode starts without json.

    parse_int=str.encode gives an integer as the bytes it is written with (any size, `-0` kept),
    which is what extract prints, and tells it from a string (str) in the parsed value."""
    import json

    return json.JSONDecoder(parse_int=str.encode, parse_constant=_refuse_constant).scan_once


def _separator_at(text: str, comma: int) -> str | None:
    """At the comma after an array's first element: the comma, the blanks after it and the next
    element's first characters up to a digit (`,{"id":`), for PATH_BATCH; None if not all read yet."""
    start = _JSON_BLANKS.match(text, comma + 1).end()
    if start + _SEPARATOR_CHARS > len(text):
        return None
    head = text[start : start + _SEPARATOR_CHARS]
    digit = re.search("[0-9]", head)
    return text[comma:start] + (head[: digit.start()] if digit else head)


def _select(value: Any, steps: JqPath) -> list[Any]:
    """The integers (as bytes) and strings that `steps` yield from a parsed value, as jq does where it
    succeeds; where jq would stop with an error (`.id` of an array, `[]` of null) nothing is yielded."""
    if len(steps) == 1 and type(steps[0]) is str:  # `.id` of each line of NDJSON: the commonest, first
        member = value.get(steps[0]) if type(value) is dict else None
        return [member] if type(member) is bytes or type(member) is str else []
    values = [value]
    for step in steps:
        found: list[Any] = []
        for v in values:
            if type(v) is dict:
                if step is EACH:
                    found.extend(v.values())  # first-seen order, last value, as jq keeps a key twice
                elif type(step) is str and (member := v.get(step)) is not None:
                    found.append(member)
            elif type(v) is list:
                if step is EACH:
                    found.extend(v)
                elif type(step) is int and step < len(v):
                    found.append(v[step])
        if not found:
            return found
        values = found
    return [v for v in values if type(v) is bytes or type(v) is str]


class _Frame:
    """An array or object the path goes into, read member by member.

    An object holds what its members yield until it closes, so that a key written twice counts
    once, the last time, as in jq (and as the C decoder's dict does), or until it proves longer than
    PATH_WINDOW: then what it holds is passed on and the rest streams (see _PathWalker._flush_held).
    """

    __slots__ = (
        "at",
        "child_at",
        "current",
        "held",
        "index",
        "is_object",
        "key",
        "leaf",
        "mark",
        "outer",
        "separator",
        "start",
        "state",
        "yielded",
    )

    def __init__(self, is_object: bool, at: int, start: int, outer: list[bytes], holds: bool, leaf: bool):
        self.is_object = is_object
        self.at = at  # the step this container answers to
        self.state = _FIRST
        self.index = 0  # of the next element
        self.start = start  # absolute character position of its `[` or `{`
        self.child_at = 0  # the step for the member or element being read
        self.key: str | None = None
        self.outer = outer  # where this container's IDs go
        self.held: dict[object, list[bytes]] | None = {} if holds else None
        self.current: list[bytes] | None = None  # the IDs of the member being read, while held
        self.leaf = leaf  # `.key` is the path's last step: one value, held until the object closes
        self.mark = 0  # IDs made before the member being read began
        self.yielded = False  # a member named by the step has yielded IDs already (once streaming)
        self.separator: str | None = None  # what separates its elements, for PATH_BATCH


class _PathWalker:
    """Reads a stream of JSON values in a sliding window and applies a path to each: see path_ids."""

    def __init__(self, chunks: Iterable[bytes], steps: JqPath) -> None:
        self._chunks = _pieces(chunks, PATH_WINDOW)
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._scan = _json_scanner()
        self.text = ""
        self.pos = 0
        self.base = 0  # absolute position (in characters) of text[0]
        self.fed = 0  # bytes read from the chunks
        self.eof = False
        self.read_error: OSError | None = None  # a read that failed, raised once the text before is read
        self.filled = False  # the window moved since the last batch was handed out
        self.steps = steps
        self.n = len(steps)  # a value read for step n is selected: printed if an integer or a string
        self.skip_at = len(steps) + 1  # the step of what is inside a value not selected: skipped
        self.rest = [steps[i:] for i in range(len(steps) + 1)]
        self.frames: list[_Frame] = []  # the containers the path is in, outermost first
        self.skipping = bytearray()  # the states of the containers being skipped, below the frames
        self.out: list[bytes] = []
        self.sink = self.out  # where the next IDs go: the output, or an object's held member
        self.made = 0  # IDs made so far, held or not
        self.no_try_before = 0  # absolute position before which containers are read token by token
        self.hold_until = float("inf")  # absolute position past which the outermost held object streams
        self.no_batch_before = 0  # absolute position: a batch failed, elements are parsed one by one
        self.separators: dict[int, str] = {}  # PATH_BATCH separators of the skipped containers, by depth

    # -- the window --

    def _fill(self) -> bool:
        """Drop the text before pos and append the next chunk's; False when the input has ended."""
        added = ""
        while not added and not self.eof:
            try:
                chunk = next(self._chunks, None)
            except OSError as exc:
                self.read_error, self.eof = exc, True
                break
            if chunk is None:
                self.eof = True
                added = self._decoder.decode(b"", final=True)
            else:
                self.fed += len(chunk)
                added = self._decoder.decode(chunk)
        self.base += self.pos
        self.text = self.text[self.pos :] + added
        self.pos = 0
        self.filled = True
        return bool(added)

    def _offset(self, pos: int) -> int:
        """The byte offset in the input of text[pos] (or of the end of what was read, at the end)."""
        undecoded = len(self._decoder.getstate()[0])
        return self.fed - undecoded - len(self.text[pos:].encode("utf-8", "surrogateescape"))

    def _error(self, pos: int, problem: str) -> JsonTextError:
        return JsonTextError(self._offset(pos), problem)

    def _skip_blanks(self) -> None:
        """Move pos past JSON's blanks, however many chunks they run over."""
        while True:
            self.pos = _JSON_BLANKS.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self._fill():
                return

    # -- the walk --

    def batches(self) -> Iterator[list[bytes]]:
        """The IDs, a batch each time the window moves; everything before an error (text not JSON, or
        a read that fails), then the error."""
        self._fill()
        if self.text.startswith("\ufeff"):  # a byte order mark, which jq skips too
            self.pos = 1
        try:
            while self._step():
                if self.filled and self.out:
                    yield self._take()
        except (JsonTextError, OSError) as exc:
            self._flush_held(everything=True)
            if self.out:
                yield self._take()
            at_the_end = isinstance(exc, JsonTextError) and exc.offset >= self._offset(len(self.text))
            if self.read_error is not None and at_the_end:
                raise self.read_error from None  # the text stopped there because a read failed
            raise
        if self.out:
            yield self._take()

    def _take(self) -> list[bytes]:
        """The IDs ready to print; the list that collects them stays the same object (frames hold it)."""
        batch = self.out[:]
        self.out.clear()
        self.filled = False
        return batch

    def _step(self) -> bool:
        """Read one token (or one whole container); False at the end of the input."""
        self._skip_blanks()
        if self.pos == len(self.text):
            if self.frames or self.skipping:
                raise self._error(self.pos, "the text ends inside an array or object")
            if self.read_error is not None:
                raise self.read_error
            return False
        char = self.text[self.pos]
        if self.skipping:
            self._skipped_step(char)
        elif self.frames:
            self._frame_step(self.frames[-1], char)
        elif not self._stream_run():
            self._value(0)  # a value of the stream: the path applies to each
        return True

    def _stream_run(self) -> bool:
        """Values of the stream (NDJSON's lines) parsed whole one after another in a tight loop, as
        _value would parse each (within PATH_WINDOW, a window ahead read); False if not even the first."""
        text, pos, steps = self.text, self.pos, self.rest[0]
        last = len(text) if self.eof else len(text) - PATH_WINDOW  # each value starts a window from the end
        count = 0
        while pos < last and text[pos] in "{[" and self.base + pos >= self.no_try_before:
            try:
                value, end = self._scan(text, pos)
            except (ValueError, RecursionError, StopIteration):
                end = len(text) + PATH_WINDOW
            if end - pos > PATH_WINDOW:  # as _parsed_whole would find it: tokens from here, no retry
                self.no_try_before = self.base + pos + _PATH_NO_TRY
                break
            if steps and not self._emit_found(_select(value, steps), pos, end):
                break
            pos = _JSON_BLANKS.match(text, end).end()
            count += 1
        self.pos = pos
        return count > 0

    def _skipped_step(self, char: str) -> None:
        """One token inside a container whose values are not selected: JSON is checked, nothing kept."""
        stack = self.skipping
        state, is_object = stack[-1] & 7, stack[-1] & _OBJECT
        if state == _NEXT:
            if char == ",":
                stack[-1] = (_KEY if is_object else _VALUE) | is_object
                if len(stack) not in self.separators and (separator := self._separator()):
                    self.separators[len(stack)] = separator
            elif char == ("}" if is_object else "]"):
                self._close_skipped()
                return
            else:
                raise self._error(self.pos, f"expected ',' or '{'}' if is_object else ']'}'")
            self.pos += 1
        elif state == (_KEY if is_object else _VALUE) and self._batch_skipped(is_object):
            stack[-1] = _NEXT | is_object
        elif not is_object:
            if state == _FIRST and char == "]":
                self._close_skipped()
                return
            stack[-1] = _NEXT
            self._value(self.skip_at)
        elif state in (_FIRST, _KEY):
            if state == _FIRST and char == "}":
                self._close_skipped()
            elif char == '"':
                self._string(keep=False)
                stack[-1] = _COLON | _OBJECT
            else:
                raise self._error(self.pos, "expected a key (a string)")
        elif state == _COLON:
            if char != ":":
                raise self._error(self.pos, "expected ':'")
            self.pos += 1
            stack[-1] = _VALUE | _OBJECT
        else:
            stack[-1] = _NEXT | _OBJECT
            self._value(self.skip_at)

    def _close_skipped(self) -> None:
        self.pos += 1
        self.separators.pop(len(self.skipping), None)
        self.skipping.pop()
        if not self.skipping:
            self._value_done()

    def _frame_step(self, frame: _Frame, char: str) -> None:
        """One token inside an array or object the path goes into."""
        state = frame.state
        if state == _NEXT:
            if char == ",":
                frame.state = _KEY if frame.is_object else _VALUE
                if frame.separator is None and not frame.is_object and self.steps[frame.at] is EACH:
                    frame.separator = self._separator()
                self.pos += 1
            elif char == ("}" if frame.is_object else "]"):
                self._close_frame(frame)
            else:
                raise self._error(self.pos, f"expected ',' or '{'}' if frame.is_object else ']'}'")
        elif not frame.is_object:
            if state == _FIRST and char == "]":
                self._close_frame(frame)
                return
            step = self.steps[frame.at]
            if state == _VALUE and frame.separator and self._batch_elements(frame):
                return
            on_path = step is EACH or (step == frame.index and type(step) is int)
            frame.child_at = frame.at + 1 if on_path else self.skip_at
            frame.index += 1
            frame.state = _NEXT
            self._value_starts()
            self._value(frame.child_at)
        elif state in (_FIRST, _KEY):
            if state == _FIRST and char == "}":
                self._close_frame(frame)
            elif char == '"':
                frame.key = self._key()
                step = self.steps[frame.at]
                on_path = step is EACH or (frame.key == step and type(step) is str)
                frame.child_at = frame.at + 1 if on_path else self.skip_at
                frame.state = _COLON
            else:
                raise self._error(self.pos, "expected a key (a string)")
        elif state == _COLON:
            if char != ":":
                raise self._error(self.pos, "expected ':'")
            self.pos += 1
            frame.state = _VALUE
        else:
            frame.state = _NEXT
            self._value_starts()
            if frame.child_at <= self.n:
                self._member_starts(frame)
            self._value(frame.child_at)

    def _value(self, at: int) -> None:
        """The value at pos, read for step `at`: whole, or its container opened for the steps above."""
        char = self.text[self.pos]
        if char == "{" or char == "[":
            if self._parsed_whole(at):
                return
            depth = len(self.frames) + len(self.skipping)
            if depth >= PATH_MAX_DEPTH:
                raise self._error(self.pos, f"arrays and objects nested over {PATH_MAX_DEPTH:,} deep")
            is_object = char == "{"
            if at < self.n:
                step = self.steps[at]
                holds = is_object and (step is EACH or type(step) is str)
                leaf = holds and at + 1 == self.n and step is not EACH
                start = self.base + self.pos
                self.frames.append(_Frame(is_object, at, start, self.sink, holds, leaf))
                self._held_changed()
            else:
                self.skipping.append(_FIRST | (_OBJECT if is_object else 0))
            self.pos += 1
            return
        selected = at == self.n
        written = self._string(keep=selected) if char == '"' else self._scalar(keep=selected)
        if written is not None and selected:
            with contextlib.suppress(UnicodeEncodeError):  # strict: a string not UTF-8 is no ID
                self._emit(written.encode())
        self._value_done()

    def _parsed_whole(self, at: int) -> bool:
        """Try the C decoder on the container at pos; True if it read it whole and its IDs are out."""
        depth = len(self.frames) + len(self.skipping)
        # A container that fits in PATH_WINDOW nests at most PATH_WINDOW / 2 deep, so the depth
        # limit holds the same whether the decoder or the tokens read it.
        if self.base + self.pos < self.no_try_before or depth + PATH_WINDOW // 2 > PATH_MAX_DEPTH:
            return False
        while len(self.text) - self.pos < PATH_WINDOW and self._fill():
            pass
        text, start = self.text, self.pos
        try:
            value, end = self._scan(text, start)
        except (ValueError, RecursionError, StopIteration):
            end = len(text) + PATH_WINDOW  # not JSON, or not whole in the window, or nested too deep for C
        if end - start > PATH_WINDOW:  # so that what is read whole does not depend on where chunks fall
            self.no_try_before = self.base + start + _PATH_NO_TRY
            return False
        if at < self.n and not self._emit_found(_select(value, self.rest[at]), start, end):
            return False
        self.pos = end
        self._value_done()
        return True

    def _emit_found(self, found: list[Any], start: int, end: int) -> bool:
        """Emit what a parsed text[start:end] yields; False (and nothing emitted) if it yields a string
        and an escape is written in that text: a parsed string gives back what was written only if no
        escape was (the tokens then read the text instead: rare, exact)."""
        if not found:
            return True
        if str in map(type, found) and self.text.find("\\", start, end) >= 0:
            return False
        sink = self.sink
        for v in found:
            if type(v) is bytes:
                sink.append(v)
            else:
                try:
                    sink.append(('"' + v + '"').encode())
                except UnicodeEncodeError:  # strict: a string that is not UTF-8 is no ID
                    continue
            self.made += 1
        return True

    def _separator(self) -> str | None:
        return _separator_at(self.text, self.pos)

    def _batch(self, opener: str, separator: str) -> tuple[Any, int] | None:
        """At an element (or member) of a long array (or object): the elements up to the last comma
        followed by `separator` within PATH_BATCH, parsed in one go, and the position of that comma; None
        if the guess fails (see PATH_BATCH)."""
        depth = len(self.frames) + len(self.skipping)
        if self.base + self.pos < self.no_batch_before or depth + PATH_WINDOW // 2 > PATH_MAX_DEPTH:
            return None
        while len(self.text) - self.pos < PATH_BATCH and self._fill():
            pass
        start = self.pos
        cut = self.text.rfind(separator, start + 1, start + PATH_BATCH)
        if cut < 0:
            return None
        wrapped = opener + self.text[start:cut] + ("]" if opener == "[" else "}")
        try:
            value, end = self._scan(wrapped, 0)
        except (ValueError, RecursionError, StopIteration):
            end = -1
        if end != len(wrapped):  # a comma inside an element, or past the array's end
            self.no_batch_before = self.base + cut
            return None
        return value, cut

    def _batch_skipped(self, is_object: bool) -> bool:
        """Elements (members) of a long array (object) skipped, a batch at once; False if not now."""
        separator = self.separators.get(len(self.skipping))
        batch = self._batch("{" if is_object else "[", separator) if separator else None
        if batch is None:
            return False
        self.pos = batch[1]
        return True

    def _batch_elements(self, frame: _Frame) -> bool:
        """Elements of an array the path iterates, a batch at once; False if not this time."""
        batch = self._batch("[", frame.separator or "")
        if batch is None:
            return False
        elements, cut = batch
        self._value_starts()
        if not self._emit_found(_select(elements, self.rest[frame.at]), self.pos, cut):
            return False
        frame.index += len(elements)
        frame.state = _NEXT
        self.pos = cut
        return True

    def _emit(self, written: bytes) -> None:
        self.sink.append(written)
        self.made += 1

    def _value_done(self) -> None:
        """A value ended: the container it is in, if the path goes into it, takes note."""
        if not self.skipping and self.frames and self.frames[-1].is_object:
            self._member_done(self.frames[-1])

    # -- objects: a key written twice --

    def _member_starts(self, frame: _Frame) -> None:
        """A member the path goes into begins: held, or (streaming) checked against an earlier one."""
        frame.mark = self.made
        if frame.held is not None:
            frame.current = self.sink = []
        elif frame.yielded and self.steps[frame.at] is not EACH:
            import json

            raise self._error(
                self.pos,
                f"the key {json.dumps(frame.key)} is in an object twice and the object is over "
                f"{PATH_WINDOW:,} characters: jq reads only the last, and the first's IDs are printed",
            )

    def _member_done(self, frame: _Frame) -> None:
        if frame.current is not None:
            assert frame.held is not None
            # A key seen before: the last value, at the first one's place (as jq). A key too long to
            # keep (None) is one of its own.
            frame.held[frame.key if frame.key is not None else object()] = frame.current
            frame.current = None
            self.sink = frame.outer
        elif frame.child_at <= self.n and self.made > frame.mark:
            frame.yielded = True

    def _close_frame(self, frame: _Frame) -> None:
        self.pos += 1
        self.frames.pop()
        if frame.held is not None:
            for ids in frame.held.values():
                frame.outer.extend(ids)
        self.sink = frame.outer
        self._held_changed()
        self._value_done()

    def _value_starts(self) -> None:
        """Before a value in a frame: an object held past PATH_WINDOW begins to stream."""
        if self.base + self.pos > self.hold_until:
            self._flush_held()

    def _flush_held(self, everything: bool = False) -> None:
        """Pass on what the objects held longer than PATH_WINDOW (or, on an error, all) hold, outermost
        first, so that memory stays flat; from then on their IDs stream in document order."""
        now = self.base + self.pos
        for i, frame in enumerate(self.frames):
            if frame.held is None or (not everything and (frame.leaf or now - frame.start <= PATH_WINDOW)):
                continue
            current = frame.current
            if current is not None and frame.key in frame.held:
                del frame.held[frame.key]  # the member being read is the last of its key so far
            for ids in frame.held.values():
                frame.outer.extend(ids)
            frame.yielded = any(frame.held.values())
            if current is not None:
                frame.outer.extend(current)
                for inner in self.frames[i + 1 :]:  # what wrote into `current` writes on, outward
                    if inner.outer is current:
                        inner.outer = frame.outer
                if self.sink is current:
                    self.sink = frame.outer
            frame.held = frame.current = None
        self._held_changed()

    def _held_changed(self) -> None:
        starts = [f.start for f in self.frames if f.held is not None and not f.leaf]
        self.hold_until = min(starts) + PATH_WINDOW if starts else float("inf")

    # -- tokens --

    def _key(self) -> str | None:
        """A member's key at pos, decoded (None if longer than an ID can be)."""
        written = self._string(keep=True)
        return None if written is None else _json_string(written)

    def _string(self, keep: bool) -> str | None:
        """Read the string at pos, whatever its length; its text as written if `keep` (None if it is
        longer than an ID can be)."""
        pieces: list[str] | None = [] if keep else None
        kept = 0
        begin = self.pos
        body = self.pos + 1
        while True:
            text = self.text
            end = _JSON_STRING_BODY.match(text, body).end()
            if end < len(text):
                if text[end] == '"':
                    self.pos = end + 1
                    if pieces is None:
                        return None
                    pieces.append(text[begin : end + 1])
                    return "".join(pieces)
                if text[end] != "\\" or len(text) - end >= 6 or self.eof:  # \u12 may end the chunk
                    problem = "a control character in a string" if text[end] != "\\" else "a bad escape"
                    raise self._error(end, problem)
            elif self.eof:
                raise self._error(end, "the text ends inside a string")
            if pieces is not None:
                pieces.append(text[begin:end])
                kept += end - begin
                if kept > MAX_ID_LENGTH:
                    pieces = None
            self.pos = end
            self._fill()
            begin = body = self.pos

    def _scalar(self, keep: bool) -> str | None:
        """Read the number or literal at pos; its text if `keep` and it is an integer (None otherwise)."""
        text, start = self.text, self.pos
        end = _JSON_WORD.match(text, start).end()
        word = text[start:end]
        offset = None  # of the token's start, taken before the window moves past it
        squeezed = False
        while end == len(self.text) and not self.eof:  # it may go on in the next chunk: any length
            if offset is None:
                offset = self._offset(start)
            self.pos = end
            self._fill()
            end = _JSON_WORD.match(self.text, 0).end()
            word += self.text[:end]
            if len(word) > MAX_ID_LENGTH:
                word, squeezed = re.sub(_DIGIT_RUNS, r"\g<1>0", word), True
                if len(word) > 64:  # a number squeezed is a dozen characters at most
                    raise JsonTextError(offset, "not a number or literal")
        self.pos = end
        if word in _JSON_LITERALS:
            return None
        number = _JSON_NUMBER.fullmatch(word)
        if number is None:
            problem = "not a number or literal" if word else "expected a value"
            raise JsonTextError(offset, problem) if offset is not None else self._error(start, problem)
        if keep and not squeezed and number.group(1) is None and number.group(2) is None:
            return word
        return None


def path_ids(chunks: Iterable[bytes], steps: JqPath) -> Iterator[list[bytes]]:
    """Yield, in batches, the integers and strings that the jq path `steps` yields from each JSON value
    of the text (one document, NDJSON, or documents one after another), each as written.

    Integers keep their digits and sign (any size); strings are the exact bytes written (escapes and
    all) when valid UTF-8, else skipped. Memory stays at a few windows whatever the shape; time is
    linear. On text that is not JSON, everything before it is yielded, then JsonTextError raised (and
    the same for an OSError from the chunks).
    """
    return _PathWalker(chunks, steps).batches()


# --- The key's paths: extract's warning -----------------------------------------------------------

HEAD_BYTES = 1024 * 1024  # the warning reads the input's first MiB: the chunk the CLI reads first
# In the head, a container is parsed whole by the C decoder within _HEAD_TRY characters, unless one
# before it in the same array (or stream) was small: a container cut by the head's end then costs a
# short failed parse, not one of the whole MiB. The elements of an array after its first are parsed
# in one batch (see PATH_BATCH), as far as the head goes.
_HEAD_TRY = 16 * 1024
_HEAD_FAILED_PARSES = 8  # then the rest is read token by token: a pathological head costs no more
# A head smaller than this is read token by token alone (some 0.3 µs a byte): importing json for
# its C scanner would cost more, about a millisecond (extract's start-up on the seed's text).
_HEAD_PARSE_MIN = 4 * 1024
_HEAD_MAX_DEPTH = 1000
_LISTED_PATHS = 10
_HEAD_STRING = _Regex('"' + _JSON_STRING_CHARS + '"')


class _EndOfHead(Exception):
    """The head stops here: its end, or text that is not JSON."""


def _head_batch(text: str, pos: int, separator: str) -> tuple[list[Any], int] | None:
    """The elements of an array from pos to the last comma followed by `separator` in the head, and
    that comma's position; None if it is not one of the array's own (see PATH_BATCH)."""
    cut = text.rfind(separator, pos + 1)
    if cut < 0:
        return None
    wrapped = "[" + text[pos:cut] + "]"
    try:
        elements, end = _json_scanner()(wrapped, 0)
    except (ValueError, RecursionError, StopIteration):
        return None
    return (elements, cut) if end == len(wrapped) else None


def _head_punctuation(text: str, pos: int, frames: list[list[Any]], frame: list[Any]) -> int:
    """Read `,` `:` a closing bracket or an object's key at pos in the head; the position after."""
    is_object, state, char = frame[0], frame[1], text[pos]
    if state == _NEXT and char == ",":
        frame[1] = _KEY if is_object else _VALUE
        if not is_object and frame[4] is None:
            frame[4] = _separator_at(text, pos) or ""  # learnt at the first comma only
    elif state in (_NEXT, _FIRST) and char == ("}" if is_object else "]"):
        frames.pop()
    elif state == _COLON and char == ":":
        frame[1] = _VALUE
    elif is_object and state in (_FIRST, _KEY) and (string := _HEAD_STRING.match(text, pos)):
        written = string.group()
        frame[3] = _json_string(written)
        frame[1] = _COLON
        return string.end()
    else:
        raise _EndOfHead
    return pos + 1


def _head_scalar(text: str, pos: int) -> tuple[int, bool]:
    """Read the string, number or literal at pos in the head: (the position after, whether it is
    an integer or a string)."""
    if text[pos] == '"':
        string = _HEAD_STRING.match(text, pos)
        if string is None:
            raise _EndOfHead
        return string.end(), True
    end = _JSON_WORD.match(text, pos).end()
    word = text[pos:end]
    if word in _JSON_LITERALS:
        return end, False
    number = _JSON_NUMBER.fullmatch(word)
    if number is None:
        raise _EndOfHead
    return end, number.group(1) is None and number.group(2) is None


def _containers_by_key(objects: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The objects' members that are arrays or objects, by key. Objects of one array mostly share
    their keys: those of the first few are looked up in all (in C), and if they account for every
    container (counted in C), the loop over every member is spared."""
    kinds = Counter(map(type, itertools.chain.from_iterable(map(dict.values, objects))))
    total = kinds[dict] + kinds[list]
    if not total:
        return {}
    names = dict.fromkeys(name for o in objects[:8] for name, v in o.items() if type(v) in (dict, list))
    found = {
        name: [v for v in map(dict.get, objects, itertools.repeat(name)) if type(v) in (dict, list)]
        for name in names
    }
    if sum(map(len, found.values())) == total:
        return found
    found = {}
    for o in objects:
        for name, v in o.items():
            if type(v) is dict or type(v) is list:
                found.setdefault(name, []).append(v)
    return found


def _count_parsed(parsed: dict[JqPath, list[Any]], key: str, counts: dict[JqPath, int]) -> None:
    """Count in `counts` the paths at which the parsed values (by the path each stands at) hold KEY,
    an integer or a string: a level at a time, all the values at one path together, so that the
    thousands of orders of an array cost a few calls into C rather than a loop each."""
    level = parsed
    while level:
        below: dict[JqPath, list[Any]] = {}
        for path, values in level.items():
            objects = [v for v in values if type(v) is dict]
            if objects:
                kinds = Counter(map(type, map(dict.get, objects, itertools.repeat(key))))
                if kinds[bytes] + kinds[str]:
                    at = (*path, key)
                    counts[at] = counts.get(at, 0) + kinds[bytes] + kinds[str]
                for name, inner in _containers_by_key(objects).items():
                    below.setdefault((*path, name), []).extend(inner)
            arrays = [v for v in values if type(v) is list]
            inner = [v for v in itertools.chain.from_iterable(arrays) if type(v) is dict or type(v) is list]
            if inner:
                below.setdefault((*path, EACH), []).extend(inner)
        level = below


def _natural(text: str) -> list[Any]:
    """A sort key that puts `.k2.id` before `.k10.id`: the digits compare as numbers. (Split on a
    group, the pieces alternate text and digits, so two keys compare like with like.)"""
    return [int(piece) if i % 2 else piece for i, piece in enumerate(re.split(r"(\d+)", text))]


def key_paths(head: bytes, key: str) -> dict[JqPath, int]:
    """The paths (`EACH` for any index) at which a member named KEY holds an integer or a string in
    `head`, with how many times: outermost first, then the most frequent, then by their jq spelling
    (digits as numbers), so that a head read by tokens alone and one parsed give one order. `head`
    may stop anywhere (mid-document, mid-line of NDJSON) or hold text that is not JSON: what comes
    before counts."""
    text = head.decode("utf-8", "surrogateescape")
    counts: dict[JqPath, int] = {}
    parsed: dict[JqPath, list[Any]] = {}  # the values parsed whole, by their path: counted at the end
    # [is_object, state, path, key, separator, small] of each container open; `top` is the stream of
    # values, read as an array without brackets.
    parse = len(head) >= _HEAD_PARSE_MIN  # else no whole container, no batch: tokens alone
    top: list[Any] = [False, _VALUE, (), None, None, False]
    scan = _json_scanner() if parse else None
    frames: list[list[Any]] = []
    pos = 1 if text.startswith("\ufeff") else 0
    failures = 0 if parse else _HEAD_FAILED_PARSES
    try:
        while (pos := _JSON_BLANKS.match(text, pos).end()) < len(text):
            char = text[pos]
            frame = frames[-1] if frames else top
            is_object, state = frame[0], frame[1]
            if frames and (
                state == _NEXT or (is_object and state != _VALUE) or (state == _FIRST and char == "]")
            ):
                pos = _head_punctuation(text, pos, frames, frame)
                continue
            path: JqPath = ()
            if frames:
                frame[1] = _NEXT
                path = (*frame[2], frame[3] if is_object else EACH)
            if frame[4] and state == _VALUE:
                batch = _head_batch(text, pos, frame[4])
                if batch is not None:
                    elements, pos = batch
                    parsed.setdefault(path, []).extend(elements)
                    continue
                frame[4] = ""  # no batch from here: the elements left (up to the head's end) one by one
            if char == "{" or char == "[":
                if failures < _HEAD_FAILED_PARSES:
                    try:
                        if frame[5]:
                            value, pos = scan(text, pos)
                        else:
                            value, length = scan(text[pos : pos + _HEAD_TRY], 0)
                            pos += length
                    except (ValueError, RecursionError, StopIteration):
                        failures += 1
                    else:
                        parsed.setdefault(path, []).append(value)
                        frame[5] = True
                        continue
                if len(frames) >= _HEAD_MAX_DEPTH:
                    break
                frames.append([char == "{", _FIRST, path, None, None if parse else "", False])
                pos += 1
                continue
            pos, is_id = _head_scalar(text, pos)
            if is_id and is_object and frame[3] == key:
                counts[path] = counts.get(path, 0) + 1
    except _EndOfHead:
        pass
    _count_parsed(parsed, key, counts)
    order = sorted(counts, key=lambda path: (len(path), -counts[path], _natural(format_path(path))))
    return {path: counts[path] for path in order}


def _printable(text: str) -> str:
    """Text fit for a terminal: a surrogate (from a key's invalid UTF-8 or lone escape) shows as U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _owner(path: JqPath) -> str:
    """Whose the values at `path` are, in words: "the orders' own" for .orders[].id."""
    names = [step for step in path[:-1] if type(step) is str]
    if names:
        return f"the {_printable(names[-1])}{chr(39) if names[-1].endswith('s') else chr(39) + 's'} own"
    return "the top-level elements' own" if path[:-1] else "the top-level objects' own"


def paths_warning(head: bytes, key: str) -> str | None:
    """The warning when in `head` (the input's first MiB) KEY stands at more than one path: the paths
    in jq syntax with counts, outermost first, and the --path that takes the outermost. None when it
    stands at one path or none.

        "id" is at 3 paths: .orders[].id (1), .orders[].customer.id (1), ...; --path '.orders[].id'
        takes the orders' own
    """
    counts = key_paths(head, key)
    if len(counts) < 2:
        return None
    import json
    import shlex

    paths = list(counts)  # outermost first
    listed = ", ".join(f"{_printable(format_path(p))} ({counts[p]})" for p in paths[:_LISTED_PATHS])
    if len(paths) > _LISTED_PATHS:
        listed += f" and {len(paths) - _LISTED_PATHS} more"
    outermost = _printable(format_path(paths[0]))
    return (
        f"{_printable(json.dumps(key, ensure_ascii=False))} is at {len(paths)} paths: {listed}; "
        f"--path {shlex.quote(outermost)} takes {_owner(paths[0])}"
    )


# --- Secrets --------------------------------------------------------------------------------------

MIN_SECRET_CHARS = 3  # a shorter query value ("1", "csv") is no secret, and scrubbing it mangles text
# Where a user and password go, for fetch and for every schedule: requests reads the file.
NETRC_HINT = "put the credentials in ~/.netrc (machine HOST login USER password PASSWORD, mode 0600)"


def _query_fields(query: str) -> list[tuple[str, str, str]]:
    """A query's `name=value` fields as (name, "=", value), or (text, "", "") where no `=` is."""
    return [field.partition("=") for field in query.split("&")] if query else []


def redact_url(url: str) -> str:
    """`url` fit to show and to store: its user-info and its query's values replaced by `***`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = "***@" + parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = "&".join(name + "=***" if equals else "***" for name, equals, _ in _query_fields(parts.query))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _check_http_url(url: str, option: str | None = None, files: bool = False) -> None:
    """Refuse what is no http or https URL (OptionError), naming `option` (if given) but not
    quoting the URL: what is no URL cannot be redacted. `files`: the option may name a file."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        where = f"{option}: " if option else ""
        raise OptionError(
            f"{where}the URL must start with http:// or https:// and name a host"
            + (" (or name a file here)" if files else "")
        )


def _url_has_password(url: str) -> bool:
    """True when `url` carries a password in its user-info (`https://user:secret@host/...`)."""
    from urllib.parse import urlsplit

    return urlsplit(url).password is not None


def _scrub(message: str, url: str) -> str:
    """`message` with `url`'s secrets taken out: the URL itself, its query, its user-info and
    each query value, as written and percent-decoded (libraries quote either)."""
    from urllib.parse import unquote, unquote_plus, urlsplit

    parts, redacted = urlsplit(url), redact_url(url)
    message = message.replace(url, redacted)
    if parts.query:
        message = message.replace(parts.query, urlsplit(redacted).query)
    pieces = [parts.netloc.rpartition("@")[0]] if "@" in parts.netloc else []
    pieces += pieces[0].split(":", 1) if pieces else []
    pieces += [value if equals else name for name, equals, value in _query_fields(parts.query)]
    secrets = {form for piece in pieces for form in (piece, unquote(piece), unquote_plus(piece))}
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_CHARS:
            message = message.replace(secret, "***")
    return message


@contextlib.contextmanager
def _secrets_hidden(*urls: str | None) -> Iterator[None]:
    """Take the secrets of `urls` out of the message of any IsinToolError raised within: the last
    net under messages that requests and urllib3 word, which may quote a URL."""
    try:
        yield
    except IsinToolError as exc:
        message = str(exc)
        for url in filter(None, urls):
            message = _scrub(message, url)
        exc.args = (message,)
        raise


# --- Deadline -------------------------------------------------------------------------------------


def _out_of_time(seconds: float) -> str:
    """What a run that ran out of time says."""
    return f"gave up after {_plural(seconds, 'second')} (--max-time)"


class _Deadline:
    """The end of `--max-time`, and how much of it is left.

    The core keeps to it without signals, which are the program's to set, not a library's (and
    work on the main thread only): every connect and read waits at most the time left, the body
    is checked after every read, and a retry's wait never outlasts it. What no timeout bounds is
    a single call that blocks: a DNS lookup, a server that drips its headers. The CLI adds the
    kernel's alarm for those (see _alarm_at).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.message = _out_of_time(seconds)

    def remaining(self) -> float:
        """Seconds left, 0 once none are."""
        return max(0.0, self.end - time.monotonic())

    def left(self) -> float:
        """Seconds left; raises once none are."""
        left = self.remaining()
        if not left:
            raise IsinToolError(self.message)
        return left


# --- Download -------------------------------------------------------------------------------------

GLEIF_ISIN_LEI_URL = "https://mapping.gleif.org/api/v2/isin-lei/latest/download"
DEFAULT_OUTPUT = "isins.txt"
DEFAULT_TIMEOUT = 30.0  # seconds to connect, and for each read
DEFAULT_MAX_TIME = 3600.0  # seconds for the whole run
DEFAULT_RETRIES = 3
DEFAULT_MAX_BYTES = 2 * 1024**3
READ_SIZE = 256 * 1024  # the body is read, and handed on to be parsed, in pieces this big at most
MAX_REDIRECTS = 10
BACKOFF_SECONDS = 1.0  # the first wait before a retry; doubled each time
MAX_BACKOFF_SECONDS = 60.0  # a server's Retry-After is honoured as it is, within --max-time
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})  # a page for people, not a list
# A conditional GET (RFC 9110, 13.1): the validators of the last fetch, sent back as these headers.
_CONDITIONS = {"etag": "If-None-Match", "last_modified": "If-Modified-Since"}


class _StartOver(Exception):
    """The source sends the payload anew from its first byte: what was read of it is void."""


class _Retryable(Exception):
    """A failure worth another attempt."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _BadChecksum(_Retryable):
    """The payload arrived whole but differs from the checksum its source published: it is asked
    for again from its first byte."""


def _md5() -> Any:
    """A new MD5 hash, to compare a payload with the checksum its source published."""
    import hashlib

    return hashlib.md5(usedforsecurity=False)


def _range_of(response: Any) -> tuple[int, int | None] | None:
    """The first byte and the full length from a 206's `Content-Range: bytes N-M/LENGTH`."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", response.headers.get("Content-Range", ""))
    if not match:
        return None
    return int(match[1]), None if match[2] == "*" else int(match[2])


def _refuse_downgrade(response: Any, *args: object, **kwargs: object) -> Any:
    """A requests response hook: refuse a redirect from https to plain http before it is followed."""
    if response.is_redirect and response.url.lower().startswith("https:"):
        from urllib.parse import urljoin

        target = urljoin(response.url, response.headers["Location"])
        if not target.lower().startswith("https:"):
            response.close()
            shown = f"from {redact_url(response.url)} to {redact_url(target)}"
            raise IsinToolError(f"refusing the redirect {shown}: it leaves https")
    return response


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


def _exceptions_within(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception it holds: in its args, its `reason`, its cause and context."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
    return found


def _host_port(url: str) -> str:
    """`host:port` of a URL, or `host` where it names no port: how messages name a server."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _proxy_of(url: str) -> str:
    """The host and port of the proxy that requests takes for `url` from the environment."""

    import requests

    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url)) or ""
    return _host_port(proxy if "://" in proxy else "http://" + proxy)


def _reason(exc: BaseException) -> str:
    """The innermost message of a requests/urllib3 error, which names the real cause."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    reason = getattr(exc, "reason", None)
    return str(reason if isinstance(reason, BaseException) else exc)


# What OpenSSL says when the other end answers a TLS hello with something else (plain HTTP).
_NOT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"}
)
_TIMEOUTS = frozenset(
    {"ConnectTimeout", "ConnectTimeoutError", "ReadTimeout", "ReadTimeoutError", "TimeoutError"}
)


def _unreachable(exc: BaseException, url: str, timeout: float) -> str:
    """One plain sentence for why `url`'s host could not be reached, naming the host (or the
    proxy) and the cause, where requests and urllib3 nest the cause in tuples and reprs."""
    import socket
    import ssl
    from urllib.parse import urlsplit

    where = _host_port(url)
    chain = _exceptions_within(exc)
    names = {type(e).__name__ for e in chain}
    refused = any(isinstance(e, ConnectionRefusedError) for e in chain)
    if "ProxyError" in names:
        proxy = _proxy_of(url)
        if any("407" in str(e) for e in chain):
            return (
                f"the proxy {proxy} asks for a user and password (HTTP 407): put them in its URL, "
                "HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT"
            )
        if refused:
            return f"the proxy {proxy} refused the connection"
        return f"cannot reach {where} through the proxy {proxy}: {_reason(exc)}"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        reason = next(e for e in chain if isinstance(e, ssl.SSLError))
        if reason.reason in _NOT_TLS:
            return f"{where} does not speak TLS (an https:// URL for a plain http port?)"
        if isinstance(reason, ssl.SSLCertVerificationError):
            return f"TLS verification failed for {where}: {reason.verify_message or reason.reason}"
        return f"the TLS handshake with {where} failed: {reason.reason or reason}"
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names:
        host = urlsplit(url).hostname
        return f"cannot find the host {host} (DNS: no such name, or no name server answers)"
    if refused:
        return f"{where} refused the connection (nothing listens there?)"
    if names & _TIMEOUTS:
        return f"{where} did not answer within {_plural(timeout, 'second')} (--timeout)"
    return f"cannot reach {where}: {_reason(exc)}"


def _reads(raw: Any) -> Iterator[bytes]:
    """A response's body as it arrives, undecoded: what each read from the socket brings, where
    urllib3 offers read1 (2.3 and later), so that the deadline is checked after every read
    however slowly the bytes come; else pieces of READ_SIZE."""
    if not hasattr(raw, "read1"):
        yield from raw.stream(READ_SIZE, decode_content=False)
        return
    while piece := raw.read1(READ_SIZE, decode_content=False):
        yield piece


class _Transfer:
    """One payload's download: the GET and its retries, the body as it arrives, and the
    resumption of a body that breaks off.

    `start()` asks for the payload, conditionally when given the last fetch's validators, and
    says False when the source answers 304 Not Modified; `chunks()` then yields its bytes as
    they arrive. Connection errors, timeouts, a body that breaks off, 429 and 5xx are retried
    with exponential backoff (or as Retry-After says), `retries` times in all; other errors are
    final. A body that breaks off is asked for again from where it stopped (`Range` with
    `If-Range`) when the source offers ranges and a validator; when it cannot be, or the source
    sends the whole payload again, `chunks()` raises _StartOver, and a new `chunks()` reads the
    new payload from its first byte. Given the payload's published MD5, a payload that differs
    is retried the same way, then fails naming `name`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: _Deadline,
        retries: int = DEFAULT_RETRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        etag: str | None = None,
        last_modified: str | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        on_retry: Callable[[str, float], None] | None = None,
        md5: str | None = None,
        name: str | None = None,
        accept_html: bool = False,
    ) -> None:
        import requests  # slow to import: only fetch pays for it

        _check_http_url(url)
        self.url, self.shown = url, redact_url(url)
        self.name = name or self.shown
        self._md5, self._digest = md5, None  # the published MD5; the payload's is made by _take
        self.timeout, self.deadline, self.retries, self.max_bytes = timeout, deadline, retries, max_bytes
        self.progress, self.on_retry = progress, on_retry  # told of the bytes so far, and of each retry
        self.accept_html = accept_html  # else an HTML page (a login or maintenance page) is refused
        validators = {"etag": etag, "last_modified": last_modified}
        self._conditions = {_CONDITIONS[name]: value for name, value in validators.items() if value}
        self._session = requests.Session()
        self._session.max_redirects = MAX_REDIRECTS
        self._session.hooks["response"].append(_refuse_downgrade)
        agent = f"isintool/{__version__} (+{requests.utils.default_user_agent()})"
        self._session.headers.update({"User-Agent": agent, "Accept-Encoding": "gzip"})  # what we undo
        self._attempt = 0
        self._response: Any = None
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.size = 0  # bytes of the payload received
        self._expected: int | None = None  # its Content-Length
        self._ranges = False  # whether the source offers byte ranges of it
        self._fresh = False  # whether the response's body is unread

    def __enter__(self) -> "_Transfer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._response is not None:
            self._response.close()
        self._session.close()

    def start(self) -> bool:
        """Ask for the payload; False when the source says it has not changed (304)."""
        response = self._open(self._conditions)
        if response.status_code == 304:
            self.etag, self.last_modified = (
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
            response.close()
            return False
        self._take(response)
        return True

    def again(self) -> None:
        """Ask for the whole payload anew, unconditionally: after a 304, or to read it twice."""
        if self._response is not None:
            self._response.close()
        self._take(self._open({}))

    def chunks(self) -> Iterator[bytes]:
        """The payload's bytes as they arrive, across resumed requests; see the class. A payload
        read before (or not sent, for a 304) is asked for again first."""
        if not self._fresh:
            self.again()
        self._fresh = False
        while True:
            try:
                yield from self._body()
                if self._md5 and self._digest and self._digest.hexdigest() != self._md5.lower():
                    raise _BadChecksum(f"{self.name} does not match its published MD5 checksum")
                return
            except _Retryable as exc:
                self._pause(exc)
                if isinstance(exc, _BadChecksum):
                    self.again()
                    raise _StartOver from None
                self._go_on()

    def _body(self) -> Iterator[bytes]:
        """The rest of the current response's body; _Retryable when it breaks off."""
        import requests

        try:
            for chunk in _reads(self._response.raw):
                self.size += len(chunk)
                if self._digest:
                    self._digest.update(chunk)
                if self.size > self.max_bytes:
                    raise IsinToolError(f"{self.shown} sent more than --max-bytes {self.max_bytes:,} bytes")
                if self.progress:
                    self.progress(self.size, self._expected)
                self.deadline.left()
                yield chunk
        except (requests.RequestException, OSError, _urllib3_errors()) as exc:
            raise _Retryable(self._broke_off(exc)) from None
        if self._expected is not None and self.size < self._expected:
            raise _Retryable(f"the transfer from {self.shown} ended early: {self._so_far()}")

    def _so_far(self) -> str:
        """How much of the payload arrived: `117,432 of 118,432 bytes`, or `117,432 bytes`."""
        total = f" of {self._expected:,}" if self._expected is not None else ""
        return f"{self.size:,}{total} bytes"

    def _broke_off(self, exc: BaseException) -> str:
        """One sentence for a body that stopped coming: which host, how much had come, and why
        in our words (the libraries nest an IncompleteRead or a timeout in tuples and reprs)."""
        chain = _exceptions_within(exc)
        names = {type(e).__name__ for e in chain}
        where = _host_port(self.url)
        if names & _TIMEOUTS:
            silent = _plural(self.timeout, "second")
            return f"{where} sent nothing for {silent} (--timeout), after {self._so_far()} ({self.shown})"
        if any(isinstance(e, ConnectionResetError) for e in chain):
            return f"{where} reset the connection after {self._so_far()} ({self.shown})"
        return f"the transfer from {self.shown} ended early: {self._so_far()}"

    def _go_on(self) -> None:
        """After a break: ask for the rest of the payload, or for all of it and raise _StartOver."""
        received = self.size
        validator = self._validator()
        if received and validator:
            response = self._open({"Range": f"bytes={received}-", "If-Range": validator})
            if response.status_code == 206 and _range_of(response) in {
                (received, self._expected),
                (received, None),
            }:
                self._response.close()
                self._response = response
                return
            if response.status_code != 200:  # 416, or another range than asked: ask for all of it
                response.close()
                response = self._open({})
        else:
            response = self._open({})
        self._response.close()
        self._take(response)
        if received:
            raise _StartOver

    def _validator(self) -> str | None:
        """What If-Range can name: a strong ETag, else Last-Modified; None without byte ranges."""
        if not self._ranges:
            return None
        return self.etag if self.etag and not self.etag.startswith("W/") else self.last_modified

    def _take(self, response: Any) -> None:
        """Read the payload from `response`, from its first byte."""
        self._response = response
        self.etag, self.last_modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        length = response.headers.get("Content-Length")
        self._expected = int(length) if length and length.isdigit() else None
        if self._expected is not None and self._expected > self.max_bytes:
            raise IsinToolError(
                f"{self.shown} is {self._expected:,} bytes, over --max-bytes {self.max_bytes:,}"
            )
        self._ranges = response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
        kind = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if kind in _HTML_TYPES and not self.accept_html:
            raise IsinToolError(
                f"{self.shown} answered a web page ({kind}), not a list: check the URL "
                "(or give --column to read the page)"
            )
        self.size = 0
        # the payload's MD5 so far: none without a published one to compare (0.1 CPU s for GLEIF's)
        self._digest = _md5() if self._md5 else None
        self._fresh = True

    def _open(self, headers: dict[str, str]) -> Any:
        """GET with these headers until a response worth reading comes, retrying what may pass."""
        while True:
            try:
                return self._get(headers)
            except _Retryable as exc:
                self._pause(exc)

    def _pause(self, exc: _Retryable) -> None:
        """Wait before the next attempt; raise the failure when no attempt or time is left."""
        if self._attempt >= self.retries:
            raise IsinToolError(f"{exc} (after {_plural(self._attempt + 1, 'attempt')})") from None
        backoff = min(BACKOFF_SECONDS * 2**self._attempt, MAX_BACKOFF_SECONDS)
        wait = exc.retry_after if exc.retry_after is not None else backoff
        if wait >= self.deadline.left():
            raise IsinToolError(f"{exc}; no time left to retry (--max-time)") from None
        self._attempt += 1
        if self.on_retry:
            self.on_retry(f"{exc}; attempt {self._attempt + 1} of {self.retries + 1}", wait)
        time.sleep(wait)

    def _get(self, headers: dict[str, str]) -> Any:
        """One GET; the response when its status is one to read (200, or 206, 416 or 304 when
        asked for), else the error to raise."""
        import requests

        try:
            response = self._session.get(
                self.url, headers=headers, stream=True, timeout=min(self.timeout, self.deadline.left())
            )
        except requests.TooManyRedirects:
            raise IsinToolError(f"{self.shown} redirects more than {MAX_REDIRECTS} times (a loop?)") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            message = f"{_unreachable(exc, self.url, self.timeout)} ({self.shown})"
            final = isinstance(exc, requests.exceptions.SSLError) or "HTTP 407" in message
            raise (IsinToolError if final else _Retryable)(message) from None  # retries cannot help those
        except requests.RequestException as exc:
            raise IsinToolError(f"cannot ask {self.shown}: {_reason(exc)}") from None
        status = response.status_code
        conditional = not headers.keys().isdisjoint(_CONDITIONS.values())
        if status in {200} | ({206, 416} if "Range" in headers else set()) | (
            {304} if conditional else set()
        ):
            return response
        response.close()
        if status == 304:
            raise IsinToolError(
                f"{self.shown} answered 304 Not Modified to a request that was not conditional"
            )
        if status in _RETRY_STATUS:
            raise _Retryable(
                f"{self.shown} answered HTTP {status}",
                _retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403):
            raise IsinToolError(f"{self.shown} answered HTTP {status} {response.reason}: {NETRC_HINT}")
        raise IsinToolError(f"{self.shown} answered HTTP {status} {response.reason}")


def _is_local(url: str) -> bool:
    """Whether a --url names a file on this host: a `file://` URL, an absolute or `./` path, or
    a file that is there. Anything else is a URL, checked as one (a URL without its scheme may
    hold a password, and is not quoted in a message as a missing file would be)."""
    if url.lower().startswith("file:") or url.startswith(("/", "./", "../")):
        return True
    return "://" not in url and os.path.exists(url)


class _LocalFile:
    """A part that is a file on this host, read as _Transfer reads a download: in pieces, within
    --max-bytes and the deadline, but never conditionally (there is no server to ask), so a
    list fetched from a file is always read again. `file:///srv/x.csv` and `/srv/x.csv` alike."""

    etag = last_modified = None  # a file's part is recorded without validators

    def __init__(
        self,
        url: str,
        *,
        deadline: _Deadline,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: Callable[[int, int | None], None] | None = None,
        name: str | None = None,
        **_unused: object,  # what a download is told and a file has no use for (retries...)
    ) -> None:
        from urllib.parse import unquote, urlsplit

        self.url = url
        self.path = unquote(urlsplit(url).path) if url.lower().startswith("file:") else url
        self.shown = self.name = name or self.path
        self.deadline, self.max_bytes, self.progress = deadline, max_bytes, progress
        self.size = 0

    def __enter__(self) -> "_LocalFile":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def start(self) -> bool:
        """Check that the file can be read: for all fetch can tell, it has changed."""
        self._open().close()
        return True

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, from its first."""
        self.size = 0
        with self._open() as f:
            expected = os.fstat(f.fileno()).st_size
            for chunk in _read_chunks(f, READ_SIZE):
                self.size += len(chunk)
                if self.size > self.max_bytes:
                    raise IsinToolError(f"{self.path} holds more than --max-bytes {self.max_bytes:,} bytes")
                if self.progress:
                    self.progress(self.size, expected)
                self.deadline.left()
                yield chunk

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            raise IsinToolError(f"no file {self.path}") from None
        except IsADirectoryError:
            raise IsinToolError(f"{self.path} is a folder, not a file") from None
        except PermissionError:
            raise IsinToolError(f"cannot read {self.path}: it is not readable by this user") from None


def _until_whole(attempt: Callable[[], T]) -> T:
    """attempt(), once more each time a source starts its payload over; an attempt must leave
    nothing behind when it raises (atomic_file does not)."""
    while True:
        try:
            return attempt()
        except _StartOver:
            continue


# --- Decompress: gzip, zip, and the dispatch by a payload's first bytes ---------------------------

# A decompressor hands out at most this much at a time, so that a small input that inflates
# hugely (a bomb) is stopped at --max-bytes, not after it has filled the memory.
INFLATE_STEP = 1024 * 1024


class _ByteStream:
    """Chunks read as a stream: exact reads for a format's headers, pieces for its data."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def peek(self, size: int) -> bytes:
        """The next `size` bytes (fewer at the end), left to be read."""
        while len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        return self._buffer[:size]

    def read(self, size: int) -> bytes:
        """Exactly the next `size` bytes; a payload that ends first is truncated."""
        data = self.peek(size)
        if len(data) < size:
            raise IsinToolError("truncated payload: it ends inside a zip header or trailer")
        self._buffer = self._buffer[size:]
        return data

    def pieces(self, limit: int | None = None) -> Iterator[bytes]:
        """The bytes that follow, as they come: all, or the next `limit`."""
        left = limit
        while left is None or left > 0:
            piece = self._buffer or next(self._chunks, b"")
            if not piece:
                return
            if left is not None:
                piece, self._buffer = piece[:left], piece[left:]
                left -= len(piece)
            else:
                self._buffer = b""
            yield piece

    def unread(self, data: bytes) -> None:
        """Put bytes back, to be read next."""
        self._buffer = data + self._buffer


class _Decompressor:
    """One compressed stream, fed as it arrives: `feed` yields its output a step at a time,
    `eof` says whether the stream marked its end, and `unused_data` holds what followed it.
    The methods differ only in the object behind: zlib's, bz2's or lzma's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def eof(self) -> bool:
        return bool(self._inner.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._inner.unused_data)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output of `data`, at most INFLATE_STEP a piece."""
        inner = self._inner
        if hasattr(inner, "unconsumed_tail"):  # zlib keeps the input it has not used in sight
            while data and not inner.eof:
                yield inner.decompress(data, INFLATE_STEP)
                data = inner.unconsumed_tail
            return
        yield inner.decompress(data, INFLATE_STEP)  # bz2 and lzma keep it inside, asked for below
        while not inner.eof and not inner.needs_input:
            yield inner.decompress(b"", INFLATE_STEP)


def _gunzip(stream: _ByteStream) -> Iterator[bytes]:
    """gzip (RFC 1952), every member; zlib checks each member's CRC-32 and size."""
    started = False
    inflater = _Decompressor(zlib.decompressobj(zlib.MAX_WBITS | 16))
    for piece in stream.pieces():
        while piece:
            started = True
            yield from inflater.feed(piece)
            piece = inflater.unused_data if inflater.eof else b""
            if inflater.eof:
                inflater, started = _Decompressor(zlib.decompressobj(zlib.MAX_WBITS | 16)), False
    if started:
        raise IsinToolError("truncated payload: the gzip stream ends early")


# The zip format, as PKWARE's APPNOTE.TXT defines it (section numbers below). Python's zipfile
# starts from the central directory at the end of the file; a stream is read from the front, a
# local file header after another, the way Info-ZIP's funzip and libarchive's stream reader do.

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 4.3.7, 30 bytes; sizes 0xFFFFFFFF: see zip64
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ZIP64_EXTRA_ID = 0x0001  # 4.5.3: the real sizes, 8 bytes each
_ENCRYPTED, _DATA_DESCRIPTOR = 0x0001, 0x0008  # general purpose bit flag, bits 0 and 3 (4.4.4)
_STORED, _DEFLATED, _BZIP2, _LZMA = 0, 8, 12, 14  # compression methods (4.4.5)
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"  # 4.3.9.3: optional before a data descriptor
# 4.3.9: a data descriptor's CRC-32, compressed and uncompressed sizes; 8-byte sizes for zip64.
_DESCRIPTOR = {False: struct.Struct("<III"), True: struct.Struct("<IQQ")}
_END_SIGNATURE = b"PK\x05\x06"  # 4.3.16: 22 bytes, the last two the length of the comment after them
_CENTRAL_SIGNATURES = (b"PK\x01\x02", b"PK\x05\x05", _END_SIGNATURE, b"PK\x06\x06", b"PK\x06\x07")
# What may follow the end record: a comment of up to 64 KiB, then padding (libarchive writing
# to a pipe fills its last 10 KiB block with zeros), which unzip and zipfile ignore too.
_MAX_TRAILER = 22 + 0xFFFF + 64 * 1024


class _ZipEntry(_Record):
    """A local file header (4.3.7), the sizes from its zip64 extra field where it has one."""

    name: str
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    zip64: bool


def _is_metadata(name: str) -> bool:
    """A folder, or what macOS Finder adds to a zip: __MACOSX/ and AppleDouble `._` files."""
    return name.endswith("/") or name.startswith("__MACOSX/") or name.rpartition("/")[2].startswith("._")


def _check_end(stream: _ByteStream) -> None:
    """Read the central directory to the payload's end, and find the end record (4.3.16) in its
    last bytes, its comment whole; what follows the comment is ignored."""
    tail = b""
    for piece in stream.pieces():
        tail = (tail + piece)[-_MAX_TRAILER:]
    end = tail.rfind(_END_SIGNATURE)
    while end >= 0 and end + 22 + int.from_bytes(tail[end + 20 : end + 22], "little") > len(tail):
        end = tail.rfind(_END_SIGNATURE, 0, end)  # those bytes were in a comment or padding
    if end < 0:
        raise IsinToolError("truncated payload: the zip lacks its end of central directory record")


def _local_header(stream: _ByteStream) -> _ZipEntry:
    """Read a local file header (4.3.7) with its name and extra field."""
    fields = _LOCAL_HEADER.unpack(stream.read(_LOCAL_HEADER.size))
    magic, _version, flags, method, _time, _date, crc, compressed, size, name_length, extra_length = fields
    if magic != _LOCAL_SIGNATURE:
        raise IsinToolError("corrupt zip: no local file header where one should be")
    name = stream.read(name_length).decode("utf-8" if flags & 0x0800 else "cp437")  # 4.4.4 bit 11
    extra = stream.read(extra_length)
    zip64 = False
    while len(extra) >= 4:  # 4.5.1: blocks of an id and a size, then the data
        block_id, block_size = struct.unpack_from("<HH", extra)
        if block_id == _ZIP64_EXTRA_ID:
            values = iter(struct.unpack_from(f"<{block_size // 8}Q", extra, 4))
            size = next(values) if size == 0xFFFFFFFF else size  # 4.5.3: in this order
            compressed = next(values) if compressed == 0xFFFFFFFF else compressed
            zip64 = True
        extra = extra[4 + block_size :]
    return _ZipEntry(name, flags, method, crc, compressed, size, zip64)


def _next_entry(stream: _ByteStream) -> _ZipEntry | None:
    """The next local file header; None at the central directory."""
    signature = stream.peek(4)
    if signature in _CENTRAL_SIGNATURES or signature == b"":
        return None
    return _local_header(stream)


class _ZipLzma:
    """LZMA as a zip holds it (5.8.8): a 4-byte header (the LZMA SDK's version, the size of the
    properties), the 5-byte properties, then a raw LZMA1 stream; lzma's decompressor interface."""

    def __init__(self) -> None:
        self._head = b""
        self._inner: Any = None
        self.unused_data = b""

    @property
    def eof(self) -> bool:
        return self._inner is not None and self._inner.eof

    @property
    def needs_input(self) -> bool:
        return self._inner is None or self._inner.needs_input

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            import lzma

            self._head += data
            if len(self._head) < 4 or len(self._head) < 4 + int.from_bytes(self._head[2:4], "little"):
                return b""
            size = int.from_bytes(self._head[2:4], "little")
            properties, data = self._head[4 : 4 + size], self._head[4 + size :]
            if len(properties) != 5 or properties[0] >= 9 * 5 * 5:
                raise lzma.LZMAError("bad LZMA properties in the zip")
            lc, remainder = properties[0] % 9, properties[0] // 9
            options = {"lc": lc, "lp": remainder % 5, "pb": remainder // 5}
            options["dict_size"] = int.from_bytes(properties[1:5], "little")
            self._inner = lzma.LZMADecompressor(
                lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1, **options}]
            )
        out = self._inner.decompress(data, max_length)
        self.unused_data = self._inner.unused_data
        return out


def _decompressor(entry: _ZipEntry) -> _Decompressor | None:
    """The decompressor for an entry's method; None for a stored one. The standard library
    reads deflate, bzip2 and LZMA; any other method (Deflate64 among them) is refused."""
    if entry.method == _DEFLATED:
        return _Decompressor(zlib.decompressobj(-zlib.MAX_WBITS))
    if entry.method == _BZIP2:
        import bz2

        return _Decompressor(bz2.BZ2Decompressor())
    if entry.method == _LZMA:
        return _Decompressor(_ZipLzma())
    if entry.method != _STORED:
        raise IsinToolError(
            f"{entry.name} is compressed with zip method {entry.method}: only stored (0), deflate (8), "
            "bzip2 (12) and LZMA (14) are read"
        )
    return None


# A stored entry's data may end where a descriptor's signature stands, or a descriptor without one
# followed by the next local header or the central directory's first header: one regex finds all
# three, faster than three searches (the data itself holds "PK" often enough, in random codes).
_STORED_END = _Regex(rb"PK(?:\x07\x08|\x03\x04|\x01\x02)")


def _descriptor_at(buffer: bytes, crc: int, size: int, layout: struct.Struct) -> int | None:
    """Where in `buffer` the data ends, if a matching descriptor is there in full (the data
    before `buffer` has `crc` and `size`); None if none is, yet."""
    for match in _STORED_END.finditer(buffer, 0, len(buffer) - layout.size):
        mark = match.start()
        if match[0] == _DESCRIPTOR_SIGNATURE:
            end, descriptor = mark, mark + 4
        elif mark >= layout.size:
            end = descriptor = mark - layout.size
        else:
            continue
        described_crc, compressed, uncompressed = layout.unpack_from(buffer, descriptor)
        if compressed == uncompressed == size + end and described_crc == zlib.crc32(buffer[:end], crc):
            return end
    return None


def _stored_to_descriptor(stream: _ByteStream, entry: _ZipEntry) -> Generator[bytes, None, tuple[int, int]]:
    """A stored entry's data when its sizes follow it: it ends where a data descriptor follows
    whose CRC-32 and sizes match the bytes so far, with the descriptor's signature or without it
    (then the next header's signature follows the descriptor), as libarchive's stream reader
    finds it. A false end would need a 32-bit CRC and the exact size to match by chance.

    Bytes go on only once no descriptor can start among them; memory stays at a read's size.
    Returns the data's CRC-32 and size, which the search has computed anyway.
    """
    layout = _DESCRIPTOR[entry.zip64]
    # _descriptor_at decides every signature but those in the last 4 + layout.size bytes; a
    # descriptor without its signature starts layout.size before one: keep this much back.
    margin = 2 * layout.size + 8
    crc = size = 0
    buffer = b""
    for piece in stream.pieces():
        buffer += piece
        end = _descriptor_at(buffer, crc, size, layout)
        if end is not None:
            data = buffer[:end]
            stream.unread(buffer[end:])
            if data:
                yield data
            return zlib.crc32(data, crc), size + end
        sure = max(len(buffer) - margin, 0)  # no descriptor starts before this
        if sure:
            data, buffer = buffer[:sure], buffer[sure:]
            crc, size = zlib.crc32(data, crc), size + len(data)
            yield data
    raise IsinToolError(f"truncated payload: the zip ends inside {entry.name}")


def _data_descriptor(stream: _ByteStream, entry: _ZipEntry) -> _ZipEntry:
    """The CRC-32 and sizes written after the data (4.3.9), 8-byte sizes after a zip64 header."""
    if stream.peek(4) == _DESCRIPTOR_SIGNATURE:
        stream.read(4)
    layout = _DESCRIPTOR[entry.zip64]
    crc, compressed, size = layout.unpack(stream.read(layout.size))
    return entry._replace(crc=crc, compressed=compressed, size=size)


def _entry_data(stream: _ByteStream, entry: _ZipEntry) -> Iterator[bytes]:
    """An entry's data, decompressed as it streams; its CRC-32 and sizes checked at its end.

    With its sizes in the header the entry is read by them. With the sizes after the data (a
    data descriptor, 4.4.4 bit 3), a compressed entry ends where its stream marks its end, and a
    stored one where a descriptor follows that matches the data (see _stored_to_descriptor).
    """
    if entry.flags & _ENCRYPTED:
        raise IsinToolError(f"{entry.name} is encrypted in the zip")
    decompressor = _decompressor(entry)
    described = entry.flags & _DATA_DESCRIPTOR
    crc = size = compressed = 0
    if decompressor is None and described:
        crc, size = yield from _stored_to_descriptor(stream, entry)
        compressed = size
    elif decompressor is None:
        for text in stream.pieces(entry.compressed):
            crc, size, compressed = zlib.crc32(text, crc), size + len(text), compressed + len(text)
            yield text
    else:
        for piece in stream.pieces(None if described else entry.compressed):
            compressed += len(piece)
            for text in decompressor.feed(piece):
                crc, size = zlib.crc32(text, crc), size + len(text)
                yield text
            if decompressor.eof:
                compressed -= len(decompressor.unused_data)
                stream.unread(decompressor.unused_data)
                break
        else:
            if described:  # only the stream's own end could tell where the entry ends
                raise IsinToolError(f"truncated payload: the zip ends inside {entry.name}")
    expected = _data_descriptor(stream, entry) if described else entry
    if (crc, size, compressed) != (expected.crc, expected.size, expected.compressed):
        if compressed < expected.compressed:
            raise IsinToolError(f"truncated payload: the zip ends inside {entry.name}")
        raise IsinToolError(f"corrupt zip: {entry.name} fails its CRC-32 or size check")


def _zip_files(stream: _ByteStream) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each file of a zip, (name, its data as it streams), in order. Folders and macOS
    metadata (`__MACOSX/...`, `._NAME`) are read past; every entry's CRC-32 and sizes are
    checked at its end, and the end record after the last. Each file's data must be read before
    the next is asked for (what is left unread is read past, and checked, first)."""
    found = 0
    while (entry := _next_entry(stream)) is not None:
        data = _entry_data(stream, entry)
        if not _is_metadata(entry.name):
            found += 1
            yield entry.name, data
        for _ in data:  # what the reader left, or an entry that is not a file: checked all the same
            pass
    if not found:
        raise IsinToolError("expected a file in the zip, found none")
    _check_end(stream)


def _lzma_error() -> type[Exception]:
    import lzma

    return lzma.LZMAError


def _decompressed_texts(chunks: Iterable[bytes], max_bytes: int) -> Iterator[Iterator[bytes]]:
    """The texts of a payload given in chunks, each as it arrives, recognised by the payload's
    first bytes: a zip's files (see _zip_files), gzip, or plain; never an empty chunk. Each text
    must be read to its end before the next is asked for. Raises at a text's end if a checksum
    or a size fails, and once the texts pass `max_bytes` in all."""
    stream = _ByteStream(chunks)
    magic = stream.peek(4)
    if magic.startswith(b"PK\x03\x04"):
        texts: Iterable[Iterator[bytes]] = (data for _name, data in _zip_files(stream))
    elif magic.startswith(b"\x1f\x8b"):
        texts = [_gunzip(stream)]
    else:
        texts = [stream.pieces()]
    total = 0  # bytes of all the texts so far

    def limited(text: Iterator[bytes]) -> Iterator[bytes]:
        nonlocal total
        try:
            for chunk in text:
                if not chunk:  # a decompressor with nothing to give yet (bzip2 until a whole block)
                    continue  # is no end of the text: readers take an empty chunk for one
                total += len(chunk)
                if total > max_bytes:
                    raise IsinToolError(
                        f"the payload decompresses to more than {max_bytes} bytes (--max-bytes)"
                    )
                yield chunk
        except (zlib.error, OSError, EOFError, _lzma_error()) as exc:  # bz2 raises OSError
            raise IsinToolError(f"corrupt payload: {exc}") from None

    for text in texts:
        yield limited(text)


# --- Sources: a register's answer, and the FIRDS registers ----------------------------------------

FIRDS_REGISTER = "https://registers.esma.europa.eu/solr/esma_registers_firds_files/select"
FCA_FIRDS_REGISTER = "https://api.data.fca.org.uk/fca_data_firds_files"
FIRDS_REGISTERS = {"esma": FIRDS_REGISTER, "fca": FCA_FIRDS_REGISTER}  # --firds NAME
FIRDS_LOOK_BACK_DAYS = 21  # ESMA publishes the full set weekly; three weeks leave room for a late one
FIRDS_PAGE_ROWS = 500  # Solr answers 10 rows a page unless asked for more
FIRDS_MAX_PAGES = 100  # a register whose paging never ends stops here
_MD5_HEX = _Regex(r"[0-9A-Fa-f]{32}")


def _get_json(url: str, **settings: Any) -> Any:
    """A JSON document (a register's answer), downloaded whole with fetch's retries and limits."""
    import json

    with _Transfer(url, **settings) as transfer:
        transfer.start()

        def whole() -> bytes:
            texts = _decompressed_texts(transfer.chunks(), transfer.max_bytes)
            return b"".join(b"".join(text) for text in texts)

        body = _until_whole(whole)
    try:
        return json.loads(body)
    except ValueError:
        raise IsinToolError(f"{transfer.shown} answered no JSON") from None


# --- Read the payload -----------------------------------------------------------------------------

# Blocks of text, a worker's task each: large enough to amortise sending them, small enough to
# be worked in the CPU's caches (the README's Performance section has the measurements).
BLOCK_SIZE = 1024 * 1024
SLOT_SIZE = 2 * BLOCK_SIZE  # blocks go to the workers through shared memory (_Slots); a larger one by pipe
# Headers that name the ISIN column, as _header_names writes them (lower case, `_`, `-` and `.`
# as blanks): NSE India's " ISIN NUMBER", BSE's "ISIN No", and "ISIN_CODE", "ISIN Code".
ISIN_COLUMN_NAMES = ("isin", "isin number", "isin no", "isin nr", "isin code")
_DELIMITERS = (",", ";", "\t")
HEADER_SEARCH_LINES = 100  # preamble lines allowed before the header (Xetra's file has a few)
# The start of the root element of ESMA's and the FCA's FIRDS reports, full (...Rpt) and delta
# (...DltaRpt), which sits in a file's first bytes.
FIRDS_ROOT = b"<FinInstrmRptgRefData"
UTF8_BOM = b"\xef\xbb\xbf"  # which some writers put before a text (taken off before it is read)


class _CsvLayout(_Record):
    """Where the ISINs stand in a CSV file."""

    delimiter: str
    column: int
    data_start: int  # offset of the first data row in the text searched for the header


def _header_name(field: str) -> str:
    """A header's name as it is compared: lower case, blanks, `_`, `-` and `.` as one blank
    (` ISIN NUMBER`, `ISIN_Number` and `isin-number.` alike)."""
    return " ".join(re.split(r"[\s_.-]+", field.lower())).strip()


def _header_names(line: str, delimiter: str) -> list[str]:
    """The fields of a possible header line, stripped and lower-cased; none if it is no CSV."""
    import csv

    try:
        fields = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a NUL or a stray carriage return: binary data, not a header
        return []
    return [_header_name(field) for field in fields]


def _find_csv_layout(head: bytes, column: str | None = None) -> _CsvLayout | None:
    """Find the header naming the ISIN column (or `column`, in any case) in the first lines;
    None when there is none."""
    wanted = {_header_name(column)} if column else set(ISIN_COLUMN_NAMES)
    offset = 0
    for line in head.split(b"\n")[:HEADER_SEARCH_LINES]:
        text = line.decode("utf-8", "replace")
        for delimiter in _DELIMITERS:
            names = _header_names(text, delimiter)
            if wanted & set(names):
                return _CsvLayout(
                    delimiter,
                    next(i for i, name in enumerate(names) if name in wanted),
                    offset + len(line) + 1,
                )
        offset += len(line) + 1
    return None


def _head(chunks: Iterator[bytes]) -> bytes:
    """Take chunks until they hold the lines where a header may stand (or the text ends)."""
    head = b""
    while head.count(b"\n") < HEADER_SEARCH_LINES and len(head) < BLOCK_SIZE:
        chunk = next(chunks, b"")
        if not chunk:
            break
        head += chunk
    return head


class _Reading(_Record):
    """How a payload's text gives its ISINs: a kind of text (one row of the table below), the
    CSV layout for a CSV, the --column asked for, and the source the text came from."""

    kind: "_Kind"
    layout: _CsvLayout | None = None
    column: str | None = None
    source: str = ""
    firds: bool = False  # a FIRDS document read for every token: its underlyings' ISINs come too


class _Kind(_Record):
    """A kind of payload text: where a block of it may end without splitting a value (and what
    the next block starts with, see _regroup), and a block's ISIN-shaped values with the count
    of all the values it holds."""

    name: str
    split: Callable[[bytes, _Reading], tuple[int, bytes]]
    values: Callable[[str, _Reading], tuple[list[str], int]]


def _after_last_record(buffer: bytes, reading: _Reading) -> tuple[int, bytes]:
    """CSV: after the last newline that ends a record."""
    end = buffer.rfind(b"\n") + 1
    # A newline inside a quoted field is not the end of a record: quotes before a real record
    # end come in pairs ("" escapes a quote, which keeps the count even). A stray quote would
    # keep the count odd for good, so past a few blocks take the last newline.
    if len(buffer) >= 4 * BLOCK_SIZE or b'"' not in buffer:  # `in` is fast, `count` not
        return end, buffer[end:]
    odd = buffer.count(b'"', 0, end) % 2
    while odd and end:
        previous = buffer.rfind(b"\n", 0, end - 1) + 1
        odd ^= buffer.count(b'"', previous, end) % 2
        end = previous
    return end, buffer[end:]


def _before_last_tag(buffer: bytes, reading: _Reading) -> tuple[int, bytes]:
    """XML: before the last `<`, as an element's text runs from `>` to `<`."""
    end = max(buffer.rfind(b"<"), 0)
    return end, buffer[end:]


def _before_open_member(buffer: bytes, reading: _Reading) -> tuple[int, bytes]:
    """JSON: before the last member --column still open, as extract cuts (see _split_open_member)."""
    return _split_open_member(buffer, _json_key(reading.column or ""))


def _after_last_token(buffer: bytes, reading: _Reading) -> tuple[int, bytes]:
    """Any text: after the last byte that is no letter or digit, where no token can go on (so
    that JSON or XML on one long line is cut into blocks too)."""
    end = len(buffer.rstrip(_TOKEN_BYTES))
    return end, buffer[end:]


def _csv_isin_pattern(layout: _CsvLayout) -> re.Pattern[str]:
    """A regex for rows whose ISIN column holds an ISIN-shaped value (group 1), in unquoted
    text where every row starts with a newline (the block's first row too)."""
    d = re.escape(layout.delimiter)
    fields_before = ("[^" + d + "\n]*" + d) * layout.column  # written out: faster than {n}
    # Anchored on the newline, which the regex engine finds fast, rather than on `^`, which it
    # would try at every character. The value may be padded with blanks; the field ends there.
    return re.compile("\n" + fields_before + "[ \t]*(" + ISIN_PATTERN + ")[ \t]*\r?(?![^" + d + "\n])")


_BLANK_LINE = _Regex(r"\n(?=\r?\n)")


def _csv_candidates(block: str, layout: _CsvLayout) -> tuple[list[str], int]:
    """The ISIN-shaped values of the ISIN column in a block of whole records, and its row count."""
    import csv

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


def _csv_values(text: str, reading: _Reading) -> tuple[list[str], int]:
    """CSV: the ISIN-shaped values of the ISIN column, and the row count."""
    assert reading.layout is not None  # a CSV reading always has its layout (_choose_reading)
    return _csv_candidates(text, reading.layout)


def _present(values: list[str]) -> tuple[list[str], int]:
    """The values a regex's group matched (an unmatched one is empty: not ISIN-shaped), and how
    many there were in all."""
    return [value for value in values if value], len(values)


def _xml_values(text: str, reading: _Reading) -> tuple[list[str], int]:
    """XML: the ISIN-shaped texts of the elements named --column, and how many there were.

    An element whose local name is the column, whatever its prefix and attributes; its text runs
    to the next tag (blocks are cut before a `<`, so a block's end is one too). Where no `:NAME`
    occurs in the block (ESMA's files use a default namespace) the regex starts with the literal
    `<NAME`, which the regex engine finds much faster than a prefix pattern.
    """
    name = reading.column or ""
    prefix = r"(?:[A-Za-z_][\w.-]*:)?" if ":" + name in text else ""
    pattern = (
        "<" + prefix + re.escape(name) + r"(?:\s[^>]*)?(?<!/)>\s*(?:(" + ISIN_PATTERN + r")\s*(?=<|\Z))?"
    )
    return _present(re.findall(pattern, text))


def _json_values(text: str, reading: _Reading) -> tuple[list[str], int]:
    """JSON: the ISIN-shaped string values of the keys named --column (found as extract finds
    keys), blanks inside the quotes stripped, and how many such keys there were."""
    value = b'"[ \t]*(?:(' + ISIN_PATTERN.encode() + b')[ \t]*")?'
    return _present(re.findall(_key_regex(reading.column or "", value).decode("latin-1"), text, re.DOTALL))


def _token_values(text: str, reading: _Reading) -> tuple[list[str], int]:
    """Any text: every ISIN-shaped token, each counted as a value (found in the text's character
    classes, see _ISIN_TOKEN; a character is a byte, so a token stands at the same place in both)."""
    classes = text.encode("latin-1").translate(_CHAR_CLASS)
    tokens = [text[match.start() : match.end()] for match in _ISIN_TOKEN.finditer(classes)]
    return tokens, len(tokens)


_CSV = _Kind("csv", _after_last_record, _csv_values)
_XML = _Kind("xml", _before_last_tag, _xml_values)
_JSON = _Kind("json", _before_open_member, _json_values)
_TOKENS = _Kind("tokens", _after_last_token, _token_values)


def _choose_reading(head: bytes, column: str | None = None) -> _Reading:
    """How to read a payload, from its first lines and the --column asked for."""
    layout = _find_csv_layout(head, column)
    if layout:
        return _Reading(_CSV, layout)
    if not column:
        return _Reading(_TOKENS, firds=FIRDS_ROOT in head)
    first = head.lstrip(b" \t\r\n")[:1]
    if first == b"<":
        return _Reading(_XML, column=column)
    if first in (b"{", b"["):
        return _Reading(_JSON, column=column)
    raise IsinToolError(
        f"no column named {column!r} in the first {HEADER_SEARCH_LINES} lines, and the text is no XML or JSON"
    )


def _joined(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Chunks under half `size` joined into pieces of at least `size` bytes; a chunk of half
    `size` or more goes on as it is, after what was pending."""
    pending: list[bytes] = []
    total = 0
    for chunk in chunks:
        if len(chunk) >= size // 2:
            if pending:
                yield b"".join(pending)
                pending, total = [], 0
            yield chunk
            continue
        pending.append(chunk)
        total += len(chunk)
        if total >= size:
            yield b"".join(pending)
            pending, total = [], 0
    if pending:
        yield b"".join(pending)


def _blocks(chunks: Iterable[bytes], reading: _Reading) -> Iterator[bytes]:
    """Regroup chunks into blocks of about BLOCK_SIZE that no value spans, cut where the
    reading's kind allows (chunks come as the network or a decompressor hands them out)."""
    # Small reads (a stored zip's, the network's) are joined into blocks first, as each block
    # costs a worker's round trip and makes a run for the merge to cut; a decompressor's output,
    # in pieces near a block already, goes on as it is (joining those would double the blocks'
    # size, and with it the memory of the blocks in flight).
    for buffer, end in _regroup(
        _joined(chunks, BLOCK_SIZE), lambda buffer: reading.kind.split(buffer, reading)
    ):
        if end:
            yield buffer[:end]


def _fixed_width_column(block: bytes, layout: _CsvLayout) -> bytearray | None:
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
    return lines  # a bytearray: bytes-like, and a copy less


class _ParsedBlock(_Record):
    """A block's valid ISINs as a sorted run (13-byte records: see _LINE), and how many rows,
    values or ISIN-shaped tokens it had that were not valid ISINs."""

    run: bytearray  # the block's column (or its values' text), sorted and cut where it lies
    invalid: int


def _value_lines(values: list[str]) -> bytearray:
    """A reading's ISIN-shaped values (12 characters each) as 13-byte lines."""
    return bytearray("\n".join([*values, ""]), "latin-1")


def _parse_block(job: tuple[bytes, _Reading]) -> _ParsedBlock:
    """Worker: a block, read as its reading says."""
    block, reading = job
    lines = _fixed_width_column(block, reading.layout) if reading.layout else None
    if lines is not None:  # the fast path for machine-written CSV
        rows = len(lines) // _LINE
    else:  # the general reading: a regex (or the csv module for quoted CSV), ISIN-shaped values
        candidates, rows = reading.kind.values(block.decode("latin-1"), reading)
        lines = _value_lines(candidates)
    valid = _valid_sorted(lines, _isin_mask(lines))
    return _ParsedBlock(valid, rows - len(valid) // _LINE)


# --- Sort -----------------------------------------------------------------------------------------

# The list is cut into key ranges of about this many ISINs (GLEIF's 7.9 million in 120), each merged
# on its own (by a worker when they run): small enough to be merged in the CPU's caches, and more
# of them shorten the merge left after the last byte (the README's Performance section has the
# measurements). Each range costs a cut of every run: a FIRDS file read for every token (278,000
# ISINs in 144 runs) took 0.1-0.2 CPU s more in 128 ranges than in 4.
KEY_RANGE_ISINS = 65536


def _key_range_count(runs: list[bytes]) -> int:
    """How many key ranges the runs' ISINs make (see KEY_RANGE_ISINS)."""
    return max(1, sum(map(len, runs)) // _LINE // KEY_RANGE_ISINS)


def _pivots(runs: list[bytes], ranges: int) -> list[bytes]:
    """ISINs that cut the runs into `ranges` key ranges of about equal size, from a sample of
    every run (a payload sorted already has runs that each cover a narrow range)."""
    sample = sorted(
        isins[len(isins) * k // ranges] for isins in map(_Records.of_text, runs) for k in range(ranges)
    )
    return sorted({bytes(sample[len(sample) * k // ranges]) for k in range(1, ranges)})  # hashable


def _sorted_unique(items: list[T]) -> list[T]:
    """`items` sorted (in place: timsort merges runs that are sorted already), each once.
    Duplicates are then neighbours: keep each item that differs from the one before (no group
    objects, as itertools.groupby would make, and no copy of the list, as items[1:] would)."""
    items.sort()
    differs = itertools.chain((True,), map(operator.ne, itertools.islice(items, 1, None), items))
    return list(itertools.compress(items, differs))


def _merge_runs(runs: list[bytes]) -> tuple[bytearray, int]:
    """One sorted run of the unique ISINs of sorted runs (a key range's: _KeyRanges.merge), and
    how many duplicates were dropped to make it. qsort does not look for the runs, as timsort
    would: it sorts their records again, which in C still costs less than the runs' records
    as Python objects, each made, merged and joined back."""
    records = bytearray().join(runs)
    _sort_records(records)
    return _without_repeats(records)


# --- Changes --------------------------------------------------------------------------------------
# --changes: what the new list adds to the one it replaces, and what it drops. The merge compares
# each key range of the new list with the same range of the old one (_KeyRanges.merge, below),
# read from the disk by bisecting its records, so no second pass and no second copy is needed.

# A list as a person may write it: an ISIN a line, blanks around it and blank lines allowed.
_ISIN_LINES = _Regex(rb"(?:[ \t]*(?:" + ISIN_PATTERN.encode() + rb")?[ \t]*\r?\n)*")
_RECORDS = _Regex(rb"(?:" + ISIN_PATTERN.encode() + rb"\n)*")  # as fetch writes a list
INSPECT_RECORDS = 80_000  # records read at a time when a fetch looks at the list it replaces


def _shaped_records(text: bytes) -> bool:
    """Whether `text` is 13-byte records of ISIN_PATTERN's shape, each with its newline, as
    _RECORDS says: checked a column at a time in C, where _RECORDS takes several times as long,
    and so did checking the check digits (which a list written by hand may get wrong)."""
    count, rest = divmod(len(text), _LINE)
    if rest or text[_LINE - 1 :: _LINE] != b"\n" * count:
        return False
    return not any(text[position::_LINE].translate(None, chars) for position, chars in enumerate(_ISIN_SHAPE))


def _rising(last: bytes, records: bytes) -> bool:
    """Whether 13-byte records each come after the one before, the first after `last`."""
    isins = [last, *records.split(b"\n")[:-1]]  # the text ends with a newline: its last piece is b""
    return all(map(operator.lt, isins, isins[1:]))


class _OldList(_Record):
    """The file a fetch replaces, as one pass over it found it."""

    path: str
    lines: int
    isins: bool  # one ISIN a line (blanks allowed): a list, written by fetch or by hand
    records: bool  # sorted unique 13-byte records, as fetch writes a list: it can be bisected

    @classmethod
    def inspect(cls, path: str, bisected: bool = True) -> "_OldList | None":
        """Read the file at `path` once; None when there is none. A caller that will not bisect
        it (a fetch without --changes, --firds, the metrics) passes `bisected=False`: `records`
        is then False, and the order is not checked (which takes half a second for eight
        million ISINs)."""
        lines, isins, records = 0, True, bisected
        last = b""  # the last record so far: records must rise from one piece to the next too
        carry = b""  # a line that goes on in the next chunk
        try:
            with open(path, "rb") as f:
                for chunk in _read_chunks(f, _LINE * INSPECT_RECORDS):
                    text = carry + chunk
                    end = text.rfind(b"\n") + 1
                    piece, carry = text[:end], text[end:]
                    lines += piece.count(b"\n")
                    if not _shaped_records(piece):  # as fetch writes a list, no regex need read it
                        isins = isins and bool(_ISIN_LINES.fullmatch(piece))
                        records = records and isins and bool(_RECORDS.fullmatch(piece))
                    records = records and _rising(last, piece)
                    last = piece[-_LINE:-1] or last
        except FileNotFoundError:
            return None
        if carry:  # a last line without its newline: no record
            lines += 1
            isins = isins and bool(_ISIN_LINES.fullmatch(carry + b"\n"))
            records = False
        return cls(path, lines, isins, records)

    def between(self, low: bytes | None, high: bytes | None) -> bytes:
        """The records from `low` (included) up to `high` (excluded); None: the list's end."""
        import bisect

        with open(self.path, "rb") as f:
            records = _Records.of_file(f)
            start = bisect.bisect_left(records, low) if low is not None else 0
            end = bisect.bisect_left(records, high) if high is not None else len(records)
            f.seek(start * _LINE)
            return f.read(max(end - start, 0) * _LINE)


_NO_OLD_LIST = _OldList(os.devnull, 0, True, True)  # every ISIN of the new list is added


def _change_lines(plus: Iterable[bytes], minus: Iterable[bytes]) -> bytes:
    """`+ISIN` and `-ISIN` lines, sorted by ISIN."""
    lines = sorted([(isin, b"+") for isin in plus] + [(isin, b"-") for isin in minus])
    return b"".join(sign + isin + b"\n" for isin, sign in lines)


def _changes(old: bytes, new: bytes | bytearray) -> tuple[bytes, int, int]:
    """`+ISIN` for each ISIN of `new` not in `old`, `-ISIN` for each the other way, sorted by
    ISIN, and the two counts: both are a key range's sorted 13-byte records."""
    if old == new:  # most ranges, most nights: one comparison in C
        return b"", 0, 0
    if not old or not new:  # a range one side lacks (no old list: all of it): a sign each line
        sign, records = (b"+", new) if new else (b"-", old)
        return sign + records[:-1].replace(b"\n", b"\n" + sign) + b"\n", len(new) // _LINE, len(old) // _LINE
    old_isins = set(old.split(b"\n"))
    new_isins = set(bytes(new).split(b"\n"))  # bytes: a bytearray's pieces are unhashable
    added, removed = new_isins - old_isins, old_isins - new_isins
    return _change_lines(added, removed), len(added), len(removed)


# --- The parse pipeline ---------------------------------------------------------------------------
# Texts in, one list out: blocks parsed into sorted runs (by a worker process per core once the
# text is big enough), the runs cut into key ranges, each range merged (and compared with the old
# list for --changes), the ranges written in order.

# Blocks parsed in this process before the rest go to a process per core: below that much text,
# starting them costs more than it saves. Decided on the text, not on the download's size: a
# zip of XML inflates thirty-fold.
PARALLEL_MIN_BLOCKS = 4


class ListCounts(NamedTuple):
    """What parsing found: the ISINs in the list (sorted and unique), what was left out, how
    many texts (files of a zip, parts of a set) the list was read from, and the sources whose
    texts held no valid ISIN."""

    count: int
    invalid: int
    duplicates: int
    files: int = 1
    empty: tuple[str, ...] = ()
    added: int = 0  # with an old list: ISINs that are new in this one
    removed: int = 0  # and those that are gone
    firds_tokens: tuple[str, ...] = ()  # sources that are FIRDS documents read for every token


class _Runs(_Record):
    """What the parse leaves for the merge."""

    runs: list[bytes]
    invalid: int
    parallel: bool  # whether the worker processes ran
    valid: dict[str, int]  # valid ISINs (duplicates included) by source


def _text_jobs(
    texts: Iterable[tuple[str, Iterable[bytes]]], column: str | None, readings: list[_Reading]
) -> Iterator[tuple[bytes, _Reading]]:
    """Each text's blocks with the reading its own first lines call for, added to `readings`."""
    for source, text in texts:
        chunks = iter(text)
        first = _head(chunks).removeprefix(UTF8_BOM)
        reading = _choose_reading(first, column)._replace(source=source)
        if reading.layout:
            first = first[reading.layout.data_start :]
        readings.append(reading)
        for block in _blocks(itertools.chain([first], chunks), reading):
            yield block, reading


def _sorted_runs(jobs: Iterator[tuple[bytes, _Reading]], workers: int) -> _Runs:
    """Parse blocks as they come into sorted runs of valid ISINs, in worker processes once they
    pass PARALLEL_MIN_BLOCKS."""
    runs: list[bytes] = []
    invalid = 0
    valid: dict[str, int] = {}
    sources: deque[str] = deque()  # of the jobs handed to map, whose results come back in order

    def remembered(jobs: Iterator[tuple[bytes, _Reading]]) -> Iterator[tuple[bytes, _Reading]]:
        for job in jobs:
            sources.append(job[1].source)
            yield job

    with _Workers(workers, slot_size=SLOT_SIZE) as pool:
        for parsed in pool.map(_parse_block, remembered(jobs), here_first=PARALLEL_MIN_BLOCKS):
            source = sources.popleft()
            valid[source] = valid.get(source, 0) + len(parsed.run) // _LINE
            invalid += parsed.invalid
            if parsed.run:
                runs.append(parsed.run)
        return _Runs(runs, invalid, pool.started, valid)


class _ListPiece(_Record):
    """A key range of the list, as written, how many duplicates were dropped to make it, and
    what changed in that range since the old list."""

    text: bytearray  # _merge_runs' records
    dropped: int
    changes: bytes = b""  # `+ISIN` and `-ISIN` lines, sorted by ISIN
    added: int = 0
    removed: int = 0


class _KeyRanges(_Record):
    """Sorted runs, and where the pivots cut each: range k of a run is run[cuts[k]:cuts[k + 1]],
    the ISINs from pivots[k-1] (included) up to pivots[k] (excluded); with `old`, the list the
    new one replaces, whose range k each piece is compared with (see _OldList).

    bisect_left puts every ISIN equal to a pivot after the cut, in every run alike, so all the
    copies of one ISIN, whichever runs hold them, fall in one range: merging each range on its
    own drops every duplicate, and the ranges' texts in order are the whole list.
    """

    runs: list[bytes]
    cuts: list[list[int]]
    pivots: list[bytes]
    old: _OldList | None = None

    @classmethod
    def of(cls, runs: list[bytes], pivots: list[bytes], old: _OldList | None = None) -> "_KeyRanges":
        import bisect

        cuts = [
            [0, *(_LINE * bisect.bisect_left(_Records.of_text(run), pivot) for pivot in pivots), len(run)]
            for run in runs
        ]
        return cls(runs, cuts, pivots, old)

    def __len__(self) -> int:
        return len(self.pivots) + 1  # with no runs, one empty range (the old list's changes in it)

    def merge(self, k: int) -> _ListPiece:
        """Range k of every run, merged into the list's piece k (and its changes)."""
        text, dropped = _merge_runs(
            [run[cuts[k] : cuts[k + 1]] for run, cuts in zip(self.runs, self.cuts, strict=True)]
        )
        if self.old is None:
            return _ListPiece(text, dropped)
        low = self.pivots[k - 1] if k else None
        high = self.pivots[k] if k < len(self.pivots) else None
        return _ListPiece(text, dropped, *_changes(self.old.between(low, high), text))


# Only ever set in a merge worker, by its pool's initializer: the key ranges it merges. The pool
# is forked after the runs exist, and fork hands the initializer's arguments over in memory
# shared with this process, so only a range's number goes down a pipe where the runs themselves
# would be pickled both ways. The calling process never sets it (it merges through the object).
_worker_ranges = _KeyRanges([], [], [])


def _receive_ranges(ranges: _KeyRanges) -> None:
    """A merge worker's initializer."""
    global _worker_ranges
    _worker_ranges = ranges


def _merge_key_range(k: int) -> _ListPiece:
    """Worker: range k of the ranges this worker received."""
    return _worker_ranges.merge(k)


def parse_texts(
    texts: Iterable[tuple[str, Iterable[bytes]]],
    write: Callable[[bytes], object],
    column: str | None = None,
    workers: int = 1,
    old: str | None = None,
    changes: Callable[[bytes], object] | None = None,
) -> ListCounts:
    """Collect the valid ISINs of several texts (each a source's name and its chunks of any size,
    each read by its own layout) into one list, sorted and unique, a line each, handed to `write` in
    pieces, in order.

    A CSV whose header names an ISIN column (or `column`) gives that column only, so the ISINs
    of a benchmark or an underlying in other columns are not taken; rows whose field is empty
    or not a valid ISIN count as invalid. In XML or JSON, `column` names the elements or keys
    whose values to read. Any other text gives every ISIN-shaped token, and those failing the
    check digit count as invalid.

    A sample sort, so that `workers` processes share the work: each block of text becomes a
    sorted run of valid ISINs (see _sorted_runs); the runs are cut into key ranges (set by a
    sample of them); each range's pieces are merged into unique ISINs; the ranges' texts, in
    order, are the list, and each goes to `write` as soon as it and those before it are done.
    With `changes`, each range is also compared with the same range of the list `old` and the
    differences go to `changes`, in order. `old` must be a list as fetch writes it (sorted
    13-byte records: _OldList.records) or None for none.
    """
    readings: list[_Reading] = []
    _keep_freed_memory()  # before the workers fork: they inherit it
    runs = _sorted_runs(_text_jobs(texts, column, readings), workers)
    old_list = (_OldList(old, 0, True, True) if old else _NO_OLD_LIST) if changes else None
    pivots = _pivots(runs.runs, _key_range_count(runs.runs)) if runs.runs else []
    ranges = _KeyRanges.of(runs.runs, pivots, old_list)
    count = duplicates = added = removed = 0
    with contextlib.ExitStack() as stack:
        if runs.parallel and len(ranges) > 1:  # one range: no pool forked to merge it
            pool = stack.enter_context(_Workers(workers, _receive_ranges, (ranges,)))
            merged = pool.map(_merge_key_range, range(len(ranges)), here_first=0)
        else:
            merged = map(ranges.merge, range(len(ranges)))
        for piece in merged:
            if piece.text:
                write(piece.text)
            if changes and piece.changes:
                changes(piece.changes)
            count += len(piece.text) // _LINE
            duplicates += piece.dropped
            added += piece.added
            removed += piece.removed
    sources = dict.fromkeys(reading.source for reading in readings)  # in order, each once
    empty = tuple(source for source in sources if not runs.valid.get(source))
    firds = tuple(dict.fromkeys(reading.source for reading in readings if reading.firds))
    return ListCounts(count, runs.invalid, duplicates, len(readings), empty, added, removed, firds)


def parse_isins(
    chunks: Iterable[bytes], write: Callable[[bytes], object], column: str | None = None, workers: int = 1
) -> ListCounts:
    """parse_texts for one text."""
    return parse_texts([("the payload", chunks)], write, column, workers)


# --- Write ----------------------------------------------------------------------------------------

NEW_FILE_MODE = 0o644  # masked by the umask, as a shell's `>` would do with 0666
KEPT_MODE_BITS = 0o755  # of a replaced file's mode: never group- or world-writable, never set-id
SYNC_BYTES = 16 * 1024 * 1024  # a long list goes to disk in steps this big as it is written


def _temporary_pattern(path: str) -> re.Pattern[str]:
    """The names of atomic_file's temporary files for `path`, and only those: `.NAME.` then eight
    random characters then `.tmp`, hidden beside the file (0.1.0's, from tempfile, too). Exact,
    so that the leftovers of `isins.txt` never match a temporary of `isins.txt.gleif`."""
    return re.compile(re.escape(f".{os.path.basename(path)}.") + r"[a-z0-9_]{8}\.tmp")


def _unwritable(directory: str, exc: OSError) -> str:
    """Why no file can be made in `directory`, naming the folder (not the file that failed)."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write in {directory}: it is not writable by this user"
    if exc.errno == errno.EROFS:
        return f"cannot write in {directory}: it is on a read-only file system"
    return f"cannot create a file in {directory} ({exc.strerror or exc})"


def _create_temporary(path: str, mode: int) -> tuple[int, str]:
    """A new, empty temporary file beside `path`, open for reading and writing: created
    exclusively and without following a link, with `mode` less the umask (the kernel applies it)."""
    import secrets

    directory = os.path.dirname(os.path.abspath(path))
    # Read and write: what is written may be read back before it replaces the file (_run_night).
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue  # one name in four billion: try another
        except OSError as exc:
            raise IsinToolError(_unwritable(directory, exc)) from None


def _regular_file(path: str) -> os.stat_result | None:
    """The status of `path` when it is a regular file (a link is not followed); else None."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _take_owner(path: str, replaced: os.stat_result) -> None:
    """Give `path` the owner and group of the file it replaces, as far as this user may: root may
    give both; another user stays the owner and may give a group of their own."""
    for uid, gid in ((replaced.st_uid, replaced.st_gid), (-1, replaced.st_gid)):
        try:
            os.chown(path, uid, gid)
            return
        except PermissionError:
            continue


def _fsync_directory(directory: str) -> None:
    """Make a rename in `directory` survive a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str, mode: int | None = None) -> Iterator[BinaryIO]:
    """A file to write in place of `path`: it replaces `path` when the block ends, and is removed
    if the block raises, leaving `path` untouched. Readers see the old file or the new, never a mix.

    A temporary file in the same folder (see _create_temporary), fsynced and renamed over `path`.
    An existing file keeps its mode less group and world write, and its owner and group as far
    as this user may give them; a new one gets 0644 less the umask. The temporary of an existing
    file is made 0600, as that file may be private until its own mode is copied. With `mode`,
    the file gets that mode whatever the umask and the file before (another user must read it).
    """
    replaced = _regular_file(path)
    fd, temporary = _create_temporary(path, 0o600 if replaced or mode is not None else NEW_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        replaced = _regular_file(path) or replaced  # as it is now, should it have changed
        if replaced and mode is None:
            _take_owner(temporary, replaced)
            os.chmod(temporary, replaced.st_mode & KEPT_MODE_BITS)  # after chown, which clears set-id bits
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(os.path.dirname(temporary))


def write_atomically(path: str, pieces: Iterable[bytes], mode: int | None = None) -> None:
    """Replace `path` with `pieces`, as atomic_file does."""
    with atomic_file(path, mode) as out:
        for piece in pieces:
            out.write(piece)


# --- FIRDS: a register's full set and its deltas, kept as (ISIN, venue) pairs ---------------------
# --firds keeps the list of ESMA's (or the FCA's) register daily: the newest complete full set
# (FULINS), then each day's delta (DLTINS) applied as ESMA65-8-5014 (4.2) applies them, per (ISIN,
# venue) pair. The pairs stay beside the list from night to night (OUTPUT.esma.pairs), so that a
# night reads only the new days' files. In the order of a night: the records of a file, the
# registers' two dialects, the plan (what tonight must read), the state and its merge with a day,
# the lists, the night itself, and what the sidecar keeps of it.

_ISIN_BYTES, _MIC_BYTES = 12, 4
_PAIR_KEY = _ISIN_BYTES + _MIC_BYTES  # a pair's key: the ISIN, then the venue's MIC (ISO 10383: 4 characters)
_PAIR = _PAIR_KEY + 1  # a state record: the key and a newline; the state is these, sorted, each once
_STATE_BLOCK = (BLOCK_SIZE // _PAIR) * _PAIR  # state bytes merged at a time (whole records)
_LIST_BLOCK = (BLOCK_SIZE // _LINE) * _LINE
RUN_PAIRS = 500_000  # pairs a full set's sorted run holds (about 50 MiB to sort, one run at a time)
SAMPLE_EVERY = 64  # a run keeps every 64th key in memory, to cut the runs into key ranges
RANGE_PAIRS = 200_000  # pairs per key range of the final merge (a few MiB in a worker)
_MIC_AFTER = b"\x7f"  # sorts after any MIC character ([A-Z0-9]): ISIN + this bounds the ISIN's pairs

# Record kinds, as the files name their elements: FULINS holds <RefData>; DLTINS wraps each
# record in <FinInstrm> as one of four (auth.036's SecuritiesReferenceDeltaStatusReport5Choice).
_FULL, _NEW, _MODIFIED, _TERMINATED, _CANCELLED = "RefData", "NewRcrd", "ModfdRcrd", "TermntdRcrd", "CancRcrd"
_KINDS = (_FULL, _NEW, _MODIFIED, _TERMINATED, _CANCELLED)

_FIRDS_NAME = _Regex(r"(FULINS|DLTINS)_(?:([A-Z])_)?(\d{8})_(\d+)of(\d+)\.zip")


class _DamagedState(IsinToolError):
    """A state file or its ISIN list is missing or differs from what the sidecar recorded: the
    caller rebuilds from the full set (with a warning), never writes a list from it."""


# Records.
# A record, as the real files write it (one line, a default namespace, no blanks between tags):
#   <FinInstrm><TermntdRcrd><FinInstrmGnlAttrbts><Id>DE000A1R07V3</Id><FullNm>...</FinInstrmGnlAttrbts>
#   <Issr>...</Issr><TradgVnRltdAttrbts><Id>XEUB</Id><IssrReq>false</IssrReq><FrstTradDt>...</FrstTradDt>
#   <TermntnDt>2017-12-15T00:00:00Z</TermntnDt></TradgVnRltdAttrbts>...</TermntdRcrd></FinInstrm>
# and in a FULINS file <RefData><FinInstrmGnlAttrbts><Id>...</RefData>. The fast reading takes the
# ISINs and the venues with two regexes and pairs them in order, which holds while every record
# has one FinInstrmGnlAttrbts and one TradgVnRltdAttrbts, as ESMA's do; a block where the counts
# disagree (several venues in a record, as ISO 20022 allows, or a layout we did not foresee) is
# read record by record instead (_slow_records).

# The fast reading: each regex starts with a literal tag, which the regex engine searches fast,
# and matches at every occurrence of it (the rest optional), so that the lists line up and their
# lengths can be compared: a value that is missing shows as b"".
_FAST_ISIN = _Regex(rb"<FinInstrmGnlAttrbts>(?:<Id>([^<]*)</Id>)?")
_FAST_MIC = _Regex(rb"<TradgVnRltdAttrbts>(?:<Id>([^<]*)</Id>)?")
# In a delta each record is a <FinInstrm> holding one kind: its kind and ISIN in one match, every
# <FinInstrm> a match (b"" for what is laid out otherwise).
_FAST_HEAD = _Regex(rb"<FinInstrm>(?:<(\w+)><FinInstrmGnlAttrbts><Id>([^<]*)</Id>)?")
# A venue's Id, then its simple elements (IssrReq, AdmssnApprvlDtByIssr, ReqForAdmssnDt, FrstTradDt:
# none starts with T), then TermntnDt if the venue knows it (its date part), then its end: a venue
# laid out otherwise gives no MIC, and its block is read record by record.
_FAST_VENUE = _Regex(
    rb"<TradgVnRltdAttrbts>(?:<Id>([^<]*)</Id>(?:<[A-SU-Z]\w*>[^<]*</\w+>)*"
    rb"(?:<TermntnDt>(\d{4}-\d\d-\d\d)?[^<]*</TermntnDt>)?</TradgVnRltdAttrbts>)?"
)
# The slow reading, for blocks the fast one refuses: record by record, blanks between tags allowed,
# every venue of a record (ISO 20022 allows several), TechRcrdId before the general attributes.
_RECORD_TAG = rb"(NewRcrd|ModfdRcrd|TermntdRcrd|CancRcrd|RefData)"
_RECORD = _Regex(rb"<" + _RECORD_TAG + rb">(.*?)</\1>", re.DOTALL)
_GENERAL = _Regex(rb"<FinInstrmGnlAttrbts>\s*<Id>\s*([^<]*?)\s*</Id>")
_VENUE = _Regex(
    rb"<TradgVnRltdAttrbts>\s*<Id>\s*([^<]*?)\s*</Id>(?:\s*<(?!TermntnDt>)\w+>[^<]*</\w+>)*\s*"
    rb"(?:<TermntnDt>\s*(\d{4}-\d\d-\d\d)?[^<]*</TermntnDt>)?"
)
_REPORT = _Regex(rb"<(FinInstrmRptgRefDataRpt|FinInstrmRptgRefDataDltaRpt)[\s>]")
_REPORT_DATE = _Regex(rb"<RptgPrd>\s*<Dt>(\d{4}-\d\d-\d\d)</Dt>")
_CUT = (b"<FinInstrm>", b"<RefData>")  # a block ends before the last record that starts in it
_MIC_CHARACTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _FirdsRecord(_Record):
    """One (ISIN, venue) of a FIRDS file: its record's kind (the element's name, one of _KINDS),
    the instrument's ISIN (FinInstrmGnlAttrbts/Id, b"" when not ISIN-shaped), the venue's MIC
    (TradgVnRltdAttrbts/Id) and the date part of its TradgVnRltdAttrbts/TermntnDt, if any."""

    kind: str
    isin: bytes
    mic: bytes
    ends: bytes | None  # b"YYYY-MM-DD"; None (or b"") when the venue gives none


class _FirdsHeader(_Record):
    """What a FIRDS text says of itself: full set or delta, and its RptHdr/RptgPrd/Dt."""

    delta: bool
    date: str | None  # "YYYY-MM-DD"


class _BlockPairs(_Record):
    """A block's pairs as a day's rules leave them (see _pair_state): keys that end active and
    keys that end inactive, sorted; how many records it held, and how many of them had an ISIN
    failing ISO 6166 (left out: the list holds valid ISINs only)."""

    active: list[bytes]
    inactive: list[bytes]
    records: int
    invalid: int
    kinds: dict[str, int]


def _firds_header(head: bytes) -> _FirdsHeader:
    """The header of a FIRDS text, from its first bytes (up to the first record)."""
    report = _REPORT.search(head)
    if report is None:  # e.g. <auth:FinInstrmRptgRefDataRpt>: prefixes, which ESMA does not write
        raise IsinToolError(
            "no <FinInstrmRptgRefDataRpt> or <FinInstrmRptgRefDataDltaRpt> in the text's first "
            f"{len(head)} bytes: not a FIRDS file as ESMA and the FCA write it"
        )
    date = _REPORT_DATE.search(head)
    return _FirdsHeader(report[1].endswith(b"DltaRpt"), date[1].decode() if date else None)


def _record_blocks(chunks: Iterable[bytes], size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Regroup a text's chunks (of any size) into blocks of about `size` bytes of whole records:
    each ends before the last record that starts in it (the first holds the header, the last
    the closing tags). A byte is copied once: the cut is looked for in the new chunk first."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held < size:
            continue
        for i in range(len(pending) - 1, -1, -1):  # the last record start, in the newest chunk first
            cut = max(pending[i].rfind(tag) for tag in _CUT)
            if cut > 0 or (cut == 0 and i > 0):
                block = b"".join([*pending[:i], pending[i][:cut]])
                pending, held = [pending[i][cut:]], len(pending[i]) - cut
                yield block
                break
    if held:
        yield b"".join(pending)


class _Columns(_Record):
    """A block's records as columns, in order: kinds (b"RefData" in a full set), ISINs as
    written, MICs, and TermntnDt dates (b"" where there is none)."""

    kinds: list[bytes]
    isins: list[bytes]
    mics: list[bytes]
    ends: list[bytes]


def _fast_columns(block: bytes, delta: bool, ends: bool = True) -> _Columns | None:
    """The block's columns by the fast reading (a full set's TermntnDt only when `ends` asks, as
    the rules do not need it), or None when the lists do not line up (a record with several
    venues or none, a CancRcrd, blanks between tags): ESMA's full sets and deltas hold one
    FinInstrmGnlAttrbts and at least one TradgVnRltdAttrbts in each record, so equal counts
    mean one venue each."""
    if delta:
        heads = _FAST_HEAD.findall(block)
        kinds, isins = [kind for kind, _ in heads], [isin for _, isin in heads]
        if b"CancRcrd" in kinds or b"" in kinds:
            return None
    else:
        isins = _FAST_ISIN.findall(block)
        kinds = [_FULL.encode()] * len(isins)
    if delta or ends:
        venues = _FAST_VENUE.findall(block)
        mics, dates = [mic for mic, _ in venues], [date for _, date in venues]
    else:
        mics, dates = _FAST_MIC.findall(block), [b""] * len(isins)
    if len(mics) != len(isins) or b"" in isins or b"" in mics:
        return None
    return _Columns(kinds, isins, mics, dates)


def _slow_records(block: bytes) -> Iterator[_FirdsRecord]:
    """A block record by record: every venue of every record."""
    for match in _RECORD.finditer(block):
        kind, body = match[1].decode(), match[2]
        general = _GENERAL.search(body)
        if general is None:
            raise IsinToolError(f"a <{kind}> record without FinInstrmGnlAttrbts/Id: {body[:120]!r}")
        venues = _VENUE.findall(body)
        if not venues:  # a pair needs its venue: what such a record would mean is not documented
            raise IsinToolError(f"a <{kind}> record of {general[1]!r} without TradgVnRltdAttrbts/Id")
        for mic, ends in venues:
            yield _FirdsRecord(kind, general[1], mic, ends or None)


def _columns(block: bytes, delta: bool, ends: bool = True) -> _Columns:
    """The block's records as columns, by the fast reading where it holds, else record by record."""
    fast = _fast_columns(block, delta, ends)
    if fast is not None:
        return fast
    records = list(_slow_records(block))
    return _Columns(
        [r.kind.encode() for r in records],
        [r.isin for r in records],
        [r.mic for r in records],
        [r.ends or b"" for r in records],
    )


def _firds_records(chunks: Iterable[bytes]) -> Iterator[_FirdsRecord]:
    """Every (ISIN, venue) of a FULINS or DLTINS text given as chunks, in the file's order (the
    readable form of what _block_pairs does at speed)."""
    delta = None
    for block in _record_blocks(chunks):
        if delta is None:
            delta = _firds_header(block).delta
        columns = _columns(block, delta)
        for kind, isin, mic, ends in zip(*columns, strict=True):
            yield _FirdsRecord(kind.decode(), isin, mic, ends or None)


def _pair_state(kind: str, ends: bytes | None, day: bytes | None) -> bool:
    """Whether a record leaves its pair active, by the issue's rules (ESMA65-8-5014 4.2):
    a full set's pair is; NewRcrd and ModfdRcrd are unless TermntnDt is before the delta's day
    (a venue's last trading day is still a day of trading); TermntdRcrd and CancRcrd are not."""
    if kind == _FULL:
        return True
    if kind in (_NEW, _MODIFIED):
        return not ends or day is None or ends >= day  # b"YYYY-MM-DD" compares as dates
    return False


def _valid_mask(isins: list[bytes]) -> bytes:
    """A byte per ISIN as written: 1 when it is an ISIN whose check digit holds."""
    if not isins:
        return b""
    lines = b"\n".join(isins) + b"\n"
    if len(lines) == _LINE * len(isins) and set(map(len, isins)) == {_ISIN_BYTES}:
        return _isin_mask(lines)
    shaped = [isin if len(isin) == _ISIN_BYTES else b"." * _ISIN_BYTES for isin in isins]  # fails the check
    return _isin_mask(b"\n".join(shaped) + b"\n")


def _check_mics(mics: list[bytes]) -> None:
    """Refuse a venue Id that is no MIC: the pair's key would be wrong."""
    joined = b"".join(mics)
    if (
        len(joined) != _MIC_BYTES * len(mics)
        or set(map(len, mics)) != {_MIC_BYTES}
        or joined.translate(None, _MIC_CHARACTERS)
    ):
        bad = next(mic for mic in mics if len(mic) != _MIC_BYTES or mic.translate(None, _MIC_CHARACTERS))
        raise IsinToolError(f"a TradgVnRltdAttrbts/Id that is no MIC (4 capital letters or digits): {bad!r}")


_LIVE = {_NEW.encode(), _MODIFIED.encode()}  # the kinds that leave a pair active (see _pair_state)


def _block_pairs(job: tuple[bytes, bytes | None]) -> _BlockPairs:
    """Worker: a block's pairs for a delta of `day` (b"YYYY-MM-DD"; None for a full set), each
    pair once: within one day an inactive record wins over an active one (ESMA's instructions
    give records within a file no order; a pair modified and terminated on one day ended that day).
    _pair_state's rules, column by column (C-level maps, no Python call per record)."""
    from collections import Counter

    block, day = job
    columns = _columns(block, day is not None, ends=day is not None)
    if columns.mics:
        _check_mics(columns.mics)
    mask = _valid_mask(columns.isins)
    keys = list(itertools.compress(map(operator.add, columns.isins, columns.mics), mask))
    counts = {kind.decode(): n for kind, n in Counter(columns.kinds).items()}
    records, invalid = len(columns.isins), mask.count(0)
    if day is None or set(counts) <= {_FULL}:
        return _BlockPairs(sorted(set(keys)), [], records, invalid, counts)
    live = map(_LIVE.__contains__, columns.kinds)  # NewRcrd, ModfdRcrd
    not_ended = map(
        operator.or_, map(operator.not_, columns.ends), map(operator.ge, columns.ends, itertools.repeat(day))
    )
    active = list(itertools.compress(map(operator.and_, live, not_ended), mask))
    off = set(itertools.compress(keys, map(operator.not_, active)))
    on = set(itertools.compress(keys, active)) - off
    return _BlockPairs(sorted(on), sorted(off), records, invalid, counts)


def _firds_jobs(
    texts: Iterable[tuple[str, Iterable[bytes]]], day: bytes | None
) -> Iterator[tuple[bytes, bytes | None]]:
    """The blocks of each named text, for _block_pairs, once its header shows the kind of file
    expected: a full set's without `day`, a delta's with it."""
    for name, text in texts:
        blocks = _record_blocks(text)
        first = next(blocks, b"")
        header = _firds_header(first) if first else _FirdsHeader(day is not None, None)
        if header.delta != (day is not None):
            expected, found = ("DLTINS", "FULINS") if day is not None else ("FULINS", "DLTINS")
            raise IsinToolError(f"{name} holds a {found} report, not the {expected} its name says")
        for block in itertools.chain([first], blocks):
            yield block, day


# Registers.
# Two dialects of one listing. ESMA's register is Solr (ESMA65-8-5014 3.4):
#   ?q=*&fq=publication_date:[2021-01-17T00:00:00Z TO 2021-01-19T23:59:59Z]&fq=file_type:DLTINS
#    &wt=json&start=0&rows=500
#   -> {"response": {"numFound": 4, "start": 0, "docs": [{"file_name": "DLTINS_20210117_01of01.zip",
#       "file_type": "DLTINS", "download_link": "http://firds.esma.europa.eu/firds/...", "checksum": MD5}]}}
# The FCA's is Elasticsearch behind api.data.fca.org.uk:
#   ?q=((file_type:DLTINS) AND (publication_date:[2021-01-17 TO 2021-01-19]))&from=0&size=500
#   -> {"hits": {"total": 4, "hits": [{"_source": {"file_name": ..., "file_type": ...,
#       "publication_date": ..., "download_link": ...}}]}}
#   (no checksum; Elasticsearch 7 writes total as {"value": 4, ...})


class _FirdsFile(_Record):
    """A file a register lists, by what its name says: FULINS_<letter>_<date>_<n>of<m>.zip or
    DLTINS_<date>_<n>of<m>.zip."""

    name: str
    url: str
    md5: str | None  # ESMA's published checksum; the FCA publishes none
    type: str  # FULINS or DLTINS
    letter: str  # the CFI's first letter of a full set's part, "" for a delta
    date: str  # YYYYMMDD
    n: int
    m: int


class _RegisterPage(_Record):
    """One answer of a register: its dialect, how many files match in all, and this page's."""

    dialect: str  # "esma" or "fca"
    total: int
    docs: list[dict[str, Any]]


def _esma_query(index: str, file_type: str, first: "datetime.date", last: "datetime.date", start: int) -> str:
    """ESMA's Solr query for a page of one type's files published from `first` to `last`."""
    from urllib.parse import urlencode

    dates = f"publication_date:[{first.isoformat()}T00:00:00Z TO {last.isoformat()}T23:59:59Z]"
    query = [("q", "*"), ("fq", dates), ("fq", f"file_type:{file_type}"), ("wt", "json")]
    query += [("start", str(start)), ("rows", str(FIRDS_PAGE_ROWS))]
    return index + ("&" if "?" in index else "?") + urlencode(query)


def _fca_query(index: str, file_type: str, first: "datetime.date", last: "datetime.date", start: int) -> str:
    """The FCA's query for the same page: one Lucene `q`, paged by `from` and `size`."""
    from urllib.parse import urlencode

    q = f"((file_type:{file_type}) AND (publication_date:[{first.isoformat()} TO {last.isoformat()}]))"
    query = [("q", q), ("from", str(start)), ("size", str(FIRDS_PAGE_ROWS))]
    return index + ("&" if "?" in index else "?") + urlencode(query)


_QUERIES = {"esma": _esma_query, "fca": _fca_query}


def _register_page(answer: Any, index: str) -> _RegisterPage:
    """An answer of either dialect, told apart by its shape (see the section's examples)."""
    response = answer.get("response") if isinstance(answer, dict) else None
    hits = answer.get("hits") if isinstance(answer, dict) else None
    if isinstance(response, dict) and isinstance(response.get("docs"), list):
        total, docs = response.get("numFound"), response["docs"]
        if isinstance(total, int):
            return _RegisterPage("esma", total, [doc for doc in docs if isinstance(doc, dict)])
    if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
        total = hits.get("total")
        total = total.get("value") if isinstance(total, dict) else total  # {"value": 4, "relation": "eq"}
        if isinstance(total, int):
            sources = [hit.get("_source") for hit in hits["hits"] if isinstance(hit, dict)]
            return _RegisterPage("fca", total, [source for source in sources if isinstance(source, dict)])
    raise IsinToolError(
        f"{redact_url(index)} answered neither a Solr list of files (response.numFound, docs) "
        "nor an Elasticsearch one (hits.total, hits)"
    )


def _firds_file(doc: dict[str, Any], index: str) -> _FirdsFile | None:
    """A register's doc as a file, or None when it is no FULINS or DLTINS file it can name."""
    from urllib.parse import urljoin

    name, link, kind, checksum = (doc.get(k) for k in ("file_name", "download_link", "file_type", "checksum"))
    match = _FIRDS_NAME.fullmatch(name) if isinstance(name, str) else None
    if not match or kind != match[1] or not isinstance(link, str) or bool(match[2]) != (kind == "FULINS"):
        return None
    md5 = checksum.lower() if isinstance(checksum, str) and _MD5_HEX.fullmatch(checksum) else None
    return _FirdsFile(
        name, urljoin(index, link), md5, kind, match[2] or "", match[3], int(match[4]), int(match[5])
    )


def _register_files(
    index: str, get_json: Callable[[str], Any], today: "datetime.date", dialect: str | None = None
) -> tuple[str, list[_FirdsFile]]:
    """The register's dialect and its FULINS and DLTINS files of the look-back window, every page
    of each until its total. Without `dialect`, the first answer (to ESMA's query, which `q=*`
    keeps valid for Elasticsearch too) tells which it is."""
    import datetime

    first = today - datetime.timedelta(days=FIRDS_LOOK_BACK_DAYS)
    files: list[_FirdsFile] = []
    for file_type in ("FULINS", "DLTINS"):
        start = 0
        for _ in range(FIRDS_MAX_PAGES):
            page = _register_page(
                get_json(_QUERIES[dialect or "esma"](index, file_type, first, today, start)), index
            )
            if dialect is None or page.dialect != dialect:
                if dialect is not None:
                    raise IsinToolError(f"{redact_url(index)} answered as the {page.dialect} register does")
                dialect = page.dialect
                if dialect != "esma":  # the probe was in ESMA's dialect: ask again in the FCA's
                    continue
            files += [file for file in (_firds_file(doc, index) for doc in page.docs) if file]
            start += len(page.docs)
            if not page.docs or start >= page.total:
                break
        else:
            raise IsinToolError(
                f"{redact_url(index)} lists more than {FIRDS_MAX_PAGES} pages of {file_type} files"
            )
    return dialect or "esma", files


# Plan.


class _FullSet(_Record):
    """The FULINS files of one date, every CFI letter's parts 1 to m."""

    date: str
    parts: list[_FirdsFile]


class _DeltaDay(_Record):
    """One day's DLTINS files, parts 1 to m."""

    date: str
    parts: list[_FirdsFile]


class _Held(_Record):
    """What the state beside the output holds, as the sidecar records it: the full set's date
    and the delta days applied to it since, in order."""

    full: str
    days: tuple[str, ...] = ()

    @property
    def as_of(self) -> str:
        return self.days[-1] if self.days else self.full


class _NightPlan(_Record):
    """What a night does: "unchanged" (download nothing), "deltas" (the new days only) or
    "full" (the full set, then its days: no state yet, a damaged one, or a newer full set)."""

    action: str
    full: _FullSet | None  # the full set to read ("full"), else the newest complete one listed
    days: list[_DeltaDay]  # to apply tonight, in publication order
    held: _Held  # what the state holds once the night is done
    missing: list[str]  # files whose absence stops the days (a gap or an incomplete day)
    newer_missing: list[str]  # parts of newer full sets not complete yet


def _shifted(date: str, days: int) -> str:
    """YYYYMMDD moved by `days`."""
    import datetime

    moved = datetime.date(int(date[:4]), int(date[4:6]), int(date[6:])) + datetime.timedelta(days=days)
    return moved.strftime("%Y%m%d")


def _whole(found: dict[int, dict[int, _FirdsFile]]) -> list[_FirdsFile] | None:
    """Parts 1 to m of the largest m for which all are listed, or None."""
    for m in sorted(found, reverse=True):
        if set(found[m]) == set(range(1, m + 1)):
            return [found[m][n] for n in range(1, m + 1)]
    return None


def _missing_parts(prefix: str, found: dict[int, dict[int, _FirdsFile]]) -> list[str]:
    """The names of the parts missing from the largest m listed (ESMA writes 01of02)."""
    m = max(found)
    width = max(2, len(str(m)))
    return [f"{prefix}_{n:0{width}d}of{m:0{width}d}.zip" for n in range(1, m + 1) if n not in found[m]]


def _newest_full_set(files: Iterable[_FirdsFile]) -> tuple[_FullSet | None, list[str]]:
    """The newest date whose FULINS parts are whole for every CFI letter listed that day, and the
    names of the parts missing from newer dates (ESMA publishes a set over some hours)."""
    listed: dict[str, dict[str, dict[int, dict[int, _FirdsFile]]]] = {}  # date, letter, m, n
    for file in files:
        if file.type == "FULINS":
            listed.setdefault(file.date, {}).setdefault(file.letter, {}).setdefault(file.m, {})[file.n] = file
    newer_missing: list[str] = []
    for date in sorted(listed, reverse=True):
        parts, gaps = [], []
        for letter, found in sorted(listed[date].items()):
            whole = _whole(found)
            if whole:
                parts += whole
            else:
                gaps += _missing_parts(f"FULINS_{letter}_{date}", found)
        if not gaps:
            return _FullSet(date, parts), newer_missing
        newer_missing += gaps
    return None, newer_missing


def _delta_days(files: Iterable[_FirdsFile], after: str) -> tuple[list[_DeltaDay], list[str]]:
    """The DLTINS days after `after`, in order, while each is the day after the one before and
    whole; and the files whose absence stops them there: a day missing before a later listed
    one (a gap: every calendar day has its delta), or a day's missing parts. Days after the
    last listed are not published yet: no gap."""
    listed: dict[str, dict[int, dict[int, _FirdsFile]]] = {}
    for file in files:
        if file.type == "DLTINS" and file.date > after:
            listed.setdefault(file.date, {}).setdefault(file.m, {})[file.n] = file
    days: list[_DeltaDay] = []
    expected = _shifted(after, 1)
    for date in sorted(listed):
        if date != expected:  # a gap: name each day missing up to the next one listed
            gap = []
            while expected < date:
                gap.append(f"DLTINS_{expected}_*.zip")
                expected = _shifted(expected, 1)
            return days, gap
        whole = _whole(listed[date])
        if whole is None:
            return days, _missing_parts(f"DLTINS_{date}", listed[date])
        days.append(_DeltaDay(date, whole))
        expected = _shifted(date, 1)
    return days, []


def _plan_night(files: Sequence[_FirdsFile], held: _Held | None, index: str = "the register") -> _NightPlan:
    """Tonight's work, given the register's files and what the state holds (None: no state, or
    one that failed its checks): the newest complete full set when there is no state or a newer
    one is complete (a rebase), then every whole delta day after it in order (a delta dated on the
    full set's own day is inside it already); else only the days after the state's last one."""
    full, newer_missing = _newest_full_set(files)
    if full is None:
        raise IsinToolError(
            f"no complete FULINS set in the last {FIRDS_LOOK_BACK_DAYS} days at {redact_url(index)}"
            + (f" (missing: {', '.join(newer_missing)})" if newer_missing else " (none listed)")
        )
    if held is None or full.date > held.full:
        days, missing = _delta_days(files, full.date)
        after = _Held(full.date, tuple(day.date for day in days))
        return _NightPlan("full", full, days, after, missing, newer_missing)
    days, missing = _delta_days(files, held.as_of)
    after = _Held(held.full, held.days + tuple(day.date for day in days))
    return _NightPlan("deltas" if days else "unchanged", full, days, after, missing, newer_missing)


# State.
# The active pairs of one register, as sorted fixed-width records: ISIN, MIC, newline (17 bytes),
# each once; an ISIN's pairs are neighbours. Its ISIN list beside it (13-byte lines) holds the
# ISINs with at least one pair. The sidecar keeps both files' sha256 and counts; every read checks
# them as it goes (a night reads each once) and raises _DamagedState at the end when one differs.


class _Digest(_Record):
    """What the sidecar records of a state file or list: its record count and sha256."""

    count: int
    sha256: str


class _StateCounts(_Record):
    """A state and its list as written: the pairs, the ISINs, and their digests."""

    pairs: _Digest
    isins: _Digest


class _Checked:
    """A file's records read once, in whole records of `width` bytes, hashed as they go."""

    def __init__(self, f: BinaryIO, width: int, expect: _Digest | None, what: str) -> None:
        import hashlib

        self.f, self.width, self.expect, self.what = f, width, expect, what
        self.digest = hashlib.sha256()
        self.size = 0

    def chunks(self, size: int) -> Iterator[bytes]:
        while chunk := self.f.read(size):
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk

    def check(self) -> None:
        """Raise _DamagedState unless what was read is what the sidecar recorded."""
        if self.expect is None:
            return
        count, ragged = divmod(self.size, self.width)
        if ragged or count != self.expect.count or self.digest.hexdigest() != self.expect.sha256:
            raise _DamagedState(f"{self.what} differs from what the last run recorded")


class _Writer:
    """A file's pieces written, hashed and counted as they go, and synced to disk every
    SYNC_BYTES while the work goes on, so that the closing fsync has little left to wait for."""

    def __init__(self, out: BinaryIO, width: int) -> None:
        import hashlib

        self.out, self.width = out, width
        self.digest, self.size, self._unsynced = hashlib.sha256(), 0, 0

    def __call__(self, piece: bytes) -> None:
        if piece:
            self.digest.update(piece)
            self.out.write(piece)
            self.size += len(piece)
            self._unsynced += len(piece)
            if self._unsynced >= SYNC_BYTES:
                self.out.flush()
                os.fdatasync(self.out.fileno())
                self._unsynced = 0

    def result(self) -> _Digest:
        return _Digest(self.size // self.width, self.digest.hexdigest())


def _isin_groups(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """State chunks regrouped so that no ISIN's pairs are split between two blocks."""
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        if len(buffer) < _PAIR:
            carry = buffer
            continue
        end = len(buffer) - len(buffer) % _PAIR
        last = buffer[end - _PAIR : end - _PAIR + _ISIN_BYTES]
        cut = end - _PAIR
        while cut >= _PAIR and buffer[cut - _PAIR : cut - _PAIR + _ISIN_BYTES] == last:
            cut -= _PAIR  # back to the first pair of the last ISIN: it may go on in the next chunk
        if cut:
            yield buffer[:cut]
        carry = buffer[cut:]
    if carry:
        if len(carry) % _PAIR:
            raise _DamagedState("the state file ends inside a record")
        yield carry


def _merge_block(
    block: bytes,
    changes: list[bytes],
    first: int,
    upto: int,
    ops: dict[bytes, bool],
    write: Callable[[bytes], object],
    plus: list[bytes],
    minus: list[bytes],
) -> None:
    """changes[first:upto], the changes of the ISINs this block holds or sorts among, merged."""
    import bisect

    keys = block.split(b"\n")
    keys.pop()  # the block ends with a newline
    size = len(keys)
    pieces = []
    copied = 0  # records of the block written so far
    i = first
    find = bisect.bisect_left
    while i < upto:
        isin = changes[i][:_ISIN_BYTES]
        low = high = find(keys, isin, copied)
        while high < size and keys[high].startswith(isin):  # an ISIN has a few venues: walk them
            high += 1
        olds = keys[low:high]
        count = before = high - low
        while i < upto and changes[i].startswith(isin):
            key = changes[i]
            i += 1
            at = low + find(olds, key)
            present = key in olds
            if ops[key]:
                if not present:  # a new pair: in at its place
                    pieces.append(block[copied * _PAIR : at * _PAIR])
                    pieces.append(key + b"\n")
                    copied = at
                    count += 1
            elif present:  # an ended pair: left out
                pieces.append(block[copied * _PAIR : at * _PAIR])
                copied = at + 1
                count -= 1
            # else a termination of a pair never seen (or ended already): nothing to do
        if before == 0 and count:
            plus.append(isin)
        elif before and count == 0:
            minus.append(isin)
    pieces.append(block[copied * _PAIR :])
    write(b"".join(pieces))


def _merge_day(
    state: Iterable[bytes], ops: dict[bytes, bool], write: Callable[[bytes], object]
) -> tuple[list[bytes], list[bytes]]:
    """Merge a day's pair states (`ops`: key -> active) into the state read as chunks, handing
    the new state to `write` in order; the ISINs that gain their first pair and those that lose
    their last one. Only the changed pairs cost Python work: the rest is copied as slices."""
    import bisect

    changes = sorted(ops)  # cheap: _day_ops hands the keys over in a few long sorted runs
    plus: list[bytes] = []
    minus: list[bytes] = []
    at_change = 0
    blocks = _isin_groups(state)
    block = next(blocks, b"")
    while True:
        following = next(blocks, None)
        if following is None:  # the last block takes every change left
            upto = len(changes)
        else:
            last_isin = block[-_PAIR : -_PAIR + _ISIN_BYTES]
            upto = bisect.bisect_left(changes, last_isin + _MIC_AFTER, at_change)
        if at_change == upto:
            write(block)  # nothing changes here: the bytes as they are
        else:
            _merge_block(block, changes, at_change, upto, ops, write, plus, minus)
        at_change = upto
        if following is None:
            return plus, minus
        block = following


def _splice(buffer: bytes, width: int, removed: list[int], inserted: list[tuple[int, bytes]]) -> bytes:
    """Fixed-width sorted records with those at `removed` left out and each (position, record)
    of `inserted` put in before the record at its position (both lists in ascending order):
    slices of the buffer, so that only the changes cost Python work."""
    pieces = []
    copied = 0  # records of the buffer taken so far
    j, inserts = 0, len(inserted)
    for at in removed:
        while j < inserts and inserted[j][0] <= at:
            position, record = inserted[j]
            pieces += (buffer[copied * width : position * width], record)
            copied = position
            j += 1
        pieces.append(buffer[copied * width : at * width])
        copied = at + 1
    for position, record in inserted[j:]:
        pieces += (buffer[copied * width : position * width], record)
        copied = position
    pieces.append(buffer[copied * width :])
    return b"".join(pieces)


def _positions(records: list[bytes], wanted: list[bytes]) -> tuple[list[int], list[bool]]:
    """Where each wanted record is, or would go, in sorted `records`, and whether it is there."""
    import bisect

    at = list(map(bisect.bisect_left, itertools.repeat(records), wanted))
    padded = [*records, b""]  # a record's place may be past the last
    return at, list(map(operator.eq, map(padded.__getitem__, at), wanted))


def _day_ops(blocks: Iterable[_BlockPairs], ops: dict[bytes, bool] | None = None) -> dict[bytes, bool]:
    """One day's pair states from its blocks (every part of the day): within the day an inactive
    record wins, whatever the order of parts and records. With `ops`, a later day over them.

    The keys come in the blocks' order, each block's actives (sorted) and then each block's
    inactives not seen before (sorted): a dict keeps the order of its keys' first insertion.
    ESMA writes a delta almost in ISIN order (the real DLTINS of 2021-01-17 holds its 141,381
    records in 79 sorted runs), so these are a few long sorted runs, and _merge_day's sort of
    them takes 0.01 CPU s, against 0.10-0.13 s for the keys of sets, in no order."""
    day: dict[bytes, bool] = {}
    inactive = []
    for pairs in blocks:
        day.update(dict.fromkeys(pairs.active, True))
        inactive.append(pairs.inactive)
    for off in inactive:
        day.update(dict.fromkeys(off, False))  # after: an inactive record wins
    if ops is None:
        return day
    ops.update(day)  # the later day wins
    return ops


def _patch_list(
    chunks: Iterable[bytes], plus: list[bytes], minus: list[bytes], write: Callable[[bytes], object]
) -> None:
    """A sorted ISIN list read as chunks of whole lines, with `minus` left out and `plus` put in
    (both sorted; the list must hold every `minus` and no `plus`), handed to `write` in order."""
    import bisect

    gone = came = 0  # the changes done so far
    for chunk in chunks:
        last = chunk[-_LINE:-1]
        gone_upto, came_upto = bisect.bisect_right(minus, last, gone), bisect.bisect_right(plus, last, came)
        if gone_upto == gone and came_upto == came:
            write(chunk)  # most chunks of a night with few changes: as they are
            continue
        lines = chunk.split(b"\n")
        lines.pop()
        removed, held = _positions(lines, minus[gone:gone_upto])
        inserted, there = _positions(lines, plus[came:came_upto])
        if not all(held) or any(there):
            raise _DamagedState("the ISIN list beside the state does not hold the state's ISINs")
        added = [isin + b"\n" for isin in plus[came:came_upto]]
        write(_splice(chunk, _LINE, removed, list(zip(inserted, added, strict=True))))
        gone, came = gone_upto, came_upto
    if gone < len(minus):
        raise _DamagedState("the ISIN list beside the state does not hold the state's ISINs")
    write(b"".join(isin + b"\n" for isin in plus[came:]))  # after the list's last ISIN


def _apply_day(
    pairs_in: BinaryIO,
    isins_in: BinaryIO,
    expect: _StateCounts | None,
    ops: dict[bytes, bool],
    pairs_out: BinaryIO,
    isins_out: BinaryIO,
) -> tuple[_StateCounts, list[bytes], list[bytes]]:
    """A delta night's merge: the state and its list read once each (checked against `expect`,
    _DamagedState when either differs), the day's `ops` merged in, the new state and list
    written, and the ISINs gained and lost returned."""
    state = _Checked(pairs_in, _PAIR, expect.pairs if expect else None, "the state file")
    state_out = _Writer(pairs_out, _PAIR)
    plus, minus = _merge_day(state.chunks(_STATE_BLOCK), ops, state_out)
    state.check()
    listed = _Checked(isins_in, _LINE, expect.isins if expect else None, "the ISIN list beside the state")
    list_out = _Writer(isins_out, _LINE)
    _patch_list(listed.chunks(_LIST_BLOCK), plus, minus, list_out)
    listed.check()
    return _StateCounts(state_out.result(), list_out.result()), plus, minus


# Building a state from a full set.
# A sample sort on disk: the workers parse blocks into sorted runs; runs of RUN_PAIRS are merged
# and written to scratch files, each keeping every SAMPLE_EVERY-th key; pivots from those samples
# cut every run into key ranges of about RANGE_PAIRS; each range is merged on its own (by the
# workers, in order), and the ranges' texts in order are the state and, deduplicated, its list.


class _PairRun(_Record):
    """A sorted run on disk: its file, its record count, and every SAMPLE_EVERY-th key."""

    path: str
    count: int
    samples: list[bytes]


def _write_run(job: tuple[list[bytes], str]) -> _PairRun:
    """Worker: a batch of sorted texts merged into one run, written to `path`."""
    texts, path = job
    keys = b"".join(texts).split(b"\n")
    keys.pop()
    keys = _sorted_unique(keys)
    with open(path, "wb") as f:
        f.write(b"\n".join(keys) + b"\n" if keys else b"")
    return _PairRun(path, len(keys), keys[::SAMPLE_EVERY])


def _isin_text(state: bytes) -> bytes:
    """The unique ISINs of sorted state text, as 13-byte lines."""
    count = len(state) // _PAIR
    lines = bytearray(_LINE * count)
    for position in range(_ISIN_BYTES):
        lines[position::_LINE] = state[position::_PAIR]
    lines[_ISIN_BYTES::_LINE] = b"\n" * count
    isins = bytes(lines).split(b"\n")
    isins.pop()
    unique = _sorted_unique(isins)  # sorted already: the sort only checks it
    return b"\n".join(unique) + b"\n" if unique else b""


def _merge_range(job: tuple[list[tuple[str, int, int]], bytes | None, bytes | None]) -> tuple[bytes, bytes]:
    """Worker: one key range [low, high) of every run (a window of records around it each),
    merged into state text and its ISIN list text."""
    import bisect

    windows, low, high = job
    keys: list[bytes] = []
    for path, start, stop in windows:
        with open(path, "rb") as f:
            f.seek(start * _PAIR)
            window = f.read((stop - start) * _PAIR).split(b"\n")
        window.pop()
        first = bisect.bisect_left(window, low) if low is not None else 0
        last = bisect.bisect_left(window, high) if high is not None else len(window)
        keys += window[first:last]
    keys = _sorted_unique(keys)
    state = b"\n".join(keys) + b"\n" if keys else b""
    return state, _isin_text(state)


def _range_jobs(runs: list[_PairRun]) -> list[tuple[list[tuple[str, int, int]], bytes | None, bytes | None]]:
    """The key ranges of the runs: pivots from their samples, and for each range the window of
    each run that holds it (whole samples' worth of records: the worker cuts them exactly)."""
    import bisect

    total = sum(run.count for run in runs)
    ranges = max(1, total // RANGE_PAIRS)
    sample = sorted(key for run in runs for key in run.samples)
    pivots = sorted({sample[len(sample) * k // ranges] for k in range(1, ranges)}) if sample else []
    bounds: list[bytes | None] = [None, *pivots, None]
    jobs = []
    for low, high in itertools.pairwise(bounds):
        windows = []
        for run in runs:
            # samples[j] is record j * SAMPLE_EVERY; the range's records lie between the sample
            # before `low` and the sample at or after `high`
            start = (bisect.bisect_left(run.samples, low) - 1) * SAMPLE_EVERY if low is not None else 0
            stop = bisect.bisect_left(run.samples, high) * SAMPLE_EVERY if high is not None else run.count
            start, stop = max(start, 0), min(stop, run.count)
            if stop > start:
                windows.append((run.path, start, stop))
        jobs.append((windows, low, high))
    return jobs


class _BuildCounts(_Record):
    """A state built from a full set: its digests, the records read, and those left out."""

    state: _StateCounts
    records: int
    invalid: int


def _build_state(
    texts: Iterable[tuple[str, Iterable[bytes]]],
    pairs_out: BinaryIO,
    isins_out: BinaryIO,
    scratch: str,
    workers: int = 1,
) -> _BuildCounts:
    """The state of a full set, read from its parts' texts (named, as chunks): every valid pair
    active, sorted and unique, written to `pairs_out`, its ISINs to `isins_out`. Holds at most a
    run of RUN_PAIRS in a worker and a key range per worker; the runs go to `scratch`."""
    runs: list[_PairRun] = []
    pending: list = []  # runs being written by a worker
    batch: list[bytes] = []
    batched = records = invalid = 0

    with _Workers(workers) as pool:

        def flush() -> None:
            nonlocal batch, batched
            job = (batch, os.path.join(scratch, f"run-{len(runs) + len(pending):05d}"))
            if pool.started:
                if pending:  # one run sorted at a time: memory stays flat whatever the set's size
                    runs.append(pending.pop().result())
                pending.append(pool.submit(_write_run, job))
            else:
                runs.append(_write_run(job))
            batch, batched = [], 0

        for pairs in pool.map(_block_pairs, _firds_jobs(texts, None), here_first=PARALLEL_MIN_BLOCKS):
            records += pairs.records
            invalid += pairs.invalid
            if pairs.active:
                batch.append(b"\n".join(pairs.active) + b"\n")
                batched += len(pairs.active)
            if batched >= RUN_PAIRS:
                flush()
        if batch:
            flush()
        runs += [future.result() for future in pending]
        state_out, list_out = _Writer(pairs_out, _PAIR), _Writer(isins_out, _LINE)
        last_isin = b""
        for state, isins in pool.map(_merge_range, _range_jobs(runs), here_first=1):
            if isins.startswith(last_isin) and last_isin:  # an ISIN whose pairs two ranges share
                isins = isins[_LINE:]
            if isins:
                last_isin = isins[-_LINE:-1] + b"\n"
            state_out(state)
            list_out(isins)
    for run in runs:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(run.path)
    return _BuildCounts(_StateCounts(state_out.result(), list_out.result()), records, invalid)


# Lists.


def _records_upto(buffer: bytes, width: int, key: bytes) -> int:
    """Bytes of the fixed-width sorted records in `buffer` whose first bytes are <= key."""
    low, high = 0, len(buffer) // width
    size = len(key)
    while low < high:
        middle = (low + high) // 2
        if buffer[middle * width : middle * width + size] <= key:
            low = middle + 1
        else:
            high = middle
    return low * width


def _aligned(streams: list[Iterator[bytes]], width: int) -> Iterator[list[bytes]]:
    """Sorted fixed-width streams read side by side: each round, from every stream, the records
    up to the same key (the least of the streams' last whole records read), so that rounds hold
    equal key ranges. The streams' chunks may end anywhere (a file read a MiB at a time cuts a
    record): a round takes whole records, and the rest waits for the next chunk."""
    carry = [b""] * len(streams)
    done = [False] * len(streams)
    while True:
        for i, stream in enumerate(streams):
            while not done[i] and len(carry[i]) < _LIST_BLOCK:  # a block holds whole records
                chunk = next(stream, None)
                if chunk is None:
                    done[i] = True
                else:
                    carry[i] += chunk
        whole = [len(buffer) - len(buffer) % width for buffer in carry]
        open_ends = [carry[i][whole[i] - width : whole[i] - 1] for i in range(len(streams)) if not done[i]]
        if not any(carry):
            return
        cut = min(open_ends) if open_ends else None
        taken = []
        for i in range(len(streams)):
            end = len(carry[i]) if cut is None else _records_upto(carry[i], width, cut)
            taken.append(carry[i][:end])
            carry[i] = carry[i][end:]
        # the stream whose last whole record is the cut gives all its whole records: a round that
        # took nothing would be taken again for ever
        assert any(taken), "_aligned: a round without a record"
        yield taken


def _diff_lists(
    old: Iterable[bytes], new: Iterable[bytes], write: Callable[[bytes], object]
) -> tuple[int, int]:
    """`+ISIN` and `-ISIN` lines from an old sorted ISIN list to a new one, in ISIN order."""
    added = removed = 0
    for old_part, new_part in _aligned([iter(old), iter(new)], _LINE):
        text, plus, minus = _changes(old_part, new_part)
        if text:
            write(text)
        added, removed = added + plus, removed + minus
    return added, removed


def _reader_of(written: BinaryIO) -> BinaryIO:
    """What has been written into a temporary file of atomic_file's (open for reading and
    writing), read from its first byte before the rename, through a descriptor of its own. The
    two descriptors share one offset: reading to the end leaves it where the writing did."""
    written.flush()
    reader = os.fdopen(os.dup(written.fileno()), "rb")
    reader.seek(0)
    return reader


def _diff_from_file(path: str, replacing: BinaryIO, write: Callable[[bytes], object]) -> tuple[int, int]:
    """_diff_lists from the list at `path` (every ISIN is new when there is none) to the one
    written so far into `replacing` (see _reader_of)."""
    with _reader_of(replacing) as new, contextlib.ExitStack() as files:
        try:
            old: Iterable[bytes] = _read_chunks(files.enter_context(open(path, "rb")), BLOCK_SIZE)
        except FileNotFoundError:
            old = ()
        return _diff_lists(old, _read_chunks(new, BLOCK_SIZE), write)


def _union_lists(lists: list[Iterable[bytes]], write: Callable[[bytes], object]) -> int:
    """The sorted union of sorted ISIN lists (one register's each), as 13-byte lines; its count."""
    count = 0
    for parts in _aligned([iter(chunks) for chunks in lists], _LINE):
        if sum(1 for part in parts if part) == 1:
            text = next(part for part in parts if part)
        else:
            lines = b"".join(parts).split(b"\n")
            lines.pop()
            text = b"\n".join(_sorted_unique(lines)) + b"\n" if lines else b""
        write(text)
        count += len(text) // _LINE
    return count


def _net_changes(days: Iterable[tuple[list[bytes], list[bytes]]]) -> tuple[list[bytes], list[bytes]]:
    """The night's gained and lost ISINs from each day's, in order: an ISIN gained one day and
    lost the next is neither."""
    net: dict[bytes, bool] = {}
    for plus, minus in days:
        for isin in minus:
            if net.pop(isin, None) is None:
                net[isin] = False
        for isin in plus:
            if net.pop(isin, None) is None:
                net[isin] = True
    return sorted(i for i, gained in net.items() if gained), sorted(
        i for i, gained in net.items() if not gained
    )


# Night.


class _StatePaths(_Record):
    """One register's files beside the output: its pairs and its ISIN list."""

    pairs: str
    isins: str


class _NightResult(_Record):
    """A night done: the plan it followed, the state's digests and what it holds, how many ISINs
    it gained and lost (counted where --changes is asked for), the files read, and notes for the
    user (warnings)."""

    plan: _NightPlan
    state: _StateCounts
    added: int
    removed: int
    files: int
    records: int
    invalid: int
    notes: tuple[str, ...]
    pending: BinaryIO | None = None  # with _run_night's `keep`: the new list, not in place yet


def _day_pairs(
    texts: Iterable[tuple[str, Iterable[bytes]]], date: str, workers: int = 1
) -> Iterator[_BlockPairs]:
    """The blocks' pairs of a day's named texts, by the day's rules (its date YYYYMMDD, as its
    files' names give it; ESMA writes the same in the header's RptgPrd/Dt)."""
    day = f"{date[:4]}-{date[4:6]}-{date[6:]}".encode()
    with _Workers(workers, slot_size=SLOT_SIZE) as pool:
        yield from pool.map(_block_pairs, _firds_jobs(texts, day), here_first=PARALLEL_MIN_BLOCKS)


def _part_texts(
    parts: list[_FirdsFile], chunks_of: Callable[[_FirdsFile], Iterable[bytes]], max_bytes: int
) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each file's decompressed texts as they arrive, named by the file."""
    for part in parts:
        for text in _decompressed_texts(chunks_of(part), max_bytes):
            yield part.name, text


def _notes(plan: _NightPlan) -> tuple[str, ...]:
    """What a night should say: where the deltas stop, and newer full sets not complete yet."""
    notes = []
    if plan.missing:
        notes.append(
            f"the FIRDS deltas stop at {plan.held.as_of} (missing {', '.join(plan.missing)}): the list is "
            "as of that day, and the next run goes on from there"
        )
    if plan.newer_missing:
        notes.append(f"a newer FULINS set is not complete yet (missing {', '.join(plan.newer_missing)})")
    return tuple(notes)


def _scratch_prefix(pairs: str) -> str:
    """The name a night's scratch folder starts with, beside the state whose night it is: its
    own, so that a fetch of another output in the same folder never takes it for a leftover."""
    return f".{os.path.basename(pairs)}.firds-"


def _run_night(
    plan: _NightPlan,
    paths: _StatePaths,
    held: _StateCounts | None,
    chunks_of: Callable[[_FirdsFile], Iterable[bytes]],
    changes: Callable[[bytes], object] | None = None,
    workers: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    accept: Callable[[_StateCounts], object] | None = None,
    keep: contextlib.ExitStack | None = None,
) -> _NightResult:
    """Carry out a plan: build the state from the full set or read the held one, merge each
    day in order, and replace the state and its list (atomically: the list stays as it was
    when anything fails); with `keep`, when `keep` closes without an error (after the other
    registers' nights and their union), rather than as the night ends. `held`: the sidecar's
    digests of the state (None with a "full" plan).
    _DamagedState when the held state fails its check: nothing is replaced, and the caller
    plans again with no state. `chunks_of` gives a file's bytes as they download (checked
    there against the register's MD5, or the zip's CRC-32s where there is none). `changes`
    gets the night's `+ISIN` / `-ISIN` lines: on a delta night the days' own, composed; on a
    full-set night the difference from the list it replaces (every ISIN, when there was none)."""
    import tempfile

    if plan.action == "unchanged":
        if held is None:
            raise IsinToolError("an unchanged night needs the state it leaves unchanged")
        return _NightResult(
            plan=plan, state=held, added=0, removed=0, files=0, records=0, invalid=0, notes=_notes(plan)
        )
    if plan.action == "deltas" and (held is None or not all(map(os.path.exists, paths))):
        raise _DamagedState("the state file or its ISIN list is missing")
    _keep_freed_memory()  # before workers fork; a delta night takes 22,000 page faults, not 32,000
    folder = os.path.dirname(os.path.abspath(paths.pairs))
    records = invalid = files = 0
    daily: list[tuple[list[bytes], list[bytes]]] = []
    with (
        tempfile.TemporaryDirectory(prefix=_scratch_prefix(paths.pairs), dir=folder) as scratch,
        contextlib.ExitStack() as replace,
    ):
        # the last step writes straight into the files that replace the state and the list;
        # the ExitStack leaves them in reverse: the state is replaced first, then the list
        isins_final = replace.enter_context(atomic_file(paths.isins))
        pairs_final = replace.enter_context(atomic_file(paths.pairs))
        steps = len(plan.days) + (plan.action == "full")

        def outputs(step: int) -> tuple[BinaryIO, BinaryIO]:
            if step == steps:
                return pairs_final, isins_final
            pairs = replace.enter_context(open(os.path.join(scratch, f"{step}.pairs"), "w+b"))
            return pairs, replace.enter_context(open(os.path.join(scratch, f"{step}.isins"), "w+b"))

        step, expect = 0, held
        current: tuple[BinaryIO, BinaryIO] | None = None
        if plan.action == "full":
            assert plan.full is not None
            step += 1
            pairs_out, isins_out = outputs(step)
            texts = _part_texts(plan.full.parts, chunks_of, max_bytes)
            built = _build_state(texts, pairs_out, isins_out, scratch, workers)
            expect, records, invalid, files = built.state, built.records, built.invalid, len(plan.full.parts)
            current = (pairs_out, isins_out)
        else:
            current = (
                replace.enter_context(open(paths.pairs, "rb")),
                replace.enter_context(open(paths.isins, "rb")),
            )
        for day in plan.days:
            step += 1
            # a day of one part (up to 500,000 records) is read in this process: starting workers
            # and sending them its text costs as much as they would save
            day_workers = workers if len(day.parts) > 1 else 1
            ops = _day_ops(_day_pairs(_part_texts(day.parts, chunks_of, max_bytes), day.date, day_workers))
            files += len(day.parts)
            pairs_in, isins_in = current
            pairs_in.seek(0)
            isins_in.seek(0)
            pairs_out, isins_out = outputs(step)
            expect, plus, minus = _apply_day(pairs_in, isins_in, expect, ops, pairs_out, isins_out)
            daily.append((plus, minus))
            current = (pairs_out, isins_out)
        plus, minus = _net_changes(daily)
        added, removed = len(plus), len(minus)
        if changes is not None:
            if plan.action == "deltas":
                changes(_change_lines(plus, minus))
            else:  # against the list being replaced, read before it is
                added, removed = _diff_from_file(paths.isins, isins_final, changes)
        assert expect is not None
        if accept is not None:  # the last word before the files are replaced: it may refuse them
            accept(expect)
        if keep is not None:
            keep.enter_context(replace.pop_all())
    return _NightResult(
        plan=plan,
        state=expect,
        added=added,
        removed=removed,
        files=files,
        records=records,
        invalid=invalid,
        notes=_notes(plan),
        pending=isins_final if keep is not None else None,
    )


# Sidecar.
# One register's record in the sidecar, e.g.
#   {"register": "https://registers.esma.europa.eu/solr/esma_registers_firds_files/select",
#    "dialect": "esma", "full": "20210116", "days": ["20210117", "20210118"],
#    "pairs": {"count": 10391377, "sha256": "9f2c..."}, "isins": {"count": 1830211, "sha256": "51ab..."}}
# "days" are the delta days applied to the full set of "full", in order, each the day after the
# one before: the list is as of the last of them.


def _state_record(register: str, dialect: str, held: _Held, state: _StateCounts) -> dict[str, Any]:
    """What the sidecar keeps of a register's state (see the section's example)."""
    return {
        "register": redact_url(register),
        "dialect": dialect,
        "full": held.full,
        "days": list(held.days),
        "pairs": state.pairs._asdict(),
        "isins": state.isins._asdict(),
    }


def _held_state(record: Any, paths: _StatePaths) -> tuple[_Held, _StateCounts] | None:
    """What a sidecar record says the state holds, when it is whole and its files are there
    with the sizes it gives (their sha256 is checked as the night reads them); else None."""
    try:
        full, days = record["full"], tuple(record["days"])
        state = _StateCounts(_Digest(**record["pairs"]), _Digest(**record["isins"]))
    except (KeyError, TypeError, ValueError):
        return None
    dates = [full, *days]
    if not all(isinstance(d, str) and re.fullmatch(r"\d{8}", d) for d in dates):
        return None
    try:
        if any(_shifted(a, 1) != b for a, b in itertools.pairwise(dates)):
            return None  # the days must follow the full set one by one
    except ValueError:  # eight digits that are no date (a month 13)
        return None
    for path, digest, width in ((paths.pairs, state.pairs, _PAIR), (paths.isins, state.isins, _LINE)):
        try:
            if os.path.getsize(path) != digest.count * width:
                return None
        except OSError:
            return None
    return _Held(full, days), state


def _firds_night(
    register: str,
    paths: _StatePaths,
    record: Any,
    get_json: Callable[[str], Any],
    chunks_of: Callable[[_FirdsFile], Iterable[bytes]],
    today: "datetime.date",
    *,
    dialect: str | None = None,
    changes: Callable[[bytes], object] | None = None,
    workers: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    accept: Callable[[_StateCounts], object] | None = None,
    keep: contextlib.ExitStack | None = None,
) -> tuple[_NightResult, dict[str, Any]]:
    """One register's night, from its sidecar record (None: none yet) to the new one: ask the
    register, plan, and carry the plan out; a state that is missing or fails its check is
    rebuilt from the full set, with a note. The caller writes the record into the sidecar."""
    dialect, files = _register_files(register, get_json, today, dialect)
    held = _held_state(record, paths) if record is not None else None
    notes: list[str] = []
    if record is not None and held is None:
        notes.append("the FIRDS state beside the list is missing or damaged: rebuilt from the full set")
    plan = _plan_night(files, held[0] if held else None, register)
    settings = dict(changes=changes, workers=workers, max_bytes=max_bytes, accept=accept, keep=keep)
    try:
        result = _run_night(plan, paths, held[1] if held else None, chunks_of, **settings)
    except _DamagedState as exc:
        notes.append(f"{exc}: rebuilt from the full set")
        plan = _plan_night(files, None, register)
        result = _run_night(plan, paths, None, chunks_of, **settings)
    result = result._replace(notes=tuple(notes) + result.notes)
    return result, _state_record(register, dialect, plan.held, result.state)


# --- Fetch state: links, the lock, the sidecar ----------------------------------------------------
# What a fetch keeps beside OUTPUT: OUTPUT.lock, held for the whole run, and OUTPUT.json, what the
# last fetch read (for the conditional GET and an unchanged FIRDS set) and wrote.

MAX_LINKS = 40  # symbolic links followed in one path before it counts as a loop, as Linux does
EXIT_LOCKED = 75  # EX_TEMPFAIL: another fetch is writing this output; cron will try again
LOCK_POLL_SECONDS = 0.2  # how often `--wait` tries the lock again


def _follow_links(path: str) -> str:
    """The real path of `path`, following each symbolic link on the way only where the kernel's
    fs.protected_symlinks rule would: outside a folder that is both sticky and world-writable
    (/tmp), or when the link is owned by the user running fetch or by the folder's owner.

    fetch resolves links itself, as its own links are a feature (the file a link points to is
    replaced), so it must apply the kernel's rule itself: else another user's link planted in
    /tmp would make root overwrite any file.
    """
    pending = deque(os.path.abspath(path).split("/")[1:])
    resolved, links = "/", 0
    while pending:
        name = pending.popleft()
        if name in ("", "."):
            continue
        if name == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, name)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            return os.path.join(candidate, *pending)
        if not stat.S_ISLNK(info.st_mode):
            resolved = candidate
            continue
        folder = os.stat(resolved)
        shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
        if shared and info.st_uid not in (os.geteuid(), folder.st_uid):
            raise IsinToolError(
                f"refusing to follow {candidate}: a link in a sticky world-writable folder, owned by "
                f"another user (uid {info.st_uid}) than you or the folder's owner"
            )
        links += 1
        if links > MAX_LINKS:
            raise IsinToolError(f"too many levels of symbolic links in {path}")
        target = os.readlink(candidate)
        resolved = "/" if target.startswith("/") else resolved
        pending.extendleft(reversed(target.split("/")))
    return resolved


class _Target(_Record):
    """The files a fetch into a file writes, each link on the way resolved (see _follow_links)."""

    output: str  # as the user gave it, for messages
    path: str  # the list
    sidecar: str  # OUTPUT.json
    changes: str | None  # --changes


def _target(output: str, changes: str | None) -> _Target:
    """Where a fetch into `output` writes; refuses a folder that is missing."""
    path = _follow_links(output)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise IsinToolError(f"no folder {folder} for {output}: make it, writable by this user")
    return _Target(output, path, _follow_links(path + ".json"), _follow_links(changes) if changes else None)


def _lock(fd: int, wait: _Deadline | None, poll: float) -> bool:
    """Take the exclusive flock of `fd` if no one holds it; with `wait`, try again every `poll`
    seconds until that deadline. Whether it was taken."""
    import fcntl

    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if wait is None or not wait.remaining():
                return False
        time.sleep(min(poll, wait.remaining()))


@contextlib.contextmanager
def _output_lock(path: str, wait: _Deadline | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `PATH.lock` so that two fetches never write `path` at once.
    When another fetch holds it, fail at once, or with `wait` try again until that deadline.

    flock locks die with their process, so even a fetch killed with SIGKILL blocks no one; the
    lock file itself stays, as removing it would let a third fetch lock a different file. It is
    opened without following a link, and must be a regular file: a planted link would make
    root create or open a file of the planter's choice.
    """
    lock = path + ".lock"
    try:
        if stat.S_ISLNK(os.lstat(lock).st_mode):  # told apart from other refusals (the kernel's vary)
            raise IsinToolError(f"refusing the lock {lock}: it is a symbolic link")
    except FileNotFoundError:
        pass
    try:  # O_NOFOLLOW still holds should a link be planted between the two calls
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR):
            raise IsinToolError(f"refusing the lock {lock}: it is not a regular file") from None
        raise IsinToolError(_unwritable(os.path.dirname(lock), exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsinToolError(f"refusing the lock {lock}: it is not a regular file")
        if not _lock(fd, wait, LOCK_POLL_SECONDS):
            if wait is None:
                raise LockedError(f"another fetch is writing {path} (its lock: {lock})")
            raise LockedError(
                f"another fetch was still writing {path} after {_plural(wait.seconds, 'second')} (--max-time)"
            )
        yield
    finally:
        os.close(fd)


def _remove_temporaries(path: str) -> None:
    """Delete the temporary files of `path` that a killed run left (see _temporary_pattern);
    call only while no other run may be writing `path`."""
    directory, leftover = os.path.dirname(os.path.abspath(path)), _temporary_pattern(path)
    for name in os.listdir(directory):
        if leftover.fullmatch(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))


def _remove_leftovers(target: _Target) -> None:
    """Delete the temporary files that a killed fetch of `target` left: its files' own, those of
    the FIRDS registers' states beside it (OUTPUT.NAME.pairs, .isins) and their nights' scratch
    folders (.OUTPUT.NAME.pairs.firds-*, _scratch_prefix); call with the lock held, which guards
    every file of the target."""
    import shutil

    folder = os.path.dirname(target.path)
    beside = [os.path.join(folder, name) for name in os.listdir(folder)]
    states = [path for path in beside if re.fullmatch(re.escape(target.path) + r"\.\w+\.(pairs|isins)", path)]
    for path in filter(None, (target.path, target.sidecar, target.changes, *states)):
        _remove_temporaries(path)
    scratch = re.escape(_scratch_prefix(target.path + ".NAME.pairs")).replace("NAME", r"\w+") + r"\w+"
    for path in beside:
        if re.fullmatch(scratch, os.path.basename(path)) and os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)


def _now() -> str:
    """The time, as the sidecar writes it: `2026-11-28T04:50:00Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _url_digest(url: str) -> str:
    """What the sidecar keeps to tell one source from another, without the URL's secrets."""
    import hashlib

    return hashlib.sha256(url.encode()).hexdigest()


def _text_or_none(record: dict[str, Any], name: str) -> str | None:
    """A string field of a JSON record; None when it is missing or not a string."""
    value = record.get(name)
    return value if isinstance(value, str) else None


class _PartRecord(_Record):
    """One part as the sidecar records it: what to send back for a conditional GET."""

    url: str  # redacted, for people; url_sha256 tells sources apart, secrets and all
    url_sha256: str
    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, record: dict[str, Any]) -> "_PartRecord":
        fields = {name: _text_or_none(record, name) for name in cls._fields}
        return cls(**{**fields, "url": fields["url"] or "", "url_sha256": fields["url_sha256"] or ""})


class _Sidecar(_Record):
    """OUTPUT.json: what the last fetch read and wrote. For example:

        {"parts": [{"url": "https://***@data.example.com/isins.zip?key=***",
                    "url_sha256": "9f2c...", "etag": "\\"v1\\"", "last_modified": null}],
         "count": 7764257, "invalid": 80031, "duplicates": 155712, "files": 1,
         "sha256": "3b1f...", "fetched_at": "2026-11-28T04:50:00Z",
         "checked_at": "2026-11-29T04:50:00Z"}

    With --firds, `parts` is empty and `firds` holds each register's record instead, by its
    name (see _state_record): what its state beside the list holds. 0.1.0 wrote one part's fields
    at the top level, without `parts`: read as that one part. A file that is missing or not JSON
    reads as None.
    """

    parts: tuple[_PartRecord, ...]
    count: int = 0
    invalid: int = 0
    duplicates: int = 0
    files: int = 0
    sha256: str | None = None
    fetched_at: str | None = None  # when the list was last written
    checked_at: str | None = None  # when a fetch last found the list current: written or unchanged
    firds: dict[str, Any] | None = None  # register's name -> its record

    @classmethod
    def read(cls, path: str) -> "_Sidecar | None":
        import json

        try:
            with open(path, "rb") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict):
            return None
        parts = record.get("parts", [record])
        parts = (
            tuple(_PartRecord.of(part) for part in parts if isinstance(part, dict))
            if isinstance(parts, list)
            else ()
        )
        counts = {
            name: record[name]
            for name in ("count", "invalid", "duplicates", "files")
            if isinstance(record.get(name), int)
        }
        texts = {name: _text_or_none(record, name) for name in ("sha256", "fetched_at", "checked_at")}
        firds = record.get("firds")
        return cls(parts, **counts, **texts, firds=firds if isinstance(firds, dict) else None)

    def to_json(self) -> bytes:
        import json

        record = self._asdict()
        record["parts"] = [part._asdict() for part in self.parts]
        if self.firds is None:
            del record["firds"]
        return json.dumps(record, indent=2).encode() + b"\n"


def _validators(parts: list[str], previous: _Sidecar | None) -> list[dict[str, str | None]]:
    """The ETag and Last-Modified the last fetch recorded for each part, when it fetched exactly
    these URLs in this order; else none for any (a part added or dropped changes the list even
    if no part has changed)."""
    recorded = previous.parts if previous else ()
    if [record.url_sha256 for record in recorded] != [_url_digest(url) for url in parts]:
        return [{"etag": None, "last_modified": None} for _ in parts]
    return [{"etag": record.etag, "last_modified": record.last_modified} for record in recorded]


# --- Fetch ----------------------------------------------------------------------------------------
# fetch_list, in the order of its steps: check the options, find the target and lock it, plan
# the parts (a FIRDS set is looked up), look at the list it replaces, ask each part (each
# conditionally), parse them into the list and its changes, write the list, then the sidecar.


class FetchOptions(NamedTuple):
    """How a fetch downloads and what it accepts: fetch's options, with the same defaults."""

    column: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_time: float = DEFAULT_MAX_TIME
    retries: int = DEFAULT_RETRIES
    max_bytes: int = DEFAULT_MAX_BYTES
    allow_shrink: bool = False
    wait: bool = False
    progress: Callable[[int, int | None], None] | None = None  # told the bytes so far, and of how many
    on_retry: Callable[[str, float], None] | None = None  # told why a retry comes, and after how long
    firds: tuple[str, ...] = ()  # FIRDS registers (esma, fca, or a register's URL), not the URLs
    changes: str | None = None  # a file for the night's changes, `+ISIN` and `-ISIN` lines
    overwrite: bool = False  # replace OUTPUT (and --changes) even when it is no list fetch wrote
    started: Callable[[], None] | None = None  # called once the run holds the output's lock


_DEFAULT_OPTIONS = FetchOptions()


class FetchResult(NamedTuple):
    """What a fetch did."""

    path: str
    written: bool  # False: nothing had changed (every part said 304, or the same set was listed)
    count: int
    invalid: int = 0
    duplicates: int = 0
    downloaded: int = 0
    seconds: float = 0.0
    files: int = 0  # the texts read: files of a zip, parts
    pieces: tuple[bytes, ...] = ()  # for `-o -`: the list, to be written once whole
    added: int = 0  # with changes: ISINs new since the last list
    removed: int = 0  # and those gone from it
    notes: tuple[str, ...] = ()  # what the user should know of a run that succeeded


def _firds_registers(names: Sequence[str]) -> list[tuple[str, str]]:
    """(name, URL) of each --firds register: esma, fca, or a URL (named by a digest of it, which
    names its state's files beside the list)."""
    return [
        (name, FIRDS_REGISTERS[name]) if name in FIRDS_REGISTERS else (f"r{_url_digest(name)[:8]}", name)
        for name in names
    ]


def _check_options(urls: Sequence[str], output: str, options: FetchOptions) -> None:
    """Refuse options that cannot go together, before anything is asked for."""
    if not urls and not options.firds:
        raise OptionError("no URL to fetch")
    if options.firds and options.column:
        raise OptionError("--firds reads each file's instruments and venues: no --column with it")
    if options.firds and output == "-":
        raise OptionError("--firds keeps its registers' pairs beside the list: give -o a file, not -")
    if options.changes and output == "-":
        raise OptionError("--changes needs an output file, not - (standard output)")
    for option, path in (("-o", output), ("--changes", options.changes)):
        if path == "":
            raise OptionError(f"{option} needs a file name")
        if path and os.path.isdir(path):
            raise OptionError(f"{option} {path} is a folder: name a file in it")
    option = "--firds" if options.firds else "--url"
    registers = _firds_registers(options.firds)
    if min(len({name for name, _ in registers}), len({url for _, url in registers})) < len(registers):
        raise OptionError("--firds names the same register twice")
    for url in urls if not options.firds else [url for _, url in registers]:
        if not _is_local(url):
            _check_http_url(url, option, files=True)


class _Plan(_Record):
    """The parts a fetch asks for (their URLs), how to read them, and what to tell of them."""

    parts: list[str]
    column: str | None
    notes: list[str]


# What --changes writes: `+ISIN` and `-ISIN` lines.
_CHANGE_LINES = _Regex(rb"(?:[+-]" + ISIN_PATTERN.encode() + rb"\r?\n)*")


def _line_pieces(f: BinaryIO) -> Iterator[bytes]:
    """A file's text in pieces of whole lines (a last line without its newline gets one)."""
    carry = b""
    for chunk in _read_chunks(f):
        text = carry + chunk
        end = text.rfind(b"\n") + 1
        yield text[:end]
        carry = text[end:]
    if carry:
        yield carry + b"\n"


def _refuse_files_not_ours(target: _Target, old: _OldList | None, options: FetchOptions) -> None:
    """Refuse to replace a file that is not one fetch could have written (a CSV given as -o by
    mistake, say), unless `options.overwrite`: the list, one ISIN a line, and the changes."""
    if options.overwrite:
        return
    if old and not old.isins:
        raise IsinToolError(
            f"{target.path} is not an ISIN list (one ISIN a line): refusing to replace it "
            "(--overwrite replaces it all the same)"
        )
    if target.changes and os.path.exists(target.changes):
        with open(target.changes, "rb") as f:
            ours = all(_CHANGE_LINES.fullmatch(chunk) for chunk in _line_pieces(f))
        if not ours:
            raise IsinToolError(
                f"{target.changes} is not a list of changes (+ISIN and -ISIN lines): refusing to "
                "replace it (--overwrite replaces it all the same)"
            )


def _summed_progress(
    report: Callable[[int, int | None], None], transfers: list[_Transfer | _LocalFile]
) -> Callable[[int, int | None], None]:
    """A part's progress callback that reports the bytes of every part so far (and the size
    when there is one part)."""
    return lambda size, expected: report(
        sum(transfer.size for transfer in transfers), expected if len(transfers) == 1 else None
    )


def _transfers(
    plan: _Plan,
    previous: _Sidecar | None,
    options: FetchOptions,
    settings: dict[str, Any],
    stack: contextlib.ExitStack,
) -> list[_Transfer | _LocalFile]:
    """A transfer for each part, given the validators the last fetch recorded for it."""
    transfers: list[_Transfer | _LocalFile] = []
    for url, validators in zip(plan.parts, _validators(plan.parts, previous), strict=True):
        progress = _summed_progress(options.progress, transfers) if options.progress else None
        source = _LocalFile if _is_local(url) else _Transfer
        transfer = source(
            url,
            progress=progress,
            accept_html=plan.column is not None,
            **validators,
            **settings,
        )
        transfers.append(stack.enter_context(transfer))
    return transfers


def _read_parts(
    transfers: list[_Transfer | _LocalFile],
    write: Callable[[bytes], object],
    column: str | None,
    max_bytes: int,
    old: str | None = None,
    changes: Callable[[bytes], object] | None = None,
) -> ListCounts:
    """Parse every part's payload as it arrives into one list, handed to `write` (and its
    changes since `old` to `changes`); refuse a part with no valid ISIN. Raises _StartOver when a
    source starts its payload over (see _until_whole)."""

    def texts() -> Iterator[tuple[str, Iterable[bytes]]]:
        for transfer in transfers:
            for text in _decompressed_texts(transfer.chunks(), max_bytes):
                yield transfer.name, text

    counts = parse_texts(texts(), write, column, _available_cores(), old, changes)
    if counts.empty:
        raise IsinToolError(
            f"no valid ISIN in what {counts.empty[0]} sent ({_plural(counts.invalid, 'invalid value')})"
        )
    return counts


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


class _Written(_Record):
    """A list written into place, and its sha256 (for the sidecar)."""

    counts: ListCounts
    sha256: str


def _refuse_to_shrink(path: str, current: int, count: int, options: FetchOptions) -> None:
    """Refuse a list under half the ISINs of the one it replaces (a source that answered with a
    fraction of its list, say), unless allow_shrink."""
    if count * 2 < current and not options.allow_shrink:
        raise IsinToolError(
            f"refusing to shrink {path} from {current:,} to {_plural(count, 'ISIN')} (--allow-shrink)"
        )


def _write_list(
    target: _Target,
    transfers: list[_Transfer | _LocalFile],
    plan: _Plan,
    options: FetchOptions,
    old: _OldList | None,
) -> _Written:
    """Parse the parts into the list and its changes, and put both in place: the list first, so
    that a crash between the two renames never leaves changes that the list does not hold. The
    old list is kept on any failure, and when the new one is under half its size (unless
    allow_shrink)."""
    import hashlib

    digest = hashlib.sha256()
    current = old.lines if old else 0
    since = old.path if old and old.records else None
    with contextlib.ExitStack() as files:  # left in reverse: the list replaced first
        changes = files.enter_context(atomic_file(target.changes)).write if target.changes else None
        out = files.enter_context(atomic_file(target.path))  # kept only if all of it passes
        counts = _read_parts(
            transfers, _synced_writer(out, digest), plan.column, options.max_bytes, since, changes
        )
        _refuse_to_shrink(target.path, current, counts.count, options)
    return _Written(counts, digest.hexdigest())


def _sidecar(transfers: list[_Transfer | _LocalFile], written: _Written) -> _Sidecar:
    """What the sidecar records of a fetch that wrote the list from its parts."""
    parts = tuple(
        _PartRecord(
            url=transfer.shown,
            url_sha256=_url_digest(transfer.url),
            etag=transfer.etag,
            last_modified=transfer.last_modified,
        )
        for transfer in transfers
    )
    counts = written.counts
    return _Sidecar(
        parts=parts,
        count=counts.count,
        invalid=counts.invalid,
        duplicates=counts.duplicates,
        files=counts.files,
        sha256=written.sha256,
        fetched_at=(now := _now()),
        checked_at=now,
    )


def _reading_notes(counts: ListCounts) -> list[str]:
    """What the user should know of how the texts were read."""
    return [
        f"{source} is a FIRDS file read for every ISIN-shaped token, its underlyings' too; "
        "--column Id reads only its instruments"
        for source in counts.firds_tokens
    ]


def _result(
    output: str,
    counts: ListCounts,
    transfers: list[_Transfer | _LocalFile],
    started: float,
    notes: list[str],
    pieces: tuple[bytes, ...] = (),
) -> FetchResult:
    return FetchResult(
        path=output,
        written=True,
        count=counts.count,
        invalid=counts.invalid,
        duplicates=counts.duplicates,
        downloaded=sum(transfer.size for transfer in transfers),
        seconds=time.monotonic() - started,
        files=counts.files,
        pieces=pieces,
        added=counts.added,
        removed=counts.removed,
        notes=(*notes, *_reading_notes(counts)),
    )


def _union_into(
    target: _Target,
    registers: list[tuple[str, str]],
    pending: dict[str, BinaryIO | None],
    changes: BinaryIO | None,
    options: FetchOptions,
    current: int,
) -> tuple[int, int, int, str]:
    """OUTPUT as the union of several registers' lists, and its changes from the list it
    replaces: (added, removed, count, sha256). A register's list is its night's `pending` one,
    not in place yet, or (after an unchanged night) OUTPUT.NAME.isins."""
    import hashlib

    digest = hashlib.sha256()
    with contextlib.ExitStack() as files:
        lists: list[BinaryIO] = []
        for name, _ in registers:
            if written := pending[name]:
                lists.append(files.enter_context(_reader_of(written)))
            else:
                lists.append(files.enter_context(open(f"{target.path}.{name}.isins", "rb")))
        out = files.enter_context(atomic_file(target.path))
        count = _union_lists([_read_chunks(f, BLOCK_SIZE) for f in lists], _synced_writer(out, digest))
        _refuse_to_shrink(target.path, current, count, options)
        added, removed = _diff_from_file(target.path, out, changes.write) if changes else (0, 0)
    return added, removed, count, digest.hexdigest()


def _fetch_firds(
    target: _Target,
    old: _OldList | None,
    previous: _Sidecar | None,
    options: FetchOptions,
    settings: dict[str, Any],
    started: float,
) -> FetchResult:
    """--firds: each register's night (see _firds_night), its pairs kept beside the list. With
    one register its ISIN list is OUTPUT; with several, OUTPUT is the union of theirs (each kept
    as OUTPUT.NAME.isins) and the changes are the difference from the list it replaces. The
    list and the changes are replaced together (the list first), or neither.

    Every register's files are replaced when all the nights and the union are done, so that a
    register whose night fails leaves the others' states as the sidecar records them. A job that
    names other registers than the last run keeps the state of each it still names:

        last run       this run       where each register's list is tonight
        one (A)        A and B        beside OUTPUT (A's copied there from OUTPUT first)
        A and B        A and B        beside OUTPUT; OUTPUT their union
        A and B        A alone        beside OUTPUT still; OUTPUT the union of A's alone
        A              A, or B        OUTPUT itself

    The files of registers no longer named are removed, once the sidecar no longer names them."""
    import datetime

    registers = _firds_registers(options.firds)
    records = (previous.firds or {}) if previous else {}
    # Each register's list in its own file, OUTPUT.NAME.isins, and OUTPUT their union: with
    # several registers, and on the night a job leaves several for one (see the table above).
    lists_beside = len(registers) > 1 or len(records) > 1
    joined = next(iter(records)) if len(records) == 1 and len(registers) > 1 else None
    if joined in dict(registers) and os.path.exists(target.path):  # where its state's check looks
        with open(target.path, "rb") as listed:
            write_atomically(f"{target.path}.{joined}.isins", _read_chunks(listed, BLOCK_SIZE))
    today = datetime.datetime.now(datetime.timezone.utc).date()
    # By URL, kept from one attempt to the next (its retries count): ESMA and the FCA name their
    # files alike, and both may list a FULINS_E_20210116_01of01.zip of their own the same night.
    transfers: dict[str, _Transfer] = {}
    opened = contextlib.ExitStack()

    def chunks_of(file: _FirdsFile) -> Iterator[bytes]:  # each checked against the register's MD5
        if file.url not in transfers:
            transfers[file.url] = opened.enter_context(
                _Transfer(file.url, md5=file.md5, name=file.name, **settings)
            )
            transfers[file.url].start()
        return transfers[file.url].chunks()  # asked again from its first byte when read before

    current = old.lines if old else 0

    def accept(state: _StateCounts) -> None:  # a union of several is checked as it is made
        if len(registers) == 1:  # OUTPUT will be this list (or the union of it alone)
            _refuse_to_shrink(target.path, current, state.isins.count, options)

    nights: dict[str, dict[str, Any]] = {}
    results: list[_NightResult] = []
    with opened, contextlib.ExitStack() as files:  # left in reverse: the list (or the union) first
        changes = files.enter_context(atomic_file(target.changes)) if target.changes else None
        for name, url in registers:
            isins = f"{target.path}.{name}.isins" if lists_beside else target.path
            paths = _StatePaths(f"{target.path}.{name}.pairs", isins)

            def night(
                name: str = name, url: str = url, paths: _StatePaths = paths
            ) -> tuple[_NightResult, Any]:
                if changes:
                    changes.seek(0)
                    changes.truncate()  # a night started over writes its changes anew
                return _firds_night(
                    url,
                    paths,
                    records.get(name),
                    lambda query: _get_json(query, **settings),
                    chunks_of,
                    today,
                    changes=None if lists_beside or not changes else changes.write,
                    workers=_available_cores(),
                    max_bytes=options.max_bytes,
                    accept=accept,
                    keep=files,
                )

            result, nights[name] = _until_whole(night)
            results.append(result)
        left = set(records) - set(nights)  # registers the last run named and this one does not
        written = bool(left) or any(result.plan.action != "unchanged" for result in results)
        if not lists_beside:
            added, removed = results[0].added, results[0].removed
            count, sha256 = results[0].state.isins.count, results[0].state.isins.sha256
        elif written or previous is None or previous.sha256 is None:
            pending = {name: result.pending for (name, _), result in zip(registers, results, strict=True)}
            added, removed, count, sha256 = _union_into(target, registers, pending, changes, options, current)
        else:  # no register has a new day: the union the sidecar vouches for stays as it is
            added, removed, count, sha256 = 0, 0, previous.count, previous.sha256
        if not written and changes:
            changes.truncate(0)
    sidecar = _Sidecar(
        parts=(),
        count=count,
        invalid=sum(result.invalid for result in results),
        files=sum(result.files for result in results),
        sha256=sha256,
        fetched_at=_now() if written else (previous.fetched_at if previous else None),
        checked_at=_now(),
        firds=nights,
    )
    write_atomically(target.sidecar, [sidecar.to_json()])
    unused = [f"{target.path}.{name}.pairs" for name in left]
    if len(records) > 1:  # the last run kept the lists beside OUTPUT: those not needed now go
        unused += [f"{target.path}.{name}.isins" for name in left]
        if len(registers) == 1:  # its list is OUTPUT from the next night on
            unused.append(f"{target.path}.{registers[0][0]}.isins")
    for path in unused:  # a run that stops before this leaves them: harmless, but not removed later
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return FetchResult(
        path=target.output,
        written=written,
        count=count,
        invalid=sidecar.invalid,
        downloaded=sum(transfer.size for transfer in transfers.values()),
        seconds=time.monotonic() - started,
        files=sidecar.files,
        added=added,
        removed=removed,
        notes=tuple(note for result in results for note in result.notes),
    )


def fetch_list(urls: Sequence[str], output: str, options: FetchOptions = _DEFAULT_OPTIONS) -> FetchResult:
    """Download the list from `urls`, the parts of one list (or, with `options.firds`, keep
    it from FIRDS registers: see _fetch_firds), and replace `output` with it, keeping the old
    list on failure; with `output` "-", the list is in the result's `pieces` (no lock, sidecar,
    changes or shrink check, as there is no file).

    All or nothing: every part must download, check out and hold a valid ISIN. Holds the
    output's lock throughout. Asks each part only if it changed since its recorded ETag /
    Last-Modified, and is done when none has. Refuses a list under half the size of the current
    one unless `allow_shrink`.
    Records each part and the list's sha256 in OUTPUT.json (see _Sidecar); with
    `options.changes`, replaces that file with the differences from the old list (empty when
    nothing changed). An `output` that is a symbolic link stays one: the file it points to is
    replaced (see _follow_links). The run keeps to `max_time` as _Deadline says, and no message
    shows the secrets of a URL. Raises OptionError for options that cannot go together.
    """
    _check_options(urls, output, options)
    started = time.monotonic()
    deadline = _Deadline(options.max_time)
    settings = dict(
        deadline=deadline,
        timeout=options.timeout,
        retries=options.retries,
        max_bytes=options.max_bytes,
        on_retry=options.on_retry,
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(_secrets_hidden(*options.firds, *urls))
        target = _target(output, options.changes) if output != "-" else None
        if target:
            # --wait keeps to the deadline itself, and says so with its own exit code.
            stack.enter_context(_output_lock(target.path, deadline if options.wait else None))
            _remove_leftovers(target)
        if options.started:
            options.started()
        # only --changes bisects the old list (--firds takes its changes from the days)
        bisected = bool(options.changes) and not options.firds
        old = _OldList.inspect(target.path, bisected=bisected) if target else None
        if target:
            _refuse_files_not_ours(target, old, options)
        previous = _Sidecar.read(target.sidecar) if target and old else None
        if options.firds:
            assert target is not None  # _check_options: --firds keeps its state beside a file
            return _fetch_firds(target, old, previous, options, settings, started)
        plan = _Plan(list(urls), options.column, [])

        def unchanged() -> FetchResult:
            if target and target.changes:
                write_atomically(target.changes, [])
            if target and previous:  # the check is recorded, though nothing had changed
                write_atomically(target.sidecar, [previous._replace(checked_at=_now()).to_json()])
            count = old.lines if old else 0
            return FetchResult(
                output, False, count, seconds=time.monotonic() - started, notes=tuple(plan.notes)
            )

        transfers = _transfers(plan, previous, options, settings, stack)
        # Each part in turn, until one has changed: the parts that said 304 before it are asked
        # again in full (the list is made of all of them), the rest asked in full as they come.
        if not any(transfer.start() for transfer in transfers):
            return unchanged()
        if target is None:
            pieces: list[bytes] = []
            counts = _until_whole(
                lambda: _read_parts(transfers, pieces.append, plan.column, options.max_bytes)
            )
            return _result(output, counts, transfers, started, plan.notes, tuple(pieces))
        if target.changes and old and not old.records:
            plan.notes.append(f"{target.path} is not a list as fetch writes it: every ISIN counts as added")
        written = _until_whole(lambda: _write_list(target, transfers, plan, options, old))
        write_atomically(target.sidecar, [_sidecar(transfers, written).to_json()])
        return _result(output, written.counts, transfers, started, plan.notes)


# --- Watch: metrics and pings ---------------------------------------------------------------------
# What a run tells those who watch it, however it ends: a file of gauges for node_exporter's
# textfile collector (--metrics), the same gauges PUT to a Pushgateway (--metrics-push), and the
# pings of a dead man's switch (--ping): Healthchecks' API (/start, a body, a run ID), or plain
# GETs for any other. Nothing here ever fails a run: each part says what went wrong, and the CLI
# prints that as a warning.

METRICS_SUFFIX = ".prom"  # node_exporter's textfile collector reads only *.prom files
# Set outright, not masked by the umask: node_exporter runs as its own user (Debian's:
# prometheus), who must read the file, whatever mode the file before it had.
METRICS_MODE = 0o644
METRICS_LOCK_SECONDS = 2.0  # a run waits this long for another's read-and-replace of the file
MAX_METRICS_BYTES = 1024 * 1024  # a file before it bigger than this is not ours: it is not read
PUSH_JOB = "isintool"  # the Pushgateway's `job` label, the first of the grouping key
PUSH_TIMEOUT = 5.0  # seconds a push may take
PING_TIMEOUT = 10.0  # seconds a ping may take
# Healthchecks keeps a POST body's first 10,000 bytes when self-hosted (hc-ping.com 100 kB); a
# summary or an error line is far shorter.
PING_BODY_BYTES = 10_000
HEALTHCHECKS_HOSTS = frozenset({"hc-ping.com"})  # where --ping-api auto means Healthchecks' API
PING_APIS = ("auto", "healthchecks", "get")
_LAST_SUCCESS = "isintool_fetch_last_success_timestamp_seconds"


class _Outcome(_Record):
    """How one fetch ended, as its metrics tell it."""

    output: str  # the list's path as its label shows it: absolute, or "-" for standard output
    finished: float  # Unix time the run ended
    duration: float  # seconds the run took
    exit_code: int  # fetch's: 0 written or unchanged, 1 failed, EXIT_LOCKED, 128+N stopped by signal N
    isins: int  # the list's size after the run (the kept list's, when the run failed)
    added: int | None = None  # ISINs the run added to the list; None: not counted (no --changes)
    removed: int | None = None  # and those it removed
    invalid: int = 0  # ISIN-shaped values skipped for a bad check digit
    downloaded: int = 0  # bytes downloaded

    @property
    def success(self) -> bool:
        """Whether the run succeeded: exit code 0, the list written or unchanged."""
        return self.exit_code == 0


def _output_label(output: str) -> str:
    """The `output` label of a list: its absolute path, or "-" for standard output."""
    return output if output == "-" else os.path.abspath(output)


class _Gauge(_Record):
    """One gauge of the metrics: its name, its HELP, and its value for an outcome (and the time of
    the last success); None leaves the sample out."""

    name: str
    help: str
    value: Callable[[_Outcome, float | None], float | None]


# Base units and no _total (gauges, not counters): what `promtool check metrics` asks. Each tells
# of the last run, but the last success, which a failed run carries over.
_GAUGES = (
    _Gauge(_LAST_SUCCESS, "Unix time the last successful fetch ended (0: none yet).", lambda o, last: last),
    _Gauge(
        "isintool_fetch_last_run_timestamp_seconds",
        "Unix time the last fetch ended, whatever its end.",
        lambda o, last: o.finished,
    ),
    _Gauge(
        "isintool_fetch_success", "1 if the last fetch succeeded, else 0.", lambda o, last: int(o.success)
    ),
    _Gauge("isintool_fetch_duration_seconds", "How long the last fetch took.", lambda o, last: o.duration),
    _Gauge(
        "isintool_fetch_exit_code",
        f"The last fetch's exit code: 0 done, 1 failed (the old list kept), {EXIT_LOCKED} another fetch "
        "held the lock, 128+N stopped by signal N (130 SIGINT, 143 SIGTERM).",
        lambda o, last: o.exit_code,
    ),
    _Gauge("isintool_fetch_isins", "ISINs in the list after the last fetch.", lambda o, last: o.isins),
    _Gauge(
        "isintool_fetch_isins_added",
        "ISINs the last fetch added to the list (counted with --changes).",
        lambda o, last: o.added,
    ),
    _Gauge(
        "isintool_fetch_isins_removed",
        "ISINs the last fetch removed from the list (counted with --changes).",
        lambda o, last: o.removed,
    ),
    _Gauge(
        "isintool_fetch_invalid",
        "ISIN-shaped values the last fetch skipped for a bad check digit.",
        lambda o, last: o.invalid,
    ),
    _Gauge(
        "isintool_fetch_downloaded_bytes", "Bytes the last fetch downloaded.", lambda o, last: o.downloaded
    ),
)


def _label_text(value: str) -> str:
    """`value` as valid UTF-8 text, which a label must be: a path's undecodable bytes (which
    Python holds as surrogates) become U+FFFD."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _escaped_label(value: str) -> str:
    """A label value as the text format writes it: `\\`, `"` and a line feed escaped."""
    return _label_text(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """A sample's value: an integer as one, a float as Python's shortest repr (Go's ParseFloat
    reads both, `1733085123.25` and `1e-05` alike)."""
    return str(value) if isinstance(value, int) else repr(float(value))


def _metrics_text(outcome: _Outcome, last_success: float | None) -> str:
    """The run's gauges in Prometheus' text format, each with HELP and TYPE and one `output`
    label, without timestamps (node_exporter skips a file that has any; a Pushgateway refuses
    them). `last_success` is the previous success's time (0.0 for none yet), which a failed run
    keeps; None when it is not known: a failed run's text then leaves that gauge out."""
    last = outcome.finished if outcome.success else last_success
    labels = '{output="' + _escaped_label(outcome.output) + '"}'
    lines = []
    for gauge in _GAUGES:
        value = gauge.value(outcome, last)
        if value is not None:  # HELP escapes `\` and a line feed; none of ours has either
            lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
            lines.append(f"{gauge.name}{labels} {_number(value)}")
    return "\n".join(lines) + "\n"  # the format's last line ends with a line feed too


# A sample with labels, as the text format writes it: name{label="value",...} value [timestamp].
_SAMPLE = _Regex(r'^([A-Za-z_:][A-Za-z0-9_:]*)\{((?:[^"}]|"(?:[^"\\\n]|\\.)*")*)\}[ \t]+(\S+)', re.MULTILINE)
_LABEL = _Regex(r'([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"')


def _samples(text: str) -> Iterator[tuple[str, dict[str, str], str]]:
    """Each labelled sample in exposition text: its name, labels (unescaped), value as written."""
    for match in _SAMPLE.finditer(text):
        labels = {
            name: re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)  # \\ \" \n
            for name, value in _LABEL.findall(match[2])
        }
        yield match[1], labels, match[3]


def _last_success_in(text: str, output: str) -> float | None:
    """The last success time that `text` (a metrics file before this run's) holds for `output`;
    None when it holds none that is a time."""
    wanted = _label_text(output)
    for name, labels, value in _samples(text):
        if name == _LAST_SUCCESS and labels.get("output") == wanted:
            try:
                seconds = float(value)
            except ValueError:
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _outputs_in(text: str) -> set[str]:
    """The outputs whose isintool gauges `text` holds."""
    return {
        labels["output"]
        for name, labels, _ in _samples(text)
        if name.startswith("isintool_fetch_") and "output" in labels
    }


def check_metrics_path(path: str) -> None:
    """Refuse a --metrics path that node_exporter's textfile collector would never read."""
    name = os.path.basename(path)
    if not name.endswith(METRICS_SUFFIX) or name == METRICS_SUFFIX:
        raise OptionError(
            f"--metrics {path}: node_exporter's textfile collector reads only *{METRICS_SUFFIX} files"
        )


@contextlib.contextmanager
def _folder_lock(folder: str, consequence: str) -> Iterator[None]:
    """Hold an flock on the folder itself, for a moment (no lock file in node_exporter's folder);
    when another holds it too long, raise saying `consequence`."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not _lock(fd, _Deadline(METRICS_LOCK_SECONDS), LOCK_POLL_SECONDS / 4):
            waited = _plural(METRICS_LOCK_SECONDS, "second")
            raise IsinToolError(f"{folder} stayed locked for {waited}: {consequence}")
        yield
    finally:
        os.close(fd)


def _read_small(path: str) -> str:
    """The text of a metrics file before this run's; "" when there is none, or it is no file of ours."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_METRICS_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError):
        return ""
    return "" if len(data) > MAX_METRICS_BYTES else data.decode("utf-8", "replace")


def _who_may_not(path: str) -> str:
    """What the user must change for the metrics file `path` to be written."""
    import pwd

    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a container's user without a passwd entry (Kubernetes' runAsUser)
        user = f"uid {os.geteuid()}"
    folder = os.path.dirname(path)
    with contextlib.suppress(OSError):  # a sticky folder lets no one replace another's file
        if os.stat(folder).st_mode & stat.S_ISVTX and os.lstat(path).st_uid != os.geteuid():
            return f"{path} belongs to another user than {user}, in a sticky folder: remove it"
    return f"{folder} must be writable by {user}"


def _write_metrics(path: str, outcome: _Outcome) -> tuple[str, list[str]]:
    """Replace the metrics file `path` with the run's gauges: the text written, and notes for the
    user. A failed run keeps the last success time the file held for its output (0.0 when it
    held none: no success yet).

    Atomic as node_exporter needs it (atomic_file, mode 0644 outright). The read and the replace
    happen under a lock on the folder, so that a run locked out of the list, ending just as the
    run that holds it does, cannot put back the old last success. A link at `path` is followed
    as for the list, so the file may live in the job's folder with a link in node_exporter's.
    Raises IsinToolError when the folder is missing or not writable.
    """
    real = path
    notes = []
    try:
        real = _follow_links(path)
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise IsinToolError(f"no folder {folder} for the metrics {path}: they were not written")
        with _folder_lock(folder, f"the metrics {path} were not written"):
            with contextlib.suppress(OSError):  # another user's leftovers, in a sticky folder
                _remove_temporaries(real)
            before = _read_small(real)
            others = sorted(_outputs_in(before) - {_label_text(outcome.output)})
            if others:
                notes.append(
                    f"the metrics {path} held those of another list ({', '.join(others)}), now replaced: "
                    "give each output its own --metrics file"
                )
            last = _last_success_in(before, outcome.output)
            text = _metrics_text(outcome, 0.0 if last is None else last)
            write_atomically(real, [text.encode()], mode=METRICS_MODE)
    except OSError as exc:
        raise IsinToolError(
            f"cannot write the metrics {path}: {exc.strerror or exc} ({_who_may_not(real)})"
        ) from None
    return text, notes


# A label value that a URL path may carry as it is: RFC 3986's unreserved characters.
_PLAIN_PATH_VALUE = _Regex(r"[A-Za-z0-9_.~-]+")


def check_push_address(gateway: str) -> None:
    """Refuse a --metrics-push value that is no Pushgateway's address (OptionError)."""
    from urllib.parse import urlsplit

    _check_http_url(gateway, "--metrics-push")
    parts = urlsplit(gateway)
    if "/metrics/job/" in parts.path + "/" or parts.query or parts.fragment:
        raise OptionError(
            "--metrics-push takes the Pushgateway's address (http://HOST:9091), without a path to "
            "/metrics/job/... or a query: isintool adds the grouping key"
        )


def _push_url(gateway: str, output: str) -> str:
    """Where to push `output`'s metrics: the Pushgateway's address, then the grouping key
    job="isintool", output="PATH" (the gauges' own `output`: the gateway would replace a sample's
    label with the key's, unasked). A value with a `/`, as a path has, is written
    `output@base64/VALUE` (RFC 4648 URL-safe, no padding), as the gateway requires: a `/` even
    percent-encoded would end the segment."""
    import base64
    from urllib.parse import urlsplit, urlunsplit

    check_push_address(gateway)
    parts = urlsplit(gateway)
    value = _label_text(output)
    if _PLAIN_PATH_VALUE.fullmatch(value) and value not in (".", ".."):  # the router resolves these
        key = f"output/{value}"
    else:
        key = "output@base64/" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
    path = f"{parts.path.rstrip('/')}/metrics/job/{PUSH_JOB}/{key}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _send(
    method: str, url: str, body: bytes, what: str, timeout: float, kind: str | None = None, why: bool = False
) -> Any:
    """One request of a watcher's (a push, a ping), within `timeout`; IsinToolError naming `what`
    when it cannot be made, or is answered with an error (with `why`, the answer's first line:
    a Pushgateway says there what it refused)."""
    import requests

    headers = {"User-Agent": f"isintool/{__version__}", **({"Content-Type": kind} if kind else {})}
    with _secrets_hidden(url):
        try:
            response = requests.request(method, url, data=body or None, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            reason = _unreachable(exc, url, timeout).replace(" (--timeout)", "")
            raise IsinToolError(f"{what} failed: {reason}") from None
        if response.status_code >= 400:
            said = response.text.strip().splitlines()[:1] if why else []
            raise IsinToolError(
                f"{what} answered HTTP {response.status_code}" + (f": {said[0][:200]}" if said else "")
            )
    return response


def _push_metrics(gateway: str, text: str, output: str, replace: bool = True) -> None:
    """Push the metrics `text` of `output` to the Pushgateway at `gateway`: PUT, which replaces the
    group, or with `replace` False, POST, which replaces only the gauges pushed (a failed run that
    does not know the last success time leaves the gateway's)."""
    what = f"the push of the metrics to {redact_url(gateway)}"
    kind = "text/plain; version=0.0.4; charset=utf-8"
    url = _push_url(gateway, output)
    _send("PUT" if replace else "POST", url, text.encode(), what, PUSH_TIMEOUT, kind, why=True)


def _report(outcome: _Outcome, *, metrics: str | None, push: str | None) -> list[str]:
    """Write the run's metrics file and push its metrics, each as far as it can: the warnings for
    the CLI to print, which never change the run's exit code. The push carries the file's text,
    last success time and all; without a file, a failed run does not know that time, and POSTs
    its other gauges, so that the gateway keeps the one it has."""
    warnings: list[str] = []
    text = None
    if metrics:
        try:
            text, notes = _write_metrics(metrics, outcome)
            warnings += notes
        except IsinToolError as exc:
            warnings.append(str(exc))
    if push:
        body = text if text is not None else _metrics_text(outcome, None)
        try:
            _push_metrics(push, body, outcome.output, replace=text is not None or outcome.success)
        except IsinToolError as exc:
            warnings.append(str(exc))
    return warnings


class _Pings(_Record):
    """A run's pings: where they go, in which API, and the run ID they share.

    Healthchecks' API (hc-ping.com, or --ping-api healthchecks): URL/start as the run begins,
    then a POST of the summary to URL, or of the error line to URL/fail, each with ?rid=RID. Any
    other (--ping-api get): a GET of URL after success, of URL/fail after a failure, and nothing
    else, which every dead man's switch that takes GETs understands (some refuse a POST, and
    know no /start).
    """

    url: str
    healthchecks: bool
    rid: str | None  # a UUID, one per run, for Healthchecks to pair the start with the end

    @classmethod
    def of(cls, url: str, api: str = "auto") -> "_Pings":
        import uuid
        from urllib.parse import urlsplit

        _check_http_url(url, "--ping")
        healthchecks = api == "healthchecks" or (
            api == "auto" and (urlsplit(url).hostname or "").lower() in HEALTHCHECKS_HOSTS
        )
        return cls(url, healthchecks, str(uuid.uuid4()) if healthchecks else None)

    def start(self) -> None:
        """Ping the start of the run (Healthchecks' API only), once it holds the list's lock."""
        if self.healthchecks:
            self._ping("GET", self._url("/start"), b"")

    def end(self, success: bool, message: str) -> None:
        """Ping the end of the run: its summary, or its error line, as the body where it has one."""
        url = self._url("" if success else "/fail")
        if not self.healthchecks:
            self._ping("GET", url, b"")
            return
        body = message.encode("utf-8", "replace")[:PING_BODY_BYTES].decode("utf-8", "ignore").encode()
        self._ping("POST", url, body)

    def _url(self, suffix: str) -> str:
        """The URL with `suffix` after its path (not after its query: a URL may carry ?create=1),
        and with Healthchecks' API, rid=RID among its query's fields."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        query = "&".join(filter(None, [parts.query, f"rid={self.rid}" if self.rid else ""]))
        return urlunsplit(
            (
                parts.scheme,
                parts.netloc,
                parts.path.rstrip("/") + suffix if suffix else parts.path,
                query,
                parts.fragment,
            )
        )

    def _ping(self, method: str, url: str, body: bytes) -> None:
        kind = "text/plain; charset=utf-8" if body else None
        _send(method, url, body, f"ping {redact_url(url)}", PING_TIMEOUT, kind)


# --- Schedule -------------------------------------------------------------------------------------
# One description of the nightly job, rendered three ways: a cron line, a systemd service and
# timer, a Kubernetes CronJob.

MAX_CRON_COMMAND = 998  # Debian cron's limit on a command's length
DST_HOURS = range(1, 4)  # 01:00-03:59: daylight-saving changes skip or repeat these times
# Hours a default time may take: never one of those.
_CRON_HOURS = tuple(hour for hour in range(24) if hour not in DST_HOURS)
TIME_LIMIT_MARGIN = 60  # seconds a scheduler grants beyond fetch's --max-time before it kills it
KUBERNETES_MOUNT = "/var/lib/isintool"  # where the claim holding the list is mounted
KUBERNETES_NAME_CHARS = 52  # a CronJob's name: its Jobs' names add 11 characters to 63
# Requests and limits for the container: twice and four times bench/fetch.py's peak for GLEIF.
KUBERNETES_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "512Mi"},
    "limits": {"cpu": "2", "memory": "1Gi"},
}
# A late CronJob run may still start this long after its time: late enough to catch up after an
# outage of hours, too early ever to meet the next day's run (checked against the time limit).
KUBERNETES_STARTING_DEADLINE = 6 * 3600


class NightlyJob(NamedTuple):
    """The nightly fetch, as every scheduler is told of it."""

    hour: int
    minute: int
    user: str
    url: str | None  # None: from ISINTOOL_URL in the job's environment, kept out of the schedule
    output: str  # absolute
    log: str | None  # absolute: where the job's output goes instead of mail or the journal
    fetch_args: tuple[str, ...]  # passed to fetch as they are
    max_time: float  # fetch's --max-time, from which each scheduler's time limit follows
    firds: bool = False  # fetch's --firds is among fetch_args: no URL
    changes: str | None = None  # fetch's --changes among fetch_args: a file the job writes too
    metrics: str | None = None  # fetch's --metrics among fetch_args: a file the job replaces too

    def fetch_argv(
        self, program: list[str], quiet: bool = False, moved: Callable[[str], str] = str
    ) -> list[str]:
        """The fetch command: `program`, then fetch's arguments; `moved` says where the files
        fetch writes (--output, --changes) are where the job runs, when it is not here."""
        quiet_flag = ["--quiet"] if quiet else []
        url = ["--url", self.url] if self.url is not None else []
        fetch_args = list(self.fetch_args)
        if self.changes:  # fetch's parser took it from the args as `--changes PATH` or `--changes=PATH`
            at = next(
                i for i, arg in enumerate(fetch_args) if arg == "--changes" or arg.startswith("--changes=")
            )
            fetch_args[at : at + (1 if "=" in fetch_args[at] else 2)] = ["--changes", moved(self.changes)]
        return [*program, "fetch", *quiet_flag, *url, "--output", moved(self.output), *fetch_args]


def _refuse_line_breaks(values: Iterable[str]) -> None:
    for value in values:
        if any(c in value for c in "\n\r\0"):
            raise IsinToolError(f"{value!r} holds a line break or NUL, which would end the line it stands on")


def nightly_job(
    *,
    hour: int,
    minute: int,
    user: str,
    url: str | None,
    output: str,
    log: str | None = None,
    fetch_args: Iterable[str] = (),
    max_time: float = DEFAULT_MAX_TIME,
    firds: bool = False,
    changes: str | None = None,
    metrics: str | None = None,
    urls: Iterable[str] = (),
) -> NightlyJob:
    """The job, checked once for every scheduler: no value may hold a line break or NUL (it would
    add a job or a directive), and no URL a password (the job's, or `urls`, those among fetch's
    options: every scheduler's file shows them to more people than the job's user)."""
    job = NightlyJob(
        hour=hour,
        minute=minute,
        user=user,
        url=url,
        output=os.path.abspath(output),
        log=log and os.path.abspath(log),
        fetch_args=tuple(fetch_args),
        max_time=max_time,
        firds=firds,
        changes=changes,
        metrics=metrics,
    )
    _refuse_line_breaks([job.user, job.url or "", job.output, job.log or "", *job.fetch_args])
    for shown in filter(None, [url, *urls]):
        if _url_has_password(shown):
            raise IsinToolError(
                f"a URL holds a password, which the schedule would show: {NETRC_HINT}, in the job user's HOME"
            )
    return job


def _this_program() -> list[str]:
    """How a schedule runs this tool: the command pip installed beside the interpreter, when
    this module is that installation's (its first line names the environment's interpreter, so
    the schedule keeps working when the environment is rebuilt on another Python, where
    site-packages' path changes); from a checkout, the absolute interpreter and this file."""
    import sysconfig

    script = os.path.join(sysconfig.get_path("scripts"), "isintool")
    here = os.path.dirname(os.path.abspath(__file__))
    if here in {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")} and os.access(script, os.X_OK):
        return [script]
    return [sys.executable, os.path.abspath(__file__)]


STATE_ROOT = "/var/lib"  # where systemd's StateDirectory= makes folders


def _state_directory(folder: str) -> str | None:
    """The StateDirectory= name of a folder below /var/lib; None for one elsewhere."""
    relative = os.path.relpath(folder, STATE_ROOT)
    return None if relative == "." or relative.startswith("..") else relative


def _default_cron_time(seed: str) -> tuple[int, int]:
    """A fixed (hour, minute) derived from `seed`, never minute 0 and never 01:00-03:59.

    Different hosts and outputs get different times, so they do not all hit the source at once;
    the same seed always gives the same time.
    """
    number = zlib.crc32(seed.encode())
    return _CRON_HOURS[number % len(_CRON_HOURS)], 1 + (number // len(_CRON_HOURS)) % 59


def _parse_cron_time(text: str) -> tuple[int, int]:
    """(hour, minute) from a 24-hour `HH:MM`."""
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text.strip())
    if not match:
        raise IsinToolError(f"{text!r} is not a 24-hour time like 04:30")
    return int(match[1]), int(match[2])


def _shell_command(args: Iterable[str]) -> str:
    """The args as one /bin/sh command line, each quoted, `%` kept outside the quotes.

    cron removes the backslash from `\\%` but keeps it before anything else, so a `%` that
    follows a backslash cannot be written for cron. Splitting each argument at its `%`s and
    quoting the pieces apart leaves every `%` after a quote or a plain character instead.
    """
    import shlex

    return " ".join("%".join(shlex.quote(piece) for piece in arg.split("%")) for arg in args)


def crontab_entry(command: list[str], *, user: str, hour: int, minute: int, log: str | None = None) -> str:
    """The job line for /etc/crontab or /etc/cron.d, `M H * * * USER COMMAND`, newline-terminated.

    Escapes every `%` (cron cuts the command at a bare one and feeds the rest to stdin) and
    refuses what would break the line: newlines and the like (another job could be injected),
    a user name with spaces, a command over Debian cron's 998 characters.
    """
    _refuse_line_breaks([*command, user, log or ""])
    if not user or any(c.isspace() for c in user):
        raise IsinToolError(f"{user!r} is not a user name")
    line = _shell_command(command)
    if log:
        line += " >> " + _shell_command([log]) + " 2>&1"
    line = line.replace("%", "\\%")
    if len(line) > MAX_CRON_COMMAND:
        raise IsinToolError(f"the command is {len(line)} characters, over cron's {MAX_CRON_COMMAND}")
    return f"{minute} {hour} * * * {user} {line}\n"


def _shown_source(job: NightlyJob) -> str:
    if job.firds:
        return "FIRDS"
    return redact_url(job.url) if job.url is not None else "the URL in ISINTOOL_URL"


def _crontab_text(job: NightlyJob) -> str:
    """The file for /etc/cron.d: a comment on how to install it, then the job's line.

    The job runs fetch --quiet, so cron mails only failures; with a log, every run's summary
    line is appended to it instead.
    """
    command = job.fetch_argv(_this_program(), quiet=job.log is None)
    entry = crontab_entry(command, user=job.user, hour=job.hour, minute=job.minute, log=job.log)
    return (
        f"# isintool {__version__}: fetch the ISIN list from {_shown_source(job)} daily at "
        f"{job.hour:02d}:{job.minute:02d}.\n"
        "# Install: save as /etc/cron.d/isintool (no dots in the name), owned by root, mode 0644.\n" + entry
    )


def _systemd_quote(args: Iterable[str]) -> str:
    """The args as one systemd command line (systemd.service(5), "Command lines"): each in double
    quotes, with `\\` and `"` escaped C-style, `%` doubled against specifiers and `$` doubled
    against variable expansion. Quoted words are never command separators (`;`)."""
    quoted = []
    for arg in args:
        escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
        quoted.append(f'"{escaped}"')
    return " ".join(quoted)


_UNIT_NAME = _Regex(r"[A-Za-z0-9_.:-]+")  # systemd.unit(5), less `@` (templates) and `\`


def _writable_directives(own: Iterable[str], shared: Iterable[str]) -> list[str]:
    """The systemd directives that let the service write its folders. Its own (the list's, the
    changes file's) below /var/lib: StateDirectory=, which systemd makes and gives to the
    service's user. Any other, and every shared folder (the metrics', node_exporter's on Debian:
    /var/lib/prometheus/node-exporter, below /var/lib too): ReadWritePaths=-FOLDER, left as it
    is, never taken over, and skipped while missing (the `-`) so that fetch still runs and says
    what is wrong (a missing ReadWritePaths= folder would fail the unit before fetch runs)."""
    own = sorted(set(own))
    made = [state for state in map(_state_directory, own) if state]
    left = sorted({folder for folder in own if not _state_directory(folder)} | (set(shared) - set(own)))
    return ([f"StateDirectory={' '.join(made)}"] if made else []) + (
        [f"ReadWritePaths={' '.join('-' + folder for folder in left)}"] if left else []
    )


def systemd_units(job: NightlyJob, name: str, url_file: str | None = None) -> tuple[str, str]:
    """The service and the timer that run the job: (NAME.service, NAME.timer) as text; with
    `url_file`, an EnvironmentFile= that sets ISINTOOL_URL (for a URL holding a token).

    The timer keeps cron's time of day, and Persistent= runs a run missed while the host was
    down at the next boot. The service is a oneshot with a time limit (a oneshot has none by
    default), ordered after the network, and confined to writing the output's folder (and the
    changes' and the metrics'; see _writable_directives). fetch runs without --quiet: its one summary
    line a day is what the journal should keep of a run, under SyslogIdentifier=isintool; with
    --log, both streams are appended to that file instead.
    """
    if not _UNIT_NAME.fullmatch(name):
        raise IsinToolError(f"--name {name!r} is not a unit name (letters, digits, _ . : -)")
    unit = f"/etc/systemd/system/{name}"
    # The --log file is opened by systemd itself, before the sandbox is set up: its folder need
    # not be writable by fetch. The metrics' folder is another program's (node_exporter's).
    own = [os.path.dirname(path) for path in (job.output, job.changes) if path]
    writable = _writable_directives(own, [os.path.dirname(job.metrics)] if job.metrics else [])
    root = job.user == "root"
    environment = []
    if url_file:
        _refuse_line_breaks([url_file])
        environment = [f"EnvironmentFile={os.path.abspath(url_file)}"]
    log_lines = [f"StandardOutput=append:{job.log}", f"StandardError=append:{job.log}"] if job.log else []
    service = "\n".join(
        [
            f"# isintool {__version__}: fetch the ISIN list from {_shown_source(job)} into {job.output}.",
            f"# Install: save as {unit}.service beside {name}.timer, then",
            f"#   systemctl daemon-reload && systemctl enable --now {name}.timer",
            "[Unit]",
            f"Description=Fetch the ISIN list into {job.output}",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            f"User={job.user}",
            f"ExecStart={_systemd_quote(job.fetch_argv(_this_program()))}",
            "SyslogIdentifier=isintool",  # journalctl -t isintool; the interpreter's name otherwise
            f"TimeoutStartSec={math.ceil(job.max_time) + TIME_LIMIT_MARGIN}",
            # Another fetch (a person's, by hand) held the lock: not a failure of the nightly job.
            f"SuccessExitStatus={EXIT_LOCKED}",
            *environment,
            *log_lines,
            "UMask=0022",
            # Confinement: read-only everywhere but the output's folder; the tool and its
            # interpreter (a venv under /root or /home too) stay readable.
            "ProtectSystem=strict",
            *writable,
            "ProtectHome=read-only",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "PrivateMounts=yes",
            "NoNewPrivileges=yes",
            # root may need to keep the list's owner (chown, then chmod) in a folder not its own.
            "CapabilityBoundingSet=" + ("CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE" if root else ""),
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "ProtectClock=yes",
            "ProtectControlGroups=yes",
            "ProtectHostname=yes",
            "ProtectKernelLogs=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelTunables=yes",
            "ProtectProc=invisible",
            "SystemCallArchitectures=native",
            "SystemCallFilter=@system-service",
            "",
        ]
    )
    timer = "\n".join(
        [
            f"# isintool {__version__}: run {name}.service daily at {job.hour:02d}:{job.minute:02d}.",
            f"# Install: save as {unit}.timer beside {name}.service, then",
            f"#   systemctl daemon-reload && systemctl enable --now {name}.timer",
            "[Unit]",
            f"Description=Fetch the ISIN list into {job.output} daily",
            "",
            "[Timer]",
            f"OnCalendar=*-*-* {job.hour:02d}:{job.minute:02d}:00",
            "Persistent=true",
            "AccuracySec=1min",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )
    return service, timer


def _on_the_claim(path: str) -> str:
    """Where a file fetch writes is in the CronJob's pod: on the claim, under its name (both
    --output and --changes, wherever they would be on this host)."""
    return f"{KUBERNETES_MOUNT}/{os.path.basename(path)}"


_DNS_LABEL = _Regex(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _zone_has_dst(zone: str) -> bool:
    """Whether the IANA time zone changes its offset in the year (daylight-saving time)."""
    import datetime
    import zoneinfo

    try:
        info = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise IsinToolError(f"{zone!r} is not a time zone zoneinfo knows") from None
    return any(info.dst(datetime.datetime(2026, month, 1)) for month in (1, 7))


def _secret_variable(name: str, secret: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}}


def _yaml_lines(value: dict[str, Any] | list[Any], indent: str = "") -> Iterator[str]:
    """Block-style YAML for dicts and lists: keys plain (they are Kubernetes field names), every
    other scalar written as JSON, which YAML reads as the same value, so that no string can be
    taken for another type or break the layout."""
    import json

    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in items:
        lead = f"{indent}{key}:" if key is not None else f"{indent}-"
        if isinstance(item, dict) and item and key is None:  # `- name: x`, the rest below it
            first, *rest = _yaml_lines(item, indent + "  ")
            yield f"{lead} {first.lstrip()}"
            yield from rest
        elif isinstance(item, (dict, list)) and item:
            yield lead
            yield from _yaml_lines(item, indent + "  ")
        else:
            yield f"{lead} {json.dumps(item)}"


def kubernetes_manifest(
    job: NightlyJob,
    *,
    image: str,
    name: str,
    timezone: str,
    claim: str | None = None,
    namespace: str | None = None,
    url_secret: str | None = None,
) -> str:
    """A batch/v1 CronJob that runs the job in `image` (this tool installed with pip) and, unless
    `claim` names one that exists, the PersistentVolumeClaim that keeps the list, as YAML. With
    `url_secret`, ISINTOOL_URL comes from the key ISINTOOL_URL of that Secret.

    Forbid keeps runs from overlapping, and activeDeadlineSeconds keeps a hung run from
    blocking every later one; restartPolicy Never keeps a failed pod and its logs until the
    history limit removes them (OnFailure would delete them at the backoff limit).
    """
    labels = (
        ("--name", name, KUBERNETES_NAME_CHARS),
        ("--claim", claim, 63),
        ("--namespace", namespace, 63),
        ("--url-secret", url_secret, 253),
    )
    for option, label, longest in labels:
        if label is not None and not (_DNS_LABEL.fullmatch(label) and len(label) <= longest):
            raise IsinToolError(
                f"{option} {label!r} is not a DNS label of at most {longest} characters (a-z, 0-9, -)"
            )
    _zone_has_dst(timezone)  # refuses a zone zoneinfo does not know
    if job.metrics:
        raise IsinToolError(
            "--metrics: no textfile collector reads a CronJob's pod; push the metrics with --metrics-push URL"
        )
    deadline = math.ceil(job.max_time) + TIME_LIMIT_MARGIN
    if deadline + KUBERNETES_STARTING_DEADLINE >= 24 * 3600:
        raise IsinToolError(f"--max-time {job.max_time:g} leaves a run no time to end before the next day's")
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    container = {
        "name": "fetch",
        "image": image,
        "command": job.fetch_argv(["isintool"], moved=_on_the_claim),
        "resources": KUBERNETES_RESOURCES,
        **({"env": [_secret_variable("ISINTOOL_URL", url_secret)]} if url_secret else {}),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "list", "mountPath": KUBERNETES_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = {
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "list", "persistentVolumeClaim": {"claimName": claim or name}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata,
        "spec": {
            "schedule": f"{job.minute} {job.hour} * * *",
            "timeZone": timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": KUBERNETES_STARTING_DEADLINE,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {"backoffLimit": 2, "activeDeadlineSeconds": deadline, "template": {"spec": pod}}
            },
        },
    }
    documents = [cronjob]
    if claim is None:
        storage = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        documents.append(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": storage}
        )
    header = (
        f"# isintool {__version__}: fetch the ISIN list from {_shown_source(job)} daily at "
        f"{job.hour:02d}:{job.minute:02d} {timezone}.\n# Apply: kubectl apply -f THIS_FILE\n"
    )
    return header + "".join("---\n" + "\n".join(_yaml_lines(document)) + "\n" for document in documents)


# --- CLI ------------------------------------------------------------------------------------------


EXIT_BROKEN_PIPE = 128 + 13  # the reader of stdout went away (`| head`): SIGPIPE's code, as `seq` gives
# Priorities of syslog(3), as sd-daemon(3)'s prefixes write them.
JOURNAL_ERROR, JOURNAL_WARNING = 3, 4


def _journal_prefix(priority: int) -> str:
    """`<N>` when standard error is the journal, so that journald files the line at priority N
    (sd-daemon(3)); "" elsewhere, so a terminal or cron's mail shows the line as it is. systemd
    sets JOURNAL_STREAM to the device and inode of the stream it connects (systemd.exec(5))."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        info = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):  # no file descriptor behind stderr (a test runner's buffer)
        return ""
    journal = device.isdigit() and inode.isdigit() and (info.st_dev, info.st_ino) == (int(device), int(inode))
    return f"<{priority}>" if journal else ""


class _Failure(click.ClickException):
    """A runtime failure: one line, `Error: ...`, on stderr, filed as an error in the journal;
    exit 1 unless told another code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"{_journal_prefix(JOURNAL_ERROR)}Error: {self.format_message()}", err=True)


def _warn(message: str) -> None:
    """A warning on stderr, filed as a warning in the journal."""
    click.echo(f"{_journal_prefix(JOURNAL_WARNING)}Warning: {message}", err=True)


class _Stopped(BaseException):
    """SIGINT or SIGTERM ended the run: a BaseException, so that no library's `except Exception`
    keeps it, and every `with` on the way (temporary files, the lock, the workers) cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        import signal

        return signal.Signals(self.signum).name


class _OutOfTime(BaseException):
    """SIGALRM at --max-time: a call that blocked past the deadline was interrupted."""


def _on_signal(signum: int, error: Callable[[int], BaseException]) -> Callable[[], object] | None:
    """Install a handler that raises error(signum) in the main thread, once (a second signal
    while the run cleans up is ignored); return what puts the handler before back. None off the
    main thread, where Python lets no handler be set."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    raised = False

    def handle(number: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise error(number)

    previous = signal.signal(signum, handle)
    return lambda: signal.signal(signum, previous)


SIGINT, SIGTERM = 2, 15  # POSIX's numbers, named here so that extract need not import signal


@contextlib.contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM (systemctl stop, a Kubernetes deadline, docker stop) raise _Stopped in
    this thread, once: a second signal while the run cleans up is ignored."""
    restore = [_on_signal(signum, _Stopped) for signum in (SIGINT, SIGTERM)]
    try:
        yield
    finally:
        for put_back in filter(None, restore):
            put_back()


class _Program(click.Group):
    """The isintool command group: a run that a signal stops ends with one line and exit
    128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports it. Every
    command ends so on Ctrl-C (Python's KeyboardInterrupt); fetch also on SIGTERM, cleaning up."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            stopped = _Stopped(SIGINT)
        except _Stopped as exc:
            stopped = exc
        click.echo(f"{_journal_prefix(JOURNAL_ERROR)}Error: stopped by {stopped.name}", err=True)
        ctx.exit(128 + stopped.signum)


# The alarm rings this long after --max-time: the core keeps to the deadline itself wherever it
# can (see _Deadline), with its own messages and exit codes; the alarm is for a call that blocks.
ALARM_GRACE_SECONDS = 1.0


@contextlib.contextmanager
def _alarm_at(seconds: float) -> Iterator[None]:
    """Raise _OutOfTime in this (the main) thread after `seconds`, whatever it waits for: the
    kernel's alarm interrupts DNS, TLS, headers that drip. A caller's own alarm (pytest-timeout's,
    say) is put back when the block ends, less the time the block took."""
    import signal

    restore = _on_signal(signal.SIGALRM, lambda signum: _OutOfTime())
    if restore is None:  # not the main thread: the core's own deadline holds alone
        yield
        return
    started = time.monotonic()
    their_alarm, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        restore()
        if their_alarm:
            signal.setitimer(signal.ITIMER_REAL, max(their_alarm - (time.monotonic() - started), 0.001))


@click.group(
    "isintool",
    cls=_Program,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="isintool")
def cli() -> None:
    """Work with securities reference data: order IDs, ISIN lists, and their nightly job."""


def _write_piece(out: BinaryIO, piece: bytes) -> None:
    """Write one piece, turning a full disk or the like into a one-line error."""
    try:
        out.write(piece)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _Failure(f"cannot write the output: {exc.strerror or exc}") from None


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
        sys.exit(EXIT_BROKEN_PIPE)


class _Input:
    """extract's FILEs read one after another as one stream of chunks, as jq reads them; it
    knows the file being read and where each began, to name the file an offset falls in."""

    def __init__(self, files: tuple[str, ...]) -> None:
        self.files = files or ("-",)
        self.reading = self.files[0]
        self._starts: list[tuple[int, str]] = []  # (the stream's offset of its first byte, name)

    def chunks(self) -> Iterator[bytes]:
        offset = 0
        for name in self.files:
            self.reading = name
            self._starts.append((offset, name))
            with click.open_file(name, "rb") as stream:  # `-` is standard input, left open
                for chunk in _read_chunks(stream):
                    offset += len(chunk)
                    yield chunk

    def regular_file(self) -> str | None:
        """The FILE, when it is the only one and a regular file (which the cores may share)."""
        name = self.files[0]
        return name if len(self.files) == 1 and name != "-" and os.path.isfile(name) else None

    def name(self, file: str) -> str:
        return "standard input" if file == "-" else file

    def where(self, offset: int) -> tuple[str, int]:
        """The FILE the stream's `offset` falls in, and the offset in it."""
        start, file = next(((s, f) for s, f in reversed(self._starts) if s <= offset), (0, self.files[0]))
        return self.name(file), offset - start


def _until_error(items: Iterable[T], errors: list[Exception]) -> Iterator[T]:
    """The items (batches of IDs, or rendered pieces) until text that is not JSON, or a FILE
    that cannot be read once IDs were printed, which goes into `errors`: the list printed so
    far then closes and stays JSON. A FILE that cannot be read before any ID is raised."""
    printed = False
    try:
        for item in items:
            printed = printed or bool(item)
            yield item
    except JsonTextError as exc:
        errors.append(exc)
    except OSError as exc:
        if not printed:
            raise
        errors.append(exc)


def _warn_of_paths(head: bytes, key: str) -> None:
    message = paths_warning(head, key)
    if message:
        _warn(message)


def _warned_after_first(items: Iterator[T], head: Callable[[], bytes], key: str) -> Iterator[T]:
    """The items, the warning of the key's paths (see paths_warning) told from `head()` once
    the first item is in: a big file's workers then scan on while the warning is worked out."""
    first = next(items, None)
    _warn_of_paths(head(), key)
    if first is not None:
        yield first
    yield from items


def _warned_first(chunks: Iterator[bytes], key: str) -> Iterator[list[bytes]]:
    """extract_ids' batches, the warning of the key's paths told first, from the input's first
    MiB (see HEAD_BYTES; several FILES' if the first is smaller), which then goes on to the
    scan: a pipe is read once."""
    head: list[bytes] = []
    while sum(map(len, head)) < HEAD_BYTES and (chunk := next(chunks, None)) is not None:
        head.append(chunk)
    _warn_of_paths(b"".join(head)[:HEAD_BYTES], key)
    yield from extract_ids(itertools.chain(head, chunks), key)


def _first_mib(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def _key_named(ctx: click.Context, param: click.Parameter, key: str) -> str:
    if not key:  # most likely a shell variable not set; it would match the "" keys
        raise click.BadParameter("name a key: it cannot be empty")
    return key


def _parsed_path(ctx: click.Context, param: click.Parameter, path: str | None) -> JqPath | None:
    try:
        return None if path is None else parse_path(path)
    except PathError as exc:  # click names the option and its value already
        raise click.BadParameter(str(exc).removeprefix(f"--path {path!r}: ")) from None


@cli.command(
    short_help="Print the order IDs in FILES (default: standard input) as a JSON list.",
    epilog="Exit codes: 0 done (no IDs prints []); 1 a FILE could not be read, or --path found text "
    "that is not JSON; 2 usage error.",
)
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--key",
    default="id",
    show_default=True,
    metavar="NAME",
    callback=_key_named,
    help="The JSON key whose values to pull, wherever it stands.",
)
@click.option(
    "--path",
    "steps",
    metavar="PATH",
    callback=_parsed_path,
    help="A jq path to the IDs, such as .orders[].id: only the values it names.",
)
@click.option("--lines", is_flag=True, help="Print one ID a line, strings decoded, instead of a JSON list.")
def extract(files: tuple[str, ...], key: str, steps: JqPath | None, lines: bool) -> None:
    """Print the order IDs in FILES (default: standard input), in input order, as a JSON list.

    IDs are the values a JSON parser reads as integers or strings; floats, true, false, null,
    objects and arrays are skipped:

    \b
        $ echo '{"orders":[{"id":1},{"id":"a2"}],"errors":[{"code":3}]}' | isintool extract
        [1, "a2"]

    By default every member named --key counts, wherever it stands, found by one regular
    expression without parsing. Real order APIs nest objects with an "id" of their own
    (customers, addresses, line items): when in the first MiB the key stands at more than one
    path, a warning names the paths and the --path that takes the outermost. --path names the
    IDs as jq does (its steps .key, ."key", .["key"], .[N] and .[]), and only those print:

    \b
        $ isintool extract --path '.orders[].id' shopify_orders.json
        $ isintool extract --path '.data[].order_id' page1.json page2.json
        $ isintool extract --path '.id' orders.ndjson       # each line's own "id"

    Both stream in flat memory whatever the size (jq holds the whole document). Several FILES
    are read one after another as one stream, as jq reads them. Where --path finds text that
    is not JSON, the list printed so far is closed and the error names its byte offset.
    """
    from click.core import ParameterSource

    if steps is not None and click.get_current_context().get_parameter_source("key") is (
        ParameterSource.COMMANDLINE
    ):
        raise click.UsageError("give --key or --path, not both: the path names the key")
    source = _Input(files)
    errors: list[Exception] = []
    path = source.regular_file()
    if steps is not None:
        pieces = format_ids(_until_error(path_ids(source.chunks(), steps), errors), lines)
    elif path is not None:  # the cores may share it (see extract_file); its first MiB read again
        rendered = _warned_after_first(_file_pieces(path, key, lines), lambda: _first_mib(path), key)
        pieces = _join_pieces(_until_error(rendered, errors), lines)
    else:  # a pipe, or several FILES
        pieces = format_ids(_until_error(_warned_first(source.chunks(), key), errors), lines)
    try:
        _write_stdout(pieces)
    except OSError as exc:
        raise _Failure(f"cannot read {source.name(source.reading)}: {exc.strerror or exc}") from None
    for error in errors:
        if isinstance(error, JsonTextError):
            file, offset = source.where(error.offset)
            raise _Failure(f"{file}: not JSON at byte {offset:,}: {error.problem}")
        raise _Failure(f"cannot read {source.name(source.reading)}: {error.strerror or error}")


def _usage_checked(check: Callable[[str], None]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that runs `check` on a value given, its OptionError a usage error."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            if value is not None:
                check(value)
        except OptionError as exc:
            raise click.UsageError(str(exc)) from None
        return value

    return callback


def _setting(
    *names: str,
    metavar: str,
    default: Any,
    help: str,
    type: Any = None,
    multiple: bool = False,
    flag_value: str | None = None,
    shown_default: str | None = None,
    check: Callable[[str], None] | None = None,
) -> Any:
    """A fetch option that cron can also set from the environment: ISINTOOL_ and the long name
    (for an option given several times, values parted by blanks). With `flag_value`, the
    option's value may be left out, and is then that; `shown_default` is what --help says of the
    default, where the value itself would not read well. `check` refuses a bad value (the core's
    OptionError, a usage error) wherever click parses fetch's options: for fetch, and for the
    schedules, which parse the options of the fetch they will run."""
    extra = {"is_flag": False, "flag_value": flag_value} if flag_value else {}
    envvar = "ISINTOOL_" + names[-1].lstrip("-").replace("-", "_").upper()
    return click.option(
        *names,
        metavar=metavar,
        default=default,
        type=type,
        help=help,
        envvar=envvar,
        show_envvar=True,
        show_default=shown_default or default is not None,
        multiple=multiple,
        callback=_usage_checked(check) if check else None,
        **extra,
    )


# The suffixes --max-bytes takes, as GNU's tools read them: K, M, G, T (and KiB...) are powers of
# 1024, KB, MB, GB, TB powers of 1000.
_BINARY_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DECIMAL_UNITS = {"k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}


class _ByteSize(click.ParamType):
    """A number of bytes, with an optional suffix: `500M`, `2G`, `1GB`, `1000000`."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*(?:([kmgt])(ib|b)?|b)?\s*", str(value), re.IGNORECASE)
        if not match or int(match[1]) < 1:
            self.fail(f"{value!r} is not a size of at least 1 byte, like 500M, 2G or 1000000", param, ctx)
        number, unit, suffix = int(match[1]), (match[2] or "").lower(), (match[3] or "").lower()
        if not unit:
            return number
        return number * (_DECIMAL_UNITS if suffix == "b" else _BINARY_UNITS)[unit]


def _size(count: float) -> str:
    """Bytes as a person reads them: `1,234 bytes` below a tenth of a MB, `79.3 MB` from there."""
    return _plural(int(count), "byte") if count < 100_000 else f"{count / 1e6:,.1f} MB"


def _summary(result: FetchResult, changes: bool = False) -> str:
    """The one line a fetch prints on success."""
    changed = f"{result.added:,} added, {result.removed:,} removed" if changes else ""
    if not result.written:
        counts = "; ".join(filter(None, [_plural(result.count, "ISIN"), changed]))
        return f"{result.path} unchanged since the last fetch ({counts})"
    where = "standard output" if result.path == "-" else result.path
    details = [
        changed,
        f"{result.invalid:,} invalid skipped",
        _plural(result.duplicates, "duplicate"),
        f"{result.files} files read" if result.files > 1 else "",
        f"{_size(result.downloaded)} downloaded",
        f"{result.seconds:.1f} s",
    ]
    return f"wrote {_plural(result.count, 'ISIN')} to {where} ({', '.join(filter(None, details))})"


class _Progress:
    """What a fetch shows on a terminal while it downloads, on one line of stderr redrawn at
    most ten times a second: the bytes so far (of how many, when known) and the rate; a retry
    gets a line of its own. Never drawn elsewhere: cron would mail it, the journal keep it."""

    REDRAW_SECONDS = 0.1

    def __init__(self) -> None:
        self._started = self._drawn = time.monotonic()
        self._width = 0  # of the line drawn, to be wiped

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._wipe()

    def bytes(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._drawn < self.REDRAW_SECONDS and done != total:
            return
        self._drawn = now
        line = f"Downloading {_size(done)}"
        if total:
            line += f" of {_size(total)} ({100 * done // total}%)"
        line += f", {_size(done / max(now - self._started, 1e-3))}/s"
        self._draw(line)

    def retry(self, reason: str, wait: float) -> None:
        self._wipe()
        click.echo(f"{reason}; trying again in {_plural(round(wait, 1), 'second')}", err=True)

    def _draw(self, line: str) -> None:
        click.echo("\r" + line.ljust(self._width), nl=False, err=True)
        self._width = len(line)

    def _wipe(self) -> None:
        if self._width:
            click.echo("\r" + " " * self._width + "\r", nl=False, err=True)
            self._width = 0


def _os_error_message(exc: OSError) -> str:
    """`strerror: filename`, as a shell would say it."""
    return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror or exc)


# What the watchers are told after a run may take this long in all (a ping, a push, the file),
# whatever their servers do: within the minute the schedulers allow beyond --max-time.
REPORT_SECONDS = 20.0


def _warn_unless_done(action: Callable[[], None]) -> None:
    """Do `action`; its IsinToolError, or running out of REPORT_SECONDS, is a warning on stderr."""
    try:
        with _alarm_at(REPORT_SECONDS):
            action()
    except IsinToolError as exc:
        _warn(str(exc))
    except _OutOfTime:
        _warn(f"telling the watchers of the run took over {_plural(REPORT_SECONDS, 'second')}: given up")


class _Watchers(_Record):
    """Who is told of a fetch's end, whatever it is: the ping, the metrics file, the Pushgateway."""

    pings: _Pings | None
    metrics: str | None
    push: str | None
    output: str
    clock: float  # time.monotonic() as the run began
    changes: bool  # --changes: the run counts what it added and removed

    def tell_of_success(self, result: FetchResult, summary: str) -> None:
        outcome = _Outcome(
            output=_output_label(result.path),
            finished=time.time(),
            duration=result.seconds,
            exit_code=0,
            isins=result.count,
            added=result.added if self.changes else None,
            removed=result.removed if self.changes else None,
            invalid=result.invalid,
            downloaded=result.downloaded,
        )
        self._tell(outcome, summary)

    def tell_of_failure(self, message: str, exit_code: int) -> None:
        """After a failure (the old list kept) or another fetch's lock: no /fail ping for the lock."""
        kept = (
            _OldList.inspect(self.output, bisected=False)
            if self.output != "-" and (self.metrics or self.push)
            else None
        )
        outcome = _Outcome(
            output=_output_label(self.output),
            finished=time.time(),
            duration=time.monotonic() - self.clock,
            exit_code=exit_code,
            isins=kept.lines if kept else 0,
            added=0 if self.changes else None,
            removed=0 if self.changes else None,
        )
        self._tell(outcome, message, ping=exit_code != EXIT_LOCKED)

    def _tell(self, outcome: _Outcome, message: str, ping: bool = True) -> None:
        def tell() -> None:
            if self.pings and ping:
                try:
                    self.pings.end(outcome.success, message)
                except IsinToolError as exc:
                    _warn(str(exc))
            for warning in _report(outcome, metrics=self.metrics, push=self.push):
                _warn(warning)

        _warn_unless_done(tell)


def _failure_message(exc: BaseException, output: str, max_time: float) -> str:
    """The one line that says why a fetch failed."""
    if isinstance(exc, _Stopped):
        return f"stopped by {exc.name}: {'nothing written' if output == '-' else output + ' left as it was'}"
    if isinstance(exc, _OutOfTime):
        return _out_of_time(max_time)
    if isinstance(exc, OSError):
        return _os_error_message(exc)
    return str(exc)


def _refuse_url_with(option: str) -> None:
    """A usage error when --url was given (on the command line, or fetch's ISINTOOL_URL) beside
    `option`, which names the source another way."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source("url")
    if source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
        raise click.UsageError(f"give --url or {option}, not both")


@cli.command(
    short_help="Download, validate and atomically replace the ISIN list.",
    epilog=f"Exit codes: 0 written or unchanged; 1 failed, the old list kept; 2 usage error; "
    f"{EXIT_LOCKED} another fetch holds the lock for this output; 130, 143 stopped by SIGINT, SIGTERM.",
)
@_setting(
    "--url",
    metavar="URL",
    default=(GLEIF_ISIN_LEI_URL,),
    multiple=True,
    shown_default="GLEIF's ISIN-to-LEI file, below",
    help="Where to download the list: CSV, zip, gzip, or any text holding ISINs; a path or file:// "
    "reads a file here. Given several times, the parts of one list.",
)
@_setting(
    "--firds",
    metavar="[REGISTER]",
    default=None,
    multiple=True,
    flag_value="esma",
    help="Instead of --url: the instruments of a FIRDS register, kept daily (the full set, then each "
    "day's deltas): esma (the default), fca, or a register's URL; given twice, both into one list.",
)
@_setting(
    "-o",
    "--output",
    metavar="PATH",
    default=DEFAULT_OUTPUT,
    help="The file to replace, one ISIN a line; - writes to standard output.",
)
@_setting(
    "--column",
    metavar="NAME",
    default=None,
    help="The values to read: the CSV column headed NAME, the XML elements or the JSON keys named NAME "
    "(default: the CSV column headed ISIN or ISIN NUMBER, else every ISIN-shaped token).",
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
    metavar="SIZE",
    default=DEFAULT_MAX_BYTES,
    type=_ByteSize(),
    shown_default="2G",
    help="Limit on bytes downloaded and, separately, on bytes after decompression: a number, or "
    "with K, M, G (powers of 1024) or KB, MB, GB (of 1000).",
)
@click.option(
    "--allow-shrink", is_flag=True, help="Accept a list with fewer than half the ISINs of the current file."
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace OUTPUT (and --changes) even when it is not a list fetch writes (one ISIN a line).",
)
@click.option(
    "--wait",
    is_flag=True,
    help=f"Wait for another fetch of this output to end (within --max-time); else exit {EXIT_LOCKED}.",
)
@_setting(
    "--changes",
    metavar="PATH",
    default=None,
    help="Also replace PATH with what changed since the last list: +ISIN added, -ISIN removed, sorted "
    "(empty when nothing did).",
)
@_setting(
    "--ping",
    metavar="URL",
    default=None,
    help="A dead man's switch: GET URL after success, URL/fail after a failure; for healthchecks.io "
    "(see --ping-api) also URL/start as the run begins, and the summary or error line as a POST body.",
    check=lambda url: _check_http_url(url, "--ping"),
)
@_setting(
    "--ping-api",
    metavar="API",
    default="auto",
    type=click.Choice(PING_APIS),
    help="How to ping: healthchecks (/start, POST bodies, one rid a run), get (GETs only), or auto: "
    "healthchecks for hc-ping.com, get for any other.",
)
@_setting(
    "--metrics",
    metavar="PATH",
    default=None,
    help="After every run, replace PATH (a *.prom file, for node_exporter's textfile collector) with "
    "the run's Prometheus gauges.",
    check=check_metrics_path,
)
@_setting(
    "--metrics-push",
    metavar="URL",
    default=None,
    help="After every run, PUT the same gauges to the Prometheus Pushgateway at URL (job isintool, "
    "grouped by the output's path).",
    check=check_push_address,
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success (cron mails any output).")
def fetch(
    url: tuple[str, ...],
    firds: tuple[str, ...],
    output: str,
    column: str | None,
    timeout: float,
    max_time: float,
    retries: int,
    max_bytes: int,
    allow_shrink: bool,
    overwrite: bool,
    wait: bool,
    changes: str | None,
    ping: str | None,
    ping_api: str,
    metrics: str | None,
    metrics_push: str | None,
    quiet: bool,
) -> None:
    """Download a list of ISINs once, validate it, and replace OUTPUT atomically.

    The payload is recognised by its bytes (a zip, gzip, or plain text) and parsed while it
    arrives; every file of a zip is read (stored, deflate, bzip2 or LZMA). In a CSV whose header
    names an ISIN column, only that column is read; --column picks another, or the elements of
    an XML file or the keys of a JSON file. Any other text gives every ISIN-shaped token. Each
    ISIN must pass the ISO 6166 check digit; invalid ones are counted and skipped. The list is
    written sorted and unique, one ISIN a line.

    \b
    Without --url, the list of GLEIF's daily ISIN-to-LEI file:
      https://mapping.gleif.org/api/v2/isin-lei/latest/download
    --url given several times: the parts of one list, all of them or nothing.
    --firds: the ISINs active on at least one venue, as ESMA's FIRDS (or the
      FCA's) has them: the newest complete full set, then each day's delta,
      every (ISIN, venue) pair kept beside the list (OUTPUT.esma.pairs), so a
      night reads only the new day's file; "unchanged" when there is none.

    Readers of OUTPUT never see a partial list: on any failure the old file is kept as it was.
    A fetch also refuses an empty list, or one under half the size of the current file (see
    --allow-shrink). A transfer that breaks off resumes where it stopped when the source allows.
    --max-time bounds the whole run, whatever the server does. OUTPUT.json records each part's
    ETag and Last-Modified, and the next fetch downloads only if a part has changed.
    OUTPUT.lock keeps two fetches apart. Credentials go in ~/.netrc; no message shows a URL's
    user-info or query values.
    """
    if firds:
        _refuse_url_with("--firds")
    pings = _Pings.of(ping, ping_api) if ping else None  # --ping, --metrics, --metrics-push: checked
    options = FetchOptions(
        column=column,
        timeout=timeout,
        max_time=max_time,
        retries=retries,
        max_bytes=max_bytes,
        allow_shrink=allow_shrink,
        overwrite=overwrite,
        wait=wait,
        firds=firds,
        changes=changes,
        started=(lambda: _warn_unless_done(pings.start)) if pings else None,
    )
    watchers = _Watchers(pings, metrics, metrics_push, output, time.monotonic(), changes is not None)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_signals_stop_the_run())
            if not quiet and sys.stderr.isatty():
                progress = stack.enter_context(_Progress())
                options = options._replace(progress=progress.bytes, on_retry=progress.retry)
            stack.enter_context(_alarm_at(max_time + ALARM_GRACE_SECONDS))
            result = fetch_list(url, output, options)
        _write_stdout(result.pieces)
    except OptionError as exc:
        raise click.UsageError(str(exc)) from None
    except LockedError as exc:
        watchers.tell_of_failure(str(exc), EXIT_LOCKED)
        raise _Failure(str(exc), EXIT_LOCKED) from None
    except (IsinToolError, OSError, _OutOfTime, _Stopped) as exc:
        code = 128 + exc.signum if isinstance(exc, _Stopped) else 1
        message = _failure_message(exc, output, max_time)
        watchers.tell_of_failure(message, code)
        raise _Failure(message, code) from None
    summary = _summary(result, changes is not None)
    watchers.tell_of_success(result, summary)
    if not quiet:
        for note in result.notes:
            _warn(note)
        click.echo(summary, err=True)


def _job_options(
    *, user: str | None, log: str | None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options of every schedule command, with one meaning: --at, --url, -o, then --user and
    --log where the scheduler runs the job as a user of this host (their help given here), and
    fetch's own options after --."""
    options = [
        click.option(
            "--at", metavar="HH:MM", help="The time of day, 24-hour (default: fixed per host and output)."
        ),
        click.option("--user", metavar="USER", help=user) if user else None,
        click.option(
            "--url",
            metavar="URL",
            default=GLEIF_ISIN_LEI_URL,
            show_default=True,
            help="As in fetch; no password.",
        ),
        click.option(
            "-o", "--output", metavar="PATH", default=DEFAULT_OUTPUT, show_default=True, help="As in fetch."
        ),
        click.option("--log", metavar="PATH", help=log) if log else None,
        click.argument("fetch_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- FETCH-OPTIONS...]"),
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed([option for option in options if option]):
            command = option(command)
        return command

    return decorate


_SCHEDULE_EPILOG = (
    "Exit codes: 0 done; 2 usage error (a bad --at, a line break in a value, a password in the URL, "
    "a bad fetch option)."
)


class _FetchSettings(_Record):
    """What a schedule must know of the fetch options after --."""

    max_time: float  # from which each scheduler's time limit follows
    firds: bool  # --firds: the job has no URL
    changes: str | None  # --changes: a file the job writes, absolute
    metrics: str | None  # --metrics: a file the job replaces, absolute, in a folder not its own
    urls: tuple[str, ...]  # the URLs among them (--ping, --metrics-push, --firds REGISTER): no password


def _fetch_settings(fetch_args: tuple[str, ...]) -> _FetchSettings:
    """The options after --, checked as fetch would check them all."""
    from click.core import ParameterSource

    try:
        # Under this command's context, so that fetch keeps the group's settings (-h as --help).
        with fetch.make_context("fetch", list(fetch_args), parent=click.get_current_context()) as context:
            given = {
                name
                for name in context.params
                if context.get_parameter_source(name) == ParameterSource.COMMANDLINE
            }
            for param in {"url", "output"} & given:
                raise click.UsageError(f"give --{param} before --, not among fetch's options")
            files = {name: context.params[name] if name in given else None for name in ("changes", "metrics")}
            for name, path in files.items():
                if path is not None and not os.path.isabs(path):
                    raise click.UsageError(f"--{name} needs an absolute path in a schedule")
            max_time = float(context.params["max_time"]) if "max_time" in given else DEFAULT_MAX_TIME
            urls = [context.params[name] for name in ("ping", "metrics_push") if name in given]
            urls += context.params["firds"] if "firds" in given else []  # esma, fca, or a URL
            return _FetchSettings(max_time, "firds" in given, urls=tuple(urls), **files)
    except (click.UsageError, OptionError) as exc:
        message = exc.format_message() if isinstance(exc, click.UsageError) else str(exc)
        raise click.UsageError(f"in the fetch options after --: {message}") from None


def _usage_checked(func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """func(...), its IsinToolError a usage error (exit 2): the options asked for what cannot be."""
    try:
        return func(*args, **kwargs)
    except IsinToolError as exc:
        raise click.UsageError(str(exc)) from None


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _nightly_job(
    *,
    at: str | None,
    url: str | None,
    output: str,
    fetch_args: tuple[str, ...],
    user: str | None = None,
    log: str | None = None,
    on_this_host: bool = True,
    dst: bool = True,
    missing_folder: Callable[[str, str], str] = lambda option, folder: (
        "the job fails each night, fetch saying why, until it is made"
    ),
) -> NightlyJob:
    """The job from the schedule options: usage errors for what is wrong, warnings on stderr for
    what would fail or surprise later (a user or folder this host lacks, a time that
    daylight-saving changes skip, a query string the schedule shows)."""

    try:
        hour, minute = (
            _parse_cron_time(at)
            if at
            else _default_cron_time(f"{os.uname().nodename}:{os.path.abspath(output)}")
        )
    except IsinToolError as exc:
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    if user is None:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    elif not _user_exists(user):
        _warn(f"no user {user!r} on this host")
    given = _fetch_settings(fetch_args)
    paths = [("--output", output), ("--log", log), ("--changes", given.changes), ("--metrics", given.metrics)]
    paths = paths if on_this_host else []
    for option, path in paths:
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            consequence = (
                "fetch warns each night that the metrics were not written, until it is made"
                if option == "--metrics"
                else missing_folder(option, folder)
            )
            _warn(f"no folder {folder!r} for {option} on this host: {consequence}")
    if given.firds:
        _refuse_url_with("--firds (among fetch's options)")
        url = None
    settings = dict(user=user, url=url, output=output, log=log, fetch_args=fetch_args)
    job = _usage_checked(nightly_job, hour=hour, minute=minute, **given._asdict(), **settings)
    if dst and hour in DST_HOURS:
        _warn(
            f"daylight-saving changes skip or repeat {hour:02d}:{minute:02d} once a year "
            "(the job may not run that day)"
        )
    if url and "?" in url:
        _warn(
            "the URL's query is shown to whoever can read the schedule; for a token, set "
            "ISINTOOL_URL from a file only the job's user can read (see the README's Credentials)"
        )
    return job


@cli.command(context_settings={"ignore_unknown_options": True}, epilog=_SCHEDULE_EPILOG)
@_job_options(
    user="The user cron runs the job as (default: you).",
    log="Append the job's output and errors to PATH instead of cron mailing them.",
)
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

    def missing_folder(option: str, folder: str) -> str:
        if option == "--log":
            return (
                "cron's shell cannot append to a log there: the job fails before fetch starts, with no ping"
            )
        return "the job fails each night, fetch saying why, until it is made"

    settings = dict(at=at, user=user, url=url, output=output, log=log, fetch_args=fetch_args)
    job = _nightly_job(**settings, missing_folder=missing_folder)
    click.echo(_usage_checked(_crontab_text, job), nl=False)


def _url_unless(url: str, elsewhere: str | None, option: str) -> str | None:
    """The --url to put in the schedule, or None when `option` says where the job finds it."""
    if elsewhere is None:
        return url
    _refuse_url_with(option)
    return None


@cli.command(context_settings={"ignore_unknown_options": True}, epilog=_SCHEDULE_EPILOG)
@_job_options(
    user="The user the service runs as (default: you).",
    log="Append the job's output and errors to PATH instead of the journal.",
)
@click.option(
    "--name",
    default="isintool-fetch",
    show_default=True,
    metavar="NAME",
    help="The units' name: NAME.service and NAME.timer.",
)
@click.option(
    "--write",
    metavar="DIR",
    type=click.Path(file_okay=False, exists=True),
    help="Write the two units into DIR (each atomically) instead of printing them.",
)
@click.option(
    "--url-file",
    metavar="PATH",
    help="Read the URL from ISINTOOL_URL=... in PATH (a token stays out of the unit); not with --url.",
)
def systemd(
    at: str | None,
    user: str | None,
    url: str,
    output: str,
    log: str | None,
    fetch_args: tuple[str, ...],
    name: str,
    write: str | None,
    url_file: str | None,
) -> None:
    """Print (or write) the systemd service and timer that run fetch every day.

    \b
        isintool systemd -o /var/lib/isintool/isins.txt --user isin --write /etc/systemd/system
        systemctl daemon-reload && systemctl enable --now isintool-fetch.timer

    The timer runs at the time the crontab line would (Persistent=true: a run missed while the
    host was down runs at boot). The service is a oneshot limited to --max-time plus a minute,
    after network-online.target, confined to writing the output's folder (and those of --changes
    and --metrics); one below /var/lib is made for the service's user. The journal keeps each
    run's summary line, errors at priority err: journalctl -t isintool [-p err]. Options after
    -- go to fetch as they are.
    """
    url_or_none = _url_unless(url, url_file, "--url-file")

    def missing_folder(option: str, folder: str) -> str:
        if option == "--log":
            return "systemd cannot open the log there, and fails the service before fetch starts"
        if _state_directory(folder):
            return "systemd creates it for the service's user at each start (StateDirectory=)"
        return "the service fails each night, fetch saying why and pinging /fail, until it is made"

    settings = dict(at=at, user=user, url=url_or_none, output=output, log=log, fetch_args=fetch_args)
    job = _nightly_job(**settings, missing_folder=missing_folder)
    service, timer = _usage_checked(systemd_units, job, name, url_file)
    if not write:
        click.echo(service + "\n" + timer, nl=False)
        return
    paths = [os.path.join(write, name + suffix) for suffix in (".service", ".timer")]
    try:
        for text, path in zip((service, timer), paths, strict=True):
            write_atomically(path, [text.encode()])
    except (IsinToolError, OSError) as exc:
        message = _os_error_message(exc) if isinstance(exc, OSError) else str(exc)
        raise _Failure(f"cannot write the units: {message}") from None
    click.echo(f"wrote {paths[0]} and {paths[1]}; to start the timer:", err=True)
    click.echo(f"  systemctl daemon-reload && systemctl enable --now {name}.timer", err=True)


@cli.command(context_settings={"ignore_unknown_options": True}, epilog=_SCHEDULE_EPILOG)
@_job_options(user=None, log=None)
@click.option("--image", required=True, metavar="IMAGE", help="An image with this tool installed by pip.")
@click.option(
    "--timezone",
    default="Etc/UTC",
    show_default=True,
    metavar="ZONE",
    help="The time zone --at is read in (IANA, as in zoneinfo).",
)
@click.option(
    "--claim",
    metavar="NAME",
    help="A PersistentVolumeClaim that exists, for the list (default: print one named as --name).",
)
@click.option(
    "--name", default="isintool-fetch", show_default=True, metavar="NAME", help="The CronJob's name."
)
@click.option("--namespace", metavar="NS", help="The namespace (default: kubectl's current one).")
@click.option(
    "--url-secret",
    metavar="NAME",
    help="Take ISINTOOL_URL from the key ISINTOOL_URL of this Secret (for a token); not with --url.",
)
def kubernetes(
    at: str | None,
    url: str,
    output: str,
    fetch_args: tuple[str, ...],
    image: str,
    timezone: str,
    claim: str | None,
    name: str,
    namespace: str | None,
    url_secret: str | None,
) -> None:
    """Print a Kubernetes CronJob that runs fetch every day, with the claim that keeps the list.

    \b
        isintool kubernetes --image registry.example/isintool:0.1.0 --at 05:30 \\
            --timezone Europe/Berlin | kubectl apply -f -

    The container runs `isintool fetch` with --output (and --changes) on the claim's mount,
    under their names, as a non-root user with a read-only root file system. Runs never
    overlap, a run is stopped at --max-time plus a minute, and a late run still starts within
    6 hours. Options after -- go to fetch as they are.
    """
    try:
        has_dst = _zone_has_dst(timezone)
    except IsinToolError as exc:
        raise click.BadParameter(str(exc), param_hint="'--timezone'") from None
    url_or_none = _url_unless(url, url_secret, "--url-secret")
    job = _nightly_job(
        at=at, url=url_or_none, output=output, fetch_args=fetch_args, on_this_host=False, dst=has_dst
    )
    names = dict(name=name, claim=claim, namespace=namespace, url_secret=url_secret)
    manifest = _usage_checked(kubernetes_manifest, job, image=image, timezone=timezone, **names)
    click.echo(manifest, nl=False)


if __name__ == "__main__":
    cli(prog_name="isintool")  # the same name in --help as the installed command
