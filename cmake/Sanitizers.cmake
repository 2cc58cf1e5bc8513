# Sanitizer and fuzzing builds (docs/fuzzing.md). Each lives in its own
# build folder configured with Debian's clang-22, whose sanitizer runtimes
# (libclang-rt-22-dev) match the LLVM 22 the tree is built against:
#   SATTN_SANITIZE="address;undefined"  build-asan, `make check-asan`
#   SATTN_SANITIZE=thread               build-tsan, `make check-tsan`
#   SATTN_FUZZ=ON                       build-fuzz, `make fuzz`: every library
#       with libFuzzer's coverage, ASan and UBSan, and the fuzz/ targets.
# The shared libMLIR and libLLVM stay uninstrumented: their bugs are not
# found, and the suppressions in scripts/sanitizers/ silence what they
# report through our code.
set(SATTN_SANITIZE "" CACHE STRING
    "Sanitizers for every target: address;undefined, or thread (clang only)")
option(SATTN_FUZZ "Build the libFuzzer targets of fuzz/ (clang only)" OFF)

set(sanitizers ${SATTN_SANITIZE})
if(SATTN_FUZZ)
  list(APPEND sanitizers address undefined)
endif()
if(NOT sanitizers)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "SATTN_SANITIZE and SATTN_FUZZ need clang (configure "
          "with -DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_C_COMPILER=clang-22); "
          "got ${CMAKE_CXX_COMPILER_ID}")
endif()
list(REMOVE_DUPLICATES sanitizers)
if("thread" IN_LIST sanitizers AND "address" IN_LIST sanitizers)
  message(FATAL_ERROR "ThreadSanitizer and AddressSanitizer exclude each other")
endif()
list(JOIN sanitizers "," sanitizerList)
message(STATUS "Sanitizers: ${sanitizerList}")

add_compile_options(-fsanitize=${sanitizerList} -fno-omit-frame-pointer
                    -gline-tables-only)
add_link_options(-fsanitize=${sanitizerList})
if("address" IN_LIST SATTN_SANITIZE)
  # The shared ASan runtime in every executable: a python3 that loads
  # libsattn.so needs the runtime preloaded, and the tools it runs then find
  # the same one instead of a static copy that would clash with it
  # (scripts/sanitizers/check.sh).
  execute_process(COMMAND ${CMAKE_CXX_COMPILER}
                  -print-file-name=libclang_rt.asan-x86_64.so
                  OUTPUT_VARIABLE asanRuntime OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(asanRuntimeDir "${asanRuntime}" DIRECTORY)
  add_link_options(-shared-libsan "LINKER:-rpath,${asanRuntimeDir}")
endif()
# Shared libraries (libsattn.so) leave the sanitizer runtime's symbols to the
# executable that loads them, which HandleLLVMOptions' -z defs forbids.
string(REPLACE "-Wl,-z,defs" "" CMAKE_SHARED_LINKER_FLAGS
       "${CMAKE_SHARED_LINKER_FLAGS}")
if("address" IN_LIST sanitizers)
  # LLVM's allocator poisoning, off in our copies (the header says why).
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/SanitizerPrelude.h>")
endif()
if("undefined" IN_LIST sanitizers)
  # Undefined behaviour fails the test or the fuzz input instead of printing
  # a line and going on.
  add_compile_options(-fno-sanitize-recover=undefined)
endif()
if(SATTN_FUZZ)
  # Coverage feedback everywhere; only the fuzz targets link libFuzzer's
  # main (-fsanitize=fuzzer, fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
