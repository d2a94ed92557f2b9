// Inference memory, fit and roofline. See include/sizeup/inference.hpp for the legend and the
// sources; docs/inference.md for the formulas with worked examples.
#include "sizeup/inference.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/error.hpp"
#include "sizeup/layout.hpp"
#include "sizeup/ssm.hpp"
#include "sizeup/tensors.hpp"
#include "sizeup/towers.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

// 2^53: every whole number below it is exact in a double.
constexpr double kExactLimit = 9007199254740992.0;

std::string num(double v) {
  if (v < kExactLimit && v == std::floor(v))
    return fmt::format("{}", static_cast<std::uint64_t>(v));
  return fmt::format("{:.6g}", v);
}

double ceil_div(double a, double b) { return std::ceil(a / b); }

bool is_16bit_format(WeightFormat f) {
  return f == WeightFormat::bf16 || f == WeightFormat::fp16 || f == WeightFormat::fp32;
}

// Bytes per element of tensors kept unquantised: fp32 when serving in fp32, else 16-bit.
int plain_bytes(WeightFormat f) { return f == WeightFormat::fp32 ? 4 : 2; }

// A linear layer inside a transformer block: the tensors AutoGPTQ, AutoAWQ and bitsandbytes
// replace. Embeddings, norms, biases, MoE routers and (by default) the head stay in 16-bit.
bool quantizable(const Tensor& t, const InferenceInput& in) {
  if (!t.is_matmul || t.shape.size() < 2 || t.tied) return false;
  switch (t.component) {
    case Component::attention:
    case Component::mlp:
    case Component::routed_experts:
    case Component::shared_experts:
    case Component::ssm:  // in_proj / out_proj of Mamba and DeltaNet layers
      return true;
    case Component::output_head:
      return in.quantize_head;
    default:
      return false;
  }
}

void check_input(const ModelSpec& m, const InferenceInput& in) {
  if (in.batch < 1) throw InputError("invalid batch", "batch", "must be at least 1");
  if (in.context < 1) throw InputError("invalid context", "context", "must be at least 1 token");
  if (in.encoder_seq < 0)
    throw InputError("invalid encoder length", "encoder_seq", "must be at least 1 token");
  if (in.tp < 1) throw InputError("invalid tensor parallelism", "tp", "must be at least 1");
  if (in.group_size < 1) throw InputError("invalid group size", "group_size", "must be at least 1");
  if (in.prefill_chunk < 1)
    throw InputError("invalid prefill chunk", "prefill_chunk", "must be at least 1 token");
  if (in.kv_bytes != 1 && in.kv_bytes != 2 && in.kv_bytes != 4)
    throw InputError("invalid KV dtype", "kv_dtype", "must be 1, 2 or 4 bytes per element");
  if (in.state_bytes != 1 && in.state_bytes != 2 && in.state_bytes != 4)
    throw InputError("invalid state dtype", "state_dtype", "must be 1, 2 or 4 bytes per element");
  check_tensor_parallel(m, in.tp);  // layout.hpp: KV heads split, or replicated when fewer
}

struct WeightTally {
  double quantized      = 0;  // quantised matrices incl. scales and zeros, per GPU
  double quant_overhead = 0;  // the scales/zeros/indices part of `quantized`
  double plain          = 0;  // 16-bit (or fp32) tensors, per GPU
  double routed         = 0;  // routed-expert bytes (part of the above), per GPU
  double embedding      = 0;  // token/position tables (read one row per token), per GPU
  double stored         = 0;  // weights kept in the checkpoint's quantised format, per GPU
  double total() const { return quantized + plain + stored; }
};

// The serving format of the weights a checkpoint stores quantised (quantization_config):
// engines such as vLLM load them as stored, whatever dtype the rest is served in.
WeightFormat stored_format(const Quantization& q) {
  switch (q.format) {
    case StoredQuant::gptq:
      return q.bits == 4 ? WeightFormat::gptq_int4 : WeightFormat::int8;
    case StoredQuant::awq:
      return q.bits == 4 ? WeightFormat::awq_int4 : WeightFormat::int8;
    case StoredQuant::bnb_int8:
    case StoredQuant::int8:
      return WeightFormat::int8;
    case StoredQuant::bnb_nf4:
      return WeightFormat::nf4;
    case StoredQuant::fp8:
      return WeightFormat::fp8;
    case StoredQuant::mxfp4:
      return WeightFormat::mxfp4;
    case StoredQuant::int4:
      return WeightFormat::int4;
    case StoredQuant::none:
      break;
  }
  return WeightFormat::bf16;
}

