#!/usr/bin/env bash
# Installs onnxruntime's CUDA execution provider for exactly the onnxruntime-node version in node_modules
# (linux/x64; the provider libraries must match libonnxruntime.so.1 beside them, version for version).
#
#   bash scripts/install-cuda-provider.sh                                   online (NuGet, via onnxruntime-node)
#   bash scripts/install-cuda-provider.sh --archive FILE --sha256 HEX       offline, from a file you bring
#   bash scripts/install-cuda-provider.sh --check                           only say what is there and missing
#
#   --archive FILE  onnxruntime-linux-x64-gpu-<version>.tgz from the onnxruntime GitHub release of that version,
#                   or Microsoft.ML.OnnxRuntime.Gpu.Linux.<version>.nupkg from nuget.org (what online fetches)
#   --sha256 HEX    the archive's sha256, taken where you downloaded it; a mismatch is refused
#   --dest DIR      where the libraries go (default: node_modules/onnxruntime-node/bin/napi-v6/linux/x64;
#                   e.g. /opt/inspectd/node_modules/... after scripts/install.sh)
#
# Installs libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so (and
# libonnxruntime_providers_tensorrt.so when the archive has it), then checks that the CUDA 12 and cuDNN 9
# runtime libraries they need are findable (ldconfig -p, LD_LIBRARY_PATH). Exit: 0 ready, 1 failed,
# 2 bad usage, 3 installed but runtime libraries or the NVIDIA driver missing (inspectd then says why and
# uses the next provider). docs/gpu.md has the whole story.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_PKG="$ROOT/node_modules/onnxruntime-node"
LIBS=(libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so)
OPTIONAL_LIBS=(libonnxruntime_providers_tensorrt.so)

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
say() { echo "install-cuda-provider: $*"; }
die() {
  echo "install-cuda-provider: $1" >&2
  exit "${2:-1}"
}

ARCHIVE="" SHA="" DEST="" CHECK_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --archive) [ $# -ge 2 ] || die "--archive needs a file" 2; ARCHIVE="$2"; shift 2 ;;
    --sha256) [ $# -ge 2 ] || die "--sha256 needs the archive's sha256 (64 hex digits)" 2; SHA="$2"; shift 2 ;;
    --dest) [ $# -ge 2 ] || die "--dest needs a folder" 2; DEST="$2"; shift 2 ;;
    --check) CHECK_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" 2 ;;
  esac
done

[ -f "$ORT_PKG/package.json" ] || die "onnxruntime-node is not installed at $ORT_PKG: run npm ci first"
VERSION="$(node -p "require(process.argv[1]).version" "$ORT_PKG/package.json")"
TGZ="onnxruntime-linux-x64-gpu-$VERSION.tgz"
TGZ_URL="https://github.com/microsoft/onnxruntime/releases/download/v$VERSION/$TGZ"
NUPKG="Microsoft.ML.OnnxRuntime.Gpu.Linux.$VERSION.nupkg"
NUPKG_URL="https://www.nuget.org/api/v2/package/Microsoft.ML.OnnxRuntime.Gpu.Linux/$VERSION"
bring() {
  echo "  bring $TGZ ($TGZ_URL)"
  echo "  or $NUPKG ($NUPKG_URL), note its sha256 where you download it, then:"
  echo "  bash scripts/install-cuda-provider.sh --archive FILE --sha256 HEX"
}

if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ] && [ -z "$DEST" ]; then
  if [ -f /etc/nv_tegra_release ]; then
    die "this is a Jetson ($(uname -m)): no prebuilt CUDA provider exists for it; build onnxruntime with CUDA and TensorRT from source (the Jetson path in docs/gpu.md)"
  fi
  die "no prebuilt CUDA provider for $(uname -s)/$(uname -m): onnxruntime ships one for linux/x64 only; use the cpu provider"
fi
DEST="${DEST:-$ORT_PKG/bin/napi-v6/linux/x64}"

# ---------------------------------------------------------------- what the provider needs at run time

ldcache="$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) || true)"
findable() {
  local d
  local IFS=: d
  for d in ${LD_LIBRARY_PATH:-} $DEST; do [ -n "$d" ] && [ -e "$d/$1" ] && return 0; done
  # ldconfig -p lines are "<TAB>libcudnn.so.9 (libc6,x86-64) => /path".
  awk -v l="$1" '$1 == l { f = 1 } END { exit !f }' <<<"$ldcache"
}
# What each library comes from, in NVIDIA's CUDA apt repository (or the runfile / tarballs).
hint() {
  case "$1" in
    libcudnn*) echo "cuDNN 9 for CUDA 12 (apt: libcudnn9-cuda-12)" ;;
    libcudart*) echo "CUDA 12 runtime (apt: cuda-cudart-12-x)" ;;
    libcublas*) echo "cuBLAS for CUDA 12 (apt: libcublas-12-x)" ;;
    libcufft*) echo "cuFFT for CUDA 12 (apt: libcufft-12-x)" ;;
    libcurand*) echo "cuRAND for CUDA 12 (apt: libcurand-12-x)" ;;
    libnvinfer* | libnvonnxparser*) echo "TensorRT 10 (only for the tensorrt provider, which inspectd does not use)" ;;
    *) echo "a CUDA 12 library" ;;
  esac
}

# The exact list comes from the provider's own ELF header when readelf is there; otherwise the known set.
needed() {
  local lib="$DEST/libonnxruntime_providers_cuda.so" deps=""
  if [ -f "$lib" ] && command -v readelf >/dev/null 2>&1; then
    deps="$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -E '^lib(cu|nv)' || true)"
  fi
  if [ -n "$deps" ]; then
    echo "$deps"
  else
    printf '%s\n' libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libcufft.so.11 libcurand.so.10 libcudnn.so.9
  fi
}

