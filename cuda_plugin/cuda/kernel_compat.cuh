// kernel_compat.cuh — the few CUDA constructs the kernels use, spelled through macros so the very
// same kernel source compiles two ways:
// - under nvcc (__CUDACC__): plain CUDA;
// - under g++ (kernels_check.cpp): a host emulation in which a block is run by blockDim OS threads,
//   __syncthreads is a barrier, warp shuffles exchange through a per-warp barrier and __shared__
//   arrays are function statics (blocks run one after another). This is how the kernels are tested
//   on machines without a GPU: the emulated launch runs the real kernel code, index arithmetic,
//   shared-memory tiling and reductions included.
// Kernels must keep every barrier and shuffle convergent (the emulation deadlocks, and reports it,
// where a GPU would misbehave) and blockDim a multiple of 32 wherever they shuffle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "cx_math.h"
#include "error.h"

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#define CX_GLOBAL __global__
#define CX_DEVICE __device__ __forceinline__
#define CX_SHARED __shared__
#define CX_SYNC() __syncthreads()
#define CX_BOUNDS(threads) __launch_bounds__(threads)
#define CX_UNROLL _Pragma("unroll")
#define CX_PRAGMA(text) _Pragma(#text)
#define CX_UNROLL_BY(count) CX_PRAGMA(unroll count)

extern __shared__ __align__(16) unsigned char cx_dynamic_shared[];
#define CX_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(cx_dynamic_shared)

namespace cx {

CX_DEVICE float shfl_xor(float v, int lane_mask) { return __shfl_xor_sync(0xffffffffu, v, lane_mask); }
CX_DEVICE float4 load_float4(const float* p) { return __ldg(reinterpret_cast<const float4*>(p)); }
CX_DEVICE uint4 load_uint4(const void* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

/** Launches `kernel` on `stream`; a launch error (bad configuration, sticky fault) poisons the device. */
template <typename... KArgs, typename... Args>
void launch(const char* name, void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args... args) {
  static_assert(sizeof...(KArgs) == sizeof...(Args), "kernel argument count");
  kernel<<<grid, block, shared_bytes, stream>>>(static_cast<KArgs>(args)...);
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    throw Error(CX_ERR_DEVICE_POISONED,
                std::string("CUDA kernel ") + name + " failed to launch: " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")",
                true);
  }
}

/** Lets `kernel` launch with `bytes` of dynamic shared memory, past the 48 KiB default up to the device's
 * opt-in limit (cudaDevAttrMaxSharedMemoryPerBlockOptin, which the caller checks). */
template <typename... KArgs>
void allow_dynamic_shared(const char* name, void (*kernel)(KArgs...), size_t bytes) {
  const cudaError_t status =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error(CX_ERR_DEVICE_POISONED,
                std::string("CUDA kernel ") + name + " refused " + std::to_string(bytes) +
                    " bytes of shared memory: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")",
                true);
  }
}

}  // namespace cx

#else  // host emulation

#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
using cudaStream_t = void*;

#define CX_GLOBAL
#define CX_DEVICE inline
#define CX_SHARED static
#define CX_SYNC() ::cx_emu::block_barrier()
#define CX_BOUNDS(threads)
#define CX_UNROLL
#define CX_UNROLL_BY(count) static_cast<void>(count);  // the count is for nvcc only
#define CX_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(::cx_emu::state().dynamic_shared.data())
#define threadIdx (::cx_emu::state().fibers[static_cast<size_t>(::cx_emu::state().current)].thread)
#define blockIdx (::cx_emu::state().block_index)
#define blockDim (::cx_emu::state().block_dim)
#define gridDim (::cx_emu::state().grid_dim)

