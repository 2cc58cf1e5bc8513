// Probe: which wgmma shared-memory descriptors give Q·Kᵀ (K-major B) and
// P·V (MN-major B, transposed) with 128-byte-swizzled tiles, A from
// registers in the mma.sync m16n8k16 A-fragment layout. Prints, per
// variant, the max error against the CPU; the lowering in
// codegen/TileToWgmma uses the variant that gives 0.
// Build: nvcc -gencode arch=compute_90a,code=sm_90a -O2 wgmma_descriptors.cu
#include <cuda_bf16.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>

constexpr int kRows = 64, kKeys = 64;

__device__ uint64_t descriptor(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  uint64_t d = 0;
  d |= (uint64_t)((addr & 0x3FFFF) >> 4);
  d |= (uint64_t)((lbo & 0x3FFFF) >> 4) << 16;
  d |= (uint64_t)((sbo & 0x3FFFF) >> 4) << 32;
  d |= (uint64_t)1 << 62; // 128-byte swizzle
  return d;
}

// Byte offset of element (row, col) of a [rows][D] bf16 tile stored as D/64
// panels of rows x 128 bytes, 16-byte units XOR-swizzled by row % 8.
__device__ __host__ uint32_t swizzled(int row, int col, int rows) {
  int panel = col / 64, within = col % 64;
  int unit = within / 8, e = within % 8;
  return panel * rows * 128 + row * 128 + ((unit ^ (row % 8)) * 16) + e * 2;
}

template <int N> struct Acc { float r[N / 2]; };

#define WG_FENCE() asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory")
#define WG_COMMIT() asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory")
#define WG_WAIT() asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory")

// acc += a * B for one k16 step; TransB: B is MN-major (transposed).
template <int TransB>
__device__ void mma64(float (&d)[32], const uint32_t (&a)[4], uint64_t desc) {
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,"
      "%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, 1, 1, 1, %37;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
        "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
        "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]),
        "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]),
        "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(TransB));
}
__device__ uint32_t pack(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return (uint32_t)__bfloat16_as_ushort(lo) |
         ((uint32_t)__bfloat16_as_ushort(hi) << 16);
}

// mode 0: S = A·Bᵀ with B [kKeys][D] K-major (D = 128: 2 panels).
// mode 1: O = A·B with B [kKeys][D] MN-major, N = 64 columns of D per
//         product (D/64 products), lbo/sbo as given.
// A: [64][K] row-major bf16 in global, K = D (mode 0) or kKeys (mode 1).
template <int D>
__global__ void probe(const __nv_bfloat16 *A, const __nv_bfloat16 *B,
                      float *out, int mode, uint32_t lbo, uint32_t sbo) {
  __shared__ __align__(1024) unsigned char tile[kKeys * D * 2];
  int tid = threadIdx.x;
  for (int i = tid; i < kKeys * D; i += 128) {
    int r = i / D, c = i % D;
    *(__nv_bfloat16 *)(tile + swizzled(r, c, kKeys)) = B[i];
  }
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();
  int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  int row0 = warp * 16 + g;
  uint32_t base = (uint32_t)__cvta_generic_to_shared(tile);
  int K = mode == 0 ? D : kKeys;
  auto a = [&](int r, int c) { return A[r * K + c]; };
  if (mode == 0) {
    float d[32] = {};
    WG_FENCE();
    for (int ks = 0; ks < D / 16; ++ks) {
      int c = ks * 16 + 2 * t;
      uint32_t f[4] = {pack(a(row0, c), a(row0, c + 1)),
                       pack(a(row0 + 8, c), a(row0 + 8, c + 1)),
                       pack(a(row0, c + 8), a(row0, c + 9)),
                       pack(a(row0 + 8, c + 8), a(row0 + 8, c + 9))};
      uint32_t addr = base + (ks / 4) * kKeys * 128 + (ks % 4) * 32;
      mma64<0>(d, f, descriptor(addr, lbo, sbo));
    }
    WG_COMMIT();
    WG_WAIT();
    for (int j = 0; j < 8; ++j)
      for (int e = 0; e < 4; ++e) {
        int r = row0 + (e / 2) * 8, col = 8 * j + 2 * t + e % 2;
        out[r * kKeys + col] = d[4 * j + e];
      }
  } else {
    for (int np = 0; np < D / 64; ++np) {
      float d[32] = {};
      WG_FENCE();
      for (int ks = 0; ks < kKeys / 16; ++ks) {
        int c = ks * 16 + 2 * t;
        uint32_t f[4] = {pack(a(row0, c), a(row0, c + 1)),
                         pack(a(row0 + 8, c), a(row0 + 8, c + 1)),
                         pack(a(row0, c + 8), a(row0, c + 9)),
                         pack(a(row0 + 8, c + 8), a(row0 + 8, c + 9))};
        uint32_t addr = base + np * kKeys * 128 + ks * 16 * 128;
        mma64<1>(d, f, descriptor(addr, lbo, sbo));
      }
      WG_COMMIT();
      WG_WAIT();
      for (int j = 0; j < 8; ++j)
        for (int e = 0; e < 4; ++e) {
          int r = row0 + (e / 2) * 8, col = np * 64 + 8 * j + 2 * t + e % 2;
          out[r * D + col] = d[4 * j + e];
        }
    }
  }
}

