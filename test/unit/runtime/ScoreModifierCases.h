//===- ScoreModifierCases.h - Patterns with score modifiers ----*- C++ -*-===//
//
// Shared by the CPU and CUDA suites: small patterns with softcap and alibi
// (docs/patterns.md, "Score modifiers") and the check of a compiled kernel
// against the oracle, with a control that the modifiers change the output.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TEST_SCOREMODIFIERCASES_H
#define SATTN_TEST_SCOREMODIFIERCASES_H

#include "OracleHarness.h"

namespace sattn::testing {

struct ModifierCase {
  const char *name;
  const char *source;
};

// Each pattern holds a `%s` where the modifiers go, so that the same
// pattern without them is the control.
inline const ModifierCase kModifierCases[] = {
    {"softcap_window", "pattern p {\n  block 32\n  causal\n  window 96 "
                       "tokens\n  sink 8 tokens\n%s}\n"},
    {"alibi_dense", "pattern p {\n  block 32\n  causal\n  keep where 1 == "
                    "1\n%s}\n"},
    {"both_strides", "pattern p {\n  block 16\n  causal\n  window 2 "
                     "blocks\n  strides pow2\n%s}\n"},
    {"softcap_topk", "pattern p {\n  block 32\n  causal\n  window 32 "
                     "tokens\n  topk k = 40 tokens by key_score\n%s}\n"},
};

inline const char *modifiersFor(llvm::StringRef name) {
  if (name.starts_with("softcap"))
    return "  softcap 2.5\n";
  if (name.starts_with("alibi"))
    return "  alibi\n";
  return "  softcap 4\n  alibi\n";
}

inline std::string withModifiers(const ModifierCase &c, bool modified) {
  std::string text = c.source;
  size_t at = text.find("%s");
  text.replace(at, 2, modified ? modifiersFor(c.name) : "");
  return text;
}

/// Compiles modifier case `caseIdx` for `backend`, runs it through `runOn`
/// on random inputs of `shape` and compares with the oracle; then checks
/// that the oracle without the modifiers is another output.
inline void
checkModifierCase(Backend backend, int caseIdx, DType dtype,
                  const ShapeCase &shape,
                  std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn) {
  const ModifierCase &mc = kModifierCases[caseIdx];
  OracleCase c(99 + caseIdx, dtype, shape);
  if (llvm::StringRef(mc.name).ends_with("topk"))
    c.args.keyScores = c.scores.view;
  CompileOptions options;
  options.backend = backend;
  auto kernel =
      compile(PatternSource::text(withModifiers(mc, true)), c.config, options);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = runOn(**kernel, c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));

  mlir::MLIRContext context;
  BoundPattern bound;
  ASSERT_FALSE(bool(loadTextPattern(withModifiers(mc, true), "modified.sattn",
                                    context, bound)));
  ASSERT_TRUE(bound.spec.modifiers.any());
  ASSERT_FALSE(bool(c.computeReference(bound)));
  c.expectMatches();

  // The control: the same pattern without modifiers gives another output,
  // beyond the tolerance the comparison above allows.
  mlir::MLIRContext plainContext;
  BoundPattern plain;
  ASSERT_FALSE(bool(loadTextPattern(withModifiers(mc, false), "plain.sattn",
                                    plainContext, plain)));
  ASSERT_FALSE(bool(c.computeReference(plain)));
  ReferenceComparison control = compareWithReference(
      c.out.view, c.refOut.view, c.lse.view, c.refLse.view, c.config.dtype);
  EXPECT_FALSE(control.ok())
      << "the modifiers did not change the output of " << mc.name;
}

} // namespace sattn::testing

#endif // SATTN_TEST_SCOREMODIFIERCASES_H
