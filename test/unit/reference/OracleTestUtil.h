//===- OracleTestUtil.h - Builders for the reference tests ------*- C++ -*-===//
//
// Patterns, shapes and oracles for the tests of the oracle and of recall.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TEST_UNIT_REFERENCE_ORACLETESTUTIL_H
#define SATTN_TEST_UNIT_REFERENCE_ORACLETESTUTIL_H

#include "sattn/Oracle.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <memory>
#include <vector>

namespace sattn::test {

inline PatternSpec makeSpec(int64_t block, bool causal,
                            std::vector<Primitive> prims) {
  PatternSpec s;
  s.name = "test";
  s.block = block;
  s.causal = causal;
  s.primitives = std::move(prims);
  return s;
}

inline AttentionShape makeShape(int64_t sq, int64_t sk, int64_t hq = 1,
                                int64_t hkv = 1, int64_t d = 1,
                                int64_t batch = 1, double scale = 1.0) {
  AttentionShape s;
  s.batch = batch;
  s.heads = hq;
  s.kvHeads = hkv;
  s.seqQ = sq;
  s.seqK = sk;
  s.headDim = d;
  s.scale = scale;
  return s;
}

inline MaskOracle mustCreate(const PatternSpec &spec,
                             const AttentionShape &shape,
                             const OracleInputs &in = {}) {
  llvm::Expected<MaskOracle> o = MaskOracle::create(spec, shape, in);
  if (!o) {
    ADD_FAILURE() << llvm::toString(o.takeError());
    std::abort();
  }
  return std::move(*o);
}

inline WindowPrim windowTokens(int64_t w) {
  WindowPrim p;
  p.unit = WindowUnit::Tokens;
  p.size = w;
  return p;
}
inline WindowPrim windowBlocks(int64_t w) {
  WindowPrim p;
  p.unit = WindowUnit::Blocks;
  p.size = w;
  return p;
}
inline StridesPrim strides(StrideKind kind, int64_t every = 1,
                           std::vector<int64_t> list = {}) {
  StridesPrim p;
  p.kind = kind;
  p.every = every;
  p.list = std::move(list);
  return p;
}

inline KeepExprPtr cst(int64_t v) {
  auto e = std::make_shared<KeepExpr>();
  e->op = KeepOp::Const;
  e->value = v;
  return e;
}
inline KeepExprPtr var(KeepVar v) {
  auto e = std::make_shared<KeepExpr>();
  e->op = KeepOp::Var;
  e->var = v;
  return e;
}
inline KeepExprPtr op(KeepOp o, std::vector<KeepExprPtr> args) {
  auto e = std::make_shared<KeepExpr>();
  e->op = o;
  e->operands = std::move(args);
  return e;
}
inline KeepPrim keep(KeepExprPtr e, bool blockLevel) {
  KeepPrim k;
  k.predicate = std::move(e);
  k.blockLevel = blockLevel;
  return k;
}

inline TopkPrim topkTokens(int64_t k, ScoreSource src) {
  TopkPrim t;
  t.k = k;
  t.source = src;
  t.granularity = TopkGranularity::Token;
  return t;
}
inline TopkPrim topkCover(double alpha, ScoreSource src,
                          TopkGranularity g = TopkGranularity::Token,
                          int64_t block = 1) {
  TopkPrim t;
  t.byCover = true;
  t.alpha = alpha;
  t.source = src;
  t.granularity = g;
  t.block = block;
  return t;
}
inline TopkPrim topkBlocks(int64_t k, ScoreSource src, int64_t block) {
  TopkPrim t = topkTokens(k, src);
  t.granularity = TopkGranularity::Block;
  t.block = block;
  return t;
}

} // namespace sattn::test

#endif // SATTN_TEST_UNIT_REFERENCE_ORACLETESTUTIL_H
