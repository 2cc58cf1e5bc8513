//===- Schedule.h - How a kernel request is computed, tile by tile -*- C++
//-*-===//
//
// The block schedule of a request (#sattn.schedule): which query tiles exist,
// in which order the primitives' key sources visit keys for a tile (static
// primitives in closed form, then the dynamic one through workspace lists)
// and which selection stages run before attention to fill those lists. It
// is built from the primitives' interfaces; the kernel record the runtime
// launches from is derived from it.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_SCHEDULE_H
#define SATTN_PASSES_SCHEDULE_H

#include "passes/KernelRequest.h"

#include "sattn/KernelInfo.h"
#include "sattn/SizeExpr.h"

namespace mlir::sattn {

/// Chooses tiles, sources and stages for a request. Errors, at the request,
/// say which combination of primitives is not supported yet.
FailureOr<ScheduleAttr> buildSchedule(const KernelRequest &request);

/// Query blocks of `block` rows of a call: blocks of positions p(i)
/// (absolute) or of row indices i (local).
::sattn::SizeExpr numQueryBlocks(int64_t block, BlockOrigin origin);

/// Work items of the attention function: (batch, query head, query tile).
::sattn::SizeExpr attentionItems(const KernelRequest &request);
/// Work items of a selection stage.
::sattn::SizeExpr stageItems(const KernelRequest &request, StageAttr stage);

/// How the attention function computes a tile, per target and dtype.
struct AttentionKernelPlan {
  /// GPU only: warp-level tensor-core products (mma.sync; bf16/f16 operands,
  /// or f32 as three tf32 products), 16 query rows per warp, the online
  /// softmax state in registers. Otherwise one thread (CPU: one loop
  /// iteration) per query row.
  bool tensorCores = false;
  /// With tensorCores, when the target has them (sm_90a): the products as
  /// warpgroup MMAs of 64 rows (bf16/f16, head dim 64 or 128). The threads
  /// and chunk stay those of the warp tile, so the kernel record does not
  /// depend on it.
  bool warpgroupMma = false;
  /// Threads of a GPU block; the CPU's rows per work item.
  int64_t threads = 64;
  /// Keys staged per chunk.
  int64_t chunkKeys = 32;
};
/// `warpgroupMma`: the target has wgmma (sm_90a).
AttentionKernelPlan planAttentionKernel(const KernelRequest &request,
                                        bool warpgroupMma = false);

/// The launch record of a scheduled request: functions, work items,
/// threads, workspace and inputs. The code generator adds the target and
/// the entry points.
FailureOr<::sattn::KernelInfo> describeKernel(const KernelRequest &request);

} // namespace mlir::sattn

#endif // SATTN_PASSES_SCHEDULE_H
