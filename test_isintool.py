"""Tests for isintool, in the module's order and under its section titles; test data and fixtures first."""

from __future__ import annotations

import contextlib
import csv
import datetime
import fcntl
import getpass
import gzip
import hashlib
import io
import itertools
import json
import os
import pickle
import pty
import random
import re
import shlex
import shutil
import signal
import socket
import socketserver
import ssl
import stat
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

import kubernetes_validate
import pytest
import requests
import trustme
import yaml  # PyYAML, which kubernetes-validate brings
from click.testing import CliRunner
from cronsim import CronSim
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from stdnum import isin as stdnum_isin
from werkzeug import Response

import isintool
from isintool import (
    EACH,
    IsinToolError,
    JsonTextError,
    PathError,
    cli,
    extract_ids,
    format_ids,
    parse_path,
    path_ids,
    paths_warning,
)

# The order JSON from the extract issue, verbatim.
ORDERS = (
    b'{"orders":[{"id":1},{"id":2},{"id":3},{"id":4},{"id":5},{"id":6},{"id":7},{"id":8},{"id":9},'
    b'{"id":10},{"id":11},{"id":648},{"id":649},{"id":650},{"id":651},{"id":652},{"id":653}],'
    b'"errors":[{"code":3,"message":"[PHP Warning #2] count(): Parameter must be an array or an object '
    b'that implements Countable (153)"}]}'
)
ORDERS_LIST = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653]\n"


def ids_of(text: bytes, key: str = "id", chunk_size: int = 1 << 20) -> list[int | str]:
    """Run extract_ids over `text` cut into chunks of `chunk_size`; the values as JSON reads them."""
    chunks = [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    return [json.loads(i) for batch in extract_ids(chunks, key) for i in batch]


# --- Test data ------------------------------------------------------------------------------------


# Differential: extract must read what a JSON parser reads. Keys that are, or nearly are, "id";
# strings that hold what a careless scan would take for a key, or for a place to cut.
_KEYS = st.sampled_from(["id", "Id", "xid", 'my"id', "ids", "note", "i"])


_TRICKY_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(['"id":5', ', "id": 6', '{"id":7}', "a,b", "[x]", "{", "\\", '\\"id\\"', "é€😀", "\\\\"]),
)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=25,
)


_DUMP_STYLES = st.sampled_from(
    [
        {"separators": (",", ":")},
        {"indent": 2},
        {"separators": (" , ", " : ")},
        {},
    ]
)


# From ../shared/data/isin-vectors.csv (python-stdnum's and commons-validator's test suites, isin-rs).
VALID_ISINS = [
    "US0378331005",  # Apple
    "AU0000XVGZA3",  # letters in the NSIN
    "GB0002634946",  # BAE Systems
    "US5949181045",
    "IE00B4L5Y983",
    "DE000BAY0017",
    "INE002A01018",
    "NL0000009165",
    "FR0000131104",
    "CH0012221716",
    "XS0110106365",  # XS: international, not a country
    "EU000A1G0BN7",  # EU prefix
    "XF0000C14922",  # XF prefix
    "AN8068571086",  # retired country code
    "US0004026250",  # check digit 0
    "AU000000TAG0",
    "US09739D1000",
    "US38259P5089",  # letter in the NSIN
    "DE000A0GNPZ3",
    "ES0SI0000005",
    "TRLTCMB00045",
    "US4581401001",
    "US98421M1062",
    "US02376R1023",
    "US9216591084",
    "US0207721095",
    "US71363P1066",
    "US5915202007",
    "US4570301048",
    "US8684591089",
    "EZR9HY1361L7",  # EZ prefix from ISO 6166:2021
]


INVALID_ISINS = [
    "US0378331003",  # wrong check digit
    "US0378331004",
    "US0004026251",
    "JP000K0VF054",  # 055 is right
    "US037833100",  # too short
    "US03783310O5",  # letter O typed for a zero
    "us0378331005",  # lower case
    "",
    "US03783310055",  # too long
]


GLEIF_CSV = (
    b"LEI,ISIN\r\n"
    b"529900T8BM49AURSDO55,US0378331005\r\n"
    b"529900T8BM49AURSDO55,AU0000XVGZA3\r\n"
    b"529900T8BM49AURSDO55,US0378331003\r\n"  # bad check digit
    b"5493001KJTIIGC8Y1R12,GB0002634946\r\n"
    b"5493001KJTIIGC8Y1R12,US0378331005\r\n"  # duplicate
    b"5493001KJTIIGC8Y1R12,not-an-isin\r\n"
)


GLEIF_ISINS = [b"AU0000XVGZA3", b"GB0002634946", b"US0378331005"]


XETRA_CSV = (
    b"Market:;XETR\n"
    b"Date Last Update:;26.11.2026\n"
    b"Product Status;Instrument Status;Instrument;ISIN;Product ID;Benchmark ISIN\n"
    b'Active;Active;"APPLE INC.; REG";US0378331005;1;XS0110106365\n'
    b"Active;Active;BAYER AG;DE000BAY0017;2;EU000A1G0BN7\n"
    b'Active;Active;"ONE ""QUOTED"" NAME";GB0002634946;3;\n'
)


NSE_CSV = (
    b"SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER, FACE VALUE\n"
    b"RELIANCE,Reliance Industries Limited,EQ,29-NOV-1995,10,1,INE002A01018,10\n"
    b"ABB,ABB India Limited,EQ,22-OCT-1990,2,1, CH0012221716 ,2\n"
)


FIRDS_LIKE = b"""<?xml version="1.0" encoding="UTF-8"?>
<BizData xmlns="urn:iso:std:iso:20022:tech:xsd:head.003.001.01"><Hdr><Id><OrgId>EU</OrgId></Id></Hdr>
<Pyld><auth:Document xmlns:auth="urn:iso:std:iso:20022:tech:xsd:auth.036.001.02">
<auth:FinInstrm><auth:FinInstrmGnlAttrbts><auth:Id>US0378331005</auth:Id></auth:FinInstrmGnlAttrbts>
<auth:TradgVnRltdAttrbts><auth:Id>XEUB</auth:Id></auth:TradgVnRltdAttrbts>
<auth:UndrlygInstrm><auth:ISIN>XS0110106365</auth:ISIN></auth:UndrlygInstrm></auth:FinInstrm>
<FinInstrm><FinInstrmGnlAttrbts><Id scheme="ISIN">
    GB0002634946
</Id><IdType>DE000BAY0017</IdType><Id/><Id />
<UnderlyingId>EU000A1G0BN7</UnderlyingId><Id>US0378331003</Id></FinInstrmGnlAttrbts></FinInstrm>
</auth:Document></Pyld></BizData>
"""


BROKER_JSON = {
    "data": [
        {"isin": "US0378331005", "name": "Apple (US0378331005)", "underlying": {"isin": "XS0110106365"}},
        {"isin": " GB0002634946 ", 'my"isin': "DE000BAY0017", "note": 'say "isin": "EU000A1G0BN7"'},
        {"isin": "not one", "isins": ["AU0000XVGZA3"], "ISIN": "IE00B4L5Y983", "isin2": None},
        {"isin": None},
    ]
}


REAL = Path(__file__).parent.parent / "shared" / "data" / "real"  # read when there, never needed
FIRDS_EXCERPT = REAL / "firds_DLTINS_20210117_01of01_first400records.xml"


FIELDS = st.sampled_from(["US0378331005", "GB0002634946", "US0378331003", "US03783310;5", "A", "", " \r"])


def _zip(payload: bytes, name: str = "isin-lei.csv", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
        for other, data in (extra or {}).items():
            archive.writestr(other, data)
    return buffer.getvalue()


class _Unseekable(io.RawIOBase):
    """A write-only stream without seek or tell, as a pipe is: zipfile then writes each file's
    CRC-32 and sizes in a data descriptor after its data (flag bit 3)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += b
        return len(b)


def _zip_layout(layout: str, payload: bytes = GLEIF_CSV) -> bytes:
    """A zip holding `payload` as one file, written the way `layout` names."""
    target = _Unseekable() if layout.startswith("descriptor") else io.BytesIO()
    method = zipfile.ZIP_STORED if "stored" in layout else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(target, "w", method) as archive:
        if layout == "folder-first":
            archive.writestr("data/", b"")
        with archive.open("data/isin-lei.csv", "w", force_zip64=layout.endswith("zip64")) as member:
            member.write(payload)
    return bytes(target.data) if isinstance(target, _Unseekable) else target.getvalue()


def _flip_in_data(data: bytes) -> bytes:
    """The zip with one byte of its file's data flipped."""
    start = 30 + int.from_bytes(data[26:28], "little") + int.from_bytes(data[28:30], "little")
    spoiled = bytearray(data)
    spoiled[start + 5] ^= 0x01
    return bytes(spoiled)


def _set_flag(data: bytes, bit: int) -> bytes:
    spoiled = bytearray(data)
    spoiled[6] |= bit
    return bytes(spoiled)


def _zip_method(method: int, payload: bytes = GLEIF_CSV) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("isin-lei.csv", payload)
    return buffer.getvalue()


def _set_method(data: bytes, method: int) -> bytes:
    """The zip with its first local header's compression method changed."""
    return data[:8] + method.to_bytes(2, "little") + data[10:]


OLD_LIST = b"DE000BAY0017\nGB0002634946\nUS0378331005\n"


def _gzip_encoded(request):
    body = gzip.compress(GLEIF_CSV)
    return Response(body, headers={"Content-Encoding": "gzip", "Content-Type": "text/csv"})


def _head(status: str, **headers: str | int) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _send(status: str, body: bytes, cut: int | None = None, **headers: str | int):
    """An answer: the status, headers (Content-Length from the body), then the body or its
    first `cut` bytes before the connection drops."""

    headers.setdefault("Content_Length", len(body))

    def answer(request, wfile):
        wfile.write(_head(status, **headers))
        wfile.write(body[:cut])

    return answer


def _drip(head: bytes, body: bytes, every: float):
    """An answer that sends its head, then its body, a few bytes every `every` seconds."""

    def answer(request, wfile):
        for start in range(0, len(head), 1 if every < 0.2 else len(head)):
            wfile.write(head[start : start + 1 if every < 0.2 else len(head)])
            wfile.flush()
            time.sleep(every if every < 0.2 else 0)
        for start in range(0, len(body), 13):
            wfile.write(body[start : start + 13])
            wfile.flush()
            time.sleep(every)

    return answer


def _valid_isins(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    bases = ("US" + "".join(rng.choices(string.digits + string.ascii_uppercase, k=9)) for _ in range(count))
    return [base + stdnum_isin.calc_check_digit(base) for base in bases]


def _gleif_zip(isins: list[str]) -> bytes:
    rows = [b"LEI,ISIN"] + [b"5493001KJTIIGC8Y1R12," + isin.encode() for isin in isins]
    return _zip(b"\r\n".join(rows) + b"\r\n")


FIRST = _valid_isins(20_000, 1)


FIRST_ZIP = _gleif_zip(FIRST)


CUT = len(FIRST_ZIP) * 6 // 10  # where the first answer breaks off


RANGES = {"ETag": '"v1"', "Accept_Ranges": "bytes"}


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv: files of another user"
)


PASSWORD, TOKEN = "s3cretPW", "TOKEN1234"


TRICKY_ARGS = [
    "https://example.test/download?date=2026-11-27&fmt=%25Y%m",
    '/srv/data with spaces/it\'s "quoted"/isins.txt',
    "$HOME `id` $(id) ; rm -rf / #",
    "back\\slash\\%percent\\\\%%",
    "100%",
    "%",
    "",
]


needs_systemd_analyze = pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed (apt-get install systemd)"
)


ROOT = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A FIRDS record shaped as the real excerpt's (../shared/data/real/firds_DLTINS_*): the
# instrument's ISIN in FinInstrmGnlAttrbts/Id, a venue's MIC in TradgVnRltdAttrbts/Id, an
# underlying's ISIN in UndrlygInstrm/Sngl/ISIN.


def _fresh_isins(prefix: str, count: int) -> list[str]:
    """Valid ISINs no other test data holds (python-stdnum gives the check digits)."""
    return [f"{prefix}{n:09d}" + stdnum_isin.calc_check_digit(f"{prefix}{n:09d}") for n in range(count)]


def _days_ago(days: int) -> str:
    return (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=days)).strftime(
        "%Y%m%d"
    )


class Counts(NamedTuple):
    count: int
    invalid: int
    duplicates: int


def parse(chunks: list[bytes], column: str | None = None, workers: int = 1):
    """parse_isins, keeping what it writes: the ISINs (checked to be one a line), and the counts
    of ISINs, invalid values and duplicates."""
    pieces: list[bytes] = []
    counts = isintool.parse_isins(chunks, pieces.append, column, workers)
    text = b"".join(pieces)
    assert all(pieces) and (text == b"" or text.endswith(b"\n"))
    return text.split(), Counts(*counts[:3])


# `promtool test rules` for the README's alert rules (written beside them as isintool.rules.yml).
# Time starts at 0 in each group, so time() at eval_time 28h is 100800 and a success at 1h has the
# timestamp 3600. Series hold one sample an hour ("_": none that hour); LAST_SUCCESS is short for the
# longest metric's name.
RULE_TESTS = r"""
rule_files:
  - isintool.rules.yml
evaluation_interval: 1m

tests:
  # A host's textfile collector: the run at 1h succeeds, the runs from 25h on fail, and each
  # failed run keeps the last success time (3600). Stale only once that is over 26 hours old.
  - name: textfile, a success then failures
    interval: 1h
    input_series:
      - series: 'LAST_SUCCESS{instance="db1:9100",job="node",output="/l.txt"}'
        values: "_ 3600+0x30"
      - series: 'isintool_fetch_success{instance="db1:9100",job="node",output="/l.txt"}'
        values: "_ 1+0x23 0+0x7"
      - series: 'isintool_fetch_exit_code{instance="db1:9100",job="node",output="/l.txt"}'
        values: "_ 0+0x23 1+0x7"
    alert_rule_test:
      - eval_time: 24h
        alertname: IsintoolLastRunFailed
      - eval_time: 25h
        alertname: IsintoolLastRunFailed
        exp_alerts:
          - exp_labels:
              severity: warning
              instance: db1:9100
              job: node
              output: /l.txt
            exp_annotations:
              summary: "The last ISIN fetch into /l.txt failed"
              description: >-
                The fetch on db1:9100 failed and kept the old list; its error line is in the
                journal (journalctl -t isintool -p err), cron's mail, the log, the pod's log or
                the ping's body.
      - eval_time: 26h
        alertname: IsintoolNoSuccess
      - eval_time: 27h  # exactly 26 hours: not yet over
        alertname: IsintoolNoSuccess
      - eval_time: 28h
        alertname: IsintoolNoSuccess
        exp_alerts:
          - exp_labels:
              severity: critical
              reason: stale
              instance: db1:9100
              job: node
              output: /l.txt
            exp_annotations:
              summary: "No successful ISIN fetch into /l.txt for over 26 hours"
              description: >-
                The last success of /l.txt on db1:9100 ended 1d 3h 0m 0s ago.

  # A CronJob's push (the Pushgateway adds instance=""): one run succeeds, the next one finds
  # another fetch holding the lock (exit 75). Neither alert: a locked-out run is no failure, and
  # the last success is recent.
  - name: pushgateway, a run locked out
    interval: 1h
    input_series:
      - series: 'LAST_SUCCESS{instance="",job="isintool",output="/l.txt"}'
        values: "_ 3600+0x4"
      - series: 'isintool_fetch_success{instance="",job="isintool",output="/l.txt"}'
        values: "_ 1 0+0x3"
      - series: 'isintool_fetch_exit_code{instance="",job="isintool",output="/l.txt"}'
        values: "_ 0 75+0x3"
    alert_rule_test:
      - eval_time: 3h
        alertname: IsintoolLastRunFailed
      - eval_time: 3h
        alertname: IsintoolNoSuccess

  # A CronJob's run that fails: the alert names no instance (the Pushgateway's is "").
  - name: pushgateway, a run failed
    interval: 1h
    input_series:
      - series: 'isintool_fetch_success{instance="",job="isintool",output="/l.txt"}'
        values: "_ 1 0"
      - series: 'isintool_fetch_exit_code{instance="",job="isintool",output="/l.txt"}'
        values: "_ 0 1"
    alert_rule_test:
      - eval_time: 2h
        alertname: IsintoolLastRunFailed
        exp_alerts:
          - exp_labels:
              severity: warning
              job: isintool
              output: /l.txt
            exp_annotations:
              summary: "The last ISIN fetch into /l.txt failed"
              description: >-
                The fetch failed and kept the old list; its error line is in the journal
                (journalctl -t isintool -p err), cron's mail, the log, the pod's log or the ping's
                body.

  # Two outputs of one host: only the one that never succeeded (last success 0) alerts, once
  # time() is past 26 hours (at once in real time, where time() is some 1.7e9).
  - name: two outputs, one never succeeded
    interval: 1h
    input_series:
      - series: 'LAST_SUCCESS{instance="db1:9100",job="node",output="/srv/firds.txt"}'
        values: "0+0x30"
      - series: 'LAST_SUCCESS{instance="db1:9100",job="node",output="/srv/gleif.txt"}'
        values: "0+3600x30"
    alert_rule_test:
      - eval_time: 27h
        alertname: IsintoolNoSuccess
        exp_alerts:
          - exp_labels:
              severity: critical
              reason: stale
              instance: db1:9100
              job: node
              output: /srv/firds.txt
            exp_annotations:
              summary: "No successful ISIN fetch into /srv/firds.txt for over 26 hours"
              description: >-
                The last success of /srv/firds.txt on db1:9100 ended 1d 3h 0m 0s ago.

  # No isintool metric at all: the absent rule fires at once; scraped again, it clears.
  - name: no metrics yet
    interval: 1h
    input_series:
      - series: 'up{instance="db1:9100",job="node"}'
        values: "1+0x30"
      - series: 'LAST_SUCCESS{instance="db1:9100",job="node",output="/l.txt"}'
        values: "_x4 18000+0x26"
    alert_rule_test:
      - eval_time: 1h
        alertname: IsintoolNoSuccess
        exp_alerts: &absent  # the same alert below
          - exp_labels:
              severity: critical
              reason: absent
            exp_annotations:
              summary: "No isintool metrics for 26 hours"
              description: >-
                No isintool_fetch_last_success_timestamp_seconds sample in 26 hours: check that
                the job runs with --metrics or --metrics-push, and that Prometheus scrapes where
                it writes.
      - eval_time: 6h
        alertname: IsintoolNoSuccess

  # The metrics file goes away after the run at 1h (or node_exporter stops reading it): the
  # series goes stale after five minutes, and the absent rule fires once 26 hours have passed
  # without a sample. In between, `up` of the scrape is what tells.
  - name: metrics gone
    interval: 1h
    input_series:
      - series: 'LAST_SUCCESS{instance="db1:9100",job="node",output="/l.txt"}'
        values: "_ 3600"
    alert_rule_test:
      - eval_time: 26h
        alertname: IsintoolNoSuccess
      - eval_time: 27h1m
        alertname: IsintoolNoSuccess
        exp_alerts: *absent
""".replace("LAST_SUCCESS", "isintool_fetch_last_success_timestamp_seconds")


# FIRDS files and registers, built from the real excerpt's records

EXCERPT = REAL / "firds_DLTINS_20210117_01of01_first400records.xml"
WHOLE = REAL / "firds_DLTINS_20210117_01of01.zip"
DLTINS_NS = "urn:iso:std:iso:20022:tech:xsd:auth.036.001.02"
FULINS_NS = "urn:iso:std:iso:20022:tech:xsd:auth.017.001.02"


# A record as the real excerpt writes one, for a clone without ../shared.
FALLBACK_RECORD = (
    "<FinInstrm><ModfdRcrd><FinInstrmGnlAttrbts><Id>DE000A1R07V3</Id><FullNm>Kreditanst.f.Wiederaufbau"
    "     Anl.v.2014 (2021)</FullNm><ShrtNm>KFW/1.625 ANL 20210115 GGAR</ShrtNm><ClssfctnTp>DBFTFB"
    "</ClssfctnTp><NtnlCcy>EUR</NtnlCcy><CmmdtyDerivInd>false</CmmdtyDerivInd></FinInstrmGnlAttrbts>"
    "<Issr>549300GDPG70E3MBBU98</Issr><TradgVnRltdAttrbts><Id>XEUB</Id><IssrReq>false</IssrReq>"
    "<FrstTradDt>2014-01-14T09:00:00Z</FrstTradDt><TermntnDt>2017-12-15T00:00:00Z</TermntnDt>"
    '</TradgVnRltdAttrbts><DebtInstrmAttrbts><TtlIssdNmnlAmt Ccy="EUR">5000000000</TtlIssdNmnlAmt>'
    '<MtrtyDt>2021-01-15</MtrtyDt><NmnlValPerUnit Ccy="EUR">1000</NmnlValPerUnit><IntrstRate><Fxd>1.625'
    "</Fxd></IntrstRate></DebtInstrmAttrbts><TechAttrbts><RlvntCmptntAuthrty>DE</RlvntCmptntAuthrty>"
    "<PblctnPrd><FrDt>2021-01-17</FrDt></PblctnPrd><RlvntTradgVn>MANL</RlvntTradgVn></TechAttrbts>"
    "</ModfdRcrd></FinInstrm>"
)


def _templates() -> list[str]:
    """The bodies of the excerpt's records (inside <TermntdRcrd>/<ModfdRcrd>), or the fallback's."""
    text = EXCERPT.read_text() if EXCERPT.exists() else FALLBACK_RECORD
    return re.findall(
        r"<FinInstrm><(?:TermntdRcrd|ModfdRcrd)>(.*?)</(?:TermntdRcrd|ModfdRcrd)></FinInstrm>", text
    )


TEMPLATES = _templates()
_VENUE_BLOCK = re.compile(r"<TradgVnRltdAttrbts>.*?</TradgVnRltdAttrbts>")


def firds_record(kind: str, isin: str, mic: str, ends: str | None = None, n: int = 0) -> str:
    """A record of `kind` built from the n-th real one: this ISIN, this venue, this TermntnDt
    (a date, or None for none); a full set's is <RefData>, a delta's <FinInstrm><kind>."""
    body = TEMPLATES[n % len(TEMPLATES)]
    body = re.sub(r"(<FinInstrmGnlAttrbts><Id>)[^<]*", lambda m: m[1] + isin, body, count=1)
    venue = _VENUE_BLOCK.search(body)[0]
    new_venue = re.sub(r"(<TradgVnRltdAttrbts><Id>)[^<]*", lambda m: m[1] + mic, venue, count=1)
    new_venue = re.sub(r"<TermntnDt>[^<]*</TermntnDt>", "", new_venue)
    if ends:
        new_venue = new_venue.replace(
            "</TradgVnRltdAttrbts>", f"<TermntnDt>{ends}T23:59:59Z</TermntnDt></TradgVnRltdAttrbts>"
        )
    body = body.replace(venue, new_venue)
    return (
        f"<RefData>{body}</RefData>"
        if kind == isintool._FULL
        else f"<FinInstrm><{kind}>{body}</{kind}></FinInstrm>"
    )


def firds_document(records: list[str], name: str, date: str) -> bytes:
    """A FIRDS file as ESMA writes it (one line after the declaration), named e.g. DLTINS_20210117_01of01."""
    delta = name.startswith("DLTINS")
    ns, report = (
        (DLTINS_NS, "FinInstrmRptgRefDataDltaRpt") if delta else (FULINS_NS, "FinInstrmRptgRefDataRpt")
    )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<BizData xmlns="urn:iso:std:iso:20022:tech:xsd:head.003.001.01">'
        '<Hdr><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.01">'
        "<Fr><OrgId><Id><OrgId><Othr><Id>EU"
        f"</Id></Othr></OrgId></Id></OrgId></Fr><BizMsgIdr>{name}</BizMsgIdr></AppHdr></Hdr><Pyld>"
        f'<Document xmlns="{ns}"><{report}><RptHdr><RptgNtty><NtlCmptntAuthrty>EU</NtlCmptntAuthrty>'
        f"</RptgNtty><RptgPrd><Dt>{date[:4]}-{date[4:6]}-{date[6:]}</Dt></RptgPrd></RptHdr>"
    )
    return (head + "".join(records) + f"</{report}></Document></Pyld></BizData>").encode()


def firds_zip(data: bytes, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.replace(".zip", ".xml"), data)
    return buffer.getvalue()


def numbered_isins(prefix: str, count: int, start: int = 0) -> list[str]:
    """Valid ISINs (python-stdnum's check digits)."""
    return [
        f"{prefix}{n:09d}" + stdnum_isin.calc_check_digit(f"{prefix}{n:09d}")
        for n in range(start, start + count)
    ]


def tree_records(data: bytes) -> list[tuple[str, str, str, str | None]]:
    """(kind, ISIN, MIC, TermntnDt's date) for every venue of every record, by ElementTree."""
    out = []
    for _event, element in ElementTree.iterparse(io.BytesIO(data)):
        tag = element.tag.rsplit("}", 1)[-1]
        if tag not in isintool._KINDS:
            continue
        ns = element.tag[: element.tag.index("}") + 1]
        isin = element.find(f"{ns}FinInstrmGnlAttrbts/{ns}Id").text
        for venue in element.findall(f"{ns}TradgVnRltdAttrbts"):
            ends = venue.find(f"{ns}TermntnDt")
            out.append((tag, isin, venue.find(f"{ns}Id").text, ends.text[:10] if ends is not None else None))
        element.clear()
    return out


class FirdsOracle:
    """The issue's rules on a dict of pairs: a full set's pairs are active; a delta day's NewRcrd
    and ModfdRcrd make a pair active unless TermntnDt is before the day, TermntdRcrd and CancRcrd
    inactive; within a day an inactive record wins (see _block_pairs); later days win."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], bool] = {}

    def full(self, files: list[bytes]) -> None:
        self.pairs = {(isin, mic): True for data in files for _k, isin, mic, _e in tree_records(data)}

    def day(self, date: str, files: list[bytes]) -> None:
        day = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        today: dict[tuple[str, str], bool] = {}
        for data in files:
            for kind, isin, mic, ends in tree_records(data):
                active = kind in ("NewRcrd", "ModfdRcrd") and (ends is None or ends >= day)
                today[(isin, mic)] = today.get((isin, mic), True) and active
        self.pairs.update(today)

    def isins(self) -> list[str]:
        return sorted(
            {isin for (isin, _), active in self.pairs.items() if active and stdnum_isin.is_valid(isin)}
        )

    def state(self) -> bytes:
        keys = sorted(
            f"{isin}{mic}"
            for (isin, mic), active in self.pairs.items()
            if active and stdnum_isin.is_valid(isin)
        )
        return "".join(key + "\n" for key in keys).encode()


_REGISTERS = itertools.count()  # numbers the registers, whose paths must not meet


class FirdsRegister:
    """A register on 127.0.0.1: ESMA's Solr `select` (q=*, fq on publication_date and file_type,
    wt=json, start/rows) or the FCA's Elasticsearch (one Lucene q, from/size), and its files."""

    def __init__(self, server: HTTPServer, dialect: str = "esma") -> None:
        self.server, self.dialect = server, dialect
        self.docs: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.spoiled: dict[str, int] = {}  # a file's name: how many more times it is sent spoiled
        self.queries: list = []
        # Paths of this register's own: a module's server keeps every test's handlers, first first.
        self.root = f"/r{next(_REGISTERS)}"
        self.path = self.root + ("/solr/select" if dialect == "esma" else "/fca_data_firds_files")
        server.expect_request(self.path).respond_with_handler(self._select)
        server.expect_request(re.compile(self.root + r"/files/.*")).respond_with_handler(self._file)

    def publish(self, name: str, records: list[str], checksum: str | None = None) -> bytes:
        """Publish a FULINS or DLTINS zip of these records under its ESMA name."""
        date = re.search(r"_(\d{8})_", name)[1]
        data = firds_document(records, name.removesuffix(".zip"), date)
        self.files[name] = firds_zip(data, name)
        doc = {
            "download_link": self.server.url_for(f"{self.root}/files/{name}"),
            "publication_date": f"{date[:4]}-{date[4:6]}-{date[6:]}T00:00:00Z",
            "file_name": name,
            "file_type": name[:6],
        }
        if self.dialect == "esma":
            doc["checksum"] = checksum or hashlib.md5(self.files[name]).hexdigest()
        else:
            doc["publication_date"] = doc["publication_date"][:10]
            doc["last_refreshed"] = doc["publication_date"] + "T06:00:00"
        self.docs.append(doc)
        return data

    def _matching(self, file_type: str, first: str, last: str) -> list[dict]:
        return [
            d
            for d in self.docs
            if d["file_type"] == file_type and first <= d["publication_date"][:10] <= last
        ]

    def _select(self, request) -> Response:
        self.queries.append(request.args)
        args = request.args
        if self.dialect == "esma":
            assert args["q"] == "*" and args["wt"] == "json"
            fq = args.getlist("fq")
            dates = re.fullmatch(r"publication_date:\[(\S+)T00:00:00Z TO (\S+)T23:59:59Z\]", fq[0])
            file_type = re.fullmatch(r"file_type:(\w+)", fq[1])[1]
            docs = self._matching(file_type, dates[1], dates[2])
            start, rows = int(args.get("start", 0)), int(args.get("rows", 10))
            body = {
                "responseHeader": {"status": 0},
                "response": {"numFound": len(docs), "start": start, "docs": docs[start : start + rows]},
            }
        else:
            start, size = int(args.get("from", 0)), int(args.get("size", 10))
            if args["q"] == "*":  # Elasticsearch's match-all: what an ESMA-shaped probe gets
                docs = self.docs
            else:
                q = re.fullmatch(
                    r"\(\(file_type:(\w+)\) AND \(publication_date:\[(\S+) TO (\S+)\]\)\)", args["q"]
                )
                docs = self._matching(q[1], q[2], q[3])
            hits = [{"_index": "fca-firds", "_id": str(i), "_source": d} for i, d in enumerate(docs)]
            body = {"took": 1, "hits": {"total": len(docs), "hits": hits[start : start + size]}}
        return Response(json.dumps(body), content_type="application/json")

    def _file(self, request) -> Response:
        name = request.path.rsplit("/", 1)[1]
        if self.spoiled.get(name):
            self.spoiled[name] -= 1
            return Response(self.files[name][:-30] + bytes(30))  # its MD5 no longer matches
        return Response(self.files[name])

    @property
    def index(self) -> str:
        return self.server.url_for(self.path)

    def downloads(self) -> int:
        return sum(1 for request, _ in self.server.log if request.path.startswith(self.root + "/files/"))


def firds_get_json(url: str):
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


def firds_chunks_of(file: isintool._FirdsFile):
    """A file's bytes as they download, checked against the register's MD5 when it gives one."""
    digest = hashlib.md5()
    with requests.get(file.url, stream=True, timeout=10) as response:
        response.raise_for_status()
        for chunk in response.iter_content(64 * 1024):
            digest.update(chunk)
            yield chunk
    if file.md5 and digest.hexdigest() != file.md5:
        raise IsinToolError(f"{file.name} does not match its published MD5 checksum")


class FirdsNight(NamedTuple):
    result: isintool._NightResult
    record: dict
    changes: bytes
    listed: list[str]


def run_night(
    register: FirdsRegister, folder: Path, today: str, record=None, dialect=None, workers=1
) -> FirdsNight:
    """One night as fetch would run it, the list being the register's ISIN list."""
    paths = isintool._StatePaths(str(folder / "isins.txt.esma.pairs"), str(folder / "isins.txt"))
    changes = io.BytesIO()
    day = datetime.date(int(today[:4]), int(today[4:6]), int(today[6:]))
    result, new_record = isintool._firds_night(
        register.index,
        paths,
        record,
        firds_get_json,
        firds_chunks_of,
        day,
        dialect=dialect,
        changes=changes.write,
        workers=workers,
    )
    listed = Path(paths.isins).read_text().split() if os.path.exists(paths.isins) else []
    return FirdsNight(result, new_record, changes.getvalue(), listed)


def expected_changes(before: list[str], after: list[str]) -> bytes:
    lines = sorted(
        [(i, "+") for i in set(after) - set(before)] + [(i, "-") for i in set(before) - set(after)]
    )
    return "".join(sign + isin + "\n" for isin, sign in lines).encode()


SHARED = Path(__file__).resolve().parent.parent / "shared"
SUITE = SHARED / "data" / "jsontestsuite" / "test_parsing"  # nst/JSONTestSuite's documents
JQ = shutil.which("jq")
needs_jq = pytest.mark.skipif(JQ is None, reason="jq (Debian: jq) is the oracle")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real is absent (a bare clone)")
needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason="../shared/data/jsontestsuite is absent")


def written(data: bytes, path: str, size: int = 1 << 20) -> list[bytes]:
    """What path_ids yields for `data` read in chunks of `size`, as written."""
    return [v for batch in path_ids(chunked(data, size), parse_path(path)) for v in batch]


def read_back(values: list[bytes]) -> list[tuple[str, str]]:
    """Printed values as ("int", digits) or ("str", the string decoded)."""
    return [("str", json.loads(v)) if v.startswith(b'"') else ("int", v.decode()) for v in values]


