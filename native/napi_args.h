// Argument reading and checking for the N-API glue (addon.cc): typed-array views, dimensions and flags,
// with the first error remembered and thrown once, so a misused kernel never touches memory.
#pragma once
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <cmath>
#include <new>
#include <string>

#include "kernels.h"

namespace napi_glue {

using ns::i64;

// Reads the arguments of one call, remembering the first error (thrown once, by fail()).
class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t expected, const char* fn) : env_(env), fn_(fn) {
    size_t argc = kMax;
    if (napi_get_cb_info(env, info, &argc, argv_, nullptr, nullptr) != napi_ok) { fail_type("bad call"); return; }
    if (argc < expected) {
      fail_type(("expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc)).c_str());
    }
  }
  bool failed() const { return failed_; }

  // A Float32Array (or null when nullable). `len` receives its element count.
  float* f32(size_t i, const char* name, size_t* len, bool nullable = false) {
    return static_cast<float*>(typed(i, name, napi_float32_array, napi_float32_array, "Float32Array", len, nullable));
  }
  int32_t* i32(size_t i, const char* name, size_t* len) {
    return static_cast<int32_t*>(typed(i, name, napi_int32_array, napi_int32_array, "Int32Array", len, false));
  }
  uint8_t* u8(size_t i, const char* name, size_t* len, bool nullable) {
    return static_cast<uint8_t*>(typed(i, name, napi_uint8_array, napi_uint8_clamped_array, "Uint8Array", len, nullable));
  }

  // A non-negative integer below 2^31 (sizes and leading dimensions).
  i64 dim(size_t i, const char* name) {
    double d = number(i, name);
    if (failed_) return 0;
    if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0) {
      fail_range((std::string(name) + " must be an integer in [0, 2^31), got " + fmt(d)).c_str());
      return 0;
    }
    return static_cast<i64>(d);
  }

  double number(size_t i, const char* name) {
    if (failed_) return 0;
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    if (t != napi_number) { fail_type((std::string(name) + " must be a number").c_str()); return 0; }
    double d = 0;
    napi_get_value_double(env_, argv_[i], &d);
    return d;
  }

  bool boolean(size_t i, const char* name) {
    if (failed_) return false;
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    if (t != napi_boolean) { fail_type((std::string(name) + " must be a boolean").c_str()); return false; }
    bool b = false;
    napi_get_value_bool(env_, argv_[i], &b);
    return b;
  }

  // Checks that array `name` (length `have`) holds at least `need` elements. `need` is computed in float64:
  // exact below 2^53, and anything larger cannot fit in memory anyway, so overflow cannot hide a short array.
  void need(const char* name, size_t have, double need_) {
    if (failed_) return;
    if (need_ > static_cast<double>(have))
      fail_range((std::string(name) + " is too short: needs " + fmt(need_) + " elements, has " + std::to_string(have)).c_str());
  }

  void check(bool cond, const char* msg) {
    if (!failed_ && !cond) fail_range(msg);
  }

  void fail_type(const char* msg) {
    if (failed_) return;
    failed_ = true;
    napi_throw_type_error(env_, nullptr, (std::string(fn_) + ": " + msg).c_str());
  }
  void fail_range(const char* msg) {
    if (failed_) return;
    failed_ = true;
    napi_throw_range_error(env_, nullptr, (std::string(fn_) + ": " + msg).c_str());
  }

 private:
  static constexpr size_t kMax = 16;
  napi_env env_;
  const char* fn_;
  napi_value argv_[kMax] = {};
  bool failed_ = false;

  static std::string fmt(double d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }

  void* typed(size_t i, const char* name, napi_typedarray_type want, napi_typedarray_type want2, const char* tname,
              size_t* len, bool nullable) {
    *len = 0;
    if (failed_) return nullptr;
    napi_valuetype vt;
    napi_typeof(env_, argv_[i], &vt);
    if (nullable && (vt == napi_null || vt == napi_undefined)) return nullptr;
    bool is_ta = false;
    napi_is_typedarray(env_, argv_[i], &is_ta);
    if (!is_ta) { fail_type((std::string(name) + " must be a " + tname + (nullable ? " or null" : "")).c_str()); return nullptr; }
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* data = nullptr;
    napi_value ab;
    if (napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, &ab, &offset) != napi_ok) {
      fail_type((std::string(name) + ": cannot read the typed array").c_str());
      return nullptr;
    }
    if (type != want && type != want2) { fail_type((std::string(name) + " must be a " + tname).c_str()); return nullptr; }
    // N-API's `data` already points at element 0 of the view (byte_offset applied), so subarray views work as is.
    *len = length;
    return data;
  }
};

inline napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// Runs a kernel, turning allocation failure (a false return or std::bad_alloc) into a JS Error.
template <class F>
inline napi_value run(napi_env env, const char* fn, F&& f) {
  bool ok = false;
  try {
    ok = f();
  } catch (const std::bad_alloc&) {
    ok = false;
  }
  if (!ok) napi_throw_error(env, nullptr, (std::string(fn) + ": out of memory for scratch buffers").c_str());
  return undefined(env);
}

// Elements a row-major [rows, cols] matrix with leading dimension ld spans.
inline double span(i64 rows, i64 cols, i64 ld) {
  return rows == 0 || cols == 0 ? 0.0 : static_cast<double>(rows - 1) * static_cast<double>(ld) + static_cast<double>(cols);
}
inline double prod(double a, double b, double c = 1, double d = 1) { return a * b * c * d; }

}  // namespace napi_glue
