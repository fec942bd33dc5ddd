// N-API glue: one exported function per Backend kernel (same names and argument order as
// src/engine/backend/types.ts); info(), setThreads(n) and setSimd(name) live in addon_control.cc.
//
// Every argument is checked before any kernel runs: wrong types throw TypeError, sizes that do not fit the
// arrays throw RangeError, so misuse from JS can never read or write out of bounds. The checks are O(1)
// except the target-id scan of the cross-entropy kernels (O(N), negligible next to the kernel).
#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "addon_control.h"
#include "kernels.h"
#include "napi_args.h"
#include "threadpool.h"

namespace {

using ns::i64;

using namespace napi_glue;

// ---------------------------------------------------------------------------------------------------------

napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info, 12, "sgemm");
  const bool ta = a.boolean(0, "transA"), tb = a.boolean(1, "transB");
  const i64 m = a.dim(2, "m"), n = a.dim(3, "n"), k = a.dim(4, "k");
  size_t la, lb, lc;
  const float* A = a.f32(5, "a", &la);
  const i64 lda = a.dim(6, "lda");
  const float* B = a.f32(7, "b", &lb);
  const i64 ldb = a.dim(8, "ldb");
  const double beta = a.number(9, "beta");
  float* C = a.f32(10, "c", &lc);
  const i64 ldc = a.dim(11, "ldc");
  if (a.failed()) return nullptr;
  a.check(beta == 0 || beta == 1, "beta must be 0 or 1");
  const i64 arows = ta ? k : m, acols = ta ? m : k, brows = tb ? n : k, bcols = tb ? k : n;
  a.check(lda >= acols && lda >= 1, ta ? "lda must be ≥ max(1, m) when transA" : "lda must be ≥ max(1, k)");
  a.check(ldb >= bcols && ldb >= 1, tb ? "ldb must be ≥ max(1, k) when transB" : "ldb must be ≥ max(1, n)");
  a.check(ldc >= n && ldc >= 1, "ldc must be ≥ max(1, n)");
  if (m > 0 && n > 0 && k > 0) {
    a.need("a", la, span(arows, acols, lda));
    a.need("b", lb, span(brows, bcols, ldb));
  }
  a.need("c", lc, span(m, n, ldc));
  if (a.failed()) return nullptr;
  return run(env, "sgemm", [&] {
    return ns::sgemm(ns::GemmArgs{ta, tb, m, n, k, A, lda, B, ldb, static_cast<int>(beta), C, ldc, nullptr});
  });
}

napi_value LinearForward(napi_env env, napi_callback_info info) {
  Args a(env, info, 7, "linearForward");
  size_t lo, lx, lw, lb;
  float* out = a.f32(0, "out", &lo);
  const float* x = a.f32(1, "x", &lx);
  const float* w = a.f32(2, "w", &lw);
  const float* bias = a.f32(3, "bias", &lb, true);
  const i64 N = a.dim(4, "N"), I = a.dim(5, "I"), O = a.dim(6, "O");
  a.need("out", lo, prod(N, O));
  a.need("x", lx, prod(N, I));
  a.need("w", lw, prod(O, I));
  if (bias) a.need("bias", lb, O);
  if (a.failed()) return nullptr;
  return run(env, "linearForward", [&] { return ns::linear_forward(out, x, w, bias, N, I, O); });
}

napi_value LinearBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 9, "linearBackward");
  size_t ldx, ldw, ldb, ldo, lx, lw;
  float* dx = a.f32(0, "dx", &ldx, true);
  float* dw = a.f32(1, "dw", &ldw, true);
  float* db = a.f32(2, "dbias", &ldb, true);
  const float* dout = a.f32(3, "dout", &ldo);
  const float* x = a.f32(4, "x", &lx);
  const float* w = a.f32(5, "w", &lw);
  const i64 N = a.dim(6, "N"), I = a.dim(7, "I"), O = a.dim(8, "O");
  a.need("dout", ldo, prod(N, O));
  if (dx) { a.need("dx", ldx, prod(N, I)); a.need("w", lw, prod(O, I)); }
  if (dw) { a.need("dw", ldw, prod(O, I)); a.need("x", lx, prod(N, I)); }
  if (db) a.need("dbias", ldb, O);
  if (a.failed()) return nullptr;
  return run(env, "linearBackward", [&] { return ns::linear_backward(dx, dw, db, dout, x, w, N, I, O); });
}