@contextlib.contextmanager
def small_windows(window: int = 40) -> Iterator[None]:
    """Tiny windows, so that a few hundred bytes are read token by token, held, flushed and batched as
    megabytes are at the real sizes (with 4, nearly every object is read token by token)."""
    saved = isintool.PATH_WINDOW, isintool.PATH_BATCH, isintool._PATH_NO_TRY
    isintool.PATH_WINDOW, isintool.PATH_BATCH, isintool._PATH_NO_TRY = (
        window,
        max(window // 2, 3),
        max(window // 5, 1),
    )
    try:
        yield
    finally:
        isintool.PATH_WINDOW, isintool.PATH_BATCH, isintool._PATH_NO_TRY = saved


WINDOWS = (contextlib.nullcontext, small_windows, lambda: small_windows(4))


def every_way(
    data: bytes, path: str, sizes: tuple[int, ...] = (1, 3, 17, 1 << 20), windows: tuple[Any, ...] = WINDOWS
) -> list[bytes]:
    """path_ids' answer, the same whatever the chunks and windows (asserted); then that answer."""
    answers = set()
    for window in windows:
        with window():
            answers.update(tuple(written(data, path, size)) for size in sizes)
    assert len(answers) == 1, answers
    return list(answers.pop())


class _Int(str):
    """An integer as Python's json read it: its digits."""


def python_values(data: bytes) -> list[Any]:
    """The JSON values of a stream of them, integers as _Int (their digits), as jq reads a stream."""
    decoder = json.JSONDecoder(parse_int=_Int)
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    values, pos = [], 0
    while (pos := len(text) - len(text[pos:].lstrip(" \t\n\r"))) < len(text):
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)
    return values


def jq_program(path: str, tolerant: bool = True) -> str:
    """PATH in jq, each step with `?` if `tolerant`: where jq would stop with an error (`.id` of an
    array, `.[]` of null), nothing is yielded there, as extract does."""
    mark = "?" if tolerant else ""
    parts = []
    for step in parse_path(path):
        if step is EACH:
            parts.append(f"[]{mark}")
        elif isinstance(step, int):
            parts.append(f"[{step}]{mark}")
        else:
            parts.append(f"[{json.dumps(step)}]{mark}")
    return "." + "".join(parts) if parts else "."


def jq_oracle(data: bytes, path: str) -> list[tuple[str, str]]:
    """The integers and strings jq's PATH yields from each value of the stream: jq names them by
    their paths, Python's parse of the same text gives their values exactly."""
    done = subprocess.run(
        [JQ, "-c", f"[path({jq_program(path)})]"], input=data, capture_output=True, check=True, timeout=60
    )
    found = []
    for value, paths in zip(python_values(data), done.stdout.splitlines(), strict=True):
        for steps in json.loads(paths):
            v = value
            for step in steps:
                v = (
                    v.get(step)
                    if isinstance(v, dict)
                    else v[step]
                    if isinstance(v, list) and step < len(v)
                    else None
                )
            if isinstance(v, _Int):
                found.append(("int", str(v)))
            elif isinstance(v, str):
                found.append(("str", v))
    return found


def reference(data: bytes, path: str) -> list[tuple[str, str]]:
    """The same as jq_oracle, in Python (for text jq 1.6 refuses: lone surrogate escapes)."""
    found = []
    for value in python_values(data):
        values = [value]
        for step in parse_path(path):
            nxt: list[Any] = []
            for v in values:
                if step is EACH and isinstance(v, (dict, list)):
                    nxt.extend(v.values() if isinstance(v, dict) else v)
                elif (isinstance(step, str) and isinstance(v, dict) and step in v) or (
                    isinstance(step, int) and isinstance(v, list) and step < len(v)
                ):
                    nxt.append(v[step])
            values = nxt
        found += [
            ("int", str(v)) if isinstance(v, _Int) else ("str", v) for v in values if isinstance(v, str)
        ]
    return found


def jq_yields(data: bytes, path: str) -> list[tuple[str, str]]:
    """`jq -c PATH` itself, its integers and strings (the real payloads' integers are below 2^53)."""
    done = subprocess.run([JQ, "-c", path], input=data, capture_output=True, check=True, timeout=60)
    values = [json.loads(line) for line in done.stdout.splitlines()]
    return [("str", v) if isinstance(v, str) else ("int", str(v)) for v in values if type(v) in (int, str)]


# --- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def runner():
    return CliRunner()


class _ProxyAsksForCredentials(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline()  # CONNECT host:443 HTTP/1.1
        self.wfile.write(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=p\r\n"
        )
        self.wfile.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")


class _RawHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        headers = {}
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.server.requests.append(headers)
        answer = self.server.answers[min(len(self.server.requests), len(self.server.answers)) - 1]
        with contextlib.suppress(OSError):  # the client may hang up first: that is the point
            answer(headers, self.wfile)


class RawServer(socketserver.ThreadingTCPServer):
    """A TCP server on 127.0.0.1 for what pytest-httpserver cannot send: a status line a byte at a
    time, a body that breaks off. The n-th connection is answered by answers[n](request, wfile);
    each request's headers are kept, names in lower case, in `requests`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *answers):
        super().__init__(("127.0.0.1", 0), _RawHandler)
        self.answers = list(answers)
        self.requests: list[dict[str, str]] = []

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/list"


@pytest.fixture(scope="module")
def tls_ca():
    return trustme.CA()


@pytest.fixture
def tls_server(tls_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    https = HTTPServer(host="127.0.0.1", ssl_context=context, threaded=True)
    https.start()
    yield https
    https.stop()


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1, threaded so that a slow answer does not hold up others."""
    http = HTTPServer(host="127.0.0.1", threaded=True)
    http.start()
    yield http
    http.clear()
    if http.is_running():
        http.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(isintool, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def out(tmp_path):
    """The output path, holding an earlier list that no failure may touch."""
    path = tmp_path / "isins.txt"
    path.write_bytes(OLD_LIST)
    return path


def fetch(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["fetch", *args], env=env)


def assert_refused(result, out, message: str) -> None:
    """Exit 1, one line on stderr naming the problem, the old list byte for byte, no leftovers."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert out.read_bytes() == OLD_LIST
    assert sorted(os.listdir(out.parent)) == ["isins.txt", "isins.txt.lock"]


@contextlib.contextmanager
def lock_held_elsewhere(out: Path, seconds: float) -> Iterator[None]:
    """Another holder (a thread) has the output's lock for `seconds`, or until the block ends."""
    held, release = threading.Event(), threading.Event()

    def holder():
        with isintool._output_lock(str(out)):
            held.set()
            release.wait(seconds)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(5)
        yield
    finally:
        release.set()
        thread.join()


@pytest.fixture
def pools(monkeypatch):
    """The worker pools started while the test runs (a list that grows with each)."""
    started: list[int] = []
    start = isintool._Workers._start

    def counted(workers) -> None:
        started.append(workers.workers)
        start(workers)

    monkeypatch.setattr(isintool._Workers, "_start", counted)
    return started


@pytest.fixture
def sticky():
    """A folder like /tmp: sticky and world-writable, where another user may plant links."""
    folder = Path(tempfile.mkdtemp(prefix="isintool-sticky-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder)


def as_nobody(*command: str) -> None:
    """Run a command as the unprivileged user nobody."""
    setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    subprocess.run([*setpriv, *command], check=True)


@contextlib.contextmanager
def _daemon(argv, ready: str, log: Path):
    """Run a server on a free loopback port until it answers `ready`; its URL; then stop it."""
    for _ in range(3):  # another process may take the port between the probe and the start
        address = f"127.0.0.1:{_free_port()}"
        with log.open("ab") as sink:
            process = subprocess.Popen(argv(address), stdout=sink, stderr=sink)
        try:
            give_up = time.monotonic() + 15
            while process.poll() is None and time.monotonic() < give_up:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://{address}{ready}", timeout=1).ok:
                        yield f"http://{address}"
                        return
                time.sleep(0.05)
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    pytest.fail(f"{argv('ADDRESS')[0]} did not start: {log.read_text()[-2000:]}")


@pytest.fixture
def node_exporter(tmp_path):
    """Debian's node_exporter on a loopback port, with only its textfile collector, reading a
    folder of the test's: (its URL, the folder)."""
    if not shutil.which("prometheus-node-exporter"):
        pytest.skip("node_exporter is not installed (apt-get install prometheus-node-exporter)")
    folder = tmp_path / "textfile"
    folder.mkdir()
    argv = lambda address: [  # noqa: E731
        "prometheus-node-exporter",
        f"--web.listen-address={address}",
        "--collector.disable-defaults",
        "--collector.textfile",
        f"--collector.textfile.directory={folder}",
    ]
    with _daemon(argv, "/metrics", tmp_path / "node_exporter.log") as url:
        yield url, folder


@pytest.fixture
def pushgateway(tmp_path):
    """Debian's Pushgateway on a loopback port, keeping its metrics in memory only (Debian's build
    defaults --persistence.file to the host's /var/lib/prometheus/pushgateway.data)."""
    if not shutil.which("prometheus-pushgateway"):
        pytest.skip("the Pushgateway is not installed (apt-get install prometheus-pushgateway)")
    argv = lambda address: [  # noqa: E731
        "prometheus-pushgateway",
        f"--web.listen-address={address}",
        "--persistence.file=",
    ]
    with _daemon(argv, "/-/ready", tmp_path / "pushgateway.log") as url:
        assert requests.get(url + "/api/v1/metrics", timeout=5).json()["data"] == []  # no one's groups
        yield url


@pytest.fixture
def esma(httpserver, monkeypatch):
    monkeypatch.setattr(isintool, "FIRDS_PAGE_ROWS", 2)  # several pages for a few files
    return FirdsRegister(httpserver, "esma")


@pytest.fixture
def fca(httpserver, monkeypatch):
    monkeypatch.setattr(isintool, "FIRDS_PAGE_ROWS", 2)
    return FirdsRegister(httpserver, "fca")


# --- Records --------------------------------------------------------------------------------------


class RecordCase(isintool._Record):
    name: str
    count: int
    notes: tuple[str, ...] = ()
    size: int | None = None


class TupleCase(NamedTuple):  # the oracle: what a record does, a NamedTuple does
    name: str
    count: int
    notes: tuple[str, ...] = ()
    size: int | None = None


def _made(cls: type, values: tuple, named: dict) -> Any:
    try:
        return cls(*values, **named)
    except TypeError:
        return TypeError


@given(
    values=st.lists(st.one_of(st.text(max_size=3), st.integers(), st.none()), max_size=5).map(tuple),
    named=st.dictionaries(st.sampled_from([*TupleCase._fields, "other"]), st.integers(), max_size=3),
    changes=st.dictionaries(st.sampled_from(TupleCase._fields), st.integers(), max_size=2),
)
def test_a_record_behaves_as_the_namedtuple_of_its_fields(values, named, changes):
    record, expected = _made(RecordCase, values, named), _made(TupleCase, values, named)
    if expected is TypeError:  # too many values, a field twice or unknown, one missing
        assert record is TypeError
        return
    assert RecordCase._fields == TupleCase._fields
    assert tuple(record) == tuple(expected)
    assert record._asdict() == expected._asdict()
    assert repr(record) == repr(expected).replace("TupleCase", "RecordCase")
    assert tuple(record._replace(**changes)) == tuple(expected._replace(**changes))
    assert record == RecordCase(*expected) and record != RecordCase(*expected._replace(count="other"))
    assert record != tuple(expected)  # a record is not a tuple: equal to records of its class only
    with contextlib.suppress(TypeError):  # hashable where its values are
        assert hash(record) == hash(RecordCase(*expected))
    assert pickle.loads(pickle.dumps(record)) == record  # as a worker process gets it
    with pytest.raises(AttributeError, match="_replace makes a changed copy"):
        record.count = 1
    with pytest.raises(AttributeError, match="_replace makes a changed copy"):
        del record.count


# --- Errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "ISIN", "1 ISIN"),
        (2, "ISIN", "2 ISINs"),
        (1657, "ISIN", "1,657 ISINs"),
        (0, "duplicate", "0 duplicates"),
        (1.0, "second", "1 second"),
        (2.5, "second", "2.5 seconds"),
        (0.2, "second", "0.2 seconds"),
    ],
)
def test_plural_counts_as_messages_write_them(count, noun, expected):
    assert isintool._plural(count, noun) == expected


# --- ISIN validation, and the list's records ------------------------------------------------------


@pytest.mark.parametrize("isin", VALID_ISINS)
def test_published_valid_isins(isin):
    assert isintool.is_valid_isin(isin)


@pytest.mark.parametrize("isin", INVALID_ISINS)
def test_published_invalid_isins(isin):
    assert not isintool.is_valid_isin(isin)


def test_shared_vectors_agree_when_present():
    """The copy above matches ../shared/data/isin-vectors.csv, where a checkout has it."""
    path = Path(__file__).parent.parent / "shared" / "data" / "isin-vectors.csv"
    if not path.exists():
        pytest.skip("no ../shared beside this checkout")
    rows = list(csv.DictReader(path.open()))
    assert {r["isin"] for r in rows if r["valid"] == "1"} == set(VALID_ISINS)
    assert {r["isin"] for r in rows if r["valid"] == "0"} <= set(INVALID_ISINS)


def _stdnum_ok(isin: str) -> bool:
    return stdnum_isin.calc_check_digit(isin[:11]) == isin[11]


def lines_of(isins: list[str]) -> bytes:
    """ISINs as the 13-byte lines that _isin_mask reads."""
    return "".join(i + "\n" for i in isins).encode("latin-1")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"\A[A-Z]{2}[A-Z0-9]{9}[0-9]\Z"), min_size=1, max_size=50))
def test_batch_check_digits_agree_with_python_stdnum(isins):
    mask = isintool._isin_mask(lines_of(isins))
    assert list(mask) == [_stdnum_ok(i) for i in isins]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="AZaz09 \t\r\xe9\x00", min_size=12, max_size=12), max_size=20))
def test_isin_mask_checks_the_shape_of_each_line(candidates):
    mask = isintool._isin_mask(lines_of(candidates))
    assert list(mask) == [isintool._ISIN_LINE.fullmatch(c) is not None and _stdnum_ok(c) for c in candidates]


def test_batch_check_digits_on_many_random_isins():
    """100,000 random ISINs, a tenth of them valid by construction, against python-stdnum."""
    rng = random.Random(6166)
    alphabet = string.ascii_uppercase + string.digits
    isins = []
    for _ in range(100_000):
        body = "".join(rng.choices(string.ascii_uppercase, k=2) + rng.choices(alphabet, k=9))
        digit = stdnum_isin.calc_check_digit(body) if rng.random() < 0.1 else rng.choice(string.digits)
        isins.append(body + digit)
    mask = isintool._isin_mask(lines_of(isins))
    assert list(mask) == [_stdnum_ok(i) for i in isins]
    assert sum(mask) > 10_000


# --- Chunks and worker processes ------------------------------------------------------------------


def _exit_in_worker(item: int) -> int:
    if item == 3:
        os._exit(1)  # as the OOM killer would end it
    return item


def test_parallel_map_keeps_order_and_reports_a_dead_worker():
    assert list(isintool._parallel_map(abs, range(-50, 0), 2)) == list(range(50, 0, -1))
    with pytest.raises(isintool.IsinToolError, match="a worker process died"):
        list(isintool._parallel_map(_exit_in_worker, range(10), 2))


def _echo(item: tuple[bytes, int]) -> tuple[bytes, int]:
    return item


def test_workers_hand_bytes_over_through_slots_or_the_pipe():
    """An item's bytes that fit a slot go through shared memory, larger ones down the pipe: every
    item arrives whole, in order, with slots reused as the items go by."""
    items = [(bytes([n]) * size, n) for n, size in enumerate([10, 5000, 0, 4096, 4097, 3] * 5)]
    with isintool._Workers(2, slot_size=4096) as pool:
        assert list(pool.map(_echo, items, here_first=1)) == items
        assert pool._slots is not None and pool._slots.count < len(items)


def test_workers_start_only_for_big_work():
    """The pool starts once more items come than `here_first`; small work stays in this process."""
    with isintool._Workers(2) as pool:
        assert list(pool.map(abs, range(-4, 0), here_first=4)) == [4, 3, 2, 1]
        assert pool._pool is None
        assert list(pool.map(abs, range(-6, 0), here_first=4)) == [6, 5, 4, 3, 2, 1]
        assert pool._pool is not None


# --- JSON text and extract ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(ORDERS, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653], id="issue"),
        pytest.param(json.dumps(json.loads(ORDERS), indent=2).encode(), None, id="pretty-printed"),
        pytest.param(b'{"id" : 5, "id"\t:\n\t6, "id":\r\n7}', [5, 6, 7], id="whitespace-around-colon"),
        pytest.param(b'[{"id":1},{"note":"say \\"id\\":99 here"},{"id":2}]', [1, 2], id="escaped-in-string"),
        pytest.param(b'[{"orderid":1},{"id_x":2},{"xid":3},{"id":4}]', [4], id="other-keys-with-id-inside"),
        pytest.param(
            b'[{"id":"7"},{"id":null},{"id":-1},{"id":1.5},{"id":-2E3},{"id":true},{"id":[9]},{"id":8}]',
            ["7", -1, 8],
            id="integers-and-strings-only",
        ),
        pytest.param(b'[{"my\\"id": 3}, {"x": "a,\\"id\\":5"}, {"id": 4}]', [4], id="only-real-keys"),
        pytest.param(
            b'[{"id":"ord_1, {x}[y]"},{"id":"a\\\\"},{"id":"\\"q\\" \\u00e9"}]',
            ["ord_1, {x}[y]", "a\\", '"q" \u00e9'],
            id="strings-with-stop-bytes-and-escapes",
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


def _parsed_ids(value: object, key: str = "id") -> Iterator[int | str]:
    """Depth first, in document order: every integer or string value of `key`, as json.loads has it."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, (int, str)) and not isinstance(v, bool):
                yield v
            yield from _parsed_ids(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _parsed_ids(v, key)


@settings(max_examples=300, deadline=None)
@given(
    document=_JSON_VALUES,
    style=_DUMP_STYLES,
    ensure_ascii=st.booleans(),
    chunk_size=st.integers(min_value=1, max_value=40),
)
def test_extract_reads_what_a_json_parser_reads(document, style, ensure_ascii, chunk_size):
    text = json.dumps(document, ensure_ascii=ensure_ascii, **style).encode()
    expected = list(_parsed_ids(json.loads(text)))
    for size in (chunk_size, 1 << 20):
        listed = b"".join(format_ids(extract_ids([text[i : i + size] for i in range(0, len(text), size)])))
        assert json.loads(listed) == expected, size
    lines = b"".join(format_ids(extract_ids([text]), lines=True))
    assert lines == b"".join(str(v).encode() + b"\n" for v in expected)


@pytest.mark.parametrize("lines", [False, True], ids=["list", "lines"])
def test_extract_file_in_parallel_reads_what_a_json_parser_reads(tmp_path, monkeypatch, lines):
    rng = random.Random(11)
    orders = []
    for n in range(4000):
        order = {"note": rng.choice(['"id": 1,', "{[,]}", "x\\y", "é"]), "id": rng.choice([n, -n, f"o,{n}"])}
        orders.append({'my"id': n, "ids": [n], **order} if n % 3 else order)
    document = {"orders": orders}
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(document, indent=rng.choice([None, 1]), ensure_ascii=False))
    monkeypatch.setattr(isintool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(isintool, "SEGMENT_BYTES", 997)
    monkeypatch.setattr(isintool, "_available_cores", lambda: 2)
    out = b"".join(isintool.extract_file(str(path), lines=lines))
    expected = list(_parsed_ids(document))
    if lines:
        assert out.decode().splitlines() == [str(v) for v in expected]
    else:
        assert json.loads(out) == expected


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


@pytest.mark.parametrize("key", ["id", "code"])
def test_extract_file_cuts_never_before_a_value_that_reads_as_a_key(tmp_path, monkeypatch, key):
    """Values equal to the key, or to another key, sit where a careless cut would fall; the
    parallel path must print what one core prints, and what a JSON parser reads."""
    rng = random.Random(17)
    orders = []
    for n in range(3000):
        blank = rng.choice(["", " ", "\n\t"])
        orders.append(
            f'{{"id":{blank}"id","code":"code","n":{n}}}' if n % 2 else f'{{"code"{blank}:{n},"id": {n}}}'
        )
    text = ("[" + ",".join(orders) + "]").encode()
    path = tmp_path / "orders.json"
    path.write_bytes(text)
    with open(path, "rb") as stream:
        serial = b"".join(isintool.extract_stream(stream, key))
    monkeypatch.setattr(isintool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(isintool, "SEGMENT_BYTES", 101)
    monkeypatch.setattr(isintool, "_available_cores", lambda: 2)
    segments = []
    parallel_map = isintool._parallel_map
    monkeypatch.setattr(
        isintool, "_parallel_map", lambda f, jobs, n: parallel_map(f, segments.extend(jobs) or segments, n)
    )
    parallel = b"".join(isintool.extract_file(str(path), key))
    assert len(segments) > 100  # the parallel path took the file
    assert parallel == serial
    assert json.loads(parallel) == list(_parsed_ids(json.loads(text), key))


def test_cut_points_fall_just_before_a_real_key(tmp_path):
    data = b'{"id":1234567,"n":"\\"id\\""},' * 50 + b"x" * 500  # a tail without keys takes no cut
    path = tmp_path / "f"
    path.write_bytes(data)
    with open(path, "rb") as stream:
        points = isintool._cut_points(stream, len(data), 40, "id")
    assert points[0] == 0 and points[-1] == len(data)
    assert points == sorted(set(points))
    assert all(data[p - 1 : p + 4] == b'{"id"' for p in points[1:-1])
    assert len(points) > 10


@pytest.mark.parametrize("gap", [0, 1, 65_530, 70_000])
@pytest.mark.parametrize("before_end", [1, 3, 4, 5])
def test_next_member_sees_a_colon_beyond_the_read_window(tmp_path, gap, before_end):
    """A key at the end of one 64 KiB read, its blanks and colon in the next: still a cut; a
    value "id" with no colon after it: never."""
    head = b'[{"x":"id"' + b" " * 65_540 + b"},{"
    data = head + b'"id"' + b" " * gap + b':1}, "id"]'
    path = tmp_path / "f"
    path.write_bytes(data)
    start = len(head) + before_end - 64 * 1024 + 1  # the read ends `before_end` bytes into the key
    member = re.compile(isintool._key_regex("id", b""))
    with open(path, "rb") as stream:
        assert isintool._next_member(stream, start, member, b'"id"') == len(head)
        assert isintool._next_member(stream, len(head) + 1, member, b'"id"') is None


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


def test_format_ids_lines_decode_strings():
    batches = [[b'"a\\"b"', b"-7", b'"\\u00e9\\n"', b'"\\ud800"']]
    assert b"".join(format_ids(batches, lines=True)) == b'a"b\n-7\n\xc3\xa9\n\n\\ud800\n'


def test_format_ids_list_is_json_and_python():
    out = b"".join(format_ids(extract_ids([ORDERS])))
    assert json.loads(out) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653]


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


def written_ids(data: bytes, key: str = "id", size: int = 1 << 20) -> list[bytes]:
    return [v for batch in extract_ids(chunked(data, size), key) for v in batch]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b'[{"id": 007},{"id":7}]', [b"7"], id="007"),
        pytest.param(b'[{"id":01},{"id":-01},{"id":-0},{"id":0}]', [b"-0", b"0"], id="leading-zero"),
        pytest.param(
            b'[{"id":-},{"id":1.},{"id":.5},{"id":1.5},{"id":1e3},{"id":1E+3}]', [], id="not-integers"
        ),
        pytest.param(b'[{"id":0x1},{"id":12abc},{"id":5 }]', [b"5"], id="followed-by-junk"),
        pytest.param(
            b'[{"id":"a\tb"},{"id":"a\\x"},{"id":"\\u12"},{"id":"ok"}]', [b'"ok"'], id="bad-strings"
        ),
        pytest.param(
            b'[{"id":"\xff"},{"id":"\xc3\xa9"},{"id":"\xed\xa0\x80"}]', [b'"\xc3\xa9"'], id="utf8-only"
        ),
        pytest.param(b'[{"id":"\\ud800"},{"id":"\\"\\\\\\/\\b\\f\\n\\r\\t"}]', None, id="every-escape"),
        pytest.param(b'{"id":5', [], id="unclosed-at-the-end"),
        pytest.param(b'{"my\\"id":0,"x":"\\"id\\":1"}', [], id="escaped-keys"),
    ],
)
def test_extract_ids_prints_only_json(data, expected):
    """`{"id": 007}` gave `[007]`, which no parser reads: a value JSON does not allow is skipped."""
    if expected is None:
        expected = [v.encode() for v in re.findall(r'"id":("(?:[^"\\]|\\.)*")', data.decode())]
    for size in range(1, len(data) + 1):
        assert written_ids(data, size=size) == expected, size
    listed = b"[" + b", ".join(expected) + b"]"
    assert json.loads(listed) is not None


@pytest.mark.parametrize("key", ["id", "a,b", 'q"t', "{[,]}", "é"])
def test_extract_ids_unusual_keys_at_every_chunk_size(key):
    quoted = json.dumps(key, ensure_ascii=False).encode()
    data = b'[{%s:1},{"x":{%s : "v,\\"%s"}},{%s\n:\n-3}]' % (quoted, quoted, quoted[1:-1], quoted)
    for size in range(1, len(data) + 1):
        assert written_ids(data, key, size) == [b"1", b'"v,\\"' + quoted[1:-1] + b'"', b"-3"], size


# --- jq paths: the steps extract --path reads -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        pytest.param(".orders[].id", ("orders", EACH, "id"), id="orders"),
        pytest.param(".[].id", (EACH, "id"), id="top-level-array"),
        pytest.param(".data.orders[].order_id", ("data", "orders", EACH, "order_id"), id="nested"),
        pytest.param(".results[].legs[].id", ("results", EACH, "legs", EACH, "id"), id="legs"),
        pytest.param(".order.id", ("order", "id"), id="single-order"),
        pytest.param(".id", ("id",), id="id"),
        pytest.param('."a key"', ("a key",), id="quoted-key"),
        pytest.param('.["a key"]', ("a key",), id="bracketed-key"),
        pytest.param(".[0]", (0,), id="index"),
        pytest.param(".a[0]", ("a", 0), id="key-index"),
        pytest.param('.a[]."b"[2]["c"]', ("a", EACH, "b", 2, "c"), id="chained"),
        pytest.param(".", (), id="identity"),
        pytest.param(". .a", ("a",), id="identity-then-key"),
        pytest.param(".a .b", ("a", "b"), id="blank-between-keys"),
        pytest.param('."a" . "b"', ("a", "b"), id="blanks-around-dot"),
        pytest.param(' . "a" ', ("a",), id="blank-after-dot"),
        pytest.param(".[ 0 ]", (0,), id="blanks-in-brackets"),
        pytest.param(".[01]", (1,), id="leading-zero-index"),
        pytest.param('.["a\\tb\\u00e9\\"\\/"]', ('a\tb\u00e9"/',), id="json-escapes"),
        pytest.param('.["\\ud83d\\ude00"]', ("\U0001f600",), id="surrogate-pair"),
        pytest.param(".and.if.end.__loc__", ("and", "if", "end", "__loc__"), id="keywords-as-keys"),
        pytest.param(".e1x._e1", ("e1x", "_e1"), id="not-numbers"),
    ],
)
def test_parse_path_reads(text, steps):
    assert parse_path(text) == steps


@needs_jq
@pytest.mark.parametrize(
    "text", [".orders[].id", '."a" . "b"', ". .a", ".[ 0 ]", '.a[]."b"[2]["c"]', ".and.if.end", ".[01]", "."]
)
def test_jq_reads_those_paths_too(text):
    """jq compiles them (exit 3 is its compile error) and answers what we read."""
    data = b'{"a":[{"b":[0,0,{"c":1}]}],"and":{"if":{"end":2}},"orders":[{"id":3}],"x":[4,5]}'
    done = subprocess.run([JQ, "-c", text], input=data, capture_output=True, check=False)
    assert done.returncode in (0, 5), done.stderr  # 5: a runtime error, here `.[0]` of an object
    if done.returncode == 0 and text != ".":
        assert read_back(written(data, text)) == jq_yields(data, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "an empty path; `.` is the whole value", id="empty"),
        pytest.param("   ", "an empty path", id="blank"),
        pytest.param(".a | .b", "a pipe at column 4", id="pipe"),
        pytest.param(".a,.b", "a comma (several paths) at column 3", id="comma"),
        pytest.param("..", "recursive descent (..) at column 1", id="recurse"),
        pytest.param(".a..b", "recursive descent (..) at column 3", id="recurse-inside"),
        pytest.param(".[]?", "the ? operator", id="optional"),
        pytest.param(".a?", "the ? operator", id="optional-key"),
        pytest.param(".[1:2]", "a slice at column 4", id="slice"),
        pytest.param(".[:2]", "a slice", id="slice-from-start"),
        pytest.param(".[-1]", "cannot count from its end", id="negative-index"),
        pytest.param(".[1.5]", "an index is a whole number", id="fraction-index"),
        pytest.param(".[1e0]", "an index is a whole number", id="exponent-index"),
        pytest.param(".[3000000000]", "beyond index 2147483647", id="huge-index"),
        pytest.param(".[null]", "`null` (a function or keyword)", id="null-index"),
        pytest.param('.["a","b"]', "a comma (several paths)", id="two-keys"),
        pytest.param(
            "keys", "`keys` (a function or keyword) at column 1: a path starts with `.`", id="function"
        ),
        pytest.param(".a | length", "a pipe", id="pipe-to-function"),
        pytest.param("$__loc__", "a variable at column 1", id="variable"),
        pytest.param(".a#c", "a comment at column 3", id="comment"),
        pytest.param('"a"', "a path starts with `.`", id="string"),
        pytest.param('."\\(1)"', "string interpolation", id="interpolation"),
        pytest.param(".(a)", "parentheses", id="parentheses"),
        pytest.param(".a-b", "`-` at column 3", id="minus"),
        # What jq 1.6 refuses too (test_jq_refuses_what_we_refuse):
        pytest.param(".a.[0]", 'jq 1.6 reads only a "key" after `.` here', id="dot-bracket"),
        pytest.param('.a.["b"]', 'jq 1.6 reads only a "key" after `.` here', id="dot-bracket-key"),
        pytest.param(".a.", "the end of the path at column 4", id="trailing-dot"),
        pytest.param(". a", "`a` (a function or keyword) at column 3", id="dot-blank-name"),
        pytest.param(".e1", 'jq 1.6 reads .e1 as a number; write ."e1"', id="e1-is-a-number"),
        pytest.param(".a.E12", "jq 1.6 reads .E12 as a number", id="E12-is-a-number"),
        pytest.param(".[", "the end of the path at column 3", id="open-bracket"),
        pytest.param('.["a"', "expected `]`", id="unclosed-bracket"),
        pytest.param('."a', "not a complete string", id="unclosed-string"),
        pytest.param('.["\\x"]', "not a complete string", id="bad-escape"),
        pytest.param('.["\\ud800"]', "jq 1.6 refuses a lone surrogate escape", id="lone-surrogate"),
        pytest.param(".a]", "`]` at column 3", id="stray-bracket"),
    ],
)
def test_parse_path_refuses(text, message):
    with pytest.raises(PathError) as caught:
        parse_path(text)
    assert str(caught.value).startswith(f"--path {text!r}: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, isintool.OptionError)  # a usage error


@needs_jq
@pytest.mark.parametrize(
    "text",
    [
        ".a.[0]",
        '.a.["b"]',
        ".a.",
        ". a",
        ".e1",
        ".a.E12",
        ".[",
        '.["a"',
        '."a',
        '.["\\x"]',
        '.["\\ud800"]',
        ".a]",
    ],
)
def test_jq_refuses_what_we_refuse(text):
    done = subprocess.run([JQ, text], input=b"{}", capture_output=True, check=False)
    assert done.returncode == 3, done  # jq's exit status for a program it cannot compile


_STEPS = st.lists(
    st.one_of(
        st.just(EACH),
        st.integers(min_value=0, max_value=isintool.MAX_INDEX),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=6),
        st.sampled_from(["id", "e1", "E5", "and", "a b", 'q"t', "\\", "é", "_x", "1a", ""]),
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS)
def test_format_path_reads_back(steps):
    assert parse_path(isintool.format_path(tuple(steps))) == tuple(steps)


@needs_jq
@settings(max_examples=40, deadline=None)
@given(steps=_STEPS)
def test_jq_compiles_format_path(steps):
    done = subprocess.run(
        [JQ, isintool.format_path(tuple(steps))], input=b"null", capture_output=True, check=False
    )
    assert done.returncode in (0, 5), (isintool.format_path(tuple(steps)), done.stderr)


# --- Reading a path as the text streams -----------------------------------------------------------

# path_ids: the real payloads.


def _real_payloads() -> list[Any]:
    """(file, path) for each real payload, the path from its SOURCES.md (`.id` for the NDJSON, whose
    path selects lines; Kraken's, which reads object keys, is left out)."""
    if not REAL.is_dir():
        return [pytest.param(None, None, marks=needs_real, id="absent")]
    cases = {
        "orders_itbit_orders.json": ".[].id",
        "orders_lemon_markets_orders.json": ".results[].id",
        "orders_questrade_orders.json": ".orders[].id",
        "orders_robinhood_page-0.json": ".results[].id",
        "orders_shopify_orders.json": ".orders[].id",
    }
    for line in (REAL / "orders" / "SOURCES.md").read_text().splitlines():
        if line.startswith("| `") and "keys_unsorted" not in line:
            cells = [cell.strip().strip("`") for cell in line.split("|")]
            cases["orders/" + cells[1]] = ".id" if "select(" in cells[4] else cells[4]
    return [pytest.param(REAL / name, path, id=name) for name, path in sorted(cases.items())]


@needs_jq
@pytest.mark.parametrize(("payload", "path"), _real_payloads())
def test_real_payloads_give_what_jq_gives(payload, path):
    data = payload.read_bytes()
    sizes = (1, 7, 4096, 1 << 20) if len(data) < 20_000 else (7, 4096, 1 << 20)
    ours = every_way(data, path, sizes)
    assert read_back(ours) == jq_yields(data, path) == jq_oracle(data, path)
    assert ours, "each payload holds order IDs"
    for value in ours:  # as written, byte for byte
        assert value in data


@needs_real
def test_the_issue_shopify_payload():
    data = (REAL / "orders_shopify_orders.json").read_bytes()
    assert written(data, ".orders[].id") == [b"450789469"]
    assert [v for batch in extract_ids([data]) for v in batch] == [b"450789469", b"207119551", b"207119551"]


# path_ids: shapes written here.


_SHAPES = [
    pytest.param(
        b'{"orders":[{"id":1,"customer":{"id":2,"default_address":{"id":2}},"line_items":[{"id":3}]},'
        b'{"id":"o-2","customer":{"id":5}}]}',
        ".orders[].id",
        [b"1", b'"o-2"'],
        id="nested-objects-same-key",
    ),
    pytest.param(
        b'{"id":1,"items":[{"id":9}]}\n{"id":"two"}\n\n{"x":{"id":3}}\n{"id":4}\n',
        ".id",
        [b"1", b'"two"', b"4"],
        id="ndjson",
    ),
    pytest.param(
        b'{"id":1}{"id":2} {"id":3}[{"id":4}]', ".id", [b"1", b"2", b"3"], id="documents-one-after-another"
    ),
    pytest.param(b'[{"id":1,"c":{"id":7}},{"id":2},{"x":3}]', ".[].id", [b"1", b"2"], id="top-level-array"),
    pytest.param(b'{"order":{"id":6,"lines":[{"id":7}]}}', ".order.id", [b"6"], id="single-order"),
    pytest.param(
        b'{"a":{"id":1},"b":{"id":"x"},"c":[{"id":3}],"d":5}', ".[].id", [b"1", b'"x"'], id="each-object"
    ),
    pytest.param(b'{"a":{"id":1},"b":{"c":{"id":2}}}', ".[][].id", [b"2"], id="each-each"),
    pytest.param(
        b'{"orders":[{"x":1},{},{"id":null},{"id":2}]}', ".orders[].id", [b"2"], id="absent-members"
    ),
    pytest.param(
        b'{"o":[{"id":1},{"id":-0},{"id":"s"},{"id":1.5},{"id":1e3},{"id":-2E-3},{"id":true},'
        b'{"id":false},{"id":null},{"id":[1]},{"id":{"id":2}},{"id":12345678901234567890123}]}',
        ".o[].id",
        [b"1", b"-0", b'"s"', b"12345678901234567890123"],
        id="mixed-types",
    ),
    pytest.param(
        b'{"orders":[{"id":1},"x",7,null,[{"id":8}],{"id":2}],"n":null}',
        ".orders[].id",
        [b"1", b"2"],
        id="wrong-types",
    ),
    pytest.param(b'{"orders":null}', ".orders[].id", [], id="each-of-null"),
    pytest.param(b'{"orders":{"id":1}}', ".orders.id.x", [], id="key-of-a-number"),
    pytest.param(b'[5,[6,7],{"0":8}]', ".[1][0]", [b"6"], id="indices"),
    pytest.param(b"[5,6]", ".[7]", [], id="index-past-the-end"),
    pytest.param(b'1 "a" [2] {"b":3} -4 null', ".", [b"1", b'"a"', b"-4"], id="identity"),
    pytest.param(b'{"id":1,"id":2}', ".id", [b"2"], id="key-twice-last-wins"),
    pytest.param(
        b'{"id":"a\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00","n":"\xc3\xa9"}',
        ".id",
        [b'"a\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00"'],
        id="string-as-written",
    ),
    pytest.param(b'[{"id":"\xff\xfe"},{"id":"ok"}]', ".[].id", [b'"ok"'], id="string-not-utf8-skipped"),
    pytest.param(b'\xef\xbb\xbf{"id":5}', ".id", [b"5"], id="byte-order-mark"),
    pytest.param(b"", ".id", [], id="empty"),
    pytest.param(b" \n\t ", ".id", [], id="blanks"),
    pytest.param(b'{"orders":[]}', ".nothing[].id", [], id="matches-nothing"),
]


@pytest.mark.parametrize(("data", "path", "expected"), _SHAPES)
def test_path_ids_shapes(data, path, expected):
    assert every_way(data, path) == expected


@needs_jq
@pytest.mark.parametrize(("data", "path", "expected"), [p for p in _SHAPES if "not-utf8" not in p.id])
def test_path_ids_shapes_as_jq(data, path, expected):
    assert read_back(expected) == jq_oracle(data, path)


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        pytest.param(b'{"a":{"id":1},"a":{"id":2}}', ".a.id", [b"2"], id="container-twice-last-wins"),
        pytest.param(b'{"a":1,"b":2,"a":3}', ".[]", [b"3", b"2"], id="each-key-twice-first-place"),
        pytest.param(b'{"a":[{"b":{"id":1},"b":{"id":2}}]}', ".a[].b.id", [b"2"], id="inside-an-element"),
    ],
)
def test_a_key_twice_counts_once_the_last_time(data, path, expected):
    """As jq reads it, in any object up to the window (see the next test for a longer one)."""
    assert every_way(data, path, windows=(contextlib.nullcontext, small_windows)) == expected


def test_big_integers_are_kept_as_written():
    """jq 1.6 prints 2^53 + 1 as 9007199254740992; extract prints what Python's json reads with
    parse_int=str, digit for digit."""
    numbers = ["9007199254740993", "-123456789012345678901234567890", "1" * 5000, "-0", "0", "1e2", "2.0"]
    data = ('{"orders":[' + ",".join(f'{{"id":{n}}}' for n in numbers) + "]}").encode()
    expected = [o["id"] for o in json.loads(data, parse_int=str)["orders"] if isinstance(o["id"], str)]
    assert expected == numbers[:5]
    assert every_way(data, ".orders[].id") == [n.encode() for n in expected]


# path_ids: hypothesis.


_PATH_KEYS = st.sampled_from(["id", "orders", "customer", "a", "b", 'q"t', "é", ""])
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(['"id":5', "a,b]", "{[", "\\", "é€😀", "\u2028", "x\ny"]),
)
_DOCUMENTS = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_PATH_KEYS, inner, max_size=4),
    max_leaves=30,
)
_PATHS = st.lists(
    st.one_of(st.just("[]"), st.sampled_from([".id", ".orders", ".customer", ".a", ".b", "[0]", "[1]"]))
)