// The emulated threads of a block are fibers (ucontext) on the calling OS thread: a fiber runs until
// it waits at a barrier or finishes, then the scheduler resumes the next runnable one. Execution is
// deterministic and a barrier costs one context switch per thread.
namespace cx_emu {

struct Barrier {
  int count = 0;
  int arrived = 0;
  uint64_t generation = 0;
};

struct Fiber {
  ucontext_t context;
  dim3 thread;
  bool done = false;
  Barrier* waiting = nullptr;  // blocked until waiting->generation != wait_generation
  uint64_t wait_generation = 0;
};

struct State {
  dim3 grid_dim, block_dim, block_index;
  std::vector<unsigned char> dynamic_shared;
  Barrier block;
  std::vector<Barrier> warps;
  std::vector<uint64_t> lanes[2];  // shuffle mailboxes, double-buffered: one barrier per shuffle
  std::vector<int> parity;         // which mailbox each thread's next shuffle uses
  std::vector<Fiber> fibers;
  std::vector<char> stacks;
  ucontext_t scheduler;
  int current = -1;
  bool reverse = false;  // resume order, flipped every launch so that an unsynchronised read of
                         // another thread's write sees stale data in one order or the other
  const std::function<void()>* body = nullptr;
};

constexpr size_t kStackBytes = 128 * 1024;

inline State& state() {
  static State s;
  return s;
}

inline int linear_thread() {
  const dim3 t = threadIdx;
  return static_cast<int>(t.x + t.y * blockDim.x + t.z * blockDim.x * blockDim.y);
}

inline void wait(Barrier& barrier) {
  State& s = state();
  if (++barrier.arrived == barrier.count) {
    barrier.arrived = 0;
    barrier.generation++;
    return;
  }
  Fiber& fiber = s.fibers[static_cast<size_t>(s.current)];
  fiber.waiting = &barrier;
  fiber.wait_generation = barrier.generation;
  swapcontext(&fiber.context, &s.scheduler);
}

inline void block_barrier() { wait(state().block); }

/** The value `v` of lane `source` of the calling thread's warp (own value when out of range). */
template <typename T>
T exchange(T v, int source) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of a wide type");
  State& s = state();
  const int tid = linear_thread();
  const int warp = tid / 32;
  const int threads = static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
  const int box = s.parity[static_cast<size_t>(tid)];
  s.parity[static_cast<size_t>(tid)] ^= 1;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  s.lanes[box][static_cast<size_t>(tid)] = bits;
  wait(s.warps[static_cast<size_t>(warp)]);
  const int source_tid = warp * 32 + source;
  uint64_t got = bits;
  if (source >= 0 && source < 32 && source_tid < threads) got = s.lanes[box][static_cast<size_t>(source_tid)];
  T result;
  std::memcpy(&result, &got, sizeof(T));
  return result;
}

inline void fiber_main(int index) {
  State& s = state();
  (*s.body)();
  s.fibers[static_cast<size_t>(index)].done = true;
}  // returns to uc_link: the scheduler

// Kept out of line: a function that calls getcontext/swapcontext may see its locals clobbered.
__attribute__((noinline)) inline void prepare(int t) {
  State& s = state();
  Fiber& fiber = s.fibers[static_cast<size_t>(t)];
  fiber = Fiber();
  const dim3 block = s.block_dim;
  fiber.thread = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
  getcontext(&fiber.context);
  fiber.context.uc_stack.ss_sp = s.stacks.data() + kStackBytes * static_cast<size_t>(t);
  fiber.context.uc_stack.ss_size = kStackBytes;
  fiber.context.uc_link = &s.scheduler;
  makecontext(&fiber.context, reinterpret_cast<void (*)()>(fiber_main), 1, t);
}

__attribute__((noinline)) inline void resume(int t) {
  State& s = state();
  s.current = t;
  swapcontext(&s.scheduler, &s.fibers[static_cast<size_t>(t)].context);
  s.current = -1;
}

/** Runs `body` as a grid of blocks; each block by blockDim fibers, blocks one after another. */
inline void run(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
  State& s = state();
  s.grid_dim = grid;
  s.block_dim = block;
  s.body = &body;
  s.reverse = !s.reverse;
  const int threads = static_cast<int>(block.x * block.y * block.z);
  if (threads < 1 || threads > 1024) {
    std::fprintf(stderr, "kernel emulation: bad block size %d\n", threads);
    std::abort();
  }
  s.dynamic_shared.assign(shared_bytes + 16, 0xff);  // NaN-filled, as uninitialised as on a GPU
  s.fibers.assign(static_cast<size_t>(threads), Fiber());
  if (s.stacks.size() < kStackBytes * static_cast<size_t>(threads)) s.stacks.resize(kStackBytes * static_cast<size_t>(threads));
  s.warps.assign(static_cast<size_t>((threads + 31) / 32), Barrier());
  for (int w = 0; w * 32 < threads; w++) s.warps[static_cast<size_t>(w)].count = std::min(32, threads - w * 32);
  s.block = Barrier();
  s.block.count = threads;
  for (auto& box : s.lanes) box.assign(static_cast<size_t>(threads), 0);
  for (unsigned z = 0; z < grid.z; z++) {
    for (unsigned y = 0; y < grid.y; y++) {
      for (unsigned x = 0; x < grid.x; x++) {
        s.block_index = dim3(x, y, z);
        s.parity.assign(static_cast<size_t>(threads), 0);
        for (int t = 0; t < threads; t++) prepare(t);
        for (int finished = 0; finished < threads;) {
          bool progressed = false;
          finished = 0;
          for (int i = 0; i < threads; i++) {
            const int t = s.reverse ? threads - 1 - i : i;
            Fiber& fiber = s.fibers[static_cast<size_t>(t)];
            if (fiber.done) {
              finished++;
              continue;
            }
            if (fiber.waiting != nullptr && fiber.waiting->generation == fiber.wait_generation) continue;
            fiber.waiting = nullptr;
            resume(t);
            progressed = true;
          }
          if (!progressed && finished < threads) {
            std::fprintf(stderr, "kernel emulation: deadlock in block (%u,%u,%u): %d of %d threads finished, the rest wait at barriers no one else reaches\n", x, y, z, finished, threads);
            std::abort();
          }
        }
        if (s.block.arrived != 0) {
          std::fprintf(stderr, "kernel emulation: block (%u,%u,%u) ended with threads waiting at __syncthreads\n", x, y, z);
          std::abort();
        }
      }
    }
  }
}

}  // namespace cx_emu

