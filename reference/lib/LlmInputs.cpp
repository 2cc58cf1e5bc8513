//===- LlmInputs.cpp - Synthetic q/k/v with the structure of LLM attention ===//
//
// The model of docs/llm-inputs.md. Before the rotary embedding, every vector
// splits into position dims (the fast rotary pairs) and content dims (the
// slowest pairs, which turn by less than 0.4 rad over 32K tokens at
// theta = 500000 and D >= 32, so what they hold is seen at any distance):
//
//   k_j = r c + z_j                     position dims: a fixed vector c of
//                                       the KV head plus white content z_j
//       + kappa (s_j e_s + w_j e_w      content dims: sink and vertical
//                + e_topic(j))          salience on two axes, the segment's
//       + sigma_c n                     topic axis
//   q_i = sum_m a_m c_m                 rotary kernel: local decay
//       + sum_d l_d R(-d) z_{p-d}       slash lines at offsets d
//       + g_s e_s + g_w e_w             sinks, verticals,
//       + g_t e_topic(p)                retrieval
//       + sigma_q n
//
// Logit sizes are set so that scale * q . k gives each term its size in
// nats. Every random number comes from a stream keyed by (seed, what, batch,
// head), drawn token by token, so results do not depend on the length asked
// for, on threads, or on which other tensors are generated.
//
//===----------------------------------------------------------------------===//

#include "sattn/LlmInputs.h"

#include "sattn/Errors.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <array>
#include <cmath>

using namespace sattn;

namespace {

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same on every
/// platform, which std::normal_distribution is not.
class Stream {
public:
  explicit Stream(uint64_t key) : state(key) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1).
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
  /// Standard normal (Box-Muller; the second value is kept for the next
  /// call).
  double normal() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    double radius = std::sqrt(-2 * std::log(uniform()));
    double angle = 2 * M_PI * uniform();
    spare = radius * std::sin(angle);
    hasSpare = true;
    return radius * std::cos(angle);
  }

private:
  uint64_t state;
  double spare = 0;
  bool hasSpare = false;
};

/// What a stream is for, so that no two purposes share numbers.
enum class Purpose : uint64_t {
  Segments = 1,
  KeyStructure,
  KeyContent,
  Values,
  KeyScores,
  HeadParams,
  QueryNoise,
  KindOrder,
};

uint64_t streamKey(uint64_t seed, Purpose purpose, int64_t batch,
                   int64_t head) {
  Stream mix(seed);
  uint64_t key = mix.next();
  for (uint64_t part : {uint64_t(purpose), uint64_t(batch), uint64_t(head)}) {
    Stream step(key ^ part);
    key = step.next();
  }
  return key;
}

/// Per-kind sizes in nats; each head scales every size by its own factor
/// in [0.85, 1.15] and draws its window and offsets. Calibrated in
/// docs/llm-inputs.md.
struct KindParams {
  double sink;     // logit of a salience-1 sink key
  double vertical; // logit of a salience-1 vertical key
  double local;    // rotary-kernel peak at distance 0
  // The kernel uses the kernel pairs that turn by at most 1 rad within a
  // window drawn log-uniformly from [windowLo, windowHi] tokens.
  int64_t windowLo, windowHi;
  double previous; // slash at offset 1 (the previous token)
  double slash;    // slashes at offsets drawn log-uniformly from [16, 4096]
  int slashCount;
  double topic; // logit of a key on the query's topic
};

constexpr std::array<KindParams, 4> kKindParams = {{
    // Local
    {6.0, 0.0, 18.0, 256, 2048, 4.0, 0.0, 0, 0.0},
    // SinkDominated
    {19.0, 0.0, 4.0, 32, 128, 3.0, 0.0, 0, 0.0},
    // VerticalSlash
    {13.0, 18.0, 0.0, 32, 128, 7.0, 8.0, 1, 0.0},
    // Retrieval
    {16.0, 0.0, 4.0, 64, 256, 3.0, 0.0, 0, 17.0},
}};

constexpr LlmHeadKind kKinds[4] = {
    LlmHeadKind::Local, LlmHeadKind::SinkDominated, LlmHeadKind::VerticalSlash,
    LlmHeadKind::Retrieval};