def _path_text(parts: list[str]) -> str:
    text = "".join(parts)
    return text if text.startswith(".") else "." + text


@needs_jq
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    documents=st.lists(_DOCUMENTS, min_size=1, max_size=3),
    parts=_PATHS,
    style=_DUMP_STYLES,
    ascii_only=st.booleans(),
)
def test_generated_documents_give_what_jq_gives(documents, parts, style, ascii_only):
    """Documents (one, or a stream of them) with integers of any size, strings that look like JSON,
    and keys that repeat at every level; paths over the same keys."""
    data = "\n".join(json.dumps(d, ensure_ascii=ascii_only, **style) for d in documents).encode()
    path = _path_text(parts)
    assert read_back(every_way(data, path, sizes=(1, 5, 1 << 20))) == jq_oracle(data, path)


@settings(max_examples=400, deadline=None)
@given(documents=st.lists(_DOCUMENTS, min_size=1, max_size=3), parts=_PATHS, size=st.integers(1, 50))
def test_generated_documents_give_what_python_reads(documents, parts, size):
    """The same in Python alone (faster: many more documents and chunk sizes)."""
    data = "\n".join(json.dumps(d) for d in documents).encode()
    path = _path_text(parts)
    for window in (40, 4):
        with small_windows(window):
            assert read_back(written(data, path, size)) == reference(data, path)
    assert read_back(written(data, path)) == reference(data, path)


# path_ids: nst/JSONTestSuite.


def _suite(prefix: str) -> list[Any]:
    if not SUITE.is_dir():
        return [pytest.param(None, marks=needs_suite, id="absent")]
    return [pytest.param(path, id=path.name) for path in sorted(SUITE.glob(f"{prefix}_*.json"))]


@pytest.mark.parametrize("document", _suite("y"))
def test_suite_documents_beside_and_inside_orders(document):
    """Each document a parser must accept, as a value beside the orders and inside each: the IDs
    alone come out, and the document itself as jq (or, where jq 1.6 refuses it, Python) reads it."""
    y = document.read_bytes()
    data = b'{"meta":%s,"orders":[{"id":1,"x":%s},{"x":%s,"id":"two"},{"id":3}],"tail":%s}' % (y, y, y, y)
    assert every_way(data, ".orders[].id", sizes=(1, 7, 1 << 20)) == [b"1", b'"two"', b"3"]
    expected = reference(data, ".orders[].x")
    if JQ and subprocess.run([JQ, "."], input=data, capture_output=True, check=False).returncode == 0:
        expected = jq_oracle(data, ".orders[].x")
    assert read_back(every_way(data, ".orders[].x", sizes=(1, 7, 1 << 20))) == expected
    assert read_back(every_way(y, ".")) == reference(y, ".")


# Documents a parser must reject, which are a stream of JSON values as jq reads one (asserted below).
_VALID_STREAMS = {
    "n_single_space.json",
    "n_structure_UTF8_BOM_no_data.json",
    "n_structure_double_array.json",
    "n_structure_no_data.json",
    "n_structure_object_with_trailing_garbage.json",
}


@pytest.mark.parametrize("document", _suite("n"))
def test_suite_documents_not_json_give_the_offset(document):
    """Each document a parser must reject, alone and after an order: the order's ID comes out, then
    the error, whose offset falls inside the document."""
    n = document.read_bytes()
    if document.name in _VALID_STREAMS:
        written(n, ".")  # no error
        if JQ:
            assert subprocess.run([JQ, "."], input=n, capture_output=True, check=False).returncode == 0
        return
    head = b'{"extract test":1}\n'  # a key no document of the suite has
    for data, before in ((n, []), (head + n, [b"1"])):
        for size in (1, 5, 1 << 20):
            got: list[bytes] = []
            with pytest.raises(JsonTextError) as caught:
                for batch in path_ids(chunked(data, size), parse_path('."extract test"')):
                    got += batch
            assert got == before
            assert len(data) - len(n) <= caught.value.offset <= len(data)
            assert str(caught.value).startswith(f"invalid JSON at byte {caught.value.offset}: ")


@pytest.mark.parametrize("document", _suite("i"))
def test_suite_documents_either_way(document):
    """Parsers may accept or reject these; extract does one or the other, the same for every chunk."""
    data = document.read_bytes()
    outcomes = set()
    for size in (1, 64, 1 << 20):
        try:
            outcomes.add(tuple(written(data, ".", size)))
        except JsonTextError as exc:
            outcomes.add(exc.offset)
    assert len(outcomes) == 1


# path_ids: text that is not JSON mid-stream.


@pytest.mark.parametrize(
    ("data", "before", "offset", "problem"),
    [
        pytest.param(
            b'{"id":1}\n{"id":2}\n{"id":tru}\n', [b"1", b"2"], 24, "not a number or literal", id="literal"
        ),
        pytest.param(
            '{"id":"é€"}\n{"id":x}'.encode(), ['"é€"'.encode()], 21, "not a number", id="utf8-offset"
        ),
        pytest.param(
            b'{"orders":[{"id":1},{"id":2},]}', [b"1", b"2"], 29, "expected a value", id="trailing-comma"
        ),
        pytest.param(b'{"orders":[{"id":1} {"id":2}]}', [b"1"], 20, "expected ','", id="missing-comma"),
        pytest.param(b'{"orders":[{"id":1}', [b"1"], 19, "the text ends inside", id="unclosed"),
        pytest.param(b'{"id":1}{"id":"a\x01"}', [b"1"], 16, "a control character", id="control-char"),
        pytest.param(b'{"id":1}["\\x"]', [b"1"], 10, "a bad escape", id="bad-escape"),
        pytest.param(b'{"id":1} {"id":"abc', [b"1"], 19, "the text ends inside a string", id="unterminated"),
        pytest.param(b'{"id":1} {"a" 2}', [b"1"], 14, "expected ':'", id="missing-colon"),
        pytest.param(b'{"id":1} {1:2}', [b"1"], 10, "expected a key", id="number-key"),
        pytest.param(b'{"id":1} [NaN]', [b"1"], 10, "not a number or literal", id="nan"),
        pytest.param(b'{"id":1} 007', [b"1"], 9, "not a number or literal", id="leading-zeros"),
        pytest.param(b'{"id":1} 1true', [b"1"], 9, "not a number or literal", id="run-together"),
        pytest.param(b'{"id":1} ]', [b"1"], 9, "expected a value", id="stray-bracket"),
        pytest.param(
            '{"id":1} {"id":x,"n":"é€😀"}'.encode(), [b"1"], 15, "not a number", id="utf8-after-offset"
        ),
        pytest.param(
            b'{"id":1} {"id":2,"n":"\xff\xfe"} {"id":y}', [b"1", b"2"], 33, "not a num", id="bytes-not-utf8"
        ),
        pytest.param(b'{"id":1}\f{"id":2}', [b"1"], 8, "not a number or literal", id="form-feed"),
        pytest.param(b'{"id":1} [1,\x0b2]', [b"1"], 12, "not a number or literal", id="vertical-tab"),
        pytest.param(
            '{"id":1} [1,\u00a02]'.encode(), [b"1"], 12, "not a number or literal", id="no-break-space"
        ),
        pytest.param(
            b'{"id":1} {"id":2,"id":3,"x":[1,2,}', [b"1", b"3"], 33, "expected a value", id="held-ids-out"
        ),
    ],
)
def test_text_not_json_mid_stream(data, before, offset, problem):
    """Everything before the error comes out, then the error names its byte offset, for any chunks."""
    for windows in WINDOWS:
        for size in (1, 2, 7, 1 << 20):
            got: list[bytes] = []
            with windows(), pytest.raises(JsonTextError) as caught:
                for batch in path_ids(
                    chunked(data, size), parse_path(".id" if b"orders" not in data else ".orders[].id")
                ):
                    got += batch
            assert (got, caught.value.offset) == (before, offset), (size, windows)
            assert problem in caught.value.problem


def test_a_key_twice_in_an_object_over_the_window():
    """jq reads the last; extract, streaming, has printed the first one's IDs: it says so."""
    data = b'{"a":[{"id":1}],"pad":"' + b"x" * 100 + b'","a":[{"id":2}]}'
    for size in (7, 1 << 20):  # the object arrives in pieces, or whole (and is still too long)
        with small_windows(), pytest.raises(JsonTextError, match='the key "a" is in an object twice'):
            written(data, ".a[].id", size)
    assert written(data, ".a[].id") == [b"2"]  # within the window, as jq


def test_what_is_read_whole_does_not_depend_on_the_reads(monkeypatch):
    """A value longer than the window is read token by token even when one read brings it all (here
    chunks are not cut to the window): the key written twice is an error in every case."""
    monkeypatch.setattr(isintool, "_pieces", lambda chunks, size: iter(chunks))
    big = b'{"a":[{"id":1}],"p":"' + b"x" * 60 + b'","a":[{"id":2}]}'
    data = b'{"a":[{"id":0}]}\n' * 5 + big + b"\n" + b'{"a":[{"id":3}]}\n'
    for size in (7, 64, 1 << 20):
        with small_windows(), pytest.raises(JsonTextError, match='the key "a" is in an object twice'):
            written(data, ".a[].id", size)


# path_ids: memory and time.


# Run in a process of its own, so that the peak of its resident memory (VmHWM, which starts
# afresh at exec) is that of the reading alone, at full speed (tracemalloc slows object-heavy
# shapes a hundredfold). The chunks are made as read, about 1 MiB each: never held whole.
_FLAT_CHILD = """
import ast, json, sys
import isintool

def peak_kib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

def chunks(parts):
    for piece, times in parts:
        per_chunk = max(1, (1 << 20) // len(piece))
        for done in range(0, times, per_chunk):
            yield piece * min(per_chunk, times - done)

parts, path = ast.literal_eval(sys.argv[1]), sys.argv[2]
isintool._json_scanner()  # json imported before the mark
before = peak_kib()
if path:
    batches = isintool.path_ids(chunks(parts), isintool.parse_path(path))
else:
    batches = isintool.extract_ids(chunks(parts))
count, first = 0, []
for batch in batches:
    count += len(batch)
    first = first or [value.decode() for value in batch[:3]]
print(json.dumps([count, first, (peak_kib() - before) * 1024]))
"""


def _flat_run(parts: list[tuple[bytes, int]], path: str = "") -> tuple[int, list[bytes], int]:
    """path_ids (or without a path, extract_ids) over the chunks `parts` make, in a child: how
    many values, the first three, and how far resident memory rose above the start's peak."""
    done = subprocess.run(
        [sys.executable, "-c", _FLAT_CHILD, repr(parts), path],
        capture_output=True,
        check=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    count, first, growth = json.loads(done.stdout)
    return count, [value.encode() for value in first], growth


MiB = 1 << 20
_BIG_SHAPES = [
    pytest.param(
        [(b'{"note":"', 1), (b"x" * 1000, 40_000), (b'","id":42}', 1)], ".id", [b"42"], id="40MB-string"
    ),
    pytest.param([(b'"', 1), (b"x" * 1000, 40_000), (b'"', 1)], ".", [], id="40MB-string-selected-is-no-id"),
    pytest.param([(b" " * 1000, 20_000), (b'{"id":1}', 1)], ".id", [b"1"], id="20MB-of-blanks"),
    pytest.param([(b'{"n":', 1), (b"1" * 1000, 20_000), (b',"id":2}', 1)], ".id", [b"2"], id="20MB-number"),
    pytest.param(
        [
            (b'{"order":{"id":1,"line_items":[', 1),
            (b'{"id":123456789,"title":"Widget","q":3},', 500_000),
            (b"0]}}", 1),
        ],
        ".order.id",
        [b"1"],
        id="one-huge-order",
    ),
    pytest.param(
        [(b'{"orders":[', 1), (b'{"id":7,"c":{"id":8,"a":[{"id":9}]}},', 600_000), (b'{"id":0}]}', 1)],
        ".orders[].id",
        None,
        id="600k-orders",
    ),
    pytest.param([(b"[" * 1000, 500), (b"]" * 1000, 500), (b'{"id":3}', 1)], ".id", [b"3"], id="500k-deep"),
    pytest.param(
        [(b'{"m":{', 1), (b'"k":[1,{"id":5}],', 1_000_000), (b'"id":6},"id":4}', 1)],
        ".id",
        [b"4"],
        id="1M-members",
    ),
    pytest.param([(b'{"id":1,"x":[1.5,"s",null]}\n', 700_000)], ".id", None, id="700k-lines"),
]


@pytest.mark.parametrize(("parts", "path", "expected"), _BIG_SHAPES)
def test_path_ids_memory_stays_flat_whatever_the_shape(parts, path, expected):
    """Tens of MB of each shape through path_ids: memory stays at a few windows (the input is not
    held, nor one object a level deep), which is also what keeps the time linear."""
    count, first, growth = _flat_run(parts, path)
    if expected is not None:
        assert (count, first) == (len(expected), expected)
    else:
        assert count > 500_000 and first[:1] in ([b"7"], [b"1"])
    assert growth < 12 * MiB, growth


@pytest.mark.parametrize(
    ("parts", "count", "first"),
    [
        pytest.param(
            [(b'{"id":123456,"note":"x"},', 1_000_000)], 1_000_000, [b"123456"] * 3, id="25MB-of-ids"
        ),
        pytest.param(
            [(b'{"note":"', 1), (b"x" * 1000, 60_000), (b'","id":42}', 1)], 1, [b"42"], id="60MB-string"
        ),
        pytest.param(
            [(b'{"note":"', 1), (b"a,{b" * 250, 40_000), (b'","id":42}', 1)],
            1,
            [b"42"],
            id="string-of-commas",
        ),
        pytest.param(
            [(b'{"id"', 1), (b" " * 1000, 20_000), (b":", 1), (b"\n" * 1000, 20_000), (b"43}", 1)],
            1,
            [b"43"],
            id="blanks-in-a-member",
        ),
        pytest.param(  # an ID over 1 MiB is none
            [(b'{"id":"', 1), (b"y" * 1000, 20_000), (b'","id":44}', 1)], 1, [b"44"], id="20MB-string-id"
        ),
        pytest.param(
            [(b'{"id":', 1), (b"9" * 1000, 20_000), (b',"id":45}', 1)], 1, [b"45"], id="20MB-number-id"
        ),
    ],
)
def test_extract_ids_memory_stays_flat_whatever_the_shape(parts, count, first):
    """The default mode: the issue's long string (and blanks, and digits that run for MB) in flat
    memory, and in linear time: `{"note":"<300 MB of x>","id":42}` took a minute and 605 MB."""
    found, printed, growth = _flat_run(parts)
    assert (found, printed) == (count, first)
    assert growth < 8 * MiB, growth


# --- The key's paths: extract's warning -----------------------------------------------------------


@pytest.fixture(params=["parsed", "tokens"])
def head_reading(request, monkeypatch):
    """Each of the warning's two ways to read a head, which must count alike: containers parsed
    whole by json's C scanner, or tokens alone (a head under _HEAD_PARSE_MIN, as the seed's)."""
    monkeypatch.setattr(isintool, "_HEAD_PARSE_MIN", 0 if request.param == "parsed" else 1 << 40)


@needs_real
def test_warning_names_the_paths_and_the_outermost(head_reading):
    data = (REAL / "orders_shopify_orders.json").read_bytes()
    assert paths_warning(data, "id") == (
        '"id" is at 3 paths: .orders[].id (1), .orders[].customer.id (1), '
        ".orders[].customer.default_address.id (1); --path '.orders[].id' takes the orders' own"
    )


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        pytest.param(ORDERS, "id", None, id="the-seed"),
        pytest.param(b'{"orders":[{"id":1,"customer":{"id":null}}]}', "id", None, id="null-is-no-id"),
        pytest.param(b"", "id", None, id="empty"),
        pytest.param(b"not json", "id", None, id="not-json"),
        pytest.param(
            b'{"id":1,"lines":[{"id":2},{"id":3}]}',
            "id",
            '"id" is at 2 paths: .id (1), .lines[].id (2); --path .id takes the top-level objects\' own',
            id="single-order",
        ),
        pytest.param(
            b'[{"id":1,"c":{"id":2}},{"id":3}]',
            "id",
            '"id" is at 2 paths: .[].id (2), .[].c.id (1); '
            "--path '.[].id' takes the top-level elements' own",
            id="top-level-array",
        ),
        pytest.param(
            b'{"id":"gid://O/1"}\n{"id":"gid://L/2","__parentId":"gid://O/1"}\n',
            "id",
            None,
            id="ndjson-one-path",
        ),
        pytest.param(
            b'{"data":{"order":{"order_id":1,"refunds":[{"order_id":1}]}}}',
            "order_id",
            '"order_id" is at 2 paths: .data.order.order_id (1), .data.order.refunds[].order_id (1); '
            "--path .data.order.order_id takes the order's own",
            id="another-key",
        ),
        pytest.param(
            b'{"o":[{"a key":1,"x":{"a key":"b"}}]}',
            "a key",
            '"a key" is at 2 paths: .o[]."a key" (1), .o[].x."a key" (1); '
            "--path '.o[].\"a key\"' takes the o's own",
            id="key-to-quote",
        ),
    ],
)
def test_warning(data, key, expected, head_reading):
    assert paths_warning(data, key) == expected


def test_warning_reads_a_first_mib_that_cuts_a_document(head_reading):
    order = b'{"id":%d,"customer":{"id":1,"address":{"id":2}},"lines":[{"id":3},{"id":4}]}'
    data = b'{"data":{"orders":[' + b",".join(order % i for i in range(40_000)) + b"]}}"
    head = data[: isintool.HEAD_BYTES]
    counts = isintool.key_paths(head, "id")
    orders = len(re.findall(rb'\{"id":[0-9]+,"customer"', head))  # the last one cut short too
    assert counts[("data", "orders", EACH, "id")] == orders > 10_000
    assert list(counts)[:2] == [("data", "orders", EACH, "id"), ("data", "orders", EACH, "customer", "id")]
    assert paths_warning(head, "id").endswith("--path '.data.orders[].id' takes the orders' own")


def test_warning_reads_ndjson_cut_mid_line(head_reading):
    line = b'{"id":%d,"lines":[{"id":1}]}\n'
    data = b"".join(line % i for i in range(100_000))[: isintool.HEAD_BYTES]
    assert paths_warning(data, "id").startswith('"id" is at 2 paths: .id (')


def test_warning_sees_a_container_the_first_objects_lack(head_reading):
    orders = [{"id": i, "extra": None} for i in range(20)] + [{"id": 20, "extra": {"id": "x"}}]
    counts = isintool.key_paths(json.dumps({"orders": orders}).encode(), "id")
    assert counts == {("orders", EACH, "id"): 21, ("orders", EACH, "extra", "id"): 1}


@settings(max_examples=300, deadline=None)
@given(documents=st.lists(_DOCUMENTS, min_size=1, max_size=3), cut=st.integers(0, 2000), ndjson=st.booleans())
# Found in CI: a parsed head counts the paths in its parsed values after those read by tokens, so
# ties of depth and count once came out in another order.
@example(
    documents=[{"c": [{"c": {"id": -1}}], "a": [[None, 1, 1e16], {"id": None, "a": {"id": 0}}]}],
    cut=78,
    ndjson=False,
)
def test_warning_counts_alike_parsed_or_read_by_tokens(documents, cut, ndjson):
    """The head cut anywhere, in a document or a stream of them: the same paths and counts, in the
    same order."""
    head = ("\n" if ndjson else " ").join(json.dumps(d, ensure_ascii=False) for d in documents).encode()[:cut]
    saved = isintool._HEAD_PARSE_MIN
    try:
        isintool._HEAD_PARSE_MIN = 0
        parsed = isintool.key_paths(head, "id")
        isintool._HEAD_PARSE_MIN = 1 << 40
        assert list(isintool.key_paths(head, "id").items()) == list(parsed.items())
    finally:
        isintool._HEAD_PARSE_MIN = saved


def test_warning_lists_ten_paths_and_counts_the_rest(head_reading):
    data = json.dumps({f"k{i}": {"id": i} for i in range(25)} | {"id": 0}).encode()
    message = paths_warning(data, "id")
    assert message.startswith('"id" is at 26 paths: .id (1), .k0.id (1), ')
    assert ".k8.id (1) and 16 more; --path .id takes the top-level objects' own" in message


# --- Secrets --------------------------------------------------------------------------------------


def _secret_url(base: str) -> str:
    return base.replace("http://", f"http://alice:{PASSWORD}@") + f"?apikey={TOKEN}&format=csv"


def _quiet_server_error(request):
    time.sleep(1.5)  # longer than --timeout
    return Response(GLEIF_CSV)


@pytest.mark.parametrize("case", ["success", "404", "refused", "timeout", "no-scheme"])
def test_secrets_in_the_url_never_reach_messages_or_disk(server, out, case):
    url = _secret_url(server.url_for("/list"))
    if case == "no-scheme":
        url = url.removeprefix("http://")
    elif case == "success":
        server.expect_request("/list").respond_with_data(GLEIF_CSV)
    elif case == "404":
        server.expect_request("/list").respond_with_data("gone", status=404)
    elif case == "timeout":
        server.expect_request("/list").respond_with_handler(_quiet_server_error)
    else:
        url = _secret_url(f"http://127.0.0.1:{_free_port()}/list")
    result = fetch("--url", url, "-o", str(out), "--timeout", "0.5", "--retries", "1", "--ping", url)
    assert result.exit_code == {"success": 0, "no-scheme": 2}.get(case, 1), result.stderr
    shown = [result.stdout, result.stderr] + [path.read_text() for path in out.parent.iterdir()]
    for text in shown:
        assert PASSWORD not in text and TOKEN not in text, text
    if case == "no-scheme":
        assert "must start with http:// or https://" in result.stderr
    elif case != "success":
        assert "apikey=***&format=***" in result.stderr
        assert "alice" not in result.stderr
    else:
        record = json.loads((out.parent / "isins.txt.json").read_text())
        assert (
            record["parts"][0]["url"]
            == server.url_for("/list").replace("http://", "http://***@") + "?apikey=***&format=***"
        )


# --- Deadline -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(
            [_drip(_head("200 OK", Content_Length=100_000), b"ISIN\n" + b"US0378331005\n" * 8000, 0.5)],
            id="body-drips-under-its-content-length",
        ),
        pytest.param(
            [_drip(_head("200 OK", Content_Length=len(GLEIF_CSV)), GLEIF_CSV, 0.05)],
            id="head-a-byte-at-a-time",
        ),
        pytest.param(
            [
                _send("503 Service Unavailable", b"", Retry_After=1),
                _drip(_head("200 OK", Content_Length=100_000), b"ISIN\n" + b"US0378331005\n" * 8000, 0.5),
            ],
            id="503-retry-after-then-drip",
        ),
    ],
)
def test_fetch_max_time_is_a_hard_bound(out, answers):
    """A nightly job must never outlive --max-time, whatever the server does: else the next
    night's run meets the lock. --timeout (per read) is far longer than --max-time here."""
    with RawServer(*answers) as raw:
        started = time.monotonic()
        result = fetch("--url", raw.url, "-o", str(out), "--max-time", "2.5", "--timeout", "20")
        elapsed = time.monotonic() - started
    assert_refused(result, out, "gave up after 2.5 seconds (--max-time)")
    assert elapsed < 2.5 + 1.5, elapsed


def test_fetch_max_time_stops_a_slow_drip(server, out):
    def drip(request):
        def body():
            yield b"ISIN\n"
            for _ in range(30):
                time.sleep(0.1)
                yield b"US0378331005\n"

        return Response(body())

    server.expect_request("/list").respond_with_handler(drip)
    started = time.monotonic()
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--max-time", "1", "--timeout", "5")
    assert_refused(result, out, "--max-time")
    assert time.monotonic() - started < 2.5


def test_fetch_list_keeps_to_max_time_off_the_main_thread(out):
    """Off the main thread no signal can be set: the core's own deadline still ends a body that
    drips under its --timeout (each read waits at most the time left, and it is checked after
    every read), and the library installs no handler and sets no alarm."""
    answer = _drip(_head("200 OK", Content_Length=100_000), b"ISIN\n" + b"US0378331005\n" * 8000, 0.2)
    outcome: list[BaseException | float] = []
    handler, (alarm, _), since = (
        signal.getsignal(signal.SIGALRM),
        signal.getitimer(signal.ITIMER_REAL),
        time.monotonic(),
    )

    def run() -> None:
        options = isintool.FetchOptions(max_time=1.5, timeout=20)
        started = time.monotonic()
        try:
            isintool.fetch_list([raw.url], str(out), options)
        except BaseException as exc:
            outcome.append(exc)
        outcome.append(time.monotonic() - started)

    with RawServer(answer) as raw:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=10)
    error, elapsed = outcome
    assert (
        isinstance(error, isintool.IsinToolError) and str(error) == "gave up after 1.5 seconds (--max-time)"
    )
    assert 1.5 <= elapsed < 2.5, elapsed
    # pytest-timeout's alarm (if any) runs on untouched: the library set none of its own.
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert signal.getsignal(signal.SIGALRM) == handler
    assert not alarm or abs((alarm - left) - (time.monotonic() - since)) < 0.2
    assert out.read_bytes() == OLD_LIST and sorted(os.listdir(out.parent)) == ["isins.txt", "isins.txt.lock"]


# --- Download -------------------------------------------------------------------------------------


def test_fetch_follows_redirects_like_gleif(server, out):
    server.expect_request("/api/v2/isin-lei/latest/download").respond_with_data(
        "", status=302, headers={"Location": server.url_for("/files/isin-lei-20261127.zip")}
    )
    server.expect_request("/files/isin-lei-20261127.zip").respond_with_data(_zip(GLEIF_CSV))
    result = fetch("--url", server.url_for("/api/v2/isin-lei/latest/download"), "-o", str(out), "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert out.read_bytes().split() == GLEIF_ISINS


def _counting(responses):
    """A handler that answers with the next of `responses` (the last repeats); .calls counts."""

    def handler(request):
        handler.calls += 1
        return responses[min(handler.calls, len(responses)) - 1]

    handler.calls = 0
    return handler


def test_fetch_retries_5xx_then_succeeds(server, out):
    handler = _counting([Response("busy", 503), Response("busy", 502), Response(GLEIF_CSV)])
    server.expect_request("/list").respond_with_handler(handler)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "-q")
    assert (result.exit_code, handler.calls) == (0, 3)
    assert out.read_bytes().split() == GLEIF_ISINS


@pytest.mark.parametrize(("status", "calls"), [(404, 1), (403, 1), (500, 3), (429, 3)])
def test_fetch_retry_counts(server, out, status, calls):
    handler = _counting([Response("no", status)])
    server.expect_request("/list").respond_with_handler(handler)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--retries", "2")
    assert_refused(result, out, f"HTTP {status}")
    assert handler.calls == calls


def test_fetch_honours_retry_after(server, out):
    handler = _counting([Response("slow down", 429, headers={"Retry-After": "1"}), Response(GLEIF_CSV)])
    server.expect_request("/list").respond_with_handler(handler)
    started = time.monotonic()
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "-q")
    assert (result.exit_code, handler.calls) == (0, 2)
    assert time.monotonic() - started >= 1.0


def test_fetch_gives_up_when_retry_after_outlasts_max_time(server, out):
    handler = _counting([Response("later", 503, headers={"Retry-After": "120"}), Response(GLEIF_CSV)])
    server.expect_request("/list").respond_with_handler(handler)
    started = time.monotonic()
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--max-time", "30")
    assert_refused(result, out, "HTTP 503; no time left to retry (--max-time)")
    assert handler.calls == 1 and time.monotonic() - started < 5


def test_fetch_retries_connection_refused_then_fails(out):
    port = _free_port()  # nothing listens on it
    result = fetch("--url", f"http://127.0.0.1:{port}/list?key=SECRET", "-o", str(out), "--retries", "1")
    assert_refused(result, out, f"127.0.0.1:{port} refused the connection (nothing listens there?)")
    assert f"(http://127.0.0.1:{port}/list?key=***) (after 2 attempts)" in result.stderr


@pytest.mark.parametrize("case", ["dns", "proxy-refused", "proxy-407"])
def test_network_errors_read_as_one_plain_sentence(out, monkeypatch, case):
    """No tuples or object reprs: the host (or the proxy) and the cause, the URL's secrets hidden."""
    url = "https://no-such-host.invalid/list?token=SECRET"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    expected = "cannot find the host no-such-host.invalid (DNS: no such name, or no name server answers)"
    with contextlib.ExitStack() as stack:
        if case != "dns":
            proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ProxyAsksForCredentials)
            stack.enter_context(proxy)
            threading.Thread(target=proxy.serve_forever, daemon=True).start()
            stack.callback(proxy.shutdown)
            port = proxy.server_address[1] if case == "proxy-407" else _free_port()
            monkeypatch.setenv("HTTPS_PROXY", f"http://alice:pw@127.0.0.1:{port}")
            expected = (
                f"the proxy 127.0.0.1:{port} asks for a user and password (HTTP 407)"
                if case == "proxy-407"
                else f"the proxy 127.0.0.1:{port} refused the connection"
            )
        result = fetch("--url", url, "-o", str(out), "--retries", "0")
    assert_refused(result, out, expected)
    assert "SECRET" not in result.stderr and "alice" not in result.stderr
    for repr_text in ("Error(", "object at 0x", "ConnectionPool", "Max retries", "('"):
        assert repr_text not in result.stderr


def test_fetch_refuses_a_body_shorter_than_its_content_length(out):
    short = _send("200 OK", GLEIF_CSV, Content_Length=len(GLEIF_CSV) + 100)
    with RawServer(short) as raw:
        result = fetch("--url", raw.url, "-o", str(out), "--retries", "1")
    assert_refused(result, out, f"the transfer from {raw.url} ended early: 219 of 319 bytes")
    assert len(raw.requests) == 2


def _listed(isins: list[str]) -> bytes:
    return b"".join(isin.encode() + b"\n" for isin in sorted(set(isins)))


def test_fetch_resumes_a_broken_transfer_where_it_stopped(out):
    rest = FIRST_ZIP[CUT:]
    content_range = f"bytes {CUT}-{len(FIRST_ZIP) - 1}/{len(FIRST_ZIP)}"
    answers = [
        _send("200 OK", FIRST_ZIP, cut=CUT, **RANGES),
        _send("206 Partial Content", rest, Content_Range=content_range, **RANGES),
    ]
    with RawServer(*answers) as raw:
        result = fetch("--url", raw.url, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == _listed(FIRST)
    assert raw.requests[1]["range"] == f"bytes={CUT}-"
    assert raw.requests[1]["if-range"] == '"v1"'
    assert "range" not in raw.requests[0]
    assert f"{len(FIRST_ZIP) / 1e6:.1f} MB downloaded" in result.stderr


@pytest.mark.parametrize(
    ("second", "expected", "requests"),
    [
        pytest.param(_send("200 OK", FIRST_ZIP, **RANGES), FIRST, 2, id="range-ignored"),
        pytest.param(
            _send("200 OK", _gleif_zip(_valid_isins(15_000, 2)), ETag='"v2"', Accept_Ranges="bytes"),
            _valid_isins(15_000, 2),
            2,
            id="file-changed",
        ),
        pytest.param(
            _send(
                "206 Partial Content", FIRST_ZIP[10:], Content_Range=f"bytes 10-99/{len(FIRST_ZIP)}", **RANGES
            ),
            FIRST,
            3,
            id="another-range",
        ),
        pytest.param(_send("416 Range Not Satisfiable", b""), FIRST, 3, id="416"),
    ],
)
def test_fetch_starts_over_cleanly_when_it_cannot_resume(out, second, expected, requests):
    """What was parsed of the broken transfer is thrown away, never spliced into the new list."""
    answers = [_send("200 OK", FIRST_ZIP, cut=CUT, **RANGES), second, _send("200 OK", FIRST_ZIP, **RANGES)]
    with RawServer(*answers) as raw:
        result = fetch("--url", raw.url, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == _listed(expected)
    assert len(raw.requests) == requests
    assert sorted(os.listdir(out.parent)) == ["isins.txt", "isins.txt.json", "isins.txt.lock"]
    if expected is not FIRST:
        assert json.loads((out.parent / "isins.txt.json").read_text())["parts"][0]["etag"] == '"v2"'


def test_fetch_without_ranges_asks_for_the_whole_payload_again(out):
    answers = [_send("200 OK", FIRST_ZIP, cut=CUT, ETag='"v1"'), _send("200 OK", FIRST_ZIP, ETag='"v1"')]
    with RawServer(*answers) as raw:
        result = fetch("--url", raw.url, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == _listed(FIRST)
    assert "range" not in raw.requests[1] and "if-range" not in raw.requests[1]


def test_fetch_read_timeout_is_retried(server, out):
    def stall(request):
        handler.calls += 1
        if handler.calls == 1:
            time.sleep(1.5)
        return Response(GLEIF_CSV)

    handler = stall
    handler.calls = 0
    server.expect_request("/list").respond_with_handler(stall)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--timeout", "0.5", "-q")
    assert (result.exit_code, handler.calls) == (0, 2), result.stderr


def test_fetch_conditional_get_and_304(server, out):
    server.expect_oneshot_request("/list").respond_with_data(
        GLEIF_CSV, headers={"ETag": '"v1"', "Last-Modified": "Thu, 26 Nov 2026 06:00:00 GMT"}
    )
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "-q").exit_code == 0
    written = out.read_bytes()
    before = out.stat().st_mtime_ns
    server.expect_oneshot_request(
        "/list", headers={"If-None-Match": '"v1"', "If-Modified-Since": "Thu, 26 Nov 2026 06:00:00 GMT"}
    ).respond_with_data("", status=304)
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"{out} unchanged since the last fetch (3 ISINs)\n"
    assert (out.read_bytes(), out.stat().st_mtime_ns) == (written, before)
    server.check_assertions()


def test_fetch_refuses_a_304_it_did_not_ask_for(server, out):
    server.expect_request("/list").respond_with_data("", status=304)
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert_refused(result, out, "answered 304 Not Modified to a request that was not conditional")
    result = fetch("--url", server.url_for("/list"), "-o", "-")
    assert (result.exit_code, result.stdout) == (1, "")
    assert "answered 304 Not Modified" in result.stderr


def test_fetch_sends_no_validators_for_another_url_or_a_missing_list(server, out):
    server.expect_request("/a").respond_with_data(GLEIF_CSV, headers={"ETag": '"a1"'})
    server.expect_request("/b").respond_with_data(GLEIF_CSV, headers={"ETag": '"b1"'})
    assert fetch("--url", server.url_for("/a"), "-o", str(out), "-q").exit_code == 0
    assert fetch("--url", server.url_for("/b"), "-o", str(out), "-q").exit_code == 0
    out.unlink()  # the list is gone: a 304 would leave nothing, so ask without validators
    assert fetch("--url", server.url_for("/b"), "-o", str(out), "-q").exit_code == 0
    sent = [request.headers.get("If-None-Match") for request, _ in server.log]
    assert sent == [None, None, None]
    assert out.read_bytes().split() == GLEIF_ISINS


def test_fetch_refuses_an_untrusted_certificate(tls_server, out, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    tls_server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", tls_server.url_for("/list"), "-o", str(out))
    assert_refused(result, out, "TLS verification failed")


def test_fetch_trusts_requests_ca_bundle(tls_server, tls_ca, out, tmp_path):
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    tls_server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch(
        "--url", tls_server.url_for("/list"), "-o", str(out), "-q", env={"REQUESTS_CA_BUNDLE": str(bundle)}
    )
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().split() == GLEIF_ISINS


def test_fetch_refuses_a_redirect_from_https_to_http(tls_server, tls_ca, server, out, tmp_path_factory):
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    tls_server.expect_request("/list").respond_with_data(
        "", status=302, headers={"Location": server.url_for("/list")}
    )
    result = fetch(
        "--url", tls_server.url_for("/list"), "-o", str(out), env={"REQUESTS_CA_BUNDLE": str(bundle)}
    )
    assert_refused(result, out, "refusing the redirect from https://127.0.0.1")
    assert "it leaves https" in result.stderr
    assert server.log == []  # the http URL was never asked for


def _basic_auth(request):
    if request.headers.get("Authorization") != "Basic YWxpY2U6czNjcmV0UFc=":  # alice:s3cretPW
        return Response("who are you?", status=401, headers={"WWW-Authenticate": 'Basic realm="isins"'})
    return Response(GLEIF_CSV)


def test_fetch_takes_credentials_from_netrc_and_a_401_is_final(server, out, tmp_path_factory):
    server.expect_request("/list").respond_with_handler(_basic_auth)
    home = tmp_path_factory.mktemp("home")
    env = {"HOME": str(home), "NETRC": None}
    result = fetch("--url", server.url_for("/list"), "-o", str(out), env=env)
    assert_refused(result, out, "answered HTTP 401 UNAUTHORIZED: put the credentials in ~/.netrc")
    assert len(server.log) == 1  # final: no retries
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login alice password {PASSWORD}\n")
    netrc.chmod(0o600)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "-q", env=env)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().split() == GLEIF_ISINS


def _no_library_words(message: str) -> None:
    """What a message of ours never holds: a library's repr, tuple or pool name."""
    for text in (
        "Error(",
        "object at 0x",
        "ConnectionPool",
        "Max retries",
        "('",
        "IncompleteRead",
        "Exceeded",
    ):
        assert text not in message, message


def test_a_read_timeout_in_the_body_names_the_host_and_the_wait(out):
    stall = _drip(_head("200 OK", Content_Length=100_000), b"ISIN\nUS0378331005\n", 3)
    with RawServer(stall) as raw:
        result = fetch("--url", raw.url, "-o", str(out), "--timeout", "0.5", "--retries", "0")
    where = raw.url.split("/")[2]
    assert_refused(
        result, out, f"Error: {where} sent nothing for 0.5 seconds (--timeout), after 13 of 100,000 bytes"
    )
    _no_library_words(result.stderr)


def test_a_redirect_loop_is_one_sentence(server, out):
    server.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    result = fetch("--url", server.url_for("/loop"), "-o", str(out))
    assert_refused(result, out, f"Error: {server.url_for('/loop')} redirects more than 10 times (a loop?)")
    _no_library_words(result.stderr)


def test_https_to_a_plain_http_port_says_it_does_not_speak_tls(server, out):
    url = server.url_for("/list").replace("http://", "https://")
    result = fetch("--url", url, "-o", str(out))
    where = url.split("/")[2]
    assert_refused(result, out, f"Error: {where} does not speak TLS (an https:// URL for a plain http port?)")
    assert "verification" not in result.stderr and "(after" not in result.stderr  # never retried
    _no_library_words(result.stderr)


# --- Decompress: gzip, zip, and the dispatch by a payload's first bytes ---------------------------


def _decompress(data: bytes, max_bytes: int = 1 << 30, chunk_size: int = 65_536) -> bytes:
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    return b"".join(b"".join(text) for text in isintool._decompressed_texts(chunks, max_bytes))


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda b: b, id="plain"),
        pytest.param(gzip.compress, id="gzip"),
        pytest.param(_zip, id="zip"),
    ],
)
def test_decompressed_chunks_recognises_the_bytes(wrap):
    assert _decompress(wrap(GLEIF_CSV)) == GLEIF_CSV


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(_zip(GLEIF_CSV)[:-30], "truncated", id="truncated-zip"),
        pytest.param(_zip(GLEIF_CSV)[:100], "truncated", id="zip-cut-in-its-file"),
        pytest.param(gzip.compress(GLEIF_CSV)[:-10], "truncated", id="truncated-gzip"),
        pytest.param(gzip.compress(GLEIF_CSV)[:-3], "truncated", id="gzip-cut-in-its-trailer"),
        pytest.param(gzip.compress(b"0" * 5_000_000), "decompresses to more than", id="gzip-bomb"),
        pytest.param(_zip(b"0" * 5_000_000), "decompresses to more than", id="zip-bomb"),
    ],
)
def test_decompressed_chunks_refuses(data, message):
    with pytest.raises(isintool.IsinToolError, match=message):
        _decompress(data, max_bytes=1_000_000)