check_runtime() {
  local missing=() lib problems=0
  for lib in "${LIBS[@]}"; do
    [ -f "$DEST/$lib" ] || { say "not installed: $DEST/$lib"; problems=1; }
  done
  while read -r lib; do
    [ -n "$lib" ] || continue
    findable "$lib" || missing+=("$lib")
  done < <(needed)
  # cuDNN is loaded on demand, so it is not always in NEEDED: check it by name.
  findable libcudnn.so.9 || [[ " ${missing[*]} " == *" libcudnn.so.9 "* ]] || missing+=(libcudnn.so.9)
  if [ ${#missing[@]} -gt 0 ]; then
    problems=1
    say "CUDA 12 / cuDNN 9 runtime libraries not found (ldconfig -p, LD_LIBRARY_PATH):"
    for lib in "${missing[@]}"; do echo "  $lib: $(hint "$lib")"; done
    echo "  install them, or add their folder to LD_LIBRARY_PATH (or /etc/ld.so.conf.d/ + ldconfig)"
  fi
  if [ ! -e /proc/driver/nvidia/version ]; then
    problems=1
    say "no NVIDIA driver is loaded (/proc/driver/nvidia/version is absent): install the driver for this GPU"
  fi
  if [ "$problems" -eq 0 ]; then
    say "ready: the CUDA provider for onnxruntime $VERSION is in $DEST and its runtime libraries are findable"
    return 0
  fi
  return 3
}

if [ "$CHECK_ONLY" -eq 1 ]; then
  check_runtime && exit 0 || exit $?
fi

# ---------------------------------------------------------------- online: onnxruntime-node's own installer

if [ -z "$ARCHIVE" ]; then
  [ -z "$SHA" ] || die "--sha256 goes with --archive FILE" 2
  [ "$DEST" = "$ORT_PKG/bin/napi-v6/linux/x64" ] ||
    die "--dest works with --archive only: onnxruntime-node's installer writes into its own folder" 2
  say "downloading the CUDA 12 provider for onnxruntime $VERSION (NuGet $NUPKG, via onnxruntime-node's installer)"
  # The flag onnxruntime-node's installer reads (the project's installs set it to skip).
  if ! (cd "$ORT_PKG" && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js); then
    echo "install-cuda-provider: the download failed (no internet, or nuget.org blocked). Offline instead:" >&2
    bring >&2
    exit 1
  fi
  for lib in "${LIBS[@]}"; do
    [ -f "$DEST/$lib" ] || die "onnxruntime-node's installer finished but $DEST/$lib is missing"
  done
  check_runtime && exit 0 || exit $?
fi

# ---------------------------------------------------------------- offline: an archive you bring

[ -f "$ARCHIVE" ] || die "--archive $ARCHIVE: no such file"
[ -n "$SHA" ] || die "--archive needs --sha256 HEX (the sha256 published where you downloaded $(basename "$ARCHIVE"))" 2
SHA="${SHA,,}"
[[ "$SHA" =~ ^[0-9a-f]{64}$ ]] || die "--sha256 $SHA is not 64 hex digits" 2
actual="$(sha256sum "$ARCHIVE" | cut -d' ' -f1)"
if [ "$actual" != "$SHA" ]; then
  die "refused: $ARCHIVE has sha256 $actual, not the expected $SHA; the file is damaged or not the one meant: download it again"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
case "$ARCHIVE" in
  *.tgz | *.tar.gz) tar -xzf "$ARCHIVE" -C "$work" ;;
  *.nupkg | *.zip)
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$ARCHIVE" -d "$work"
    else
      python3 -m zipfile -e "$ARCHIVE" "$work"
    fi
    ;;
  *) die "--archive $ARCHIVE: expected a .tgz (GitHub release) or .nupkg (NuGet); bring $TGZ" 2 ;;
esac

# The archive's own version, where it says one: a provider of another version would not load.
found_version="$(find "$work" -name 'libonnxruntime.so.[0-9]*.[0-9]*.[0-9]*' -printf '%f\n' | sed -n 's/^libonnxruntime\.so\.//p' | head -n1)"
if [ -z "$found_version" ]; then
  nuspec="$(find "$work" -maxdepth 1 -name '*.nuspec' | head -n1)"
  [ -z "$nuspec" ] || found_version="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$nuspec" | head -n1)"
fi
if [ -n "$found_version" ] && [ "$found_version" != "$VERSION" ]; then
  die "refused: $ARCHIVE is onnxruntime $found_version, but node_modules has onnxruntime-node $VERSION; bring $TGZ"
fi
[ -n "$found_version" ] || say "note: $ARCHIVE does not say its onnxruntime version; it must be $VERSION"

pick() {
  local hits
  mapfile -t hits < <(find "$work" -type f -name "$1")
  [ ${#hits[@]} -le 1 ] || die "$ARCHIVE holds ${#hits[@]} copies of $1 (${hits[*]}); bring $TGZ"
  echo "${hits[0]:-}"
}
mkdir -p "$DEST"
for lib in "${LIBS[@]}" "${OPTIONAL_LIBS[@]}"; do
  src="$(pick "$lib")"
  if [ -z "$src" ]; then
    [[ " ${OPTIONAL_LIBS[*]} " == *" $lib "* ]] && continue
    die "$ARCHIVE has no $lib: it is not an onnxruntime GPU build; bring $TGZ"
  fi
  # Copied under a temporary name and renamed, so a running inspectd never sees half a library.
  install -m 0755 "$src" "$DEST/.$lib.tmp"
  mv -f "$DEST/.$lib.tmp" "$DEST/$lib"
  say "installed $DEST/$lib"
done
check_runtime && exit 0 || exit $?
