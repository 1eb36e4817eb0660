"""Benchmark `isintool fetch --firds` nights: the full set, then a day's delta, against
curl | funzip | rg | sort -u.

    python bench/firds_set.py [--records 2000000] [--parts 15] [--rounds 3] [--links loopback,35]

ESMA publishes its full set (FULINS) weekly in parts of up to 500,000 records, a zip each, and a
delta (DLTINS) every day, all listed with their MD5 by its register (a Solr endpoint). This makes
a FULINS set of --records records in --parts zips (letters D, E, O, as ESMA splits a set by CFI),
dated 2021-01-16: the real excerpt's records (../shared/data/real/), each given an ISIN and a venue.
The set holds every (ISIN, venue) that the whole real DLTINS of 2021-01-17 (in ../shared/data/real/)
modifies or terminates, so that its day really changes pairs; the rest are fresh ISINs (about 1%
with a bad check digit), a fifth of them on two venues. That real DLTINS is the set's next day.
It serves them and a register's answer from 127.0.0.1 (bench/_serve.py) at each link speed, and
times, side by side:
- the full-set night (no state yet; the register lists the set alone): `fetch --firds REGISTER`
  reads every part (each MD5 checked) into the (ISIN, venue) state and the list, against
  `for u in PARTS; do curl -s $u | funzip; done | rg -o '<Id>(ISIN)</Id>' -r '$1' | LC_ALL=C sort -u`;
- a delta night (the full night's state restored before each round, untimed; the register lists
  the day too): `fetch --firds REGISTER --changes FILE` reads the state once, applies the day and
  writes the new state, list and changes, against the pipeline on that day's file alone.
The pipelines validate nothing, keep no state and cannot apply a terminated pair. Needs curl,
funzip and rg (Debian: curl, unzip, ripgrep).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import zipfile

from _measure import compare, isintool_commands, link_label, link_rates, parse_arguments, report, served
from fetch import ROOT, isintool, random_isins

REAL = os.path.join(ROOT, "..", "shared", "data", "real")
EXCERPT = os.path.join(REAL, "firds_DLTINS_20210117_01of01_first400records.xml")
DAY_ZIP = os.path.join(REAL, "firds_DLTINS_20210117_01of01.zip")
FULL_DATE, DAY = "20210116", "20210117"
ISIN_PATTERN = "[A-Z]{2}[A-Z0-9]{9}[0-9]"
MICS = ["XEUR", "XMLI", "STUB", "XMON", "XEUE", "XAMS", "FRAB", "XPAR", "SEED", "XSGA", "XBRD", "XFRA"]
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<BizData xmlns="urn:iso:std:iso:20022:tech:xsd:head.003.001.01">'
    '<Hdr><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.01"><BizMsgIdr>{name}</BizMsgIdr>'
    '</AppHdr></Hdr><Pyld><Document xmlns="urn:iso:std:iso:20022:tech:xsd:auth.017.001.02">'
    "<FinInstrmRptgRefDataRpt><RptHdr><RptgNtty><NtlCmptntAuthrty>EU</NtlCmptntAuthrty></RptgNtty>"
    "<RptgPrd><Dt>2021-01-16</Dt></RptgPrd></RptHdr>"
)
TAIL = "</FinInstrmRptgRefDataRpt></Document></Pyld></BizData>"


def templates() -> list[tuple[str, str, str]]:
    """The excerpt's records as (before the ISIN, between ISIN and MIC, after the MIC) of a
    full set's <RefData>."""
    with open(EXCERPT, encoding="utf-8") as f:
        bodies = re.findall(
            r"<FinInstrm><(?:TermntdRcrd|ModfdRcrd)>(.*?)</(?:TermntdRcrd|ModfdRcrd)></FinInstrm>", f.read()
        )
    shapes = []
    for body in bodies:
        m = re.match(
            r"(<FinInstrmGnlAttrbts><Id>)[^<]*(</Id>.*?<TradgVnRltdAttrbts><Id>)[^<]*(</Id>.*)", body
        )
        shapes.append(("<RefData>" + m[1], m[2], m[3] + "</RefData>"))
    return shapes


def changed_pairs() -> list[tuple[str, str]]:
    """The (ISIN, MIC) pairs the real day modifies or terminates."""
    with zipfile.ZipFile(DAY_ZIP) as z:
        data = z.read(z.namelist()[0])
    records = isintool._firds_records([data])
    return [(r.isin.decode(), r.mic.decode()) for r in records if r.kind in ("ModfdRcrd", "TermntdRcrd")]


