// SIMD-level selection and the parallel drivers: how each kernel is split into tasks, and when splitting
// is worth it at all. On this 2-core machine a pool hand-off costs ~1–3 µs, so a kernel is split only when
// each task gets well over that much work; small elementwise calls stay on the calling thread.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

namespace ns {
namespace {

const Kernels* best_available() {
#if defined(__x86_64__)
  if (const Kernels* k = kernels_avx512()) return k;
  if (const Kernels* k = kernels_avx2()) return k;
#endif
  return kernels_portable();
}

const Kernels* by_name(const char* name) {
  if (!name) return nullptr;
  if (std::strcmp(name, "portable") == 0) return kernels_portable();
#if defined(__x86_64__)
  if (std::strcmp(name, "avx2") == 0 || std::strcmp(name, "avx2-fma") == 0) return kernels_avx2();
  if (std::strcmp(name, "avx512") == 0) return kernels_avx512();
#endif
  return nullptr;
}

std::atomic<const Kernels*> g_active{nullptr};

// Work units: roughly "one FMA on one float". ~30k units is ~5–10 µs on one core, several times the cost of
// waking a worker, so a task smaller than that is not worth handing off.
constexpr double kTaskUnits = 32768.0;

// Number of tasks for `units` of work that can be split into at most `max_pieces` pieces: 1 (serial) when
// small; otherwise up to 4 tasks per thread, so that a worker descheduled by other processes on this
// shared machine costs little (the caller just claims more of the tasks).
int task_count(double units, i64 max_pieces) {
  const int T = pool_threads();
  if (T <= 1) return 1;
  const double by_work = units / kTaskUnits;
  i64 n = static_cast<i64>(std::min<double>(by_work, 4.0 * T));
  n = std::min<i64>(n, max_pieces);
  n = std::min<i64>(n, 0xffff);
  return n < 2 ? 1 : static_cast<int>(n);
}

// Runs body(begin, end) over [0, n) split into `tasks` nearly equal ranges whose boundaries are multiples of
// `align` (keeps vector loops on whole vectors; results do not depend on the split either way).
template <class F>
void split_range(i64 n, int tasks, i64 align, F&& body) {
  if (tasks <= 1) { body(i64{0}, n); return; }
  const i64 units = (n + align - 1) / align;
  auto task = [&](int t) {
    const i64 b = std::min(n, units * t / tasks * align), e = std::min(n, units * (t + 1) / tasks * align);
    if (e > b) body(b, e);
  };
  parallel_for(tasks, task);
}

}  // namespace

const Kernels* active() {
  const Kernels* k = g_active.load(std::memory_order_acquire);
  if (k) return k;
  k = by_name(std::getenv("NULLSPACE_SIMD"));
  if (!k) k = best_available();
  g_active.store(k, std::memory_order_release);
  return k;
}

bool set_simd(const char* name) {
  const Kernels* k = by_name(name);
  if (!k) return false;
  g_active.store(k, std::memory_order_release);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// sgemm: split C into a tm × tn grid of rectangles (whole micro-tiles), one task each. Every task packs its
// own panels, so there is no barrier; the duplicated packing is O(k·(m/tm + n/tn)) against O(m·n·k/T) of
// FMAs and the grid is chosen to keep it small.

bool sgemm(const GemmArgs& g) {
  const Kernels* K = active();
  if (g.m <= 0 || g.n <= 0) return true;
  const i64 MR = K->mr, NR = K->nr;
  const i64 um = (g.m + MR - 1) / MR, un = (g.n + NR - 1) / NR;
  const double macs = static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(std::max<i64>(g.k, 1));
  // At least ~2^17 FMAs per thread (~1 µs of AVX-512 work, ~10× the hand-off cost with spinning workers).
  const int T = std::max(1, std::min<int>(pool_threads(), static_cast<int>(std::min<double>(macs / 131072.0, 256.0))));
  // Up to 4 tasks per thread when each still gets ≥ 2^20 FMAs: on this shared machine a worker is often
  // descheduled for a while, and with a few tasks per thread the caller takes over its share instead of
  // waiting for it (one task per thread would leave the caller idle, up to 2× slower).
  int want = T;
  if (T > 1) want = std::max(T, std::min<int>(4 * T, static_cast<int>(std::min<double>(macs / 1048576.0, 1024.0))) / T * T);
  int best_tm = 1, best_tn = 1;
  double best_cost = 1e300;
  // Task counts tried: multiples of T (even shares) down to T, then fewer when the matrix has too few tiles.
  for (int nt = want; nt >= 1 && best_cost == 1e300; nt -= nt > T ? T : 1) {
    for (int tm = 1; tm <= nt; tm++) {
      if (nt % tm) continue;
      const int tn = nt / tm;
      if (tm > um || tn > un) continue;
      const double mp = static_cast<double>((um + tm - 1) / tm * MR), np = static_cast<double>((un + tn - 1) / tn * NR);
      // a rectangle's FMAs plus its packing (A once per rectangle, B once per rectangle)
      const double cost = mp * np * static_cast<double>(g.k) + 4.0 * (mp + np) * static_cast<double>(g.k);
      if (cost < best_cost) { best_cost = cost; best_tm = tm; best_tn = tn; }
    }
  }
  const int tm = best_tm, tn = best_tn, tasks = tm * tn;
  const GemmBlocking bl = K->blocking;
  if (tasks == 1) return K->gemm_rect(g, bl, 0, g.m, 0, g.n);
  std::atomic<bool> ok{true};
  auto task = [&](int t) {
    const i64 a = t / tn, b = t % tn;
    const i64 i0 = std::min(g.m, um * a / tm * MR), i1 = std::min(g.m, um * (a + 1) / tm * MR);
    const i64 j0 = std::min(g.n, un * b / tn * NR), j1 = std::min(g.n, un * (b + 1) / tn * NR);
    if (!K->gemm_rect(g, bl, i0, i1, j0, j1)) ok.store(false);
  };
  parallel_for(tasks, task);
  return ok.load();
}

bool linear_forward(float* out, const float* x, const float* w, const float* bias, i64 N, i64 I, i64 O) {
  // out[N, O] = x[N, I] @ w[O, I]ᵀ (+ bias, added where the first K block is stored)
  return sgemm(GemmArgs{false, true, N, O, I, x, I, w, I, 0, out, O, bias});
}

bool linear_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w,
                     i64 N, i64 I, i64 O) {
  bool ok = true;
  if (dx) ok = sgemm(GemmArgs{false, false, N, I, O, dout, O, w, I, 1, dx, I, nullptr}) && ok;  // [N,O]@[O,I]
  if (dw) ok = sgemm(GemmArgs{true, false, O, I, N, dout, O, x, I, 1, dw, I, nullptr}) && ok;   // [O,N]@[N,I]
  if (dbias) {
    // Column sums: split by column blocks (64 = 4 AVX-512 vectors), each column summed over rows in order.
    const Kernels* K = active();
    const int tasks = task_count(static_cast<double>(N) * static_cast<double>(O), (O + 63) / 64);
    split_range(O, tasks, 64, [&](i64 c0, i64 c1) { K->colsum(dbias, dout, N, O, c0, c1); });
  }
  return ok;
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, i64 N,
                       i64 C, float eps) {
  const Kernels* K = active();
  const int tasks = task_count(3.0 * static_cast<double>(N) * static_cast<double>(C), N);
  split_range(N, tasks, 1, [&](i64 r0, i64 r1) { K->layernorm_fwd(out, mean, rstd, x, w, b, r0, r1, C, eps); });
}

bool layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, i64 N, i64 C) {
  const Kernels* K = active();
  if (!dw && !db) {
    const int tasks = task_count(4.0 * static_cast<double>(N) * static_cast<double>(C), N);
    split_range(N, tasks, 1, [&](i64 r0, i64 r1) { K->layernorm_bwd(dx, nullptr, nullptr, dout, x, w, mean, rstd, r0, r1, C); });
    return true;
  }
  // dw/db are sums over rows: rows go in fixed chunks of 64 whatever the thread count, each chunk's partial
  // sums are kept apart and then added in chunk order, so the result does not depend on the threads.
  constexpr i64 kChunk = 64;
  const i64 nch = (N + kChunk - 1) / kChunk;
  std::vector<float> part(static_cast<size_t>(nch * 2 * C));
  auto chunks = [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; q++) {
      float* pw = part.data() + q * 2 * C;
      K->layernorm_bwd(dx, dw ? pw : nullptr, db ? pw + C : nullptr, dout, x, w, mean, rstd, q * kChunk,
                       std::min(N, (q + 1) * kChunk), C);
    }
  };
  split_range(nch, task_count(4.0 * static_cast<double>(N) * static_cast<double>(C), nch), 1, chunks);
  for (i64 q = 0; q < nch; q++) {
    const float* pw = part.data() + q * 2 * C;
    if (dw) for (i64 c = 0; c < C; c++) dw[c] += pw[c];
    if (db) for (i64 c = 0; c < C; c++) db[c] += pw[C + c];
  }
  return true;
}