WeightTally tally_weights(const ModelSpec& m, const InferenceInput& in) {
  WeightTally w;
  const double tp = static_cast<double>(in.tp);
  for (const Tensor& t : tensor_table(m)) {
    if (t.tied) continue;
    // Column, row, vocab and expert splits shard the tensor t ways (Megatron-LM Sec. 3;
    // vLLM shards each expert's width under tensor parallelism); the rest is replicated.
    // Key and value projections split min(t, K) ways: fewer KV heads than ranks are replicated.
    const bool kv       = t.proj == Proj::k || t.proj == Proj::v;
    const double shards = t.split == Split::replicated ? 1.0
                          : kv && m.attention == AttentionKind::standard
                              ? static_cast<double>(kv_shards(m, in.tp))
                              : tp;
    double bytes = 0, overhead = 0;
    if (t.stored_quantized) {
      const I rows = t.shape[t.shape.size() - 2];
      const I cols = t.shape.back();
      double mats  = static_cast<double>(t.repeat);
      for (std::size_t i = 0; i + 2 < t.shape.size(); ++i) mats *= static_cast<double>(t.shape[i]);
      const I g = m.quant.group_size > 0 ? m.quant.group_size : cols;  // GPTQ -1: one group
      if (m.quant.format == StoredQuant::fp8 && m.quant.block_rows > 0) {
        // HF FineGrainedFP8 / DeepSeek-V3: e4m3 values + one fp32 scale per block of
        // block_rows x block_cols (weight_scale_inv).
        const double r = static_cast<double>(rows), c = static_cast<double>(cols);
        const double blocks = ceil_div(r, static_cast<double>(m.quant.block_rows)) *
                              ceil_div(c, static_cast<double>(m.quant.block_cols));
        bytes = mats * (r * c + 4 * blocks);
      } else {
        bytes = quantized_matrix_bytes(stored_format(m.quant), mats, rows, cols, g,
                                       m.quant.double_quant);
      }
      w.stored += ceil_div(bytes, shards);
    } else if (!is_16bit_format(in.weights) && quantizable(t, in)) {
      const I rows = t.shape[t.shape.size() - 2];
      const I cols = t.shape.back();
      double mats  = static_cast<double>(t.repeat);
      for (std::size_t i = 0; i + 2 < t.shape.size(); ++i) mats *= static_cast<double>(t.shape[i]);
      bytes = quantized_matrix_bytes(in.weights, mats, rows, cols, in.group_size, in.double_quant);
      overhead =
          bytes -
          mats * static_cast<double>(rows) * static_cast<double>(cols) *
              (in.weights == WeightFormat::fp8 || in.weights == WeightFormat::int8 ? 1.0 : 0.5);
      w.quantized += ceil_div(bytes, shards);
      w.quant_overhead += ceil_div(overhead, shards);
    } else {
      bytes = static_cast<double>(t.elements()) * plain_bytes(in.weights);
      w.plain += ceil_div(bytes, shards);
    }
    if (t.component == Component::routed_experts) w.routed += ceil_div(bytes, shards);
    if (t.component == Component::token_embedding || t.component == Component::position_embedding)
      if (!t.is_matmul) w.embedding += ceil_div(bytes, shards);
  }
  return w;
}

// Tokens cached by layer i for one sequence: min(w, s) on sliding-window layers.
double layer_tokens(const ModelSpec& m, I i, double s) {
  return m.is_sliding_layer(i) && m.sliding_window > 0
             ? std::min(static_cast<double>(m.sliding_window), s)
             : s;
}

struct KvTally {
  Breakdown<double> rows;
  double total = 0;
};

// Images join each sequence as tokens (towers.hpp): the context the language model caches is
// the text context plus images x tokens per image.
InferenceInput with_image_tokens(const ModelSpec& m, const InferenceInput& in,
                                 std::vector<std::string>* notes) {
  if (in.images < 0) throw InputError("invalid images", "images", "must not be negative");
  if (in.images == 0) return in;
  if (!m.vision.present())
    throw InputError("not a multimodal model", "images",
                     "the model has no vision tower (its config has no vision_config)");
  if (in.images > 100000)
    throw InputError("invalid images", "images", "more than 100000 images per sequence");
  const ImageCost c  = image_cost(m, in.image_size);
  InferenceInput out = in;
  out.context        = in.context + in.images * c.tokens;
  if (notes)
    notes->push_back(fmt::format(
        "{} image(s) of {} px per sequence: {} tokens each ({}), so {} text + {} image tokens "
        "are cached",
        in.images, in.image_size > 0 ? in.image_size : m.vision.image_size, c.tokens,
        c.rows.find("tokens")->derivation.substituted, in.context, in.images * c.tokens));
  return out;
}

// Recurrent layers (Mamba, Mamba-2, DeltaNet) keep a fixed-size state per sequence instead of
// K and V; it is held beside the KV cache and counted with it (ssm.hpp).
void add_recurrent_state(KvTally& kv, const ModelSpec& m, const InferenceInput& in,
                         std::vector<std::string>* notes) {
  const auto rows = recurrent_state_rows(m, static_cast<double>(in.batch), in.state_bytes, in.tp);
  for (const auto& row : rows.rows) {
    kv.rows.rows.push_back(row);
    kv.total += row.value;
  }
  if (notes && !rows.rows.empty())
    notes->push_back(fmt::format(
        "{} of {} layers are recurrent: each sequence keeps a fixed-size state there ({} bytes "
        "per element) that does not grow with the context; only the {} attention layers cache "
        "K and V",
        m.n_layer - m.n_attention_layers() - m.n_mixer_layers(Mixer::none), m.n_layer,
        in.state_bytes, m.n_attention_layers()));
}

KvTally kv_cache_attention(const ModelSpec& m, const InferenceInput& in,
                           std::vector<std::string>* notes);

