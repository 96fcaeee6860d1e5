// prefix_pool.cpp — see prefix_pool.h. A block is laid out as the KV cache is, minus the slot and with
// B positions: [layer][kv_head][position][head_dim] keys, then the same for values, so each
// (layer, head) run is one contiguous copy in either direction.
#include "prefix_pool.h"

#include <set>
#include <string>

#include "cortex_plugin.h"
#include "error.h"
#include "model.h"

namespace cx {
namespace {

constexpr int kBlock = CX_PREFIX_BLOCK_TOKENS;

size_t block_floats(const KvCache& kv) {
  return static_cast<size_t>(kv.layers) * kv.kv_heads * kBlock * kv.head_dim;
}

void refuse_hybrid(const Model& model) {
  if (model.config.hybrid()) throw Error(CX_ERR_INVALID_ARGUMENT, "a hybrid model keeps no prefix blocks: its "
      "DeltaNet states are not kept per position (its prefixes are reused from slot snapshots only)");
}

// Copies one block between a slot (from position `first`) and block memory, in the given direction.
void copy_block(Model& model, int slot, int first, float* block, bool to_block) {
  const KvCache& kv = model.kv;
  const size_t run = static_cast<size_t>(kBlock) * kv.head_dim;
  const size_t half = block_floats(kv);
  for (int layer = 0; layer < kv.layers; layer++) {
    for (int head = 0; head < kv.kv_heads; head++) {
      const size_t at = kv.offset(layer, slot, head, first);
      float* keys = block + (static_cast<size_t>(layer) * kv.kv_heads + head) * run;
      float* values = keys + half;
      if (to_block) {
        model.backend.copy_within(keys, kv.keys + at, run * sizeof(float));
        model.backend.copy_within(values, kv.values + at, run * sizeof(float));
      } else {
        model.backend.copy_within(kv.keys + at, keys, run * sizeof(float));
        model.backend.copy_within(kv.values + at, values, run * sizeof(float));
      }
    }
  }
}

void check_slot(const Model& model, int slot) {
  if (slot < 0 || slot >= model.max_sequences) throw Error(CX_ERR_INVALID_ARGUMENT, "slot " + std::to_string(slot)
      + " is outside the model's slots [0, " + std::to_string(model.max_sequences) + ")");
}

}  // namespace

int64_t prefix_block_bytes(const Model& model) {
  return static_cast<int64_t>(2 * sizeof(float) * block_floats(model.kv));
}

void store_prefix_blocks(Model& model, int slot, int first_position, const std::vector<int32_t>& ids) {
  refuse_hybrid(model);
  check_slot(model, slot);
  const int64_t end = first_position + static_cast<int64_t>(ids.size()) * kBlock;
  if (first_position < 0 || end > model.context) throw Error(CX_ERR_INVALID_ARGUMENT, "blocks at positions "
      + std::to_string(first_position) + " .. " + std::to_string(end - 1) + " are outside the context length "
      + std::to_string(model.context));
  std::set<int32_t> seen;
  for (int32_t id : ids) {
    if (model.prefix_pool.blocks.count(id) != 0 || !seen.insert(id).second) {
      throw Error(CX_ERR_INVALID_ARGUMENT, "prefix block id " + std::to_string(id) + " is already in use");
    }
  }
  const int64_t bytes = prefix_block_bytes(model);
  model.backend.reserve(bytes * static_cast<int64_t>(ids.size()), std::to_string(ids.size())
      + " prefix cache block(s)");
  size_t stored = 0;
  try {
    for (; stored < ids.size(); stored++) {
      float* block = static_cast<float*>(model.backend.allocate(static_cast<size_t>(bytes)));
      model.prefix_pool.blocks[ids[stored]] = block;
      copy_block(model, slot, first_position + static_cast<int>(stored) * kBlock, block, true);
    }
  } catch (...) {
    // Give back what this call took; earlier blocks stay.
    for (size_t i = 0; i < stored + 1 && i < ids.size(); i++) {
      auto it = model.prefix_pool.blocks.find(ids[i]);
      if (it == model.prefix_pool.blocks.end()) continue;
      model.backend.deallocate(it->second, static_cast<size_t>(bytes));
      model.prefix_pool.blocks.erase(it);
    }
    model.backend.unreserve(bytes * static_cast<int64_t>(ids.size()));
    throw;
  }
}

void check_prefix_blocks(const Model& model, const std::vector<int32_t>& ids) {
  refuse_hybrid(model);
  if (static_cast<int64_t>(ids.size()) * kBlock >= model.context) throw Error(CX_ERR_INVALID_ARGUMENT,
      std::to_string(ids.size()) + " prefix blocks leave nothing of the context length "
      + std::to_string(model.context));
  for (int32_t id : ids) {
    if (model.prefix_pool.blocks.count(id) == 0) throw Error(CX_ERR_INVALID_ARGUMENT, "prefix block id "
        + std::to_string(id) + " is not in the model's pool");
  }
}

void load_prefix_blocks(Model& model, int slot, const std::vector<int32_t>& ids) {
  check_slot(model, slot);
  check_prefix_blocks(model, ids);
  for (size_t i = 0; i < ids.size(); i++) {
    copy_block(model, slot, static_cast<int>(i) * kBlock, model.prefix_pool.blocks.at(ids[i]), false);
  }
}

void drop_prefix_blocks(Model& model, const std::vector<int32_t>& ids) {
  const int64_t bytes = prefix_block_bytes(model);
  for (int32_t id : ids) {
    auto it = model.prefix_pool.blocks.find(id);
    if (it == model.prefix_pool.blocks.end()) continue;
    model.backend.deallocate(it->second, static_cast<size_t>(bytes));
    model.backend.unreserve(bytes);
    model.prefix_pool.blocks.erase(it);
  }
}

void drop_all_prefix_blocks(Model& model) {
  std::vector<int32_t> ids;
  for (const auto& entry : model.prefix_pool.blocks) ids.push_back(entry.first);
  drop_prefix_blocks(model, ids);
}

}  // namespace cx
