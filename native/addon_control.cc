// info(): threads, active and available SIMD levels; setThreads(n); setSimd(name) (tests and benchmarks).
#include "addon_control.h"

#include <cstdint>

#include "kernels.h"
#include "napi_args.h"
#include "threadpool.h"

namespace napi_glue {

using ns::i64;

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, threads, simd, avail;
  napi_create_object(env, &obj);
  napi_create_int32(env, ns::pool_threads(), &threads);
  napi_create_string_utf8(env, ns::active()->simd, NAPI_AUTO_LENGTH, &simd);
  napi_set_named_property(env, obj, "threads", threads);
  napi_set_named_property(env, obj, "simd", simd);
  // SIMD levels this CPU can run (for tests and benchmarks): best first.
  napi_create_array(env, &avail);
  uint32_t idx = 0;
  const ns::Kernels* levels[] = {
#if defined(__x86_64__)
      ns::kernels_avx512(), ns::kernels_avx2(),
#endif
      ns::kernels_portable()};
  for (const ns::Kernels* k : levels) {
    if (!k) continue;
    napi_value s;
    napi_create_string_utf8(env, k->simd, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, avail, idx++, s);
  }
  napi_set_named_property(env, obj, "available", avail);
  return obj;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, 1, "setThreads");
  const i64 n = a.dim(0, "n");
  a.check(n >= 1, "n must be ≥ 1");
  if (a.failed()) return nullptr;
  ns::pool_set_threads(static_cast<int>(n > 256 ? 256 : n));
  return undefined(env);
}

// setSimd(name): selects "avx512" | "avx2-fma" | "portable"; returns false if this CPU cannot run it.
napi_value SetSimd(napi_env env, napi_callback_info info) {
  Args a(env, info, 1, "setSimd");
  if (a.failed()) return nullptr;
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char buf[32] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], buf, sizeof buf, &len) != napi_ok) {
    a.fail_type("name must be a string");
    return nullptr;
  }
  napi_value r;
  napi_get_boolean(env, ns::set_simd(buf), &r);
  return r;
}

}  // namespace napi_glue
