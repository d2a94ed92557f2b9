// The tensor table. One builder for every family: each tensor's presence and shape follow
// from ModelSpec flags, and the shapes are those of the HF transformers implementations
// (nn.Linear weights are {out, in}). Legend: V vocab, d n_embd, H n_head, K n_head_kv,
// hd head_dim, f n_ff, E n_expert, fe n_ff_expert, L layers holding the tensor.
#include "sizeup/tensors.hpp"

#include <optional>

#include "sizeup/checked.hpp"
#include "sizeup/ssm.hpp"
#include "sizeup/towers.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

class TableBuilder {
 public:
  TableBuilder(const ModelSpec& m, Stack stack) : m_(m), stack_(stack) {}

  // Adds a tensor held by `repeat` layers (none if repeat is 0).
  void add(std::string name, std::string module, Component c, std::vector<I> shape, I repeat,
           bool matmul = false, Split split = Split::replicated, bool tied = false,
           Proj proj = Proj::none) {
    if (repeat <= 0) return;
    Tensor t;
    t.placement = placement_;
    t.proj      = proj;
    t.source    = source_;
    t.tied      = tied;
    if (force_) c = *force_;
    t.name      = std::move(name);
    t.hf_module = fused_name(module);
    t.module    = std::move(module);
    t.component = c;
    t.shape     = std::move(shape);
    t.repeat    = repeat;
    t.is_matmul = matmul;
    t.split     = split;
    t.stack     = stack_;
    out_.push_back(std::move(t));
  }
  // nn.Linear(in, out, bias): weight {out, in}, optional bias {out}.
  void linear(const std::string& name, const std::string& module, Proj proj, Component c, I in,
              I out, bool bias, I repeat, Split split) {
    add(name + ".weight", module, c, {out, in}, repeat, true, split, false, proj);
    // A row-parallel bias is added after the all-reduce, so it stays whole on each rank.
    if (bias)
      add(name + ".bias", module, c, {out}, repeat, false,
          split == Split::row ? Split::replicated : split, false, proj);
  }
  void norm(const std::string& name, I width, I repeat, bool with_bias) {
    add(name + ".weight", "norm", Component::norm, {width}, repeat);
    if (with_bias) add(name + ".bias", "norm", Component::norm, {width}, repeat);
  }
  std::vector<Tensor> take() { return std::move(out_); }
  // The HF module a tensor lives in: fused q/k/v or gate/up modules where the family fuses.
  std::string fused_name(const std::string& module) const {
    const bool qkv     = module == "q_proj" || module == "k_proj" || module == "v_proj";
    const bool gate_up = module == "gate_proj" || module == "up_proj";
    if (qkv && !m_.qkv_fused_module.empty() && stack_ == Stack::decoder) return m_.qkv_fused_module;
    if (gate_up && !m_.gate_up_fused_module.empty()) return m_.gate_up_fused_module;
    return module;
  }
  void append(std::vector<Tensor> more) {
    for (auto& t : more) out_.push_back(std::move(t));
  }
  const ModelSpec& m() const { return m_; }
  void set_stack(Stack s) { stack_ = s; }
  void set_placement(Placement p) { placement_ = p; }
  void set_source(AttnSource s) { source_ = s; }
  // Tags every tensor added from now on with component `c` (the MTP block), or stops doing so.
  void force_component(std::optional<Component> c) { force_ = c; }

 private:
  const ModelSpec& m_;
  Stack stack_;
  Placement placement_ = Placement::input;
  AttnSource source_   = AttnSource::self;
  std::optional<Component> force_;
  std::vector<Tensor> out_;
};

bool layer_norm_bias(const ModelSpec& m) { return m.norm == NormKind::layernorm && m.norm_bias; }

