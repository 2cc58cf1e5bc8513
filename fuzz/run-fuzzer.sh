#!/usr/bin/env bash
# Runs one fuzz target of a SATTN_FUZZ build from its seeds:
#   fuzz/run-fuzzer.sh BUILD NAME CORPUS [libFuzzer flags...]
# NAME is dsl, ir, npy or cache-entry. New inputs go to
# BUILD/fuzz/corpus/CORPUS/NAME; CORPUS "smoke" is emptied first (the short
# runs of `make test`), any other keeps growing across runs. Crash, leak,
# timeout and out-of-memory reproducers go to BUILD/fuzz/artifacts/NAME/.
# Exits with libFuzzer's status: non-zero on any of those.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 BUILD NAME CORPUS [libFuzzer flags...]" >&2
  exit 2
fi
build=$1 name=$2 corpus_kind=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bin/sattn-fuzz-$name
seeds=$build/fuzz/seeds/$name
corpus=$build/fuzz/corpus/$corpus_kind/$name
artifacts=$build/fuzz/artifacts/$name
for path in "$bin" "$seeds"; do
  [[ -e $path ]] || { echo "$0: $path missing: build sattn-fuzzers" >&2; exit 2; }
done
[[ $corpus_kind == smoke ]] && rm -rf "$corpus"
mkdir -p "$corpus" "$artifacts"
flags=(-artifact_prefix="$artifacts/" -timeout=30 -rss_limit_mb=4096
       -print_final_stats=1)
case $name in
  dsl | ir) flags+=(-max_len=8192) ;;
  *) flags+=(-max_len=4096) ;;
esac
[[ -f $here/dict/$name.dict ]] && flags+=(-dict="$here/dict/$name.dict")
# Leaks are checked (detect_leaks=1); symbolized reports need llvm-symbolizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-22/bin/llvm-symbolizer}
exec "$bin" "${flags[@]}" "$@" "$corpus" "$seeds"