def test_decompressed_chunks_checks_the_zip_crc():
    """A good deflate stream under a wrong CRC-32: only the CRC comparison can refuse it."""
    text = b"US0378331005\n" * 1000
    data = bytearray(_zip(text))
    assert data[14:18] == zlib.crc32(text).to_bytes(4, "little")  # the local header's CRC-32 (4.3.7)
    data[14] ^= 0x01
    with pytest.raises(isintool.IsinToolError, match="fails its CRC-32 or size check"):
        _decompress(bytes(data))


@pytest.mark.parametrize(
    "layout",
    [
        "descriptor",
        "descriptor-zip64",
        "zip64",
        "stored",
        "folder-first",
        "descriptor-stored",
        "descriptor-stored-zip64",
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 7, 65_536])
def test_zip_is_read_as_a_stream_in_every_layout(layout, chunk_size):
    data = _zip_layout(layout)
    flags = int.from_bytes(data[6:8], "little")
    assert bool(flags & 0x08) == layout.startswith("descriptor")
    assert (b"\x01\x00\x10\x00" in data[:100]) == layout.endswith("zip64")  # the zip64 extra field
    assert int.from_bytes(data[8:10], "little") == (0 if "stored" in layout else 8)
    assert _decompress(data, chunk_size=chunk_size) == GLEIF_CSV


@pytest.mark.parametrize("layout", ["descriptor", "descriptor-stored", "descriptor-stored-zip64"])
def test_zip_data_descriptor_without_its_signature(layout):
    """APPNOTE 4.3.9.3: the descriptor's signature is optional; some writers leave it out."""
    data = _zip_layout(layout)
    signature = data.index(b"PK\x07\x08")
    for chunk_size in (1, 65_536):
        assert _decompress(data[:signature] + data[signature + 4 :], chunk_size=chunk_size) == GLEIF_CSV


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
@pytest.mark.parametrize("to_pipe", [False, True], ids=["file", "pipe"])
def test_zip_bzip2_and_lzma_are_read_as_a_stream(method, to_pipe):
    target = _Unseekable() if to_pipe else io.BytesIO()
    with zipfile.ZipFile(target, "w", method) as archive, archive.open("list.csv", "w") as member:
        member.write(GLEIF_CSV * 50)
    data = bytes(target.data) if to_pipe else target.getvalue()
    assert bool(int.from_bytes(data[6:8], "little") & 0x08) == to_pipe
    for chunk_size in (1, 100, 65_536):
        assert _decompress(data, chunk_size=chunk_size) == GLEIF_CSV * 50


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_a_decompressor_that_answers_nothing_yet_does_not_end_the_text(method):
    """bzip2 gives nothing until a whole block (900 kB of text) has come in: the CSV's header
    must still be found, so only its ISIN column is read, not every token."""
    rng = random.Random(3)
    isins, benchmarks = VALID_ISINS[:10], VALID_ISINS[10:20]  # every token would take both columns
    rows = [f"{rng.choice(isins)},{rng.choice(benchmarks)},{rng.randrange(10**12)}" for _ in range(60_000)]
    payload = ("ISIN,Benchmark,Volume\n" + "\n".join(rows) + "\n").encode()
    data = _zip_method(method, payload)
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    pieces: list[bytes] = []
    texts = (("x", text) for text in isintool._decompressed_texts(chunks, 1 << 30))
    counts = isintool.parse_texts(texts, pieces.append)
    assert b"".join(pieces).split() == parse([payload])[0]
    assert counts.count == len({row.split(",")[0] for row in rows}) and counts.invalid == 0


def test_zip_of_several_files_gives_each_text_in_turn():
    data = _zip(GLEIF_CSV, extra={"folder/": b"", "b.csv": XETRA_CSV, "c.txt": b"notes"})
    texts = [b"".join(text) for text in isintool._decompressed_texts([data], 1 << 30)]
    assert texts == [GLEIF_CSV, XETRA_CSV, b"notes"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(_flip_in_data(_zip_layout("stored")), "fails its CRC-32", id="flipped-stored"),
        pytest.param(_flip_in_data(_zip_layout("descriptor")), "corrupt", id="flipped-deflated"),
        pytest.param(
            _flip_in_data(_zip_layout("descriptor-stored")), "truncated", id="flipped-stored-described"
        ),
        pytest.param(_set_flag(_zip(GLEIF_CSV), 0x01), "encrypted", id="encrypted"),
        pytest.param(_set_method(_zip(GLEIF_CSV), 9), "zip method 9", id="deflate64"),
        pytest.param(_zip_layout("descriptor-stored")[:-200], "truncated", id="stored-described-cut"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 10, "truncated", id="cut-header"),
        pytest.param(_zip(GLEIF_CSV)[:-22] + b"PK\x05\x06", "truncated", id="cut-end-record"),
        pytest.param(_zip(GLEIF_CSV)[:-22], "lacks its end of central directory", id="no-end-record"),
        pytest.param(_zip_method(zipfile.ZIP_BZIP2)[:60], "truncated", id="bzip2-cut"),
        pytest.param(_zip_method(zipfile.ZIP_LZMA)[:60], "truncated", id="lzma-cut"),
        pytest.param(_zip(b"\x00\x05\x16\x07", name="__MACOSX/._a.csv"), "found none", id="only-metadata"),
    ],
)
def test_zip_stream_refuses(data, message):
    with pytest.raises(isintool.IsinToolError, match=message):
        _decompress(data)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_zip_bomb_stops_at_max_bytes_whatever_the_method(method):
    data = _zip_method(method, b"0" * 50_000_000)
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(isintool.IsinToolError, match="decompresses to more than 1000000 bytes"):
            _decompress(data, max_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, peak


def test_zip_bytes_after_the_end_record_are_ignored():
    """bsdtar writing to a pipe pads to 10 KiB blocks; a comment stays readable too."""
    for tail in (b"\x00" * 10_240, b"garbage without a signature"):
        assert _decompress(_zip(GLEIF_CSV) + tail) == GLEIF_CSV
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("list.csv", GLEIF_CSV)
        archive.comment = b"PK\x05\x06 a comment that holds the end signature"
    assert _decompress(buffer.getvalue() + b"\x00" * 512) == GLEIF_CSV


def test_stored_with_descriptor_needs_a_crc_match_not_just_a_signature():
    """The data holds descriptor signatures and next-header signatures, even one whose sizes
    match: only where the CRC-32 matches too does the entry end."""
    decoy = b"PK\x07\x08" + b"\x00" * 12 + b"PK\x03\x04PK\x01\x02"
    payload = GLEIF_CSV + decoy * 50 + GLEIF_CSV
    size = len(payload)  # a descriptor claiming the right size, but a wrong CRC-32
    payload += (
        b"PK\x07\x08" + (zlib.crc32(payload) ^ 1).to_bytes(4, "little") + size.to_bytes(4, "little") * 2
    )
    payload += b"ISIN\nUS0378331005\n"
    data = _zip_layout("descriptor-stored", payload)
    for chunk_size in (1, 13, 4096):
        assert _decompress(data, chunk_size=chunk_size) == payload


def test_stored_300_mb_with_a_descriptor_streams_in_flat_memory():
    """Read as it streams: memory stays at a few reads, not the entry's size."""
    row = b"5493001KJTIIGC8Y1R12,US0378331005\n"
    piece = row * (256 * 1024 // len(row))
    count = 300 * 1024 * 1024 // len(piece)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(piece, crc)
    size = len(piece) * count
    name = b"big.csv"
    header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x08, 0, 0, 0, 0, 0, 0, len(name), 0) + name
    trailer = b"PK\x07\x08" + struct.pack("<III", crc, size, size)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0x08,
        0,
        0,
        0,
        crc,
        size,
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    central += name
    offset = len(header) + size + len(trailer)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), offset, 0)

    def chunks():
        yield header
        for _ in range(count):
            yield bytes(piece)  # a fresh object each time, as a socket read gives
        yield trailer + central + end

    tracemalloc.start()
    try:
        texts = isintool._decompressed_texts(chunks(), 1 << 40)
        total = sum(len(chunk) for chunk in next(texts))
        assert next(texts, None) is None  # the end record checked, no other file
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == size
    assert peak < 8 * 1024 * 1024, peak


# Zips of one CSV made the ways publishers make them; each writer's command, from the folder
# holding list.csv (and data/list.csv), writing x.zip.
ZIP_WRITERS = {
    "zip": "zip -q x.zip list.csv",
    "zip-to-stdout": "zip -q - list.csv > x.zip",
    "zip-from-stdin": "zip -q x.zip - < list.csv",
    "zip-stored": "zip -q -0 x.zip list.csv",
    "zip-stored-to-stdout": "zip -q -0 - list.csv > x.zip",
    "zip-fd": "zip -q -fd x.zip list.csv",
    "zip-fz": "zip -q -fz x.zip list.csv",
    "zip-comment": "echo 'the list' | zip -q -z x.zip list.csv",
    "zip-folder": "zip -q -r x.zip data",
    "7z-deflate": "7z a -bd -tzip -mm=Deflate x.zip list.csv > /dev/null",
    "7z-bzip2": "7z a -bd -tzip -mm=BZip2 x.zip list.csv > /dev/null",
    "7z-lzma": "7z a -bd -tzip -mm=LZMA x.zip list.csv > /dev/null",
    "7z-stored": "7z a -bd -tzip -mm=Copy x.zip list.csv > /dev/null",
    "bsdtar": "bsdtar --format zip -cf x.zip list.csv",
    "bsdtar-to-stdout": "bsdtar --format zip -cf - list.csv > x.zip",
    "bsdtar-stored": "bsdtar --format zip --options zip:compression=store -cf x.zip list.csv",
    "bsdtar-stored-to-stdout": "bsdtar --format zip --options zip:compression=store -cf - list.csv > x.zip",
    "jar": "jar cfM x.zip list.csv",
    "jar-stored": "jar cf0M x.zip list.csv",
    "jar-manifest": "jar cf x.zip list.csv",
}


def _zip_csv() -> bytes:
    """A CSV of a few hundred KB, Pakistan's `PK` ISINs among the rows to tempt a search for
    zip signatures."""
    rng = random.Random(15)
    isins = [*VALID_ISINS, "PK0002050018", "PK0081801018"]
    rows = [f"{rng.randrange(10**19):020d},{rng.choice(isins)}" for _ in range(12_000)]
    return ("LEI,ISIN\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("writer", sorted(ZIP_WRITERS))
def test_zips_from_real_writers_give_the_list_of_their_csv(tmp_path, writer):
    command = ZIP_WRITERS[writer]
    if shutil.which(command.split()[0]) is None:
        pytest.skip(f"{command.split()[0]} is not installed (.ci/run installs it)")
    csv_text = _zip_csv()
    (tmp_path / "list.csv").write_bytes(csv_text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "list.csv").write_bytes(csv_text)
    subprocess.run(command, shell=True, cwd=tmp_path, check=True)
    data = (tmp_path / "x.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # the oracle: zipfile reads it whole
        files = [archive.read(info) for info in archive.infolist() if not info.is_dir()]
    chunks = [data[i : i + 65_536] for i in range(0, len(data), 65_536)]
    texts = [b"".join(text) for text in isintool._decompressed_texts(chunks, 1 << 30)]
    assert texts == files and csv_text in texts
    pieces: list[bytes] = []
    parsed = isintool.parse_texts([(writer, [text]) for text in texts], pieces.append)
    isins, counts = parse([csv_text])
    assert b"".join(pieces).split() == isins and parsed.count == counts.count > 30
    assert parsed.files == len(files)


def test_macos_finder_zip_reads_the_one_real_file():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("list.csv", GLEIF_CSV)
        archive.writestr("__MACOSX/", b"")
        archive.writestr("__MACOSX/._list.csv", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
        archive.writestr("data/._other.csv", b"\x00\x05\x16\x07")
    texts = [b"".join(text) for text in isintool._decompressed_texts([buffer.getvalue()], 1 << 30)]
    assert texts == [GLEIF_CSV]


def test_fetch_reads_every_file_of_a_zip_into_one_list(server, out):
    """Each file by its own layout (a CSV's ISIN column, a semicolon CSV with a preamble), one
    list; the Finder's metadata is skipped, and the summary says how many files were read."""
    data = _zip(GLEIF_CSV, extra={"__MACOSX/._isin-lei.csv": b"\x00\x05\x16\x07", "xetra.csv": XETRA_CSV})
    server.expect_request("/both.zip").respond_with_data(data)
    result = fetch("--url", server.url_for("/both.zip"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    expected = sorted(set(GLEIF_ISINS) | set(parse([XETRA_CSV])[0]))
    assert out.read_bytes().split() == expected and len(expected) > len(GLEIF_ISINS)
    assert ", 2 files read, " in result.stderr
    assert json.loads((out.parent / "isins.txt.json").read_text())["files"] == 2


# --- Sources: a list in parts, and the FIRDS registers ---------------------------------------------


def _conditional(data: bytes, etag: str):
    """A handler that sends `data` with `etag`, or 304 when the request names that ETag."""

    def respond(request) -> Response:
        same = request.headers.get("If-None-Match") == etag
        return Response(b"" if same else data, status=304 if same else 200, headers={"ETag": etag})

    return respond


def test_fetch_several_urls_make_one_list_and_one_missing_part_fails_it(server, out):
    server.expect_request("/a.csv").respond_with_handler(_conditional(GLEIF_CSV, '"a"'))
    server.expect_request("/b.zip").respond_with_handler(_conditional(_zip(XETRA_CSV), '"b"'))
    urls = ["--url", server.url_for("/a.csv"), "--url", server.url_for("/b.zip")]
    result = fetch(*urls, "-o", str(out), "--allow-shrink")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().split() == sorted(set(GLEIF_ISINS) | set(parse([XETRA_CSV])[0]))
    record = json.loads((out.parent / "isins.txt.json").read_text())
    assert [part["etag"] for part in record["parts"]] == ['"a"', '"b"']
    result = fetch(*urls, "-o", str(out))  # both answer 304 to their own validators
    assert result.exit_code == 0 and "unchanged since the last fetch" in result.stderr, result.stderr
    out.write_bytes(OLD_LIST)
    (out.parent / "isins.txt.json").unlink()  # as assert_refused expects: only the list and its lock
    result = fetch(*urls, "--url", server.url_for("/missing.csv"), "-o", str(out))
    assert_refused(result, out, f"{server.url_for('/missing.csv')} answered HTTP 500")


# --- Read the payload -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "column", "expected", "invalid", "duplicates"),
    [
        pytest.param(GLEIF_CSV, None, GLEIF_ISINS, 2, 1, id="gleif-csv-crlf"),
        pytest.param(b"\xef\xbb\xbf" + GLEIF_CSV, None, GLEIF_ISINS, 2, 1, id="bom"),
        pytest.param(GLEIF_CSV.replace(b",", b"\t"), None, GLEIF_ISINS, 2, 1, id="tab"),
        pytest.param(
            XETRA_CSV, None, [b"DE000BAY0017", b"GB0002634946", b"US0378331005"], 0, 0, id="xetra-preamble"
        ),
        pytest.param(
            XETRA_CSV,
            "Benchmark ISIN",
            [b"EU000A1G0BN7", b"XS0110106365"],
            1,
            0,
            id="column-with-an-empty-field",
        ),
        pytest.param(NSE_CSV, None, [b"CH0012221716", b"INE002A01018"], 0, 0, id="nse-isin-number"),
        pytest.param(
            b'"LEI","ISIN"\n"A","US0378331005"\n"B","GB0002634946"\n',
            None,
            GLEIF_ISINS[1:],
            0,
            0,
            id="quoted",
        ),
        pytest.param(
            b"US0378331005\nGB0002634946\nUS0378331003\n", None, GLEIF_ISINS[1:], 1, 0, id="plain-list"
        ),
        pytest.param(
            b'{"data":[{"isin":"US0378331005"},{"isin":"XS0110106365","x":"USX378331005"}]}',
            None,
            [b"US0378331005", b"XS0110106365"],
            1,  # USX378331005 has the shape but not the check digit
            0,
            id="json-tokens",
        ),
        pytest.param(
            b"<list><i>EU000A1G0BN7</i><i>US0378331005</i><i>XUS0378331005</i></list>",
            None,
            [b"EU000A1G0BN7", b"US0378331005"],
            0,
            0,
            id="xml-tokens",
        ),
        pytest.param(b"<html><body>Service unavailable</body></html>", None, [], 0, 0, id="html-error-page"),
        pytest.param(b"ISIN\n\n\nUS0378331005\n\n", None, [b"US0378331005"], 0, 0, id="blank-lines"),
    ],
)
def test_parse_isins(payload, column, expected, invalid, duplicates):
    assert parse([payload], column) == (expected, (len(expected), invalid, duplicates))


@pytest.mark.parametrize(
    ("payload", "column", "expected", "invalid"),
    [
        pytest.param(FIRDS_LIKE, "Id", [b"GB0002634946", b"US0378331005"], 3, id="xml-local-name"),
        pytest.param(FIRDS_LIKE, "ISIN", [b"XS0110106365"], 0, id="xml-not-underlying-isin"),
        pytest.param(
            FIRDS_LIKE.replace(b"auth:", b""),
            "Id",
            [b"GB0002634946", b"US0378331005"],
            3,
            id="xml-no-prefixes",
        ),
        pytest.param(
            FIRDS_LIKE.replace(b"\n", b""), "Id", [b"GB0002634946", b"US0378331005"], 3, id="xml-one-line"
        ),
        pytest.param(
            json.dumps(BROKER_JSON).encode(),
            "isin",
            [b"GB0002634946", b"US0378331005", b"XS0110106365"],
            1,
            id="json-nested-keys",
        ),
        pytest.param(
            json.dumps(BROKER_JSON, indent=2, ensure_ascii=False).encode(),
            "isin",
            [b"GB0002634946", b"US0378331005", b"XS0110106365"],
            1,
            id="json-pretty",
        ),
        pytest.param(
            json.dumps(BROKER_JSON["data"], separators=(",", ":")).encode(),
            "ISIN",
            [b"IE00B4L5Y983"],
            0,
            id="json-compact-top-level-list",
        ),
    ],
)
def test_parse_column_in_xml_and_json(payload, column, expected, invalid):
    """XML: the text of every element of that local name, whatever its prefix or attributes.
    JSON: the string value of every key of that name, at any depth. Anything else is not read."""
    for chunk_size in (1, 5, 64, 1 << 20):
        chunks = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
        isins, counts = parse(chunks, column)
        assert (isins, counts.invalid) == (expected, invalid), chunk_size


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="US0378331005GBXab _<>\xe9\xdf", max_size=60))
def test_isin_token_regex_reads_as_its_plain_form(text):
    """The tokens found in the text's character classes are those the plain regex finds in it."""
    plain = re.compile(r"(?<![A-Za-z0-9])" + isintool.ISIN_PATTERN + r"(?![A-Za-z0-9])")
    tokens, count = isintool._token_values(text, isintool._Reading(isintool._TOKENS))
    assert tokens == plain.findall(text) and count == len(tokens)


def test_parse_column_blocks_never_split_a_value(monkeypatch):
    """Blocks end before a tag in XML and before a member in JSON: tiny blocks lose nothing."""
    monkeypatch.setattr(isintool, "BLOCK_SIZE", 7)
    isins = [isin for isin in VALID_ISINS for _ in range(30)]
    xml = (
        b"<r>"
        + b"".join(b"<x:Id a='1'> %s </x:Id><Idx>%s</Idx>" % (i.encode(), i.encode()) for i in isins)
        + b"</r>"
    )
    document = json.dumps({"d": [{"isin": isin, "n": "a, {b}"} for isin in isins]}).encode()
    for payload, column in ((xml, "Id"), (document, "isin")):
        assert parse([payload], column, workers=2)[0] == sorted({i.encode() for i in isins})


def test_parse_column_neither_csv_xml_nor_json_is_an_error():
    with pytest.raises(isintool.IsinToolError, match=r"no column named 'Id' .* no XML or JSON"):
        parse([b"US0378331005 GB0002634946\n"], "Id")


@pytest.mark.skipif(not FIRDS_EXCERPT.exists(), reason="../shared/data/real is not beside this clone")
def test_parse_firds_excerpt_column_id_gives_exactly_its_instruments():
    import xml.etree.ElementTree as ElementTree

    tree = ElementTree.parse(FIRDS_EXCERPT)
    general = (element for element in tree.iter() if element.tag.endswith("}FinInstrmGnlAttrbts"))
    instruments = {element.find("{*}Id").text for element in general}
    everything = {
        element.text for element in tree.iter() if element.text and isintool.is_valid_isin(element.text)
    }
    data = FIRDS_EXCERPT.read_bytes()
    assert parse([data], "Id")[0] == sorted(i.encode() for i in instruments)
    assert parse([data])[0] == sorted(i.encode() for i in everything)  # without --column: every token
    assert len(instruments) < len(everything)


@pytest.mark.parametrize("payload", [GLEIF_CSV, XETRA_CSV, NSE_CSV, b"x US0378331005 y GB0002634946 z\n"])
def test_parse_isins_same_for_every_chunk_size(payload):
    whole = parse([payload])
    for size in range(1, len(payload) + 1):
        chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
        assert parse(chunks) == whole, size


def test_small_chunks_are_joined_into_blocks_and_half_blocks_go_on_as_they_are():
    chunks = [b"a" * 3, b"b" * 3, b"c" * 10, b"d" * 2, b"e" * 2, b"f" * 3, b"g" * 4, b"h"]
    assert list(isintool._joined(chunks, 8)) == [b"aaabbb", b"c" * 10, b"ddeefff", b"gggg", b"h"]
    assert list(isintool._joined([b"x" * 3, b"y" * 5], 8)) == [b"xxx", b"y" * 5]  # nothing waits behind


def test_one_line_json_is_cut_into_blocks_between_tokens():
    """Text that is no CSV is cut after any byte that no token holds, so a payload on one long
    line is parsed in blocks, not whole, and no ISIN is cut in two."""
    isins = [isin for isin in VALID_ISINS for _ in range(4_000)]
    payload = json.dumps({"data": [{"isin": isin, "n": n} for n, isin in enumerate(isins)]}).encode()
    assert b"\n" not in payload and len(payload) > 3 * isintool.BLOCK_SIZE
    chunks = [payload[i : i + 65_536] for i in range(0, len(payload), 65_536)]
    blocks = list(isintool._blocks(chunks, isintool._Reading(isintool._TOKENS)))
    assert b"".join(blocks) == payload
    assert len(blocks) > 3 and max(map(len, blocks)) <= isintool.BLOCK_SIZE + 65_536
    assert parse(chunks) == (
        sorted(i.encode() for i in VALID_ISINS),
        (len(VALID_ISINS), 0, len(isins) - len(VALID_ISINS)),
    )


def test_parse_isins_quoted_newline_across_chunks():
    payload = b'Name,ISIN\n"two\nlines, one record",US0378331005\nplain,GB0002634946\n'
    for size in range(1, len(payload) + 1):
        chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
        assert parse(chunks)[0] == [b"GB0002634946", b"US0378331005"], size


def _regex_read(block: bytes, layout: isintool._CsvLayout) -> tuple[list[bytes], int]:
    """What the general CSV reading makes of a block: its valid ISINs, sorted, and its row count."""
    candidates, rows = isintool._csv_candidates(block.decode("latin-1"), layout)
    return sorted(c.encode("latin-1") for c in candidates if isintool.is_valid_isin(c)), rows


def _fast_read(lines: bytearray) -> tuple[list[bytes], int]:
    """What the fast path makes of a block's column: its valid ISINs, sorted, and its row count."""
    rows = len(lines) // 13
    lines = bytearray(lines)
    return isintool._valid_sorted(lines, isintool._isin_mask(lines)).split(b"\n")[:-1], rows


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_fixed_width_rows_are_cut_by_position(newline, delimiter):
    """GLEIF-shaped rows take the strided-slice path, and read as the regex reads them."""
    layout = isintool._CsvLayout(delimiter, 1, 0)
    d = delimiter.encode()
    isins = VALID_ISINS + INVALID_ISINS[:3]  # 12 characters each, good and bad check digits
    block = b"".join(b"529900T8BM49AURSDO55" + d + i.encode() + d + b"x" + newline for i in isins)
    column = isintool._fixed_width_column(block, layout)
    assert column == "".join(i + "\n" for i in isins).encode()
    assert _fast_read(column) == _regex_read(block, layout)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b"A,US0378331005\nB,GB0002634946x\n", id="rows-of-two-widths"),
        pytest.param(b"A,US0378331005\nB,,B0002634946\n", id="a-delimiter-elsewhere"),
        pytest.param(b"A,US0378331005\n,BGB0002634946\n", id="the-field-moves"),
        pytest.param(b"A,US0378331005\nBGB000263494\n\n", id="a-blank-line"),
        pytest.param(b"A, US0378331005 \n", id="a-padded-field"),
        pytest.param(b"A,US0378331005,x\nB,GB0002634946\nx\n", id="a-newline-elsewhere"),
        pytest.param(b"AB\n", id="too-few-fields"),
        pytest.param(b"A,US0378331005", id="no-newline"),
    ],
)
def test_irregular_rows_are_left_to_the_regex(block):
    assert isintool._fixed_width_column(block, isintool._CsvLayout(",", 1, 0)) is None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(FIELDS, min_size=1, max_size=4).map(",".join),
    st.sampled_from(["", "\r"]),
    st.lists(st.tuples(st.integers(0, 60), st.sampled_from(",;\r \nAU0")), max_size=2),
    st.integers(1, 5),
    st.sampled_from([0, 1, 2]),
)
def test_fixed_width_path_reads_as_the_regex_does(fields, line_end, edits, count, column):
    """Rows alike but for a few edited characters: the fast path, when it takes a block, finds
    what the general reading finds, and declines what it cannot read alike."""
    row = fields + line_end
    text = bytearray(((row + "\n") * count).encode())
    for position, char in edits:
        text[position % len(text)] = ord(char)
    block = bytes(text) if text.endswith(b"\n") else bytes(text) + b"\n"
    layout = isintool._CsvLayout(",", column, 0)
    lines = isintool._fixed_width_column(block, layout)
    values = fields.split(",")
    if not edits and column < len(values) and len(values[column]) == 12:
        assert lines is not None  # rows all alike, the column 12 wide: the fast path's to read
    if lines is not None:
        assert _fast_read(lines) == _regex_read(block, layout)


def test_parse_isins_binary_garbage_has_no_header_and_no_isins():
    garbage = bytes(random.Random(1).randbytes(50_000)).replace(b"ISIN", b"isin")
    assert parse([b"ISIN\x00,\r,x\n" + garbage])[1].count == 0


def test_parse_isins_malformed_quoted_csv_is_an_error():
    with pytest.raises(
        isintool.IsinToolError, match="malformed CSV near row 1: field larger than field limit"
    ):
        parse([b'Name,ISIN\n"' + b"x" * 200_000 + b'",US0378331005\n'])


def test_parse_isins_unknown_column_is_an_error():
    with pytest.raises(isintool.IsinToolError, match="no column named 'CUSIP'"):
        parse([GLEIF_CSV], column="CUSIP")


def test_fetch_column_option(server, out):
    server.expect_request("/list").respond_with_data(XETRA_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--column", "benchmark isin")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == b"EU000A1G0BN7\nXS0110106365\n"
    server.expect_request("/firds.zip").respond_with_data(_zip(FIRDS_LIKE, "DLTINS_20261127_01of01.xml"))
    result = fetch("--url", server.url_for("/firds.zip"), "-o", str(out), "--column", "Id", "--allow-shrink")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == b"GB0002634946\nUS0378331005\n"
    assert "(3 invalid skipped, 0 duplicates" in result.stderr


@pytest.mark.parametrize(
    "header", ["ISIN", " ISIN NUMBER", "ISIN No", "ISIN No.", "ISIN_CODE", "ISIN Code", "isin-nr"]
)
def test_common_isin_headers_name_the_column(header):
    head = f"Name;{header};Benchmark ISIN\nApple;US0378331005;XS0110106365\n".encode()
    layout = isintool._find_csv_layout(head)
    assert layout is not None and (layout.delimiter, layout.column) == (";", 1)


@pytest.mark.skipif(not (REAL / "bse_Equity_2022-01.csv").exists(), reason="../shared/data/real is absent")
def test_bses_isin_no_column_is_read_as_the_csv_module_reads_it():
    """BSE's list heads its ISINs `ISIN No`: the column alone is read, not every token."""
    data = (REAL / "bse_Equity_2022-01.csv").read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig", "replace"))))
    column = rows[0].index("ISIN No")
    values = {row[column].strip() for row in rows[1:] if len(row) > column}
    expected = sorted(v for v in values if re.fullmatch(isintool.ISIN_PATTERN, v) and stdnum_isin.is_valid(v))
    isins, _ = parse([data])
    assert [i.decode() for i in isins] == expected and expected
    reading = isintool._choose_reading(data[:65536])
    assert reading.kind is isintool._CSV and reading.layout.column == column


def test_a_firds_file_read_for_every_token_is_told(server, out):
    """Without --column, a FIRDS report gives every ISIN-shaped token, its underlyings' too: the
    run says so, and how to read its instruments alone."""
    records = [
        firds_record(isintool._FULL, isin, "XBRD", n=n) for n, isin in enumerate(_fresh_isins("DE", 5))
    ]
    name = "FULINS_E_20261128_01of01"
    server.expect_request("/fulins.zip").respond_with_data(
        firds_zip(firds_document(records, name, "20261128"), name)
    )
    result = fetch("--url", server.url_for("/fulins.zip"), "-o", str(out), "--allow-shrink")
    assert result.exit_code == 0, result.stderr
    warning = (
        f"Warning: {server.url_for('/fulins.zip')} is a FIRDS file read for every ISIN-shaped token, "
        "its underlyings' too; --column Id reads only its instruments\n"
    )
    assert result.stderr.startswith(warning)
    result = fetch("--url", server.url_for("/fulins.zip"), "-o", str(out), "--column", "Id", "--overwrite")
    assert result.exit_code == 0 and "Warning" not in result.stderr, result.stderr


# --- Sort -----------------------------------------------------------------------------------------


def test_key_ranges_are_balanced_for_a_payload_sorted_already():
    """Each run of a sorted payload covers a narrow range: pivots from one run would put
    everything after it into the last range, and leave one worker to merge it alone."""
    isins = [f"US{i:09d}0" for i in range(10_000)]  # sorted; pivots need no check digits
    runs = ["".join(i + "\n" for i in isins[k : k + 1000]).encode() for k in range(0, 10_000, 1000)]
    pivots = isintool._pivots(runs, 8)
    ranges = isintool._KeyRanges.of(runs, pivots)
    sizes = [len(ranges.merge(k).text) // 13 for k in range(len(ranges))]
    assert len(sizes) == 8 and sum(sizes) == 10_000
    assert max(sizes) <= 1.2 * 10_000 / 8


RECORDS = st.lists(st.binary(min_size=12, max_size=12).map(lambda b: b.replace(b"\n", b"N")), max_size=300)


@pytest.fixture(params=["qsort", "python"])
def record_sort(request, monkeypatch):
    """_sort_records both ways: by the C library's qsort, and in Python where none is found."""
    if request.param == "qsort":
        assert isintool._c_qsort() is not None, "this machine has a C library"
    else:
        monkeypatch.setattr(isintool, "_c_qsort", lambda: None)
    return request.param


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    RECORDS.filter(lambda records: all(b"\x00" not in r for r in records)), st.integers(0, 200), st.randoms()
)
def test_records_sort_as_bytes_sort_and_repeats_are_dropped(record_sort, records, repeats, rng):
    """Sorting 13-byte records where they lie orders them as Python orders the bytes (each record
    its characters and a newline again), and the repeats of sorted records are each dropped,
    whether they are a few of the records or many."""
    records += [rng.choice(records) for _ in range(repeats)] if records else []
    text = bytearray(b"".join(r + b"\n" for r in records))
    isintool._sort_records(text)
    assert bytes(text) == b"".join(r + b"\n" for r in sorted(records))
    unique, dropped = isintool._without_repeats(text)
    assert bytes(unique) == b"".join(r + b"\n" for r in sorted(set(records)))
    assert dropped == len(records) - len(set(records))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    RECORDS, st.lists(st.sampled_from([i for i in VALID_ISINS + INVALID_ISINS if len(i) == 12])), st.randoms()
)
def test_valid_sorted_keeps_exactly_the_valid_isins_whatever_the_other_lines_hold(
    record_sort, other, isins, rng
):
    """Lines that are no ISIN, NUL bytes and bytes past ASCII included, sort last and are cut off,
    never in the way of a valid one."""
    lines = other + [isin.encode() for isin in isins]
    rng.shuffle(lines)
    text = bytearray(b"".join(line + b"\n" for line in lines))
    valid = isintool._valid_sorted(text, isintool._isin_mask(text))
    expected = sorted(line for line in lines if isintool.is_valid_isin(line.decode("latin-1")))
    assert bytes(valid) == b"".join(isin + b"\n" for isin in expected)


def test_a_record_that_is_not_13_bytes_is_refused_before_the_c_sort_reads_it():
    with pytest.raises(ValueError):
        isintool._sort_records(bytearray(b"US0378331005\nGB000263494\n"))


def test_fetch_without_a_c_library_writes_the_same_list(server, out, monkeypatch):
    """Where ctypes finds no C library, the records are sorted in Python: the same list."""
    rng = random.Random(21)
    rows = [b"LEI,ISIN"] + [
        b"LEI%017d," % i + rng.choice(VALID_ISINS + INVALID_ISINS).encode() for i in range(5000)
    ]
    server.expect_request("/list").respond_with_data(b"\n".join(rows) + b"\n")
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    with_c = out.read_bytes()
    monkeypatch.setattr(isintool, "_c_qsort", lambda: None)
    again = out.parent / "again.txt"
    result = fetch("--url", server.url_for("/list"), "-o", str(again))
    assert result.exit_code == 0, result.stderr
    assert again.read_bytes() == with_c == b"".join(i.encode() + b"\n" for i in sorted(set(VALID_ISINS)))


