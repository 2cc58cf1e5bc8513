/*===- sattn_c.h - C API over the sattn JIT (for ctypes, FFI) ------------===*\
|*                                                                            *|
|* A thin C layer over sattn/Compiler.h so that Python (ctypes) and other     *|
|* languages can compile a pattern and run it on their own buffers. Every     *|
|* function reports failure by its return value and writes a message into   *|
|* the caller's `error` buffer (may be NULL). Thread-safe like the C++ API.   *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef SATTN_C_H
#define SATTN_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sattn_kernel sattn_kernel;

/* A strided tensor: `rank` sizes and strides (in elements). The element type
 * is the kernel's dtype for q, k, v, out and float32 for lse, key scores and
 * weights. Pointers are host memory for the "cpu" backend, device memory for
 * "cuda". */
typedef struct sattn_tensor {
  void *data;
  int64_t rank;
  int64_t sizes[4];
  int64_t strides[4];
} sattn_tensor;

/* Compiles `pattern_path` (.sattn or .mlir). `pattern_name` may be NULL (the
 * file's only pattern); `overrides` is NULL or "name=value,name=value".
 * dtype: "f32" | "f16" | "bf16"; backend: "cpu" | "cuda"; arch: NULL or
 * "sm_80" | "sm_90a". Returns NULL on error. */
sattn_kernel *sattn_compile(const char *pattern_path, const char *pattern_name,
                            const char *overrides, int64_t heads,
                            int64_t kv_heads, int64_t head_dim,
                            const char *dtype, const char *backend,
                            const char *arch, char *error, size_t error_size);

/* How the last sattn_compile for this kernel was served: 0 built, 1 memory
 * cache, 2 disk cache; and its wall time in milliseconds. */
int sattn_compile_origin(const sattn_kernel *kernel);
double sattn_compile_ms(const sattn_kernel *kernel);

/* Runs attention: q [B,Hq,Sq,D], k/v [B,Hkv,Sk,D], out like q, lse
 * [B,Hq,Sq] (float32); key_scores [B,Hkv,Sk] and weights [Hkv,D] may be NULL
 * when the pattern does not read them. `stream` is a CUstream or NULL.
 * Returns 0 on success. When `selection_ms`/`attention_ms` are not NULL the
 * call waits and reports the two phases' times. */
int sattn_run(sattn_kernel *kernel, const sattn_tensor *q,
              const sattn_tensor *k, const sattn_tensor *v,
              const sattn_tensor *out, const sattn_tensor *lse,
              const sattn_tensor *key_scores, const sattn_tensor *weights,
              void *stream, double *selection_ms, double *attention_ms,
              char *error, size_t error_size);

void sattn_release(sattn_kernel *kernel);

#ifdef __cplusplus
}
#endif

#endif /* SATTN_C_H */
