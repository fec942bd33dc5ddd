// AVX2 + FMA instantiation of the kernels (function-level target attribute; used if the CPU has both).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace ns {
namespace avx2 {
#define NS_TARGET __attribute__((target("avx2,fma")))
#include "simd_avx2.inc"
// Classic 6×16 micro-tile: 12 ymm accumulators + 2 for B + 1 broadcast of the 16 registers.
constexpr int MR = 6, NV = 2;
constexpr const char* kSimdName = "avx2-fma";
// KC 256: the kc×16 B micro-panel is 16 KB (L1); MC 96 keeps the A block at 96 KB (L2).
constexpr GemmBlocking kBlocking = {256, 96, 4096};
#include "sgemm_impl.inc"
#include "kernels_impl.inc"
#undef NS_TARGET
}  // namespace avx2

const Kernels* kernels_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &avx2::kTable : nullptr;
}
}  // namespace ns
#endif