// Standard (MHA/GQA/MQA) attention: q {H*hd, d}, k and v {K*hd, d}, o {d, H*hd}.
void standard_attention(TableBuilder& b, const std::string& p, I L) {
  const auto& m = b.m();
  // Qwen3-Next gated attention: q_proj also emits a sigmoid gate per query channel.
  const I q_out = m.attn_output_gate ? 2 * m.q_width() : m.q_width();
  b.linear(p + "q_proj", "q_proj", Proj::q, Component::attention, m.n_embd, q_out, m.q_bias, L,
           Split::column);
  b.linear(p + "k_proj", "k_proj", Proj::k, Component::attention, m.n_embd, m.kv_width(), m.k_bias,
           L, Split::column);
  b.linear(p + "v_proj", "v_proj", Proj::v, Component::attention, m.n_embd, m.kv_width(), m.v_bias,
           L, Split::column);
  b.linear(p + "o_proj", "o_proj", Proj::o, Component::attention, m.q_width(), m.n_embd, m.o_bias,
           L, Split::row);
  // gpt-oss: one learned sink logit per query head joins each softmax (HF GptOssAttention.sinks).
  if (m.attn_sinks) b.add(p + "sinks", "sinks", Component::attention, {m.n_head}, L);
  if (m.qk_norm == QkNorm::per_head) {
    b.add(p + "q_norm.weight", "q_norm", Component::attention, {m.head_dim}, L);
    b.add(p + "k_norm.weight", "k_norm", Component::attention, {m.head_dim}, L);
  } else if (m.qk_norm == QkNorm::full) {
    b.add(p + "q_norm.weight", "q_norm", Component::attention, {m.q_width()}, L);
    b.add(p + "k_norm.weight", "k_norm", Component::attention, {m.kv_width()}, L);
  }
}

// DeepSeek-V2 multi-head latent attention (DeepSeek-AI 2024, arXiv:2405.04434, Sec. 2.1;
// shapes as in HF DeepseekV2Attention). r_q q_lora_rank, r_kv kv_lora_rank,
// n qk_nope_head_dim, r qk_rope_head_dim, v v_head_dim.
void latent_attention(TableBuilder& b, const std::string& p, I L) {
  const auto& m   = b.m();
  const I qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim;
  if (m.q_lora_rank > 0) {
    b.linear(p + "q_a_proj", "q_a_proj", Proj::q_a, Component::attention, m.n_embd, m.q_lora_rank,
             m.q_bias, L, Split::replicated);
    b.add(p + "q_a_layernorm.weight", "norm", Component::attention, {m.q_lora_rank}, L);
    b.linear(p + "q_b_proj", "q_b_proj", Proj::q, Component::attention, m.q_lora_rank,
             m.n_head * qk_head, false, L, Split::column);
  } else {
    b.linear(p + "q_proj", "q_proj", Proj::q, Component::attention, m.n_embd, m.n_head * qk_head,
             false, L, Split::column);
  }
  b.linear(p + "kv_a_proj_with_mqa", "kv_a_proj_with_mqa", Proj::kv_a, Component::attention,
           m.n_embd, m.kv_lora_rank + m.qk_rope_head_dim, m.q_bias, L, Split::replicated);
  b.add(p + "kv_a_layernorm.weight", "norm", Component::attention, {m.kv_lora_rank}, L);
  b.linear(p + "kv_b_proj", "kv_b_proj", Proj::kv_b, Component::attention, m.kv_lora_rank,
           m.n_head * (m.qk_nope_head_dim + m.v_head_dim), false, L, Split::column);
  b.linear(p + "o_proj", "o_proj", Proj::o, Component::attention, m.n_head * m.v_head_dim, m.n_embd,
           m.o_bias, L, Split::row);
}

// MLP of width f: gated has gate and up {f, d} and down {d, f}; plain has up and down.
void feed_forward(TableBuilder& b, const std::string& p, Component c, I f, bool bias, I L) {
  const auto& m = b.m();
  if (m.mlp == MlpKind::gated)
    b.linear(p + "gate_proj", "gate_proj", Proj::gate, c, m.n_embd, f, bias, L, Split::column);
  b.linear(p + "up_proj", "up_proj", Proj::up, c, m.n_embd, f, bias, L, Split::column);
  b.linear(p + "down_proj", "down_proj", Proj::down, c, f, m.n_embd, bias, L, Split::row);
}

