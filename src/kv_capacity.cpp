// KV-cache pool of vLLM, SGLang and TensorRT-LLM. See include/sizeup/kv_capacity.hpp for the
// legend and sources; docs/serving.md for worked examples.
#include "sizeup/kv_capacity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using I = std::int64_t;

std::string gib(double v) { return fmt::format("{:.3f} GiB", v / 1073741824.0); }

// vLLM's scheduler defaults (vllm/engine/arg_utils.py, V1, `vllm serve`): 1024 sequences and
// 8192 batched tokens on GPUs with >= 70 GiB that are not A100s, else 256 and 2048.
bool vllm_large_gpu(double memory_bytes, const std::string& gpu_name) {
  std::string n = gpu_name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  return memory_bytes >= 70.0 * 1073741824.0 && n.find("a100") == std::string::npos;
}

// SGLang's default mem_fraction_static by tensor-parallel size (sglang server_args.py,
// v0.4: 0.88 at tp 1, 0.87 at 2, 0.85 at 4, 0.81 at 8, 0.79 at 16 and more).
double sglang_default_fraction(I tp) {
  if (tp >= 16) return 0.79;
  if (tp >= 8) return 0.81;
  if (tp >= 4) return 0.85;
  if (tp >= 2) return 0.87;
  return 0.88;
}

}  // namespace

ServingEngine parse_serving_engine(const std::string& s, const std::string& field) {
  if (s == "vllm") return ServingEngine::vllm;
  if (s == "sglang") return ServingEngine::sglang;
  if (s == "trtllm" || s == "tensorrt-llm") return ServingEngine::trtllm;
  if (s == "generic") return ServingEngine::generic;
  throw InputError("unknown engine", field, "'" + s + "' is not one of vllm, sglang, trtllm");
}

const char* to_string(ServingEngine e) {
  switch (e) {
    case ServingEngine::generic:
      return "generic";
    case ServingEngine::vllm:
      return "vllm";
    case ServingEngine::sglang:
      return "sglang";
    case ServingEngine::trtllm:
      return "trtllm";
  }
  return "?";
}

