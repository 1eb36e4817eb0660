"""Benchmark `isintool extract` against ripgrep, grep and jq on ~200 MB of order JSON.

    python bench/extract.py [--mb 200] [--rounds 5]

Needs `rg` (Debian: ripgrep), `grep` and `jq` on PATH. Prints median wall-time ratios against
ripgrep and peak memory, all measured side by side in one run, on the same orders written two
ways (one line; an order a line), plus start-up against `import click`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys

from _measure import (  # bench/ is on sys.path when run as a script
    compare,
    isintool_command,
    parse_arguments,
    report,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = (
    b'{"orders":[{"id":1},{"id":2},{"id":3},{"id":648}],'
    b'"errors":[{"code":3,"message":"[PHP Warning #2] count(): Parameter must be an array (153)"}]}'
)


def make_orders(path: str, megabytes: int) -> None:
    """Write realistic order JSON: ids among prices, nested codes and messages with numbers."""
    rng = random.Random(6166)
    target = megabytes * 1_000_000
    with open(path, "wb") as out:
        out.write(b'{"orders":[')
        written, order_id = 0, 0
        while written < target:
            parts = []
            for _ in range(10_000):
                order_id += rng.randint(1, 9)
                parts.append(
                    b'{"id":%d,"isin":"US0378331005","side":"%s","qty":%d,"price":%d.%02d,'
                    b'"account":{"code":%d,"desk":"EQ-%d"},"note":"batch %d (%d)"}'
                    % (
                        order_id,
                        rng.choice([b"buy", b"sell"]),
                        rng.randint(1, 5000),
                        rng.randint(1, 999),
                        rng.randint(0, 99),
                        rng.randint(100, 999),
                        rng.randint(1, 40),
                        rng.randint(1, 10**6),
                        rng.randint(1, 999),
                    )
                )
            # One order a line, as large exports are written: grep works a line at a time and
            # takes many minutes over one 200 MB line.
            block = (b",\n" if written else b"") + b",\n".join(parts)
            out.write(block)
            written += len(block)
        out.write(b'],"errors":[{"code":3,"message":"Parameter must be an array (153)"}]}\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the generated input in MB")
    args = parse_arguments(parser, rounds=5)
    orders = os.path.join(args.data, f"orders-{args.mb}mb.json")
    if not os.path.exists(orders):
        print(f"generating {orders} ...", file=sys.stderr)
        make_orders(orders + ".tmp", args.mb)
        os.replace(orders + ".tmp", orders)
    tool = isintool_command(ROOT).split()
    # As an API sends it: all on one line. grep is left out here: it works a line at a time
    # and took over 12 minutes on one 200 MB line.
    oneline = orders.replace(".json", "-oneline.json")
    if not os.path.exists(oneline):
        with open(orders, "rb") as src, open(oneline + ".tmp", "wb") as dst:
            dst.write(src.read().replace(b"\n", b""))
        os.replace(oneline + ".tmp", oneline)
    for label, path, peers in [
        ("one line, as an API sends it", oneline, ["rg", "jq"]),
        ("an order a line, as exports are written", orders, ["rg", "grep", "jq"]),
    ]:
        commands = {"isintool extract": [*tool, "extract", path]}
        if "rg" in peers:
            commands["rg -oP"] = ["rg", "-oP", r'"id":\K\d+', path]
        if "grep" in peers:
            commands["grep -oP"] = ["grep", "-oP", r'"id":\K\d+', path]
        commands["jq"] = ["jq", "-c", "[.orders[].id]", path]
        results = compare(commands, args.rounds, args.data)
        print(f"\nextract on {os.path.getsize(path) / 1e6:.0f} MB, {label}, {args.rounds} rounds")
        print(report(results, "rg -oP"))
        counts = {n: _count_ids(os.path.join(args.data, f"{n}.out")) for n in ("isintool extract", "rg -oP")}
        if len(set(counts.values())) != 1:
            raise SystemExit(f"the tools disagree on the number of ids: {counts}")

    sample = os.path.join(args.data, "sample.json")
    with open(sample, "wb") as f:
        f.write(SAMPLE)
    startup = compare(
        {
            "import click": [sys.executable, "-c", "import click"],
            "isintool extract": [*tool, "extract", sample],
        },
        args.rounds * 4,
        args.data,
    )
    print("\nstart-up on the issue's sample")
    print(report(startup, "import click", memory=False))


def _count_ids(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    return data.count(b",") + 1 if data.startswith(b"[") else data.count(b"\n")


if __name__ == "__main__":
    main()