// Routed experts, stacked {E, out, in}; experts are split across ranks by expert parallelism.
void routed_experts(TableBuilder& b, const std::string& p, I L) {
  const auto& m = b.m();
  const I E = m.n_expert, d = m.n_embd, fe = m.n_ff_expert;
  b.add(p + "gate.weight", "router", Component::router, {E, d}, L, true, Split::replicated, false,
        Proj::router);
  if (m.router_bias) b.add(p + "gate.e_score_correction_bias", "router", Component::router, {E}, L);
  if (m.expert_bias) b.add(p + "gate.bias", "router", Component::router, {E}, L);
  if (m.mlp == MlpKind::gated)
    b.add(p + "experts.gate_proj.weight", "gate_proj", Component::routed_experts, {E, fe, d}, L,
          true, Split::expert, false, Proj::gate);
  b.add(p + "experts.up_proj.weight", "up_proj", Component::routed_experts, {E, fe, d}, L, true,
        Split::expert, false, Proj::up);
  b.add(p + "experts.down_proj.weight", "down_proj", Component::routed_experts, {E, d, fe}, L, true,
        Split::expert, false, Proj::down);
  if (m.expert_bias) {  // gpt-oss: gate_up_proj_bias {E, 2 fe} (here gate and up), down {E, d}
    if (m.mlp == MlpKind::gated)
      b.add(p + "experts.gate_proj.bias", "gate_proj", Component::routed_experts, {E, fe}, L, false,
            Split::expert, false, Proj::gate);
    b.add(p + "experts.up_proj.bias", "up_proj", Component::routed_experts, {E, fe}, L, false,
          Split::expert, false, Proj::up);
    b.add(p + "experts.down_proj.bias", "down_proj", Component::routed_experts, {E, d}, L, false,
          Split::expert, false, Proj::down);
  }
  if (m.n_ff_shared > 0)
    feed_forward(b, p + "shared_experts.", Component::shared_experts, m.n_ff_shared, false, L);
  if (m.shared_expert_gate)
    b.linear(p + "shared_expert_gate", "shared_expert_gate", Proj::other, Component::shared_experts,
             d, 1, false, L, Split::replicated);
}

const char* const kNormNames[] = {"input_layernorm", "post_attention_layernorm",
                                  "pre_feedforward_layernorm", "post_feedforward_layernorm"};

void layer_norms(TableBuilder& b, const std::string& p, I count, I L) {
  const auto& m = b.m();
  for (I i = 0; i < count; ++i) {
    const std::string name = i < 4 ? kNormNames[i] : "norm_" + std::to_string(i);
    b.norm(p + name, m.n_embd, L, layer_norm_bias(m));
  }
}

void attention_block(TableBuilder& b, const std::string& p, I L) {
  if (b.m().attention == AttentionKind::mla)
    latent_attention(b, p, L);
  else
    standard_attention(b, p, L);
}

// The repeated decoder (or encoder-only) layers, grouped by dense vs MoE MLP.
void decoder_layers(TableBuilder& b) {
  const auto& m   = b.m();
  const I n_moe   = m.n_moe_layers();
  const I n_dense = m.n_layer - n_moe - m.n_mlp_free_layers();
  attention_block(b, "layers.*.self_attn.", m.n_attention_layers());
  b.append(recurrent_tensors(m));  // Mamba / Mamba-2 / DeltaNet layers (ssm.hpp)
  layer_norms(b, "layers.*.", m.norms_per_layer, m.n_layer);
  feed_forward(b, "layers.*.mlp.", Component::mlp, m.n_ff, m.mlp_bias, n_dense);
  routed_experts(b, "layers.*.moe.", n_moe);
}

