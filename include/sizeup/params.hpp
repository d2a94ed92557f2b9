// Exact parameter counts, summed from the tensor table. Convention: HF num_parameters()
// (a tied head counted once, buffers such as rotary inv_freq not counted).
#pragma once

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

struct ParamsReport {
  Breakdown<ParamCount> components;  // one row per Component present, in table order
  ParamCount total          = 0;
  ParamCount embedding      = 0;  // token, segment and position tables plus an untied head
  ParamCount non_embedding  = 0;  // total - embedding
  ParamCount active         = 0;  // used per token: routed experts count n_expert_used/n_expert
  ParamCount vision_tower   = 0;  // multimodal: the image encoder (towers.hpp), in total
  ParamCount projector      = 0;  // multimodal: tower-to-language-model projector, in total
  ParamCount language_model = 0;  // total - vision_tower - projector
  Derivation active_derivation;
};

ParamsReport count_params(const ModelSpec& m);

// Storage of `params` values of `bits` each, rounded up to whole bytes (no quantisation
// scales; see the inference memory model for those).
ByteCount weight_bytes(ParamCount params, int bits);

}  // namespace sizeup
