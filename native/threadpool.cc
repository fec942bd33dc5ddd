#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <sched.h>
#endif

namespace ns {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

inline void yield_thread() {
#if defined(__unix__) || defined(__APPLE__)
  sched_yield();
#else
  std::this_thread::yield();
#endif
}

// How long an idle worker spins before sleeping. Kernel calls during training come back-to-back
// (a few µs of JS in between), so a short spin keeps wake-up latency near zero without burning a core
// for long when the process goes idle (the machine is shared).
constexpr auto kSpin = std::chrono::microseconds(200);

class Pool {
 public:
  // word = job id (high 32 bits) | ntasks (bits 16..31) | next task to claim (bits 0..15).
  // Keeping the three in one atomic makes a claim valid only for the job the claimer saw: a worker that
  // wakes late for an old job cannot take tasks of a newer one.
  std::atomic<uint64_t> word{0};
  std::atomic<TaskFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<int> done{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> busy{false};
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::thread> workers;
  int nthreads = 1;

  // Claims and runs tasks of job `job` until none are left.
  void work(uint32_t job) {
    TaskFn f = fn.load(std::memory_order_acquire);
    void* c = ctx.load(std::memory_order_acquire);
    uint64_t w = word.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(w >> 32) != job) return;
      uint32_t next = static_cast<uint32_t>(w & 0xffff), n = static_cast<uint32_t>((w >> 16) & 0xffff);
      if (next >= n) return;
      if (word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        // The claim succeeded, so job `job` was still running: f and c (read after seeing it) are its own.
        f(c, static_cast<int>(next));
        done.fetch_add(1, std::memory_order_release);
        w = word.load(std::memory_order_acquire);
      }
    }
  }

  void worker_loop() {
    uint32_t seen = static_cast<uint32_t>(word.load(std::memory_order_acquire) >> 32);
    for (;;) {
      auto t0 = std::chrono::steady_clock::now();
      unsigned spins = 0;
      uint32_t job = seen;
      for (;;) {
        job = static_cast<uint32_t>(word.load(std::memory_order_acquire) >> 32);
        if (job != seen || stop.load(std::memory_order_relaxed)) break;
        cpu_relax();
        if ((++spins & 63) == 0 && std::chrono::steady_clock::now() - t0 > kSpin) {
          std::unique_lock<std::mutex> lk(m);
          sleepers.fetch_add(1);
          cv.wait(lk, [&] {
            return static_cast<uint32_t>(word.load() >> 32) != seen || stop.load();
          });
          sleepers.fetch_sub(1);
          t0 = std::chrono::steady_clock::now();
        }
      }
      if (stop.load()) return;
      seen = job;
      work(job);
    }
  }

  void start(int n) {
    nthreads = n;
    stop.store(false);
    for (int i = 1; i < n; i++) {
      try {
        workers.emplace_back([this] { worker_loop(); });
      } catch (...) {
        nthreads = static_cast<int>(workers.size()) + 1;  // could not create more threads: use fewer
        break;
      }
    }
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(m);
      stop.store(true);
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    nthreads = 1;
  }

  void run(int ntasks, TaskFn f, void* c) {
    bool expected = false;
    if (ntasks <= 1 || nthreads <= 1 || ntasks > 0xffff ||
        !busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      for (int t = 0; t < ntasks; t++) f(c, t);
      return;
    }
    fn.store(f, std::memory_order_relaxed);
    ctx.store(c, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    uint32_t job = static_cast<uint32_t>(word.load(std::memory_order_relaxed) >> 32) + 1;
    word.store((static_cast<uint64_t>(job) << 32) | (static_cast<uint64_t>(ntasks) << 16),
               std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(m);  // pairs with the predicate check in worker_loop: no lost wake-up
      cv.notify_all();
    }
    work(job);
    // Wait for tasks claimed by workers. Spin briefly, then yield so a descheduled worker can finish.
    auto t0 = std::chrono::steady_clock::now();
    unsigned spins = 0;
    while (done.load(std::memory_order_acquire) < ntasks) {
      cpu_relax();
      if ((++spins & 63) == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) yield_thread();
    }
    busy.store(false, std::memory_order_release);
  }
};

int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc > 256 ? 256 : hc);
}

// Created on first use and never destroyed: joining threads from a static destructor at process exit
// is a classic source of hangs, and the OS reclaims the workers anyway.
Pool* the_pool() {
  static Pool* p = [] {
    Pool* q = new Pool();
    q->start(default_threads());
    return q;
  }();
  return p;
}

std::mutex g_config_mutex;

}  // namespace

int pool_threads() { return the_pool()->nthreads; }

void pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  std::lock_guard<std::mutex> lk(g_config_mutex);
  Pool* p = the_pool();
  if (p->nthreads == n) return;
  // Take the pool so no job is running while workers are replaced.
  bool expected = false;
  while (!p->busy.compare_exchange_weak(expected, true)) { expected = false; yield_thread(); }
  p->shutdown();
  p->start(n);
  p->busy.store(false);
}

void pool_run(int ntasks, TaskFn fn, void* ctx) { the_pool()->run(ntasks, fn, ctx); }

namespace {
struct Scratch {
  float* p[4] = {nullptr, nullptr, nullptr, nullptr};
  size_t cap[4] = {0, 0, 0, 0};
  ~Scratch() {
    for (float* q : p) std::free(q);
  }
};
thread_local Scratch t_scratch;
}  // namespace

float* scratch(int slot, size_t floats) {
  Scratch& s = t_scratch;
  if (floats <= s.cap[slot] && s.p[slot]) return s.p[slot];
  std::free(s.p[slot]);
  s.p[slot] = nullptr;
  s.cap[slot] = 0;
  size_t want = floats + floats / 4 + 64;  // some headroom to avoid regrowing on every size change
  size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
  void* q = nullptr;
  if (posix_memalign(&q, 64, bytes) != 0) return nullptr;
  s.p[slot] = static_cast<float*>(q);
  s.cap[slot] = want;
  return s.p[slot];
}

}  // namespace ns