// Multi-token prediction (DeepSeek-V3 report, arXiv:2412.19437, Sec. 2.2; GLM-4.5): per
// prediction depth, RMSNorms of the hidden state and of the next token's embedding (hnorm,
// enorm), a projection {d, 2d} of their concatenation, one decoder layer (MoE when the model
// is) and the norm before the head. The paper shares embedding and head with the main model;
// the published checkpoints store a copy of each in the MTP layer (embed_tokens,
// shared_head.head), and those copies are counted here, as stored.
void mtp_layers(TableBuilder& b) {
  const auto& m = b.m();
  const I D = m.n_mtp_layers, d = m.n_embd;
  b.force_component(Component::mtp);
  b.norm("mtp.*.enorm", d, D, false);
  b.norm("mtp.*.hnorm", d, D, false);
  b.linear("mtp.*.eh_proj", "eh_proj", Proj::other, Component::mtp, 2 * d, d, false, D,
           Split::replicated);
  attention_block(b, "mtp.*.self_attn.", D);
  layer_norms(b, "mtp.*.", m.norms_per_layer, D);
  if (m.is_moe())
    routed_experts(b, "mtp.*.moe.", D);
  else
    feed_forward(b, "mtp.*.mlp.", Component::mlp, m.n_ff, m.mlp_bias, D);
  b.norm("mtp.*.shared_head.norm", d, D, false);
  b.add("mtp.*.embed_tokens.weight", "embed_tokens", Component::mtp, {m.n_vocab, d}, D, false,
        Split::vocab);
  b.add("mtp.*.shared_head.head.weight", "lm_head", Component::mtp, {m.n_vocab, d}, D, true,
        Split::vocab, false, Proj::head);
  b.force_component(std::nullopt);
}

// Marks the weights the checkpoint stores quantised (quantization_config): the linear weights
// inside the repeated layers (AutoGPTQ, AutoAWQ, bitsandbytes, compressed-tensors replace
// these), less the roles modules_to_not_convert keeps in float; the head only when asked.
void mark_stored_quant(const ModelSpec& m, std::vector<Tensor>& table) {
  const auto& q = m.quant;
  if (!q.active()) return;
  for (auto& t : table) {
    if (!t.is_matmul || t.tied || t.shape.size() < 2) continue;
    bool quantised = false;
    switch (t.component) {
      case Component::attention:
        quantised = !q.keep_attention;
        break;
      case Component::mlp:
        quantised = !q.keep_mlp;
        break;
      case Component::routed_experts:
      case Component::shared_experts:
        quantised = !q.keep_experts;
        break;
      case Component::output_head:
        quantised = q.quantize_head;
        break;
      default:
        break;
    }
    t.stored_quantized = quantised && (t.in_layers() || t.component == Component::output_head);
  }
}

void embeddings(TableBuilder& b) {
  const auto& m   = b.m();
  const I e_width = m.embd_proj_dim > 0 ? m.embd_proj_dim : m.n_embd;
  b.add("embed_tokens.weight", "embed_tokens", Component::token_embedding, {m.n_vocab, e_width}, 1,
        false, Split::vocab);
  if (m.embd_proj_dim > 0) {  // OPT-350m: project_in {d, p}, project_out {p, d}, no bias
    b.linear("project_in", "project_in", Proj::other, Component::token_embedding, e_width, m.n_embd,
             false, 1, Split::replicated);
    // project_out runs after the last layer (HF OPTDecoder), on the last pipeline stage.
    b.set_placement(Placement::output);
    b.linear("project_out", "project_out", Proj::other, Component::token_embedding, m.n_embd,
             e_width, false, 1, Split::replicated);
    b.set_placement(Placement::input);
  }
  if (m.positions == PositionKind::learned)
    b.add("embed_positions.weight", "embed_positions", Component::position_embedding,
          {m.n_ctx + m.position_offset, m.n_embd}, 1);
  if (m.n_token_types > 0)
    b.add("token_type_embeddings.weight", "token_type_embeddings", Component::token_embedding,
          {m.n_token_types, m.n_embd}, 1);
  if (m.embedding_norm) b.norm("embedding_layernorm", m.n_embd, 1, layer_norm_bias(m));
}

void output_head(TableBuilder& b) {
  const auto& m   = b.m();
  const I e_width = m.embd_proj_dim > 0 ? m.embd_proj_dim : m.n_embd;
  // A tied head multiplies by the embedding matrix: FLOPs counted, parameters not.
  b.add("lm_head.weight", "lm_head", Component::output_head, {m.n_vocab, e_width}, 1, true,
        Split::vocab, m.tied_head, Proj::head);
  if (m.head_bias)
    b.add("lm_head.bias", "lm_head", Component::output_head, {m.n_vocab}, 1, false, Split::vocab,
          false, Proj::head);
}