# --- Changes --------------------------------------------------------------------------------------


def test_fetch_changes_file_is_the_set_difference(server, out, tmp_path):
    before, after = _fresh_isins("DE", 40), _fresh_isins("DE", 60)[20:]
    out.write_text("".join(isin + "\n" for isin in sorted(before)))
    server.expect_request("/list").respond_with_data("ISIN\n" + "\n".join(after) + "\n")
    changes = tmp_path / "changes.txt"
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--changes", str(changes))
    assert result.exit_code == 0, result.stderr
    expected = sorted(
        [(i, "+") for i in set(after) - set(before)] + [(i, "-") for i in set(before) - set(after)]
    )
    assert changes.read_text() == "".join(sign + isin + "\n" for isin, sign in expected)
    assert "(20 added, 20 removed, " in result.stderr


@pytest.mark.parametrize(
    "edited",
    [
        pytest.param(b"US0378331005\r\nGB0002634946\r\n", id="crlf"),
        pytest.param(b"US0378331005\nGB0002634946\n", id="unsorted-13-bytes-a-line"),
        pytest.param(b"GB0002634946\nGB0002634946\nUS0378331005\n", id="a-duplicate"),
        pytest.param(b"GB0002634946\nUS0378331005", id="no-last-newline"),
    ],
)
def test_fetch_changes_against_a_list_edited_by_hand_count_every_isin_as_added(server, out, tmp_path, edited):
    """A list that is not sorted 13-byte records cannot be bisected: it counts as empty, as the
    warning says, never as a list whose ranges give the same ISIN both + and -."""
    out.write_bytes(edited)
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    changes = tmp_path / "changes.txt"
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--changes", str(changes))
    assert result.exit_code == 0, result.stderr
    assert f"Warning: {out} is not a list as fetch writes it: every ISIN counts as added" in result.stderr
    assert changes.read_bytes() == b"".join(b"+" + isin + b"\n" for isin in GLEIF_ISINS)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(VALID_ISINS), min_size=1, unique=True),
    st.integers(0, 10_000),
    st.sampled_from(b"\n\r \t0Aa.9Z"),
    st.booleans(),
)
def test_old_list_read_by_columns_as_by_the_regexes(isins, where, byte, shuffled):
    """A list as fetch writes it is recognised a column at a time, without the regexes: with one
    byte changed anywhere, or in another order, inspect finds what the regexes alone find."""
    text = bytearray(b"".join(isin.encode() + b"\n" for isin in (isins if shuffled else sorted(isins))))
    text[where % len(text)] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "isins.txt")
        Path(path).write_bytes(text)
        by_columns = isintool._OldList.inspect(path)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(isintool, "_shaped_records", lambda text: False)
            assert isintool._OldList.inspect(path) == by_columns


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(VALID_ISINS), unique=True),
    st.lists(st.sampled_from(VALID_ISINS), unique=True),
    st.integers(1, 2),
)
def test_changes_ride_on_the_merge_in_every_key_range(before, after, workers):
    """Per key range, in one process or two, against the old list read from disk: the set
    difference, sorted, with its counts."""
    with tempfile.TemporaryDirectory() as folder:
        old = os.path.join(folder, "old.txt")
        with open(old, "w") as f:
            f.write("".join(isin + "\n" for isin in sorted(before)))
        pieces: list[bytes] = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(isintool, "PARALLEL_MIN_BLOCKS", 0)
            patch.setattr(isintool, "BLOCK_SIZE", 40)
            patch.setattr(isintool, "KEY_RANGE_ISINS", 2)
            payload = ("ISIN\n" + "\n".join(after) + "\n").encode()
            chunks = [payload[i : i + 30] for i in range(0, len(payload), 30)]
            counts = isintool.parse_texts(
                [("t", chunks)], lambda piece: None, None, workers, old, pieces.append
            )
    added, removed = set(after) - set(before), set(before) - set(after)
    expected = sorted([(i, "+") for i in added] + [(i, "-") for i in removed])
    assert b"".join(pieces).decode() == "".join(sign + isin + "\n" for isin, sign in expected)
    assert (counts.added, counts.removed) == (len(added), len(removed))


# --- The parse pipeline ---------------------------------------------------------------------------


def test_parse_isins_in_worker_processes_matches_one_process(monkeypatch, pools):
    monkeypatch.setattr(isintool, "PARALLEL_MIN_BLOCKS", 1)
    monkeypatch.setattr(isintool, "BLOCK_SIZE", 64 * 1024)  # the 4 KiB chunks joined into ~12 blocks
    rng = random.Random(12)
    rows = [b"LEI,ISIN"]
    for _ in range(20_000):
        isin = rng.choice(VALID_ISINS + INVALID_ISINS[:4]).encode()
        rows.append(b"5493001KJTIIGC8Y1R12," + isin)
    payload = b"\n".join(rows) + b"\n"
    chunks = [payload[i : i + 4096] for i in range(0, len(payload), 4096)]
    serial = parse(chunks)
    assert pools == []
    assert parse(chunks, workers=2) == serial
    assert pools, "the worker processes never started"
    isins, counts = serial
    assert isins == sorted({i.encode() for i in VALID_ISINS})
    assert counts.invalid == sum(1 for r in rows[1:] if r[21:].decode() not in VALID_ISINS)


def test_fetch_in_worker_processes_writes_the_same_list(server, out, monkeypatch, pools):
    rng = random.Random(7)
    rows = [b"LEI,ISIN"] + [b"LEI%017d," % i + rng.choice(VALID_ISINS).encode() for i in range(30_000)]
    payload = _zip(b"\n".join(rows) + b"\n")
    server.expect_request("/list").respond_with_data(payload)
    expected = b"".join(i.encode() + b"\n" for i in sorted(set(VALID_ISINS)))
    monkeypatch.setattr(isintool, "PARALLEL_MIN_BLOCKS", 0)
    # Many blocks, many runs, every key range used: the inflated text comes in 8 KiB pieces.
    monkeypatch.setattr(isintool, "INFLATE_STEP", 8192)
    monkeypatch.setattr(isintool, "BLOCK_SIZE", 8192)
    monkeypatch.setattr(isintool, "KEY_RANGE_ISINS", 1000)  # 30 ranges: a pool merges them
    monkeypatch.setattr(isintool, "_available_cores", lambda: 2)
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert len(pools) == 2, "the parse's and the merge's workers"
    assert out.read_bytes() == expected
    assert result.stderr.startswith(f"wrote {len(set(VALID_ISINS))} ISINs to {out} (0 invalid skipped, ")


# --- Write ----------------------------------------------------------------------------------------


def test_write_atomically_new_file_gets_0644_under_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        isintool.write_atomically(str(tmp_path / "new.txt"), [b"a\n", b"b\n"])
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").read_bytes() == b"a\nb\n"
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["new.txt"]


def test_write_atomically_keeps_the_mode_of_an_existing_file(tmp_path):
    path = tmp_path / "isins.txt"
    path.write_bytes(b"old\n")
    path.chmod(0o600)
    isintool.write_atomically(str(path), [b"new\n"])
    assert (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) == (b"new\n", 0o600)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_write_atomically_keeps_the_owner_of_an_existing_file(tmp_path):
    """root's nightly fetch must not take the list away from the user who reads it."""
    path = tmp_path / "isins.txt"
    path.write_bytes(b"old\n")
    os.chown(path, 65534, 65534)
    path.chmod(0o640)  # chown would clear set-id bits, so the mode is set after it
    isintool.write_atomically(str(path), [b"new\n"])
    status = path.stat()
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (65534, 65534, 0o640)


def test_write_atomically_never_makes_a_file_group_or_world_writable(tmp_path):
    path = tmp_path / "isins.txt"
    path.write_bytes(b"old\n")
    path.chmod(0o6777)
    isintool.write_atomically(str(path), [b"new\n"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_write_atomically_failure_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "isins.txt"
    path.write_bytes(b"old\n")

    def pieces():
        yield b"partial\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        isintool.write_atomically(str(path), pieces())
    assert path.read_bytes() == b"old\n"
    assert os.listdir(tmp_path) == ["isins.txt"]


# --- FIRDS: a register's full set and its deltas, kept as (ISIN, venue) pairs ---------------------


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _firds_read(data: bytes, size: int = 1 << 20) -> list[tuple[str, str, str, str | None]]:
    return [
        (r.kind, r.isin.decode(), r.mic.decode(), r.ends.decode() if r.ends else None)
        for r in isintool._firds_records(chunked(data, size))
    ]


@pytest.mark.skipif(not EXCERPT.exists(), reason="../shared/data/real is not beside this folder")
@pytest.mark.parametrize("size", [1 << 20, 4096, 777], ids=["one-chunk", "4k", "odd"])
def test_read_records_of_the_real_excerpt_equal_elementtree(size, monkeypatch):
    monkeypatch.setattr(isintool, "BLOCK_SIZE", 8192)  # many blocks, each cut before a record
    data = EXCERPT.read_bytes()
    assert _firds_read(data, size) == tree_records(data)
    assert len(tree_records(data)) == 400 and isintool._firds_header(data[:4096]) == isintool._FirdsHeader(
        True, "2021-01-17"
    )


def _pretty(data: bytes) -> bytes:
    """The same XML with a newline and indent between tags, as a pretty-printer writes it."""
    return data.replace(b"><", b">\n  <")


CASES = [
    firds_record("NewRcrd", "DE0000000001", "XEUR", None, 0),
    firds_record("ModfdRcrd", "DE0000000002", "XPAR", "2021-01-16", 1),
    firds_record("TermntdRcrd", "DE0000000003", "XMLI", "2021-01-15", 2),
    firds_record("CancRcrd", "DE0000000004", "XAMS", None, 3),
]


@pytest.mark.parametrize(
    "records",
    [
        pytest.param(CASES, id="four-kinds-with-a-cancellation"),
        pytest.param(CASES[:3], id="fast-reading"),
        pytest.param(
            [
                CASES[0].replace(
                    "</TradgVnRltdAttrbts>",
                    "</TradgVnRltdAttrbts><TradgVnRltdAttrbts><Id>XFRA</Id>"
                    "<IssrReq>false</IssrReq><FrstTradDt>2020-01-01T00:00:00Z</FrstTradDt>"
                    "<TermntnDt>2021-02-01T00:00:00Z</TermntnDt></TradgVnRltdAttrbts>",
                    1,
                )
            ],
            id="two-venues-in-one-record",
        ),
        pytest.param(
            [CASES[0].replace("<FinInstrmGnlAttrbts>", "<TechRcrdId>7</TechRcrdId><FinInstrmGnlAttrbts>")],
            id="technical-record-id",
        ),
    ],
)
@pytest.mark.parametrize("pretty", [False, True], ids=["one-line", "indented"])
def test_read_records_equal_elementtree_whatever_the_layout(records, pretty):
    data = firds_document(records, "DLTINS_20210117_01of01", "20210117")
    data = _pretty(data) if pretty else data
    assert _firds_read(data, 100) == tree_records(data)


def test_read_records_of_a_full_set_are_refdata():
    data = firds_document(
        [firds_record(isintool._FULL, "FR0000000001", "XPAR", "2030-01-01")],
        "FULINS_E_20210116_01of01",
        "20210116",
    )
    assert _firds_read(data) == [("RefData", "FR0000000001", "XPAR", "2030-01-01")]
    assert isintool._firds_header(data) == isintool._FirdsHeader(False, "2021-01-16")


def test_a_file_with_prefixed_elements_is_refused():
    data = firds_document(CASES, "DLTINS_20210117_01of01", "20210117").replace(
        b"<FinInstrmRptgRefDataDltaRpt>", b"<a:FinInstrmRptgRefDataDltaRpt>"
    )
    with pytest.raises(IsinToolError, match="not a FIRDS file"):
        list(isintool._firds_records([data]))


def test_a_venue_id_that_is_no_mic_is_refused():
    data = firds_document(
        [firds_record("NewRcrd", "DE0000000001", "XE", None)], "DLTINS_20210117_01of01", "20210117"
    )
    with pytest.raises(IsinToolError, match=r"no MIC.*XE"):
        isintool._block_pairs((data, b"2021-01-17"))


@pytest.mark.parametrize(
    ("kind", "ends", "active"),
    [
        pytest.param("RefData", "2020-01-01", True, id="full-set-pair-always-active"),
        pytest.param("NewRcrd", None, True, id="new"),
        pytest.param("NewRcrd", "2021-01-16", False, id="new-ended-before-the-day"),
        pytest.param("NewRcrd", "2021-01-17", True, id="new-ending-on-the-day"),
        pytest.param("ModfdRcrd", "2021-06-30", True, id="modified-ending-later"),
        pytest.param("ModfdRcrd", "2021-01-16", False, id="modified-with-a-past-termination"),
        pytest.param("TermntdRcrd", None, False, id="terminated"),
        pytest.param("TermntdRcrd", "2099-01-01", False, id="terminated-with-a-future-date"),
        pytest.param("CancRcrd", None, False, id="cancelled"),
    ],
)
def test_pair_state_follows_the_issue_rules(kind, ends, active):
    assert isintool._pair_state(kind, ends.encode() if ends else None, b"2021-01-17") is active


def test_block_pairs_drops_invalid_isins_and_lets_inactive_win_within_a_day():
    good, other = numbered_isins("DE", 2)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    records = [
        firds_record("NewRcrd", good, "XEUR"),
        firds_record("TermntdRcrd", good, "XEUR", "2021-01-10"),  # same pair, same day: the termination wins
        firds_record("ModfdRcrd", other, "XPAR"),
        firds_record("NewRcrd", bad, "XEUR"),
    ]
    data = firds_document(records, "DLTINS_20210117_01of01", "20210117")
    pairs = isintool._block_pairs((data, b"2021-01-17"))
    assert pairs.active == [f"{other}XPAR".encode()] and pairs.inactive == [f"{good}XEUR".encode()]
    assert (pairs.records, pairs.invalid) == (4, 1)
    assert pairs.kinds == {"NewRcrd": 2, "TermntdRcrd": 1, "ModfdRcrd": 1}


@pytest.mark.skipif(not WHOLE.exists(), reason="../shared/data/real is not beside this folder")
def test_the_whole_real_dltins_gives_the_issues_counts_and_equals_iterparse():
    data = zipfile.ZipFile(WHOLE).read("DLTINS_20210117_01of01.xml")
    counts = {}
    for pairs in isintool._day_pairs(
        [("DLTINS_20210117_01of01.zip", chunked(data, 1 << 20))], "20210117", workers=2
    ):
        for kind, n in pairs.kinds.items():
            counts[kind] = counts.get(kind, 0) + n
    assert counts == {"TermntdRcrd": 101_648, "ModfdRcrd": 38_571, "NewRcrd": 1_162}
    mine = list(isintool._firds_records(chunked(data, 1 << 20)))
    assert len({r.isin for r in mine}) == 124_945
    tree = tree_records(data)
    assert [
        (r.kind, r.isin.decode(), r.mic.decode(), r.ends.decode() if r.ends else None) for r in mine
    ] == tree
    by_isin: dict[str, set[str]] = {}
    for kind, isin, _mic, _ends in tree:
        by_isin.setdefault(isin, set()).add(kind)
    assert sum(1 for kinds in by_isin.values() if {"ModfdRcrd", "TermntdRcrd"} <= kinds) == 10_144
    ops = isintool._day_ops(isintool._day_pairs([("DLTINS_20210117_01of01.zip", [data])], "20210117"))
    oracle = FirdsOracle()
    oracle.day("20210117", [data])
    assert {key.decode(): active for key, active in ops.items()} == {
        isin + mic: active for (isin, mic), active in oracle.pairs.items()
    }
    assert list(ops.values()).count(False) == 101_648 + 1  # the one ModfdRcrd ended the day before


def test_esma_and_fca_queries_are_as_documented():
    first, last = datetime.date(2021, 1, 17), datetime.date(2021, 1, 19)
    from urllib.parse import parse_qs, urlsplit

    esma = parse_qs(urlsplit(isintool._esma_query("https://r/select", "DLTINS", first, last, 500)).query)
    assert esma == {
        "q": ["*"],
        "fq": ["publication_date:[2021-01-17T00:00:00Z TO 2021-01-19T23:59:59Z]", "file_type:DLTINS"],
        "wt": ["json"],
        "start": ["500"],
        "rows": [str(isintool.FIRDS_PAGE_ROWS)],
    }
    fca = parse_qs(urlsplit(isintool._fca_query(isintool.FCA_FIRDS_REGISTER, "FULINS", first, last, 0)).query)
    assert fca == {
        "q": ["((file_type:FULINS) AND (publication_date:[2021-01-17 TO 2021-01-19]))"],
        "from": ["0"],
        "size": [str(isintool.FIRDS_PAGE_ROWS)],
    }


def test_the_real_register_answer_reads_as_files():
    """The real Solr answer in ../shared (wt=xml there; its docs are what wt=json gives)."""
    if not (REAL / "firds_esma_registers_solr_filelist_2021-01-17.xml").exists():
        pytest.skip("../shared/data/real is not beside this folder")
    tree = ElementTree.parse(REAL / "firds_esma_registers_solr_filelist_2021-01-17.xml")
    docs = [{field.get("name"): field.text for field in doc} for doc in tree.iter("doc")]
    answer = {"response": {"numFound": int(tree.find("result").get("numFound")), "docs": docs}}
    page = isintool._register_page(
        answer, "https://registers.esma.europa.eu/solr/esma_registers_firds_files/select"
    )
    files = [isintool._firds_file(doc, "https://x/") for doc in page.docs]
    assert [(f.name, f.date, f.n, f.m, f.md5) for f in files] == [
        ("DLTINS_20210117_01of01.zip", "20210117", 1, 1, "852b2dde71cf114289ad95ada2a4e406"),
        ("DLTINS_20210119_01of02.zip", "20210119", 1, 2, "3533fe597fc721ed139198503fe87910"),
        ("DLTINS_20210119_02of02.zip", "20210119", 2, 2, "4edec7a18a04a8a11c2735f4405acbaf"),
        ("DLTINS_20210118_01of01.zip", "20210118", 1, 1, "f88a84bd2423c5016476577d2c2f4687"),
    ]
    days, missing = isintool._delta_days(files, "20210116")
    assert [d.date for d in days] == ["20210117", "20210118", "20210119"] and missing == []


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"hits": {"total": 1, "hits": []}}, id="es6-total"),
        pytest.param({"hits": {"total": {"value": 1, "relation": "eq"}, "hits": []}}, id="es7-total"),
    ],
)
def test_fca_answers_of_either_elasticsearch_version_are_read(answer):
    assert isintool._register_page(answer, "u") == isintool._RegisterPage("fca", 1, [])


def test_an_answer_of_neither_shape_is_refused():
    with pytest.raises(IsinToolError, match="neither a Solr list"):
        isintool._register_page({"error": "no"}, "https://example.com/select?key=s3cr3t")


@pytest.mark.parametrize("dialect", ["esma", "fca"])
@pytest.mark.parametrize("told", [True, False], ids=["named", "told-apart-by-shape"])
def test_register_files_pages_through_either_dialect(httpserver, monkeypatch, dialect, told):
    monkeypatch.setattr(isintool, "FIRDS_PAGE_ROWS", 2)
    register = FirdsRegister(httpserver, dialect)
    for letter, m in (("D", 2), ("E", 1)):
        for n in range(1, m + 1):
            register.publish(f"FULINS_{letter}_20210116_{n:02d}of{m:02d}.zip", [])
    for name in ("DLTINS_20210117_01of01.zip", "DLTINS_20210118_01of02.zip", "DLTINS_20210118_02of02.zip"):
        register.publish(name, [])
    register.publish("DLTINS_20201201_01of01.zip", [])  # outside the window: not asked for
    found, files = isintool._register_files(
        register.index, firds_get_json, datetime.date(2021, 1, 18), dialect if told else None
    )
    assert found == dialect
    assert sorted(f.name for f in files) == sorted(d["file_name"] for d in register.docs[:-1])
    assert all(f.md5 for f in files) == (dialect == "esma")
    pages = [q for q in register.queries if q.get("q") != "*" or dialect == "esma"]
    paging = "start" if dialect == "esma" else "from"
    assert [int(q[paging]) for q in pages] == [0, 2, 0, 2]  # 3 FULINS, 3 DLTINS, 2 a page


def _firds_files(*names: str) -> list[isintool._FirdsFile]:
    return [
        isintool._firds_file({"file_name": n, "file_type": n[:6], "download_link": n}, "https://r/")
        for n in names
    ]


FULL_16 = ("FULINS_D_20210116_01of02.zip", "FULINS_D_20210116_02of02.zip", "FULINS_E_20210116_01of01.zip")


@pytest.mark.parametrize(
    ("names", "held", "action", "days", "missing"),
    [
        pytest.param(FULL_16, None, "full", [], [], id="first-night-full-set-only"),
        pytest.param(
            (*FULL_16, "DLTINS_20210116_01of01.zip", "DLTINS_20210117_01of01.zip"),
            None,
            "full",
            ["20210117"],
            [],
            id="delta-on-the-full-sets-day-is-inside-it",
        ),
        pytest.param(
            (*FULL_16, "DLTINS_20210117_01of01.zip"),
            isintool._Held("20210116", ("20210117",)),
            "unchanged",
            [],
            [],
            id="no-new-delta",
        ),
        pytest.param(
            (
                *FULL_16,
                "DLTINS_20210117_01of01.zip",
                "DLTINS_20210118_01of02.zip",
                "DLTINS_20210118_02of02.zip",
            ),
            isintool._Held("20210116", ("20210117",)),
            "deltas",
            ["20210118"],
            [],
            id="a-new-day-in-two-parts",
        ),
        pytest.param(
            (*FULL_16, "DLTINS_20210117_01of01.zip", "DLTINS_20210119_01of01.zip"),
            isintool._Held("20210116", ("20210117",)),
            "unchanged",
            [],
            ["DLTINS_20210118_*.zip"],
            id="a-gap",
        ),
        pytest.param(
            (
                *FULL_16,
                "DLTINS_20210117_01of01.zip",
                "DLTINS_20210118_02of03.zip",
                "DLTINS_20210119_01of01.zip",
            ),
            isintool._Held("20210116", ()),
            "deltas",
            ["20210117"],
            ["DLTINS_20210118_01of03.zip", "DLTINS_20210118_03of03.zip"],
            id="an-incomplete-day",
        ),
        pytest.param(
            (
                *FULL_16,
                "FULINS_E_20210123_01of01.zip",
                "FULINS_D_20210123_01of01.zip",
                "DLTINS_20210124_01of01.zip",
            ),
            isintool._Held("20210116", ("20210117", "20210118")),
            "full",
            ["20210124"],
            [],
            id="rebase-on-a-newer-full-set",
        ),
        pytest.param(
            (
                *FULL_16,
                "FULINS_E_20210123_01of01.zip",
                "FULINS_D_20210123_01of02.zip",
                "DLTINS_20210117_01of01.zip",
            ),
            isintool._Held("20210116", ()),
            "deltas",
            ["20210117"],
            [],
            id="newer-full-set-incomplete-goes-on",
        ),
    ],
)
def test_plan_night(names, held, action, days, missing):
    plan = isintool._plan_night(_firds_files(*names), held)
    assert (plan.action, [d.date for d in plan.days], plan.missing) == (action, days, missing)
    assert plan.held.as_of == (days[-1] if days else (plan.held.full if action == "full" else held.as_of))


def test_plan_names_a_newer_incomplete_full_set_and_fails_without_any():
    plan = isintool._plan_night(_firds_files(*FULL_16, "FULINS_E_20210123_01of02.zip"), None)
    assert plan.full.date == "20210116" and plan.newer_missing == ["FULINS_E_20210123_02of02.zip"]
    with pytest.raises(
        IsinToolError, match=r"no complete FULINS set in the last 21 days.*FULINS_D_20210116_02of02"
    ):
        isintool._plan_night(_firds_files("FULINS_D_20210116_01of02.zip"), None)


def _state_text(keys) -> bytes:
    return b"".join(k + b"\n" for k in sorted(set(keys)))


@pytest.mark.parametrize("workers", [1, 2])
def test_build_state_sorts_a_full_set_in_runs_and_ranges(tmp_path, monkeypatch, workers):
    """Small runs, samples and ranges, so that every run and range boundary is crossed."""
    monkeypatch.setattr(isintool, "BLOCK_SIZE", 4096)
    monkeypatch.setattr(isintool, "RUN_PAIRS", 50)
    monkeypatch.setattr(isintool, "SAMPLE_EVERY", 4)
    monkeypatch.setattr(isintool, "RANGE_PAIRS", 30)
    mics = ["XEUR", "XPAR", "XMLI", "XAMS", "FRAA"]
    parts = []
    for letter, start in (("D", 0), ("E", 150), ("O", 75)):  # letters overlap in ISINs, as venues do
        records = [
            firds_record(isintool._FULL, isin, mics[(i * 7) % 5], None, i)
            for i, isin in enumerate(numbered_isins("DE", 120, start))
        ]
        records += [
            firds_record(isintool._FULL, isin, "XFRA", None, i)
            for i, isin in enumerate(numbered_isins("XS", 40, start))
        ]
        parts.append(firds_document(records, f"FULINS_{letter}_20210116_01of01", "20210116"))
    good = numbered_isins("FR", 1)[0]
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)  # a check digit that fails
    parts.append(
        firds_document([firds_record(isintool._FULL, bad, "XPAR")], "FULINS_R_20210116_01of01", "20210116")
    )
    oracle = FirdsOracle()
    oracle.full(parts)
    pairs_out, isins_out = io.BytesIO(), io.BytesIO()
    texts = [(f"part{i}", chunked(p, 1000)) for i, p in enumerate(parts)]
    built = isintool._build_state(texts, pairs_out, isins_out, str(tmp_path), workers)
    assert pairs_out.getvalue() == oracle.state()
    assert isins_out.getvalue().decode().split() == oracle.isins()
    assert built.invalid == 1 and built.records == 3 * 160 + 1
    assert built.state.pairs == isintool._Digest(
        len(oracle.state()) // 17, hashlib.sha256(oracle.state()).hexdigest()
    )
    assert os.listdir(tmp_path) == []  # the runs are gone


def test_merge_day_equals_set_operations_on_random_states():
    import random

    rng = random.Random(7)
    pool = [isin.encode() for isin in numbered_isins("DE", 300)]
    mics = [b"XEUR", b"XPAR", b"XMLI"]
    for _ in range(30):
        state = {rng.choice(pool) + rng.choice(mics) for _ in range(rng.randrange(0, 400))}
        ops = {rng.choice(pool) + rng.choice(mics): rng.random() < 0.4 for _ in range(rng.randrange(0, 200))}
        written = []
        size = rng.choice([17, 34, 170, 1 << 20])
        plus, minus = isintool._merge_day(chunked(_state_text(state), size), ops, written.append)
        after = {k for k in state if ops.get(k, True)} | {k for k, active in ops.items() if active}
        assert b"".join(written) == _state_text(after)
        isins_before, isins_after = {k[:12] for k in state}, {k[:12] for k in after}
        assert plus == sorted(isins_after - isins_before) and minus == sorted(isins_before - isins_after)


def test_apply_day_refuses_a_state_that_differs_from_its_record():
    state = _state_text([b"DE0000000001XEUR"])
    listed = b"DE0000000001\n"
    good = isintool._StateCounts(
        isintool._Digest(1, hashlib.sha256(state).hexdigest()),
        isintool._Digest(1, hashlib.sha256(listed).hexdigest()),
    )
    out = io.BytesIO(), io.BytesIO()
    isintool._apply_day(io.BytesIO(state), io.BytesIO(listed), good, {}, *out)
    assert out[0].getvalue() == state and out[1].getvalue() == listed
    damaged = state.replace(b"XEUR", b"XEUX")
    with pytest.raises(isintool._DamagedState, match="state file differs"):
        isintool._apply_day(io.BytesIO(damaged), io.BytesIO(listed), good, {}, io.BytesIO(), io.BytesIO())
    with pytest.raises(isintool._DamagedState, match="ISIN list"):
        isintool._apply_day(
            io.BytesIO(state), io.BytesIO(b"DE0000000002\n"), good, {}, io.BytesIO(), io.BytesIO()
        )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(VALID_ISINS), unique=True),
    st.lists(st.sampled_from(VALID_ISINS), unique=True),
    st.integers(1, 60),
    st.integers(1, 60),
)
def test_diff_and_union_of_lists_read_in_chunks_that_cut_records(old, new, old_size, new_size):
    """Lists read a MiB at a time cut a record anywhere (1 MiB is no multiple of 13 bytes): the
    changes and the union are the sets' whatever the cuts. (A cut record once made a night
    with --changes loop for ever.)"""
    old_text = b"".join(isin.encode() + b"\n" for isin in sorted(old))
    new_text = b"".join(isin.encode() + b"\n" for isin in sorted(new))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(isintool, "_LIST_BLOCK", 13 * 3)  # rounds of a few records: many rounds
        diff: list[bytes] = []
        counts = isintool._diff_lists(chunked(old_text, old_size), chunked(new_text, new_size), diff.append)
        union: list[bytes] = []
        count = isintool._union_lists(
            [chunked(old_text, old_size), chunked(new_text, new_size)], union.append
        )
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    assert counts == (len(added), len(removed))
    expected = sorted([(isin, "+") for isin in added] + [(isin, "-") for isin in removed])
    assert b"".join(diff).decode() == "".join(sign + isin + "\n" for isin, sign in expected)
    assert b"".join(union).decode().split() == sorted(set(old) | set(new)) and count == len(
        set(old) | set(new)
    )


def test_patch_diff_and_union_of_lists():
    lines = [isin.encode() for isin in numbered_isins("DE", 50)]
    listed = b"".join(i + b"\n" for i in lines)
    out: list[bytes] = []
    isintool._patch_list(
        chunked(listed, 13 * 7), [b"DE000000010X"[:11] + b"9"], [lines[3], lines[49]], out.append
    )
    expected = sorted([*(i for i in lines if i not in (lines[3], lines[49])), b"DE0000000109"])
    assert b"".join(out) == b"".join(i + b"\n" for i in expected)
    diff: list[bytes] = []
    assert isintool._diff_lists(chunked(listed, 13 * 5), chunked(b"".join(out), 13 * 3), diff.append) == (
        1,
        2,
    )
    assert b"".join(diff) == b"-" + lines[3] + b"\n+DE0000000109\n-" + lines[49] + b"\n"
    union: list[bytes] = []
    other = b"".join(i.encode() + b"\n" for i in numbered_isins("DE", 10, 45) + numbered_isins("GB", 3))
    assert (
        isintool._union_lists([chunked(listed, 13 * 4), chunked(other, 13 * 2)], union.append) == 50 + 5 + 3
    )
    assert b"".join(union).split() == sorted(set(listed.split()) | set(other.split()))
    with pytest.raises(isintool._DamagedState):
        isintool._patch_list([listed], [lines[0]], [], out.append)  # an ISIN the list holds already


def test_net_changes_compose_days():
    assert isintool._net_changes([([b"A"], [b"B"]), ([b"B"], [b"A", b"C"])]) == ([], [b"C"])


A, B, C, D, E, G, H, J, Z = numbered_isins("DE", 9, 900)  # the instruments whose fate the nights follow
FILLER = numbered_isins("XS", 40)


def _full_set(register: FirdsRegister, date: str, extra: list[str]) -> list[bytes]:
    """A full set in three parts over two letters: the filler on two venues each, and `extra`."""
    records = [
        firds_record(isintool._FULL, isin, mic, "2031-01-01" if n % 3 == 0 else None, n)
        for n, isin in enumerate(FILLER)
        for mic in ("XEUR", "XMLI")
    ]
    records += extra
    thirds = [records[0::3], records[1::3], records[2::3]]
    names = [f"FULINS_D_{date}_01of02.zip", f"FULINS_D_{date}_02of02.zip", f"FULINS_E_{date}_01of01.zip"]
    return [register.publish(name, part) for name, part in zip(names, thirds, strict=True)]


def _publish_day(
    register: FirdsRegister, date: str, *parts: list[str], total: int | None = None
) -> list[bytes]:
    m = total or len(parts)
    return [register.publish(f"DLTINS_{date}_{n:02d}of{m:02d}.zip", part) for n, part in enumerate(parts, 1)]


def _check_night(night: FirdsNight, oracle: FirdsOracle, before: list[str], folder: Path) -> None:
    assert night.listed == oracle.isins()
    assert (folder / "isins.txt.esma.pairs").read_bytes() == oracle.state()
    assert night.changes == expected_changes(before, night.listed)  # each night: the set difference


@pytest.mark.parametrize("dialect", ["esma", "fca"])
def test_nights_follow_the_rules_through_gaps_rebases_and_damage(httpserver, monkeypatch, tmp_path, dialect):
    monkeypatch.setattr(isintool, "FIRDS_PAGE_ROWS", 3)
    monkeypatch.setattr(isintool, "RUN_PAIRS", 30)  # several runs and ranges even for a small set
    monkeypatch.setattr(isintool, "RANGE_PAIRS", 20)
    monkeypatch.setattr(isintool, "_STATE_BLOCK", 17 * 16)
    monkeypatch.setattr(isintool, "_LIST_BLOCK", 13 * 8)
    register = FirdsRegister(httpserver, dialect)
    oracle = FirdsOracle()

    # Saturday's full set: A and B on two venues each, C on one.
    full = _full_set(
        register,
        "20210116",
        [
            firds_record(isintool._FULL, A, "XEUR"),
            firds_record(isintool._FULL, A, "XPAR"),
            firds_record(isintool._FULL, B, "XEUR"),
            firds_record(isintool._FULL, B, "XPAR"),
            firds_record(isintool._FULL, C, "XMLI", "2025-01-01"),
        ],
    )
    _publish_day(
        register, "20210116", [firds_record("NewRcrd", H, "XEUR")]
    )  # dated on the full set's day: inside it
    day17 = _publish_day(
        register,
        "20210117",
        [
            firds_record("TermntdRcrd", A, "XPAR", "2021-01-15"),  # A keeps XEUR: it stays
            firds_record("TermntdRcrd", B, "XEUR", "2021-01-15"),
            firds_record("TermntdRcrd", B, "XPAR", "2021-01-16"),  # B goes
            firds_record("TermntdRcrd", Z, "XEUR", "2020-06-30"),  # a late termination of a pair never seen
            firds_record("ModfdRcrd", C, "XMLI", "2021-01-16"),  # modified, terminated before the day: C goes
            firds_record("NewRcrd", D, "XAMS", "2022-01-01"),  # new, ending later
            firds_record(
                "ModfdRcrd", E, "XEUR", "2021-01-17"
            ),  # a modification of a pair never seen, ending today
            firds_record("NewRcrd", G, "XEUR"),
            firds_record("CancRcrd", G, "XEUR"),  # new and cancelled the same day
            firds_record("CancRcrd", FILLER[0], "XMLI"),  # a cancellation: FILLER[0] keeps XEUR
        ],
    )
    night = run_night(register, tmp_path, "20210117", dialect=dialect)
    oracle.full(full)
    oracle.day("20210117", day17)
    _check_night(night, oracle, [], tmp_path)
    assert night.result.plan.action == "full" and night.record["days"] == ["20210117"]
    assert A in night.listed and B not in night.listed and C not in night.listed and H not in night.listed
    assert D in night.listed and E in night.listed and G not in night.listed and Z not in night.listed
    assert night.record["dialect"] == dialect and night.result.notes == ()

    # No delta yet tonight: unchanged, nothing downloaded.
    downloads = register.downloads()
    again = run_night(register, tmp_path, "20210117", night.record)
    assert again.result.plan.action == "unchanged" and register.downloads() == downloads
    assert again.changes == b"" and again.record == night.record and again.listed == night.listed

    # Two days at once, the second in two parts; B comes back, A loses its last venue.
    day18 = _publish_day(
        register,
        "20210118",
        [firds_record("NewRcrd", B, "XEUR"), firds_record("TermntdRcrd", A, "XEUR", "2021-01-17")],
    )
    day19 = _publish_day(
        register,
        "20210119",
        [firds_record("NewRcrd", J, "XEUR")],
        [firds_record("TermntdRcrd", D, "XAMS", "2021-01-18")],
    )
    before = night.listed
    night = run_night(register, tmp_path, "20210119", night.record)
    oracle.day("20210118", day18)
    oracle.day("20210119", day19)
    _check_night(night, oracle, before, tmp_path)
    assert night.result.plan.action == "deltas" and night.record["days"] == [
        "20210117",
        "20210118",
        "20210119",
    ]
    assert (A in night.listed, B in night.listed, D in night.listed, J in night.listed) == (
        False,
        True,
        False,
        True,
    )

    # A gap: the 21st is out, the 20th is not. Stop at the 19th, warn, change nothing.
    _publish_day(register, "20210121", [firds_record("NewRcrd", A, "XEUR")], [], total=2)
    register.docs.pop()  # the 21st's part 2 is not listed yet
    gap = run_night(register, tmp_path, "20210121", night.record)
    assert gap.result.plan.action == "unchanged" and gap.listed == night.listed and gap.changes == b""
    assert gap.result.notes == (
        "the FIRDS deltas stop at 20210119 (missing DLTINS_20210120_*.zip): the list is as of that day, "
        "and the next run goes on from there",
    )
    # The 20th comes late; the 21st is still incomplete: apply the 20th, warn of the 21st's part.
    day20 = _publish_day(register, "20210120", [firds_record("ModfdRcrd", J, "XEUR", "2021-01-19")])
    before = night.listed
    night = run_night(register, tmp_path, "20210121", gap.record)
    oracle.day("20210120", day20)
    _check_night(night, oracle, before, tmp_path)
    assert J not in night.listed and night.record["days"][-1] == "20210120"
    assert "missing DLTINS_20210121_02of02.zip" in night.result.notes[0]

    # A newer full set is complete: rebase on it, then its days (not the one on its own date).
    register.publish("DLTINS_20210121_02of02.zip", [])
    _publish_day(register, "20210122", [firds_record("NewRcrd", G, "XEUR")])
    full23 = _full_set(
        register,
        "20210123",
        [firds_record(isintool._FULL, C, "XMLI"), firds_record(isintool._FULL, H, "XEUR")],
    )
    _publish_day(
        register, "20210123", [firds_record("TermntdRcrd", C, "XMLI")]
    )  # inside the full set of the 23rd
    day24 = _publish_day(
        register, "20210124", [firds_record("NewRcrd", Z, "XPAR"), firds_record("TermntdRcrd", H, "XEUR")]
    )
    before = night.listed
    night = run_night(register, tmp_path, "20210124", night.record)
    oracle = FirdsOracle()
    oracle.full(full23)
    oracle.day("20210124", day24)
    _check_night(night, oracle, before, tmp_path)
    assert night.result.plan.action == "full" and (night.record["full"], night.record["days"]) == (
        "20210123",
        ["20210124"],
    )
    assert C in night.listed and Z in night.listed and H not in night.listed and B not in night.listed

    # A damaged state (one byte, same size): found while it is read, rebuilt from the full set.
    day25 = _publish_day(register, "20210125", [firds_record("NewRcrd", A, "XEUR")])
    pairs = tmp_path / "isins.txt.esma.pairs"
    pairs.write_bytes(pairs.read_bytes().replace(b"XEUR", b"XEUX", 1))
    before = night.listed
    night = run_night(register, tmp_path, "20210125", night.record)
    oracle.day("20210125", day25)
    _check_night(night, oracle, before, tmp_path)
    assert night.result.plan.action == "full" and night.result.notes[0].startswith("the state file differs")

    # A missing state file: rebuilt as well, with a warning.
    pairs.unlink()
    night = run_night(register, tmp_path, "20210125", night.record)
    _check_night(night, oracle, night.listed, tmp_path)
    assert (
        night.result.notes[0]
        == "the FIRDS state beside the list is missing or damaged: rebuilt from the full set"
    )


