#!/usr/bin/env bash
# The main job: compile the stock patterns and show what they do.
# Grows with the project; see README.md.
set -euo pipefail
build=${1:-build}
bin=$build/bin
cd "$(dirname "$0")/.."

"$bin/sattn-opt" --version | sed -n '$p'
echo
printf '%-10s %-10s %s\n' pattern status primitives
for file in patterns/library/*.mlir; do
  name=$(basename "$file" .mlir)
  # Parse, verify, bind the defaults and canonicalize each stock pattern.
  if ir=$("$bin/sattn-opt" --sattn-specialize --canonicalize "$file" 2>&1); then
    prims=$(grep -o 'sattn\.[a-z_]*' <<<"$ir" | grep -v 'sattn.pattern' |
            sed 's/sattn\.//' | sort -u | paste -sd, -)
    printf '%-10s %-10s %s\n' "$name" ok "$prims"
  else
    printf '%-10s %-10s %s\n' "$name" FAILED "$ir"
    exit 1
  fi
done
