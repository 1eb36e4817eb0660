"""Benchmark `isintool fetch` on a FIRDS-shaped zip against curl | funzip | rg | sort -u.

    python bench/firds.py [--mb 150] [--rounds 3] [--links loopback,35]

ESMA's FIRDS files are zipped ISO 20022 XML on one long line: a 4 MB zip inflates to 143 MB.
Each instrument's ISIN stands in <FinInstrmGnlAttrbts><Id>; <Id> also holds trading venues'
MICs, and <ISIN> the underlyings'. This generates records shaped like those of
../shared/data/real/'s excerpt (a bond's and an option's, random ISINs and LEIs), zips them, and
times, side by side at each link speed:
- `fetch --column Id` against `curl | funzip | rg -o '<Id>(PATTERN)</Id>' -r '$1' | sort -u`;
- `fetch` (every ISIN-shaped token) against `curl | funzip | rg -o PATTERN | sort -u`.
The pipelines validate nothing. Needs curl, funzip and rg (Debian: curl, unzip, ripgrep).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import zipfile
from collections.abc import Iterator

from _measure import (  # bench/ is on sys.path as a script
    compare,
    generated,
    isintool_command,
    link_label,
    link_rates,
    parse_arguments,
    report,
    served,
)
from fetch import ROOT, random_isins

ISIN_PATTERN = "[A-Z]{2}[A-Z0-9]{9}[0-9]"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<BizData xmlns="urn:iso:std:iso:20022:tech:xsd:head.003.001.01">'
    "<Hdr><AppHdr><Fr><OrgId><Id><OrgId><Othr><Id>EU</Id></Othr></OrgId></Id></OrgId></Fr></AppHdr></Hdr>"
    '<Pyld><Document xmlns="urn:iso:std:iso:20022:tech:xsd:auth.036.001.02"><FinInstrmRptgRefDataDltaRpt>'
)
TAIL = "</FinInstrmRptgRefDataDltaRpt></Document></Pyld></BizData>"
BOND = (
    "<FinInstrm><TermntdRcrd><FinInstrmGnlAttrbts><Id>{isin}</Id><FullNm>Kreditanst.f.Wiederaufbau "
    "Anl.v.2014 ({n})</FullNm><ShrtNm>KFW/1.625 ANL 20210115 GGAR</ShrtNm><ClssfctnTp>DBFTFB</ClssfctnTp>"
    "<NtnlCcy>EUR</NtnlCcy><CmmdtyDerivInd>false</CmmdtyDerivInd></FinInstrmGnlAttrbts><Issr>{lei}</Issr>"
    "<TradgVnRltdAttrbts><Id>{mic}</Id><IssrReq>false</IssrReq><FrstTradDt>2014-01-14T09:00:00Z</FrstTradDt>"
    "<TermntnDt>2017-12-15T00:00:00Z</TermntnDt></TradgVnRltdAttrbts><DebtInstrmAttrbts><TtlIssdNmnlAmt "
    'Ccy="EUR">5000000000</TtlIssdNmnlAmt><MtrtyDt>2021-01-15</MtrtyDt><NmnlValPerUnit Ccy="EUR">1000'
    "</NmnlValPerUnit><IntrstRate><Fxd>1.625</Fxd></IntrstRate></DebtInstrmAttrbts><TechAttrbts>"
    "<RlvntCmptntAuthrty>DE</RlvntCmptntAuthrty><RlvntTradgVn>{mic}</RlvntTradgVn></TechAttrbts>"
    "</TermntdRcrd></FinInstrm>"
)
OPTION = (
    "<FinInstrm><TermntdRcrd><FinInstrmGnlAttrbts><Id>{isin}</Id><FullNm>BOBAR.2101.{n}.C</FullNm>"
    "<ShrtNm>ENXT BE/O 20210115 C A BAR 19.5</ShrtNm><ClssfctnTp>OCASPS</ClssfctnTp><NtnlCcy>EUR</NtnlCcy>"
    "<CmmdtyDerivInd>false</CmmdtyDerivInd></FinInstrmGnlAttrbts><Issr>{lei}</Issr><TradgVnRltdAttrbts>"
    "<Id>{mic}</Id><IssrReq>false</IssrReq><FrstTradDt>2020-11-24T00:00:00Z</FrstTradDt><TermntnDt>"
    "2021-01-15T16:30:00Z</TermntnDt></TradgVnRltdAttrbts><DerivInstrmAttrbts><XpryDt>2021-01-15</XpryDt>"
    "<PricMltplr>100</PricMltplr><UndrlygInstrm><Sngl><ISIN>{underlying}</ISIN></Sngl></UndrlygInstrm>"
    '<OptnTp>CALL</OptnTp><StrkPric><Pric><MntryVal><Amt Ccy="EUR">19.5</Amt></MntryVal></Pric></StrkPric>'
    "<OptnExrcStyle>AMER</OptnExrcStyle><DlvryTp>PHYS</DlvryTp></DerivInstrmAttrbts><TechAttrbts>"
    "<RlvntCmptntAuthrty>BE</RlvntCmptntAuthrty><PblctnPrd><FrDtToDt><FrDt>2020-11-25</FrDt><ToDt>2021-01-16"
    "</ToDt></FrDtToDt></PblctnPrd><RlvntTradgVn>{mic}</RlvntTradgVn></TechAttrbts></TermntdRcrd></FinInstrm>"
)
MICS = ["XEUB", "XEUM", "SPEX", "XBRD", "XMOT", "FRAA", "XSTU", "XFRA"]
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
REAL_EXCERPT = os.path.join(
    ROOT, "..", "shared", "data", "real", "firds_DLTINS_20210117_01of01_first400records.xml"
)
_INSTRUMENT = re.compile(r"(<FinInstrmGnlAttrbts><Id>)[A-Z0-9]{12}(</Id>)")


def record_templates(rng: random.Random) -> list[tuple[str, str]]:
    """Records as (before the instrument's ISIN, after it): the real excerpt's 400 records
    (names, MICs, LEIs and underlyings as FIRDS writes them) when ../shared is beside the
    project, else records from the two templates above."""
    if os.path.exists(REAL_EXCERPT):
        with open(REAL_EXCERPT, encoding="utf-8") as f:
            records = re.findall(r"<FinInstrm>.*?</FinInstrm>", f.read())
        split = [_INSTRUMENT.split(record, maxsplit=1) for record in records]
        return [(before + head, tail + after) for before, head, tail, after in split]
    underlyings = random_isins(200, rng).decode().split()
    leis = ["".join(rng.choices(ALNUM, k=18)) + f"{rng.randint(0, 99):02d}" for _ in range(100)]
    templates = []
    for n in range(200):
        fields = {
            "n": n,
            "lei": rng.choice(leis),
            "mic": rng.choice(MICS),
            "underlying": rng.choice(underlyings),
        }
        before, after = (OPTION if n % 3 else BOND).split("{isin}")
        templates.append((before.format(**fields), after.format(**fields)))
    return templates


def firds_records(count: int, rng: random.Random) -> Iterator[str]:
    """`count` FIRDS records, each with a fresh instrument ISIN (about 1% bad check digits)."""
    templates = record_templates(rng)
    for isin in random_isins(count, rng).decode().split():
        before, after = rng.choice(templates)
        yield before + isin + after


def make_firds_zip(path: str, megabytes: int) -> None:
    """A zip holding one FIRDS-shaped XML file of about `megabytes` MB, on one line."""
    rng = random.Random(20210117)
    text = (HEAD + "".join(firds_records(megabytes * 1_000_000 // 980, rng)) + TAIL).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("DLTINS_20261127_01of01.xml", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=150, help="size of the XML in MB")
    args = parse_arguments(parser, rounds=3, links="loopback,35")
    name = f"firds-{'real' if os.path.exists(REAL_EXCERPT) else 'synthetic'}-records-{args.mb}mb.zip"
    archive = os.path.join(args.data, name)
    generated(archive, make_firds_zip, args.mb)
    tool = isintool_command(ROOT)
    out = os.path.join(args.data, "firds")
    with zipfile.ZipFile(archive) as z:
        inflated = z.infolist()[0].file_size
    print(f"FIRDS-shaped zip: {os.path.getsize(archive) / 1e6:.1f} MB, {inflated / 1e6:.0f} MB of XML")
    for rate in link_rates(args.links):
        with served(args.data, rate) as base:
            url = f"{base}/{name}"
            fetch = f"{tool} fetch -q --url {url}"
            unzip = f"curl -s {url} | funzip | rg -o"
            results = compare(
                {
                    "fetch --column Id": f"rm -f {out}-id*; {fetch} --column Id -o {out}-id.txt",
                    "rg -o <Id>(ISIN)": f"{unzip} '<Id>({ISIN_PATTERN})</Id>' -r '$1' | LC_ALL=C sort -u",
                    "fetch (every token)": f"rm -f {out}-all*; {fetch} -o {out}-all.txt",
                    "rg -o ISIN": f"{unzip} '{ISIN_PATTERN}' | LC_ALL=C sort -u",
                },
                args.rounds,
                args.data,
            )
        print(f"\nlink: {link_label(rate)}")
        pairs = [("fetch --column Id", "rg -o <Id>(ISIN)"), ("fetch (every token)", "rg -o ISIN")]
        for ours, theirs in pairs:
            print(report([r for r in results if r.name in (ours, theirs)], theirs))
    for label, suffix in (("fetch --column Id", "id"), ("fetch", "all")):
        with open(f"{out}-{suffix}.txt", "rb") as f:
            count = f.read().count(b"\n")
        print(f"{label} wrote {count:,} ISINs")


if __name__ == "__main__":
    main()