napi_value LayernormForward(napi_env env, napi_callback_info info) {
  Args a(env, info, 9, "layernormForward");
  size_t lo, lm, lr, lx, lw, lb;
  float* out = a.f32(0, "out", &lo);
  float* mean = a.f32(1, "mean", &lm);
  float* rstd = a.f32(2, "rstd", &lr);
  const float* x = a.f32(3, "x", &lx);
  const float* w = a.f32(4, "w", &lw);
  const float* b = a.f32(5, "b", &lb);
  const i64 N = a.dim(6, "N"), C = a.dim(7, "C");
  const double eps = a.number(8, "eps");
  a.need("out", lo, prod(N, C));
  a.need("x", lx, prod(N, C));
  a.need("mean", lm, N);
  a.need("rstd", lr, N);
  a.need("w", lw, C);
  a.need("b", lb, C);
  a.check(C > 0 || N == 0, "C must be ≥ 1");
  if (a.failed()) return nullptr;
  ns::layernorm_forward(out, mean, rstd, x, w, b, N, C, static_cast<float>(eps));
  return undefined(env);
}

napi_value LayernormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 10, "layernormBackward");
  size_t ldx, ldw, ldb, ldo, lx, lw, lm, lr;
  float* dx = a.f32(0, "dx", &ldx, true);
  float* dw = a.f32(1, "dw", &ldw, true);
  float* db = a.f32(2, "db", &ldb, true);
  const float* dout = a.f32(3, "dout", &ldo);
  const float* x = a.f32(4, "x", &lx);
  const float* w = a.f32(5, "w", &lw);
  const float* mean = a.f32(6, "mean", &lm);
  const float* rstd = a.f32(7, "rstd", &lr);
  const i64 N = a.dim(8, "N"), C = a.dim(9, "C");
  if (dx) a.need("dx", ldx, prod(N, C));
  if (dw) a.need("dw", ldw, C);
  if (db) a.need("db", ldb, C);
  a.need("dout", ldo, prod(N, C));
  a.need("x", lx, prod(N, C));
  a.need("w", lw, C);
  a.need("mean", lm, N);
  a.need("rstd", lr, N);
  if (a.failed()) return nullptr;
  return run(env, "layernormBackward", [&] { return ns::layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C); });
}

napi_value GeluForward(napi_env env, napi_callback_info info) {
  Args a(env, info, 3, "geluForward");
  size_t lo, lx;
  float* out = a.f32(0, "out", &lo);
  const float* x = a.f32(1, "x", &lx);
  const i64 n = a.dim(2, "n");
  a.need("out", lo, n);
  a.need("x", lx, n);
  if (a.failed()) return nullptr;
  ns::gelu_forward(out, x, n);
  return undefined(env);
}

napi_value GeluBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 4, "geluBackward");
  size_t ld, lx, lo;
  float* dx = a.f32(0, "dx", &ld);
  const float* x = a.f32(1, "x", &lx);
  const float* dout = a.f32(2, "dout", &lo);
  const i64 n = a.dim(3, "n");
  a.need("dx", ld, n);
  a.need("x", lx, n);
  a.need("dout", lo, n);
  if (a.failed()) return nullptr;
  ns::gelu_backward(dx, x, dout, n);
  return undefined(env);
}

// Shared checks of the attention shapes.
void check_heads(Args& a, i64 C, i64 H) {
  a.check(H >= 1, "H must be ≥ 1");
  if (H >= 1) a.check(C % H == 0, "C must be a multiple of H");
}

napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Args a(env, info, 8, "attentionForward");
  size_t lo, la, lq, lm;
  float* out = a.f32(0, "out", &lo);
  float* att = a.f32(1, "att", &la);
  const float* qkv = a.f32(2, "qkv", &lq);
  const uint8_t* mask = a.u8(3, "mask", &lm, true);
  const i64 B = a.dim(4, "B"), T = a.dim(5, "T"), C = a.dim(6, "C"), H = a.dim(7, "H");
  check_heads(a, C, H);
  a.need("out", lo, prod(B, T, C));
  a.need("att", la, prod(B, H, T, T));
  a.need("qkv", lq, prod(B, T, 3, C));
  if (mask) a.need("mask", lm, prod(B, T, T));
  if (a.failed()) return nullptr;
  if (C == 0) return undefined(env);
  ns::attention_forward(out, att, qkv, mask, B, T, C, H);
  return undefined(env);
}

napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 8, "attentionBackward");
  size_t ld, lo, lq, la;
  float* dqkv = a.f32(0, "dqkv", &ld);
  const float* dout = a.f32(1, "dout", &lo);
  const float* qkv = a.f32(2, "qkv", &lq);
  const float* att = a.f32(3, "att", &la);
  const i64 B = a.dim(4, "B"), T = a.dim(5, "T"), C = a.dim(6, "C"), H = a.dim(7, "H");
  check_heads(a, C, H);
  a.need("dqkv", ld, prod(B, T, 3, C));
  a.need("dout", lo, prod(B, T, C));
  a.need("qkv", lq, prod(B, T, 3, C));
  a.need("att", la, prod(B, H, T, T));
  if (a.failed()) return nullptr;
  if (C == 0) return undefined(env);
  ns::attention_backward(dqkv, dout, qkv, att, B, T, C, H);
  return undefined(env);
}

// Target ids must be < V (negative = ignored row); an id ≥ V would index past the row.
void check_targets(Args& a, const int32_t* targets, i64 N, i64 V) {
  if (a.failed()) return;
  for (i64 r = 0; r < N; r++)
    if (targets[r] >= V) {
      a.fail_range(("targets[" + std::to_string(r) + "] = " + std::to_string(targets[r]) + " is not < V = " + std::to_string(V)).c_str());
      return;
    }
}

napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  Args a(env, info, 6, "crossEntropyForward");
  size_t ll, lp, lg, lt;
  float* losses = a.f32(0, "losses", &ll);
  float* probs = a.f32(1, "probs", &lp);
  const float* logits = a.f32(2, "logits", &lg);
  const int32_t* targets = a.i32(3, "targets", &lt);
  const i64 N = a.dim(4, "N"), V = a.dim(5, "V");
  a.check(V >= 1 || N == 0, "V must be ≥ 1");
  a.need("losses", ll, N);
  a.need("probs", lp, prod(N, V));
  a.need("logits", lg, prod(N, V));
  a.need("targets", lt, N);
  check_targets(a, targets, N, V);
  if (a.failed()) return nullptr;
  ns::cross_entropy_forward(losses, probs, logits, targets, N, V);
  return undefined(env);
}

napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 6, "crossEntropyBackward");
  size_t ld, ll, lp, lt;
  float* dlogits = a.f32(0, "dlogits", &ld);
  const float* dlosses = a.f32(1, "dlosses", &ll);
  const float* probs = a.f32(2, "probs", &lp);
  const int32_t* targets = a.i32(3, "targets", &lt);
  const i64 N = a.dim(4, "N"), V = a.dim(5, "V");
  a.need("dlogits", ld, prod(N, V));
  a.need("dlosses", ll, N);
  a.need("probs", lp, prod(N, V));
  a.need("targets", lt, N);
  check_targets(a, targets, N, V);
  if (a.failed()) return nullptr;
  ns::cross_entropy_backward(dlogits, dlosses, probs, targets, N, V);
  return undefined(env);
}

