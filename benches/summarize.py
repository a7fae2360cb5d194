#!/usr/bin/env python3
"""Prints the results table of benches/README.md from criterion's estimates.

    cargo bench --bench verify && python3 benches/summarize.py            # this run
    python3 benches/summarize.py run1/criterion run2/criterion ...        # several runs

Each figure is criterion's median (of the per-iteration sample means), in microseconds. With
several runs, each benchmark's figure is the lowest of its per-run medians: on a shared machine
interference only ever adds time, so the minimum is the least disturbed estimate. The `max/min`
column shows how far the runs spread for full_verify.
"""

import json
import pathlib
import sys

ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512", "ES256", "EdDSA"]
NAMES = ("full_verify", "raw_signature", "parse_only", "ring")
ROOTS = [pathlib.Path(p) for p in sys.argv[1:]] or [pathlib.Path("target/criterion")]


def medians_us(alg, name):
    out = []
    for root in ROOTS:
        path = root / alg / name / "new" / "estimates.json"
        if path.exists():
            out.append(json.loads(path.read_text())["median"]["point_estimate"] / 1000.0)
    return out


def fmt(us):
    return f"{us:.3f}" if us < 10 else f"{us:.1f}"


spread = len(ROOTS) > 1
print("| alg | full_verify µs | raw_signature µs | full/raw | full − raw µs | parse_only µs "
      "| ring µs | jwt-compact/ring |" + (" full_verify max/min |" if spread else ""))
print("|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if spread else ""))
for alg in ALGS:
    runs = {name: medians_us(alg, name) for name in NAMES}
    if not all(runs.values()):
        continue
    full, raw, parse, ring = (min(runs[name]) for name in NAMES)
    row = (f"| {alg} | {fmt(full)} | {fmt(raw)} | {full / raw:.3f} | {fmt(full - raw)} "
           f"| {fmt(parse)} | {fmt(ring)} | {raw / ring:.2f}× |")
    if spread:
        row += f" {max(runs['full_verify']) / full:.2f} |"
    print(row)
