// The addon's control functions (not kernels): info(), setThreads(n) and, for tests, setSimd(name).
#pragma once
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

namespace napi_glue {
napi_value Info(napi_env env, napi_callback_info info);
napi_value SetThreads(napi_env env, napi_callback_info info);
napi_value SetSimd(napi_env env, napi_callback_info info);
}  // namespace napi_glue
