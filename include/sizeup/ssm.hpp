// Recurrent layers: state-space (Mamba, Mamba-2) and linear-attention (gated DeltaNet) mixers.
// Their tensors join the one tensor table; instead of a KV cache that grows with the context
// they keep a fixed-size state per sequence (a convolution window and the recurrent state);
// their FLOPs add the scan to the matrix products of the table.
//
// Legend: d hidden size, D expanded channels (d_inner), N state size, K convolution kernel,
// R step rank (Mamba-1), h heads, P head width (Mamba-2), G groups, hk/hv DeltaNet key/value
// heads with widths dk/dv, C convolution channels, b sequences, t tensor-parallel ranks.
//
// Sources: Gu & Dao 2023, "Mamba", Sec. 3 and Alg. 2 (HF MambaMixer); Dao & Gu 2024,
// "Transformers are SSMs" (Mamba-2), Sec. 7 (HF Mamba2Mixer); Yang, Kautz & Hatamizadeh 2024,
// "Gated Delta Networks", Eq. 10 (HF Qwen3NextGatedDeltaNet); Lieber et al. 2024 (Jamba).
#pragma once

#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/tensors.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// The tensors of every recurrent layer of m, with repeat = the layers of each mixer kind
// (empty when every layer is attention). Names follow HF: "layers.*.mixer.in_proj.weight".
std::vector<Tensor> recurrent_tensors(const ModelSpec& m);

// Convolution channels C of a mixer: Mamba D; Mamba-2 D + 2·G·N; DeltaNet 2·hk·dk + hv·dv.
std::int64_t conv_channels(const ModelSpec& m, Mixer k);

// The state one sequence keeps per layer, in elements: the last K - 1 convolution inputs
// (C·(K-1)) and the recurrent state (Mamba D·N, Mamba-2 h·P·N, DeltaNet hv·dk·dv).
struct RecurrentStateShape {
  double conv_elements = 0;
  double ssm_elements  = 0;
};
RecurrentStateShape recurrent_state_per_layer(const ModelSpec& m, Mixer k);

// Rows of the recurrent state of b sequences on one of t ranks, in bytes of state_bytes per
// element (one row per mixer kind present; empty for a model without recurrent layers).
// The state does not depend on the context length.
Breakdown<double> recurrent_state_rows(const ModelSpec& m, double batch, int state_bytes,
                                       std::int64_t tp);

// FLOPs per token of the work of recurrent layers that is not a weight matmul of the table:
// the depthwise convolution and the scan (one row each per mixer kind present).
Breakdown<FlopCount> recurrent_flops_per_token(const ModelSpec& m);

}  // namespace sizeup
