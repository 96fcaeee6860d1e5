// gguf_model.h — a GGUF file as a model the loader can plan: the ModelConfig its metadata implies
// (architectures qwen3 and llama) and its tensors under the Hugging Face names load.cpp uses.
#pragma once

#include <string>

#include "config.h"
#include "gguf.h"
#include "safetensors.h"

namespace cx {

/** A GGUF model opened for load_model. */
struct GgufModel {
  ModelConfig config;
  SafetensorsSet tensors;  // HF names (model.layers.N.self_attn.q_proj.weight, ...), views into the GGUF
};

/** Opens `path` (a .gguf file, or any shard of a split one) and maps its metadata and tensor names.
 * Throws cx::Error: bad_model for a malformed file or missing metadata, unsupported_architecture for
 * an architecture, rope scaling, tensor or tensor type the engine does not run (each named). */
GgufModel open_gguf_model(const std::string& path);

/** The ModelConfig implied by a GGUF's metadata and tensor list (exposed for tests). */
ModelConfig gguf_model_config(const GgufSet& gguf);

}  // namespace cx
