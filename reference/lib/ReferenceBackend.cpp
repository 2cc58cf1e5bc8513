//===- ReferenceBackend.cpp - The oracle behind the backend API -----------===//

#include "sattn/ReferenceBackend.h"

#include "sattn/Oracle.h"
#include "sattn/PackedSequences.h"

#include <vector>

using namespace sattn;

/// The elements of a view in row-major order of its sizes, as float.
static std::vector<float> gather(const TensorView &view) {
  int64_t count = 1;
  for (int64_t size : view.sizes)
    count *= size;
  std::vector<float> values;
  values.reserve(count);
  llvm::SmallVector<int64_t, 4> index(view.sizes.size(), 0);
  for (int64_t n = 0; n < count; ++n) {
    values.push_back(view.load(index));
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < view.sizes[d])
        break;
      index[d] = 0;
    }
  }
  return values;
}

llvm::Error sattn::runReferenceAttention(const PatternSpec &spec,
                                         const AttentionConfig &config,
                                         const AttentionArgs &args) {
  if (args.packed() && !spec.inputs.empty())
    return llvm::createStringError(
        "packed sequences with run-time integer inputs are not supported "
        "yet");
  if (args.packed())
    return forEachPackedSequence(
        config, args, [&](size_t, const AttentionArgs &one) {
          return runReferenceAttention(spec, config, one);
        });
  auto shape = checkAttentionArgs(config, args);
  if (!shape)
    return shape.takeError();
  RequiredInputs needed = requiredInputs(spec);
  if (needed.keyScores && !args.keyScores)
    return llvm::createStringError("pattern '" + spec.name +
                                   "' reads key scores; none were given");
  if (needed.linearWeights && !args.weights)
    return llvm::createStringError("pattern '" + spec.name +
                                   "' reads linear weights; none were given");
  std::vector<float> q = gather(args.q), k = gather(args.k), v = gather(args.v),
                     scores, weights;
  if (args.keyScores)
    scores = gather(*args.keyScores);
  if (args.weights)
    weights = gather(*args.weights);
  OracleInputs inputs{q.data(),
                      k.data(),
                      scores.empty() ? nullptr : scores.data(),
                      weights.empty() ? nullptr : weights.data(),
                      {}};
  for (size_t n = 0; n < args.intInputs.size(); ++n) {
    const IntInput &given = args.intInputs[n];
    if (llvm::none_of(spec.inputs, [&](const IntInputDecl &decl) {
          return decl.name == given.name;
        }))
      return llvm::createStringError("pattern '" + spec.name +
                                     "' has no run-time input '" + given.name +
                                     "'");
    for (size_t m = 0; m < n; ++m)
      if (args.intInputs[m].name == given.name)
        return llvm::createStringError("run-time input '" + given.name +
                                       "' is given twice");
  }
  for (const IntInputDecl &decl : spec.inputs) {
    const IntInput *given = nullptr;
    for (const IntInput &input : args.intInputs)
      if (input.name == decl.name)
        given = &input;
    if (!given)
      return llvm::createStringError("pattern '" + spec.name +
                                     "' reads run-time input '" + decl.name +
                                     "'; none was given");
    llvm::SmallVector<int64_t, 4> want;
    for (const InputDim &dim : decl.dims)
      want.push_back(inputExtent(dim, *shape));
    if (llvm::ArrayRef<int64_t>(given->sizes) != llvm::ArrayRef<int64_t>(want))
      return llvm::createStringError("run-time input '" + decl.name +
                                     "' does not have its declared shape");
    inputs.intInputs.push_back(given->data);
  }
  std::vector<double> out(
      size_t(shape->batch * shape->heads * shape->seqQ * shape->headDim)),
      lse(size_t(shape->batch * shape->heads * shape->seqQ));
  if (llvm::Error e = referenceAttention(spec, *shape, inputs, v.data(),
                                         out.data(), lse.data()))
    return e;
  size_t n = 0, m = 0;
  for (int64_t b = 0; b < shape->batch; ++b)
    for (int64_t h = 0; h < shape->heads; ++h)
      for (int64_t i = 0; i < shape->seqQ; ++i) {
        for (int64_t d = 0; d < shape->headDim; ++d)
          args.out.store({b, h, i, d}, float(out[n++]));
        if (args.wantsLse())
          args.lse.store({b, h, i}, float(lse[m]));
        ++m;
      }
  return llvm::Error::success();
}
