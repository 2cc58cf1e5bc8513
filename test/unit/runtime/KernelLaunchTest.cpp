//===- KernelLaunchTest.cpp - Calls prepared from a kernel's record -------===//

#include "runtime/lib/KernelLaunch.h"

#include <gtest/gtest.h>

#include <vector>

using namespace sattn;

namespace {

KernelInfo alignedKernel() {
  KernelInfo info;
  info.pattern = "p";
  info.heads = info.kvHeads = 1;
  info.headDim = 64;
  info.attention.name = info.attention.entry = "sattn_attention";
  info.attention.items = SizeExpr::batch() * ceilDiv(SizeExpr::seqQ(), 64);
  info.kvRowAlignment = 16;
  return info;
}

struct Buffers {
  explicit Buffers(int64_t rowStride) : kv(2 * 128 * rowStride + 8) {
    q.resize(128 * 64);
    out.resize(128 * 64);
    lse.resize(128);
  }
  std::vector<float> q, kv, out, lse;
};

AttentionArgs views(Buffers &b, int64_t rowStride, int64_t kvOffset) {
  AttentionArgs args;
  args.q = TensorView::contiguous(b.q.data(), DType::F32, {1, 1, 128, 64});
  args.out = TensorView::contiguous(b.out.data(), DType::F32, {1, 1, 128, 64});
  args.lse = TensorView::contiguous(b.lse.data(), DType::F32, {1, 1, 128});
  for (TensorView *view : {&args.k, &args.v}) {
    float *base =
        b.kv.data() + kvOffset + (view == &args.v ? 128 * rowStride : 0);
    *view = TensorView{base,
                       DType::F32,
                       {1, 1, 128, 64},
                       {128 * rowStride, 128 * rowStride, rowStride, 1}};
  }
  return args;
}

AttentionConfig config() {
  AttentionConfig c;
  c.headDim = 64;
  return c;
}

TEST(KernelLaunch, AlignedRowsAreAccepted) {
  Buffers b(64);
  llvm::Expected<PreparedCall> call =
      prepareCall(alignedKernel(), config(), views(b, 64, 0));
  ASSERT_TRUE(bool(call)) << llvm::toString(call.takeError());
  EXPECT_EQ(call->attentionItems, 2);
}

TEST(KernelLaunch, RowsOffTheAlignmentAreRefusedByAnAlignedKernel) {
  // Rows of 67 floats: every row but the first starts off 16 bytes.
  Buffers b(67);
  llvm::Expected<PreparedCall> call =
      prepareCall(alignedKernel(), config(), views(b, 67, 0));
  ASSERT_FALSE(bool(call));
  EXPECT_NE(llvm::toString(call.takeError()).find("aligned to 16 bytes"),
            std::string::npos);
  // A kernel for any alignment takes them.
  KernelInfo any = alignedKernel();
  any.kvRowAlignment = 0;
  llvm::Expected<PreparedCall> anyCall =
      prepareCall(any, config(), views(b, 67, 0));
  EXPECT_TRUE(bool(anyCall)) << llvm::toString(anyCall.takeError());
}

TEST(KernelLaunch, RowsAlignedNeedsPointerAndStrides) {
  alignas(16) static float data[8 * 68];
  TensorView view = TensorView::contiguous(data, DType::F32, {1, 1, 8, 64});
  EXPECT_TRUE(rowsAligned(view, 16));
  TensorView shifted = view;
  shifted.data = data + 1;
  EXPECT_FALSE(rowsAligned(shifted, 16));
  TensorView padded = view;
  padded.strides = {8 * 66, 8 * 66, 66, 1};
  EXPECT_FALSE(rowsAligned(padded, 16));
  padded.strides = {8 * 68, 8 * 68, 68, 1};
  EXPECT_TRUE(rowsAligned(padded, 16));
}

} // namespace
