/*===- sattn_c.h - C API over the sattn JIT (for ctypes, FFI) ------------===*\
|*                                                                            *|
|* A C layer over sattn/Compiler.h so that Python (ctypes) and other          *|
|* languages can load a pattern, compile it and run it on their own buffers,  *|
|* and ask the reference oracle for the same result, the token mask or a      *|
|* picture. Everything lives in libsattn.so, the library C++ users link too.  *|
|*                                                                            *|
|* Errors: every function that can fail returns a status (SATTN_OK is 0) or  *|
|* NULL, and leaves a message for sattn_last_error() on the calling thread.   *|
|*                                                                            *|
|* Handles: patterns and kernels are opaque handles checked on every call: a  *|
|* released, never-created or wrong-kind handle gives SATTN_INVALID_HANDLE,   *|
|* never a crash. A handle's value is never reused. Thread-safe like the C++  *|
|* API: any function may be called from many threads at once, and releasing   *|
|* a kernel while another thread runs it lets that run finish.               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SATTN_C_H
#define SATTN_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C API this header describes; sattn_c_api_version() says which one the
 * loaded library implements. Version 2 replaced sattn_compile/sattn_run;
 * version 3 added the packed-sequence calls (sattn_kernel_run_packed),
 * version 4 the run-time integer inputs (sattn_kernel_run_with_inputs). */
#define SATTN_C_API_VERSION 4

typedef enum sattn_status {
  SATTN_OK = 0,
  /* Anything else: a pattern that does not load, a compile or driver
   * failure, a failed allocation. */
  SATTN_ERROR = 1,
  /* A bad argument: a NULL that must not be, a shape, dtype, stride, size,
   * option or parameter value the call cannot take. */
  SATTN_INVALID_ARGUMENT = 2,
  /* A handle that is not a live handle of the expected kind. */
  SATTN_INVALID_HANDLE = 3
} sattn_status;

/* "MAJOR.MINOR.PATCH" of the library. */
const char *sattn_version(void);
/* SATTN_C_API_VERSION of the library. */
int sattn_c_api_version(void);

/* The message of the last call on this thread that failed; "" when the last
 * call that can fail succeeded. Valid until the next sattn call on the
 * thread. */
const char *sattn_last_error(void);

/* The status of the last call on this thread (SATTN_OK after a success). */
sattn_status sattn_last_status(void);

/* The disk cache folder kernels are kept in ($SATTN_CACHE_DIR, else
 * $XDG_CACHE_HOME/sattn, else $HOME/.cache/sattn; docs/cache.md), or NULL
 * when SATTN_CACHE_DIR is "off". Valid until the next call on the thread. */
const char *sattn_cache_dir(void);

/*===-- Tensors -----------------------------------------------------------===*/

/* A strided view of caller memory: `rank` (at most 4) sizes and strides, in
 * elements. The element type is the kernel's dtype for q, k, v and out and
 * float32 for lse, key scores and weights. Pointers are host memory for the
 * "cpu" backend and the reference, device memory for "cuda". */
typedef struct sattn_tensor {
  void *data;
  int64_t rank;
  int64_t sizes[4];
  int64_t strides[4];
} sattn_tensor;

/*===-- Patterns ----------------------------------------------------------===*/

typedef struct sattn_pattern sattn_pattern;

/* Loads the pattern `pattern_name` (NULL: the only one) of a .sattn or .mlir
 * file, and binds and checks it with its default parameters. */
sattn_pattern *sattn_pattern_from_file(const char *path,
                                       const char *pattern_name);

/* The same from source text in `language`: "sattn" (the DSL, docs/dsl.md;
 * NULL means this) or "mlir". */
sattn_pattern *sattn_pattern_from_source(const char *text, const char *language,
                                         const char *pattern_name);

/* A new pattern: `pattern` with parameter overrides "name=value[,...]"
 * added after its own (a later value of a name wins), bound and checked. */
sattn_pattern *sattn_pattern_bind(const sattn_pattern *pattern,
                                  const char *overrides);

/* What a bound pattern is. Strings live as long as the handle. */
typedef struct sattn_pattern_info {
  const char *name;
  /* Its overrides so far, "name=value,..." ("" when none). */
  const char *overrides;
  /* Block size in tokens. */
  int64_t block;
  /* Whether its selections read these run-time inputs. */
  int reads_q;
  int reads_k;
  int reads_key_scores; /* [B, Hkv, Sk] */
  int reads_weights;    /* [Hkv, D] */
} sattn_pattern_info;

