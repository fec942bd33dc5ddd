// A small process-wide thread pool for the kernels.
//
// Work is split into a fixed list of tasks whose outputs do not overlap and whose arithmetic does not
// depend on which thread runs them, so results are bit-identical whatever the thread count or the
// scheduling. Tasks are claimed from a shared counter: on a busy 2-core machine, a worker that is not
// scheduled does not stall the caller, who simply runs the remaining tasks itself.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ns {

using TaskFn = void (*)(void* ctx, int task);

// Number of threads used for parallel kernels (the calling thread included), ≥ 1.
int pool_threads();
// Restarts the pool with n threads in all (n − 1 workers). n is clamped to [1, 256].
void pool_set_threads(int n);
// Runs fn(ctx, 0 .. ntasks−1) on the pool and returns when all are done. ntasks ≤ 65535.
// Falls back to running serially in the caller when the pool has 1 thread, when ntasks is 1, or when the
// pool is already busy (a nested call or another JS thread using the addon).
void pool_run(int ntasks, TaskFn fn, void* ctx);

template <class F>
inline void parallel_for(int ntasks, F& f) {
  pool_run(ntasks, [](void* c, int t) { (*static_cast<F*>(c))(t); }, &f);
}

// Per-OS-thread scratch memory, 64-byte aligned, grown on demand and kept for the thread's lifetime
// (pool workers and the JS thread live as long as the process). `slot` < 4 selects an independent buffer.
// Returns nullptr if the allocation fails.
float* scratch(int slot, size_t floats);

}  // namespace ns
