#!/usr/bin/env bash
# Packs what a GPU machine without MLIR needs to run sattn's binaries:
#   .devpack/sattn-bin.tar.xz  the stripped tools, the GPU test binary and
#                              libsattn.so from build/ (about 1.5 MB)
#   .devlibs/*.deb             libmlir-22, libllvm22 and libz3-4 (apt-get
#                              download; about 53 MB)
# Both folders are git-ignored; carry them to the GPU machine (64 MiB in
# all) and `source bench/device-setup.sh` there.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
files=(bin/sattn-opt bin/sattn-compile bin/sattn-run bin/sattn-bench
       bin/sattn-cuda-backend-tests lib/libsattn.so)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for f in "${files[@]}"; do
  [[ -f "$build/$f" ]] || { echo "make-devpack: $build/$f is missing (build first)" >&2; exit 1; }
  cp "$build/$f" "$stage/"
done
strip "$stage"/*
mkdir -p .devpack .devlibs
tar -C "$stage" -cJf .devpack/sattn-bin.tar.xz .
if ! ls .devlibs/libmlir-22_*.deb .devlibs/libllvm22_*.deb .devlibs/libz3-4_*.deb >/dev/null 2>&1; then
  (cd .devlibs && apt-get download libmlir-22 libllvm22 libz3-4)
fi
du -ch .devpack/sattn-bin.tar.xz .devlibs/*.deb | tail -1
