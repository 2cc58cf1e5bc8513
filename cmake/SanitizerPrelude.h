//===- SanitizerPrelude.h - Included first in sanitizer builds --*- C++ -*-===//
//
// cmake/Sanitizers.cmake force-includes this header in every C++ file of an
// ASan build. libLLVM and libMLIR are Debian's uninstrumented shared
// libraries, but LLVM's headers see an ASan build and make the code inlined
// into ours poison the whole of every new BumpPtrAllocator slab and unpoison
// only what it hands out; the uninstrumented copy in libMLIR hands out the
// rest of a slab without unpoisoning it, so MLIR's own memcpy into memory it
// allocated (attribute and location storage of the context) was reported as
// use-after-poison. Poisoning is turned off in our copies, so that both
// sides agree; ASan still guards every heap allocation of ours.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CMAKE_SANITIZERPRELUDE_H
#define SATTN_CMAKE_SANITIZERPRELUDE_H

#include "llvm/Support/Compiler.h"

#if LLVM_ADDRESS_SANITIZER_BUILD
#undef __asan_poison_memory_region
#undef __asan_unpoison_memory_region
#define __asan_poison_memory_region(addr, size) ((void)(addr), (void)(size))
#define __asan_unpoison_memory_region(addr, size) ((void)(addr), (void)(size))
#endif

#endif // SATTN_CMAKE_SANITIZERPRELUDE_H