KvTally kv_cache(const ModelSpec& m, const InferenceInput& in, std::vector<std::string>* notes) {
  KvTally kv = kv_cache_attention(m, in, notes);
  add_recurrent_state(kv, m, in, notes);
  return kv;
}

KvTally kv_cache_attention(const ModelSpec& m, const InferenceInput& in,
                           std::vector<std::string>* notes) {
  KvTally kv;
  const double b = static_cast<double>(in.batch), s = static_cast<double>(in.context);
  const double p  = in.kv_bytes;
  const I Kg      = kv_heads_per_rank(m, in.tp);
  const double hd = static_cast<double>(m.head_dim);
  const std::string src =
      "Pope et al. 2022, Sec. 3.1: K and V of every cached token in every layer";
  auto add = [&](const std::string& key, const std::string& label, double value,
                 const std::string& formula, const std::string& subst, const std::string& source) {
    kv.rows.rows.push_back({key, label, value, {formula, subst, source}});
    kv.total += value;
  };
  if (!m.causal && !m.encoder_decoder) {
    if (notes)
      notes->push_back("encoder-only model: no KV cache (every token is processed at once)");
    return kv;
  }
  const std::string kv_heads_note =
      m.n_head_kv < in.tp
          ? fmt::format(" (K = {} < t = {}: one replicated head per rank)", m.n_head_kv, in.tp)
          : "";
  if (m.encoder_decoder) {
    // T5: each decoder layer caches its self-attention K/V for the s generated tokens and the
    // cross-attention K/V of the encoder output (computed once, HF EncoderDecoderCache).
    const double Ld  = static_cast<double>(m.n_layer_dec);
    const double enc = in.encoder_seq > 0 ? static_cast<double>(in.encoder_seq) : s;
    const double per = 2.0 * static_cast<double>(Kg) * hd * p;
    add("kv_self_attention", "decoder self-attention", b * s * Ld * per,
        "b * s * L_dec * 2 * K/t * hd * p",
        fmt::format("{} * {} * {} * 2 * {} * {} * {}", num(b), num(s), num(Ld), Kg, num(hd), p) +
            kv_heads_note,
        src);
    add("kv_cross_attention", "decoder cross-attention (encoder output)", b * enc * Ld * per,
        "b * s_enc * L_dec * 2 * K/t * hd * p",
        fmt::format("{} * {} * {} * 2 * {} * {} * {}", num(b), num(enc), num(Ld), Kg, num(hd), p),
        "HF T5 EncoderDecoderCache: cross-attention K/V of the encoder output per decoder layer");
    return kv;
  }
  if (m.attention == AttentionKind::mla) {
    const double L = static_cast<double>(m.n_attention_layers());
    if (in.mla_cache == MlaCache::latent) {
      const double width = static_cast<double>(m.kv_lora_rank + m.qk_rope_head_dim);
      add("kv_latent", "MLA latent (c_kv + k_rope)", b * s * L * width * p,
          "b * s * L * (r_kv + r_rope) * p",
          fmt::format("{} * {} * {} * ({} + {}) * {}", num(b), num(s), num(L), m.kv_lora_rank,
                      m.qk_rope_head_dim, p),
          "DeepSeek-AI 2024 (arXiv:2405.04434) Sec. 2.1.2: only c_kv and the decoupled RoPE key "
          "are cached; vLLM/SGLang hold it whole on every tensor-parallel rank");
    } else {
      const double Hg = static_cast<double>(m.n_head / in.tp);
      const double width =
          Hg * static_cast<double>(m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim);
      add("kv_mla_full", "MLA full K/V (HF eager)", b * s * L * width * p,
          "b * s * L * H/t * (d_nope + d_rope + d_v) * p",
          fmt::format("{} * {} * {} * {} * ({} + {} + {}) * {}", num(b), num(s), num(L), num(Hg),
                      m.qk_nope_head_dim, m.qk_rope_head_dim, m.v_head_dim, p),
          "HF transformers DeepseekV2Attention: decompressed per-head K and V are cached");
    }
    return kv;
  }
  const I L        = m.n_attention_layers();  // recurrent layers cache no K and V
  const I Lsliding = m.sliding_window > 0 ? m.n_sliding_layers() : 0;
  const double per = 2.0 * static_cast<double>(Kg) * hd * p;
  if (L - Lsliding > 0) {
    const double Lf = static_cast<double>(L - Lsliding);
    add("kv_full_attention", "full-attention layers", b * s * Lf * per,
        "b * s * L * 2 * K/t * hd * p",
        fmt::format("{} * {} * {} * 2 * {} * {} * {}", num(b), num(s), num(Lf), Kg, num(hd), p) +
            kv_heads_note,
        src);
  }
  if (Lsliding > 0) {
    const double Ls = static_cast<double>(Lsliding);
    const double w  = layer_tokens(
         m,
         [&] {
          for (I i = 0; i < L; ++i)
            if (m.is_sliding_layer(i)) return i;
          return I{0};
        }(),
         s);
    add("kv_sliding_window", "sliding-window layers", b * w * Ls * per,
        "b * min(w, s) * L_sliding * 2 * K/t * hd * p",
        fmt::format("{} * min({}, {}) * {} * 2 * {} * {} * {}", num(b), m.sliding_window, num(s),
                    num(Ls), Kg, num(hd), p) +
            kv_heads_note,
        "Beltagy et al. 2020 (Longformer) / Jiang et al. 2023 (Mistral 7B) Sec. 2: a sliding layer "
        "attends to the last w tokens, so a rolling buffer of w tokens suffices");
  }
  return kv;
}

