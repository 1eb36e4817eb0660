"""Benchmark `isintool extract` (its default and --path) against ripgrep, grep and jq.

    python bench/extract.py [--mb 200] [--rounds 5] [--long 30,300] [--baseline DIR]

Needs `rg` (Debian: ripgrep), `grep` and `jq` on PATH. Every table gives medians of wall time and
CPU seconds, their ratios against the peer named, and peak memory, measured side by side in one
run (--baseline adds another checkout's isintool.py to each table, as "... (base)"):
- the default mode on ~200 MB of orders written two ways (one line; an order a line), against
  `rg -oP`, `grep -oP` and jq;
- ~200 MB shaped like Shopify's orders (each with a customer, addresses and line items, every one
  with an `id`: ../shared/data/real/orders/'s real order, IDs varied), one line as an API sends
  it: `--path .orders[].id` against `jq -c '.orders[].id'` (the same IDs, checked), and what the
  default mode and rg print there;
- `{"note":"<N MB of x>","id":42}` for each --long size, a string longer than any read;
- start-up on the issue's sample, against `python -c 'import click'`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys

from _measure import (  # bench/ is on sys.path when run as a script
    compare,
    generated,
    isintool_commands,
    parse_arguments,
    report,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_ORDER = os.path.join(
    ROOT, "..", "shared", "data", "real", "orders", "shopify_admin_rest_orders_with_line_items.json"
)
SAMPLE = (
    b'{"orders":[{"id":1},{"id":2},{"id":3},{"id":648}],'
    b'"errors":[{"code":3,"message":"[PHP Warning #2] count(): Parameter must be an array (153)"}]}'
)


def make_orders(path: str, megabytes: int) -> None:
    """Realistic order JSON, an order a line: ids among prices, nested codes, messages with numbers."""
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


def one_line(source: str, path: str) -> None:
    """`source`'s orders on one line, as an API sends them."""
    with open(source, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read().replace(b"\n", b""))


def make_shopify(path: str, megabytes: int) -> None:
    """Orders shaped like Shopify's own example order, every `id` varied, on one line."""
    with open(REAL_ORDER) as f:
        order = json.load(f)["orders"][0]
    for address in ("billing_address", "shipping_address"):
        order[address]["id"] = 0  # addresses with IDs of their own, as the issue has them
    rng = random.Random(6166)
    next_id = [450_789_469]

    def fresh(value: object) -> object:
        if isinstance(value, dict):
            out = {}
            for key, v in value.items():
                if key == "id":
                    next_id[0] += rng.randint(1, 9_999)
                    out[key] = next_id[0]
                else:
                    out[key] = fresh(v)
            return out
        if isinstance(value, list):
            return [fresh(v) for v in value]
        return value

    with open(path, "w", encoding="utf-8") as out:
        out.write('{"orders":[')
        written = 0
        while written < megabytes * 1_000_000:
            this = copy.deepcopy(order)
            this["line_items"] = this["line_items"][: rng.randint(1, 3)]
            text = json.dumps(fresh(this), ensure_ascii=False, separators=(",", ":"))
            out.write(("," if written else "") + text)
            written += len(text) + 1
        out.write("]}\n")


def make_long_string(path: str, megabytes: int) -> None:
    """`{"note":"<N MB of x>","id":42}`: one string value longer than any read."""
    with open(path, "wb") as out:
        out.write(b'{"note":"')
        for _ in range(megabytes):
            out.write(b"x" * 1_000_000)
        out.write(b'","id":42}\n')


def printed(outdir: str, name: str) -> list[object]:
    """The IDs a command printed: a JSON list, or a value a line (jq -c, rg -o)."""
    with open(os.path.join(outdir, f"{name}.out"), "rb") as f:
        data = f.read()
    if data.startswith(b"["):
        return json.loads(data)
    return [json.loads(line.rpartition(b":")[2]) for line in data.splitlines() if line.strip()]