def test_a_file_that_fails_its_md5_fails_the_night_and_keeps_the_list(esma, tmp_path):
    _full_set(esma, "20210116", [])
    night = run_night(esma, tmp_path, "20210116")
    listed = (tmp_path / "isins.txt").read_bytes()
    esma.publish("DLTINS_20210117_01of01.zip", [firds_record("NewRcrd", A, "XEUR")], checksum="0" * 32)
    with pytest.raises(IsinToolError, match=r"DLTINS_20210117_01of01\.zip does not match its published MD5"):
        run_night(esma, tmp_path, "20210117", night.record)
    assert (tmp_path / "isins.txt").read_bytes() == listed
    assert sorted(os.listdir(tmp_path)) == ["isins.txt", "isins.txt.esma.pairs"]  # no temporary left


def test_a_corrupt_zip_from_the_fca_fails_on_its_crc(fca, tmp_path):
    """The FCA publishes no checksum: the zip's CRC-32s are the check."""
    _full_set(fca, "20210116", [])
    name = "FULINS_E_20210116_01of01.zip"
    data = bytearray(fca.files[name])
    data[len(data) // 2] ^= 0xFF
    fca.files[name] = bytes(data)
    with pytest.raises(IsinToolError, match=r"corrupt payload|CRC"):
        run_night(fca, tmp_path, "20210116")
    assert not (tmp_path / "isins.txt").exists()


def test_held_state_refuses_records_that_do_not_add_up(tmp_path):
    paths = isintool._StatePaths(str(tmp_path / "p"), str(tmp_path / "i"))
    (tmp_path / "p").write_bytes(b"DE0000000001XEUR\n")
    (tmp_path / "i").write_bytes(b"DE0000000001\n")
    state = isintool._StateCounts(isintool._Digest(1, "a" * 64), isintool._Digest(1, "b" * 64))
    record = isintool._state_record(
        "https://r/select?key=s3cr3t", "esma", isintool._Held("20210116", ("20210117",)), state
    )
    assert isintool._held_state(record, paths) == (isintool._Held("20210116", ("20210117",)), state)
    assert "s3cr3t" not in json.dumps(record)
    assert isintool._held_state({**record, "days": ["20210118"]}, paths) is None  # a day skipped
    assert (
        isintool._held_state({**record, "pairs": {"count": 2, "sha256": "a" * 64}}, paths) is None
    )  # wrong size
    assert isintool._held_state({**record, "full": None}, paths) is None
    assert isintool._held_state({**record, "full": "20211340"}, paths) is None  # eight digits, no date
    assert isintool._held_state("garbage", paths) is None


def _dashed(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}"


def test_fetch_firds_keeps_the_list_day_by_day(esma, out, tmp_path):
    """Through the CLI: a full set and the days after it the first night; the next day's file
    alone the next night (the pairs read from beside the list); nothing on a night with no new
    day. Each night's list is the oracle's, and its changes the set difference."""
    full, first, second, third = (_days_ago(n) for n in (4, 3, 2, 1))
    oracle = FirdsOracle()
    oracle.full(
        _full_set(esma, full, [firds_record(isintool._FULL, i, "XPAR") for i in numbered_isins("FR", 4)])
    )
    french = numbered_isins("FR", 4)
    oracle.day(first, _publish_day(esma, first, [firds_record(isintool._TERMINATED, french[0], "XPAR")]))
    oracle.day(
        second,
        _publish_day(esma, second, [firds_record(isintool._NEW, i, "XAMS") for i in numbered_isins("NL", 3)]),
    )
    changes = tmp_path / "changes.txt"
    args = ["--firds", esma.index, "-o", str(out), "--changes", str(changes)]
    before = out.read_text().split()
    result = fetch(*args)
    assert result.exit_code == 0, result.stderr
    assert out.read_text().split() == oracle.isins()
    assert changes.read_bytes() == expected_changes(before, oracle.isins())
    assert "5 files read" in result.stderr and "Warning" not in result.stderr
    signs = [line[:1] for line in changes.read_bytes().split()]  # a full-set night: the diff's counts
    assert f"({signs.count(b'+'):,} added, {signs.count(b'-'):,} removed, " in result.stderr
    assert signs.count(b"+") and signs.count(b"-")
    (held,) = json.loads((out.parent / "isins.txt.json").read_text())["firds"].values()
    assert (held["full"], held["days"], held["register"]) == (full, [first, second], esma.index)
    downloads = esma.downloads()
    before = out.read_text().split()
    oracle.day(third, _publish_day(esma, third, [firds_record(isintool._CANCELLED, french[1], "XPAR")]))
    result = fetch(*args)
    assert result.exit_code == 0, result.stderr
    assert esma.downloads() == downloads + 1  # the new day's file, nothing else
    assert out.read_text().split() == oracle.isins() and french[1] not in oracle.isins()
    assert changes.read_bytes() == expected_changes(before, oracle.isins())
    assert "(0 added, 1 removed, " in result.stderr  # a delta night: the day's
    result = fetch(*args)
    assert result.exit_code == 0 and "unchanged since the last fetch" in result.stderr, result.stderr
    assert esma.downloads() == downloads + 1 and changes.read_bytes() == b""
    (held,) = json.loads((out.parent / "isins.txt.json").read_text())["firds"].values()
    assert held["days"] == [first, second, third]


def test_fetch_firds_warns_of_a_gap_and_goes_on_from_the_day_before(esma, out):
    full, first, second = (_days_ago(n) for n in (4, 3, 1))  # the day between is missing
    oracle = FirdsOracle()
    oracle.full(_full_set(esma, full, []))
    oracle.day(first, _publish_day(esma, first, [firds_record(isintool._TERMINATED, FILLER[0], "XEUR")]))
    _publish_day(esma, second, [firds_record(isintool._TERMINATED, FILLER[1], "XEUR")])
    result = fetch("--firds", esma.index, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    gap = _days_ago(2)
    assert result.stderr.startswith(
        f"Warning: the FIRDS deltas stop at {first} (missing DLTINS_{gap}_*.zip): the list is as of that day"
    )
    assert out.read_text().split() == oracle.isins()


def test_fetch_firds_without_a_complete_full_set_fails_and_keeps_the_list(esma, out):
    esma.publish(f"FULINS_C_{_days_ago(3)}_02of02.zip", [firds_record(isintool._FULL, FILLER[0], "XEUR")])
    result = fetch("--firds", esma.index, "-o", str(out))
    assert_refused(result, out, f"no complete FULINS set in the last 21 days at {esma.index}")
    assert f"FULINS_C_{_days_ago(3)}_01of02.zip" in result.stderr


@pytest.mark.parametrize("bad_times", [1, 99])
def test_fetch_firds_checks_each_file_against_the_registers_md5(esma, out, bad_times):
    """A file that differs from its published MD5 is asked for again from its first byte (the
    night starts over), then fails naming the file, the list kept."""
    _full_set(esma, _days_ago(2), [])
    name = f"FULINS_E_{_days_ago(2)}_01of01.zip"
    esma.spoiled[name] = bad_times
    result = fetch("--firds", esma.index, "-o", str(out), "--retries", "2")
    if bad_times == 1:
        assert result.exit_code == 0, result.stderr
    else:
        assert_refused(result, out, f"{name} does not match its published MD5 checksum (after 3 attempts)")


def test_fetch_firds_from_two_registers_makes_one_list(esma, server, out):
    """--firds esma --firds fca (here two loopback registers, one of each dialect): each keeps its
    own pairs; the list is the union of theirs."""
    fca = FirdsRegister(server, "fca")
    oracle_esma, oracle_fca = FirdsOracle(), FirdsOracle()
    oracle_esma.full(_full_set(esma, _days_ago(2), []))
    oracle_fca.full(
        [
            fca.publish(
                f"FULINS_E_{_days_ago(3)}_01of01.zip",
                [firds_record(isintool._FULL, i, "XLON") for i in numbered_isins("GB", 5)],
            )
        ]
    )
    result = fetch("--firds", esma.index, "--firds", fca.index, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_text().split() == sorted(set(oracle_esma.isins()) | set(oracle_fca.isins()))
    names = sorted(json.loads((out.parent / "isins.txt.json").read_text())["firds"])
    assert [f"isins.txt.{name}.pairs" in os.listdir(out.parent) for name in names] == [True, True]
    inode = out.stat().st_ino  # a night with no new day in either: the union stays as it is
    result = fetch("--firds", esma.index, "--firds", fca.index, "-o", str(out))
    assert result.exit_code == 0 and "unchanged since the last fetch" in result.stderr, result.stderr
    assert out.stat().st_ino == inode
    result = fetch("--firds", esma.index, "--firds", esma.index, "-o", str(out))
    assert result.exit_code == 2 and "--firds names the same register twice" in result.stderr


def test_fetch_firds_changes_on_a_first_night_and_of_a_union(esma, server, tmp_path):
    """--changes against no list at all (the first night: every ISIN is new); then a second
    register joins (the first one's state is kept, not rebuilt; its files share names with the
    first one's, as ESMA's and the FCA's do); a day in it ends an ISIN of the union; then it
    leaves (the first one's state kept again, the second's files removed), and a day goes on."""
    out, changes = tmp_path / "isins.txt", tmp_path / "changes.txt"
    oracle = FirdsOracle()
    oracle.full(_full_set(esma, _days_ago(3), []))
    result = fetch("--firds", esma.index, "-o", str(out), "--changes", str(changes))
    assert result.exit_code == 0, result.stderr
    assert changes.read_bytes() == expected_changes([], oracle.isins())
    fca = FirdsRegister(server, "fca")
    british = numbered_isins("GB", 3, 900)  # none of them in the filler
    fca.publish(
        f"FULINS_E_{_days_ago(3)}_01of01.zip", [firds_record(isintool._FULL, i, "XLON") for i in british]
    )
    both = ["--firds", esma.index, "--firds", fca.index, "-o", str(out), "--changes", str(changes)]
    downloads = esma.downloads()
    result = fetch(*both)
    assert result.exit_code == 0, result.stderr
    assert "Warning" not in result.stderr and esma.downloads() == downloads  # ESMA's state kept
    assert changes.read_bytes() == expected_changes(oracle.isins(), sorted([*oracle.isins(), *british]))
    fca.publish(f"DLTINS_{_days_ago(2)}_01of01.zip", [firds_record(isintool._TERMINATED, british[0], "XLON")])
    result = fetch(*both)
    assert result.exit_code == 0, result.stderr
    assert changes.read_bytes() == b"-" + british[0].encode() + b"\n"
    assert out.read_text().split() == sorted([*oracle.isins(), *british[1:]])
    fresh = tmp_path / "fresh.txt"  # both registers' files downloaded the same night, names alike
    result = fetch("--firds", esma.index, "--firds", fca.index, "-o", str(fresh))
    assert result.exit_code == 0, result.stderr
    assert fresh.read_text() == out.read_text()
    downloads = esma.downloads()
    alone = ["--firds", esma.index, "-o", str(out), "--changes", str(changes)]
    result = fetch(*alone)  # the FCA dropped: ESMA's state kept, OUTPUT its list again
    assert result.exit_code == 0, result.stderr
    assert "Warning" not in result.stderr and esma.downloads() == downloads
    assert out.read_text().split() == oracle.isins()
    assert changes.read_bytes() == b"".join(b"-" + i.encode() + b"\n" for i in british[1:])
    beside = sorted(p.suffix for p in tmp_path.iterdir() if p.name.startswith("isins.txt."))
    assert beside == [".json", ".lock", ".pairs"]  # the FCA's files gone, and ESMA's own list
    ended = FILLER[0]  # on both its venues: it goes
    day = [firds_record(isintool._TERMINATED, ended, mic) for mic in ("XEUR", "XMLI")]
    oracle.day(_days_ago(2), _publish_day(esma, _days_ago(2), day))
    result = fetch(*alone)  # a delta night on the list at OUTPUT
    assert result.exit_code == 0, result.stderr
    assert "Warning" not in result.stderr and esma.downloads() == downloads + 1
    assert out.read_text().split() == oracle.isins() and ended not in oracle.isins()
    assert changes.read_bytes() == b"-" + ended.encode() + b"\n"


def _esma_and_a_big_fca(esma, server, out):
    """ESMA's full set and an FCA register with more ISINs than it, fetched into one list."""
    oracle = FirdsOracle()
    oracle.full(_full_set(esma, _days_ago(3), []))
    fca = FirdsRegister(server, "fca")
    british = numbered_isins("GB", 100, 900)  # more than ESMA's: dropping them halves the list
    fca.publish(
        f"FULINS_E_{_days_ago(3)}_01of01.zip", [firds_record(isintool._FULL, i, "XLON") for i in british]
    )
    result = fetch("--firds", esma.index, "--firds", fca.index, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    return oracle


def test_fetch_firds_dropping_a_register_refused_as_a_shrink_keeps_the_others_state(esma, server, out):
    """Dropping the FCA halves the list: refused (nothing replaced, ESMA's day neither), then
    allowed, with ESMA's state kept (only its new day read)."""
    oracle = _esma_and_a_big_fca(esma, server, out)
    listed = out.read_bytes()
    day = [firds_record(isintool._TERMINATED, FILLER[1], mic) for mic in ("XEUR", "XMLI")]
    oracle.day(_days_ago(2), _publish_day(esma, _days_ago(2), day))
    alone = ["--firds", esma.index, "-o", str(out)]
    result = fetch(*alone)
    assert result.exit_code == 1 and "refusing to shrink" in result.stderr
    assert out.read_bytes() == listed
    downloads = esma.downloads()
    result = fetch(*alone, "--allow-shrink")
    assert result.exit_code == 0 and "Warning" not in result.stderr, result.stderr
    assert esma.downloads() == downloads + 1 and out.read_text().split() == oracle.isins()


def test_fetch_firds_a_register_that_fails_leaves_the_others_state_as_recorded(esma, server, out):
    """A register joins, and its file fails tonight while ESMA has a new day: nothing is
    replaced, so the next night finds ESMA's state as the sidecar records it (not rebuilt)."""
    oracle = FirdsOracle()
    oracle.full(_full_set(esma, _days_ago(3), []))
    assert fetch("--firds", esma.index, "-o", str(out)).exit_code == 0
    listed = out.read_bytes()
    other = FirdsRegister(server, "esma")
    name = f"FULINS_E_{_days_ago(3)}_01of01.zip"
    other.publish(name, [firds_record(isintool._FULL, i, "XLON") for i in numbered_isins("GB", 3, 900)])
    other.spoiled[name] = 100  # fails its MD5 on every try tonight
    day = [firds_record(isintool._TERMINATED, FILLER[1], mic) for mic in ("XEUR", "XMLI")]
    oracle.day(_days_ago(2), _publish_day(esma, _days_ago(2), day))
    both = ["--firds", esma.index, "--firds", other.index, "-o", str(out)]
    result = fetch(*both)
    assert result.exit_code == 1 and out.read_bytes() == listed, result.stderr
    other.spoiled[name] = 0
    downloads = esma.downloads()
    result = fetch(*both)
    assert result.exit_code == 0 and "Warning" not in result.stderr, result.stderr
    assert esma.downloads() == downloads + 1  # ESMA's day, not its full set again


def test_fetch_firds_leaves_files_it_does_not_keep_alone(esma, tmp_path, monkeypatch):
    """A file named as a register's list beside another would be, on a night of one register:
    not ours, kept."""
    monkeypatch.setitem(isintool.FIRDS_REGISTERS, "esma", esma.index)
    FirdsOracle().full(_full_set(esma, _days_ago(3), []))
    mine = tmp_path / "isins.txt.esma.isins"  # another job's -o, say
    mine.write_text("mine\n")
    assert fetch("--firds", "esma", "-o", str(tmp_path / "isins.txt")).exit_code == 0
    assert mine.read_text() == "mine\n"


def test_fetch_firds_refuses_one_register_named_twice(esma, tmp_path, monkeypatch):
    monkeypatch.setitem(isintool.FIRDS_REGISTERS, "esma", esma.index)
    result = fetch("--firds", "esma", "--firds", esma.index, "-o", str(tmp_path / "isins.txt"))
    assert result.exit_code == 2 and "--firds names the same register twice" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "-"], "--firds keeps its registers' pairs beside the list: give -o a file, not -"),
        (["--column", "Id"], "--firds reads each file's instruments and venues: no --column with it"),
    ],
)
def test_fetch_firds_refuses_what_it_cannot_keep(runner, args, message):
    result = runner.invoke(cli, ["fetch", "--firds", "--", *args][:2] + args)
    assert result.exit_code == 2 and message in result.stderr


# --- Fetch state: links, the lock, the sidecar ----------------------------------------------------


def test_fetch_wait_gives_up_at_max_time(server, out):
    with lock_held_elsewhere(out, 10):
        started = time.monotonic()
        result = fetch("--url", server.url_for("/list"), "-o", str(out), "--wait", "--max-time", "1")
        waited = time.monotonic() - started
    assert result.exit_code == isintool.EXIT_LOCKED, result.stderr
    assert result.stderr == f"Error: another fetch was still writing {out} after 1 second (--max-time)\n"
    assert 1 <= waited < 3
    assert out.read_bytes() == OLD_LIST and server.log == []


def test_fetch_exits_75_while_another_holds_the_lock(server, out):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    with isintool._output_lock(str(out)):
        result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert result.exit_code == isintool.EXIT_LOCKED == 75
    assert "another fetch is writing" in result.stderr
    assert out.read_bytes() == OLD_LIST and server.log == []


def test_fetch_wait_takes_the_lock_when_it_is_free(server, out):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    with lock_held_elsewhere(out, 0.5):
        started = time.monotonic()
        result = fetch("--url", server.url_for("/list"), "-o", str(out), "--wait", "-q")
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - started >= 0.4
    assert out.read_bytes().split() == GLEIF_ISINS


def test_two_concurrent_fetch_processes(server, out):
    """A real second process while the first is mid-download: it exits 75, the first completes."""
    started = threading.Event()

    def slow(request):
        started.set()
        time.sleep(1.5)
        return Response(GLEIF_CSV)

    server.expect_request("/list").respond_with_handler(slow)
    command = [
        sys.executable,
        isintool.__file__,
        "fetch",
        "--url",
        server.url_for("/list"),
        "-o",
        str(out),
        "-q",
    ]
    first = subprocess.Popen(command, stderr=subprocess.PIPE)
    assert started.wait(10)
    second = subprocess.run(command, capture_output=True, check=False)
    assert second.returncode == 75 and b"another fetch is writing" in second.stderr
    assert first.wait(10) == 0
    assert out.read_bytes().split() == GLEIF_ISINS


def test_fetch_killed_mid_download_blocks_nothing(server, out):
    started = threading.Event()

    def hang(request):
        def body():
            yield b"ISIN\n" + b"US0378331005\n" * 1000
            started.set()
            for _ in range(50):
                time.sleep(0.1)
                yield b"GB0002634946\n"

        return Response(body())

    server.expect_oneshot_request("/list").respond_with_handler(hang)
    command = [sys.executable, isintool.__file__, "fetch", "--url", server.url_for("/list"), "-o", str(out)]
    victim = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    assert started.wait(10)
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert out.read_bytes() == OLD_LIST
    # The list's temporary file is made as the download starts; the next fetch removes it.
    left = [name for name in os.listdir(out.parent) if name not in ("isins.txt", "isins.txt.lock")]
    assert all(name.startswith(".isins.txt.") and name.endswith(".tmp") for name in left), left
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "-q")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().split() == GLEIF_ISINS
    assert sorted(os.listdir(out.parent)) == ["isins.txt", "isins.txt.json", "isins.txt.lock"]


def test_fetch_through_a_symlink_keeps_the_link(server, out, tmp_path):
    link = tmp_path / "current.txt"
    link.symlink_to(out)
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and out.read_bytes().split() == GLEIF_ISINS
    assert result.stderr.startswith(f"wrote 3 ISINs to {link} ")


def test_fetch_removes_what_a_killed_write_left_and_only_that(server, out):
    """A killed fetch's temporaries of the list and its sidecar go; those of another output in
    the same folder (a fetch of isins.txt.gleif may be running) and other hidden files stay."""
    ours = [".isins.txt.abc12345.tmp", ".isins.txt.json.k3_9zq0x.tmp"]
    theirs = [".isins.txt.gleif.abc12345.tmp", ".isins.txt.gleif.tmp", ".isins.txt.notes", ".isins.txt.a.tmp"]
    for name in ours + theirs:
        (out.parent / name).write_bytes(b"half a list")
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "-q").exit_code == 0
    assert sorted(p.name for p in out.parent.glob(".*")) == sorted(theirs)


def test_fetch_removes_its_own_firds_scratch_folders_only(server, out):
    """A killed FIRDS night's scratch folder goes with the next fetch of that output; the one
    of a night running now for another output in the same folder stays."""
    ours = out.parent / ".isins.txt.esma.pairs.firds-ab_c1234"
    theirs = [out.parent / ".isins.txt.gleif.esma.pairs.firds-x9y8z7w6", out.parent / ".firds-q1w2e3r4"]
    for folder in [ours, *theirs]:
        folder.mkdir()
        (folder / "1.pairs").write_bytes(b"half a state")
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "-q").exit_code == 0
    assert not ours.exists() and all(folder.is_dir() for folder in theirs)
    assert isintool._scratch_prefix(str(out) + ".esma.pairs") == ".isins.txt.esma.pairs.firds-"


@needs_root
@pytest.mark.parametrize("planted", ["isins.txt", "isins.txt.json"])
def test_root_refuses_another_users_link_in_a_sticky_folder(server, sticky, tmp_path, planted):
    victim = tmp_path / "victim"
    victim.write_bytes(b"root's own file\n")
    as_nobody("ln", "-s", str(victim), str(sticky / planted))
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(sticky / "isins.txt"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: refusing to follow {sticky / planted}: a link in a sticky world-writable folder, "
        f"owned by another user (uid {(sticky / planted).lstat().st_uid}) than you or the folder's owner\n"
    )
    assert victim.read_bytes() == b"root's own file\n"
    assert sorted(os.listdir(sticky)) == [planted]  # nothing written: no lock, no temporary file
    assert server.log == []


@needs_root
def test_root_follows_its_own_link_in_a_sticky_folder(server, sticky, tmp_path):
    target = tmp_path / "isins.txt"
    (sticky / "mine.txt").symlink_to(target)
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(sticky / "mine.txt"), "-q")
    assert result.exit_code == 0, result.stderr
    assert (sticky / "mine.txt").is_symlink() and target.read_bytes().split() == GLEIF_ISINS


@needs_root
def test_root_creates_nothing_at_a_planted_lock_link(server, sticky, tmp_path):
    target = tmp_path / "nologin"
    as_nobody("ln", "-s", str(target), str(sticky / "isins.txt.lock"))
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(sticky / "isins.txt"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: refusing the lock {sticky / 'isins.txt.lock'}: it is a symbolic link\n"
    assert not target.exists() and not target.is_symlink()
    assert sorted(os.listdir(sticky)) == ["isins.txt.lock"]


@pytest.mark.parametrize("kind", ["dangling-link", "link-to-a-file", "folder"])
def test_fetch_refuses_a_lock_that_is_no_regular_file(server, out, tmp_path, kind):
    lock = out.parent / "isins.txt.lock"
    target = tmp_path / "elsewhere"
    if kind == "folder":
        lock.mkdir()
    else:
        if kind == "link-to-a-file":
            target.write_bytes(b"")
        lock.symlink_to(target)
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: refusing the lock {lock}: ")
    assert out.read_bytes() == OLD_LIST
    assert target.exists() == (kind == "link-to-a-file") and server.log == []


def test_files_fetch_creates_are_never_group_or_world_writable(server, tmp_path):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    mask = os.umask(0)
    try:
        result = fetch("--url", server.url_for("/list"), "-o", str(tmp_path / "isins.txt"), "-q")
    finally:
        os.umask(mask)
    assert result.exit_code == 0, result.stderr
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    assert modes == {"isins.txt": 0o644, "isins.txt.json": 0o644, "isins.txt.lock": 0o644}


def test_fetch_missing_folder_is_one_line(server, tmp_path):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    missing = tmp_path / "missing"
    result = fetch("--url", server.url_for("/list"), "-o", str(missing / "isins.txt"))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: no folder {missing} for {missing / 'isins.txt'}: make it, writable by this user\n"
    )


def test_fetch_read_only_folder_names_the_folder(server):
    """A folder this user may not write: one line naming the folder, not the lock or a hidden
    temporary. Root writes anywhere, so as root the fetch runs as the user nobody."""
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    folder = Path(tempfile.mkdtemp(prefix="isintool-read-only-", dir="/tmp"))
    try:
        folder.chmod(0o555)
        argv = [sys.executable, str(ROOT / "isintool.py"), "fetch", "--url", server.url_for("/list")]
        argv += ["-o", str(folder / "isins.txt")]
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("needs setpriv to run as another user than root")
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]
            reach = subprocess.run([*argv[:4], sys.executable, "-c", "import click, requests"], check=False)
            if reach.returncode != 0:
                pytest.skip("the user nobody cannot reach this Python's packages (a private folder)")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
    assert result.returncode == 1
    assert result.stderr == f"Error: cannot write in {folder}: it is not writable by this user\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["-o", "-", "--changes", "x.txt"], "--changes needs an output file", id="changes-to-stdout"
        ),
        pytest.param(["-o", ""], "-o needs a file name", id="empty-output"),
        pytest.param(["-o", "/tmp"], "-o /tmp is a folder: name a file in it", id="output-a-folder"),
        pytest.param(["--url", "ftp://example.com/x.csv"], "must start with http:// or https://", id="ftp"),
        pytest.param(
            ["--url", "example.com/list.csv"], "must start with http:// or https://", id="no-scheme"
        ),
        pytest.param(["--max-bytes", "1.5G"], "'1.5G' is not a size", id="size"),
    ],
)
def test_fetch_usage_mistakes_exit_2_with_one_line(runner, args, message):
    result = runner.invoke(cli, ["fetch", *args])
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_fetch_names_a_folder_where_nothing_can_be_made(server):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", "/proc/isins.txt")
    assert result.exit_code == 1
    assert result.stderr == "Error: cannot create a file in /proc (No such file or directory)\n"


@pytest.mark.parametrize(
    ("existing", "content"),
    [
        pytest.param("isins.txt", b"Name,ISIN\nApple,US0378331005\n", id="a-csv-as-the-output"),
        pytest.param("isins.txt", b"Name,ISIN\n", id="a-csv-of-one-line"),
        pytest.param("changes.txt", b"keep me\n", id="a-note-as-the-changes"),
    ],
)
def test_fetch_never_replaces_a_file_that_is_not_ours_unless_told(server, tmp_path, existing, content):
    """A file that is no list (one ISIN a line) or no changes (+ISIN, -ISIN) is refused before
    anything is downloaded, and kept; --overwrite replaces it."""
    output, changes = tmp_path / "isins.txt", tmp_path / "changes.txt"
    (tmp_path / existing).write_bytes(content)
    server.clear_log()
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    args = ["--url", server.url_for("/list"), "-o", str(output), "--changes", str(changes)]
    result = fetch(*args)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    what = (
        "an ISIN list (one ISIN a line)"
        if existing == "isins.txt"
        else "a list of changes (+ISIN and -ISIN lines)"
    )
    assert result.stderr == (
        f"Error: {tmp_path / existing} is not {what}: refusing to replace it "
        "(--overwrite replaces it all the same)\n"
    )
    assert (tmp_path / existing).read_bytes() == content and server.log == []
    result = fetch(*args, "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert output.read_bytes().split() == GLEIF_ISINS


@pytest.mark.parametrize("form", ["path", "file-url", "relative"])
def test_fetch_reads_a_local_file_as_a_download(tmp_path, out, form, monkeypatch):
    source = tmp_path / "xetra list.csv"
    source.write_bytes(XETRA_CSV)
    monkeypatch.chdir(tmp_path)
    url = {"path": str(source), "file-url": source.as_uri(), "relative": source.name}[form]
    result = fetch("--url", url, "-o", str(out), "--allow-shrink")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().split() == [b"DE000BAY0017", b"GB0002634946", b"US0378331005"]
    assert f"{len(XETRA_CSV)} bytes downloaded" in result.stderr
    again = fetch("--url", url, "-o", str(out))  # no server to ask if it changed: read again
    assert again.exit_code == 0 and again.stderr.startswith("wrote 3 ISINs"), again.stderr
    missing = fetch("--url", str(tmp_path / "gone.csv"), "-o", str(out))
    assert (missing.exit_code, missing.stderr) == (1, f"Error: no file {tmp_path / 'gone.csv'}\n")


def test_fetch_records_each_check_even_when_nothing_changed(server, out):
    server.expect_request("/list").respond_with_handler(_conditional(GLEIF_CSV, '"v1"'))
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "--allow-shrink").exit_code == 0
    first = json.loads((out.parent / "isins.txt.json").read_text())
    assert first["checked_at"] == first["fetched_at"]
    time.sleep(1.1)  # the sidecar's times have seconds
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert "unchanged since the last fetch (3 ISINs)" in result.stderr
    second = json.loads((out.parent / "isins.txt.json").read_text())
    assert second["fetched_at"] == first["fetched_at"] and second["checked_at"] > first["checked_at"]
    assert {k: v for k, v in second.items() if k != "checked_at"} == {
        k: v for k, v in first.items() if k != "checked_at"
    }


def test_summary_counts_and_sizes_read_as_a_person_writes_them(server):
    one = b"ISIN\nUS0378331005\nUS0378331005\n"
    server.expect_request("/one").respond_with_data(one)
    result = fetch("--url", server.url_for("/one"), "-o", "-")
    assert result.stderr.startswith(
        f"wrote 1 ISIN to standard output (0 invalid skipped, 1 duplicate, {len(one)} bytes downloaded, "
    )
    assert isintool._size(99_999) == "99,999 bytes" and isintool._size(100_000) == "0.1 MB"
    assert isintool._size(1) == "1 byte" and isintool._size(79_312_345) == "79.3 MB"


# --- Fetch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "https://example.com/a.csv"], "give --url or --firds, not both"),
        (["--column", "ISIN"], "--firds reads each file's instruments and venues: no --column with it"),
    ],
)
def test_fetch_refuses_firds_with_a_url_or_a_column(runner, args, message):
    result = runner.invoke(cli, ["fetch", "--firds", *args])
    assert result.exit_code == 2 and result.stderr.endswith(f"Error: {message}\n"), result.stderr


def test_fetch_list_refuses_firds_with_a_column_as_the_cli_does(tmp_path):
    options = isintool.FetchOptions(firds="https://registers.example/select", column="ISIN")
    with pytest.raises(isintool.OptionError, match="no --column with it"):
        isintool.fetch_list([], str(tmp_path / "isins.txt"), options)


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(lambda s: s.respond_with_data(GLEIF_CSV, content_type="text/csv"), id="csv"),
        pytest.param(
            lambda s: s.respond_with_data(_zip(GLEIF_CSV), content_type="application/zip"), id="zip"
        ),
        pytest.param(lambda s: s.respond_with_data(gzip.compress(GLEIF_CSV)), id="gzip-file"),
        pytest.param(lambda s: s.respond_with_handler(_gzip_encoded), id="content-encoding-gzip"),
        pytest.param(
            lambda s: s.respond_with_data(_zip(GLEIF_CSV), content_type="application/octet-stream"),
            id="zip-wrong-content-type",
        ),
    ],
)
def test_fetch_formats(server, out, respond):
    respond(server.expect_request("/list"))
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == b"".join(i + b"\n" for i in GLEIF_ISINS)
    assert result.stdout == ""
    assert result.stderr.startswith(f"wrote 3 ISINs to {out} (2 invalid skipped, 1 duplicate, ")
    record = json.loads((out.parent / "isins.txt.json").read_text())
    [part] = record["parts"]
    assert record["count"] == 3 and record["files"] == 1 and part["url"] == server.url_for("/list")
    assert part["url_sha256"] == hashlib.sha256(server.url_for("/list").encode()).hexdigest()
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_fetch_new_file_and_environment_settings(server, tmp_path):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    path = tmp_path / "fresh.txt"
    result = fetch(env={"ISINTOOL_URL": server.url_for("/list"), "ISINTOOL_OUTPUT": str(path)})
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes().split() == GLEIF_ISINS
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~_current_umask()
    (request, _response), *_ = server.log
    assert request.headers["User-Agent"].startswith(f"isintool/{isintool.__version__} ")


def test_fetch_to_stdout(server):
    server.expect_request("/list").respond_with_data(XETRA_CSV)
    result = fetch("--url", server.url_for("/list"), "-o", "-", "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "DE000BAY0017\nGB0002634946\nUS0378331005\n",
        "",
    )


