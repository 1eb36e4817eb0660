"""Tests for isintool, in the module's order: pure functions first, then the CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tracemalloc

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import isintool
from isintool import cli, extract_ids, format_ids

# The order JSON from the extract issue, verbatim.
ORDERS = (
    b'{"orders":[{"id":1},{"id":2},{"id":3},{"id":4},{"id":5},{"id":6},{"id":7},{"id":8},{"id":9},'
    b'{"id":10},{"id":11},{"id":648},{"id":649},{"id":650},{"id":651},{"id":652},{"id":653}],'
    b'"errors":[{"code":3,"message":"[PHP Warning #2] count(): Parameter must be an array or an object '
    b'that implements Countable (153)"}]}'
)
ORDERS_LIST = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653]\n"


def ids_of(text: bytes, key: str = "id", chunk_size: int = 1 << 20) -> list[int]:
    """Run extract_ids over `text` cut into chunks of `chunk_size`, as integers."""
    chunks = [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    return [int(i) for batch in extract_ids(chunks, key) for i in batch]


# --- extract: the pure functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(ORDERS, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653], id="issue"),
        pytest.param(json.dumps(json.loads(ORDERS), indent=2).encode(), None, id="pretty-printed"),
        pytest.param(b'{"id" : 5, "id"\t:\n\t6, "id":\r\n7}', [5, 6, 7], id="whitespace-around-colon"),
        pytest.param(b'[{"id":1},{"note":"say \\"id\\":99 here"},{"id":2}]', [1, 2], id="escaped-in-string"),
        pytest.param(b'[{"orderid":1},{"id_x":2},{"xid":3},{"id":4}]', [4], id="other-keys-with-id-inside"),
        pytest.param(
            b'[{"id":"7"},{"id":null},{"id":-1},{"id":1.5},{"id":2e3},{"id":8}]', [8], id="non-integers"
        ),
        pytest.param(b"", [], id="empty"),
        pytest.param(b"not json at all", [], id="no-json"),
        pytest.param(b'\xff\xfe{"id":1,"m":"\xc3\x28 \x80"},{"id":2}\xff', [1, 2], id="invalid-utf8"),
        pytest.param(b'{"a":{"b":{"id":9}}}', [9], id="nested-objects-count-too"),
    ],
)
def test_extract_ids(text, expected):
    if expected is None:
        expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653]
    assert ids_of(text) == expected


def test_extract_keeps_big_ids_exact():
    big = "123456789012345678901234567890123456789"
    assert [i for batch in extract_ids([b'{"id":%s}' % big.encode()]) for i in batch] == [big.encode()]
    assert ids_of(b'{"id":%s}' % big.encode()) == [int(big)]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("code", [3], id="code"),
        pytest.param("id", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653], id="id"),
        pytest.param("missing", [], id="absent-key"),
    ],
)
def test_extract_key(key, expected):
    assert ids_of(ORDERS, key) == expected


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        pytest.param("a,b", b'[{"a,b":1},{"a":2,"b":3},{"a,b" : 4}]', [1, 4], id="comma-in-key"),
        pytest.param('q"t', b'[{"q\\"t":5},{"q":6}]', [5], id="quote-in-key-is-json-escaped"),
        pytest.param("café", '[{"café":7},{"cafe":8}]'.encode(), [7], id="non-ascii-key"),
        pytest.param("{[,]}", b'[{"{[,]}":9}]', [9], id="every-stop-byte-in-key"),
    ],
)
def test_extract_unusual_keys_at_every_chunk_size(key, text, expected):
    for size in range(1, len(text) + 1):
        assert ids_of(text, key, size) == expected, size


def _order_text(ids: list[int], rng: random.Random) -> bytes:
    """Order JSON around `ids`, with decoys: error codes, numbers in messages, odd spacing."""
    parts = []
    for order_id in ids:
        space = rng.choice([b"", b" ", b"\n  ", b"\t"])
        parts.append(
            b'{"id"%s:%s%d,"qty":%d,"err":{"code":%d,"message":"\\"id\\": %d (%d)"}}'
            % (space, space, order_id, rng.randint(0, 999), rng.randint(0, 9), order_id, rng.randint(0, 9))
        )
    return b'{"orders":[' + b",".join(parts) + b"]}"


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=0, max_value=10**30), max_size=40),
    seed=st.integers(0, 2**32),
    chunk_size=st.integers(min_value=1, max_value=300),
)
def test_extract_same_ids_for_every_chunk_size(ids, seed, chunk_size):
    text = _order_text(ids, random.Random(seed))
    assert ids_of(text, chunk_size=chunk_size) == ids


def test_extract_chunk_sweep_on_the_issue_text():
    for size in range(1, 64):
        assert ids_of(ORDERS, chunk_size=size) == ids_of(ORDERS), size


def test_extract_memory_stays_flat_when_streaming():
    """25 MB through extract_ids never holds more than a few chunks: 2 GB must not need 2 GB."""
    chunk = b'{"id":123456,"note":"x"},' * 2600  # about 64 KiB

    def chunks():
        for _ in range(400):
            yield bytes(chunk)  # a fresh object each time, as a file read gives

    tracemalloc.start()
    try:
        total = sum(len(batch) for batch in extract_ids(chunks()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 400 * 2600
    assert peak < 2 * 1024 * 1024, peak


@pytest.mark.parametrize("lines", [False, True], ids=["list", "lines"])
@pytest.mark.parametrize("segment_bytes", [7, 100, 4096])
def test_extract_file_in_parallel_segments_matches_serial(tmp_path, monkeypatch, lines, segment_bytes):
    rng = random.Random(segment_bytes)
    ids = [rng.randint(0, 10**12) for _ in range(3000)]
    path = tmp_path / "orders.json"
    path.write_bytes(_order_text(ids, rng))
    serial = b"".join(format_ids(extract_ids([path.read_bytes()]), lines=lines))
    monkeypatch.setattr(isintool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(isintool, "SEGMENT_BYTES", segment_bytes)
    monkeypatch.setattr(isintool, "_available_cores", lambda: 2)
    assert b"".join(isintool.extract_file(str(path), lines=lines)) == serial


def test_cut_points_fall_just_after_stop_bytes(tmp_path):
    data = b'{"id":1234567},' * 50 + b"x" * 500  # a tail without stop bytes takes no cut
    path = tmp_path / "f"
    path.write_bytes(data)
    with open(path, "rb") as stream:
        points = isintool._cut_points(stream, len(data), 40, [b",", b"}"])
    assert points[0] == 0 and points[-1] == len(data)
    assert points == sorted(set(points))
    assert all(data[p - 1 : p] in (b",", b"}") for p in points[1:-1])
    assert len(points) > 10


@pytest.mark.parametrize(
    ("batches", "lines", "expected"),
    [
        pytest.param([[b"1", b"2"], [], [b"3"]], False, b"[1, 2, 3]\n", id="list"),
        pytest.param([[b"1", b"2"], [], [b"3"]], True, b"1\n2\n3\n", id="lines"),
        pytest.param([[], []], False, b"[]\n", id="empty-list"),
        pytest.param([[]], True, b"", id="empty-lines"),
    ],
)
def test_format_ids(batches, lines, expected):
    assert b"".join(format_ids(batches, lines=lines)) == expected


def test_format_ids_list_is_json_and_python():
    out = b"".join(format_ids(extract_ids([ORDERS])))
    assert json.loads(out) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653]


# --- extract: the CLI --------------------------------------------------------------------------------


@pytest.fixture
def runner():
    return CliRunner()


def test_cli_extract_stdin(runner):
    result = runner.invoke(cli, ["extract"], input=ORDERS)
    assert result.exit_code == 0
    assert result.stdout == ORDERS_LIST
    assert result.stderr == ""


def test_cli_extract_dash_and_file(runner, tmp_path):
    path = tmp_path / "orders.json"
    path.write_bytes(ORDERS)
    assert runner.invoke(cli, ["extract", "-"], input=ORDERS).stdout == ORDERS_LIST
    result = runner.invoke(cli, ["extract", str(path)])
    assert (result.exit_code, result.stdout) == (0, ORDERS_LIST)


def test_cli_extract_lines_and_key(runner):
    result = runner.invoke(cli, ["extract", "--lines"], input=ORDERS)
    assert result.stdout.split() == [str(i) for i in json.loads(ORDERS_LIST)]
    result = runner.invoke(cli, ["extract", "--key", "code"], input=ORDERS)
    assert (result.exit_code, result.stdout) == (0, "[3]\n")


def test_cli_extract_empty_input(runner):
    result = runner.invoke(cli, ["extract"], input=b"")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "[]\n", "")


@pytest.mark.parametrize("kind", ["missing", "directory", "read-fails"])
def test_cli_extract_bad_file_is_one_line_exit_1(runner, tmp_path, kind):
    path = tmp_path / "orders.json"
    if kind == "directory":
        path.mkdir()
    elif kind == "read-fails":
        path = "/proc/self/mem"  # opens, then every read at offset 0 fails with EIO (even for root)
    result = runner.invoke(cli, ["extract", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: cannot read {path}: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_script_and_entry_point_behave_alike(tmp_path):
    """`python isintool.py` is the same program as the installed command, broken pipe included."""
    run = [sys.executable, isintool.__file__, "extract", "--lines"]
    done = subprocess.run(run, input=ORDERS, capture_output=True, check=False)
    assert (done.returncode, done.stdout.split()[:3], done.stderr) == (0, [b"1", b"2", b"3"], b"")
    version = subprocess.run(
        [sys.executable, isintool.__file__, "--version"], capture_output=True, check=True
    )
    assert version.stdout.decode().strip() == f"isintool, version {isintool.__version__}"
    many = b"[" + b",".join(b'{"id":%d}' % i for i in range(300_000)) + b"]"
    piped = subprocess.run(
        f"{' '.join(run)} | head -n 1", shell=True, input=many, capture_output=True, check=False
    )
    assert (piped.stdout, piped.stderr) == (b"0\n", b"")