napi_value Add(napi_env env, napi_callback_info info) {
  Args a(env, info, 4, "add");
  size_t lo, la, lb;
  float* out = a.f32(0, "out", &lo);
  const float* x = a.f32(1, "a", &la);
  const float* y = a.f32(2, "b", &lb);
  const i64 n = a.dim(3, "n");
  a.need("out", lo, n);
  a.need("a", la, n);
  a.need("b", lb, n);
  if (a.failed()) return nullptr;
  ns::add(out, x, y, n);
  return undefined(env);
}

napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a(env, info, 4, "axpy");
  size_t ld, ls;
  float* dst = a.f32(0, "dst", &ld);
  const double alpha = a.number(1, "alpha");
  const float* src = a.f32(2, "src", &ls);
  const i64 n = a.dim(3, "n");
  a.need("dst", ld, n);
  a.need("src", ls, n);
  if (a.failed()) return nullptr;
  ns::axpy(dst, alpha, src, n);
  return undefined(env);
}

napi_value Scale(napi_env env, napi_callback_info info) {
  Args a(env, info, 3, "scale");
  size_t lx;
  float* x = a.f32(0, "x", &lx);
  const double s = a.number(1, "s");
  const i64 n = a.dim(2, "n");
  a.need("x", lx, n);
  if (a.failed()) return nullptr;
  ns::scale(x, s, n);
  return undefined(env);
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info, 2, "sumSquares");
  size_t lx;
  const float* x = a.f32(0, "x", &lx);
  const i64 n = a.dim(1, "n");
  a.need("x", lx, n);
  if (a.failed()) return nullptr;
  double s = 0;
  try {
    s = ns::sum_squares(x, n);
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "sumSquares: out of memory");
    return nullptr;
  }
  napi_value r;
  napi_create_double(env, s, &r);
  return r;
}

napi_value Adamw(napi_env env, napi_callback_info info) {
  Args a(env, info, 11, "adamw");
  size_t lp, lg, lm, lv;
  float* p = a.f32(0, "p", &lp);
  const float* g = a.f32(1, "g", &lg);
  float* m = a.f32(2, "m", &lm);
  float* v = a.f32(3, "v", &lv);
  const i64 n = a.dim(4, "n");
  const double lr = a.number(5, "lr"), b1 = a.number(6, "beta1"), b2 = a.number(7, "beta2"), eps = a.number(8, "eps"),
               wd = a.number(9, "weightDecay");
  const i64 step = a.dim(10, "step");
  a.check(step >= 1, "step must be ≥ 1");
  a.need("p", lp, n);
  a.need("g", lg, n);
  a.need("m", lm, n);
  a.need("v", lv, n);
  if (a.failed()) return nullptr;
  ns::adamw(p, g, m, v, n, lr, b1, b2, eps, wd, step);
  return undefined(env);
}

napi_value Init(napi_env env, napi_value exports) {
  struct Fn { const char* name; napi_callback cb; };
  const Fn fns[] = {
      {"sgemm", Sgemm},
      {"linearForward", LinearForward},
      {"linearBackward", LinearBackward},
      {"layernormForward", LayernormForward},
      {"layernormBackward", LayernormBackward},
      {"geluForward", GeluForward},
      {"geluBackward", GeluBackward},
      {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward},
      {"crossEntropyForward", CrossEntropyForward},
      {"crossEntropyBackward", CrossEntropyBackward},
      {"add", Add},
      {"axpy", Axpy},
      {"scale", Scale},
      {"sumSquares", SumSquares},
      {"adamw", Adamw},
      {"info", Info},
      {"setThreads", SetThreads},
      {"setSimd", SetSimd},
  };
  for (const Fn& f : fns) {
    napi_value v;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v) != napi_ok) return nullptr;
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