sattn_status sattn_pattern_get_info(const sattn_pattern *pattern,
                                    sattn_pattern_info *info);

/* Sizes of an attention call. */
typedef struct sattn_shape {
  int64_t batch;
  int64_t heads;    /* Hq */
  int64_t kv_heads; /* Hkv, divides heads */
  int64_t seq_q;
  int64_t seq_k;
  int64_t head_dim;
} sattn_shape;

/* Run-time inputs of the oracle: contiguous float32 host arrays q
 * [B, Hq, Sq, D], k [B, Hkv, Sk, D], key scores [B, Hkv, Sk], weights
 * [Hkv, D]; NULL where the pattern does not read them. */
typedef struct sattn_inputs {
  const float *q;
  const float *k;
  const float *key_scores;
  const float *weights;
} sattn_inputs;

/* The exact token mask of the pattern (docs/patterns.md) into `mask`, uint8
 * [B, Hq, Sq, Sk] C order, 1 where query i attends key j. `mask_bytes` must
 * be B * Hq * Sq * Sk. `inputs` may be NULL for a static pattern. */
sattn_status sattn_pattern_mask(const sattn_pattern *pattern,
                                const sattn_shape *shape,
                                const sattn_inputs *inputs, uint8_t *mask,
                                size_t mask_bytes);

/* A picture of the key blocks (batch, head) attends to: PNG, or SVG when
 * `path` ends in ".svg". Long sequences are drawn in merged cells. */
sattn_status sattn_pattern_picture(const sattn_pattern *pattern,
                                   const sattn_shape *shape,
                                   const sattn_inputs *inputs, int64_t batch,
                                   int64_t head, const char *path);

sattn_status sattn_pattern_release(sattn_pattern *pattern);

/*===-- Kernels -----------------------------------------------------------===*/

typedef struct sattn_kernel sattn_kernel;

/* What a kernel is specialised for. */
typedef struct sattn_config {
  int64_t heads;       /* Hq */
  int64_t kv_heads;    /* Hkv, divides heads */
  int64_t head_dim;    /* 32, 64, 80, 96, 128, 192 or 256 (CUDA: 32, 64,
                          128) for compiled kernels */
  const char *dtype;   /* of q, k, v, out: "f32", "f16" or "bf16" */
  double scale;        /* softmax scale; 0: 1 / sqrt(head_dim) */
  const char *backend; /* "cpu" or "cuda" (ignored by the reference) */
  const char *arch;    /* CUDA: NULL (the device's), "sm_80" or "sm_90a" */
  int64_t cpu_threads; /* CPU: threads of a run; 0: the hardware's */
} sattn_config;

/* Compiles `pattern` for `config` through the kernel cache (memory, then
 * disk, then the code generator). Sequence lengths and batch are run-time
 * values: one kernel serves them all. */
sattn_kernel *sattn_kernel_compile(const sattn_pattern *pattern,
                                   const sattn_config *config);

typedef struct sattn_kernel_info {
  /* How its sattn_kernel_compile was served: 0 built, 1 memory cache, 2 disk
   * cache; and the call's wall time. */
  int origin;
  double compile_ms;
  /* The cache key digest. Lives as long as the handle. */
  const char *digest;
} sattn_kernel_info;

sattn_status sattn_kernel_get_info(const sattn_kernel *kernel,
                                   sattn_kernel_info *info);

/* Workspace bytes a run with these sizes needs (room for an lse that is not
 * asked for included), into `bytes`. */
sattn_status sattn_kernel_workspace_bytes(const sattn_kernel *kernel,
                                          int64_t batch, int64_t seq_q,
                                          int64_t seq_k, size_t *bytes);

/* One attention call: q [B, Hq, Sq, D], k and v [B, Hkv, Sk, D], out like q;
 * the rest may be NULL. */