template <int D> int run() {
  int bad = 0;
  for (int mode = 0; mode < 2; ++mode) {
    int K = mode == 0 ? D : kKeys, N = mode == 0 ? kKeys : D;
    std::vector<__nv_bfloat16> a(kRows * K), b(kKeys * D);
    std::vector<float> af(a.size()), bf(b.size());
    srand(7 + mode);
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = __float2bfloat16((rand() % 17 - 8) / 8.0f);
      af[i] = __bfloat162float(a[i]);
    }
    for (size_t i = 0; i < b.size(); ++i) {
      b[i] = __float2bfloat16((rand() % 17 - 8) / 8.0f);
      bf[i] = __bfloat162float(b[i]);
    }
    std::vector<float> want(kRows * N);
    for (int r = 0; r < kRows; ++r)
      for (int n = 0; n < N; ++n) {
        double s = 0;
        for (int k = 0; k < K; ++k)
          s += af[r * K + k] * (mode == 0 ? bf[n * D + k] : bf[k * D + n]);
        want[r * N + n] = (float)s;
      }
    __nv_bfloat16 *dA, *dB;
    float *dO;
    cudaMalloc(&dA, a.size() * 2);
    cudaMalloc(&dB, b.size() * 2);
    cudaMalloc(&dO, want.size() * 4);
    cudaMemcpy(dA, a.data(), a.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(dB, b.data(), b.size() * 2, cudaMemcpyHostToDevice);
    struct { uint32_t lbo, sbo; } variants[] = {
        {16, 1024}, {kKeys * 128, 1024}, {1024, kKeys * 128}, {1024, 1024}};
    for (auto v : variants) {
      cudaMemset(dO, 0, want.size() * 4);
      probe<D><<<1, 128>>>(dA, dB, dO, mode, v.lbo, v.sbo);
      cudaError_t err = cudaDeviceSynchronize();
      std::vector<float> got(want.size());
      cudaMemcpy(got.data(), dO, got.size() * 4, cudaMemcpyDeviceToHost);
      double maxErr = 0;
      for (size_t i = 0; i < got.size(); ++i)
        maxErr = fmax(maxErr, fabs(got[i] - want[i]));
      printf("D=%d %s lbo=%u sbo=%u: %s max error %g\n", D,
             mode == 0 ? "QK^T K-major" : "PV MN-major trans", v.lbo, v.sbo,
             err == cudaSuccess ? "ok" : cudaGetErrorString(err), maxErr);
      if (err != cudaSuccess)
        return 1;
    }
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dO);
  }
  return bad;
}

int main() { return run<64>() | run<128>(); }
