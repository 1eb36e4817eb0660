"""Benchmark `isintool fetch --firds` on a FULINS set in parts, against curl | funzip | rg | sort -u.

    python bench/firds_set.py [--records 2000000] [--parts 15] [--rounds 3] [--links loopback,35]

ESMA publishes its full set weekly in parts of up to 500,000 records, a zip each, listed with
their MD5 by its register (a Solr endpoint). This makes such a set of --records records (the real
excerpt's records in ../shared, each with a fresh instrument ISIN: about 1.9 GB of XML for 2
million) in --parts zips, serves them and a register answer from 127.0.0.1 (bench/_serve.py),
and times, side by side:
- `isintool fetch --firds REGISTER` (the register asked and paged, every MD5 checked);
- `for u in PARTS; do curl -s $u | funzip; done | rg -o '<Id>(ISIN)</Id>' -r '$1' | LC_ALL=C sort -u`,
  which validates nothing and is given the parts' URLs.
Peak memory is that of all a command's processes together. Needs curl, funzip and rg.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import zipfile

from _measure import compare, isintool_command, link_label, link_rates, parse_arguments, report, served
from fetch import ROOT
from firds import HEAD, TAIL, firds_records

ISIN_PATTERN = "[A-Z]{2}[A-Z0-9]{9}[0-9]"


def make_set(folder: str, records: int, parts: int) -> list[str]:
    """The parts' zips in `folder`, letter by letter as ESMA splits them, and select.json
    listing them; their names. Kept for the next run when they exist."""
    date = datetime.datetime.now(datetime.timezone.utc).date().strftime("%Y%m%d")
    letters = {"D": parts // 3, "E": parts // 3, "O": parts - 2 * (parts // 3)}  # debt, equity, options
    names = [
        f"FULINS_{letter}_{date}_{n:02d}of{m:02d}.zip"
        for letter, m in letters.items()
        for n in range(1, m + 1)
    ]
    listing = os.path.join(folder, "select.json")
    if os.path.exists(listing):
        with open(listing) as f:
            if [doc["file_name"] for doc in json.load(f)] == names:
                return names
    rng = random.Random(20250201)
    stream = firds_records(records, rng)
    docs = []
    for index, name in enumerate(names):
        print(f"generating {name} ...", flush=True)
        count = records // parts + (1 if index < records % parts else 0)
        path = os.path.join(folder, name)
        with (
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open(name.replace(".zip", ".xml"), "w") as member,
        ):
            member.write(HEAD.encode())
            batch: list[str] = []
            for _ in range(count):
                batch.append(next(stream))
                if len(batch) == 10_000:
                    member.write("".join(batch).encode())
                    batch = []
            member.write(("".join(batch) + TAIL).encode())
        with open(path, "rb") as f:
            checksum = hashlib.file_digest(f, "md5").hexdigest()
        docs.append(
            {
                "checksum": checksum,
                "download_link": name,  # relative to the register; ESMA's are absolute
                "publication_date": f"{date[:4]}-{date[4:6]}-{date[6:]}T00:00:00Z",
                "file_name": name,
                "file_type": "FULINS",
            }
        )
    with open(listing, "w") as f:
        json.dump(docs, f)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--parts", type=int, default=15)
    args = parse_arguments(parser, rounds=3, links="loopback,35")
    folder = os.path.join(args.data, f"fulins-{args.records}-{args.parts}")
    os.makedirs(folder, exist_ok=True)
    names = make_set(folder, args.records, args.parts)
    size = sum(os.path.getsize(os.path.join(folder, name)) for name in names)
    print(f"FULINS set: {args.records:,} records in {len(names)} zips, {size / 1e6:.0f} MB zipped")
    tool = isintool_command(ROOT)
    out = os.path.join(args.data, "fulins")
    for rate in link_rates(args.links):
        with served(folder, rate) as base:
            urls = " ".join(f"{base}/{name}" for name in names)
            results = compare(
                {
                    "fetch --firds": f"rm -f {out}-ours*; "
                    f"{tool} fetch -q --firds {base}/solr/select -o {out}-ours.txt",
                    "curl|funzip|rg|sort": f"for u in {urls}; do curl -s $u | funzip; done "
                    f"| rg -o '<Id>({ISIN_PATTERN})</Id>' -r '$1' | LC_ALL=C sort -u > {out}-theirs.txt",
                },
                args.rounds,
                args.data,
            )
        print(f"\nlink: {link_label(rate)}")
        print(report(results, "curl|funzip|rg|sort"))
    for label, suffix in (("fetch --firds", "ours"), ("the pipeline", "theirs")):
        with open(f"{out}-{suffix}.txt", "rb") as f:
            count = f.read().count(b"\n")
        print(f"{label} wrote {count:,} ISINs")


if __name__ == "__main__":
    main()
