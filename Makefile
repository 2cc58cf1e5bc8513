# The two entry points of the README. Each installs what it needs, configures
# and builds; `make demo` then runs the main job, `make test` the test suites.
# Fuzzing and the sanitizer builds (docs/fuzzing.md) have their own build
# folders, configured with clang-22: `make fuzz`, `make check-asan`,
# `make check-tsan`.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
FUZZ_BUILD ?= build-fuzz
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# Seconds each fuzz target runs in `make fuzz`.
FUZZ_SECONDS ?= 60
FUZZERS = dsl ir npy cache-entry
CLANG = -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" \
  "-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG" \
  -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit

.PHONY: demo test build configure deps clean clang-deps fuzz-build fuzz \
  check-asan check-tsan

deps:
	@scripts/install-deps.sh

clang-deps:
	@scripts/install-deps.sh --clang

configure: deps
	@cmake -G Ninja -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release \
	  -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The suites of $(BUILD), then each fuzz target for a few seconds (the
# fuzz-* ctest tests of $(FUZZ_BUILD)).
test: build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz-build
	cd $(FUZZ_BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

fuzz-build: clang-deps
	@cmake -G Ninja -S . -B $(FUZZ_BUILD) $(CLANG) -DSATTN_FUZZ=ON \
	  -DSATTN_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target sattn-fuzzers

# Each fuzz target for FUZZ_SECONDS from its seeds and the corpus it grew
# before; fails on the first crash (reproducers in $(FUZZ_BUILD)/fuzz/artifacts).
fuzz: fuzz-build
	@for name in $(FUZZERS); do \
	  echo "== fuzz $$name: $(FUZZ_SECONDS) s"; \
	  fuzz/run-fuzzer.sh $(FUZZ_BUILD) $$name main \
	    -max_total_time=$(FUZZ_SECONDS) 2>&1 | \
	    grep -E '^(#[0-9]+ +DONE|==[0-9]+==|SUMMARY|stat::|Done |.*(crash|leak|timeout|deadly|missing))' ; \
	  status=$${PIPESTATUS[0]}; \
	  [ $$status -eq 0 ] || { echo "fuzz $$name failed ($$status)"; exit 1; }; \
	done

check-asan: deps clang-deps
	@cmake -G Ninja -S . -B $(ASAN_BUILD) $(CLANG) \
	  "-DSATTN_SANITIZE=address;undefined" $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@scripts/sanitizers/check.sh asan $(ASAN_BUILD) $(JOBS)

check-tsan: deps clang-deps
	@cmake -G Ninja -S . -B $(TSAN_BUILD) $(CLANG) -DSATTN_SANITIZE=thread \
	  $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target sattn-cache-tests \
	  sattn-runtime-tests sattn-capi-tests
	@scripts/sanitizers/check.sh tsan $(TSAN_BUILD) $(JOBS)

clean:
	rm -rf $(BUILD)