/// Amplitude of the fixed key vector per rotary pair and of the salience
/// and topic axes: keys carry large shared components, so that the query
/// needs only small ones to read them and adds little noise through z.
constexpr double kFixedAmplitude = 4.0;
constexpr double kSalienceAmplitude = 8.0;
/// Noise in the content dims of keys and in every dim of queries.
constexpr double kContentNoise = 0.2;
constexpr double kQueryNoise = 0.1;
/// Salience of token 0 and of the other sink tokens.
constexpr double kFirstSinkSalience = 1.0;
constexpr double kOtherSinkSalience = 0.6;
/// Noise of the key scores around the salience they estimate.
constexpr double kKeyScoreNoise = 0.1;

/// Dims of one generation: rotary pair m is dims (m, m + D/2) (the
/// rotate-half layout of Llama), frequency theta^(-2m/D). The slowest
/// `contentPairs` pairs are the content dims; of the others, even pairs
/// hold the fixed key vector (the rotary kernel) and odd pairs the white
/// token content (slashes), so that neither adds noise to the other's
/// logits.
struct Layout {
  int64_t D, half, contentPairs, positionPairs, topics;
  std::vector<int64_t> kernelPairs, tokenPairs; // fastest first
  /// Sink and vertical salience: the two dims of the slowest pair, which
  /// mix by less than 0.1 rad over 32K tokens at theta = 500000.
  int64_t sinkDim, verticalDim;
  std::vector<double> frequency;
  /// Topic t's axis: the other content dims.
  int64_t topicDim(int64_t t) const {
    int64_t pair = positionPairs + t / 2;
    return t % 2 == 0 ? pair : pair + half;
  }
};

Layout makeLayout(int64_t D, double theta) {
  Layout l;
  l.D = D;
  l.half = D / 2;
  l.contentPairs = std::max<int64_t>(2, D / 16);
  l.positionPairs = l.half - l.contentPairs;
  for (int64_t m = 0; m < l.positionPairs; ++m)
    (m % 2 == 0 ? l.kernelPairs : l.tokenPairs).push_back(m);
  l.topics = 2 * (l.contentPairs - 1);
  l.sinkDim = l.half - 1;
  l.verticalDim = l.D - 1;
  for (int64_t m = 0; m < l.half; ++m)
    l.frequency.push_back(std::pow(theta, -2.0 * double(m) / double(D)));
  return l;
}

/// Rotates pairs (m, m + D/2) of `x` by position * frequency[m].
void applyRotary(const Layout &l, double position, float *x) {
  for (int64_t m = 0; m < l.half; ++m) {
    double angle = position * l.frequency[m];
    double c = std::cos(angle), s = std::sin(angle);
    double a = x[m], b = x[m + l.half];
    x[m] = float(a * c - b * s);
    x[m + l.half] = float(a * s + b * c);
  }
}

/// Rotates the pre-rotary vector `x` by -offset (so that after the rotary
/// embedding at position p it is the rotary image of position p - offset).
void rotateBack(const Layout &l, int64_t offset, const double *x, double *out) {
  for (int64_t m = 0; m < l.half; ++m) {
    double angle = -double(offset) * l.frequency[m];
    double c = std::cos(angle), s = std::sin(angle);
    out[m] = x[m] * c - x[m + l.half] * s;
    out[m + l.half] = x[m] * s + x[m + l.half] * c;
  }
}

/// Topic per token (-1: none) of batch entry b: segments of random length
/// around segmentTokens, a share of them on one of `topics` topics.
std::vector<int16_t> makeTopics(const LlmInputOptions &o, int64_t b,
                                int64_t tokens, int64_t topics) {
  std::vector<int16_t> topic(tokens, -1);
  Stream rng(streamKey(o.seed, Purpose::Segments, b, 0));
  const double mean = double(std::max<int64_t>(1, o.segmentTokens));
  for (int64_t start = 0; start < tokens;) {
    int64_t length =
        std::max<int64_t>(1, int64_t(mean * (0.5 + rng.uniform())));
    bool onTopic = rng.uniform() < o.topicFraction;
    int64_t t = int64_t(rng.uniform() * double(topics));
    for (int64_t j = start; j < std::min(tokens, start + length); ++j)
      topic[j] = onTopic && topics > 0 ? int16_t(t) : int16_t(-1);
    start += length;
  }
  return topic;
}