def make_set(folder: str, records: int, parts: int) -> list[str]:
    """The full set's zips in `folder` (kept for the next run); their names."""
    letters = {"D": parts // 3, "E": parts // 3, "O": parts - 2 * (parts // 3)}
    names = [
        f"FULINS_{c}_{FULL_DATE}_{n:02d}of{m:02d}.zip" for c, m in letters.items() for n in range(1, m + 1)
    ]
    marker = os.path.join(folder, "made.json")
    if os.path.exists(marker):
        with open(marker) as f:
            if json.load(f) == {"records": records, "names": names}:
                return names
    rng = random.Random(20210116)
    shapes = templates()
    pairs = changed_pairs()
    if records < len(pairs):
        raise SystemExit(f"--records must be at least the {len(pairs):,} pairs the real day changes")
    for isin in random_isins(records - len(pairs), rng).decode().split():
        pairs.append((isin, rng.choice(MICS)))
        if rng.random() < 0.2 and len(pairs) < records:
            pairs.append((isin, rng.choice(MICS[:6])))  # a second venue
    pairs = pairs[:records]
    rng.shuffle(pairs)  # ESMA's parts follow the CFI, not the ISIN
    per_part = -(-len(pairs) // parts)
    for index, name in enumerate(names):
        print(f"generating {name} ...", flush=True)
        path = os.path.join(folder, name)
        with (
            zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open(name.replace(".zip", ".xml"), "w") as member,
        ):
            member.write(HEAD.format(name=name[:-4]).encode())
            batch = []
            for isin, mic in pairs[index * per_part : (index + 1) * per_part]:
                before, between, after = rng.choice(shapes)
                batch.append(before + isin + between + mic + after)
                if len(batch) == 10_000:
                    member.write("".join(batch).encode())
                    batch = []
            member.write(("".join(batch) + TAIL).encode())
        os.replace(path + ".tmp", path)
    with open(marker, "w") as f:
        json.dump({"records": records, "names": names}, f)
    return names


def listing(folder: str, names: list[str]) -> list[dict[str, str]]:
    """The register's docs for the files `names` in `folder`, as ESMA's Solr lists them."""
    docs = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            checksum = hashlib.file_digest(f, "md5").hexdigest()
        date = re.search(r"_(\d{8})_", name)[1]
        docs.append(
            {
                "checksum": checksum,
                "download_link": name,  # relative to the register; ESMA's are absolute
                "publication_date": f"{date[:4]}-{date[4:6]}-{date[6:]}T00:00:00Z",
                "file_name": name,
                "file_type": name[:6],
            }
        )
    return docs


def list_in_register(folder: str, docs: list[dict[str, str]]) -> None:
    with open(os.path.join(folder, "select.json.tmp"), "w") as f:
        json.dump(docs, f)
    os.replace(os.path.join(folder, "select.json.tmp"), os.path.join(folder, "select.json"))


def lines_in(path: str) -> int:
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--parts", type=int, default=15)
    args = parse_arguments(parser, rounds=3, links="loopback,35")
    folder = os.path.join(args.data, f"fulins-{args.records}-{args.parts}")
    os.makedirs(folder, exist_ok=True)
    names = make_set(folder, args.records, args.parts)
    day = os.path.basename(DAY_ZIP).removeprefix("firds_")
    shutil.copyfile(DAY_ZIP, os.path.join(folder, day))
    full_docs, day_docs = listing(folder, names), listing(folder, [day])
    size = sum(os.path.getsize(os.path.join(folder, name)) for name in names)
    print(f"FULINS set: {args.records:,} records in {len(names)} zips, {size / 1e6:.0f} MB zipped")
    print(f"the next day: {day}, {os.path.getsize(DAY_ZIP) / 1e6:.1f} MB zipped")
    tools = isintool_commands(ROOT, args.baseline)
    work = os.path.join(args.data, "firds-nights")
    for rate in link_rates(args.links):
        with served(folder, rate) as base:
            register = f"{base}/solr/select"
            list_in_register(folder, full_docs)
            urls = " ".join(f"{base}/{name}" for name in names)
            full = {
                f"full-set night{suffix}": f"rm -rf {work}/full{n} && mkdir -p {work}/full{n} && "
                f"{tool} fetch -q --firds {register} -o {work}/full{n}/isins.txt"
                for n, (suffix, tool) in enumerate(tools.items())
            }
            full["curl|funzip|rg|sort"] = (
                f"for u in {urls}; do curl -s $u | funzip; done "
                f"| rg -o '<Id>({ISIN_PATTERN})</Id>' -r '$1' | LC_ALL=C sort -u > {work}/full-pipeline.txt"
            )
            results = compare(full, args.rounds, args.data)
            print(f"\nthe full-set night, link: {link_label(rate)}")
            print(report(results, "curl|funzip|rg|sort"))
            list_in_register(folder, full_docs + day_docs)
            delta = {
                f"delta night{suffix}": f"{tool} fetch -q --firds {register} -o {work}/day{n}/isins.txt "
                f"--changes {work}/day{n}/changes.txt"
                for n, (suffix, tool) in enumerate(tools.items())
            }
            delta["curl|funzip|rg|sort"] = (
                f"curl -s {base}/{day} | funzip | rg -o '<Id>({ISIN_PATTERN})</Id>' -r '$1' "
                f"| LC_ALL=C sort -u > {work}/day-pipeline.txt"
            )
            before = {
                f"delta night{suffix}": f"rm -rf {work}/day{n} && cp -a {work}/full{n} {work}/day{n}"
                for n, suffix in enumerate(tools)
            }
            results = compare(delta, args.rounds, args.data, before=before)
            print(f"\na delta night, link: {link_label(rate)}")
            print(report(results, "curl|funzip|rg|sort"))
    counts = {name: lines_in(f"{work}/{name}") for name in ("full0/isins.txt", "full-pipeline.txt")}
    counts |= {name: lines_in(f"{work}/{name}") for name in ("day0/isins.txt", "day0/changes.txt")}
    counts["day-pipeline.txt"] = lines_in(f"{work}/day-pipeline.txt")
    print("\nlines written: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))


if __name__ == "__main__":
    main()