namespace cx {

inline float shfl_xor(float v, int lane_mask) {
  return cx_emu::exchange(v, static_cast<int>(cx_emu::linear_thread() % 32) ^ lane_mask);
}
inline float4 load_float4(const float* p) { return *reinterpret_cast<const float4*>(p); }
inline uint4 load_uint4(const void* p) { return *reinterpret_cast<const uint4*>(p); }

template <typename... KArgs, typename... Args>
void launch(const char*, void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t,
            Args... args) {
  static_assert(sizeof...(KArgs) == sizeof...(Args), "kernel argument count");
  cx_emu::run(grid, block, shared_bytes, [&] { kernel(static_cast<KArgs>(args)...); });
}

/** No limit on the emulation's shared memory. */
template <typename... KArgs>
void allow_dynamic_shared(const char*, void (*)(KArgs...), size_t) {}

}  // namespace cx

#endif

namespace cx {

/** Element types of weights, numbered like cx::DType (F32 = 0, F16 = 1, BF16 = 2, then the block-quantized
 * types of quant.h, which kernels_quant.cuh handles). */
enum KernelDtype : int { kF32 = 0, kF16 = 1, kBF16 = 2, kQ8_0 = 4, kQ4_0 = 5, kQ4_K = 6, kQ5_K = 7, kQ6_K = 8 };

/** Element `i` of a weight of dtype D, widened to f32 with the shared cx_math conversions. */
template <int D>
CX_DEVICE float widen_at(const void* base, int64_t i) {
  if constexpr (D == kF32) {
    return static_cast<const float*>(base)[i];
  } else if constexpr (D == kBF16) {
    return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
  } else {
    return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
  }
}

/** Eight consecutive 16-bit elements packed in `raw` (little-endian), widened to f32. */
template <int D>
CX_DEVICE void widen8(uint4 raw, float* out) {
  const unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
  CX_UNROLL
  for (int i = 0; i < 4; i++) {
    const uint16_t lo = static_cast<uint16_t>(words[i] & 0xffffu);
    const uint16_t hi = static_cast<uint16_t>(words[i] >> 16);
    if constexpr (D == kBF16) {
      out[2 * i] = bf16_to_f32(lo);
      out[2 * i + 1] = bf16_to_f32(hi);
    } else {
      out[2 * i] = f16_to_f32(lo);
      out[2 * i + 1] = f16_to_f32(hi);
    }
  }
}

/** Sum over the 32 lanes of a warp; every lane gets the total. */
CX_DEVICE float warp_sum(float v) {
  CX_UNROLL
  for (int mask = 16; mask > 0; mask >>= 1) v += shfl_xor(v, mask);
  return v;
}

/** Maximum over the 32 lanes of a warp; every lane gets it. */
CX_DEVICE float warp_max(float v) {
  CX_UNROLL
  for (int mask = 16; mask > 0; mask >>= 1) v = fmaxf(v, shfl_xor(v, mask));
  return v;
}

/** Block-wide sum (blockDim.x a multiple of 32, ≤ 1024) using `scratch` (32 shared floats); every
 * thread gets the total. Starts with a barrier, so back-to-back calls may share `scratch`. */
CX_DEVICE float block_sum(float v, float* scratch) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x + 31) >> 5;
  v = warp_sum(v);
  CX_SYNC();
  if (lane == 0) scratch[warp] = v;
  CX_SYNC();
  return warp_sum(lane < warps ? scratch[lane] : 0.0f);
}

/** Block-wide maximum, like block_sum. */
CX_DEVICE float block_max(float v, float* scratch) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x + 31) >> 5;
  v = warp_max(v);
  CX_SYNC();
  if (lane == 0) scratch[warp] = v;
  CX_SYNC();
  return warp_max(lane < warps ? scratch[lane] : -INFINITY);
}

/** Blocks for a grid-stride loop over `count` items with `threads` per block. */
inline unsigned grid_for(int64_t count, int threads, int64_t max_blocks = 65535) {
  int64_t blocks = (count + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > max_blocks) blocks = max_blocks;
  return static_cast<unsigned>(blocks);
}

}  // namespace cx
