// attend_check.cpp — checks of the CPU attention kernels (cpu_simd.h's SimdKernels::attend), run by
// attend_test.ts: for every ISA this CPU has, (a) the output is within f32 rounding of a
// double-precision softmax attention, across block and segment boundaries, sliding windows, GQA
// groups and head sizes that are not a multiple of the vector width; (b) a row's output is the same
// bits whether it is computed alone, in a tile with other rows, or cut at its segments (attend_segment
// then attend_finish). `attend_check --bench` prints the
// kernel's time for a 4096-position prefill tile and a decode row instead.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "check_harness.h"
#include "cpu_simd.h"
#include "cx_math.h"

using namespace cx;

namespace {

struct Isa {
  const char* name;
  const SimdKernels* kernels;
};

std::vector<Isa> available_isas() {
  std::vector<Isa> isas{{"scalar", &simd_kernels_scalar()}};
  const int best = detect_cpu_isa();
  if (best >= kCpuIsaAvx2) isas.push_back({"avx2", &simd_kernels_avx2()});
  if (best >= kCpuIsaAvx512) isas.push_back({"avx512", &simd_kernels_avx512()});
  return isas;
}

// One KV head's cache of `positions` positions and the queries of `rows` rows × `group` heads.
struct Problem {
  int group, head_dim, positions;
  std::vector<float> keys, values, q;
  Problem(int group_, int head_dim_, int positions_, int rows, uint32_t seed)
      : group(group_), head_dim(head_dim_), positions(positions_) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    keys.resize(static_cast<size_t>(positions) * head_dim);
    values.resize(keys.size());
    q.resize(static_cast<size_t>(rows) * group * head_dim);
    for (float& x : keys) x = normal(rng);
    for (float& x : values) x = normal(rng);
    // Queries large enough that the softmax is peaked at times (scores up to ~±10).
    for (float& x : q) x = 2.0f * normal(rng);
  }
};

// Attention of row r's heads over [begin, end) in double precision.
void reference(std::vector<double>& out, const Problem& p, const float* q, int begin, int end) {
  const int hd = p.head_dim;
  out.assign(static_cast<size_t>(p.group) * hd, 0.0);
  std::vector<double> scores(static_cast<size_t>(end - begin));
  for (int g = 0; g < p.group; g++) {
    double top = -INFINITY;
    for (int t = begin; t < end; t++) {
      double s = 0;
      for (int j = 0; j < hd; j++) s += static_cast<double>(q[g * hd + j]) * p.keys[static_cast<size_t>(t) * hd + j];
      scores[static_cast<size_t>(t - begin)] = s / std::sqrt(static_cast<double>(hd));
      top = std::max(top, scores[static_cast<size_t>(t - begin)]);
    }
    double total = 0;
    for (double& s : scores) total += (s = std::exp(s - top));
    for (int t = begin; t < end; t++) {
      const double w = scores[static_cast<size_t>(t - begin)] / total;
      for (int j = 0; j < hd; j++) out[static_cast<size_t>(g) * hd + j] += w * p.values[static_cast<size_t>(t) * hd + j];
    }
  }
}

// The kernel on rows [first, first + rows) of `p` as one tile; out holds all rows.
void run(const SimdKernels& k, const Problem& p, std::vector<float>& out, int first, int rows,
         const std::vector<int32_t>& begin, const std::vector<int32_t>& end) {
  const int64_t ld = static_cast<int64_t>(p.group) * p.head_dim;
  std::vector<float> scratch(static_cast<size_t>(attend_scratch_floats(rows, p.group, p.head_dim)));
  k.attend({out.data() + first * ld, p.q.data() + first * ld, ld, rows, p.group, p.head_dim, p.keys.data(),
            p.values.data(), begin.data() + first, end.data() + first, scratch.data()});
}

