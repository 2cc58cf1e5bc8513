#!/usr/bin/env bash
# Runs the test suite of a sanitizer build (docs/fuzzing.md):
#   scripts/sanitizers/check.sh asan|tsan BUILD [JOBS] [extra ctest args...]
# asan: every ctest test of an ASan+UBSan build with leaks checked, but the
#   ones that load libsattn.so into the uninstrumented python3; then those
#   (the Python suites and lit's tools/readme-examples, which runs the
#   README's Python blocks) with the shared ASan runtime preloaded, which
#   libsattn.so needs there, and leaks unchecked (CPython keeps what it
#   allocates until exit). Left out: python-pip-install and
#   install-find-package, which install the package and build a consumer
#   without the sanitizers.
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
    # Three rounds: a race that needs an unlucky interleaving gets more tries.
    select=(-R '^(CacheKeyTest|CacheDirectoryTest|KernelCache[A-Za-z]*Test|CpuKernelThreads|CApi)\.'
            --repeat until-fail:3)
    ;;
  *)
    echo "$0: unknown kind $kind (asan or tsan)" >&2
    exit 2
    ;;
esac
cd "$build"
start=$(date +%s)
status=0
if [[ $kind == asan ]]; then
  LIT_FILTER_OUT=tools/readme-examples \
    ctest --output-on-failure --no-tests=error -j "$jobs" "${select[@]}" \
    "$@" || status=$?
  runtime=$(clang-22 -print-file-name=libclang_rt.asan-x86_64.so)
  LD_PRELOAD=$runtime ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 \
    LIT_FILTER=tools/readme-examples \
    ctest --output-on-failure --no-tests=error -j "$jobs" \
    -R '^(python-(attention|errors|patterns|torch|cuda)|sattn-lit)$' "$@" ||
    status=$?
else
  ctest --output-on-failure --no-tests=error -j "$jobs" "${select[@]}" \
    "$@" || status=$?
fi
echo "sattn: check-$kind took $(($(date +%s) - start)) s"
exit $status
