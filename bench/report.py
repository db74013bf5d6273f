#!/usr/bin/env python3
"""Summarises bench/run.sh results: median over rounds of each side's per-process medians, and ours / PyTorch-best.

At 1 thread the ratio uses process CPU time (robust to other load on a shared machine); at 2 threads it uses wall
time (what parallel speed-up buys). Both are printed.
"""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
series = defaultdict(list)  # (side, variant, threads, workload) -> [(wall, cpu)]
for r in rows:
    for w, t in r["workloads"].items():
        series[(r["side"], r["variant"], r["threads"], w)].append((t["wallMs"], t["cpuMs"]))


def med(key, i):
    return statistics.median(v[i] for v in series[key])


order = ["child", "path", "fair", "generator"]
names = {"child": "child step", "path": "supernet single-path step", "fair": "fair step (K paths)", "generator": "generator relaxed step"}
print("| workload | threads | ours NCHW ms | ours channels-last ms | PyTorch NCHW ms | PyTorch channels-last ms | ours best / PyTorch best | measure |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for threads in sorted({k[2] for k in series}):
    i = 1 if threads == 1 else 0
    measure = "CPU" if i == 1 else "wall"
    for w in order:
        ours = [k for k in series if k[0] == "ours" and k[2] == threads and k[3] == w]
        theirs = [k for k in series if k[0] == "pytorch" and k[2] == threads and k[3] == w]
        if not ours or not theirs:
            continue
        best_ours = min(ours, key=lambda k: med(k, i))
        best = min(theirs, key=lambda k: med(k, i))
        mine = {k[1]: f"{med(k, i):.0f}" for k in ours}
        cells = {k[1]: f"{med(k, i):.0f}" for k in theirs}
        n = len(series[best_ours])
        print(f"| {names[w]} | {threads} | {mine.get('nchw', '-')} | {mine.get('channels-last', '-')} | {cells.get('nchw', '-')} | "
              f"{cells.get('channels-last', '-')} | **{med(best_ours, i) / med(best, i):.2f}** ({best_ours[1]} / {best[1]}) | {measure}, median of {n} |")