/// The structure of one KV head: salience of every key and the fixed
/// vector's phases.
struct KeyStructure {
  std::vector<double> sink, vertical; // salience [Sk]
  std::vector<double> fixed;          // [D], zero outside the position dims
};

KeyStructure makeKeyStructure(const LlmInputOptions &o, const Layout &l,
                              int64_t b, int64_t g, int64_t tokens) {
  KeyStructure ks;
  Stream rng(streamKey(o.seed, Purpose::KeyStructure, b, g));
  ks.fixed.assign(l.D, 0.0);
  for (int64_t m : l.kernelPairs) {
    double phase = 2 * M_PI * rng.uniform();
    ks.fixed[m] = kFixedAmplitude * std::cos(phase);
    ks.fixed[m + l.half] = kFixedAmplitude * std::sin(phase);
  }
  ks.sink.assign(tokens, 0.0);
  ks.vertical.assign(tokens, 0.0);
  const double rate = 1.0 / double(std::max<int64_t>(1, o.verticalSpacing));
  for (int64_t j = 0; j < tokens; ++j) {
    // Two draws per token whatever happens, so that a token's salience
    // does not depend on the ones before it.
    double isVertical = rng.uniform(), strength = rng.uniform();
    if (j < o.sinkTokens)
      ks.sink[j] = j == 0 ? kFirstSinkSalience : kOtherSinkSalience;
    else if (isVertical < rate)
      // Most heavy keys are weak, a few strong: the cube leans low.
      ks.vertical[j] = 0.3 + 0.7 * strength * strength * strength;
  }
  return ks;
}

/// One query head's draw around its kind's sizes.
struct HeadParams {
  LlmHeadKind kind;
  double sink, vertical, local, previous, topic;
  int64_t localPairs; // the rotary kernel uses kernelPairs[0..localPairs)
  std::vector<std::pair<int64_t, double>> slashes; // (offset, logit)
};

HeadParams makeHeadParams(const LlmInputOptions &o, const Layout &l,
                          int64_t h) {
  HeadParams hp;
  hp.kind = llmHeadKind(o.seed, h);
  const KindParams &kp = kKindParams[size_t(hp.kind)];
  Stream rng(streamKey(o.seed, Purpose::HeadParams, 0, h));
  auto jitter = [&] { return o.structure * (0.85 + 0.3 * rng.uniform()); };
  hp.sink = kp.sink * jitter();
  hp.vertical = kp.vertical * jitter();
  hp.local = kp.local * jitter();
  hp.previous = kp.previous * jitter();
  hp.topic = kp.topic * jitter();
  double window =
      double(kp.windowLo) *
      std::pow(double(kp.windowHi) / double(kp.windowLo), rng.uniform());
  hp.localPairs = 0;
  while (hp.localPairs < int64_t(l.kernelPairs.size()) &&
         l.frequency[l.kernelPairs[hp.localPairs]] * window >= 1.0)
    ++hp.localPairs;
  hp.localPairs = std::max<int64_t>(hp.localPairs, 1);
  if (hp.previous > 0)
    hp.slashes.push_back({1, hp.previous});
  for (int s = 0; s < kp.slashCount; ++s) {
    int64_t offset = int64_t(16.0 * std::pow(256.0, rng.uniform()));
    hp.slashes.push_back({offset, kp.slash * jitter()});
  }
  return hp;
}