void gelu_forward(float* out, const float* x, i64 n) {
  const Kernels* K = active();
  split_range(n, task_count(24.0 * static_cast<double>(n), (n + 63) / 64), 64, [&](i64 a, i64 b) { K->gelu_fwd(out, x, a, b); });
}

void gelu_backward(float* dx, const float* x, const float* dout, i64 n) {
  const Kernels* K = active();
  split_range(n, task_count(32.0 * static_cast<double>(n), (n + 63) / 64), 64, [&](i64 a, i64 b) { K->gelu_bwd(dx, x, dout, a, b); });
}

void attention_forward(float* out, float* att, const float* qkv, const uint8_t* mask, i64 B, i64 T, i64 C, i64 H) {
  const Kernels* K = active();
  const i64 BH = B * H;
  const double units = static_cast<double>(BH) * static_cast<double>(T) * static_cast<double>(T) * static_cast<double>(C / H + 8);
  split_range(BH, task_count(units, BH), 1, [&](i64 a, i64 e) {
    for (i64 p = a; p < e; p++) K->attn_fwd(out, att, qkv, mask, p / H, p % H, T, C, H);
  });
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, i64 B, i64 T, i64 C, i64 H) {
  const Kernels* K = active();
  const i64 BH = B * H;
  const double units = 2.0 * static_cast<double>(BH) * static_cast<double>(T) * static_cast<double>(T) * static_cast<double>(C / H + 8);
  split_range(BH, task_count(units, BH), 1, [&](i64 a, i64 e) {
    for (i64 p = a; p < e; p++) K->attn_bwd(dqkv, dout, qkv, att, p / H, p % H, T, C, H);
  });
}

