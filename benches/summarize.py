#!/usr/bin/env python3
"""Prints the results table of benches/README.md from criterion's estimates.

Run after `cargo bench --bench verify`:  python3 benches/summarize.py [target/criterion]
Medians are criterion's median of the per-iteration sample means, in microseconds.
"""

import json
import pathlib
import sys

ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512", "ES256", "EdDSA"]
ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median_us(alg, name):
    path = ROOT / alg / name / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] / 1000.0


def fmt(us):
    return f"{us:.3f}" if us < 10 else f"{us:.1f}"


print("| alg | full_verify µs | raw_signature µs | full/raw | full − raw µs "
      "| parse_only µs | ring µs | jwt-compact/ring (raw) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for alg in ALGS:
    try:
        full, raw, parse, ring = (median_us(alg, n) for n in
                                  ("full_verify", "raw_signature", "parse_only", "ring"))
    except FileNotFoundError:
        continue
    print(f"| {alg} | {fmt(full)} | {fmt(raw)} | {full / raw:.3f} | {fmt(full - raw)} "
          f"| {fmt(parse)} | {fmt(ring)} | {raw / ring:.2f}× |")
