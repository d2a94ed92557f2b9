// Model descriptions shared by several unit tests.
#pragma once

#include <string>

#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/model.hpp"

namespace sizeup::test {

// The error a config.json text gives, or "no error".
inline std::string error_of(const std::string& json) {
  try {
    model_from_config_text(json);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// The seed documents' 354,336,768-parameter example: V 50,000, d 1,024, d_ff 4,096, 16 heads
// of 64, 24 layers, 1,024 learned positions, no biases, two LayerNorms per layer, no final
// norm, tied output head.
inline ModelSpec seed_example() {
  ModelSpec m;
  m.name    = "seed";
  m.n_layer = 24, m.n_embd = 1024, m.n_head = 16, m.n_head_kv = 16, m.head_dim = 64;
  m.n_ff = 4096, m.n_vocab = 50000, m.n_ctx = 1024;
  m.positions = PositionKind::learned;
  m.norm = NormKind::layernorm, m.norm_bias = true, m.final_norm = false;
  m.mlp = MlpKind::plain, m.tied_head = true;
  return m;
}

}  // namespace sizeup::test
