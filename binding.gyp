{
  "targets": [
    {
      "target_name": "nullspace",
      "sources": [
        "native/addon.cc",
        "native/addon_control.cc",
        "native/kernels.cc",
        "native/threadpool.cc",
        "native/isa_avx512.cc",
        "native/isa_avx2.cc",
        "native/isa_portable.cc"
      ],
      # Baseline ISA for the whole addon (no -march=native: the binary must run on any CPU of the
      # architecture); the AVX2/AVX-512 kernels carry function-level target attributes and are chosen at run
      # time. No -ffast-math: results must be reproducible bit for bit. -fno-math-errno only lets sqrt
      # vectorise (it changes no result). Exceptions are on so allocation failure becomes a JS error.
      # -Wno-maybe-uninitialized: GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_*).
      "cflags": ["-O3", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-maybe-uninitialized"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CFLAGS": ["-O3", "-fno-math-errno"]
      }
    }
  ]
}