@pytest.mark.parametrize(
    ("respond", "args", "message"),
    [
        pytest.param(lambda s: s.respond_with_data("gone", status=404), [], "answered HTTP 404", id="404"),
        pytest.param(
            lambda s: s.respond_with_data("down", status=500), [], "HTTP 500 (after 4 attempts)", id="500"
        ),
        pytest.param(
            lambda s: s.respond_with_data(b"<html><body>Maintenance</body></html>", content_type="text/html"),
            [],
            "answered a web page (text/html), not a list: check the URL (or give --column to read the page)",
            id="html-page-with-200",
        ),
        pytest.param(
            lambda s: s.respond_with_data(
                b"<!doctype html><p>Back soon. Our ISIN list (e.g. US0378331005) returns at 06:00.</p>",
                content_type="text/html; charset=utf-8",
            ),
            [],
            "answered a web page (text/html), not a list",
            id="html-page-naming-an-isin",
        ),
        pytest.param(
            lambda s: s.respond_with_data(b"ISIN\nUS0378331003\nXS0110106366\n"),
            [],
            "no valid ISIN in what",
            id="only-invalid",
        ),
        pytest.param(lambda s: s.respond_with_data(_zip(GLEIF_CSV)[:-40]), [], "truncated", id="cut-zip"),
        pytest.param(
            lambda s: s.respond_with_data(_flip_in_data(_zip_layout("stored"))),
            [],
            "fails its CRC-32",
            id="flipped-bit-in-stored-data",
        ),
        pytest.param(
            lambda s: s.respond_with_data(_zip_layout("descriptor-stored")[:-150]),
            [],
            "truncated",
            id="cut-stored-with-descriptor",
        ),
        pytest.param(
            lambda s: s.respond_with_data(_zip(GLEIF_CSV)[:-22]),
            [],
            "lacks its end of central directory",
            id="zip-without-end-record",
        ),
        pytest.param(
            lambda s: s.respond_with_data(gzip.compress(GLEIF_CSV)[:-8]),
            [],
            "truncated",
            id="cut-gzip",
        ),
        pytest.param(
            lambda s: s.respond_with_data(b"ISIN\nUS0378331005\n" + b"x" * 5000),
            ["--max-bytes", "1000"],
            "over --max-bytes 1,000",
            id="max-bytes-download",
        ),
        pytest.param(
            lambda s: s.respond_with_data(gzip.compress(b"ISIN\nUS0378331005\n" + b" " * 10_000_000)),
            ["--max-bytes", "1000000"],
            "decompresses to more than 1000000 bytes",
            id="gzip-bomb",
        ),
        pytest.param(
            lambda s: s.respond_with_data(b"ISIN\nUS0378331005\n"),
            [],
            "refusing to shrink",
            id="shrink-to-a-third",
        ),
        pytest.param(
            lambda s: s.respond_with_data(GLEIF_CSV),
            ["--column", "CUSIP"],
            "no column named 'CUSIP'",
            id="no-column",
        ),
    ],
)
def test_fetch_refuses_and_keeps_the_old_list(server, out, respond, args, message):
    respond(server.expect_request("/list"))
    result = fetch("--url", server.url_for("/list"), "-o", str(out), *args)
    assert_refused(result, out, message)


def test_fetch_allow_shrink(server, out):
    server.expect_request("/list").respond_with_data(b"ISIN\nUS0378331005\n")
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "--allow-shrink", "-q")
    assert (result.exit_code, out.read_bytes()) == (0, b"US0378331005\n")


# --- Watch: metrics and pings ---------------------------------------------------------------------


LIST = "/var/lib/isintool/isins.txt"
TRICKY_PATH = '/srv/lists/a "quoted" back\\slash\nnewline.txt'  # every escape of the text format
NOW = 1_733_085_123.25
needs_promtool = pytest.mark.skipif(
    not shutil.which("promtool"), reason="promtool is not installed (apt-get install prometheus)"
)


def _outcome(**fields) -> isintool._Outcome:
    """A run that wrote the list, with `fields` changed."""
    written = dict(output=LIST, finished=NOW, duration=42.5, exit_code=0, isins=123_456, added=12, removed=3)
    return isintool._Outcome(**{**written, "invalid": 7, "downloaded": 79_000_000, **fields})


def sample_lines(text: str) -> dict[str, str]:
    """Each sample of exposition text by its series (`name{labels}`): the value after it."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            found[series] = value
    return found


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param("/var/lib/isintool/isins.txt", "/var/lib/isintool/isins.txt", id="plain"),
        pytest.param("C:\\DIR\\FILE.TXT", "C:\\\\DIR\\\\FILE.TXT", id="backslash"),
        pytest.param('a "b"', 'a \\"b\\"', id="double-quote"),
        pytest.param("a\nb", "a\\nb", id="line-feed"),
        pytest.param(os.fsdecode(b"/l\xffst.txt"), "/l\ufffdst.txt", id="not-utf-8"),
    ],
)
def test_label_values_are_escaped_as_the_text_format_says(value, written):
    assert isintool._escaped_label(value) == written
    assert isintool._last_success_in(isintool._metrics_text(_outcome(output=value), None), value) == NOW


def test_every_gauge_has_help_type_one_output_label_and_no_timestamp():
    lines = isintool._metrics_text(_outcome(output=TRICKY_PATH), None).splitlines()
    assert len(lines) == 3 * 10
    for help_line, type_line, sample in zip(lines[::3], lines[1::3], lines[2::3], strict=True):
        name = help_line.split()[2]
        assert help_line.startswith(f"# HELP {name} ") and type_line == f"# TYPE {name} gauge"
        labels, value = sample.removeprefix(name).rsplit(" ", 1)
        assert labels == '{output="/srv/lists/a \\"quoted\\" back\\\\slash\\nnewline.txt"}'
        float(value)  # one value, no timestamp after it
    names = [line.split()[2] for line in lines[::3]]
    assert all(name.startswith("isintool_fetch_") and not name.endswith("_total") for name in names)


def _fetch_with_metrics(server, out, metrics: Path, path: str, *args: str):
    return fetch("--url", server.url_for(path), "-o", str(out), "--metrics", str(metrics), *args)


def test_metrics_after_every_kind_of_run_and_a_failure_keeps_the_last_success(server, out, tmp_path):
    """Written, unchanged, failed, locked out: each run replaces the file (0644 whatever the
    umask); the failures keep the last success time; `promtool check metrics` finds nothing."""
    metrics = tmp_path / "textfile" / "isintool.prom"
    metrics.parent.mkdir()
    server.expect_request("/list").respond_with_handler(_conditional(GLEIF_CSV, '"v1"'))
    server.expect_request("/gone").respond_with_data("", status=500)
    texts = {}
    previous = os.umask(0o077)
    try:
        assert (
            _fetch_with_metrics(
                server, out, metrics, "/list", "--allow-shrink", "--changes", str(tmp_path / "c")
            ).exit_code
            == 0
        )
        texts["written"] = metrics.read_text()
        assert stat.S_IMODE(metrics.stat().st_mode) == 0o644
        assert _fetch_with_metrics(server, out, metrics, "/list").exit_code == 0
        texts["unchanged"] = metrics.read_text()
        assert _fetch_with_metrics(server, out, metrics, "/gone", "--retries", "0").exit_code == 1
        texts["failed"] = metrics.read_text()
        with lock_held_elsewhere(out, 5):
            assert _fetch_with_metrics(server, out, metrics, "/list").exit_code == isintool.EXIT_LOCKED
        texts["locked"] = metrics.read_text()
    finally:
        os.umask(previous)
    label = f'{{output="{out}"}}'
    values = {kind: sample_lines(text) for kind, text in texts.items()}
    first = float(values["written"]["isintool_fetch_last_success_timestamp_seconds" + label])
    assert values["written"]["isintool_fetch_isins_added" + label] == "1"  # AU0000XVGZA3, new
    assert float(values["unchanged"]["isintool_fetch_last_success_timestamp_seconds" + label]) > first
    kept = values["unchanged"]["isintool_fetch_last_success_timestamp_seconds" + label]
    for kind, code in (("failed", "1"), ("locked", "75")):
        assert values[kind]["isintool_fetch_last_success_timestamp_seconds" + label] == kept
        assert (
            values[kind]["isintool_fetch_success" + label],
            values[kind]["isintool_fetch_exit_code" + label],
        ) == ("0", code)
        assert values[kind]["isintool_fetch_isins" + label] == "3"  # the list kept
    assert sorted(os.listdir(metrics.parent)) == ["isintool.prom"]  # no temporary left
    if shutil.which("promtool"):
        for kind, text in texts.items():
            done = subprocess.run(
                ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
            )
            assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), kind


@needs_promtool
def test_promtool_check_metrics_does_complain_when_there_is_something_to_complain_of():
    text = isintool._metrics_text(_outcome(), None).replace(
        "isintool_fetch_success gauge", "isintool_fetch_success counter"
    )
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 3 and 'counter metrics should have "_total" suffix' in done.stderr


def test_a_missing_metrics_folder_warns_and_keeps_the_exit_code(server, out, tmp_path):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    metrics = tmp_path / "missing" / "isintool.prom"
    result = _fetch_with_metrics(server, out, metrics, "/list", "-q", "--allow-shrink")
    assert result.exit_code == 0
    assert (
        result.stderr
        == f"Warning: no folder {metrics.parent} for the metrics {metrics}: they were not written\n"
    )


@pytest.mark.parametrize("name", ["isintool.txt", "isintool.prom.tmp", ".prom", "isintool.PROM"])
def test_metrics_go_only_to_a_file_the_textfile_collector_reads(runner, tmp_path, name):
    result = runner.invoke(cli, ["fetch", "--metrics", str(tmp_path / name)])
    assert (
        result.exit_code == 2
        and "node_exporter's textfile collector reads only *.prom files" in result.stderr
    )


def test_a_run_waits_for_another_runs_metrics_and_then_gives_up(tmp_path, monkeypatch):
    monkeypatch.setattr(isintool, "METRICS_LOCK_SECONDS", 0.3)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another run, between its read and its rename
        started = time.monotonic()
        with pytest.raises(
            isintool.IsinToolError, match=r"stayed locked for 0\.3 seconds: the metrics .* were not written"
        ):
            isintool._write_metrics(str(tmp_path / "isintool.prom"), _outcome())
        assert 0.3 <= time.monotonic() - started < 2
    finally:
        os.close(fd)
    isintool._write_metrics(str(tmp_path / "isintool.prom"), _outcome())  # let go: written


def test_node_exporter_scrapes_the_metrics_file(node_exporter, server, out):
    url, folder = node_exporter
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    assert (
        _fetch_with_metrics(server, out, folder / "isintool.prom", "/list", "--allow-shrink").exit_code == 0
    )
    (folder / ".isintool.prom.x1y2z3ab.tmp").write_text("a killed run's half-written file {")  # not read
    scraped = sample_lines(requests.get(url + "/metrics", timeout=5).text)
    label = f'{{output="{out}"}}'
    assert scraped["isintool_fetch_success" + label] == "1" and scraped["isintool_fetch_isins" + label] == "3"
    assert scraped["node_textfile_scrape_error"] == "0"


def test_node_exporter_does_report_a_file_it_cannot_use(node_exporter):
    url, folder = node_exporter  # the test above can fail: a sample timestamp spoils the file
    text = isintool._metrics_text(_outcome(), None)
    (folder / "isintool.prom").write_text(text.replace(" 123456\n", " 123456 1733085123000\n"))
    scraped = sample_lines(requests.get(url + "/metrics", timeout=5).text)
    assert scraped["node_textfile_scrape_error"] == "1" and not any(
        k.startswith("isintool_") for k in scraped
    )


def _group(gateway: str, output: str) -> dict:
    """The gateway's own account of the group of that output, from its JSON API."""
    groups = requests.get(gateway + "/api/v1/metrics", timeout=5).json()["data"]
    return next(group for group in groups if group["labels"].get("output") == output)


def test_the_pushgateway_receives_the_push_and_serves_it_back(pushgateway, server, out):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    server.expect_request("/gone").respond_with_data("", status=500)
    push = ["--metrics-push", pushgateway]
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "--allow-shrink", *push).exit_code == 0
    scraped = sample_lines(requests.get(pushgateway + "/metrics", timeout=5).text)
    labels = f'{{instance="",job="isintool",output="{out}"}}'
    assert (
        scraped["isintool_fetch_success" + labels] == "1" and scraped["isintool_fetch_isins" + labels] == "3"
    )
    first = _group(pushgateway, str(out))["isintool_fetch_last_success_timestamp_seconds"]["metrics"][0][
        "value"
    ]
    assert _group(pushgateway, str(out))["labels"] == {
        "job": "isintool",
        "output": str(out),
    }  # the base64 key
    # A failed run in a pod (no metrics file there): POST, so the gateway keeps the last success.
    assert fetch("--url", server.url_for("/gone"), "-o", str(out), "--retries", "0", *push).exit_code == 1
    group = _group(pushgateway, str(out))
    assert group["isintool_fetch_last_success_timestamp_seconds"]["metrics"][0]["value"] == first
    assert group["isintool_fetch_exit_code"]["metrics"][0]["value"] == "1"


def test_a_push_that_fails_is_one_warning_and_never_fails_the_run(server, out):
    server.expect_request(re.compile("/metrics/job/isintool/.*"), method="PUT").respond_with_data(
        "pushed metrics are invalid or inconsistent with existing metrics: x\nmore", status=400
    )
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    gateway = server.url_for("/").rstrip("/")
    result = fetch(
        "--url", server.url_for("/list"), "-o", str(out), "-q", "--allow-shrink", "--metrics-push", gateway
    )
    assert result.exit_code == 0
    assert result.stderr == (
        f"Warning: the push of the metrics to {gateway} answered HTTP 400: "
        "pushed metrics are invalid or inconsistent with existing metrics: x\n"
    )


def test_healthchecks_sees_start_the_body_and_one_rid_a_run(server, out):
    for path in ("/ping/abc/start", "/ping/abc", "/ping/abc/fail"):
        server.expect_request(path).respond_with_data("OK")
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    server.expect_request("/gone").respond_with_data("", status=404)
    ping = ["--ping", server.url_for("/ping/abc"), "--ping-api", "healthchecks"]
    server.clear_log()
    ok = fetch("--url", server.url_for("/list"), "-o", str(out), "--allow-shrink", *ping)
    failed = fetch("--url", server.url_for("/gone"), "-o", str(out), *ping)
    pings = [
        (r.method, r.path, r.get_data().decode(), parse_qs(r.query_string.decode()))
        for r, _ in server.log
        if r.path.startswith("/ping")
    ]
    assert [(method, path) for method, path, _, _ in pings] == [
        ("GET", "/ping/abc/start"),
        ("POST", "/ping/abc"),
        ("GET", "/ping/abc/start"),
        ("POST", "/ping/abc/fail"),
    ]
    assert pings[1][2] == ok.stderr.strip() and pings[3][2] == failed.stderr.strip().removeprefix("Error: ")
    rids = [query["rid"] for *_, query in pings]
    assert rids[0] == rids[1] != rids[2] == rids[3] and all(len(rid) == 1 for rid in rids)
    order = [r.path for r, _ in server.log]
    assert order.index("/ping/abc/start") < order.index("/list")  # the start comes first


def test_a_plain_ping_url_gets_only_gets(server, out):
    """Any dead man's switch that takes GETs (Uptime Kuma's push URL, say): no /start, no body,
    the query kept after the /fail suffix."""
    server.expect_request("/api/push/T0k").respond_with_data("OK")
    server.expect_request("/api/push/T0k/fail").respond_with_data("OK")
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    server.expect_request("/gone").respond_with_data("", status=404)
    url = server.url_for("/api/push/T0k") + "?status=up&msg=OK&ping="
    server.clear_log()
    fetch("--url", server.url_for("/list"), "-o", str(out), "--allow-shrink", "--ping", url)
    fetch("--url", server.url_for("/gone"), "-o", str(out), "--ping", url)
    assert [(r.method, r.path, r.query_string, r.get_data()) for r, _ in server.log if "push" in r.path] == [
        ("GET", "/api/push/T0k", b"status=up&msg=OK&ping=", b""),
        ("GET", "/api/push/T0k/fail", b"status=up&msg=OK&ping=", b""),
    ]


def _readme_block(marker: str) -> str:
    """The fenced block that follows `marker` in the README."""
    text = (ROOT / "README.md").read_text()
    return text.split(marker, 1)[1].split("```", 2)[1].split("\n", 1)[1]