// Elements live at the peak of one layer's forward over T tokens (flash attention: no s x s
// score matrix), per rank. Attention phase: residual, normed input, q/k/v, attention output,
// o_proj output. MLP phase: residual, normed input, gate/up (and their product), down output.
struct Workspace {
  double elements = 0;
  std::string formula, subst;
};

Workspace layer_workspace(const ModelSpec& m, const InferenceInput& in, double T) {
  const double d = static_cast<double>(m.n_embd), t = static_cast<double>(in.tp);
  const double H = static_cast<double>(m.n_head), hd = static_cast<double>(m.head_dim);
  const double Kg = static_cast<double>(kv_heads_per_rank(m, in.tp));
  double attn     = 0;
  if (m.attention == AttentionKind::mla) {
    const double qk = static_cast<double>(m.qk_nope_head_dim + m.qk_rope_head_dim);
    const double v  = static_cast<double>(m.v_head_dim);
    attn = T * (3 * d + H / t * qk + static_cast<double>(m.kv_lora_rank + m.qk_rope_head_dim) +
                H / t * (static_cast<double>(m.qk_nope_head_dim) + v) + H / t * v);
  } else {
    attn = T * (3 * d + (H / t + 2 * Kg) * hd + H / t * hd);
  }
  double f = static_cast<double>(m.n_ff);
  if (m.is_moe() && m.n_moe_layers() > 0)
    f = std::max(f, static_cast<double>(m.n_expert_used * m.n_ff_expert + m.n_ff_shared));
  const double mlp_factor = m.mlp == MlpKind::gated ? 3.0 : 2.0;
  const double mlp        = T * (3 * d + mlp_factor * f / t);
  Workspace w;
  w.elements = std::max(attn, mlp);
  if (mlp >= attn) {
    w.formula = fmt::format("T * (3d + {} * f/t)", mlp_factor);
    w.subst =
        fmt::format("{} * (3 * {} + {} * {} / {})", num(T), num(d), mlp_factor, num(f), in.tp);
  } else {
    w.formula = "T * (3d + (H/t + 2K/t) * hd + H/t * hd)";
    w.subst   = fmt::format("{} * (3 * {} + ({} + 2 * {}) * {} + {} * {})", num(T), num(d),
                            num(H / t), num(Kg), num(hd), num(H / t), num(hd));
  }
  return w;
}

}  // namespace

WeightFormat parse_weight_format(const std::string& s, const std::string& field) {
  static const std::pair<const char*, WeightFormat> names[] = {
      {"fp32", WeightFormat::fp32},         {"bf16", WeightFormat::bf16},
      {"fp16", WeightFormat::fp16},         {"fp8", WeightFormat::fp8},
      {"int8", WeightFormat::int8},         {"int4", WeightFormat::int4},
      {"nf4", WeightFormat::nf4},           {"gptq-int4", WeightFormat::gptq_int4},
      {"awq-int4", WeightFormat::awq_int4}, {"mxfp4", WeightFormat::mxfp4}};
  std::string all;
  for (const auto& [n, f] : names) {
    if (s == n) return f;
    all += (all.empty() ? "" : ", ") + std::string(n);
  }
  throw InputError("unknown dtype", field, "'" + s + "' is not one of " + all);
}

const char* to_string(WeightFormat f) {
  switch (f) {
    case WeightFormat::fp32:
      return "fp32";
    case WeightFormat::bf16:
      return "bf16";
    case WeightFormat::fp16:
      return "fp16";
    case WeightFormat::fp8:
      return "fp8";
    case WeightFormat::int8:
      return "int8";
    case WeightFormat::int4:
      return "int4";
    case WeightFormat::gptq_int4:
      return "gptq-int4";
    case WeightFormat::awq_int4:
      return "awq-int4";
    case WeightFormat::nf4:
      return "nf4";
    case WeightFormat::mxfp4:
      return "mxfp4";
  }
  return "?";
}

