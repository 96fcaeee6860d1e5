// prefix_pool.h — the prefix cache's block pool of one model: copies of a slot's keys and values in
// fixed blocks of CX_PREFIX_BLOCK_TOKENS positions, held outside the KV slots so a prompt prefix
// outlives the slot that computed it. The caller (the neuron's prefix cache) names every block with
// its own id, decides which blocks exist (a hash chain of token ids, an LRU within a budget) and
// vouches for what they hold; this file only copies and accounts memory. Each block is reserved on
// the device like a weight, so a full device refuses a store instead of overcommitting, and the
// neuron drops blocks to make room for a load.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace cx {

class Model;

/** The blocks of one model (of one tensor-parallel rank: its KV heads only). */
struct PrefixPool {
  /** Block id → keys then values, each [layer][kv_head][CX_PREFIX_BLOCK_TOKENS][head_dim] f32. */
  std::unordered_map<int32_t, float*> blocks;
};

/** Device bytes of one block of `model` (this rank's share). */
int64_t prefix_block_bytes(const Model& model);

/** Copies positions first_position + i·B .. first_position + (i+1)·B − 1 of slot `slot` into new
 * block ids[i], for every i. All or nothing: the blocks' memory is reserved together first (out of
 * memory leaves the pool as it was); an id already in the pool, a bad slot or a range past the context
 * is invalid_argument; hybrid models (whose DeltaNet states are not kept per position) are refused. */
void store_prefix_blocks(Model& model, int slot, int first_position, const std::vector<int32_t>& ids);

/** Copies blocks ids[0..n) into positions 0 .. n·B − 1 of slot `slot` (checked: every id present). */
void load_prefix_blocks(Model& model, int slot, const std::vector<int32_t>& ids);

/** Throws invalid_argument unless every id is in the pool (before a sequence takes a slot). */
void check_prefix_blocks(const Model& model, const std::vector<int32_t>& ids);

/** Frees the listed blocks; ids not in the pool are skipped (a store that failed on another rank). */
void drop_prefix_blocks(Model& model, const std::vector<int32_t>& ids);

/** Frees every block (unload). */
void drop_all_prefix_blocks(Model& model);

}  // namespace cx