@needs_promtool
def test_the_readmes_alert_rules_fire_when_they_should_and_only_then(tmp_path):
    """The README's two alerts under `promtool test rules`, with series that fire and that do
    not; and the tests can fail: a broken rule is caught."""
    rules = _readme_block("<!-- alert rules -->")
    (tmp_path / "tests.yml").write_text(RULE_TESTS)
    for broken in ("", " unless isintool_fetch_exit_code == 75", "> 26 * 3600"):
        changed = rules.replace(broken, {"> 26 * 3600": "> 27 * 3600"}.get(broken, "")) if broken else rules
        (tmp_path / "isintool.rules.yml").write_text(changed)
        check = subprocess.run(
            ["promtool", "check", "rules", "isintool.rules.yml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        tested = subprocess.run(
            ["promtool", "test", "rules", "tests.yml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert tested.returncode == (0 if not broken else 1), (broken, tested.stdout, tested.stderr)


# --- Schedule -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["crontab", "systemd", "kubernetes"])
def test_schedules_carry_firds_and_changes_among_fetchs_options(runner, tmp_path, command):
    """--firds replaces the URL; --changes is a file the job writes, so systemd lets it."""
    changes = "/var/lib/isintool/changes.txt"
    args = ["-o", "/var/lib/isintool/isins.txt", "--at", "05:30", "--", "--firds", "--changes", changes]
    extra = ["--image", "registry.example/isintool:1"] if command == "kubernetes" else []
    result = runner.invoke(cli, [command, *extra, *args])
    assert result.exit_code == 0, result.stderr
    assert "--firds" in result.stdout and "--url" not in result.stdout and changes in result.stdout
    assert "fetch the ISIN list from FIRDS" in result.stdout
    if command == "systemd":
        assert "\nStateDirectory=isintool\n" in result.stdout
    refused = [
        ["--url", "https://example.com/list.csv", "--", "--firds"],
        ["--", "--changes", "changes.txt"],  # relative: the job runs elsewhere
    ]
    for wrong in refused:
        result = runner.invoke(cli, [command, *extra, "--at", "05:30", *wrong])
        assert (result.exit_code, result.stdout) == (2, ""), (wrong, result.stderr)


def _manifest(runner, *args: str) -> list[dict]:
    result = runner.invoke(cli, ["kubernetes", "--image", "registry.example/isintool:0.1.0", *args])
    assert result.exit_code == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


@pytest.mark.parametrize("changes", ["--changes", "--changes="])
def test_kubernetes_puts_the_output_and_the_changes_on_the_claim_alike(runner, tmp_path, changes):
    """-o and --changes are files the job writes: in the pod both are on the claim, by name,
    wherever they would be on this host."""
    elsewhere = str(tmp_path / "changes.txt")
    fetch_args = [changes + elsewhere] if changes.endswith("=") else [changes, elsewhere]
    args = ["--image", "registry.example/isintool:1", "-o", "/data/lists/isins.txt", "--", *fetch_args]
    result = runner.invoke(cli, ["kubernetes", *args])
    assert result.exit_code == 0, result.stderr
    command = _manifest(runner, *args)[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    argv = command["containers"][0]["command"]
    assert argv[argv.index("--output") + 1] == "/var/lib/isintool/isins.txt"
    assert argv[argv.index("--changes") + 1] == "/var/lib/isintool/changes.txt"
    assert elsewhere not in result.stdout and "/data/lists" not in result.stdout


def test_schedules_parse_fetch_options_without_changing_fetch(runner):
    """The fetch options after -- are parsed by fetch's own parser; fetch keeps its -h."""
    assert runner.invoke(cli, ["crontab", "--at", "05:00", "--", "--max-time", "60"]).exit_code == 0
    result = runner.invoke(cli, ["fetch", "-h"])
    assert (result.exit_code, result.stdout.startswith("Usage: ")) == (0, True), result.stderr


def cron_decode(command: str) -> tuple[str, str]:
    """What cron runs and feeds to stdin: the `%` loop of vixie-cron / cronie's do_command.c."""
    out, escaped = [], False
    for i, ch in enumerate(command):
        if escaped:
            escaped = False
            if ch == "%":
                out[-1] = "%"  # `\%` becomes `%`; a backslash before anything else stays
                continue
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            return "".join(out), command[i + 1 :].replace("%", "\n")
        out.append(ch)
    return "".join(out), ""


def parse_job(text: str) -> tuple[list[str], str, str]:
    """Split crontab output into its job line's five time fields, user and command."""
    jobs = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(jobs) == 1, text
    fields = jobs[0].split(None, 6)
    return fields[:5], fields[5], fields[6]


def test_cli_crontab_at_log_and_fetch_options(runner, tmp_path):
    result = runner.invoke(
        cli,
        [
            "crontab",
            "--at",
            "5:07",
            "--user",
            "root",
            "--log",
            str(tmp_path / "f.log"),
            "--",
            "--max-time",
            "60",
        ],
    )
    assert result.exit_code == 0, result.stderr
    fields, _, command = parse_job(result.stdout)
    assert fields[:2] == ["7", "5"]
    runs = cron_decode(command)[0]
    assert runs.endswith(f" --max-time 60 >> {tmp_path / 'f.log'} 2>&1")
    assert "--quiet" not in runs  # the log keeps each run's summary line


@pytest.mark.parametrize(
    ("command", "runs", "stdin"),
    [
        pytest.param("echo a", "echo a", "", id="plain"),
        pytest.param("echo a%b%c", "echo a", "b\nc", id="bare-percent"),
        pytest.param("echo a\\%b", "echo a%b", "", id="escaped-percent"),
        pytest.param("echo a\\\\b", "echo a\\\\b", "", id="other-backslashes-stay"),
    ],
)
def test_cron_decode_follows_do_command_c(command, runs, stdin):
    assert cron_decode(command) == (runs, stdin)


def test_default_cron_time_avoids_minute_0_and_dst_hours():
    times = {isintool._default_cron_time(f"host{i}:/var/lib/isins.txt") for i in range(5000)}
    assert all(minute != 0 and not 1 <= hour <= 3 for hour, minute in times)
    assert len(times) > 1000  # spread out, not a handful of slots
    assert {h for h, _ in times} == {0, *range(4, 24)}
    assert isintool._default_cron_time("a") == isintool._default_cron_time("a")


def test_crontab_entry_round_trips_through_cron_and_sh():
    command = ["/usr/bin/python3", "/opt/isintool.py", "fetch", *TRICKY_ARGS]
    entry = isintool.crontab_entry(command, user="isin", hour=4, minute=30)
    assert entry.endswith("\n") and entry.count("\n") == 1
    fields, user, cron_command = parse_job(entry)
    assert (fields, user) == (["30", "4", "*", "*", "*"], "isin")
    runs, stdin = cron_decode(cron_command)
    assert stdin == ""
    assert shlex.split(runs) == command
    # And /bin/sh itself agrees with shlex: printf gets exactly the arguments.
    printed = subprocess.run(
        ["/bin/sh", "-c", "printf '%s\\0' " + runs[runs.index(" fetch ") + 7 :]], capture_output=True
    )
    assert printed.stdout.split(b"\0")[:-1] == [a.encode() for a in TRICKY_ARGS]


@pytest.mark.parametrize(
    ("command", "user", "message"),
    [
        pytest.param(["echo", "a\nb"], "isin", "line break", id="newline"),
        pytest.param(["echo", "a\rb"], "isin", "line break", id="carriage-return"),
        pytest.param(["echo", "a\0b"], "isin", "line break or NUL", id="nul"),
        pytest.param(["echo"], "is in", "not a user name", id="user-with-space"),
        pytest.param(["x" * 999], "isin", "999 characters, over cron's 998", id="too-long"),
        pytest.param(["echo", "%" * 496], "isin", "over cron's 998", id="too-long-once-escaped"),
    ],
)
def test_crontab_entry_refuses(command, user, message):
    with pytest.raises(isintool.IsinToolError, match=message):
        isintool.crontab_entry(command, user=user, hour=4, minute=30)


def test_crontab_entry_takes_exactly_998_characters():
    entry = isintool.crontab_entry(["x" * 998], user="isin", hour=4, minute=30)
    assert parse_job(entry)[2] == "x" * 998


def test_cli_crontab_line(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["crontab", "--user", "root", "-o", "lists/isins.txt"])
    assert result.exit_code == 0, result.stderr
    fields, user, command = parse_job(result.stdout)
    minute, hour = int(fields[0]), int(fields[1])
    assert 1 <= minute <= 59 and hour in (0, *range(4, 24)) and fields[2:] == ["*", "*", "*"]
    assert user == "root"
    argv = shlex.split(cron_decode(command)[0])
    assert argv[:5] == [sys.executable, os.path.abspath(isintool.__file__), "fetch", "--quiet", "--url"]
    assert argv[5:] == [isintool.GLEIF_ISIN_LEI_URL, "--output", str(tmp_path / "lists" / "isins.txt")]
    assert all(line.startswith("#") for line in result.stdout.splitlines()[:-1])
    assert runner.invoke(cli, ["crontab", "--user", "root", "-o", "lists/isins.txt"]).stdout == result.stdout


@pytest.mark.parametrize("at", ["24:00", "12:60", "noon", "1:2:3", "-1:30", "12:5"])
def test_cli_crontab_bad_at_is_a_usage_error(runner, at):
    result = runner.invoke(cli, ["crontab", "--at", at])
    assert (result.exit_code, result.stdout) == (2, "")
    assert "not a 24-hour time" in result.stderr


def test_cli_crontab_refuses_injection_with_nothing_on_stdout(runner):
    result = runner.invoke(cli, ["crontab", "--url", "http://x/\n* * * * * root rm -rf /"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert "line break" in result.stderr


def test_cli_crontab_warns_about_an_unknown_user(runner):
    result = runner.invoke(cli, ["crontab", "--user", "no-such-user-isintool"])
    assert result.exit_code == 0
    assert parse_job(result.stdout)[1] == "no-such-user-isintool"
    assert result.stderr == "Warning: no user 'no-such-user-isintool' on this host\n"


def test_cli_crontab_warns_about_a_missing_folder(runner, tmp_path):
    missing = tmp_path / "not-made"
    args = ["crontab", "-o", str(missing / "isins.txt"), "--log", str(missing / "logs" / "fetch.log")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and parse_job(result.stdout)
    consequence = "the job fails each night, fetch saying why, until it is made"
    no_log = "cron's shell cannot append to a log there: the job fails before fetch starts, with no ping"
    assert result.stderr == (
        f"Warning: no folder {str(missing)!r} for --output on this host: {consequence}\n"
        f"Warning: no folder {str(missing / 'logs')!r} for --log on this host: {no_log}\n"
    )
    missing.mkdir()
    (missing / "logs").mkdir()
    assert runner.invoke(cli, args).stderr == ""


def _cron_environment_run(command: str, home: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a decoded cron command the way cron does: bare environment, /bin/sh, in HOME."""
    env = ["env", "-i", "SHELL=/bin/sh", "PATH=/usr/bin:/bin", f"HOME={home}", f"LOGNAME={getpass.getuser()}"]
    return subprocess.run(
        [*env, "/bin/sh", "-c", command], cwd=home, capture_output=True, timeout=60, check=False
    )


def test_crontab_line_runs_under_crons_rules(runner, server, tmp_path):
    server.expect_request("/isin lists/100%.zip").respond_with_data(_zip(GLEIF_CSV))
    home = tmp_path / "home"
    home.mkdir()
    output = tmp_path / "data dir" / "isins.txt"
    output.parent.mkdir()
    url = server.url_for("/isin%20lists/100%25.zip")
    result = runner.invoke(cli, ["crontab", "--user", "root", "--url", url, "-o", str(output)])
    command, stdin = cron_decode(parse_job(result.stdout)[2])
    assert stdin == ""
    done = _cron_environment_run(command, home)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert output.read_bytes().split() == GLEIF_ISINS
    assert os.listdir(home) == []


def test_crontab_line_reports_a_failure(runner, server, tmp_path):
    server.expect_request("/list").respond_with_data("gone", status=404)
    output = tmp_path / "isins.txt"
    output.write_bytes(OLD_LIST)
    result = runner.invoke(
        cli, ["crontab", "--user", "root", "--url", server.url_for("/list"), "-o", str(output)]
    )
    done = _cron_environment_run(cron_decode(parse_job(result.stdout)[2])[0], tmp_path)
    assert done.returncode == 1
    assert done.stdout == b"" and b"answered HTTP 404" in done.stderr
    assert output.read_bytes() == OLD_LIST


@pytest.mark.skipif(
    not shutil.which("crontab"), reason="Debian's crontab is not installed (apt-get install cron)"
)
def test_debian_crontab_accepts_the_line(runner, tmp_path):
    result = runner.invoke(
        cli,
        ["crontab", "--user", "root", "--url", "https://x.test/a%20b?c=$d&e='f'", "--log", "/tmp/a b.log"],
    )
    _, _, command = parse_job(result.stdout)
    fields = parse_job(result.stdout)[0]
    user_crontab = tmp_path / "user-crontab"
    user_crontab.write_text(" ".join(fields) + " " + command + "\n")  # the user field removed
    checked = subprocess.run(
        ["crontab", "-n", str(user_crontab)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.cron_daemon
@pytest.mark.timeout(180)
def test_real_cron_daemon_runs_the_line(runner, server, tmp_path):
    """Debian's cron daemon runs the printed line (made every-minute) and the list appears."""
    if os.geteuid() != 0 or not shutil.which("cron") or not shutil.which("pgrep"):
        pytest.skip("needs root, pgrep and Debian's cron daemon (apt-get install cron)")
    if subprocess.run(["pgrep", "-x", "cron"], capture_output=True, check=False).returncode == 0:
        pytest.skip("a cron daemon is already running here")
    server.expect_request("/list").respond_with_data(_zip(GLEIF_CSV))
    output = tmp_path / "isins.txt"
    log = tmp_path / "cron.log"
    result = runner.invoke(
        cli,
        ["crontab", "--user", "root", "--url", server.url_for("/list"), "-o", str(output), "--log", str(log)],
    )
    _, user, command = parse_job(result.stdout)
    job = Path("/etc/cron.d/isintool-test")
    job.write_text(f"* * * * * {user} {command}\n")
    job.chmod(0o644)
    daemon = subprocess.Popen(["cron", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 150
        while not output.exists() and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        daemon.terminate()
        daemon.wait(10)
        job.unlink()
    assert output.read_bytes().split() == GLEIF_ISINS, log.read_text() if log.exists() else "no log"
    assert log.read_text().startswith("wrote 3 ISINs to ")


def systemd_split(line: str) -> list[str]:
    """Split an ExecStart= value as systemd.service(5) says ("Command lines"): words split at
    blanks; double or single quotes around a word, inside which C escapes hold; then `%%` is a
    `%` (specifiers) and `$$` a `$` (variables). Enough for what isintool writes; refuses the rest."""
    escapes = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "s": " "}
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        quote = line[i]
        assert quote in "\"'", f"unquoted word at {i}: {line[i:]!r}"
        word, i = [], i + 1
        while line[i] != quote:
            if line[i] == "\\":
                word.append(escapes[line[i + 1]])
                i += 2
            else:
                word.append(line[i])
                i += 1
        words.append(
            re.sub(r"%%|\$\$|[%$]", lambda m: m[0][0] if len(m[0]) == 2 else "<unescaped>", "".join(word))
        )
        i += 1
    return words


def units(runner, *args: str) -> tuple[dict[str, list[str]], dict[str, str], str]:
    """Run `isintool systemd ARGS`; the service's and timer's `Key=value` lines, and stdout."""
    result = runner.invoke(cli, ["systemd", *args])
    assert result.exit_code == 0, result.stderr
    service, timer = result.stdout.split("\n\n# isintool", 1)
    directives: dict[str, list[str]] = {}
    for line in service.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            directives.setdefault(key, []).append(value)
    timer_lines = dict(
        line.split("=", 1) for line in timer.splitlines() if "=" in line and not line.startswith("#")
    )
    return directives, timer_lines, result.stdout


@needs_systemd_analyze
@pytest.mark.parametrize("user", ["root", "daemon"])  # systemd itself warns about nobody
def test_systemd_units_pass_systemd_analyze_verify(runner, tmp_path, user):
    folder = tmp_path / "units"
    folder.mkdir()
    (tmp_path / "lists").mkdir()
    args = [
        "--user",
        user,
        "-o",
        str(tmp_path / "lists" / "isins.txt"),
        "--log",
        str(tmp_path / "lists" / "f.log"),
    ]
    result = runner.invoke(cli, ["systemd", *args, "--write", str(folder), "--", "--max-time", "600"])
    assert (result.exit_code, result.stdout) == (0, ""), result.stderr
    assert result.stderr == (
        f"wrote {folder}/isintool-fetch.service and {folder}/isintool-fetch.timer; to start the timer:\n"
        "  systemctl daemon-reload && systemctl enable --now isintool-fetch.timer\n"
    )
    assert sorted(os.listdir(folder)) == ["isintool-fetch.service", "isintool-fetch.timer"]
    printed = runner.invoke(cli, ["systemd", *args, "--", "--max-time", "600"]).stdout
    written = [(folder / name).read_text() for name in ("isintool-fetch.service", "isintool-fetch.timer")]
    assert printed == "\n".join(written)
    verify = ["systemd-analyze", "verify", "--man=no", "--recursive-errors=yes"]
    done = subprocess.run([*verify, *map(str, folder.iterdir())], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_systemd_service_settings(runner, tmp_path):
    output, log = tmp_path / "lists" / "isins.txt", tmp_path / "logs" / "f.log"
    service, timer, text = units(
        runner, "--user", "daemon", "-o", str(output), "--log", str(log), "--", "--max-time", "600"
    )
    assert service["Type"] == ["oneshot"] and service["User"] == ["daemon"]
    assert service["After"] == service["Wants"] == ["network-online.target"]
    assert service["TimeoutStartSec"] == [str(600 + isintool.TIME_LIMIT_MARGIN)]
    assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"]
    # `-`: a folder that is missing is skipped, so fetch starts and says what is wrong; the log's
    # folder is not made writable (systemd opens the log itself), nor is a lock a failure.
    assert service["ReadWritePaths"] == [f"-{output.parent}"]
    assert service["SuccessExitStatus"] == [str(isintool.EXIT_LOCKED)]
    assert service["SyslogIdentifier"] == ["isintool"] and "StateDirectory" not in service
    assert service["PrivateTmp"] == ["yes"] and service["ProtectHome"] == [
        "read-only"
    ]  # a venv in /home runs
    assert service["StandardOutput"] == service["StandardError"] == [f"append:{log}"]
    assert service["CapabilityBoundingSet"] == [""]  # a user other than root needs none
    assert "--quiet" not in systemd_split(service["ExecStart"][0])  # the journal keeps the summary line
    assert timer["Persistent"] == "true" and timer["AccuracySec"] == "1min"
    assert "# Install: save as /etc/systemd/system/isintool-fetch.service" in text
    assert "systemctl daemon-reload && systemctl enable --now isintool-fetch.timer" in text


def test_systemd_makes_a_missing_folder_below_var_lib_and_says_so(runner):
    result = runner.invoke(
        cli, ["systemd", "-o", "/var/lib/isintool-test-none/lists/isins.txt", "--at", "05:00"]
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "\nStateDirectory=isintool-test-none/lists\n" in result.stdout
        and "ReadWritePaths" not in result.stdout
    )
    assert "systemd creates it for the service's user at each start (StateDirectory=)" in result.stderr
    result = runner.invoke(cli, ["systemd", "-o", "/srv/isintool-test-none/isins.txt", "--at", "05:00"])
    assert "\nReadWritePaths=-/srv/isintool-test-none\n" in result.stdout
    assert "fails each night, fetch saying why and pinging /fail" in result.stderr


def test_schedules_run_the_installed_command_where_there_is_one(monkeypatch, tmp_path):
    """An installed copy runs as pip's `bin/isintool`, whose first line names the environment's
    interpreter: rebuilt on another Python, the environment keeps that path. A checkout runs as
    the interpreter and the file."""
    import sysconfig

    scripts, site = tmp_path / "venv" / "bin", tmp_path / "venv" / "lib" / "python3.99" / "site-packages"
    scripts.mkdir(parents=True)
    site.mkdir(parents=True)
    (scripts / "isintool").write_text("#!/venv/bin/python\n")
    (scripts / "isintool").chmod(0o755)
    paths = {"scripts": str(scripts), "purelib": str(site), "platlib": str(site)}
    monkeypatch.setattr(sysconfig, "get_path", paths.__getitem__)
    assert isintool._this_program() == [sys.executable, isintool.__file__]  # this checkout
    monkeypatch.setattr(isintool, "__file__", str(site / "isintool.py"))
    assert isintool._this_program() == [str(scripts / "isintool")]
    job = isintool.nightly_job(hour=4, minute=5, user="root", url=None, output="/var/lib/i/isins.txt")
    assert isintool._crontab_text(job).splitlines()[-1].startswith(f"5 4 * * * root {scripts}/isintool fetch")


SHARED_TOOLS = ROOT.parent / "shared" / "tools"


# Boots systemd as PID 1 in a throw-away container (../shared/tools/systemd_ct.sh), with the
# host's network so that the units reach the test's server on 127.0.0.1; installs the units and
# this isintool.py, starts each service and prints what an operator would look at.
SYSTEMD_HARNESS = r"""
set -u
CT_TAG=isintool-test; . "$SHARED_TOOLS/systemd_ct.sh" || exit 2
trap ct_cleanup EXIT
ct_tools; ct_rootfs; ct_overlay
cp "$UNITS"/* "$MERGED/etc/systemd/system/" && mkdir -p "$MERGED/opt/isintool" \
  && cp "$TOOL" "$MERGED/opt/isintool/isintool.py" || exit 2
ct_boot
in_ct useradd --system --no-create-home --shell /usr/sbin/nologin isin || exit 2
# node_exporter's folder as the README has the operator prepare it: root's, the job's group's, sticky
in_ct mkdir -p /var/lib/prometheus/node-exporter && in_ct chown root:isin /var/lib/prometheus/node-exporter \
  && in_ct chmod 1775 /var/lib/prometheus/node-exporter || exit 2
in_ct systemctl daemon-reload
for unit in $SERVICES; do
  in_ct timeout 120 systemctl start --wait "$unit.service"
  echo "RESULT $unit $?"
done
echo "OWNER $(in_ct stat -c %U:%a /var/lib/isintool /var/lib/isintool/isins.txt | tr '\n' ' ')"
echo "METRICS $(in_ct stat -c %U:%a /var/lib/prometheus/node-exporter/isintool.prom)"
echo "=== log"; in_ct cat /var/log/isintool-fetch.log
echo "=== -t isintool"; in_ct journalctl -t isintool --no-pager -o cat
echo "=== -t isintool -p err"; in_ct journalctl -t isintool -p err --no-pager -o cat
echo "=== -t isintool -p warning"; in_ct journalctl -t isintool -p warning --no-pager -o cat
echo "=== end"
"""


@pytest.mark.systemd_boot
@pytest.mark.timeout(600)
def test_units_run_under_a_real_systemd(runner, server, tmp_path, monkeypatch):
    """Under systemd 252 as PID 1: a missing folder below /var/lib is made for the service's
    user; one elsewhere lets fetch start, say why in one line filed at error priority, and ping
    /fail; the journal files fetch's lines under `isintool`; a --log file in /var/log is written
    though its folder is not writable for fetch (systemd opens it), and the metrics go into
    node_exporter's folder through ReadWritePaths=, the folder left as it was."""
    if os.geteuid() != 0 or not (SHARED_TOOLS / "systemd_ct.sh").exists() or not shutil.which("nsenter"):
        pytest.skip("needs root, nsenter and ../shared/tools/systemd_ct.sh (.ci/run runs this as root)")
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    server.expect_request("/ping/fail").respond_with_data("ok")
    units = tmp_path / "units"
    units.mkdir()
    monkeypatch.setattr(isintool, "_this_program", lambda: ["/usr/bin/python3", "/opt/isintool/isintool.py"])
    jobs = {
        "isin-state": ["-o", "/var/lib/isintool/isins.txt"],
        "isin-elsewhere": ["-o", "/srv/not-made/isins.txt"],
        "isin-logged": ["-o", "/var/lib/isintool/logged.txt", "--log", "/var/log/isintool-fetch.log"],
    }
    metrics = ["--metrics", "/var/lib/prometheus/node-exporter/isintool.prom"]
    for name, output in jobs.items():
        args = ["systemd", "--name", name, "--user", "isin", "--url", server.url_for("/list"), *output]
        args += ["--write", str(units), "--", "--ping", server.url_for("/ping"), "--retries", "0"]
        assert runner.invoke(cli, args + (metrics if name == "isin-logged" else [])).exit_code == 0
    env = {
        **os.environ,
        "SHARED_TOOLS": str(SHARED_TOOLS),
        "UNITS": str(units),
        "TOOL": str(ROOT / "isintool.py"),
        "SERVICES": " ".join(jobs),
        "ISINTOOL_NETWORK": "host",
        "ISINTOOL_EXTRA_PACKAGES": "python3-requests,python3-click",
    }
    done = subprocess.run(
        ["bash", "-c", SYSTEMD_HARNESS], env=env, capture_output=True, text=True, timeout=580
    )
    if done.returncode == 2 and "RESULT" not in done.stdout:
        pytest.skip(f"no container could be booted here: {done.stderr[-500:]}")
    shown = done.stdout
    assert "RESULT isin-state 0" in shown and "RESULT isin-elsewhere 1" in shown, shown + done.stderr
    assert "RESULT isin-logged 0" in shown, shown
    assert "OWNER isin:755 isin:644 " in shown and "METRICS isin:644" in shown, shown
    logged = shown.split("=== log\n")[1].split("=== -t isintool\n")[0]
    assert "wrote 3 ISINs to /var/lib/isintool/logged.txt" in logged, shown
    journal = shown.split("=== -t isintool\n")[1].split("=== -t isintool -p err\n")[0]
    errors = shown.split("=== -t isintool -p err\n")[1].split("=== -t isintool -p warning\n")[0]
    assert "wrote 3 ISINs to /var/lib/isintool/isins.txt" in journal
    warnings = shown.split("=== -t isintool -p warning\n")[1].split("=== end")[0]
    missing = "Error: no folder /srv/not-made for /srv/not-made/isins.txt: make it, writable by this user"
    assert errors.splitlines() == [missing]
    assert warnings.splitlines() == [f"Warning: ping {server.url_for('/ping')} answered HTTP 500", missing]
    assert any(request.path == "/ping/fail" for request, _ in server.log)


@needs_systemd_analyze
@pytest.mark.parametrize("at", [None, "05:07", "23:59", "00:01"])
def test_systemd_timer_fires_when_the_cron_line_does(runner, tmp_path, at):
    """systemd-analyze calendar and cronsim (cron's rules) give the same next five times."""
    args = ["--user", "root", "-o", str(tmp_path / "isins.txt"), *(["--at", at] if at else [])]
    on_calendar = units(runner, *args)[1]["OnCalendar"]
    fields, _, _ = parse_job(runner.invoke(cli, ["crontab", *args]).stdout)
    base = datetime.datetime(2026, 3, 27, 12, 0, tzinfo=datetime.timezone.utc)
    done = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            "--iterations=5",
            f"--base-time=@{int(base.timestamp())}",
            on_calendar,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    )
    systemd_times = re.findall(r"(?:Next elapse|Iter. #\d+): \w+ (\S+ \S+) UTC", done.stdout)
    cron = CronSim(" ".join(fields), base.replace(tzinfo=None))
    cron_times = [next(cron).strftime("%Y-%m-%d %H:%M:%S") for _ in range(5)]
    assert systemd_times == cron_times


@pytest.mark.parametrize(
    "url",
    [
        "/list?q=100%25&cost=$HOME&x=${PATH}",
        '/list?name=O\'Brien+"Q"&path=C:\\dir\\',
        "/a%20list?s=a%b",
    ],
    ids=["percent-and-dollar", "quotes-and-backslashes", "space-and-stray-percent"],
)
def test_systemd_exec_start_runs_the_argv_meant(runner, server, tmp_path, url):
    server.expect_request(re.compile(r"/a? ?list")).respond_with_data(GLEIF_CSV)
    output = tmp_path / "data dir" / "it's $5 100%.txt"
    output.parent.mkdir()
    full_url = server.url_for("/").rstrip("/") + url
    exec_start = units(
        runner, "--user", "root", "--url", full_url, "-o", str(output), "--", "--max-time", "60"
    )[0]
    argv = systemd_split(exec_start["ExecStart"][0])
    assert argv == [
        sys.executable,
        os.path.abspath(isintool.__file__),
        "fetch",
        "--url",
        full_url,
        "--output",
        str(output),
        "--max-time",
        "60",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert output.read_bytes().split() == GLEIF_ISINS
    sent = urlsplit(requests.Request("GET", full_url).prepare().url)  # as requests quotes it
    ((request, _),) = server.log
    assert (request.path, request.query_string.decode()) == (unquote(sent.path), sent.query)


@needs_systemd_analyze
def test_systemd_url_file_keeps_a_token_out_of_the_unit(runner, server, tmp_path):
    """The URL with its token lives in a file only the job's user reads; the service reads it."""
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    url_file = tmp_path / "url.env"
    url_file.write_text(f"ISINTOOL_URL={server.url_for('/list')}?apikey={TOKEN}\n")
    url_file.chmod(0o600)
    output = tmp_path / "isins.txt"
    result = runner.invoke(cli, ["systemd", "--user", "root", "-o", str(output), "--url-file", str(url_file)])
    assert result.exit_code == 0, result.stderr
    assert TOKEN not in result.stdout and "the URL in ISINTOOL_URL" in result.stdout
    service = units(runner, "--user", "root", "-o", str(output), "--url-file", str(url_file))[0]
    assert service["EnvironmentFile"] == [str(url_file)]
    argv = systemd_split(service["ExecStart"][0])
    assert "--url" not in argv
    environment = dict(
        line.split("=", 1) for line in url_file.read_text().splitlines()
    )  # as systemd reads it
    done = subprocess.run(
        argv, env={**os.environ, **environment}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert output.read_bytes().split() == GLEIF_ISINS
    both = runner.invoke(cli, ["systemd", "--url", "https://x/", "--url-file", str(url_file)])
    assert (both.exit_code, both.stdout) == (2, "") and "not both" in both.stderr


def test_kubernetes_url_secret_keeps_a_token_out_of_the_manifest(runner):
    (cronjob, _) = _manifest(runner, "--url-secret", "isin-source")
    kubernetes_validate.validate(cronjob, kubernetes_validate.latest_version(), strict=True)
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert "--url" not in container["command"]
    assert container["env"] == [
        {
            "name": "ISINTOOL_URL",
            "valueFrom": {"secretKeyRef": {"name": "isin-source", "key": "ISINTOOL_URL"}},
        }
    ]


@pytest.mark.parametrize("version", ["1.27.0", "newest"])
@pytest.mark.parametrize("claim", [None, "lists"])
def test_kubernetes_manifest_validates_against_the_schemas(runner, version, claim):
    documents = _manifest(
        runner, "--at", "05:30", "--timezone", "Europe/Berlin", *(["--claim", claim] if claim else [])
    )
    assert [doc["kind"] for doc in documents] == ["CronJob"] + ([] if claim else ["PersistentVolumeClaim"])
    for document in documents:
        kubernetes_validate.validate(
            document, kubernetes_validate.latest_version() if version == "newest" else version, strict=True
        )


def test_kubernetes_cronjob_settings(runner):
    args = [
        "--at",
        "05:30",
        "--timezone",
        "Europe/Berlin",
        "--url",
        "https://x.example/isins.zip",
        "-o",
        "/srv/l.txt",
    ]
    cronjob, claim = _manifest(runner, *args, "--name", "n" * 52, "--", "--max-time", "900", "--retries", "5")
    spec = cronjob["spec"]
    assert spec["schedule"] == "30 5 * * *" and spec["timeZone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 900 + isintool.TIME_LIMIT_MARGIN
    assert 3600 <= spec["startingDeadlineSeconds"] < 24 * 3600 - job["activeDeadlineSeconds"]
    assert job["backoffLimit"] <= 3 and spec["failedJobsHistoryLimit"] >= 1
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["command"] == [
        "isintool",
        "fetch",
        "--url",
        "https://x.example/isins.zip",
        "--output",
        "/var/lib/isintool/l.txt",
        "--max-time",
        "900",
        "--retries",
        "5",
    ]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert (
        volumes[mounts["/var/lib/isintool"]]["persistentVolumeClaim"]["claimName"]
        == claim["metadata"]["name"]
    )
    assert volumes[mounts["/tmp"]]["emptyDir"] == {}
    assert container["resources"]["limits"]["memory"] == "1Gi"  # bench/fetch.py: 170-230 MiB at the peak
    assert cronjob["metadata"]["name"] == "n" * 52


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        pytest.param(
            "systemd", ["--url", "http://x/\nExecStartPre=/bin/rm -rf /"], "line break", id="systemd-newline"
        ),
        pytest.param("systemd", ["-o", "/tmp/a\rb"], "line break", id="systemd-carriage-return"),
        pytest.param("systemd", ["--", "--ping", "http://x/\0"], "line break", id="systemd-nul"),
        pytest.param("systemd", ["--url", "https://alice:s3cret@x/"], "netrc", id="systemd-password"),
        pytest.param("crontab", ["--url", "https://alice:s3cret@x/"], "netrc", id="crontab-password"),
        pytest.param(
            "kubernetes", ["--image", "i", "--url", "https://alice:s3cret@x/"], "netrc", id="k8s-password"
        ),
        pytest.param("kubernetes", [], "Missing option '--image'", id="k8s-no-image"),
        pytest.param(
            "kubernetes", ["--image", "i", "--timezone", "Mars/Olympus"], "not a time zone", id="k8s-zone"
        ),
        pytest.param("kubernetes", ["--image", "i", "--name", "n" * 53], "at most 52", id="k8s-long-name"),
        pytest.param("kubernetes", ["--image", "i", "--name", "Fetch"], "DNS label", id="k8s-upper-case"),
        pytest.param("systemd", ["--name", "isin fetch"], "not a unit name", id="systemd-name"),
        pytest.param("systemd", ["--", "--bogus"], "No such option '--bogus'", id="bad-fetch-option"),
        pytest.param("crontab", ["--", "--url", "http://x/"], "give --url before --", id="url-after-dashes"),
    ],
)
def test_schedules_refuse_with_nothing_written(runner, tmp_path, command, args, message):
    write = ["--write", str(tmp_path)] if command == "systemd" else []
    result = runner.invoke(cli, [command, *write, *args])
    assert (result.exit_code, result.stdout) == (2, "")
    assert message in result.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("command", ["crontab", "systemd"])
def test_schedules_warn_when_the_url_shows_a_query(runner, command):
    shown = runner.invoke(cli, [command, "--at", "05:00", "--url", "https://x.example/l?apikey=T0KEN"])
    assert shown.exit_code == 0 and "--url-file" not in shown.stdout
    assert "the URL's query is shown" in shown.stderr
    plain = runner.invoke(cli, [command, "--at", "05:00", "--url", "https://alice@x.example/l"])
    assert "query" not in plain.stderr


@pytest.mark.parametrize("command", ["crontab", "systemd"])
def test_schedules_warn_about_a_time_daylight_saving_skips(runner, command):
    result = runner.invoke(cli, [command, "--at", "02:30"])
    assert result.exit_code == 0
    assert "daylight-saving" in result.stderr
    quiet = runner.invoke(cli, ["kubernetes", "--image", "i", "--at", "02:30"])  # Etc/UTC has none
    assert "daylight-saving" not in quiet.stderr


@pytest.mark.parametrize("folder", ["/var/lib/prometheus/node-exporter", "/srv/textfile"])
def test_the_metrics_folder_is_writable_and_never_a_state_directory(runner, tmp_path, folder):
    """The metrics' folder is node_exporter's: ReadWritePaths=-FOLDER, never StateDirectory=,
    even below /var/lib (systemd would give it, and every collector's file, to the job's user)."""
    metrics = f"{folder}/isintool.prom"
    args = ["--user", "daemon", "-o", "/var/lib/isintool/isins.txt", "--", "--metrics", metrics]
    service, _, _ = units(runner, *args)
    assert service["StateDirectory"] == ["isintool"]
    assert service["ReadWritePaths"] == [f"-{folder}"]
    assert ["--metrics", metrics] == systemd_split(service["ExecStart"][0])[-2:]
    if shutil.which("systemd-analyze"):
        unit_dir = tmp_path / "units"
        unit_dir.mkdir()
        result = runner.invoke(cli, ["systemd", *args[:4], "--write", str(unit_dir), *args[4:]])
        assert result.exit_code == 0, result.stderr
        verify = ["systemd-analyze", "verify", "--man=no", "--recursive-errors=yes"]
        done = subprocess.run(
            [*verify, *map(str, unit_dir.iterdir())], capture_output=True, text=True, check=False
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_schedules_carry_the_metrics_as_their_scheduler_can(runner):
    cron = runner.invoke(
        cli, ["crontab", "--at", "05:00", "--", "--metrics", "/var/lib/isintool/isintool.prom"]
    )
    assert cron.exit_code == 0 and "--metrics /var/lib/isintool/isintool.prom" in cron.stdout
    pod = ["kubernetes", "--image", "registry.example/isintool:1", "--at", "05:00", "--"]
    pushed = runner.invoke(cli, [*pod, "--metrics-push", "http://pushgateway:9091"])
    assert pushed.exit_code == 0 and '- "--metrics-push"\n' in pushed.stdout
    refused = runner.invoke(cli, [*pod, "--metrics", "/var/lib/isintool/isintool.prom"])
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert (
        "no textfile collector reads a CronJob's pod; push the metrics with --metrics-push URL"
        in refused.stderr
    )
    relative = runner.invoke(cli, ["crontab", "--", "--metrics", "isintool.prom"])
    assert relative.exit_code == 2 and "--metrics needs an absolute path in a schedule" in relative.stderr


@pytest.mark.parametrize("command", ["crontab", "systemd", "kubernetes"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ping", "ftp://hc.example/x"], "--ping: the URL must start with http:// or https://"),
        (
            ["--metrics-push", "http://gw:9091/metrics/job/x"],
            "--metrics-push takes the Pushgateway's address",
        ),
        (["--metrics", "/var/lib/node/isintool.txt"], "textfile collector reads only *.prom files"),
    ],
)
def test_schedules_refuse_what_the_nightly_fetch_would_refuse(runner, command, args, message):
    """A schedule parses fetch's options with fetch's own checks: no line is printed whose fetch
    would exit 2 every night."""
    extra = ["--image", "registry.example/isintool:1"] if command == "kubernetes" else []
    result = runner.invoke(cli, [command, *extra, "-o", "/var/lib/isintool/isins.txt", "--", *args])
    assert (result.exit_code, result.stdout) == (2, "") and message in result.stderr, result.stderr


@pytest.mark.parametrize("option", ["--ping", "--metrics-push"])
def test_schedules_refuse_a_password_in_any_url_of_fetchs_options(runner, option):
    result = runner.invoke(
        cli, ["crontab", "--at", "05:00", "--", option, "https://alice:s3cret@watch.example/x"]
    )
    assert (result.exit_code, result.stdout) == (2, "") and "a URL holds a password" in result.stderr
    assert "s3cret" not in result.stderr


# --- CLI ------------------------------------------------------------------------------------------


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


def test_alarm_puts_back_the_callers_alarm():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with isintool._alarm_at(5):
            assert 4 < signal.getitimer(signal.ITIMER_REAL)[0] <= 5
        assert 29 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        with pytest.raises(isintool._OutOfTime), isintool._alarm_at(0.2):
            time.sleep(5)
        assert fired == [] and 28 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        assert signal.getsignal(signal.SIGALRM) is not None and fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_errors_and_warnings_reach_the_journal_at_their_priority(server, tmp_path):
    """With stderr the journal (JOURNAL_STREAM names its device and inode), sd-daemon's <3> and
    <4> prefixes; elsewhere, the lines as a terminal or cron mail shows them."""
    server.expect_request("/missing").respond_with_data("", status=404)
    stderr = tmp_path / "stderr"
    argv = [sys.executable, str(ROOT / "isintool.py"), "fetch", "-o", str(tmp_path / "i.txt")]
    argv += ["--url", server.url_for("/missing"), "--ping", server.url_for("/ping")]
    for journal in (True, False):
        with open(stderr, "wb") as err:
            info = os.fstat(err.fileno())
            env = {**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}" if journal else "1:2"}
            subprocess.run(argv, stderr=err, env=env, check=False, timeout=60)
        lines = stderr.read_text().splitlines()
        prefixes = ("<4>", "<3>") if journal else ("", "")
        assert lines[0].startswith(prefixes[0] + "Warning: ping ") and "answered HTTP 500" in lines[0]
        assert lines[1] == f"{prefixes[1]}Error: {server.url_for('/missing')} answered HTTP 404 NOT FOUND"


def test_fetch_pings_after_success_and_failure(server, out):
    server.expect_request("/ping").respond_with_data("OK")
    server.expect_request("/ping/fail").respond_with_data("OK")
    server.expect_oneshot_request("/list").respond_with_data(GLEIF_CSV)
    ping = server.url_for("/ping")
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "-q", "--ping", ping).exit_code == 0
    server.expect_request("/list").respond_with_data("gone", status=404)
    assert fetch("--url", server.url_for("/list"), "-o", str(out), "-q", "--ping", ping).exit_code == 1
    assert [request.path for request, _ in server.log] == ["/list", "/ping", "/list", "/ping/fail"]


def test_fetch_failed_ping_warns_but_keeps_the_exit_code(server, out):
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    server.expect_request("/ping").respond_with_data("nope", status=404)
    result = fetch("--url", server.url_for("/list"), "-o", str(out), "-q", "--ping", server.url_for("/ping"))
    assert result.exit_code == 0
    assert result.stderr == f"Warning: ping {server.url_for('/ping')} answered HTTP 404\n"


def _run_with_stderr_on_a_terminal(command: list[str]) -> tuple[int, bytes]:
    """Run a command with stderr on a pseudo-terminal; its exit code and what the terminal got."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal) as proc:
        os.close(terminal)
        seen = b""
        while True:
            try:
                data = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end closed
                break
            if not data:
                break
            seen += data
        os.close(controller)
    return proc.returncode, seen


@pytest.mark.parametrize("quiet", [False, True])
def test_fetch_progress_bar_only_on_a_terminal_and_not_quiet(server, out, quiet):
    server.expect_request("/list").respond_with_data(_zip(GLEIF_CSV * 2000))
    command = [sys.executable, isintool.__file__, "fetch", "--url", server.url_for("/list"), "-o", str(out)]
    code, seen = _run_with_stderr_on_a_terminal(command + (["-q"] if quiet else []))
    assert code == 0
    if quiet:
        assert seen == b""
    else:
        size = len(_zip(GLEIF_CSV * 2000))
        assert re.search(
            rb"\rDownloading [\d,]+ bytes of " + f"{size:,}".encode() + rb" bytes \(\d+%\), ", seen
        )
        assert re.search(rb"[\d,.]+ (bytes|MB)/s", seen) and b"wrote 3 ISINs" in seen
    # Not a terminal: the summary line alone (CliRunner's stderr is no terminal).
    result = fetch("--url", server.url_for("/list"), "-o", str(out))
    assert "Downloading" not in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [["--retries", "-1"], ["--timeout", "0"], ["--max-bytes", "x"]])
def test_fetch_bad_options_are_usage_errors(args):
    assert fetch(*args).exit_code == 2


def _stalling_list(sent: threading.Event, stop: threading.Event):
    """An answer that sends 6 MB of a list at once (enough for the worker processes to start),
    then nothing, until the test ends: a download in full flight."""
    body = b"ISIN\n" + b"".join(isin.encode() + b"\n" for isin in _valid_isins(460_000, 3))

    def answer(request, wfile):
        wfile.write(_head("200 OK", Content_Length=len(body) + 1000) + body)
        wfile.flush()
        sent.set()
        stop.wait(30)

    return answer


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]
    return []


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_fetch_stopped_by_a_signal_ends_cleanly(server, out, name, code):
    """Ctrl-C (SIGINT to the terminal's process group) and SIGTERM (systemctl stop, a Kubernetes
    deadline, to every process of the job): one line, 128 + the signal, the workers quiet, no
    temporary, the old list kept, /fail pinged."""
    server.expect_request("/ping/fail").respond_with_data("OK")
    sent, stop = threading.Event(), threading.Event()
    with RawServer(_stalling_list(sent, stop)) as raw:
        argv = [sys.executable, str(ROOT / "isintool.py"), "fetch", "--url", raw.url, "-o", str(out)]
        argv += ["--ping", server.url_for("/ping")]
        with subprocess.Popen(argv, stderr=subprocess.PIPE, start_new_session=True) as proc:
            try:
                assert sent.wait(20)
                deadline = time.monotonic() + 20
                while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:  # the workers run
                    time.sleep(0.05)
                assert len(_children(proc.pid)) >= 2, "the worker processes never started"
                assert [p for p in os.listdir(out.parent) if p.endswith(".tmp")]  # the list is being written
                stopped = time.monotonic()
                os.killpg(proc.pid, getattr(signal, name))
                _, err = proc.communicate(timeout=20)
            finally:
                stop.set()
    assert time.monotonic() - stopped < 5
    assert proc.returncode == code
    assert err.decode() == f"Error: stopped by {name}: {out} left as it was\n"
    assert out.read_bytes() == OLD_LIST and sorted(os.listdir(out.parent)) == ["isins.txt", "isins.txt.lock"]
    assert [request.path for request, _ in server.log][-1:] == ["/ping/fail"]


def _wait_until_read(pipe: int, timeout: float = 30.0) -> None:
    """Until the process at the other end of a pipe has read all that was written into it
    (FIONREAD: the bytes still in the pipe)."""
    import array
    import fcntl
    import termios

    deadline = time.monotonic() + timeout
    left = array.array("i", [1])
    while left[0] and time.monotonic() < deadline:
        fcntl.ioctl(pipe, termios.FIONREAD, left)
        time.sleep(0.02)


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
    reason="SIGINT is ignored here (a shell's background job): extract inherits that, as Python does",
)
def test_extract_stopped_by_ctrl_c_ends_with_one_line():
    argv = [sys.executable, str(ROOT / "isintool.py"), "extract"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdin.write(b'{"id": 1, ')
        proc.stdin.flush()
        _wait_until_read(proc.stdin.fileno())  # started (a loaded machine takes its time) and reading
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert (proc.returncode, err) == (130, b"Error: stopped by SIGINT\n")


def test_extract_into_a_pipe_that_closes_ends_quietly_with_141(tmp_path):
    """`extract | head -1`: the reader goes away; extract ends as SIGPIPE ends a command (141,
    as a shell reports it), with nothing on stderr."""
    big = tmp_path / "orders.json"
    big.write_bytes(b"[" + b",".join(b'{"id": %d}' % i for i in range(300_000)) + b"]")
    reader, writer = os.pipe()
    argv = [sys.executable, str(ROOT / "isintool.py"), "extract", "--lines", str(big)]
    with subprocess.Popen(argv, stdout=writer, stderr=subprocess.PIPE) as proc:
        os.close(writer)
        assert os.read(reader, 10)
        os.close(reader)
        _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (isintool.EXIT_BROKEN_PIPE, b"") and isintool.EXIT_BROKEN_PIPE == 141


def test_fetch_to_stdout_into_a_pipe_that_closes_ends_quietly_with_141(server):
    """`fetch -o - | head -1`: as extract, 141 and nothing on stderr."""
    rows = "\n".join(f"5493001KJTIIGC8Y1R12,{isin}" for isin in _valid_isins(200_000, seed=7))
    server.expect_request("/list").respond_with_data("LEI,ISIN\n" + rows + "\n")
    reader, writer = os.pipe()
    argv = [sys.executable, str(ROOT / "isintool.py"), "fetch", "--url", server.url_for("/list"), "-o", "-"]
    with subprocess.Popen(argv, stdout=writer, stderr=subprocess.PIPE) as proc:
        os.close(writer)
        assert os.read(reader, 10)
        os.close(reader)
        _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (isintool.EXIT_BROKEN_PIPE, b"")


def _exit_codes_in_the_readme() -> dict[str, set[int]]:
    """The codes of the README's exit-code table, for each column: extract, fetch, schedules."""
    table = (ROOT / "README.md").read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes: dict[str, set[int]] = {"extract": set(), "fetch": set(), "schedules": set()}
    for row in table.splitlines():
        cells = [cell.strip() for cell in row.replace("\\|", "").strip("|").split("|")]  # \| is text
        if cells and cells[0].isdigit():
            for column, cell in zip(codes, cells[1:], strict=True):
                if cell:
                    codes[column].add(int(cells[0]))
    return codes


def test_every_exit_code_the_readme_gives_is_the_one_a_run_gives(runner, server, tmp_path):
    """The README's table, row by row: each code of each column from a run that should give it
    (the signals' and the pipe's rows are the tests above), and no code the table lacks."""
    server.expect_request("/list").respond_with_data(GLEIF_CSV)
    server.expect_request("/missing").respond_with_data("", status=404)
    seed = tmp_path / "orders.json"
    seed.write_text('{"orders": [{"id": 1}]}')
    out = str(tmp_path / "isins.txt")
    fetch_ok = ["fetch", "--url", server.url_for("/list"), "-o", out, "-q"]
    runs = {
        "extract": {
            0: ["extract", str(seed)],
            1: ["extract", str(tmp_path / "missing.json")],
            2: ["extract", "--bogus"],
        },
        "fetch": {
            0: fetch_ok,
            1: ["fetch", "--url", server.url_for("/missing"), "-o", out],
            2: ["fetch", "-o", "-", "--changes", out],
        },
        "schedules": {
            0: ["crontab", "--at", "05:00"],
            1: ["systemd", "--at", "05:00", "--write", str(tmp_path / "units")],
            2: ["crontab", "--at", "25:00"],
        },
    }
    (tmp_path / "units" / "isintool-fetch.service").mkdir(parents=True)  # in the way of the unit
    for column, by_code in runs.items():
        for code, args in by_code.items():
            result = runner.invoke(cli, args)
            assert result.exit_code == code, (column, args, result.stderr)
    with lock_held_elsewhere(Path(out), 5):
        assert runner.invoke(cli, fetch_ok).exit_code == isintool.EXIT_LOCKED
    (tmp_path / "bad.json").write_text('{"id": 1} x')
    for code, args in [
        (1, ["extract", "--path", ".id", str(tmp_path / "bad.json")]),  # the rest of row 1
        (2, ["extract", "--path", ".a | .b", str(seed)]),  # and of row 2
        (2, ["extract", "--path", ".id", "--key", "id", str(seed)]),
        (2, ["extract", "--key", "", str(seed)]),
    ]:
        assert runner.invoke(cli, args).exit_code == code, args
    tested = {
        "extract": {0, 1, 2, 130, isintool.EXIT_BROKEN_PIPE},
        "fetch": {0, 1, 2, isintool.EXIT_LOCKED, 130, isintool.EXIT_BROKEN_PIPE, 143},
        "schedules": {0, 1, 2},
    }
    assert _exit_codes_in_the_readme() == tested


def test_a_retry_is_told_on_a_terminal_and_never_in_cron_mail(server, out):
    server.expect_oneshot_request("/flaky").respond_with_data("busy", status=503)
    server.expect_request("/flaky").respond_with_data(GLEIF_CSV)
    command = [sys.executable, isintool.__file__, "fetch", "--url", server.url_for("/flaky"), "-o", str(out)]
    code, seen = _run_with_stderr_on_a_terminal([*command, "--allow-shrink"])
    assert code == 0
    assert f"{server.url_for('/flaky')} answered HTTP 503; attempt 2 of 4; trying again in".encode() in seen
    server.expect_oneshot_request("/flaky").respond_with_data("busy", status=503)
    result = fetch("--url", server.url_for("/flaky"), "-o", str(out), "-q")  # no terminal, --quiet
    assert (result.exit_code, result.stderr) == (0, "")


def test_cli_default_mode_warns_on_stderr_only(runner, tmp_path):
    data = b'{"orders":[{"id":1,"customer":{"id":2}}]}'
    result = runner.invoke(cli, ["extract"], input=data)
    assert (result.exit_code, result.stdout) == (0, "[1, 2]\n")
    assert result.stderr == (
        'Warning: "id" is at 2 paths: .orders[].id (1), .orders[].customer.id (1); '
        "--path '.orders[].id' takes the orders' own\n"
    )
    assert runner.invoke(cli, ["extract", "--path", ".orders[].id"], input=data).stdout == "[1]\n"


def test_cli_big_file_warns_while_the_cores_scan(runner, tmp_path, monkeypatch):
    """A file big enough for both cores (made small here): the same IDs and the same warning."""
    monkeypatch.setattr(isintool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(isintool, "SEGMENT_BYTES", 997)
    monkeypatch.setattr(isintool, "_available_cores", lambda: 2)
    path = tmp_path / "orders.json"
    path.write_bytes(
        b'{"orders":[' + b",".join(b'{"id":%d,"c":{"id":"c%d"}}' % (i, i) for i in range(900)) + b"]}"
    )
    result = runner.invoke(cli, ["extract", str(path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [v for i in range(900) for v in (i, f"c{i}")]
    assert result.stderr == (
        'Warning: "id" is at 2 paths: .orders[].id (900), .orders[].c.id (900); '
        "--path '.orders[].id' takes the orders' own\n"
    )


def test_cli_no_warning_on_the_seed(runner):
    result = runner.invoke(cli, ["extract"], input=ORDERS)
    assert result.exit_code == 0
    assert result.stdout == "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 648, 649, 650, 651, 652, 653]\n"
    assert result.stderr == ""


def test_cli_path_and_lines(runner):
    data = b'{"orders":[{"id":"a\\"b"},{"id":-5}]}\n{"orders":[{"id":"\\u00e9"}]}'
    assert (
        runner.invoke(cli, ["extract", "--path", ".orders[].id"], input=data).stdout
        == '["a\\"b", -5, "\\u00e9"]\n'
    )
    result = runner.invoke(cli, ["extract", "--path", ".orders[].id", "--lines"], input=data)
    assert result.stdout == 'a"b\n-5\né\n'


def test_cli_path_matching_nothing(runner):
    result = runner.invoke(cli, ["extract", "--path", ".nothing[].id"], input=b'{"orders":[{"id":1}]}')
    assert (result.exit_code, result.stdout, result.stderr) == (0, "[]\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--path", ".a | .b"], "Invalid value for '--path': a pipe at column 4", id="pipe"),
        pytest.param(["--path", ".[-1]"], "cannot count from its end", id="negative"),
        pytest.param(["--path", ".id", "--key", "code"], "give --key or --path, not both", id="both"),
        pytest.param(
            ["--key", ""], "Invalid value for '--key': name a key: it cannot be empty", id="empty-key"
        ),
    ],
)
def test_cli_usage_errors(runner, args, message):
    result = runner.invoke(cli, ["extract", *args], input=b"{}")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_cli_text_not_json_closes_the_list(runner, tmp_path):
    result = runner.invoke(cli, ["extract", "--path", ".id"], input=b'{"id":1}\n{"id":2}\n{"id":tru}\n')
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [1, 2]
    assert result.stderr == "Error: standard input: not JSON at byte 24: not a number or literal\n"


def test_cli_several_files_one_stream(runner, tmp_path):
    """As jq reads them: one stream, so that a value may even run from one file into the next."""
    (tmp_path / "a.json").write_bytes(b'{"id":1}\n{"id":')
    (tmp_path / "b.json").write_bytes(b'2}\n{"id":3}')
    (tmp_path / "c.json").write_bytes(b'{"id":x}')
    files = [str(tmp_path / name) for name in ("a.json", "b.json")]
    assert runner.invoke(cli, ["extract", "--path", ".id", *files]).stdout == "[1, 2, 3]\n"
    assert runner.invoke(cli, ["extract", *files]).stdout == "[1, 2, 3]\n"
    if JQ:
        assert subprocess.run([JQ, "-c", ".id", *files], capture_output=True).stdout == b"1\n2\n3\n"
    result = runner.invoke(cli, ["extract", "--path", ".id", *files, str(tmp_path / "c.json")])
    assert (result.exit_code, result.stdout) == (1, "[1, 2, 3]\n")
    assert result.stderr == f"Error: {tmp_path / 'c.json'}: not JSON at byte 6: not a number or literal\n"


def test_cli_unreadable_file(runner, tmp_path):
    (tmp_path / "a.json").write_bytes(b'{"id":1}')
    result = runner.invoke(cli, ["extract", str(tmp_path / "missing.json")])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: cannot read {tmp_path / 'missing.json'}: ")
    result = runner.invoke(
        cli, ["extract", "--path", ".id", str(tmp_path / "a.json"), str(tmp_path / "missing")]
    )
    assert (result.exit_code, result.stdout) == (1, "[1]\n")  # what was printed closes


# --- The README and CI ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [[], ["extract"], ["fetch"], ["crontab"], ["systemd"], ["kubernetes"]],
    ids=["main", "extract", "fetch", "crontab", "systemd", "kubernetes"],
)
def test_readme_shows_the_current_help(runner, args):
    shown = runner.invoke(cli, [*args, "--help"], prog_name="isintool", terminal_width=80).stdout
    command = " ".join(["isintool", *args, "--help"])
    assert f"$ {command}\n{shown}```" in (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert readme.startswith("# isintool\n\n```sh\n")
    assert len(first_block) == 2
    install_and_run, test = first_block
    assert install_and_run.startswith("pip install . && echo '") and install_and_run.endswith(
        "| isintool extract"
    )
    assert ORDERS.decode() in install_and_run
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_lint_is_clean():
    """ruff check and ruff format agree with the code (the README's test command runs this)."""
    ruff = [sys.executable, "-m", "ruff"]  # from the test extra, in this environment
    for command in ([*ruff, "check", "."], [*ruff, "format", "--check", "."]):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
