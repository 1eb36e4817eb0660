"""Benchmark `isintool fetch` on FIRDS zips against curl | funzip | rg | sort -u.

    python bench/firds.py [--mb 150] [--real ZIP] [--rounds 3] [--links loopback,35]

ESMA's FIRDS files are zipped ISO 20022 XML on one long line: a 4 MB zip inflates to 143 MB.
Each instrument's ISIN stands in <FinInstrmGnlAttrbts><Id>; <Id> also holds trading venues'
MICs, and <ISIN> the underlyings'. Two zips are timed, side by side at each link speed:
- the real delta file (--real, by default ../shared/data/real/firds_DLTINS_20210117_01of01.zip
  when it is there; --real '' leaves it out), as ESMA published it;
- --mb MB (0: none) of records generated from the real file's 141,381 records (or, without it, from the
  400 of ../shared's excerpt, or from two made-up templates), each with a fresh instrument ISIN.
On each:
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
from collections.abc import Callable, Iterator

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
SHARED_REAL = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real"))
REAL_EXCERPT = os.path.join(SHARED_REAL, "firds_DLTINS_20210117_01of01_first400records.xml")
REAL_DLTINS = os.path.join(SHARED_REAL, "firds_DLTINS_20210117_01of01.zip")
_INSTRUMENT = re.compile(r"(<FinInstrmGnlAttrbts><Id>)[A-Z0-9]{12}(</Id>)")


def real_records(path: str) -> list[str]:
    """The <FinInstrm> records of a real FIRDS file: XML, or a zip holding one."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            text = archive.read(archive.infolist()[0]).decode("utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    return re.findall(r"<FinInstrm>.*?</FinInstrm>", text)


def record_templates(rng: random.Random, source: str = REAL_EXCERPT) -> list[tuple[str, str]]:
    """Records as (before the instrument's ISIN, after it): a real file's records (names, MICs,
    LEIs and underlyings as FIRDS writes them) when `source` is there, else records from the two
    templates above."""
    if source and os.path.exists(source):
        split = [_INSTRUMENT.split(record, maxsplit=1) for record in real_records(source)]
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


def firds_records(count: int, rng: random.Random, source: str = REAL_EXCERPT) -> Iterator[str]:
    """`count` FIRDS records, each with a fresh instrument ISIN (about 1% bad check digits),
    shaped as the records of `source` (see record_templates)."""
    templates = record_templates(rng, source)
    for isin in random_isins(count, rng).decode().split():
        before, after = rng.choice(templates)
        yield before + isin + after


def make_firds_zip(source: str) -> Callable[[str, int], None]:
    """A maker (for _measure.generated) of a zip holding one FIRDS-shaped XML file of about
    `megabytes` MB on one line, of records shaped as those of `source`."""

    def make(path: str, megabytes: int) -> None:
        rng = random.Random(20210117)
        text = (HEAD + "".join(firds_records(megabytes * 1_000_000 // 980, rng, source)) + TAIL).encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("DLTINS_20261127_01of01.xml", text)

    return make


def template_source(real: str) -> tuple[str, str]:
    """Where the generated records come from, and a name for it: the real file, else the
    excerpt, else the made-up templates."""
    if real and os.path.exists(real):
        return real, "dltins"
    if os.path.exists(REAL_EXCERPT):
        return REAL_EXCERPT, "real"  # the name earlier runs gave the excerpt's records
    return "", "synthetic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=150, help="size of the generated XML in MB (0: none)")
    parser.add_argument("--real", default=REAL_DLTINS, help="a real FIRDS zip to time as it is ('': none)")
    args = parse_arguments(parser, rounds=3, links="loopback,35")
    zips = {}
    if args.mb:
        source, kind = template_source(args.real)
        name = f"firds-{kind}-records-{args.mb}mb.zip"
        generated(os.path.join(args.data, name), make_firds_zip(source), args.mb)
        zips[name] = f"{args.mb} MB of records generated from {os.path.basename(source) or 'two templates'}"
    if args.real and os.path.exists(args.real):
        served_real = os.path.join(args.data, os.path.basename(args.real))
        if not os.path.exists(served_real):
            os.symlink(os.path.abspath(args.real), served_real)
        zips = {os.path.basename(args.real): "the real file, as ESMA published it", **zips}
    tools = isintool_commands(ROOT, args.baseline)
    out = os.path.join(args.data, "firds")
    for zip_name, label in zips.items():
        archive = os.path.join(args.data, zip_name)
        with zipfile.ZipFile(archive) as z:
            inflated = z.infolist()[0].file_size
        print(
            f"\n{zip_name}: {label}: {os.path.getsize(archive) / 1e6:.1f} MB, {inflated / 1e6:.0f} MB of XML"
        )
        for rate in link_rates(args.links):
            with served(args.data, rate) as base:
                url = f"{base}/{zip_name}"
                unzip = f"curl -s {url} | funzip | rg -o"
                commands = {}
                for n, (suffix, tool) in enumerate(tools.items()):
                    fetch = f"{tool} fetch -q --url {url}"
                    commands[f"fetch --column Id{suffix}"] = (
                        f"rm -f {out}-id{n}.*; {fetch} --column Id -o {out}-id{n}.txt"
                    )
                commands["rg -o <Id>(ISIN)"] = (
                    f"{unzip} '<Id>({ISIN_PATTERN})</Id>' -r '$1' | LC_ALL=C sort -u"
                )
                for n, (suffix, tool) in enumerate(tools.items()):
                    fetch = f"{tool} fetch -q --url {url}"
                    commands[f"fetch (every token){suffix}"] = (
                        f"rm -f {out}-all{n}.*; {fetch} -o {out}-all{n}.txt"
                    )
                commands["rg -o ISIN"] = f"{unzip} '{ISIN_PATTERN}' | LC_ALL=C sort -u"
                results = compare(commands, args.rounds, args.data)
            print(f"\nlink: {link_label(rate)}")
            for ours, theirs in [
                ("fetch --column Id", "rg -o <Id>(ISIN)"),
                ("fetch (every token)", "rg -o ISIN"),
            ]:
                print(report([r for r in results if r.name.startswith(ours) or r.name == theirs], theirs))
        for reading, suffix in (("fetch --column Id", "id"), ("fetch", "all")):
            with open(f"{out}-{suffix}0.txt", "rb") as f:
                count = f.read().count(b"\n")
            print(f"{reading} wrote {count:,} ISINs")


if __name__ == "__main__":
    main()
