//===- RunTimeInputs.h - Run-time integer inputs of predicates --*- C++ -*-===//
//
// A pattern's `inputs` (docs/patterns.md, "Run-time integer inputs in
// predicates") reach a kernel through the workspace: the runtime copies them
// into the Inputs slot, one after another in declaration order, each
// contiguous in C order, and `keep` predicates read them there. This file
// says what the call must give (describeInputs, for the kernel's record) and
// reads an element (readInput); both follow that one layout.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_RUNTIMEINPUTS_H
#define SATTN_PASSES_RUNTIMEINPUTS_H

#include "passes/KernelBuilder.h"
#include "passes/KernelRequest.h"

#include "sattn/KernelInfo.h"

#include <vector>

namespace mlir::sattn {

/// The run-time inputs of the request's pattern with their sizes and the
/// variables that index each dimension.
std::vector<::sattn::KernelInput> describeInputs(const KernelRequest &req);

/// The values a read may be indexed by: b, h, q = p(i) and k (index type).
struct InputIndexValues {
  Value batch, head, query, key;
};

/// Emits the read of `read` (sattn.read_input) at `at`, sign-extended to
/// i64.
Value readInput(KernelBuilder &kb, const KernelRequest &req, ReadInputOp read,
                const InputIndexValues &at);

} // namespace mlir::sattn

#endif // SATTN_PASSES_RUNTIMEINPUTS_H
