// The run being sized: workload shape, precision recipe, optimizer, activation options,
// parallel plan and fine-tuning mode. Plain values; every calculation takes them as input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sizeup {

struct Workload {
  std::int64_t micro_batch  = 1;     // sequences per GPU per forward/backward, e.g. 8
  std::int64_t seq_len      = 2048;  // tokens per sequence, e.g. 1024
  std::int64_t global_batch = 0;     // sequences per optimizer step, cluster-wide (0: micro x dp)
};

// Training recipes (Micikevicius et al. 2018, "Mixed Precision Training"; Rajbhandari et al.
// 2020, ZeRO, Sec. 3.1 for the 2 + 2 + 12 bytes of mixed-precision Adam).
// tf32: fp32 weights, gradients and states; matmuls on tensor cores at the TF32 peak.
enum class Precision { fp32, bf16, fp16, mixed_bf16, mixed_fp16, fp8, tf32 };

struct PrecisionRecipe {
  int weight_bytes;           // working copy used in forward/backward, e.g. 2 (bf16)
  int gradient_bytes;         // gradient storage, e.g. 4 (fp32 accumulation) or 2
  int master_bytes;           // fp32 master copy kept by the optimizer (0 if none)
  int activation_bytes;       // saved activations, e.g. 2
  std::string compute_dtype;  // dtype whose peak FLOP/s applies, e.g. "bf16"
};

PrecisionRecipe recipe_for(Precision p);

enum class Optimizer { adamw, adam8bit, sgd, sgd_momentum, adafactor, lion };

enum class Recompute { none, selective, full };
enum class AttentionImpl { eager, flash };

struct ActivationOptions {
  Recompute recompute     = Recompute::none;
  AttentionImpl attention = AttentionImpl::flash;
  double dropout          = 0.0;  // probability; > 0 saves a 1-byte mask per dropout
};

enum class FsdpMode { none, full, grad_op, hybrid };
enum class Schedule { one_f_one_b, interleaved };
enum class Offload { none, optimizer };

struct ParallelPlan {
  std::int64_t dp         = 1;  // data-parallel replicas, e.g. 64
  std::int64_t tp         = 1;  // tensor-parallel ranks, e.g. 8
  std::int64_t pp         = 1;  // pipeline stages, e.g. 4
  std::int64_t ep         = 1;  // expert-parallel ranks (within dp), e.g. 8
  std::int64_t cp         = 1;  // context-parallel ranks, e.g. 2
  int zero                = 0;  // ZeRO stage 0..3
  FsdpMode fsdp           = FsdpMode::none;
  bool sequence_parallel  = false;
  Schedule schedule       = Schedule::one_f_one_b;
  std::int64_t interleave = 1;  // virtual stages per pipeline rank (interleaved schedule)
  Offload offload         = Offload::none;
  std::int64_t gpus() const { return dp * tp * pp * cp; }
};

enum class Finetune { full, freeze, lora, qlora };

struct FinetuneOptions {
  Finetune mode          = Finetune::full;
  std::int64_t lora_rank = 16;
  std::vector<std::string> lora_targets;  // module names, e.g. {"q_proj", "v_proj"}
  std::int64_t frozen_layers = 0;         // freeze: first k layers frozen
};

// Parsing of the CLI spellings (cli-contract.md); unknown names throw InputError(field).
Precision parse_precision(const std::string& s, const std::string& field = "precision");
Optimizer parse_optimizer(const std::string& s, const std::string& field = "optimizer");
Recompute parse_recompute(const std::string& s, const std::string& field = "recompute");
AttentionImpl parse_attention(const std::string& s, const std::string& field = "attention");
FsdpMode parse_fsdp(const std::string& s, const std::string& field = "fsdp");
Schedule parse_schedule(const std::string& s, const std::string& field = "schedule");
Offload parse_offload(const std::string& s, const std::string& field = "offload");
Finetune parse_finetune(const std::string& s, const std::string& field = "finetune");

const char* to_string(Precision p);
const char* to_string(Optimizer o);
const char* to_string(Recompute r);

}  // namespace sizeup
