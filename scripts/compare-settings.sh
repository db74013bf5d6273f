#!/usr/bin/env bash
# Issue 9 part 3, the search-side settings measured with the experiment's protocol (docs/generator.md section 5):
# the reference's constraint-loss margin (its ±0.1 M on ImageNet's interval, scaled to this one) and the reference's
# supernet recipe (K = 4, lr 0.064, wd 4e-4, smoothing 0.1, reference init) and the same recipe at the paper's K = 3
# (equal training cost), each against a finished full-scale run BASE (the paper's recipe, the default margin). The margin variant reuses BASE's supernet; both reuse BASE's
# stand-alone ranking networks (their training does not depend on the supernet), so the supernet ranking τ of the
# two recipes is measured on the same 12 architectures and stand-alone scores. Searches are reduced (their picks are
# not the comparison). Sequential and resumable: rerun the same command after an interruption.
#
#   bash scripts/compare-settings.sh --base runs/experiment [--out runs/compare] [--margin M] [other `sgnas experiment` options]
set -euo pipefail
cd "$(dirname "$0")/.."
base=""; out="runs/compare"; margin=""; extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --margin) margin="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[[ -n "$base" && -f "$base/run/supernet.pt" && -d "$base/ranking" ]] ||
  { echo "compare-settings: --base DIR must be a finished 'sgnas experiment --scale full' folder (run/supernet.pt, ranking/)" >&2; exit 2; }
if [[ -z "$margin" ]]; then
  # The reference's 0.1 M of a 180 M-wide interval, as a share of BASE's interval width.
  margin=$(python3 -c "import json,sys; g=json.load(open(sys.argv[1])); print(round(0.1/180*(g['constraintHighM']-g['constraintLowM']),5))" "$base/run/generator.json")
fi
dotnet build src/Sgnas.Cli/Sgnas.Cli.csproj -c Release -v q -nologo >/dev/null
small=(--scale full --random-candidates 20 --population 4 --iterations 2 --other-random-candidates 2 --other-population 2
  --other-iterations 1 --random-points 0 --percentile-neighbours 0)
run() { dotnet src/Sgnas.Cli/bin/Release/net10.0/sgnas.dll experiment "$@" 2> >(grep -v NNPACK >&2); }
mkdir -p "$out/margin-ref/run" "$out/recipe-ref" "$out/recipe-ref3"
[[ -f "$out/margin-ref/run/supernet.pt" ]] || cp "$base"/run/supernet.* "$out/margin-ref/run/"
for d in margin-ref recipe-ref recipe-ref3; do [[ -d "$out/$d/ranking" ]] || cp -r "$base/ranking" "$out/$d/"; done
echo "compare-settings: constraint margin $margin M on $base's supernet" >&2
run --out "$out/margin-ref" --constraint-margin "$margin" "${small[@]}" "${extra[@]}"
echo "compare-settings: the reference supernet recipe" >&2
run --out "$out/recipe-ref" --supernet-recipe reference "${small[@]}" "${extra[@]}"
echo "compare-settings: the reference supernet recipe at K = 3" >&2
run --out "$out/recipe-ref3" --supernet-recipe reference --supernet-paths 3 "${small[@]}" "${extra[@]}"
echo "compare-settings: reports in $out/{margin-ref,recipe-ref,recipe-ref3}/results.md; the baseline is $base/results.md" >&2