// One matrix of `rows` outputs x `cols` inputs (nn.Linear weight {out, in}), n = rows * cols:
//  fp8:   n bytes + one fp32 per-tensor scale (vLLM/compressed-tensors per-tensor FP8).
//  int8:  n bytes + one fp32 scale per output row (bitsandbytes Int8Params.SCB, LLM.int8()).
//  int4 / awq-int4: AutoAWQ WQLinear_GEMM layout, G = ceil(cols / g) groups per row:
//         qweight int32 {cols, rows/8}, qzeros int32 {G, rows/8}, scales fp16 {G, rows}.
//  gptq-int4: AutoGPTQ QuantLinear: qweight int32 {cols/8, rows}, qzeros int32 {G, rows/8},
//         scales fp16 {G, rows}, g_idx int32 {cols}.
//  nf4:   bitsandbytes Params4bit: n/2 bytes, blocks of 64 with an fp32 absmax, or, with double
//         quantisation, an 8-bit absmax per block plus one fp32 constant per 256 blocks
//         (QLoRA Sec. 3: 4 + 8/64 + 32/(64*256) = 4.127 bits per parameter). The few fixed
//         per-tensor constants (16-entry code, offset) are not counted.
double quantized_matrix_bytes(WeightFormat f, double matrices, I rows, I cols, I group_size,
                              bool double_quant) {
  const double r = static_cast<double>(rows), c = static_cast<double>(cols);
  const double n = r * c;
  const double G = ceil_div(c, static_cast<double>(group_size));
  double one     = 0;
  switch (f) {
    case WeightFormat::fp32:
      one = 4 * n;
      break;
    case WeightFormat::bf16:
    case WeightFormat::fp16:
      one = 2 * n;
      break;
    case WeightFormat::fp8:
      one = n + 4;
      break;
    case WeightFormat::int8:
      one = n + 4 * r;
      break;
    case WeightFormat::int4:
    case WeightFormat::awq_int4:
      one = c * ceil_div(r, 8) * 4 + G * ceil_div(r, 8) * 4 + G * r * 2;
      break;
    case WeightFormat::gptq_int4:
      one = ceil_div(c, 8) * r * 4 + G * ceil_div(r, 8) * 4 + G * r * 2 + c * 4;
      break;
    case WeightFormat::mxfp4:  // OCP MX v1.0: 4-bit e2m1 elements, one 8-bit e8m0 scale per 32
      one = std::ceil(n / 2) + r * ceil_div(c, 32);
      break;
    case WeightFormat::nf4: {
      const double blocks = ceil_div(n, 64);
      one = std::ceil(n / 2) + (double_quant ? blocks + ceil_div(blocks, 256) * 4 : blocks * 4);
      break;
    }
  }
  return one * matrices;
}

ComponentWeights weights_by_component(const ModelSpec& m, const InferenceInput& in) {
  check_input(m, in);
  ComponentWeights w;
  const double tp = static_cast<double>(in.tp);
  for (const Tensor& t : tensor_table(m)) {
    const int c         = static_cast<int>(t.component);
    const double shards = t.split == Split::replicated ? 1.0 : tp;
    // Matmul work uses tied tensors too (a tied head multiplies by the embedding table).
    if (t.is_matmul && t.stack == Stack::decoder)
      w.matmul_elements[c] +=
          static_cast<double>(t.elements_per_layer()) * static_cast<double>(t.repeat) / shards;
    if (t.tied) continue;
    double bytes = 0;
    if (!is_16bit_format(in.weights) && quantizable(t, in)) {
      const I rows = t.shape[t.shape.size() - 2];
      const I cols = t.shape.back();
      double mats  = static_cast<double>(t.repeat);
      for (std::size_t i = 0; i + 2 < t.shape.size(); ++i) mats *= static_cast<double>(t.shape[i]);
      bytes = quantized_matrix_bytes(in.weights, mats, rows, cols, in.group_size, in.double_quant);
      w.quantized_elements += static_cast<double>(t.elements()) / shards;
    } else {
      bytes = static_cast<double>(t.elements()) * plain_bytes(in.weights);
    }
    w.bytes[c] += ceil_div(bytes, shards);
  }
  return w;
}

ByteCount stored_weight_bytes(const ModelSpec& m) {
  InferenceInput in;  // bf16, one rank
  // Every term is a whole number of bytes (ceil per matrix) well below 2^53.
  return static_cast<ByteCount>(std::llround(tally_weights(m, in).total()));
}

