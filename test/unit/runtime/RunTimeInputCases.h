//===- RunTimeInputCases.h - Patterns reading run-time inputs ---*- C++ -*-===//
//
// Shared by the CPU and CUDA suites: patterns whose `keep where` reads
// run-time integer inputs (docs/patterns.md, "Run-time integer inputs in
// predicates"), with inputs drawn per case, checked against the oracle; a
// control checks that the inputs change the output, so that a kernel
// ignoring them (or reading the wrong element) fails.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TEST_RUNTIMEINPUTCASES_H
#define SATTN_TEST_RUNTIMEINPUTCASES_H

#include "OracleHarness.h"

#include "sattn/Oracle.h"

namespace sattn::testing {

struct RunTimeInputCase {
  const char *name;
  const char *source;
};

inline const RunTimeInputCase kRunTimeInputCases[] = {
    // FlexAttention's document mask.
    {"document", "pattern p {\n  block 32\n  causal\n  input doc: i32[b, s]\n"
                 "  keep where doc[b, q] == doc[b, k]\n}\n"},
    // Documents plus a shared prefix of sink tokens (a static source
    // before the predicate).
    {"document_sink",
     "pattern p {\n  block 16\n  causal\n  sink 8 tokens\n"
     "  input doc: i32[b, s]\n  keep where doc[b, q] == doc[b, k]\n}\n"},
    // Prefix LM: a per-batch prefix attends both ways, the rest causally.
    {"prefix_lm", "pattern p {\n  block 32\n  input prefix: i32[b]\n"
                  "  keep where k < prefix[b] or k <= q\n}\n"},
    // Per-head windows from a table with a fixed dimension, and b read as a
    // value.
    {"head_windows", "pattern p {\n  block 32\n  causal\n"
                     "  input lim: i32[h, 3]\n"
                     "  keep where q - k < lim[h, b] or b + k == 1\n}\n"},
    // Documents with block top-k: the selection's candidates leave out the
    // blocks the predicate keeps. (Token top-k takes only sinks and token
    // windows beside it.)
    {"document_topk",
     "pattern p {\n  block 32\n  causal\n  input doc: i32[b, s]\n"
     "  keep where doc[b, q] == doc[b, k]\n"
     "  topk k = 2 blocks by pooled_qk\n}\n"},
};

/// The inputs of one case, drawn from `rng` for `shape`: documents of
/// random lengths (ids ascending), prefixes, window lengths.
struct RunTimeInputValues {
  std::vector<std::vector<int32_t>> values; // in declaration order
  std::vector<IntInput> inputs;

  RunTimeInputValues(const BoundPattern &bound, const ShapeCase &shape,
                     std::mt19937 &rng, bool zeroed) {
    for (const IntInputDecl &decl : bound.spec.inputs) {
      IntInput input;
      input.name = decl.name;
      int64_t count = 1;
      for (const InputDim &dim : decl.dims) {
        AttentionShape s{shape.batch, shape.heads, shape.kvHeads,
                         shape.seqQ,  shape.seqK,  shape.headDim};
        input.sizes.push_back(inputExtent(dim, s));
        count *= input.sizes.back();
      }
      std::vector<int32_t> v(size_t(count), 0);
      if (!zeroed) {
        if (decl.name == "doc") {
          // Each row [b, :] ascending, documents of 1 to 90 tokens.
          for (int64_t b = 0; b < shape.batch; ++b) {
            int32_t id = int32_t(rng() % 5);
            int64_t left = 0;
            for (int64_t j = 0; j < shape.seqK; ++j) {
              if (left-- <= 0) {
                ++id;
                left = int64_t(rng() % 90);
              }
              v[size_t(b * shape.seqK + j)] = id;
            }
          }
        } else if (decl.name == "prefix") {
          // Batch entry 0 attends both ways everywhere, the others up to a
          // random prefix.
          for (size_t b = 0; b < v.size(); ++b)
            v[b] = b == 0 ? int32_t(shape.seqK)
                          : int32_t(rng() % uint32_t(shape.seqK + 1));
        } else {
          for (int32_t &x : v)
            x = int32_t(rng() % uint32_t(std::max<int64_t>(shape.seqK, 1)));
        }
      }
      values.push_back(std::move(v));
      input.data = values.back().data();
      inputs.push_back(std::move(input));
    }
    // push_back may have moved the vectors' buffers: point again.
    for (size_t n = 0; n < inputs.size(); ++n)
      inputs[n].data = values[n].data();
  }
};

/// Compiles case `caseIdx` for `backend`, runs it through `runOn` on random
/// inputs of `shape` and compares with the oracle; then checks that the
/// oracle with every run-time input zeroed is another output.
inline void checkRunTimeInputCase(
    Backend backend, int caseIdx, DType dtype, const ShapeCase &shape,
    std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn) {
  const RunTimeInputCase &rc = kRunTimeInputCases[caseIdx];
  OracleCase c(777 + caseIdx, dtype, shape);
  mlir::MLIRContext context;
  BoundPattern bound;
  ASSERT_FALSE(
      bool(loadTextPattern(rc.source, "inputs.sattn", context, bound)));
  ASSERT_FALSE(bound.spec.inputs.empty());
  RunTimeInputValues values(bound, shape, c.rng, /*zeroed=*/false);
  c.args.intInputs = values.inputs;
  CompileOptions options;
  options.backend = backend;
  auto kernel = compile(PatternSource::text(rc.source), c.config, options);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = runOn(**kernel, c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));
  ASSERT_FALSE(bool(c.computeReference(bound)));
  c.expectMatches();

  RunTimeInputValues zeros(bound, shape, c.rng, /*zeroed=*/true);
  c.args.intInputs = zeros.inputs;
  ASSERT_FALSE(bool(c.computeReference(bound)));
  ReferenceComparison control = compareWithReference(
      c.out.view, c.refOut.view, c.lse.view, c.refLse.view, c.config.dtype);
  EXPECT_FALSE(control.ok())
      << "the run-time inputs did not change the output of " << rc.name;
}

} // namespace sattn::testing

#endif // SATTN_TEST_RUNTIMEINPUTCASES_H
