// sampler.cpp — the sampling pipeline. Probabilities are computed against the full softmax
// denominator, so truncations (top-k/top-p/min-p) need only the head of the sorted order.
#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "error.h"

namespace cx {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double uniform(uint64_t& state) { return static_cast<double>(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0); }

void apply_penalties(float* logits, int vocab, const SamplingParams& p, const SamplerState& state) {
  if (p.repetition_penalty != 1) {
    for (int32_t token : state.seen) {
      if (token < 0 || token >= vocab) continue;
      float& l = logits[token];
      l = l > 0 ? static_cast<float>(l / p.repetition_penalty) : static_cast<float>(l * p.repetition_penalty);
    }
  }
  if (p.presence_penalty != 0 || p.frequency_penalty != 0) {
    for (const auto& [token, count] : state.generated) {
      if (token < 0 || token >= vocab) continue;
      logits[token] -= static_cast<float>(p.frequency_penalty * count + p.presence_penalty);
    }
  }
}

int32_t argmax(const float* logits, int vocab) {
  int32_t best = 0;
  for (int i = 1; i < vocab; i++) {
    if (logits[i] > logits[best]) best = i;  // first maximum wins, like torch.argmax
  }
  return best;
}

}  // namespace

SamplingParams parse_sampling(const double* f, int entry) {
  const std::string where = "entry " + std::to_string(entry) + " sampling ";
  SamplingParams p;
  p.temperature = f[0];
  p.top_p = f[2];
  p.min_p = f[3];
  p.presence_penalty = f[5];
  p.frequency_penalty = f[6];
  p.repetition_penalty = f[7];
  for (int i = 0; i < 8; i++) {
    if (!std::isfinite(f[i])) throw Error(CX_ERR_INVALID_ARGUMENT, where + "field " + std::to_string(i)
        + " is not a finite number");
  }
  if (f[1] < 0 || f[1] != std::floor(f[1]) || f[1] > 2147483647.0) throw Error(CX_ERR_INVALID_ARGUMENT, where
      + "topK must be a non-negative integer");
  p.top_k = static_cast<int>(f[1]);
  if (f[4] < 0 || f[4] != std::floor(f[4]) || f[4] > 9007199254740992.0) throw Error(CX_ERR_INVALID_ARGUMENT, where
      + "seed must be a non-negative integer below 2^53");
  p.seed = static_cast<uint64_t>(f[4]);
  if (p.temperature < 0) throw Error(CX_ERR_INVALID_ARGUMENT, where + "temperature must be >= 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) throw Error(CX_ERR_INVALID_ARGUMENT, where + "topP must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) throw Error(CX_ERR_INVALID_ARGUMENT, where + "minP must be in [0, 1]");
  if (!(p.repetition_penalty > 0)) throw Error(CX_ERR_INVALID_ARGUMENT, where + "repetitionPenalty must be > 0");
  return p;
}

int32_t sample_token(const float* raw, int vocab, const SamplingParams& p, SamplerState& state, SamplerScratch& s) {
  s.logits.assign(raw, raw + vocab);
  float* logits = s.logits.data();
  apply_penalties(logits, vocab, p, state);
  if (p.temperature <= 0) return argmax(logits, vocab);

  if (!state.seeded || state.seed != p.seed) {
    state.seeded = true;
    state.seed = p.seed;
    state.rng = p.seed;
  }
  const double inv_t = 1.0 / p.temperature;
  const float max_logit = logits[argmax(logits, vocab)];
  s.probs.resize(static_cast<size_t>(vocab));
  double total = 0;
  for (int i = 0; i < vocab; i++) {
    s.probs[i] = std::exp((static_cast<double>(logits[i]) - max_logit) * inv_t);
    total += s.probs[i];
  }
  for (int i = 0; i < vocab; i++) s.probs[i] /= total;

  const bool truncate = (p.top_k > 0 && p.top_k < vocab) || p.top_p < 1 || p.min_p > 0;
  if (!truncate) {
    double u = uniform(state.rng);
    int32_t last_possible = 0;
    for (int i = 0; i < vocab; i++) {
      if (s.probs[i] <= 0) continue;  // never pick a token of zero probability (a forbidden one)
      last_possible = i;
      u -= s.probs[i];
      if (u < 0) return i;
    }
    return last_possible;  // rounding left u >= 0
  }

  // Candidates in descending probability (ties: lower id first). Sort a head first, widen if needed.
  s.order.resize(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; i++) s.order[i] = i;
  auto by_prob = [&](int32_t a, int32_t b) { return s.probs[a] > s.probs[b] || (s.probs[a] == s.probs[b] && a < b); };
  const int limit = p.top_k > 0 && p.top_k < vocab ? p.top_k : vocab;
  int sorted = std::min(limit, 256);
  for (;;) {
    std::partial_sort(s.order.begin(), s.order.begin() + sorted, s.order.end(), by_prob);
    double head = 0;
    for (int i = 0; i < sorted; i++) head += s.probs[s.order[i]];
    if (sorted == limit || (p.top_p < 1 && head >= p.top_p)) break;
    if (p.min_p > 0 && s.probs[s.order[sorted - 1]] < p.min_p * s.probs[s.order[0]]) break;
    sorted = std::min(limit, sorted * 4);
  }
  int keep = sorted;
  double cumulative = 0;
  for (int i = 0; i < sorted; i++) {  // top-p: the smallest prefix whose mass reaches top_p
    cumulative += s.probs[s.order[i]];
    if (cumulative >= p.top_p) {
      keep = i + 1;
      break;
    }
  }
  const double floor_p = p.min_p * s.probs[s.order[0]];
  while (keep > 1 && s.probs[s.order[keep - 1]] < floor_p) keep--;

  while (keep > 1 && s.probs[s.order[keep - 1]] <= 0) keep--;  // zero-probability (forbidden) tokens
  double kept = 0;
  for (int i = 0; i < keep; i++) kept += s.probs[s.order[i]];
  double u = uniform(state.rng) * kept;
  for (int i = 0; i < keep; i++) {
    u -= s.probs[s.order[i]];
    if (u < 0) return s.order[i];
  }
  return s.order[keep - 1];
}

void log_probabilities(const float* logits, int vocab, int32_t sampled, int top, SamplerScratch& s,
                       std::vector<int64_t>& top_ids, std::vector<float>& values) {
  const double max_logit = logits[argmax(logits, vocab)];
  double total = 0;
  for (int i = 0; i < vocab; i++) total += std::exp(static_cast<double>(logits[i]) - max_logit);
  const double log_total = max_logit + std::log(total);
  auto log_prob = [&](int32_t token) { return static_cast<float>(static_cast<double>(logits[token]) - log_total); };
  values.push_back(log_prob(sampled));
  if (top <= 0) return;
  top = std::min(top, vocab);
  s.order.resize(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; i++) s.order[i] = i;
  std::partial_sort(s.order.begin(), s.order.begin() + top, s.order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  for (int i = 0; i < top; i++) top_ids.push_back(s.order[i]);
  for (int i = 0; i < top; i++) values.push_back(log_prob(s.order[i]));
}

}  // namespace cx
