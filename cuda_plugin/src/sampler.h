// sampler.h — picks the next token from a row of logits: penalties, then greedy or
// temperature → top-k → top-p → min-p → a draw from the sequence's own seeded RNG.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cx {

/** Sampling parameters of one step entry (CX_SAMPLING_FIELDS in the ABI). */
struct SamplingParams {
  double temperature = 0;  // <= 0: greedy (argmax after penalties)
  int top_k = 0;           // <= 0: off
  double top_p = 1;        // (0, 1]; 1: off
  double min_p = 0;        // [0, 1]; 0: off
  uint64_t seed = 0;
  double presence_penalty = 0;    // OpenAI: subtracted once from every token already generated
  double frequency_penalty = 0;   // OpenAI: subtracted per previous generation of the token
  double repetition_penalty = 1;  // HF/CTRL: divides positive / multiplies negative logits of seen tokens
};

/** Reads CX_SAMPLING_FIELDS doubles; throws cx::Error(invalid_argument) naming the bad field. */
SamplingParams parse_sampling(const double* fields, int entry);

/** What a sequence's sampler remembers between steps. */
struct SamplerState {
  bool seeded = false;
  uint64_t seed = 0;
  uint64_t rng = 0;
  std::unordered_set<int32_t> seen;                 // prompt and generated tokens (repetition penalty)
  std::unordered_map<int32_t, int32_t> generated;   // generated token → count (presence/frequency)

  /** Records a token fed to the model. */
  void feed(int32_t token) { seen.insert(token); }
  /** Records a token the sampler produced. */
  void produced(int32_t token) {
    seen.insert(token);
    generated[token]++;
  }
};

/** Scratch buffers reused across calls (one per device worker). */
struct SamplerScratch {
  std::vector<float> biased;  // a row with the entry's logit bias applied
  std::vector<float> logits;
  std::vector<int32_t> order;
  std::vector<double> probs;
};

/** Samples one token from `logits` (vocab floats; not modified). */
int32_t sample_token(const float* logits, int vocab, const SamplingParams& params, SamplerState& state,
                     SamplerScratch& scratch);

/** Log-softmax of `logits` (computed in double) at `sampled` and at the `top` most likely tokens
 * (descending, ties by lower id): appends the top ids to `top_ids` and 1 + top values to `values`. */
void log_probabilities(const float* logits, int vocab, int32_t sampled, int top, SamplerScratch& scratch,
                       std::vector<int64_t>& top_ids, std::vector<float>& values);

}  // namespace cx
