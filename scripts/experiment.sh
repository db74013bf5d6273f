#!/usr/bin/env bash
# The reproducible experiment of issue 9: supernet, generator, random search and evolution at the papers' budgets,
# a random sample, held-out re-scoring, FLOPs tracking and the supernet ranking, written to OUT/results.md with
# Fig. 6a/7a. Resumable: rerun the same command after an interruption and it continues where it stopped.
#
#   bash scripts/experiment.sh [--out DIR] [--scale full|tiny] [--publish] [other `sgnas experiment` options]
#
# --publish copies results.md and the figures into docs/ (docs/results.md, docs/results_fig*.png).
set -euo pipefail
cd "$(dirname "$0")/.."
out="runs/experiment"; publish=0; args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --publish) publish=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
dotnet build src/Sgnas.Cli/Sgnas.Cli.csproj -c Release -v q -nologo >/dev/null
dotnet src/Sgnas.Cli/bin/Release/net10.0/sgnas.dll experiment --out "$out" "${args[@]}" 2> >(grep -v NNPACK >&2)
if [[ $publish == 1 ]]; then
  sed -e 's/(fig6a_accuracy_vs_flops.png)/(results_fig6a.png)/' -e 's/(fig7a_target_vs_generated.png)/(results_fig7a.png)/' \
    "$out/results.md" > docs/results.md
  cp "$out/fig6a_accuracy_vs_flops.png" docs/results_fig6a.png
  cp "$out/fig7a_target_vs_generated.png" docs/results_fig7a.png
  echo "published docs/results.md"
fi
