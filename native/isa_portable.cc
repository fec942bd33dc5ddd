// Portable instantiation of the kernels: plain C++ with one-float "vectors", for any CPU.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"

namespace ns {
namespace portable {
#define NS_TARGET
#include "simd_portable.inc"
// 4×4 register tile of scalars: small enough for any register file, large enough to reuse loads.
constexpr int MR = 4, NV = 4;
constexpr const char* kSimdName = "portable";
constexpr GemmBlocking kBlocking = {256, 64, 2048};
#include "sgemm_impl.inc"
#include "kernels_impl.inc"
#undef NS_TARGET
}  // namespace portable

const Kernels* kernels_portable() { return &portable::kTable; }
}  // namespace ns
