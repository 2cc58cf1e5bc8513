#!/usr/bin/env bash
# Installs what sattn needs to build and test on Debian 12, with apt.
# Idempotent: quiet when everything is present. Without root, prints the apt
# line to run and exits non-zero when something is missing.
#   --clang  also clang-22 and its sanitizer and libFuzzer runtimes, for the
#            fuzz and sanitizer builds (make fuzz, check-asan, check-tsan).
set -euo pipefail

packages=(
  cmake ninja-build g++ make python3 python3-numpy python3-venv
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libgtest-dev libpng-dev
)
for arg in "$@"; do
  case $arg in
    --clang) packages+=(clang-22 libclang-rt-22-dev llvm-22) ;;
    *) echo "usage: $0 [--clang]" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "sattn: missing packages; run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "sattn: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "sattn: apt-get could not install: ${missing[*]}" >&2
  echo "  LLVM/MLIR 22 for Debian 12 comes from bookworm-security" \
       "(deb.debian.org/debian-security); check /etc/apt/sources.list" >&2
  exit 1
fi
