// Framework recipes: the defaults a training framework applies when a user does not set them
// (precision and autocast, state dtypes, recomputation, loss implementation, sharding,
// communication buckets, how LoRA/QLoRA adapters are kept). Each default is listed with its
// source so that front ends print it; every one is overridable by the matching option.
//
//  hf          Hugging Face Transformers Trainer, fp16/bf16 = True on a model loaded in fp32
//              (the Trainer's default): torch.autocast, fp32 weights, gradients and AdamW
//              states ("18 bytes per parameter", HF docs Model training anatomy); standard
//              loss; no gradient checkpointing; DDP buckets of 25 MiB. LoRA/QLoRA through
//              PEFT: base weights in bf16 (or NF4), adapters in fp32 (PEFT
//              autocast_adapter_dtype=True), fp32 adapter gradients and states.
//  torchtune   torchtune recipes (dtype: bf16): weights, gradients and optimizer states in bf16,
//              no master copy; activation checkpointing on (enable_activation_checkpointing:
//              True in the shipped configs); CEWithChunkedOutputLoss (8 chunks); adapters bf16.
//  megatron    Megatron-LM/Megatron-Core (--bf16): bf16 weights, fp32 main gradients
//              (accumulate_allreduce_grads_in_fp32), fp32 master and Adam states, distributed
//              optimizer (ZeRO-1: --use-distributed-optimizer), selective recomputation
//              (--recompute-activations), vocab-parallel cross-entropy, gradients reduced from
//              the contiguous grad buffer (no separate bucket copy).
//  deepspeed   DeepSpeed ZeRO (bf16 enabled): bf16 weights and gradients, fp32 master and Adam
//              states (ZeRO's 2 + 2 + 12 bytes), ZeRO stage 2, reduce_bucket_size 5e8 elements
//              (DeepSpeed config default) in the gradient dtype; standard loss (HF model).
//  fsdp        PyTorch FSDP FULL_SHARD with MixedPrecision(param_dtype=bf16): the sharded flat
//              parameters are fp32 (they are the master copy), fp32 sharded gradients and AdamW
//              states (16 bytes per parameter over the shard group), bf16 parameters gathered
//              per wrapped layer (communication row); standard loss.
//  qlora-paper Dettmers et al. 2023 (QLoRA), Sec. 3-4 and the qlora.py script: NF4 base with
//              double quantisation, LoRA r = 64 on every linear layer, bf16 adapters and
//              adapter gradients, 32-bit paged AdamW states, no fp32 master copy, gradient
//              checkpointing, bf16 compute through the HF Trainer's standard loss.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sizeup/activations.hpp"
#include "sizeup/memory_train.hpp"
#include "sizeup/workload.hpp"

namespace sizeup {

enum class Framework { none, hf, torchtune, megatron, deepspeed, fsdp, qlora_paper };

// "hf", "torchtune", "megatron", "deepspeed", "fsdp", "qlora-paper".
Framework parse_framework(const std::string& s, const std::string& field = "framework");
const char* to_string(Framework f);

// One default, for printing: the option's snake_case name, its value and where it comes from.
struct FrameworkDefault {
  std::string option;  // e.g. "recompute"
  std::string value;   // e.g. "full"
  std::string source;  // e.g. "torchtune configs: enable_activation_checkpointing: True"
};

// Which options the user set explicitly (the recipe fills the others).
struct ExplicitOptions {
  bool precision = false, grad_dtype = false, optimizer = false, recompute = false,
       attention = false, loss = false, zero = false, fsdp = false, finetune = false,
       lora_rank = false, lora_targets = false, offload = false;
};

// Applies the framework's defaults to `in` for every option not in `given`, and returns the
// defaults applied (for printing). Framework::none changes nothing.
std::vector<FrameworkDefault> apply_framework(Framework f, const ExplicitOptions& given,
                                              TrainInput& in);

}  // namespace sizeup
