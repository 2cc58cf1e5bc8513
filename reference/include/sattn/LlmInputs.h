//===- LlmInputs.h - Synthetic q/k/v with the structure of LLM attention --===//
//
// Random normal q and k give near-uniform attention, on which every
// cover-based selection keeps almost everything. Long-context models show
// concentrated attention instead: sinks on the first tokens, local decay
// through rotary embeddings, heavy "vertical" key columns, "slash" lines at
// fixed offsets, and retrieval heads that read a few earlier spans
// (MInference's taxonomy). No model weights can be fetched here, so this
// generator plants those structures in q and k directly, seeded and
// deterministic. The model, its knobs and its calibration are in
// docs/llm-inputs.md.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_LLMINPUTS_H
#define SATTN_LLMINPUTS_H

#include "sattn/TensorView.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace sattn {

/// What a query head attends to (MInference's head types).
enum class LlmHeadKind {
  Local,         // a rotary-decay window around the diagonal
  SinkDominated, // most mass on the first tokens ("A-shape")
  VerticalSlash, // heavy key columns and lines at fixed offsets
  Retrieval,     // earlier spans on the query's topic (block-sparse)
};

/// "local", "sink", "vertical-slash", "retrieval".
llvm::StringRef llmHeadKindName(LlmHeadKind kind);

/// The knobs of the model (docs/llm-inputs.md). Logit sizes are in nats at
/// the default scale 1/sqrt(D); each head draws its own values around them.
struct LlmInputOptions {
  uint64_t seed = 0;
  /// Rotary base: 500000 as Llama 3, 10000 as Llama 2 (whose position-free
  /// dims turn within a few thousand tokens: see the docs).
  double ropeTheta = 500000;
  /// Tokens 0..sinkTokens-1 are attention sinks.
  int64_t sinkTokens = 4;
  /// Mean distance between heavy "vertical" keys.
  int64_t verticalSpacing = 512;
  /// Mean length of a topic segment, the share of segments that carry a
  /// topic retrieval heads can find, and how many topics there are (at
  /// most D/8 - 2, the content dims other than the salience pair).
  int64_t segmentTokens = 512;
  double topicFraction = 0.4;
  int64_t topics = 8;
  /// Multiplies every planted logit: 0 leaves only the background (q and k
  /// then behave as random normal inputs, through the same code).
  double structure = 1.0;
  /// Sink values are this much smaller than others (sinks are a place to put
  /// attention, not information).
  double sinkValueScale = 0.1;
};

/// Which tensors to produce; the others stay empty. Each tensor depends on
/// the seed, its own indices and the planted structure only, so asking for
/// more tensors never changes the ones already asked for, and a sequence's
/// first n tokens are the same at every length.
struct LlmTensorRequest {
  bool q = true, k = true, v = true, keyScores = false, weights = false;
};

/// Generated inputs, contiguous float32, laid out as the oracle reads them:
/// q [B, Hq, Sq, D] at positions p(i) = i + Sk - Sq, k and v [B, Hkv, Sk, D]
/// (rotary embeddings applied to q and k), key scores [B, Hkv, Sk] (a
/// query-independent importance of each key, as SparseK's scorer learns),
/// weights [Hkv, D] (a direction whose dot with k scores keys likewise).
struct LlmInputs {
  std::vector<float> q, k, v, keyScores, weights;
  std::vector<LlmHeadKind> headKinds; // [Hq]
};

/// The kind of query head `head`: the four kinds in turn, from an order the
/// seed picks, so that any four consecutive heads hold one of each.
LlmHeadKind llmHeadKind(uint64_t seed, int64_t head);

/// Generates the requested tensors for `shape`. Errors on an odd or too
/// small head dim (rotary pairs and the position-free dims need D >= 16).
/// Heads are generated in parallel; the result does not depend on threads.
llvm::Expected<LlmInputs> generateLlmInputs(const AttentionShape &shape,
                                            const LlmInputOptions &options,
                                            const LlmTensorRequest &request);

} // namespace sattn

#endif // SATTN_LLMINPUTS_H