/// Generates k, v and key scores of KV head (b, g), and the queries of the
/// heads of its group.
void generateGroup(const AttentionShape &shape, const LlmInputOptions &o,
                   const LlmTensorRequest &req, const Layout &l, int64_t b,
                   int64_t g, const std::vector<int16_t> &topic,
                   LlmInputs &out) {
  const int64_t D = l.D, Sk = shape.seqK, Sq = shape.seqQ;
  const double sqrtD = std::sqrt(double(D));
  KeyStructure ks = makeKeyStructure(o, l, b, g, Sk);
  const int64_t tokenDims = 2 * int64_t(l.tokenPairs.size());
  // White content z_j of the token pairs, pre-rotary; slash heads read it at
  // earlier positions, so it is kept for every key.
  std::vector<double> content(size_t(Sk) * D, 0.0);
  {
    Stream rng(streamKey(o.seed, Purpose::KeyContent, b, g));
    for (int64_t j = 0; j < Sk; ++j) {
      double *z = &content[size_t(j) * D];
      for (int64_t m : l.tokenPairs) {
        z[m] = rng.normal();
        z[m + l.half] = rng.normal();
      }
      // Content dims get their noise here too (one stream per key row).
      for (int64_t m = l.positionPairs; m < l.half; ++m) {
        z[m] = kContentNoise * rng.normal();
        z[m + l.half] = kContentNoise * rng.normal();
      }
    }
  }
  const double salienceScale = kSalienceAmplitude;
  if (req.k) {
    float *kBase = out.k.data() + size_t(b * shape.kvHeads + g) * Sk * D;
    for (int64_t j = 0; j < Sk; ++j) {
      float *kj = kBase + size_t(j) * D;
      const double *z = &content[size_t(j) * D];
      for (int64_t d = 0; d < D; ++d)
        kj[d] = float(ks.fixed[d] + z[d]);
      kj[l.sinkDim] += float(salienceScale * ks.sink[j]);
      kj[l.verticalDim] += float(salienceScale * ks.vertical[j]);
      if (topic[j] >= 0)
        kj[l.topicDim(topic[j])] += float(salienceScale);
      applyRotary(l, double(j), kj);
    }
  }
  if (req.v) {
    Stream rng(streamKey(o.seed, Purpose::Values, b, g));
    float *vBase = out.v.data() + size_t(b * shape.kvHeads + g) * Sk * D;
    for (int64_t j = 0; j < Sk; ++j) {
      double factor = j < o.sinkTokens ? o.sinkValueScale : 1.0;
      for (int64_t d = 0; d < D; ++d)
        vBase[size_t(j) * D + d] = float(factor * rng.normal());
    }
  }
  if (req.keyScores) {
    Stream rng(streamKey(o.seed, Purpose::KeyScores, b, g));
    float *u = out.keyScores.data() + size_t(b * shape.kvHeads + g) * Sk;
    for (int64_t j = 0; j < Sk; ++j)
      u[j] = float(ks.sink[j] + ks.vertical[j] + kKeyScoreNoise * rng.normal());
  }
  if (!req.q)
    return;
  const int64_t group = shape.heads / shape.kvHeads;
  std::vector<double> rotated(D);
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    HeadParams hp = makeHeadParams(o, l, h);
    // Coefficients that give each term its logit: scale * q . k = nats.
    const double fixedNorm2 = kFixedAmplitude * kFixedAmplitude;
    const double localCoef = hp.local * sqrtD / (fixedNorm2 * hp.localPairs);
    const double salienceCoef = sqrtD / salienceScale;
    Stream rng(streamKey(o.seed, Purpose::QueryNoise, b, h));
    // The noise of position p is the p-th draw of the stream, whatever the
    // first position generated (decode shapes start at Sk - Sq).
    for (int64_t skipped = 0; skipped < (Sk - Sq) * D; ++skipped)
      rng.normal();
    float *qBase = out.q.data() + size_t(b * shape.heads + h) * Sq * D;
    for (int64_t i = 0; i < Sq; ++i) {
      const int64_t p = i + (Sk - Sq);
      float *qi = qBase + size_t(i) * D;
      std::vector<double> acc(D, 0.0);
      for (int64_t n = 0; n < hp.localPairs; ++n) {
        int64_t m = l.kernelPairs[n];
        acc[m] += localCoef * ks.fixed[m];
        acc[m + l.half] += localCoef * ks.fixed[m + l.half];
      }
      for (auto [offset, logit] : hp.slashes) {
        if (p - offset < 0 || p - offset >= Sk)
          continue;
        rotateBack(l, offset, &content[size_t(p - offset) * D], rotated.data());
        double coef = logit * sqrtD / double(tokenDims);
        for (int64_t m : l.tokenPairs) {
          acc[m] += coef * rotated[m];
          acc[m + l.half] += coef * rotated[m + l.half];
        }
      }
      acc[l.sinkDim] += salienceCoef * hp.sink;
      acc[l.verticalDim] += salienceCoef * hp.vertical;
      if (hp.topic > 0 && p < Sk && topic[p] >= 0)
        acc[l.topicDim(topic[p])] += salienceCoef * hp.topic;
      for (int64_t d = 0; d < D; ++d)
        qi[d] = float(acc[d] + kQueryNoise * rng.normal());
      applyRotary(l, double(p), qi);
    }
  }
}

} // namespace

