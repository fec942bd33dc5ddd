// Kernel entry points. Each SIMD level (isa_avx512.cc, isa_avx2.cc, isa_portable.cc) compiles the same
// sources (sgemm_impl.inc, kernels_impl.inc) into one Kernels table of serial, range-based kernels; the
// drivers in kernels.cc split the work into tasks for the thread pool and call the selected table.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ns {

using i64 = int64_t;

// C[m, n] (ldc) = beta·C + op(A)[m, k] @ op(B)[k, n] (+ bias[n] when beta == 0; bias may be null).
struct GemmArgs {
  bool ta, tb;
  i64 m, n, k;
  const float* a; i64 lda;
  const float* b; i64 ldb;
  int beta;
  float* c; i64 ldc;
  const float* bias;
};

// Cache-blocking parameters of the sgemm loop nest (elements): KC depth of a packed panel, MC rows of the
// packed A block (kept in L2), NC columns of the packed B panel.
struct GemmBlocking { i64 kc, mc, nc; };

struct Kernels {
  const char* simd;
  int mr, nr;                 // micro-tile of the sgemm micro-kernel
  GemmBlocking blocking;
  // Serial sgemm of the sub-rectangle C[i0:i1, j0:j1]. Returns false if scratch memory could not be allocated.
  bool (*gemm_rect)(const GemmArgs& g, const GemmBlocking& bl, i64 i0, i64 i1, i64 j0, i64 j1);

  // Row ranges [r0, r1) of [N, C] tensors.
  void (*layernorm_fwd)(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                        i64 r0, i64 r1, i64 C, float eps);
  // dx[r0:r1] += ...; dwp[C] / dbp[C] (nullable) receive (overwrite) this range's partial sums.
  void (*layernorm_bwd)(float* dx, float* dwp, float* dbp, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, i64 r0, i64 r1, i64 C);
  // Element ranges [i0, i1).
  void (*gelu_fwd)(float* out, const float* x, i64 i0, i64 i1);
  void (*gelu_bwd)(float* dx, const float* x, const float* dout, i64 i0, i64 i1);
  // One (b, h) pair of the fused causal attention.
  void (*attn_fwd)(float* out, float* att, const float* qkv, const uint8_t* mask, i64 b, i64 h, i64 T, i64 C, i64 H);
  void (*attn_bwd)(float* dqkv, const float* dout, const float* qkv, const float* att, i64 b, i64 h, i64 T, i64 C, i64 H);
  void (*ce_fwd)(float* losses, float* probs, const float* logits, const int32_t* targets, i64 r0, i64 r1, i64 V);
  void (*ce_bwd)(float* dlogits, const float* dlosses, const float* probs, const int32_t* targets, i64 r0, i64 r1, i64 V);
  // dbias[c0:c1] += Σ_rows dout[:, c0:c1], rows summed in order (dout: [N, O]).
  void (*colsum)(float* dbias, const float* dout, i64 N, i64 O, i64 c0, i64 c1);
  void (*add)(float* out, const float* a, const float* b, i64 i0, i64 i1);
  void (*axpy)(float* dst, double alpha, const float* src, i64 i0, i64 i1);
  void (*scale)(float* x, double s, i64 i0, i64 i1);
  double (*sumsq)(const float* x, i64 i0, i64 i1);
  void (*adamw)(float* p, const float* g, float* m, float* v, i64 i0, i64 i1, double lr, double beta1, double beta2,
                double eps, double wd, double bc1, double bc2);
};

const Kernels* kernels_portable();
#if defined(__x86_64__)
const Kernels* kernels_avx2();    // null if the CPU lacks AVX2/FMA
const Kernels* kernels_avx512();  // null if the CPU lacks AVX-512F/DQ
#endif

// The table in use: the best the CPU supports, or the one named by NULLSPACE_SIMD / set_simd.
const Kernels* active();
// Selects a SIMD level by name ("avx512", "avx2", "portable"); returns false if unavailable here.
bool set_simd(const char* name);

// Drivers (kernels.cc): validate nothing (the addon glue does), parallelise where it pays.
bool sgemm(const GemmArgs& g);
bool linear_forward(float* out, const float* x, const float* w, const float* bias, i64 N, i64 I, i64 O);
bool linear_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w,
                     i64 N, i64 I, i64 O);
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       i64 N, i64 C, float eps);
bool layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, i64 N, i64 C);
void gelu_forward(float* out, const float* x, i64 n);
void gelu_backward(float* dx, const float* x, const float* dout, i64 n);
void attention_forward(float* out, float* att, const float* qkv, const uint8_t* mask, i64 B, i64 T, i64 C, i64 H);
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, i64 B, i64 T, i64 C, i64 H);
void cross_entropy_forward(float* losses, float* probs, const float* logits, const int32_t* targets, i64 N, i64 V);
void cross_entropy_backward(float* dlogits, const float* dlosses, const float* probs, const int32_t* targets, i64 N, i64 V);
void add(float* out, const float* a, const float* b, i64 n);
void axpy(float* dst, double alpha, const float* src, i64 n);
void scale(float* x, double s, i64 n);
double sum_squares(const float* x, i64 n);
void adamw(float* p, const float* g, float* m, float* v, i64 n, double lr, double beta1, double beta2, double eps,
           double wd, i64 step);

}  // namespace ns
