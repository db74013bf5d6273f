#!/usr/bin/env bash
# Installs what Sgnas.MLNet needs on a fresh Debian 12 machine with the .NET 10 SDK: the Fashion-MNIST data
# package and the NuGet packages. Idempotent; safe to run before every build.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  echo "setup: installing Debian package dataset-fashion-mnist" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
# Open MPI for data-parallel training and search under mpirun (docs/distributed.md); the MPI test step needs it.
if ! command -v mpirun >/dev/null || ! { ldconfig -p 2>/dev/null | grep -q 'libmpi.so.40'; }; then
  echo "setup: installing Debian packages openmpi-bin libopenmpi-dev" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
fi
dotnet restore Sgnas.MLNet.sln --verbosity quiet 1>&2
