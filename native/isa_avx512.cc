// AVX-512 instantiation of the kernels. Only the functions below carry the AVX-512 target attribute; the
// rest of the addon is built for the baseline ISA, and this table is used only if the CPU reports AVX-512.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace ns {
namespace avx512 {
#define NS_TARGET __attribute__((target("avx512f,avx512dq,avx2,fma")))
#include "simd_avx512.inc"
// 8×32 micro-tile: 16 zmm accumulators + 2 for B. Measured against 12×32, 6×64 and 8×48 on this Zen 5 CPU
// (full-width 512-bit FMA): 8×32 was fastest or tied on every shape, ~235–250 GFLOP/s on one core.
constexpr int MR = 8, NV = 2;
constexpr const char* kSimdName = "avx512";
// KC 384, MC 192: a kc×NR B micro-panel is 48 KB (the L1 size) and the A block 288 KB (L2: 1 MB). A sweep of
// KC 192–512 × MC 96–384 was flat within noise (~245–255 GFLOP/s single-threaded); this pair was among the best.
constexpr GemmBlocking kBlocking = {384, 192, 4096};
#include "sgemm_impl.inc"
#include "kernels_impl.inc"
#undef NS_TARGET
}  // namespace avx512

const Kernels* kernels_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? &avx512::kTable : nullptr;
}
}  // namespace ns
#endif
