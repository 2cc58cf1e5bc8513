//===- FuzzNpy.cpp - libFuzzer target: the .npy reader --------------------===//
//
// Parses the input as the bytes of a .npy file (parseNpy, which readNpy
// calls after reading the file). An accepted array must be self-consistent:
// its data holds exactly numElements() elements of its dtype, it converts to
// that many floats, and encoding it and parsing the result gives the same
// array back. A breach aborts, which libFuzzer reports as a crash.
//
//===----------------------------------------------------------------------===//

#include "sattn/Npy.h"

#include "llvm/ADT/StringRef.h"

#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void breach(const char *what) {
  std::fprintf(stderr, "sattn-fuzz-npy: contract breach: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  llvm::Expected<sattn::NpyArray> array = sattn::parseNpy(bytes, "fuzz.npy");
  if (!array) {
    std::string message = llvm::toString(array.takeError());
    if (message.find("fuzz.npy") == std::string::npos)
      breach("error does not name the input");
    return 0;
  }
  int64_t elements = array->numElements();
  if (elements < 0 ||
      array->data.size() !=
          uint64_t(elements) * sattn::npyDtypeSize(array->dtype))
    breach("data size differs from shape times element size");
  // An accepted input holds its data, so this allocates at most 4 bytes per
  // input byte.
  if (array->toFloat32().size() != uint64_t(elements))
    breach("toFloat32 size differs from numElements");
  auto encoded =
      sattn::encodeNpy(array->dtype, array->shape, array->data.data());
  if (!encoded)
    breach("an accepted array does not encode");
  llvm::StringRef again(reinterpret_cast<const char *>(encoded->data()),
                        encoded->size());
  llvm::Expected<sattn::NpyArray> reparsed =
      sattn::parseNpy(again, "fuzz.npy (re-encoded)");
  if (!reparsed) {
    llvm::consumeError(reparsed.takeError());
    breach("a re-encoded array does not parse");
  }
  if (reparsed->dtype != array->dtype || reparsed->shape != array->shape ||
      reparsed->data != array->data)
    breach("encode then parse changes the array");
  return 0;
}