namespace {

// inference_memory() without its range check, for the searches of inference_fit(), which
// probe batches and contexts far beyond the range on purpose.
InferenceReport memory_of(const ModelSpec& m, const InferenceInput& in_text) {
  check_input(m, in_text);
  InferenceReport r;
  const InferenceInput in    = with_image_tokens(m, in_text, &r.notes);
  const WeightTally w        = tally_weights(m, in);
  const std::string fmt_name = to_string(in.weights);
  const std::string tp_note  = in.tp > 1 ? fmt::format(", split tensors / t = {}", in.tp) : "";

  // Weights.
  if (!is_16bit_format(in.weights)) {
    r.weight_rows.rows.push_back(
        {"quantized_linear",
         "quantised linear layers (" + fmt_name + ")",
         w.quantized,
         {"sum over block linears of packed weights + scales/zeros",
          fmt::format("{} (of which scales/zeros/indices {})", num(w.quantized),
                      num(w.quant_overhead)) +
              tp_note,
          "Frantar et al. 2023 (GPTQ); Lin et al. 2024 (AWQ); Dettmers et al. 2022/2023 "
          "(LLM.int8(), QLoRA Sec. 3); layouts of AutoGPTQ, AutoAWQ, bitsandbytes"}});
    r.weight_rows.rows.push_back(
        {"plain_16bit",
         "embeddings, norms, biases, router, head (16-bit)",
         w.plain,
         {"elements * 2", num(w.plain) + tp_note,
          "only linear layers inside transformer blocks are quantised (AutoGPTQ/AutoAWQ/bnb "
          "defaults)"}});
  } else {
    r.weight_rows.rows.push_back({"all",
                                  "all tensors (" + fmt_name + ")",
                                  w.plain,
                                  {fmt::format("params * {}", plain_bytes(in.weights)),
                                   num(w.plain) + tp_note, "tensor table (tensors.hpp)"}});
  }
  if (w.stored > 0) {
    r.weight_rows.rows.push_back(
        {"stored_quantized",
         fmt::format("linear layers as the checkpoint stores them ({}, {}-bit)", m.quant.method,
                     m.quant.bits),
         w.stored,
         {"sum over the linears quantization_config quantises of packed weights + scales",
          num(w.stored) + tp_note,
          "config.json quantization_config; OCP MX v1.0 (mxfp4); layouts of AutoGPTQ, AutoAWQ, "
          "bitsandbytes, compressed-tensors"}});
    r.notes.push_back("the checkpoint is quantised (" + m.quant.method +
                      "): the layers it names are counted as stored; dtype applies to the rest");
  }
  r.weights_bytes = w.total();
  if (w.quant_overhead > 0 && in.weights != WeightFormat::fp8 && in.weights != WeightFormat::int8) {
    for (const Tensor& t : tensor_table(m))
      if (quantizable(t, in) && t.shape.back() % in.group_size != 0 &&
          in.weights != WeightFormat::nf4) {
        r.notes.push_back(fmt::format(
            "group size {} does not divide the {} inputs of {}: the last group of each row is "
            "partial and still gets its own scale and zero (ceil(in/g) groups)",
            in.group_size, t.shape.back(), t.name));
        break;
      }
  }

  // KV cache.
  KvTally kv       = kv_cache(m, in, &r.notes);
  r.kv_rows        = kv.rows;
  r.kv_cache_bytes = kv.total;

  // Workspace: one prefill chunk of T tokens through one layer + fp32 last-token logits.
  const double T      = std::min(static_cast<double>(in.prefill_chunk),
                                 static_cast<double>(in.batch) * static_cast<double>(in.context));
  const int act       = plain_bytes(in.weights);
  const Workspace ws  = layer_workspace(m, in, T);
  const double logits = static_cast<double>(in.batch) * static_cast<double>(m.n_vocab) * 4.0;
  r.workspace_bytes   = ws.elements * act + logits;

  r.overhead_bytes = static_cast<double>(in.overhead_bytes);
  r.total_bytes    = r.weights_bytes + r.kv_cache_bytes + r.workspace_bytes + r.overhead_bytes;

  const std::string kv_formula = kv.rows.rows.empty() ? "0" : [&] {
    std::string f;
    for (const auto& row : kv.rows.rows) f += (f.empty() ? "" : " + ") + row.derivation.formula;
    return f;
  }();
  std::string kv_subst;
  for (const auto& row : kv.rows.rows)
    kv_subst += (kv_subst.empty() ? "" : " + ") + row.derivation.substituted;
  r.memory.rows = {
      {"weights_bytes",
       "weights (" + fmt_name + ")",
       r.weights_bytes,
       {"sum over tensors of stored bytes / t for split tensors",
        r.weight_rows.rows.size() > 1 ? fmt::format("{} + {}", num(w.quantized), num(w.plain))
                                      : num(w.plain),
        "tensor table (tensors.hpp); Megatron-LM splits (Shoeybi et al. 2019 Sec. 3)"}},
      {"kv_cache_bytes",
       m.has_recurrent_layers() ? "KV cache and recurrent state" : "KV cache",
       r.kv_cache_bytes,
       {kv_formula, kv_subst.empty() ? "0" : kv_subst,
        "Pope et al. 2022 Sec. 3.1 (K and V per token per layer); per rank"}},
      {"workspace_bytes",
       "prefill workspace",
       r.workspace_bytes,
       {"a * " + ws.formula + " + b * V * 4",
        fmt::format("{} * {} + {} * {} * 4  (T = min(chunk {}, b*s))", act, ws.subst, in.batch,
                    m.n_vocab, in.prefill_chunk),
        "peak live tensors of one layer's forward with flash attention (Dao et al. 2022: no "
        "s x s scores) plus fp32 logits of each sequence's last token; assumption of sizeup"}},
      {"overhead_bytes",
       "runtime overhead (CUDA context, allocator)",
       r.overhead_bytes,
       {"assumed", num(r.overhead_bytes) + " bytes",
        "assumption: CUDA context ~0.3-0.5 GiB + cuBLAS workspace + allocator slack; "
        "override with overhead"}},
      {"total_bytes",
       "total per GPU",
       r.total_bytes,
       {"weights + kv_cache + workspace + overhead",
        fmt::format("{} + {} + {} + {}", num(r.weights_bytes), num(r.kv_cache_bytes),
                    num(r.workspace_bytes), num(r.overhead_bytes)),
        "sum of the rows above"}},
  };
  r.heuristic_1_2x_bytes = std::ceil(1.2 * r.weights_bytes);
  r.heuristic_derivation = {"1.2 * weights", fmt::format("1.2 * {}", num(r.weights_bytes)),
                            "Transformer Math 101 (EleutherAI 2023), 'Total Inference Memory': "
                            "overhead <= 20%; ignores the KV cache, which grows with b * s"};
  return r;
}

}  // namespace