def default_mode(args: argparse.Namespace, tools: dict[str, list[str]]) -> None:
    orders = generated(os.path.join(args.data, f"orders-{args.mb}mb.json"), make_orders, args.mb)
    oneline = orders.replace(".json", "-oneline.json")
    generated(oneline, lambda path, _: one_line(orders, path), args.mb)
    # grep is left out on one line: it works a line at a time, and took over 12 minutes.
    for label, path, grep in [
        ("one line, as an API sends it", oneline, False),
        ("an order a line", orders, True),
    ]:
        commands = {f"isintool extract{suffix}": [*tool, "extract", path] for suffix, tool in tools.items()}
        commands["rg -oP"] = ["rg", "-oP", r'"id":\K\d+', path]
        if grep:
            commands["grep -oP"] = ["grep", "-oP", r'"id":\K\d+', path]
        commands["jq"] = ["jq", "-c", "[.orders[].id]", path]
        results = compare(commands, args.rounds, args.data)
        print(f"\nthe default mode on {os.path.getsize(path) / 1e6:.0f} MB, {label}, {args.rounds} rounds")
        print(report(results, "rg -oP"))
        if printed(args.data, "isintool extract") != printed(args.data, "rg -oP"):
            raise SystemExit("isintool extract and rg print different IDs")


def nested(args: argparse.Namespace, tools: dict[str, list[str]]) -> None:
    if not os.path.exists(REAL_ORDER):
        print(f"\n(no {REAL_ORDER}: the Shopify-shaped table is left out)")
        return
    path = generated(os.path.join(args.data, f"shopify-{args.mb}mb.json"), make_shopify, args.mb)
    commands = {
        f"extract --path{suffix}": [*tool, "extract", "--path", ".orders[].id", path]
        for suffix, tool in tools.items()
    }
    commands["jq -c '.orders[].id'"] = ["jq", "-c", ".orders[].id", path]
    commands["extract (default)"] = [*tools[""], "extract", path]
    commands["rg -o"] = ["rg", "-o", r'"id":\d+', path]
    results = compare(commands, args.rounds, args.data)
    print(
        f"\n{os.path.getsize(path) / 1e6:.0f} MB shaped like Shopify's orders, one line, {args.rounds} rounds"
    )
    print(report(results, "jq -c '.orders[].id'"))
    orders = printed(args.data, "extract --path")
    if orders != printed(args.data, "jq -c '.orders[].id'"):
        raise SystemExit("extract --path and jq print different IDs")
    every = len(printed(args.data, "extract (default)"))
    print(f"(--path and jq: the same {len(orders):,} order IDs; the default mode and rg: {every:,} IDs)")


def long_string(args: argparse.Namespace, tools: dict[str, list[str]]) -> None:
    for megabytes in [int(size) for size in args.long.split(",") if size]:
        path = generated(
            os.path.join(args.data, f"long-string-{megabytes}mb.json"), make_long_string, megabytes
        )
        commands = {f"extract{suffix}": [*tool, "extract", path] for suffix, tool in tools.items()}
        commands["extract --path .id"] = [*tools[""], "extract", "--path", ".id", path]
        commands["rg -oP"] = ["rg", "-oP", r'"id":\K\d+', path]
        rounds = 1 if megabytes >= 300 else args.rounds  # a run before #22 took a minute there
        results = compare(commands, rounds, args.data)
        print(f'\n{{"note":"<{megabytes} MB of x>","id":42}}, {rounds} round(s)')
        print(report(results, "rg -oP"))
        for name in commands:
            if printed(args.data, name) != [42]:
                raise SystemExit(f"{name} did not print [42]")


def startup(args: argparse.Namespace, tools: dict[str, list[str]]) -> None:
    sample = os.path.join(args.data, "sample.json")
    with open(sample, "wb") as f:
        f.write(SAMPLE)
    commands = {"import click": [sys.executable, "-c", "import click"]}
    commands |= {f"isintool extract{suffix}": [*tool, "extract", sample] for suffix, tool in tools.items()}
    commands["extract --path"] = [*tools[""], "extract", "--path", ".orders[].id", sample]
    results = compare(commands, args.rounds * 4, args.data)
    print(f"\nstart-up on the issue's sample, {args.rounds * 4} rounds")
    print(report(results, "import click", memory=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the generated inputs in MB")
    parser.add_argument("--long", default="30,300", help="sizes in MB of the long-string documents")
    parser.add_argument("--only", default="default,nested,long,startup", help="the tables to run")
    args = parse_arguments(parser, rounds=5)
    tools = {suffix: command.split() for suffix, command in isintool_commands(ROOT, args.baseline).items()}
    tables = {"default": default_mode, "nested": nested, "long": long_string, "startup": startup}
    for name in args.only.split(","):
        tables[name](args, tools)


if __name__ == "__main__":
    main()