llvm::StringRef sattn::llmHeadKindName(LlmHeadKind kind) {
  switch (kind) {
  case LlmHeadKind::Local:
    return "local";
  case LlmHeadKind::SinkDominated:
    return "sink";
  case LlmHeadKind::VerticalSlash:
    return "vertical-slash";
  case LlmHeadKind::Retrieval:
    return "retrieval";
  }
  return "unknown";
}

LlmHeadKind sattn::llmHeadKind(uint64_t seed, int64_t head) {
  // A Fisher-Yates shuffle of the four kinds, drawn from the seed alone.
  std::array<LlmHeadKind, 4> order = {kKinds[0], kKinds[1], kKinds[2],
                                      kKinds[3]};
  Stream rng(streamKey(seed, Purpose::KindOrder, 0, 0));
  for (size_t n = order.size() - 1; n > 0; --n)
    std::swap(order[n], order[size_t(rng.uniform() * double(n + 1))]);
  return order[size_t(head % 4)];
}

llvm::Expected<LlmInputs>
sattn::generateLlmInputs(const AttentionShape &shape,
                         const LlmInputOptions &options,
                         const LlmTensorRequest &request) {
  if (shape.headDim < 16 || shape.headDim % 2 != 0)
    return makeError(llvm::formatv("LLM-like inputs need an even head dim "
                                   ">= 16 (rotary pairs), got {0}",
                                   shape.headDim));
  if (shape.batch < 1 || shape.heads < 1 || shape.kvHeads < 1 ||
      shape.heads % shape.kvHeads != 0 || shape.seqQ < 1 ||
      shape.seqK < shape.seqQ)
    return makeError(llvm::formatv(
        "LLM-like inputs need batch, heads and lengths >= 1, kv-heads "
        "dividing heads and seq_k >= seq_q; got batch={0} heads={1} "
        "kv_heads={2} seq_q={3} seq_k={4}",
        shape.batch, shape.heads, shape.kvHeads, shape.seqQ, shape.seqK));
  if (!(options.ropeTheta > 1) || options.sinkTokens < 0 ||
      options.verticalSpacing < 1 || options.segmentTokens < 1 ||
      options.topics < 0 ||
      !(options.topicFraction >= 0 && options.topicFraction <= 1) ||
      !(options.structure >= 0))
    return makeError("LLM-like input options out of range: theta > 1, "
                     "sink tokens >= 0, spacings >= 1, topics >= 0, topic "
                     "fraction in [0, 1], structure >= 0");
  const Layout layout = makeLayout(shape.headDim, options.ropeTheta);
  const int64_t D = shape.headDim;
  LlmInputs out;
  if (request.q)
    out.q.resize(size_t(shape.batch * shape.heads * shape.seqQ * D));
  if (request.k)
    out.k.resize(size_t(shape.batch * shape.kvHeads * shape.seqK * D));
  if (request.v)
    out.v.resize(size_t(shape.batch * shape.kvHeads * shape.seqK * D));
  if (request.keyScores)
    out.keyScores.resize(size_t(shape.batch * shape.kvHeads * shape.seqK));
  if (request.weights) {
    // The linear scorer reads the salience axes, as the key scores do.
    out.weights.assign(size_t(shape.kvHeads * D), 0.0f);
    for (int64_t g = 0; g < shape.kvHeads; ++g) {
      out.weights[size_t(g * D + layout.sinkDim)] = 1.0f;
      out.weights[size_t(g * D + layout.verticalDim)] = 1.0f;
    }
  }
  for (int64_t h = 0; h < shape.heads; ++h)
    out.headKinds.push_back(llmHeadKind(options.seed, h));
  std::vector<std::vector<int16_t>> topics;
  const int64_t topicCount = std::min(options.topics, layout.topics);
  for (int64_t b = 0; b < shape.batch; ++b)
    topics.push_back(makeTopics(options, b, shape.seqK, topicCount));
  // Each (b, g) writes its own slices only.
  llvm::parallelFor(0, size_t(shape.batch * shape.kvHeads), [&](size_t n) {
    int64_t b = int64_t(n) / shape.kvHeads, g = int64_t(n) % shape.kvHeads;
    generateGroup(shape, options, request, layout, b, g, topics[b], out);
  });
  return out;
}
