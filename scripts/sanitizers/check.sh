#!/usr/bin/env bash
# Runs the test suite of a sanitizer build (docs/fuzzing.md):
#   scripts/sanitizers/check.sh asan|tsan BUILD [JOBS] [extra ctest args...]
# asan: every ctest test of an ASan+UBSan build except those that load
#   libsattn.so into a process the sanitizers did not start (python-*, whose
#   interpreter is not instrumented, and install-find-package, whose consumer
#   is built without them). Leaks are checked.
# tsan: the runtime's threaded tests of a TSan build: the whole cache suite
#   (threads and processes racing on entries), the C API suite (release while
#   other threads run) and the multithreaded compile-and-run test.
# The suppressions next to this script silence reports from inside the
# uninstrumented shared LLVM/MLIR libraries; each says why.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 asan|tsan BUILD [JOBS] [ctest args...]" >&2
  exit 2
fi
kind=$1 build=$2 jobs=${3:-2}
shift $(($# < 3 ? $# : 3))
here=$(cd "$(dirname "$0")" && pwd)
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
export TSAN_SYMBOLIZER_PATH=$ASAN_SYMBOLIZER_PATH
export LLVM_SYMBOLIZER_PATH=$ASAN_SYMBOLIZER_PATH
case $kind in
  asan)
    export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1
    export LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$here/ubsan.supp
    select=(-E '^(python-|install-find-package$)')
    ;;
  tsan)
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan.supp:print_suppressions=0
    select=(-R '^(CacheKeyTest|CacheDirectoryTest|KernelCache[A-Za-z]*Test|CpuKernelThreads|CApi)\.')
    ;;
  *)
    echo "$0: unknown kind $kind (asan or tsan)" >&2
    exit 2
    ;;
esac
cd "$build"
start=$(date +%s)
status=0
ctest --output-on-failure --no-tests=error -j "$jobs" "${select[@]}" "$@" ||
  status=$?
echo "sattn: check-$kind took $(($(date +%s) - start)) s"
exit $status