typedef struct sattn_run_args {
  const sattn_tensor *q;
  const sattn_tensor *k;
  const sattn_tensor *v;
  const sattn_tensor *out;
  /* [B, Hq, Sq] float32, natural log; NULL: not wanted. */
  const sattn_tensor *lse;
  /* When the pattern reads them (sattn_pattern_info). */
  const sattn_tensor *key_scores;
  const sattn_tensor *weights;
  /* Scratch memory of at least sattn_kernel_workspace_bytes (host for the
   * CPU, device for CUDA), used only by this call until it completes on its
   * stream. NULL: the kernel's own (on CUDA one buffer shared by all calls
   * of the kernel, so pass one when several streams run it). */
  void *workspace;
  size_t workspace_bytes;
  /* CUDA: the CUstream to queue on; NULL: the default stream. */
  void *stream;
  /* When not NULL, the call waits for the kernels and reports the times of
   * the selection stages and of attention, in milliseconds. */
  double *selection_ms;
  double *attention_ms;
} sattn_run_args;

/* Runs attention. Every tensor is checked first (rank, shape, dtype,
 * strides, alignment; out and lse must not overlap any other tensor), so a
 * bad call fails before any kernel is queued. On CUDA the call returns once
 * the work is queued, unless times are asked for. */
sattn_status sattn_kernel_run(sattn_kernel *kernel, const sattn_run_args *args);

/* Packed sequences (FlashAttention's varlen convention, docs/patterns.md):
 * n sequences along the S dimension of a batch of 1, sequence s holding
 * query rows [cu_seqlens_q[s], cu_seqlens_q[s + 1]) and keys
 * [cu_seqlens_k[s], cu_seqlens_k[s + 1]), each an attention problem of its
 * own with local indices. `entries` is n + 1; the offsets are host memory,
 * start at 0, do not decrease and end at Sq and Sk. */
typedef struct sattn_packed_sequences {
  const int32_t *cu_seqlens_q;
  const int32_t *cu_seqlens_k;
  int64_t entries;
} sattn_packed_sequences;

/* sattn_kernel_run over packed sequences (NULL `packed`: as
 * sattn_kernel_run). CPU backend for now: a CUDA kernel refuses them. A
 * workspace must hold the largest sequence's
 * (sattn_kernel_workspace_bytes(kernel, 1, max Sq_s, max Sk_s)). */
sattn_status sattn_kernel_run_packed(sattn_kernel *kernel,
                                     const sattn_run_args *args,
                                     const sattn_packed_sequences *packed);

/* A run-time integer input that the pattern declares (`input NAME: i32[..]`,
 * docs/patterns.md): int32, contiguous in C order, of its declared shape
 * (e.g. [B, Sk] for i32[b, s]); host memory for the CPU, device memory for
 * CUDA. The call checks the name, the sizes, and that every read of the
 * pattern stays inside them. */
typedef struct sattn_int_input {
  const char *name;
  const int32_t *data;
  const int64_t *sizes;
  int64_t rank;
} sattn_int_input;

/* sattn_kernel_run with the pattern's run-time integer inputs (`count`
 * entries, each named once; all of the pattern's are needed). */
sattn_status sattn_kernel_run_with_inputs(sattn_kernel *kernel,
                                          const sattn_run_args *args,
                                          const sattn_int_input *inputs,
                                          int64_t count);

sattn_status sattn_kernel_release(sattn_kernel *kernel);

/*===-- The reference oracle ----------------------------------------------===*/

/* Computes the same call as a kernel would, in float64, on host memory: q,
 * k, v and out in config->dtype, any head dim. The check every kernel is
 * held to (docs/patterns.md). `workspace` and `stream` must be NULL; times
 * are the oracle's wall time (selection 0). */
sattn_status sattn_reference_run(const sattn_pattern *pattern,
                                 const sattn_config *config,
                                 const sattn_run_args *args);

/* sattn_reference_run with run-time integer inputs (host memory; see
 * sattn_kernel_run_with_inputs). */
sattn_status sattn_reference_run_with_inputs(const sattn_pattern *pattern,
                                             const sattn_config *config,
                                             const sattn_run_args *args,
                                             const sattn_int_input *inputs,
                                             int64_t count);

/* sattn_reference_run over packed sequences (see sattn_kernel_run_packed). */
sattn_status sattn_reference_run_packed(const sattn_pattern *pattern,
                                        const sattn_config *config,
                                        const sattn_run_args *args,
                                        const sattn_packed_sequences *packed);

#ifdef __cplusplus
}
#endif

#endif /* SATTN_C_H */
