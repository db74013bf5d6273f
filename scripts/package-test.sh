#!/usr/bin/env bash
# Packages as a user gets them, tested OUTSIDE the repository (docs/packaging.md):
#   1. dotnet pack Sgnas.Core, Sgnas.MLNet and the sgnas tool into a local feed (a unique pre-release version);
#   2. a new console project in a temp folder: dotnet add package Sgnas.MLNet from that feed, build, run
#      (supernet forward pass; JPEG folder written; SgnasSearch from MulticlassClassification.Trainers on it with a
#      tiny search space; model.zip saved in the Model Builder form and scored by image path);
#   3. a second app with ML.NET only (no TorchSharp, no Sgnas) scores a JPEG by path with that model.zip;
#   4. dotnet publish -r linux-x64 of the consumer, run from the publish folder (the native fix applies there too);
#   5. dotnet tool install --tool-path of sgnas from the feed; sgnas info; a one-epoch train-supernet on a subset.
# Prints "package-test: N steps passed, N failed" and exits non-zero when a step failed. Needs Fashion-MNIST (setup.sh).
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d /tmp/sgnas-package-test.XXXXXX)"
version="0.1.0-pt.$(date -u +%Y%m%d%H%M%S).$$"
cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() {
  # The unique version keeps stale packages of an earlier run out of the NuGet cache; remove this run's copies.
  for id in sgnas sgnas.linux-x64 sgnas.core sgnas.mlnet; do rm -rf "$cache/$id/$version"; done
  rm -rf "$work"
}
[ "${SGNAS_PACKAGE_TEST_KEEP:-0}" = 1 ] || trap cleanup EXIT
passed=0; failed=0
step() { # step NAME COMMAND...: runs the command with its output in $work/NAME.log
  local name="$1"; shift
  local t0=$SECONDS
  if "$@" >"$work/$name.log" 2>&1; then
    passed=$((passed+1)); echo "package-test: PASS $name ($((SECONDS-t0)) s)"
  else
    failed=$((failed+1)); echo "package-test: FAIL $name ($((SECONDS-t0)) s); last lines:"; grep -v NNPACK "$work/$name.log" | tail -25
  fi
}

echo "package-test: free disk under /tmp: $(df -h --output=avail /tmp | tail -1 | tr -d ' ')"
feed="$work/feed"
pack() { # the three packable projects. PackageVersion (not Version) so the assemblies of the repo's Release build
           # stay as they are and are reused; only the tool's linux-x64 publish compiles.
  for p in src/Sgnas.Core/Sgnas.Core.csproj src/Sgnas.MLNet/Sgnas.MLNet.csproj src/Sgnas.Cli/Sgnas.Cli.csproj; do
    dotnet pack "$repo/$p" -c Release -o "$feed" -p:PackageVersion="$version" -v q -nologo || return 1
  done
}
step pack pack
ls -la "$feed" | sed 's/^/package-test:   /'

mkdir -p "$work/app"
cat >"$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
consumer() {
  cd "$work/app" &&
  dotnet new console -n Consumer -o Consumer --framework net10.0 &&
  cd Consumer &&
  dotnet add package Sgnas.MLNet --version "$version" &&
  cp "$repo/scripts/package-test/Program.cs" Program.cs &&
  cp "$repo/scripts/package-test/tiny-28.json" tiny-28.json &&
  dotnet build -c Release -v q -nologo &&
  dotnet bin/Release/net10.0/Consumer.dll "$work/consumer" --preset tiny-28.json
}
step consumer-build-train-save consumer
scorer() { # Model Builder's consumption side: ML.NET only, no TorchSharp, scores a JPEG by path
  cd "$work/app" &&
  dotnet new console -n Scorer -o Scorer --framework net10.0 &&
  cd Scorer &&
  dotnet add package Microsoft.ML --version 5.0.1 &&
  dotnet add package Microsoft.ML.ImageAnalytics --version 5.0.1 &&
  dotnet add package Microsoft.ML.OnnxTransformer --version 5.0.1 &&
  dotnet add package Microsoft.ML.OnnxRuntime --version 1.31.1 &&
  cp "$repo/scripts/package-test/Scorer.cs" Program.cs &&
  dotnet build -c Release -v q -nologo &&
  ! ls bin/Release/net10.0 | grep -qi -e torch -e sgnas &&
  dotnet bin/Release/net10.0/Scorer.dll "$work/consumer/model.zip" "$(find "$work/consumer/jpegs" -name '*.jpg' | sort | head -1)"
}
step scorer-without-torchsharp scorer
publish() { # for this machine's RID, as a Linux deployment is published: one platform's natives, not all of them
  cd "$work/app/Consumer" &&
  rm -rf bin && # the build step's output (~1 GB of natives) is not needed any more; disk is the CI's scarce resource
  dotnet publish -c Release -r linux-x64 --self-contained false -o "$work/published" -v q -nologo &&
  test -f "$work/published/libLibTorchSharp.so" &&
  ! ls "$work/published" | grep -q -e '^torch_cpu.dll$' -e '^libtorch_cpu.dylib$' &&
  dotnet "$work/published/Consumer.dll" "$work/consumer-published" --forward-only
}
step consumer-publish-and-run publish
rm -rf "$work/published" "$work/app/Consumer/obj" "$work/app/Consumer/bin"
tool() {
  cd "$work/app" &&
  dotnet tool install --tool-path "$work/tools" sgnas --version "$version" &&
  "$work/tools/sgnas" info &&
  "$work/tools/sgnas" train-supernet --preset "$repo/scripts/package-test/tiny-28.json" --out "$work/run-tool" --epochs 1 --max-train-images 400 &&
  test -f "$work/run-tool/supernet.json"
}
step tool-install-and-run tool
du -sh "$feed"/*.nupkg 2>/dev/null | sed 's/^/package-test:   /'
echo "package-test: ${passed} steps passed, ${failed} failed"
[ "$failed" -eq 0 ]
