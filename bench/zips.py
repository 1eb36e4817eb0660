"""Benchmark `isintool fetch` on zips `funzip` cannot stream, against libarchive's stream reader.

    python bench/zips.py [--mb 300] [--rounds 3] [--links loopback,35]

Two zips of one GLEIF-shaped `LEI,ISIN` CSV of about --mb MB (bench/fetch.py's rows):
- stored, its sizes in a data descriptor after the data, as libarchive and zipfile write into a
  pipe: the entry's end is found by the descriptor's CRC-32 and sizes;
- bzip2 (zip method 12), as 7-Zip and zipfile write it.
Each is served from 127.0.0.1 (bench/_serve.py) and fetched side by side with
`curl | bsdtar -xOf - | tail -n +2 | cut -d, -f2 | LC_ALL=C sort -u`, which validates nothing.
Needs curl and bsdtar (Debian: curl, libarchive-tools).
"""

from __future__ import annotations

import argparse
import os
import zipfile

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
from fetch import ROOT, write_gleif_csv

ROW_BYTES = 34  # `LEI,ISIN\n`: 20 + 1 + 12 + 1


class _Pipe:
    """A file seen as a pipe: no seek or tell, so zipfile writes a data descriptor."""

    def __init__(self, f) -> None:
        self._f = f

    def write(self, data: bytes) -> int:
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def make_zip(method: int, described: bool):
    def make(path: str, megabytes: int) -> None:
        with open(path, "wb") as out:
            target = _Pipe(out) if described else out
            with (
                zipfile.ZipFile(target, "w", method) as archive,
                archive.open("isin-lei.csv", "w", force_zip64=True) as member,
            ):
                write_gleif_csv(member, megabytes * 1_000_000 // ROW_BYTES)

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="size of the CSV in MB")
    args = parse_arguments(parser, rounds=3, links="loopback,35")
    zips = {
        "stored, descriptor": (f"stored-descriptor-{args.mb}mb.zip", zipfile.ZIP_STORED, True),
        "bzip2": (f"bzip2-{args.mb}mb.zip", zipfile.ZIP_BZIP2, False),
    }
    tools = isintool_commands(ROOT, args.baseline)
    out = os.path.join(args.data, "zips")
    for label, (name, method, described) in zips.items():
        archive = generated(os.path.join(args.data, name), make_zip(method, described), args.mb)
        print(f"\n{label}: {os.path.getsize(archive) / 1e6:.0f} MB zip of a {args.mb} MB CSV")
        for rate in link_rates(args.links):
            with served(args.data, rate) as base:
                url = f"{base}/{name}"
                commands = {
                    f"isintool fetch{suffix}": f"rm -f {out}-ours{n}.*; "
                    f"{tool} fetch -q --url {url} -o {out}-ours{n}.txt"
                    for n, (suffix, tool) in enumerate(tools.items())
                }
                commands["curl|bsdtar|cut|sort"] = (
                    f"curl -s {url} | bsdtar -xOf - | tail -n +2 | cut -d, -f2 "
                    f"| LC_ALL=C sort -u > {out}-theirs.txt"
                )
                results = compare(commands, args.rounds, args.data)
            print(f"link: {link_label(rate)}")
            print(report(results, "curl|bsdtar|cut|sort"))


if __name__ == "__main__":
    main()