InferenceReport inference_memory(const ModelSpec& m, const InferenceInput& in) {
  InferenceReport r = memory_of(m, in);
  // Byte rows are doubles, exact below 2^53 (9.0e15 bytes, 9 PB per GPU); beyond it a total
  // would no longer be the exact sum of its rows, so such a batch x context is refused.
  constexpr double kExactBytes = 9007199254740992.0;  // 2^53
  if (!(r.total_bytes < kExactBytes))
    throw InputError("out of range", in.context >= in.batch ? "context" : "batch",
                     fmt::format("batch {} x context {} needs {:.3g} bytes per GPU, beyond 2^53 "
                                 "(9.0e15) where byte counts stay exact; lower batch or context",
                                 in.batch, in.context, r.total_bytes));
  return r;
}

InferenceFitReport inference_fit(const ModelSpec& m, const InferenceInput& in,
                                 const InferenceDevice& dev) {
  InferenceFitReport f;
  if (!(dev.utilization > 0 && dev.utilization <= 1))
    throw InputError("invalid utilization", "gpu_utilization", "must be in (0, 1]");
  f.usable_bytes = std::floor(static_cast<double>(dev.memory_bytes) * dev.utilization);
  f.fits         = inference_memory(m, in).total_bytes <= f.usable_bytes;

  // Largest n in [0, limit] with total(n) <= usable; total is non-decreasing in n.
  auto search = [&](auto total_at, double limit) -> std::optional<I> {
    if (total_at(1) > f.usable_bytes) return I{0};
    if (total_at(static_cast<I>(limit)) <= f.usable_bytes) return std::nullopt;
    I lo = 1, hi = static_cast<I>(limit);  // total(lo) fits, total(hi) does not
    while (hi - lo > 1) {
      const I mid                                 = lo + (hi - lo) / 2;
      (total_at(mid) <= f.usable_bytes ? lo : hi) = mid;
    }
    return lo;
  };
  InferenceInput probe = in;
  const auto batch     = search(
      [&](I b) {
        probe.batch = b;
        return memory_of(m, probe).total_bytes;
      },
      1e15);
  f.max_batch   = batch ? *batch : I{1000000000000000};
  probe         = in;
  f.max_context = search(
      [&](I s) {
        probe.context = s;
        return memory_of(m, probe).total_bytes;
      },
      1e15);
  return f;
}

