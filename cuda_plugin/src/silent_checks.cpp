// silent_checks.cpp — see silent_checks.h.
#include "silent_checks.h"

#include <algorithm>
#include <cstring>

#include "error.h"

namespace cx {

void check_layer_count(const ModelConfig& config, const SafetensorsSet& tensors, const std::string& format) {
  const std::string prefix = "model.layers.";
  int file_layers = 0;
  for (const auto& [name, view] : tensors.tensors()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t end = name.find('.', prefix.size());
    const std::string index = name.substr(prefix.size(), end == std::string::npos ? std::string::npos
        : end - prefix.size());
    if (index.empty() || index.size() > 9 || index.find_first_not_of("0123456789") != std::string::npos) continue;
    file_layers = std::max(file_layers, std::stoi(index) + 1);
  }
  if (file_layers > config.layers) {
    throw Error(CX_ERR_BAD_MODEL, format + " says num_hidden_layers " + std::to_string(config.layers)
        + " but the weights hold " + std::to_string(file_layers) + " layers (model.layers.0 to model.layers."
        + std::to_string(file_layers - 1) + "); refusing to run a truncated model");
  }
}

void untie_distinct_lm_head(ModelConfig& config, const SafetensorsSet& tensors) {
  if (!config.tie_word_embeddings) return;
  const TensorView* head = tensors.find("lm_head.weight");
  const TensorView* embed = tensors.find("model.embed_tokens.weight");
  if (head == nullptr || embed == nullptr) return;
  const bool same = head->dtype == embed->dtype && head->shape == embed->shape && head->bytes == embed->bytes
      && std::memcmp(head->data, embed->data, head->bytes) == 0;
  if (!same) config.tie_word_embeddings = false;
}

}  // namespace cx
