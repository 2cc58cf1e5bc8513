//===- Params.h - The parameters a pattern header declares ------*- C++ -*-===//

#ifndef SATTN_PATTERNS_DSL_PARAMS_H
#define SATTN_PATTERNS_DSL_PARAMS_H

#include "patterns/dsl/Token.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace sattn::dsl {

/// A parameter and its default. Integer parameters default to an integer
/// literal, float parameters to a literal with a '.' or an exponent.
struct ParamInfo {
  std::string name;
  SourcePos pos;
  bool isInt = true;
  int64_t intDefault = 0;
  double floatDefault = 0.0;
};

/// The parameters of one pattern, in declaration order.
class ParamTable {
public:
  const ParamInfo *lookup(llvm::StringRef name) const {
    for (const ParamInfo &param : params)
      if (param.name == name)
        return &param;
    return nullptr;
  }
  void add(ParamInfo param) { params.push_back(std::move(param)); }
  llvm::SmallVector<llvm::StringRef> names() const {
    llvm::SmallVector<llvm::StringRef> result;
    for (const ParamInfo &param : params)
      result.push_back(param.name);
    return result;
  }
  llvm::ArrayRef<ParamInfo> all() const { return params; }

private:
  llvm::SmallVector<ParamInfo> params;
};

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_PARAMS_H