Roofline inference_roofline(const ModelSpec& m, const InferenceInput& in_text,
                            const InferenceDevice& dev) {
  if (!(dev.bandwidth_bytes_per_s > 0) || !(dev.peak_flops_per_s > 0))
    throw InputError("incomplete accelerator", "gpu",
                     "the roofline needs memory bandwidth and peak FLOP/s");
  const InferenceReport mem = inference_memory(m, in_text);
  const InferenceInput in   = with_image_tokens(m, in_text, nullptr);
  const WeightTally w       = tally_weights(m, in);
  const double b = static_cast<double>(in.batch), s = static_cast<double>(in.context);
  const double t = static_cast<double>(in.tp);

  // Matmul parameters per token per rank: routed experts count k/E (Fedus et al. 2022).
  double dec_params = 0, all_params = 0;
  for (const Tensor& tn : tensor_table(m)) {
    if (!tn.is_matmul || is_tower_component(tn.component)) continue;  // images: towers.hpp
    double e = static_cast<double>(tn.elements_per_layer()) * static_cast<double>(tn.repeat);
    if (tn.component == Component::routed_experts)
      e *= static_cast<double>(m.n_expert_used) / static_cast<double>(m.n_expert);
    if (tn.split != Split::replicated) e /= t;
    all_params += e;
    if (tn.stack == Stack::decoder) dec_params += e;
  }
  // Attention FLOPs per query token at context c, per layer: 2*H*d_qk*c (scores) + 2*H*d_v*c.
  const double Hg = static_cast<double>(m.n_head) / t;
  const double qk = m.attention == AttentionKind::mla
                        ? static_cast<double>(m.qk_nope_head_dim + m.qk_rope_head_dim)
                        : static_cast<double>(m.head_dim);
  const double vd = m.attention == AttentionKind::mla ? static_cast<double>(m.v_head_dim)
                                                      : static_cast<double>(m.head_dim);
  const I L       = m.encoder_decoder ? m.n_layer_dec : m.n_layer;
  double dec_attn = 0, pre_attn = 0;  // decode: per token; prefill: per sequence (causal sum)
  for (I i = 0; i < L; ++i) {
    if (!m.encoder_decoder && m.mixer_of(i) != Mixer::attention) continue;  // ssm.hpp below
    const double c = layer_tokens(m, i, s);
    dec_attn += 2 * Hg * (qk + vd) * c;
    // sum over positions j = 1..s of min(j, w)
    const double causal = c >= s ? s * (s + 1) / 2 : c * (c + 1) / 2 + (s - c) * c;
    pre_attn += 2 * Hg * (qk + vd) * causal;
  }
  if (m.encoder_decoder) {
    const double enc = in.encoder_seq > 0 ? static_cast<double>(in.encoder_seq) : s;
    dec_attn += static_cast<double>(L) * 2 * Hg * (qk + vd) * enc;
  }
  // Recurrent layers: convolution and scan per token, independent of the context (ssm.hpp).
  for (const auto& row : recurrent_flops_per_token(m).rows) {
    dec_attn += row.value / t;
    pre_attn += row.value / t * s;
  }

  Roofline r;
  // Decode: every rank reads its weights (routed experts only as far as b*k tokens touch
  // them; embedding tables only one row per token) and its whole KV cache once per step.
  double expert_read = 1.0;
  if (m.is_moe())
    expert_read =
        std::min(1.0, b * static_cast<double>(m.n_expert_used) / static_cast<double>(m.n_expert));
  // A tied head multiplies by the whole embedding table, so it is read in full.
  const double unread_embedding = m.tied_head ? 0.0 : w.embedding;
  const double weights_read     = w.total() - unread_embedding - w.routed * (1 - expert_read);
  r.decode_bytes                = weights_read + mem.kv_cache_bytes;
  r.decode_flops                = b * (2 * dec_params + dec_attn);
  const double dm               = r.decode_bytes / dev.bandwidth_bytes_per_s;
  const double dc               = r.decode_flops / dev.peak_flops_per_s;
  r.decode_seconds              = std::max(dm, dc);
  r.decode_bound                = dm >= dc ? "memory" : "compute";
  r.decode_tokens_per_s         = b / r.decode_seconds;

  // Prefill: b*s tokens in chunks of T; the weights are read once per chunk, the KV cache
  // written once.
  const double tokens = b * s;
  const double chunks = std::ceil(tokens / static_cast<double>(in.prefill_chunk));
  r.prefill_bytes     = chunks * (w.total() - unread_embedding) + mem.kv_cache_bytes;
  // Images: each runs once through the tower and projector during prefill (towers.hpp).
  const double image_flops =
      in.images > 0 ? static_cast<double>(in.images) * image_cost(m, in.image_size).tower_flops / t
                    : 0.0;
  r.prefill_flops        = tokens * 2 * all_params + b * pre_attn + b * image_flops;
  const double pm        = r.prefill_bytes / dev.bandwidth_bytes_per_s;
  const double pc        = r.prefill_flops / dev.peak_flops_per_s;
  r.prefill_seconds      = std::max(pm, pc);
  r.prefill_bound        = pm >= pc ? "memory" : "compute";
  r.prefill_tokens_per_s = tokens / r.prefill_seconds;

  const std::string src =
      "roofline (Williams et al. 2009): time >= max(bytes / bandwidth, FLOPs / peak); a lower "
      "bound, per replica of t GPUs";
  r.rows.rows = {
      {"decode_bytes",
       "decode: bytes read per GPU per step",
       r.decode_bytes,
       {"weights read + KV cache",
        fmt::format("{} + {}", num(weights_read), num(mem.kv_cache_bytes)),
        "Pope et al. 2022 Sec. 3: decode reads all weights and the whole cache each step"}},
      {"decode_flops",
       "decode: FLOPs per GPU per step",
       r.decode_flops,
       {"b * (2 * N_matmul/t + sum_layers 2 * H/t * (d_qk + d_v) * min(w, s) + scan/t)",
        fmt::format("{} * (2 * {:.6g} + {:.6g})", num(b), dec_params, dec_attn),
        "Kaplan et al. 2020 Table 1 (2N per token + attention over the context)"}},
      {"decode_seconds",
       "decode: seconds per step (lower bound)",
       r.decode_seconds,
       {"max(bytes / BW, FLOPs / peak)",
        fmt::format("max({:.6g} / {:.6g}, {:.6g} / {:.6g})", r.decode_bytes,
                    dev.bandwidth_bytes_per_s, r.decode_flops, dev.peak_flops_per_s),
        src}},
      {"decode_tokens_per_s",
       "decode: tokens/s (upper bound)",
       r.decode_tokens_per_s,
       {"b / decode_seconds", fmt::format("{} / {:.6g}", num(b), r.decode_seconds), src}},
      {"prefill_flops",
       "prefill: FLOPs per GPU",
       r.prefill_flops,
       {"b * s * 2 * N_matmul/t + b * sum_layers 2 * H/t * (d_qk + d_v) * sum_j min(j, w) + b * "
        "images * tower FLOPs/t",
        fmt::format("{:.6g} * 2 * {:.6g} + {} * {:.6g} + {} * {:.6g}", tokens, all_params, num(b),
                    pre_attn, num(b), image_flops),
        "Kaplan et al. 2020 Table 1; causal attention counts only the unmasked half"}},
      {"prefill_seconds",
       "prefill: seconds (lower bound)",
       r.prefill_seconds,
       {"max((ceil(b*s/chunk) * weights + KV) / BW, FLOPs / peak)",
        fmt::format("max({:.6g} / {:.6g}, {:.6g} / {:.6g})", r.prefill_bytes,
                    dev.bandwidth_bytes_per_s, r.prefill_flops, dev.peak_flops_per_s),
        src}},
      {"prefill_tokens_per_s",
       "prefill: tokens/s (upper bound)",
       r.prefill_tokens_per_s,
       {"b * s / prefill_seconds", fmt::format("{:.6g} / {:.6g}", tokens, r.prefill_seconds), src}},
  };
  return r;
}

}  // namespace sizeup