void check_case(const Isa& isa, int group, int head_dim, int window, const std::vector<int32_t>& positions) {
  const int rows = static_cast<int>(positions.size());
  int context = 0;
  for (int32_t position : positions) context = std::max(context, position + 1);
  const Problem p(group, head_dim, context, rows, static_cast<uint32_t>(group * 1000 + head_dim + window));
  std::vector<int32_t> begin(positions.size()), end(positions.size());
  for (size_t r = 0; r < positions.size(); r++) {
    begin[r] = attention_start(positions[r], window);
    end[r] = positions[r] + 1;
  }
  const std::string what = std::string(isa.name) + " group " + std::to_string(group) + " head_dim "
      + std::to_string(head_dim) + " window " + std::to_string(window);
  const int64_t ld = static_cast<int64_t>(group) * head_dim;
  // (a) each row alone, against double precision.
  std::vector<float> alone(static_cast<size_t>(rows * ld));
  std::vector<double> want;
  double worst = 0;
  for (int r = 0; r < rows; r++) {
    run(*isa.kernels, p, alone, r, 1, begin, end);
    reference(want, p, p.q.data() + r * ld, begin[static_cast<size_t>(r)], end[static_cast<size_t>(r)]);
    for (int64_t i = 0; i < ld; i++) {
      worst = std::max(worst, std::fabs(alone[static_cast<size_t>(r * ld + i)] - want[static_cast<size_t>(i)]));
    }
  }
  check(worst < 2e-5, what + ": max |error| " + std::to_string(worst) + " against double precision");
  // (b) the same rows in tiles of several sizes: the same bits.
  for (int tile : {2, 3, 8, rows}) {
    std::vector<float> tiled(alone.size());
    for (int first = 0; first < rows; first += tile) run(*isa.kernels, p, tiled, first, std::min(tile, rows - first), begin, end);
    check(std::memcmp(tiled.data(), alone.data(), alone.size() * sizeof(float)) == 0,
          what + ": rows in tiles of " + std::to_string(tile) + " differ from rows alone");
  }
  // (c) each row cut at its segments, their states computed last first, then merged: the same bits.
  std::vector<float> cut(alone.size());
  std::vector<float> scratch(static_cast<size_t>(attend_scratch_floats(1, group, head_dim)));
  const int64_t state = attend_state_floats(1, group, head_dim);
  for (int r = 0; r < rows; r++) {
    const SimdAttend a{cut.data() + r * ld, p.q.data() + r * ld, ld, 1, group, head_dim, p.keys.data(),
                       p.values.data(), begin.data() + r, end.data() + r, scratch.data()};
    const int first = begin[static_cast<size_t>(r)] / kAttendSegment;
    const int count = (end[static_cast<size_t>(r)] - 1) / kAttendSegment - first + 1;
    std::vector<float> states(static_cast<size_t>(count * state));
    for (int i = count - 1; i >= 0; i--) isa.kernels->attend_segment(a, first + i, states.data() + i * state);
    isa.kernels->attend_finish(a, states.data(), first, count);
  }
  check(std::memcmp(cut.data(), alone.data(), alone.size() * sizeof(float)) == 0,
        what + ": rows cut at their segments differ from rows whole");
}

void check_all() {
  // Block (64) and segment (1024) edges, a first position, and a run of consecutive rows (a prefill).
  std::vector<int32_t> positions{0, 1, 15, 16, 63, 64, 65, 127, 1022, 1023, 1024, 1025, 2047, 2048, 2500, 3000};
  for (int32_t p = 1990; p < 2010; p++) positions.push_back(p);
  for (const Isa& isa : available_isas()) {
    for (int head_dim : {64, 72, 128, 256}) {
      for (int group : {1, 2, 4}) {
        if (head_dim == 256 && group == 4) continue;
        for (int window : {0, 100, 1500}) check_case(isa, group, head_dim, window, positions);
      }
    }
  }
}

double seconds(const std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A 4096-row causal prefill of one KV head (group 2, head_dim 128) in tiles of 8 rows, and one
// decode row at position 4095 (K and V in cache); per ISA, the best of 3 prefills and of 300 decodes.
void bench() {
  const int hd = 128, group = 2, context = 4096, tile = 8;
  std::vector<int32_t> positions(context);
  for (int i = 0; i < context; i++) positions[static_cast<size_t>(i)] = i;
  const Problem p(group, hd, context, context, 7);
  std::vector<int32_t> begin(positions.size(), 0), end(positions.size());
  for (size_t r = 0; r < positions.size(); r++) end[r] = positions[r] + 1;
  std::vector<float> out(static_cast<size_t>(context) * group * hd);
  for (const Isa& isa : available_isas()) {
    if (std::string(isa.name) == "scalar") continue;
    double prefill = 1e9, decode = 1e9;
    for (int pass = 0; pass < 3; pass++) {
      auto start = std::chrono::steady_clock::now();
      for (int first = 0; first < context; first += tile) run(*isa.kernels, p, out, first, tile, begin, end);
      prefill = std::min(prefill, seconds(start));
      for (int i = 0; i < 100; i++) {  // the fastest call: one call is short enough to miss preemption
        start = std::chrono::steady_clock::now();
        run(*isa.kernels, p, out, context - 1, 1, begin, end);
        decode = std::min(decode, seconds(start));
      }
    }
    const double flops = 4.0 * group * hd * (static_cast<double>(context) * (context + 1) / 2);
    std::printf("%s: prefill 4096 (1 KV head, group 2, head_dim 128): %.1f ms, %.1f GFLOP/s; decode at 4096: %.3f ms\n",
                isa.name, prefill * 1e3, flops / prefill / 1e9, decode * 1e3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--bench") == 0) {
    bench();
    return 0;
  }
  check_all();
  std::printf("%d checks, %d failed\n", g_checks, g_failed);
  return g_failed == 0 ? 0 : 1;
}
