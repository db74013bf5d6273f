#!/usr/bin/env bash
# Side-by-side benchmark of Sgnas.MLNet's training steps against a PyTorch twin on this CPU (issue 10;
# docs/performance.md). Runs both sides interleaved, in several rounds, at 1 and 2 intra-op threads, and prints
# ours / PyTorch-best per workload (medians over rounds of per-process medians), with PyTorch's best variant.
#   bash bench/run.sh                      # 3 rounds, threads 1 and 2, 5 timed steps per workload
#   ROUNDS=5 THREADS="2" STEPS=8 bash bench/run.sh
# Needs Debian's python3-torch (apt-get install python3-torch) for the twin; not a test, CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-"1 2"}
STEPS=${STEPS:-5}
# Six untimed steps per workload: .NET compiles the hot managed glue to optimised code on a background thread during
# the first few steps, which a 1-thread CPU-time reading would otherwise count as step time.
WARMUP=${WARMUP:-6}
WORKLOADS=${WORKLOADS:-child,path,fair,generator}
PRESET=${PRESET:-fashion-small}
PY=${PYTHON:-/usr/bin/python3}
PRESET_FILE=src/Sgnas.Core/SearchSpace/Presets/$PRESET.json
OUT=${OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "bench: $PY cannot import torch; install Debian's python3-torch (apt-get install -y python3-torch) or set PYTHON" >&2
  exit 2
fi
dotnet build src/Sgnas.Cli -c Release --no-restore --verbosity quiet -nologo 1>&2
SGNAS="dotnet src/Sgnas.Cli/bin/Release/net10.0/sgnas.dll"

# The architecture and fair paths both sides run: ours picks them (default architecture, the trainer's first fair
# draw for seed 0) and reports them; the twin gets the same text.
$SGNAS bench --preset "$PRESET" --workloads child --steps 1 --warmup 0 --threads 1 --json > "$OUT/paths.json" 2>/dev/null
ARCH=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['architecture'])" "$OUT/paths.json")
FAIR=$("$PY" -c "import json,sys; print(';'.join(json.load(open(sys.argv[1]))['fairPaths']))" "$OUT/paths.json")
echo "bench: architecture $ARCH" >&2
echo "bench: fair paths $FAIR" >&2

ours() {  # threads variant (channels-last is the project's default; SGNAS_CHANNELS_LAST=0 gives NCHW)
  SGNAS_CHANNELS_LAST=$([ "$2" = nchw ] && echo 0 || echo 1) $SGNAS bench --preset "$PRESET" --workloads "$WORKLOADS" --arch "$ARCH" --fair-paths "$FAIR" \
    --steps "$STEPS" --warmup "$WARMUP" --threads "$1" --json 2>/dev/null |
    "$PY" -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'side':'ours','variant':sys.argv[1],'threads':r['threads'],
      'workloads':{t['name']:{'wallMs':t['wallMs'],'cpuMs':t['cpuMs']} for t in r['timings']}}))" "$2"
}
twin() {  # threads variant
  "$PY" bench/twin.py --preset "$PRESET_FILE" --arch "$ARCH" --fair-paths "$FAIR" --workloads "$WORKLOADS" \
    --steps "$STEPS" --warmup "$WARMUP" --threads "$1" --variant "$2" 2>/dev/null |
    "$PY" -c "import json,sys; r=json.load(sys.stdin); r['side']='pytorch'; print(json.dumps(r))"
}

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    # Rotate the order each round so that drifting machine load does not favour one side.
    case $((round % 4)) in
      1) order="ours:channels-last torch:nchw ours:nchw torch:channels-last" ;;
      2) order="torch:nchw ours:nchw torch:channels-last ours:channels-last" ;;
      3) order="ours:nchw torch:channels-last ours:channels-last torch:nchw" ;;
      0) order="torch:channels-last ours:channels-last torch:nchw ours:nchw" ;;
    esac
    for who in $order; do
      echo "bench: round $round/$ROUNDS, $t thread(s), $who" >&2
      if [ "${who%%:*}" = ours ]; then ours "$t" "${who#*:}" >> "$RESULTS"; else twin "$t" "${who#*:}" >> "$RESULTS"; fi
    done
  done
done
"$PY" bench/report.py "$RESULTS" | tee "$OUT/report.md"
