#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the full SGNAS flow on Fashion-MNIST
# (supernet -> generator -> architecture for the budget -> retraining -> ML.NET model.zip).
# Extra arguments go to 'sgnas demo' (e.g. --flops 3 --out runs/mine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build src/Sgnas.Cli -c Release --no-restore --verbosity quiet -nologo 1>&2
exec dotnet src/Sgnas.Cli/bin/Release/net10.0/sgnas.dll demo "$@"
