// Inference memory per GPU (weights in a serving format, KV cache, prefill workspace, runtime
// overhead), what fits on a GPU, and a decode/prefill roofline.
//
// Legend: L layers, d hidden size, H query heads, K kv heads, hd head width, f MLP width,
// V vocabulary, b batch (sequences), s context (tokens per sequence), w sliding window,
// t tensor-parallel ranks, p bytes per KV element, g quantisation group size.
//
// Sources: Pope et al. 2022, "Efficiently Scaling Transformer Inference", Sec. 2 and 3.1
// (KV cache 2·L·K·hd·p per token, decode is memory-bound); Frantar et al. 2023, GPTQ
// (group-wise int4); Lin et al. 2024, AWQ; Dettmers et al. 2023, QLoRA Sec. 3 (NF4, block 64,
// double quantisation); Dettmers et al. 2022, LLM.int8(); DeepSeek-AI 2024, arXiv:2405.04434
// Sec. 2.1 (MLA caches the latent and the decoupled RoPE key); Transformer Math 101 (EleutherAI
// 2023) for the 1.2 x weights heuristic; Williams et al. 2009 for the roofline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sizeup/breakdown.hpp"
#include "sizeup/model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// Weight storage formats. The int4 formats are weight-only (activations in 16-bit).
enum class WeightFormat {
  fp32,
  bf16,
  fp16,
  fp8,        // e4m3 weights + one fp32 scale per matrix (per-tensor)
  int8,       // int8 weights + one fp32 scale per output row (bitsandbytes LLM.int8 SCB)
  int4,       // packed 4-bit + per group of g inputs: fp16 scale and 4-bit zero (AWQ layout)
  gptq_int4,  // as int4, plus GPTQ's int32 g_idx per input column (act-order index)
  awq_int4,   // same as int4
  nf4,        // bitsandbytes NF4, blocks of 64, optional double quantisation
  mxfp4,      // OCP MX FP4 (e2m1) + one e8m0 scale byte per block of 32 inputs (gpt-oss experts)
};

// Parses --dtype: fp32, bf16, fp16, fp8, int8, int4, nf4, gptq-int4, awq-int4, mxfp4.
WeightFormat parse_weight_format(const std::string& s, const std::string& field = "dtype");
const char* to_string(WeightFormat f);

// How a DeepSeek MLA cache is held: the compressed latent (vLLM, SGLang) or full per-head
// K and V (HF transformers' eager implementation).
enum class MlaCache { latent, full };

struct InferenceInput {
  WeightFormat weights       = WeightFormat::bf16;
  int kv_bytes               = 2;      // p, bytes per KV-cache element, e.g. 2 (bf16), 1 (fp8)
  int state_bytes            = 2;      // bytes per recurrent-state element (ssm.hpp), e.g. 2, 4
  std::int64_t images        = 0;      // images per sequence (multimodal), e.g. 1
  std::int64_t image_size    = 0;      // pixels per image side (0: the tower's native size)
  std::int64_t batch         = 1;      // b, concurrent sequences, e.g. 8
  std::int64_t context       = 4096;   // s, tokens per sequence held in the cache
  std::int64_t encoder_seq   = 0;      // encoder-decoder: encoder tokens (0: same as context)
  std::int64_t tp            = 1;      // t, tensor-parallel ranks
  std::int64_t group_size    = 128;    // g, int4 formats
  bool double_quant          = true;   // nf4: quantise the block absmax (QLoRA Sec. 3)
  bool quantize_head         = false;  // also quantise an untied output head
  MlaCache mla_cache         = MlaCache::latent;
  std::int64_t prefill_chunk = 512;         // tokens per prefill forward (chunked prefill)
  ByteCount overhead_bytes   = 1073741824;  // CUDA context + allocator, 1 GiB assumed
};

// A device to check the fit against and to run the roofline on.
struct InferenceDevice {
  ByteCount memory_bytes       = 0;    // per GPU
  double utilization           = 1.0;  // fraction of memory the server may use (vLLM: 0.9)
  double bandwidth_bytes_per_s = 0;
  FlopRate peak_flops_per_s    = 0;  // dense, in the compute format
};

struct Roofline {
  double decode_bytes        = 0;  // bytes read per GPU for one decode step
  FlopCount decode_flops     = 0;  // FLOPs per GPU for one decode step (b tokens)
  Seconds decode_seconds     = 0;  // lower bound per step
  double decode_tokens_per_s = 0;  // b / decode_seconds, one replica
  std::string decode_bound;        // "memory" or "compute"
  double prefill_bytes        = 0;
  FlopCount prefill_flops     = 0;  // b sequences of s tokens
  Seconds prefill_seconds     = 0;  // lower bound (time to first token for the batch)
  double prefill_tokens_per_s = 0;
  std::string prefill_bound;
  Breakdown<double> rows;  // with derivations
};

struct InferenceReport {
  // Per GPU, bytes (doubles: a batch of 1e9 sequences must not overflow; every row is a whole
  // number, exact below 2^53).
  Breakdown<double> memory;  // weights, kv_cache, workspace, overhead
  double weights_bytes        = 0;
  double kv_cache_bytes       = 0;
  double workspace_bytes      = 0;
  double overhead_bytes       = 0;
  double total_bytes          = 0;
  double heuristic_1_2x_bytes = 0;  // 1.2 x weights (Transformer Math 101)
  Derivation heuristic_derivation;
  Breakdown<double> weight_rows;   // by storage class (quantised matmuls, scales, 16-bit rest)
  Breakdown<double> kv_rows;       // by layer kind (full, sliding, latent, cross)
  std::vector<std::string> notes;  // assumptions taken
};

// Memory per GPU. Throws InputError naming the option on bad input.
InferenceReport inference_memory(const ModelSpec& m, const InferenceInput& in);

struct InferenceFitReport {
  bool fits              = false;
  double usable_bytes    = 0;               // memory_bytes x utilization
  std::int64_t max_batch = 0;               // at in.context; 0 if even one sequence does not fit
  std::optional<std::int64_t> max_context;  // at in.batch; empty: memory never runs out
                                            // (every layer sliding) within 1e15 tokens
};

InferenceFitReport inference_fit(const ModelSpec& m, const InferenceInput& in,
                                 const InferenceDevice& dev);

Roofline inference_roofline(const ModelSpec& m, const InferenceInput& in,
                            const InferenceDevice& dev);

// Stored weight bytes per GPU (tensors split by in.tp) by component, in the format of `in`
// (the same tally as inference_memory's weights row), and the matmul elements per GPU that
// one token multiplies (routed experts counted whole; multiply by k/E for one token).
struct ComponentWeights {
  double bytes[10]           = {};  // indexed by static_cast<int>(Component)
  double matmul_elements[10] = {};
  double quantized_elements  = 0;  // elements stored in a quantised format (dequantised per use)
  double total_bytes() const {
    double t = 0;
    for (double b : bytes) t += b;
    return t;
  }
};
ComponentWeights weights_by_component(const ModelSpec& m, const InferenceInput& in);

// Bytes of one weight matrix {rows, cols} (cols = input features) in a format; exposed for
// tests. Includes scales/zeros; `matrices` independent matrices of that shape.
// Weight bytes as the checkpoint stores them: the layers its quantization_config names in that
// format (scales included), every other tensor in 16-bit. Equals params x 2 when unquantised.
ByteCount stored_weight_bytes(const ModelSpec& m);

double quantized_matrix_bytes(WeightFormat f, double matrices, std::int64_t rows, std::int64_t cols,
                              std::int64_t group_size, bool double_quant);

}  // namespace sizeup
