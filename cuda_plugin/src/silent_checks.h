// silent_checks.h — config.json settings that disagree with the weights beside them, settled the
// way transformers 5.x settles them or refused, so a model never loads into quietly wrong output.
#pragma once

#include <string>

#include "config.h"
#include "safetensors.h"

namespace cx {

/** Throws bad_model naming both counts when `tensors` hold more `model.layers.N` than
 * config.layers (transformers would load the first layers and drop the rest with a warning). */
void check_layer_count(const ModelConfig& config, const SafetensorsSet& tensors, const std::string& format);

/** tie_word_embeddings with an lm_head.weight in the file that differs from the embedding:
 * transformers 5.x does not tie them then ("both are present in the checkpoints with different
 * values, so we will NOT tie them") and uses the file's lm_head, so this clears
 * config.tie_word_embeddings. An identical copy stays tied (one table in memory). */
void untie_distinct_lm_head(ModelConfig& config, const SafetensorsSet& tensors);

}  // namespace cx