void cross_entropy_forward(float* losses, float* probs, const float* logits, const int32_t* targets, i64 N, i64 V) {
  const Kernels* K = active();
  split_range(N, task_count(16.0 * static_cast<double>(N) * static_cast<double>(V), N), 1,
              [&](i64 a, i64 b) { K->ce_fwd(losses, probs, logits, targets, a, b, V); });
}

void cross_entropy_backward(float* dlogits, const float* dlosses, const float* probs, const int32_t* targets, i64 N, i64 V) {
  const Kernels* K = active();
  split_range(N, task_count(static_cast<double>(N) * static_cast<double>(V), N), 1,
              [&](i64 a, i64 b) { K->ce_bwd(dlogits, dlosses, probs, targets, a, b, V); });
}

// Memory-bound elementwise kernels: only arrays well beyond L2 are split.
void add(float* out, const float* a, const float* b, i64 n) {
  const Kernels* K = active();
  split_range(n, task_count(0.25 * static_cast<double>(n), (n + 63) / 64), 64, [&](i64 s, i64 e) { K->add(out, a, b, s, e); });
}

void axpy(float* dst, double alpha, const float* src, i64 n) {
  const Kernels* K = active();
  split_range(n, task_count(0.25 * static_cast<double>(n), (n + 63) / 64), 64, [&](i64 s, i64 e) { K->axpy(dst, alpha, src, s, e); });
}

void scale(float* x, double s, i64 n) {
  const Kernels* K = active();
  split_range(n, task_count(0.25 * static_cast<double>(n), (n + 63) / 64), 64, [&](i64 a, i64 e) { K->scale(x, s, a, e); });
}

double sum_squares(const float* x, i64 n) {
  // Fixed chunks of 64k elements, partial sums added in order: independent of the thread count.
  const Kernels* K = active();
  constexpr i64 kChunk = 65536;
  const i64 nch = (n + kChunk - 1) / kChunk;
  if (nch <= 1) return K->sumsq(x, 0, n);
  std::vector<double> part(static_cast<size_t>(nch));
  split_range(nch, task_count(0.25 * static_cast<double>(n), nch), 1, [&](i64 a, i64 e) {
    for (i64 q = a; q < e; q++) part[q] = K->sumsq(x, q * kChunk, std::min(n, (q + 1) * kChunk));
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

void adamw(float* p, const float* g, float* m, float* v, i64 n, double lr, double beta1, double beta2, double eps,
           double wd, i64 step) {
  const Kernels* K = active();
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step)), bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  split_range(n, task_count(4.0 * static_cast<double>(n), (n + 63) / 64), 64,
              [&](i64 a, i64 e) { K->adamw(p, g, m, v, a, e, lr, beta1, beta2, eps, wd, bc1, bc2); });
}

}  // namespace ns
