#include "sizeup/json.hpp"

#include <algorithm>

namespace sizeup {

nlohmann::json to_json(const ModelSpec& m) {
  nlohmann::json j = {
      {"name", m.name},
      {"family", m.family},
      {"n_layer", m.n_layer},
      {"n_embd", m.n_embd},
      {"n_head", m.n_head},
      {"n_head_kv", m.n_head_kv},
      {"head_dim", m.head_dim},
      {"n_ff", m.n_ff},
      {"n_vocab", m.n_vocab},
      {"n_ctx", m.n_ctx},
      {"positions", to_string(m.positions)},
      {"norm", to_string(m.norm)},
      {"mlp", to_string(m.mlp)},
      {"activation", m.activation},
      {"tied_head", m.tied_head},
      {"attention", m.attention == AttentionKind::mla ? "mla" : "standard"},
  };
  if (m.is_moe()) {
    j["n_expert"]      = m.n_expert;
    j["n_expert_used"] = m.n_expert_used;
    j["n_ff_expert"]   = m.n_ff_expert;
    j["n_ff_shared"]   = m.n_ff_shared;
    j["n_moe_layers"]  = m.n_moe_layers();
  }
  if (m.sliding_window > 0) {
    j["sliding_window"]   = m.sliding_window;
    j["n_sliding_layers"] = m.n_sliding_layers();
  }
  if (m.chunked_attention) j["chunked_attention"] = true;
  if (!m.nope_layers.empty())
    j["n_nope_layers"] = std::count(m.nope_layers.begin(), m.nope_layers.end(), true);
  if (m.attn_sinks) j["attention_sinks"] = true;
  if (m.has_recurrent_layers()) {  // ssm.hpp: layers by mixer
    j["n_attention_layers"] = m.n_attention_layers();
    for (Mixer k : {Mixer::mamba, Mixer::mamba2, Mixer::gated_deltanet, Mixer::none})
      if (m.n_mixer_layers(k) > 0)
        j[std::string("n_") + to_string(k) + "_layers"] = m.n_mixer_layers(k);
  }
  if (m.vision.present()) j["vision_tower"] = to_string(m.vision.kind);  // towers.hpp
  if (m.n_mtp_layers > 0) {
    j["n_mtp_layers"] = m.n_mtp_layers;
    j["mtp_counted"]  = m.count_mtp;
  }
  if (m.quant.active())
    j["quantization"] = {{"method", m.quant.method},
                         {"format", to_string(m.quant.format)},
                         {"bits", m.quant.bits},
                         {"group_size", m.quant.group_size},
                         {"not_converted", m.quant.not_converted}};
  if (!m.not_counted.empty()) j["not_counted"] = m.not_counted;
  if (m.encoder_decoder) j["n_layer_dec"] = m.n_layer_dec;
  return j;
}

nlohmann::json to_json(const Derivation& d) {
  return {{"formula", d.formula}, {"substituted", d.substituted}, {"source", d.source}};
}

nlohmann::json to_json(const GpuSpec& g) {
  nlohmann::json j       = {{"name", g.name},
                            {"display_name", g.display_name},
                            {"aliases", g.aliases},
                            {"vendor", g.vendor},
                            {"memory_bytes", g.memory_bytes},
                            {"memory_gb", to_gb(g.memory_bytes)},
                            {"memory_gib", to_gib(g.memory_bytes)},
                            {"memory_bandwidth_bytes_per_s", g.memory_bandwidth_bytes_per_s},
                            {"peak_flops_per_s", g.peak_flops_per_s},
                            {"intra_node_bandwidth_bytes_per_s", g.intra_node_bandwidth_bytes_per_s},
                            {"inter_node_bandwidth_bytes_per_s", g.inter_node_bandwidth_bytes_per_s},
                            {"gpus_per_node", g.gpus_per_node},
                            {"source", g.source}};
  j["board_power_watts"] = g.board_power_watts ? nlohmann::json(*g.board_power_watts) : nullptr;
  return j;
}

}  // namespace sizeup