// T5 (Raffel et al. 2020; HF T5ForConditionalGeneration): encoder and decoder stacks,
// relative position bias {buckets, H} in the first block of each stack, weight-only norms.
std::vector<Tensor> t5_stack(const ModelSpec& m, Stack stack) {
  TableBuilder b(m, stack);
  b.set_placement(Placement::layer);
  const bool enc      = stack == Stack::encoder;
  const I L           = enc ? m.n_layer : m.n_layer_dec;
  const std::string p = enc ? "encoder.block.*." : "decoder.block.*.";
  standard_attention(b, p + "self_attn.", L);
  b.add(p + "relative_attention_bias.weight", "relative_attention_bias",
        Component::position_embedding, {m.n_rel_buckets, m.n_head}, 1);
  if (!enc) {
    b.set_source(AttnSource::cross);
    standard_attention(b, p + "cross_attn.", L);
    b.set_source(AttnSource::self);
  }
  layer_norms(b, p, m.norms_per_layer + (enc ? 0 : 1), L);
  feed_forward(b, p + "mlp.", Component::mlp, m.n_ff, m.mlp_bias, L);
  b.set_placement(Placement::output);  // after the stack's last block
  b.norm(std::string(enc ? "encoder" : "decoder") + ".final_layer_norm", m.n_embd, 1,
         layer_norm_bias(m));
  return b.take();
}

}  // namespace

ParamCount Tensor::elements_per_layer() const {
  ParamCount n = 1;
  for (auto s : shape) n = checked_mul(n, static_cast<ParamCount>(s), name);
  return n;
}

ParamCount Tensor::elements() const {
  return tied ? 0 : checked_mul(elements_per_layer(), static_cast<ParamCount>(repeat), name);
}

std::vector<Tensor> tensor_table(const ModelSpec& m) {
  TableBuilder b(m, m.encoder_decoder || !m.causal ? Stack::encoder : Stack::decoder);
  b.set_placement(Placement::input);
  b.append(vision_tensors(m));  // multimodal: vision tower and projector first (towers.hpp)
  embeddings(b);
  if (m.encoder_decoder) {
    b.append(t5_stack(m, Stack::encoder));
    b.append(t5_stack(m, Stack::decoder));
  } else {
    b.set_placement(Placement::layer);
    decoder_layers(b);
  }
  b.set_placement(Placement::output);
  if (!m.encoder_decoder && m.final_norm) b.norm("norm", m.n_embd, 1, layer_norm_bias(m));
  if (m.pooler)
    b.linear("pooler.dense", "pooler", Proj::other, Component::pooler, m.n_embd, m.n_embd, true, 1,
             Split::replicated);
  b.set_stack(Stack::decoder);
  if (m.causal || m.encoder_decoder) output_head(b);  // BERT base model: no LM head
  if (m.count_mtp && m.n_mtp_layers > 0) mtp_layers(b);
  auto table = b.take();
  mark_stored_quant(m, table);
  return table;
}

const char* to_string(Component c) {
  switch (c) {
    case Component::token_embedding:
      return "token_embedding";
    case Component::position_embedding:
      return "position_embedding";
    case Component::attention:
      return "attention";
    case Component::mlp:
      return "mlp";
    case Component::router:
      return "router";
    case Component::routed_experts:
      return "routed_experts";
    case Component::shared_experts:
      return "shared_experts";
    case Component::norm:
      return "norm";
    case Component::output_head:
      return "output_head";
    case Component::pooler:
      return "pooler";
    case Component::ssm:
      return "ssm";
    case Component::vision_tower:
      return "vision_tower";
    case Component::audio_tower:
      return "audio_tower";
    case Component::projector:
      return "projector";
    case Component::mtp:
      return "mtp";
  }
  return "?";
}

const char* to_string(Placement p) {
  switch (p) {
    case Placement::input:
      return "input";
    case Placement::layer:
      return "layer";
    case Placement::output:
      return "output";
  }
  return "?";
}

bool is_tower_component(Component c) {
  return c == Component::vision_tower || c == Component::audio_tower || c == Component::projector;
}

const char* to_string(Split s) {
  switch (s) {
    case Split::replicated:
      return "replicated";
    case Split::column:
      return "column";
    case Split::row:
      return "row";
    case Split::vocab:
      return "vocab";
    case Split::expert:
      return "expert";
  }
  return "?";
}

}  // namespace sizeup
