"""Benchmark `isintool fetch` against a curl | funzip | cut | sort -u pipeline on a GLEIF-shaped zip.

    python bench/fetch.py [--rows 8000000] [--rounds 3] [--links loopback,35,12.5]

Generates `LEI,ISIN` rows (about 1% bad check digits, 2% duplicate ISINs), zips them, and serves
the zip from a process on 127.0.0.1 (bench/_serve.py) at each link speed in turn: as fast as
loopback goes, then paced at the given MB/s, as a real link delivers it (a loopback benchmark
hides the network: nothing can overlap with a transfer that takes no time). At each speed it
times a cold fetch (no earlier output), the pipeline, and curl alone (the transfer itself),
side by side in one run. The pipeline validates nothing. Needs curl and funzip (Debian: curl,
unzip).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import zipfile
from typing import BinaryIO

from _measure import (  # bench/ is on sys.path as a script
    compare,
    generated,
    isintool_commands,
    link_label,
    link_rates,
    parse_arguments,
    report,
    served,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import isintool  # noqa: E402  (for the check digits of the generated ISINs)

ALNUM = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PREFIXES = [b"US", b"DE", b"XS", b"CH", b"FR", b"GB", b"JP", b"CA", b"AU", b"NL", b"LU", b"IE", b"KY", b"EU"]


def random_isins(count: int, rng: random.Random) -> bytes:
    """`count` ISINs as 13-byte lines, about 1% with a wrong check digit."""
    to_alnum = bytes(ALNUM[b % 36] for b in range(256))
    to_digit = bytes(ALNUM[b % 10] for b in range(256))
    lines = bytearray(13 * count)
    lines[12::13] = b"\n" * count
    prefixes = rng.choices(PREFIXES, weights=range(len(PREFIXES), 0, -1), k=count)
    lines[0::13] = bytes(p[0] for p in prefixes)
    lines[1::13] = bytes(p[1] for p in prefixes)
    for position in range(2, 11):
        # Mostly digits, as real NSINs are; a few letters exercise the letter path.
        table = to_alnum if position in (7, 8) else to_digit
        lines[position::13] = rng.randbytes(count).translate(table)
    check = bytearray(count)
    for digit in b"0123456789":
        lines[11::13] = bytes([digit]) * count
        ok = isintool._isin_mask(bytes(lines))
        check = bytearray(digit if good else old for good, old in zip(ok, check, strict=True))
    for i in rng.sample(range(count), count // 100):  # spoil 1%
        check[i] = ALNUM[(check[i] - 48 + 1) % 10]
    lines[11::13] = bytes(check)
    return bytes(lines)


def write_gleif_csv(out: BinaryIO, rows: int) -> None:
    """Write an `LEI,ISIN` CSV like GLEIF's daily ISIN-to-LEI file: rows grouped by LEI, about
    1% bad check digits, 2% repeating an earlier ISIN under another LEI."""
    rng = random.Random(6166)
    isins = random_isins(rows, rng)
    leis = [bytes(rng.choices(ALNUM, k=18)) + b"%02d" % rng.randint(0, 99) for _ in range(rows // 20 + 1)]
    out.write(b"LEI,ISIN\n")
    step = 100_000
    for start in range(0, rows, step):
        lines = []
        for i in range(start, min(rows, start + step)):
            j = rng.randrange(i) if i and rng.random() < 0.02 else i
            lines.append(leis[i // 20] + b"," + isins[13 * j : 13 * j + 12])
        out.write(b"\n".join(lines) + b"\n")


def make_gleif_zip(path: str, rows: int) -> None:
    """Write a zip holding one GLEIF-shaped CSV (see write_gleif_csv)."""
    with tempfile.NamedTemporaryFile(dir=os.path.dirname(path)) as csv_file:
        write_gleif_csv(csv_file, rows)
        csv_file.flush()
        # ZipFile.write knows the size up front, so funzip can stream the member.
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(csv_file.name, "isin-lei.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8_000_000)
    args = parse_arguments(parser, rounds=3, links="loopback,35,12.5")
    name = f"isin-lei-{args.rows}.zip"
    archive = os.path.join(args.data, name)
    generated(archive, make_gleif_zip, args.rows)
    tools = isintool_commands(ROOT, args.baseline)
    ours = os.path.join(args.data, "isintool-isins")
    theirs = os.path.join(args.data, "pipeline-isins.txt")
    size = os.path.getsize(archive)
    print(f"fetch of {args.rows:,} rows ({size / 1e6:.0f} MB zipped), {args.rounds} rounds a link")
    for rate in link_rates(args.links):
        with served(args.data, rate) as base:
            url = f"{base}/{name}"
            commands = {
                f"isintool fetch{suffix}": f"rm -f {ours}{n}.*; {tool} fetch -q --url {url} -o {ours}{n}.txt"
                for n, (suffix, tool) in enumerate(tools.items())
            }
            commands["curl|funzip|cut|sort"] = (
                f"curl -s {url} | funzip | tail -n +2 | cut -d, -f2 | LC_ALL=C sort -u > {theirs}"
            )
            commands["curl alone"] = f"curl -s {url}"
            results = compare(commands, args.rounds, args.data)
        print(f"\nlink: {link_label(rate)}")
        print(report(results, "curl|funzip|cut|sort"))
        transfer = next(r for r in results if r.name == "curl alone")
        pipeline = next(r for r in results if r.name == "curl|funzip|cut|sort")
        fetch = results[0]
        print(
            f"fetch ends {fetch.seconds - transfer.seconds:.2f} s after the transfer does (curl alone: "
            f"{transfer.seconds:.2f} s); wall {fetch.seconds / pipeline.seconds:.2f}x and CPU "
            f"{fetch.cpu / pipeline.cpu:.2f}x the pipeline's "
            f"({fetch.cpu:.2f} CPU s against {pipeline.cpu:.2f})"
        )
    with open(f"{ours}0.txt", "rb") as f:
        count = f.read().count(b"\n")
    with open(theirs, "rb") as f:
        unvalidated = f.read().count(b"\n")
    print(f"\nisintool wrote {count:,} valid ISINs; the pipeline {unvalidated:,} unvalidated")


if __name__ == "__main__":
    main()
