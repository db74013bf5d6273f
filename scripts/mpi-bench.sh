#!/usr/bin/env bash
# Data-parallel benchmark (docs/distributed.md §7): 2 ranks against 1 on this machine, one CPU thread per rank,
# for a fair supernet epoch (same global batch) and for candidate evaluation (random search), run side by side and
# repeated; reports wall times, speedup, scaling efficiency and the gradient all-reduce share of the step.
# Usage: bash scripts/mpi-bench.sh [repeats] [out-dir]    (needs Open MPI: bash scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-2}
out=${2:-$(mktemp -d /tmp/sgnas-mpi-bench-XXXX)}
mkdir -p "$out"
dotnet build src/Sgnas.Cli/Sgnas.Cli.csproj -c Release -v q -nologo >/dev/null
dll=src/Sgnas.Cli/bin/Release/net10.0/sgnas.dll
mpi=(mpirun --oversubscribe --allow-run-as-root -x SGNAS_MPI_STATS=1 -x SGNAS_THREADS_PER_RANK=1)
train=(train-supernet --preset fashion-small --epochs 1 --max-train-images 2048 --batch-size 64 --threads 1 --json)
search_args() { echo search --run "$1" --strategy random --flops 1000 --evaluations 16 --recalibration-images 256 --val-images 512 --json; }
now() { date +%s.%N; }
report="$out/results.tsv"
echo -e "case\tranks\trepeat\twall_s\tallreduce_s\tsteps\tcalls\tMB" > "$report"
for r in $(seq 1 "$repeats"); do
  for n in 1 2; do
    dir="$out/train-$n-$r"; rm -rf "$dir"
    t0=$(now)
    SGNAS_MPI_STATS=1 SGNAS_THREADS_PER_RANK=1 "${mpi[@]}" -np $n dotnet $dll "${train[@]}" --out "$dir" >"$dir.json" 2>"$dir.err"
    t1=$(now)
    # The epoch's own time (training + validation) from the checkpoint, without process start-up.
    epoch=$(python3 -c "import json,sys; print(json.load(open('$dir/supernet.json'))['history'][0]['seconds'])")
    stats=$(grep -h '^sgnas-mpi rank 0/' "$dir.err" | head -1 || true)
    steps=$(echo "$stats" | sed -nE 's/.*: ([0-9]+) reduced steps.*/\1/p'); calls=$(echo "$stats" | sed -nE 's/.* ([0-9]+) all-reduce calls.*/\1/p')
    mb=$(echo "$stats" | sed -nE 's/.* ([0-9.]+) MB.*/\1/p'); ar=$(echo "$stats" | sed -nE 's/.* ([0-9.]+) s in gradient.*/\1/p')
    echo -e "supernet-epoch\t$n\t$r\t$epoch\t${ar:-0}\t${steps:-0}\t${calls:-0}\t${mb:-0}" >> "$report"
    echo "supernet epoch, $n rank(s), repeat $r: $epoch s (command $(python3 -c "print(round($t1-$t0,2))") s) ${stats}" >&2
  done
  for n in 1 2; do
    run="$out/train-1-1"
    t0=$(now)
    SGNAS_THREADS_PER_RANK=1 "${mpi[@]}" -np $n dotnet $dll $(search_args "$run") >"$out/search-$n-$r.json" 2>"$out/search-$n-$r.err"
    t1=$(now)
    secs=$(python3 -c "import json; t=open('$out/search-$n-$r.json').read(); print(json.loads(t[t.index('{'):])['seconds'])")
    echo -e "candidate-eval-16\t$n\t$r\t$secs\t0\t0\t0\t0" >> "$report"
    echo "random search (16 candidates), $n rank(s), repeat $r: $secs s (command $(python3 -c "print(round($t1-$t0,2))") s)" >&2
  done
done
python3 - "$report" <<'PY'
import csv, sys, statistics as st
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
for case in ('supernet-epoch', 'candidate-eval-16'):
    t = {n: [float(r['wall_s']) for r in rows if r['case'] == case and r['ranks'] == n] for n in ('1', '2')}
    if not t['1'] or not t['2']: continue
    m1, m2 = st.median(t['1']), st.median(t['2'])
    print(f"{case}: 1 rank {m1:.2f} s, 2 ranks {m2:.2f} s, speedup {m1/m2:.2f}, efficiency {m1/m2/2:.0%}  (medians of {len(t['1'])})")
    if case == 'supernet-epoch':
        r2 = [r for r in rows if r['case'] == case and r['ranks'] == '2']
        ar = st.median(float(r['allreduce_s']) for r in r2); steps = int(r2[0]['steps']); mb = float(r2[0]['MB'])
        calls = int(r2[0]['calls'])
        print(f"  all-reduce: {ar:.3f} s of the {m2:.2f} s epoch ({ar/m2:.1%}); {steps} steps, {calls/steps:.1f} calls and {mb/steps:.3f} MB per step")
PY
echo "raw results: $report" >&2
