// KV-cache capacity as serving engines size their pool at start-up: vLLM, SGLang and
// TensorRT-LLM, and the generic estimate of inference.hpp (no engine).
//
// Legend: M visible memory per GPU (what torch.cuda.mem_get_info reports as total), u vLLM
// gpu_memory_utilization, f SGLang mem_fraction_static, r TensorRT-LLM
// kv_cache_free_gpu_mem_fraction, W weights per GPU, A profiled activation peak, X memory
// outside torch (CUDA context, NCCL), c KV bytes per token per GPU (all layers), n block size.
//
// Sources (each engine's start-up code, read for these rules):
// - vLLM V1 (vllm/v1/worker/gpu_worker.py determine_available_memory, kv_cache_utils.py
//   get_num_blocks / get_max_concurrency_for_kv_cache_config): KV = M * u - (W + A + X);
//   blocks = floor(KV / (c * n)), n = 16; "GPU KV cache size" = blocks * n tokens;
//   "Maximum concurrency for S tokens per request" = blocks / ceil(S / n).
// - SGLang (model_runner.py profile_max_num_token): KV = free_after_weights - M0 * (1 - f),
//   M0 the free memory before loading, tokens = floor(KV / c) (page size 1).
// - TensorRT-LLM (KV cache manager, kv_cache_free_gpu_mem_fraction): KV = r * (memory free
//   after the engine and its activation buffers are loaded), in blocks of tokens_per_block.
#pragma once

#include <cstdint>
#include <string>

#include "sizeup/breakdown.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/model.hpp"

namespace sizeup {

enum class ServingEngine { generic, vllm, sglang, trtllm };

// Parses "vllm", "sglang", "trtllm" (and "generic"); throws InputError(field).
ServingEngine parse_serving_engine(const std::string& s, const std::string& field = "engine");
const char* to_string(ServingEngine e);

// Memory the driver keeps for itself on an HBM data-centre GPU: torch reports 79.18 GiB total
// on an 80 GiB H100 (llm-d-benchmark config_explorer/empirical-vllm-memory-results.md, vLLM
// start-up logs) and 79.15 GiB on an 80 GiB A100: about 0.82 GiB below the marketed size.
inline constexpr double kDriverReservedBytes = 0.82 * 1073741824.0;

// Memory a vLLM worker holds outside torch: 0.13 GiB with one GPU (CUDA context, cuBLAS
// workspaces), 0.55 GiB with tensor parallelism (plus NCCL and custom all-reduce buffers):
// the "non-torch memory" lines of the same logs.
inline constexpr double kNonTorchBytes   = 0.13 * 1073741824.0;
inline constexpr double kNonTorchTpBytes = 0.42 * 1073741824.0;  // added when t > 1
// vLLM profiles its sampler on max_num_seqs rows of the vocabulary; the peak it records is
// about 38.5 bytes per logit (fp32 logits, temperature-scaled copy, log-softmax, top-k/top-p
// sort values and int64 indices, softmax, cumulative sum, ...: about nine 4-byte copies).
// Fitted to the peaks logged for Llama-3.1-8B (4.76 GiB), Qwen3-0.6B (5.56), Qwen3-32B
// (5.64) and gpt-oss-20b (7.38) with 1024 sequences (spread 38.4-38.9).
inline constexpr double kSamplerBytesPerLogit = 38.5;

struct EngineSettings {
  ServingEngine engine                = ServingEngine::vllm;
  double gpu_memory_utilization       = 0.9;  // u (vLLM)
  double mem_fraction_static          = 0;    // f (SGLang); 0: SGLang's default for the TP degree
  double kv_free_fraction             = 0.9;  // r (TensorRT-LLM)
  std::int64_t block_size             = 0;    // n; 0: the engine's default (16, 1, 32)
  std::int64_t max_num_seqs           = 0;    // 0: the engine's default for the GPU
  std::int64_t max_num_batched_tokens = 0;    // 0: the engine's default for the GPU
  std::int64_t max_model_len          = 0;    // S for max concurrency; 0: the model's maximum
  std::int64_t pp = 1;   // pipeline stages: each GPU holds 1/pp of the layers (and their KV)
  std::string gpu_name;  // picks vLLM's scheduler defaults (larger on >= 70 GiB, non-A100)
};

struct EngineKvReport {
  ServingEngine engine                = ServingEngine::vllm;
  double visible_bytes                = 0;  // M
  double weights_bytes                = 0;  // W
  double activation_bytes             = 0;  // A
  double non_torch_bytes              = 0;  // X
  double kv_cache_bytes               = 0;  // the pool, whole blocks
  double kv_bytes_per_token           = 0;  // c, per GPU, all layers
  std::int64_t block_size             = 0;
  std::int64_t num_blocks             = 0;
  std::int64_t kv_cache_tokens        = 0;
  std::int64_t max_model_len          = 0;
  double max_concurrency              = 0;  // requests of max_model_len tokens held at once
  std::int64_t max_num_seqs           = 0;  // engine scheduler limit used
  std::int64_t max_num_batched_tokens = 0;
  Breakdown<double> rows;  // every term with its derivation
  std::vector<std::string> notes;
};

// The engine's own KV pool per GPU for a model served with `in` (weights format, KV dtype,
// tp) on a GPU of `memory_bytes` (marketed; the driver reserve is taken off). Throws
// InputError when the engine would refuse to start (no memory left for one block).
EngineKvReport engine_kv_capacity(const ModelSpec& m, const InferenceInput& in, double memory_bytes,
                                  const EngineSettings& s);

}  // namespace sizeup
