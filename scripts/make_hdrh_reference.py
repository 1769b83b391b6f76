#!/usr/bin/env python3
"""Prints the fixture of Tests/IOBenchKitTests/ReferenceHistogramTests.swift: a V2 string
encoded by the Python reference implementation (pip package hdrhistogram, module hdrh)
from known values, with the reference's own answers for them.

    python3 scripts/make_hdrh_reference.py   # paste the output into the test's Fixture

The values leave single empty buckets between recorded ones (at the start, in the linear
first bucket and at 1 ms), which the reference writes as a plain 0, and longer gaps,
which it writes as a negative run length. iobench's histogram range: 1 ns to 60 s, 3
significant digits.
"""
import math
import hdrh
from hdrh.histogram import HdrHistogram

LOWEST, HIGHEST, DIGITS = 1, 60_000_000_000, 3

# (value in ns, count). One value per bucket, so each count can be checked by bucket.
RECORDED = [
    (1, 3), (3, 1), (4, 2), (6, 1),          # index 0, 2 and 5 empty: single zeros
    (1_000, 10), (2_047, 1), (2_048, 1),      # last linear bucket next to the first of width 2
    (2_052, 4),                               # 2050 is one bucket (width 2) after 2048: a single zero
    (100_000, 5),
    (1_000_000, 100), (1_001_000, 2),         # width 512 here: one empty bucket between them
    (12_345_678, 7), (12_345_678_901, 1),
]
PERCENTILES = [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0]


def main():
    h = HdrHistogram(LOWEST, HIGHEST, DIGITS)
    for value, count in RECORDED:
        assert h.record_value(value, count)
    buckets = [(h.get_lowest_equivalent_value(v), h.get_highest_equivalent_value(v)) for v, _ in RECORDED]
    assert len(set(buckets)) == len(buckets), "two recorded values share a bucket"
    total = sum(c for _, c in RECORDED)
    assert h.get_total_count() == total
    # hdrh rounds the target count to nearest, Java and hdrhistogram-swift round it up:
    # only percentiles where both pick the same bucket are fixtures.
    for p in PERCENTILES:
        target, seen = max(1, math.ceil(p * total / 100)), 0
        for (v, c), (_, hi) in zip(RECORDED, buckets):
            seen += c
            if seen >= target:
                break
        assert h.get_value_at_percentile(p) == hi, f"p{p}: the rounding rules disagree here"

    encoded = h.encode().decode("ascii")
    # The reference must read its own string back unchanged.
    back = HdrHistogram.decode(encoded)
    assert back.get_total_count() == total and back.get_max_value() == h.get_max_value()

    print(f"    // Made by scripts/make_hdrh_reference.py with hdrhistogram {hdrh_version()}.")
    print(f'    static let v2 = "{encoded}"')
    print("    /// (value, count, the reference's lowest and highest equivalent value of its bucket)")
    print("    static let recorded: [(value: UInt64, count: UInt64, low: UInt64, high: UInt64)] = [")
    for (v, c), (lo, hi) in zip(RECORDED, buckets):
        print(f"        ({v}, {c}, {lo}, {hi}),")
    print("    ]")
    print("    /// The reference's get_value_at_percentile.")
    print("    static let percentiles: [(p: Double, value: UInt64)] = [")
    for p in PERCENTILES:
        print(f"        ({p}, {h.get_value_at_percentile(p)}),")
    print("    ]")
    print(f"    static let total: UInt64 = {total}")
    print(f"    static let min: UInt64 = {h.get_min_value()}")
    print(f"    static let max: UInt64 = {h.get_max_value()}")


def hdrh_version():
    try:
        from importlib.metadata import version
        return version("hdrhistogram")
    except Exception:
        return "(unknown version)"


if __name__ == "__main__":
    main()