EngineKvReport engine_kv_capacity(const ModelSpec& m, const InferenceInput& in, double memory_bytes,
                                  const EngineSettings& s) {
  if (!(memory_bytes > kDriverReservedBytes))
    throw InputError("invalid GPU memory", "gpu_memory", "must exceed the driver's reserve");
  auto fraction = [](double v, const char* field) {
    if (!(v > 0 && v <= 1)) throw InputError("invalid fraction", field, "must be in (0, 1]");
  };
  if (s.engine == ServingEngine::vllm) fraction(s.gpu_memory_utilization, "gpu_utilization");
  if (s.engine == ServingEngine::sglang && s.mem_fraction_static != 0)
    fraction(s.mem_fraction_static, "mem_fraction_static");
  if (s.engine == ServingEngine::trtllm) fraction(s.kv_free_fraction, "kv_free_fraction");
  if (s.block_size < 0 || s.max_num_seqs < 0 || s.max_num_batched_tokens < 0 || s.max_model_len < 0)
    throw InputError("invalid engine setting", "engine", "sizes must be positive");

  EngineKvReport r;
  r.engine        = s.engine;
  r.visible_bytes = memory_bytes - kDriverReservedBytes;
  r.max_model_len = s.max_model_len > 0 ? s.max_model_len : (m.n_ctx > 0 ? m.n_ctx : 2048);

  const bool large = vllm_large_gpu(memory_bytes, s.gpu_name);
  switch (s.engine) {
    case ServingEngine::vllm:
    case ServingEngine::generic:
      r.block_size   = s.block_size > 0 ? s.block_size : 16;
      r.max_num_seqs = s.max_num_seqs > 0 ? s.max_num_seqs : (large ? 1024 : 256);
      r.max_num_batched_tokens =
          s.max_num_batched_tokens > 0 ? s.max_num_batched_tokens : (large ? 8192 : 2048);
      break;
    case ServingEngine::sglang:
      // SGLang: token-granular pool (page size 1), chunked prefill of 8192 tokens on large
      // GPUs (server_args chunked_prefill_size), max running requests bounded by the pool.
      r.block_size             = s.block_size > 0 ? s.block_size : 1;
      r.max_num_seqs           = s.max_num_seqs > 0 ? s.max_num_seqs : 1024;
      r.max_num_batched_tokens = s.max_num_batched_tokens > 0 ? s.max_num_batched_tokens : 8192;
      break;
    case ServingEngine::trtllm:
      // TensorRT-LLM: tokens_per_block 32, max_num_tokens 8192, max_batch_size 2048
      // (trtllm-build / LLM API defaults).
      r.block_size             = s.block_size > 0 ? s.block_size : 32;
      r.max_num_seqs           = s.max_num_seqs > 0 ? s.max_num_seqs : 2048;
      r.max_num_batched_tokens = s.max_num_batched_tokens > 0 ? s.max_num_batched_tokens : 8192;
      break;
  }
  // The chunked batch never exceeds the tokens of the longest request plus the running decodes.
  r.max_num_seqs = std::min(r.max_num_seqs, r.max_num_batched_tokens);

  // Weights and KV bytes per token from the same tally as `sizeup infer`.
  InferenceInput one              = in;
  one.batch                       = 1;
  one.context                     = 1;
  const InferenceReport per_token = inference_memory(m, one);
  if (s.pp < 1) throw InputError("invalid pipeline parallelism", "pp", "must be at least 1");
  // Pipeline stages hold 1/pp of the layers each (embedding and head counted evenly).
  const double stages  = static_cast<double>(s.pp);
  r.weights_bytes      = std::ceil(per_token.weights_bytes / stages);
  r.kv_bytes_per_token = per_token.kv_cache_bytes / stages;
  if (!(r.kv_bytes_per_token > 0))
    throw InputError("no KV cache", "model", "an encoder-only model keeps no KV cache");

  // Forward activation peak: one chunk of max_num_batched_tokens through a layer (the
  // workspace row of inference_memory, which also counts one sequence's fp32 logits).
  InferenceInput fwd        = in;
  fwd.batch                 = 1;
  fwd.context               = r.max_num_batched_tokens;
  fwd.prefill_chunk         = r.max_num_batched_tokens;
  const double forward_peak = inference_memory(m, fwd).workspace_bytes;
  const double sampler_peak =
      static_cast<double>(r.max_num_seqs) * static_cast<double>(m.n_vocab) * kSamplerBytesPerLogit;
  r.non_torch_bytes = kNonTorchBytes + (in.tp > 1 ? kNonTorchTpBytes : 0.0);

  const std::string vis_src =
      "marketed memory - driver reserve (0.82 GiB: torch reports 79.18 of 80 GiB on H100)";
  r.rows.rows.push_back(
      {"visible_bytes",
       "memory visible to the engine",
       r.visible_bytes,
       {"M = memory - reserve",
        fmt::format("{} - {}", gib(memory_bytes), gib(kDriverReservedBytes)), vis_src}});
  r.rows.rows.push_back({"weights_bytes",
                         "weights per GPU",
                         r.weights_bytes,
                         {"W", gib(r.weights_bytes), "tensor table, as in sizeup infer"}});

  double pool = 0;
  switch (s.engine) {
    case ServingEngine::vllm:
    case ServingEngine::generic: {
      r.activation_bytes = std::max(forward_peak, sampler_peak);
      r.rows.rows.push_back(
          {"activation_bytes",
           "profiled activation peak",
           r.activation_bytes,
           {"A = max(forward of max_num_batched_tokens, max_num_seqs * V * 38.5)",
            fmt::format("max({}, {} * {} * {})", gib(forward_peak), r.max_num_seqs, m.n_vocab,
                        kSamplerBytesPerLogit),
            "vLLM profile_run: a dummy forward of max_num_batched_tokens, then the sampler on "
            "max_num_seqs rows; torch's peak allocation is what it records"}});
      r.rows.rows.push_back({"non_torch_bytes",
                             "non-torch memory",
                             r.non_torch_bytes,
                             {"X", gib(r.non_torch_bytes),
                              "vLLM start-up logs: 0.13 GiB on one GPU, 0.55 GiB with TP"}});
      pool = r.visible_bytes * s.gpu_memory_utilization -
             (r.weights_bytes + r.activation_bytes + r.non_torch_bytes);
      r.rows.rows.push_back(
          {"available_kv_bytes",
           "available KV cache memory",
           pool,
           {"M * u - (W + A + X)",
            fmt::format("{} * {} - ({} + {} + {})", gib(r.visible_bytes), s.gpu_memory_utilization,
                        gib(r.weights_bytes), gib(r.activation_bytes), gib(r.non_torch_bytes)),
            "vLLM V1 gpu_worker.determine_available_memory"}});
      r.notes.push_back(
          "vLLM: CUDA graphs are captured after the KV pool is allocated and use memory beyond "
          "gpu_memory_utilization (they do not shrink the pool)");
      break;
    }
    case ServingEngine::sglang: {
      const double f =
          s.mem_fraction_static > 0 ? s.mem_fraction_static : sglang_default_fraction(in.tp);
      const double free_before = r.visible_bytes - r.non_torch_bytes;
      pool                     = free_before - r.weights_bytes - free_before * (1 - f);
      r.rows.rows.push_back(
          {"available_kv_bytes",
           "KV pool (rest memory)",
           pool,
           {"(M - X - W) - (M - X) * (1 - f)",
            fmt::format("({} - {}) - {} * (1 - {})", gib(free_before), gib(r.weights_bytes),
                        gib(free_before), f),
            "SGLang model_runner.profile_max_num_token; f = mem_fraction_static (default by tp: "
            "0.88, 0.87 at 2, 0.85 at 4, 0.81 at 8, 0.79 at 16)"}});
      r.notes.push_back(
          fmt::format("SGLang: activations and CUDA graphs live in the {:.0f}% left outside "
                      "mem_fraction_static",
                      (1 - f) * 100));
      break;
    }
    case ServingEngine::trtllm: {
      r.activation_bytes = forward_peak;
      r.rows.rows.push_back(
          {"activation_bytes",
           "engine activation buffers",
           r.activation_bytes,
           {"A = forward of max_num_tokens", gib(forward_peak),
            "TensorRT-LLM allocates its activation buffers for max_num_tokens when the engine "
            "loads"}});
      const double free_after =
          r.visible_bytes - r.non_torch_bytes - r.weights_bytes - r.activation_bytes;
      pool = free_after * s.kv_free_fraction;
      r.rows.rows.push_back(
          {"available_kv_bytes",
           "KV pool",
           pool,
           {"(M - X - W - A) * r",
            fmt::format("({} - {} - {} - {}) * {}", gib(r.visible_bytes), gib(r.non_torch_bytes),
                        gib(r.weights_bytes), gib(r.activation_bytes), s.kv_free_fraction),
            "TensorRT-LLM KvCacheConfig.free_gpu_memory_fraction of the memory free after the "
            "engine loads"}});
      break;
    }
  }
  const double block_bytes = r.kv_bytes_per_token * static_cast<double>(r.block_size);
  if (!(pool >= block_bytes))
    throw InputError(
        "no memory for the KV cache", "gpu_memory",
        fmt::format("{} engine: {} left for the cache after weights ({}) and activations ({}); "
                    "one block of {} tokens needs {}",
                    to_string(s.engine), gib(pool), gib(r.weights_bytes), gib(r.activation_bytes),
                    r.block_size, gib(block_bytes)));
  r.num_blocks      = static_cast<I>(std::floor(pool / block_bytes));
  r.kv_cache_tokens = r.num_blocks * r.block_size;
  r.kv_cache_bytes  = static_cast<double>(r.num_blocks) * block_bytes;
  const double blocks_per_request =
      std::ceil(static_cast<double>(r.max_model_len) / static_cast<double>(r.block_size));
  r.max_concurrency = static_cast<double>(r.num_blocks) / blocks_per_request;
  r.rows.rows.push_back({"kv_cache_tokens",
                         "KV cache size (tokens)",
                         static_cast<double>(r.kv_cache_tokens),
                         {"floor(pool / (c * n)) * n",
                          fmt::format("floor({:.0f} / ({:.0f} * {})) * {}", pool,
                                      r.kv_bytes_per_token, r.block_size, r.block_size),
                          "c = KV bytes per token on this GPU (all layers); n tokens per block"}});
  r.rows.rows.push_back(
      {"max_concurrency",
       fmt::format("maximum concurrency at {} tokens per request", r.max_model_len),
       r.max_concurrency,
       {"blocks / ceil(S / n)",
        fmt::format("{} / ceil({} / {})", r.num_blocks, r.max_model_len, r.block_size),
        "vLLM kv_cache_utils.get_max_concurrency_for_kv_cache_config"}});
  if (m.sliding_window > 0 && m.n_sliding_layers() > 0)
    r.notes.push_back(
        "sliding-window layers counted as caching every token (the pool's token count); "
        "engines that free blocks outside the window hold more concurrent requests");
  return r;
}

}  // namespace sizeup
