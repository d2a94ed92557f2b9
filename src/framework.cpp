// Framework recipes (framework.hpp): each default applied with its source.
#include "sizeup/framework.hpp"

#include "sizeup/error.hpp"

namespace sizeup {

Framework parse_framework(const std::string& s, const std::string& field) {
  if (s == "hf") return Framework::hf;
  if (s == "torchtune") return Framework::torchtune;
  if (s == "megatron") return Framework::megatron;
  if (s == "deepspeed") return Framework::deepspeed;
  if (s == "fsdp") return Framework::fsdp;
  if (s == "qlora-paper") return Framework::qlora_paper;
  throw InputError(
      "invalid choice", field,
      "'" + s + "' is not one of hf, torchtune, megatron, deepspeed, fsdp, qlora-paper");
}

const char* to_string(Framework f) {
  switch (f) {
    case Framework::none:
      return "none";
    case Framework::hf:
      return "hf";
    case Framework::torchtune:
      return "torchtune";
    case Framework::megatron:
      return "megatron";
    case Framework::deepspeed:
      return "deepspeed";
    case Framework::fsdp:
      return "fsdp";
    case Framework::qlora_paper:
      return "qlora-paper";
  }
  return "none";
}

namespace {

bool adapters(const TrainInput& in) {
  return in.finetune.mode == Finetune::lora || in.finetune.mode == Finetune::qlora;
}

}  // namespace

std::vector<FrameworkDefault> apply_framework(Framework f, const ExplicitOptions& given,
                                              TrainInput& in) {
  std::vector<FrameworkDefault> out;
  auto set_recompute = [&](Recompute r, const char* src) {
    if (given.recompute) return;
    in.activation.recompute = r;
    out.push_back({"recompute", to_string(r), src});
  };
  auto set_loss = [&](LossImpl l, const char* src) {
    if (given.loss) return;
    in.loss = l;
    out.push_back({"loss", to_string(l), src});
  };
  auto set_precision = [&](Precision p, const char* src) {
    if (given.precision) return false;
    in.precision = p;
    out.push_back({"precision", to_string(p), src});
    return true;
  };
  switch (f) {
    case Framework::none:
      break;
    case Framework::hf: {
      const bool mixed = !given.precision || in.precision == Precision::mixed_bf16 ||
                         in.precision == Precision::mixed_fp16;
      set_precision(Precision::mixed_bf16, "TrainingArguments(bf16=True) (fp16=True: mixed-fp16)");
      if (mixed) {
        in.autocast = true;
        if (adapters(in)) {
          // PEFT: the base model as loaded (bf16 assumed), adapters upcast to fp32.
          in.dtypes.frozen_bytes  = 2;
          in.dtypes.adapter_bytes = 4;
          in.dtypes.state_bytes   = 4;
          out.push_back(
              {"autocast", "on (bf16 base weights, fp32 adapters)",
               "PEFT autocast_adapter_dtype=True; base loaded with torch_dtype=bfloat16"});
        } else {
          out.push_back({"autocast", "on (fp32 weights, gradients and states)",
                         "Trainer: model loaded in fp32, torch.autocast around forward; HF docs "
                         "Model training anatomy (18 bytes per parameter)"});
        }
      }
      set_recompute(Recompute::none, "TrainingArguments(gradient_checkpointing=False)");
      set_loss(LossImpl::standard, "transformers ForCausalLMLoss (logits.float())");
      in.ddp_bucket_bytes = kDdpBucketBytes;
      break;
    }
    case Framework::torchtune:
      if (set_precision(Precision::bf16, "torchtune configs: dtype: bf16 (states in bf16)"))
        in.dtypes.master_bytes = 0;
      set_recompute(Recompute::full, "torchtune configs: enable_activation_checkpointing: True");
      set_loss(LossImpl::chunked, "torchtune CEWithChunkedOutputLoss (num_output_chunks = 8)");
      break;
    case Framework::megatron:
      if (set_precision(Precision::mixed_bf16,
                        "Megatron --bf16 (fp32 main grads, fp32 master and Adam states)"))
        in.dtypes.gradient_bytes = 4;
      set_recompute(Recompute::selective, "Megatron --recompute-activations (selective)");
      set_loss(LossImpl::vocab_parallel, "Megatron vocab_parallel_cross_entropy");
      if (!given.zero && !given.fsdp && in.plan.zero == 0) {
        in.plan.zero = 1;
        out.push_back({"zero", "1", "Megatron --use-distributed-optimizer (optimizer sharded)"});
      }
      in.ddp_bucket_bytes = 0;  // reduce-scatter straight from the contiguous grad buffer
      out.push_back({"ddp_bucket", "0", "Megatron DDP: buckets are views of the grad buffer"});
      break;
    case Framework::deepspeed:
      if (set_precision(Precision::mixed_bf16, "DeepSpeed bf16: {enabled: true}"))
        in.dtypes.gradient_bytes = 2;
      if (!given.zero && !given.fsdp && in.plan.zero == 0) {
        in.plan.zero = 2;
        out.push_back({"zero", "2", "assumption: the ZeRO stage of most DeepSpeed configs"});
      }
      set_loss(LossImpl::standard, "HF model under DeepSpeed: ForCausalLMLoss");
      // reduce_bucket_size = 5e8 elements (DeepSpeed ZeRO config default), gradient dtype.
      in.ddp_bucket_bytes = 500000000ull * 2;
      out.push_back({"ddp_bucket", "5e8 elements x 2 B",
                     "DeepSpeed zero_optimization.reduce_bucket_size default 5e8"});
      break;
    case Framework::fsdp:
      if (set_precision(Precision::mixed_bf16, "FSDP MixedPrecision(param_dtype=bfloat16)")) {
        // The sharded fp32 flat parameter is the master copy; bf16 copies exist only for the
        // gathered layers (communication row).
        in.dtypes.weight_bytes   = 4;
        in.dtypes.master_bytes   = 0;
        in.dtypes.gradient_bytes = 4;
      }
      if (!given.zero && !given.fsdp && in.plan.fsdp == FsdpMode::none && in.plan.zero == 0) {
        in.plan.fsdp = FsdpMode::full;
        out.push_back({"fsdp", "full", "ShardingStrategy.FULL_SHARD (FSDP default)"});
      }
      set_loss(LossImpl::standard, "HF model under FSDP: ForCausalLMLoss");
      break;
    case Framework::qlora_paper:
      if (!given.finetune) {
        in.finetune.mode = Finetune::qlora;
        out.push_back({"finetune", "qlora", "Dettmers et al. 2023, Sec. 3"});
      }
      if (!given.lora_rank) {
        in.finetune.lora_rank = 64;
        out.push_back({"lora_rank", "64", "Dettmers et al. 2023, Sec. 4 (r = 64)"});
      }
      if (!given.lora_targets) {
        in.finetune.lora_targets = {"all-linear"};
        out.push_back({"lora_targets", "all-linear",
                       "Dettmers et al. 2023: LoRA on every linear layer of the blocks"});
      }
      if (set_precision(Precision::bf16, "qlora.py --bf16 (bf16 compute and adapters)")) {
        in.dtypes.master_bytes = 0;
        in.dtypes.state_bytes  = 4;
        out.push_back({"optimizer_state_dtype", "fp32 (paged AdamW 32-bit)",
                       "qlora.py --optim paged_adamw_32bit"});
      }
      if (!given.offload && in.plan.offload == Offload::none) {
        // Paged optimizers (Dettmers et al. 2023, Sec. 3): the states live in unified memory
        // and are evicted to CPU RAM when the GPU runs out, so they do not decide the fit.
        in.plan.offload = Offload::optimizer;
        out.push_back({"offload", "optimizer (paged AdamW: states page to host under pressure)",
                       "Dettmers et al. 2023, Sec. 3, Paged Optimizers"});
      }
      set_recompute(Recompute::full, "qlora.py --gradient_checkpointing True");
      set_loss(LossImpl::standard, "HF Trainer ForCausalLMLoss");
      break;
  }
  return out;
}

}  // namespace sizeup
