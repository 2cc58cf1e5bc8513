//===- PatternSourceRequest.h - PatternSource to loader request -*- C++ -*-===//
//
// sattn::compile and the C API load patterns the same way: this turns the
// public PatternSource into the pattern loader's request.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_RUNTIME_PATTERNSOURCEREQUEST_H
#define SATTN_RUNTIME_PATTERNSOURCEREQUEST_H

#include "patterns/PatternLoader.h"
#include "sattn/Compiler.h"

namespace sattn {

/// The request that loads, selects and binds `source`.
PatternRequest patternRequest(const PatternSource &source);

} // namespace sattn

#endif // SATTN_RUNTIME_PATTERNSOURCEREQUEST_H
