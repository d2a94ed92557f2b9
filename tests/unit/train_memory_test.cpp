// Training memory of the most loaded GPU, with hand-derived values for llama-2-7b
// (N = 6,738,415,616; 291 tensors: embed, head, final norm + 9 per layer x 32; one layer
// 4·4096² + 3·4096·11008 + 2·4096 = 202,383,360; embedding 32000·4096 = 131,072,000).
// Activations are given explicitly so these tests check the bookkeeping, not the
// activation model.
#include <gtest/gtest.h>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/memory_train.hpp"

namespace sizeup {
namespace {

constexpr ByteCount N      = 6738415616;
constexpr ByteCount kStep  = 291 * 4;  // Adam `step` scalars
constexpr ByteCount kLayer = 202383360;
constexpr ByteCount kEmbed = 131072000;

ModelSpec llama7b() { return model_from_catalog(*find_model("llama-2-7b")); }

TrainInput base() {
  TrainInput in;
  in.overhead_bytes       = 0;
  in.workload.seq_len     = 4096;
  in.workload.micro_batch = 1;
  return in;
}

ByteCount v(const TrainMemoryReport& r, const char* key) { return r.rows.find(key)->value; }

TEST(train_memory_test, mixed_bf16_adamw_is_18_bytes_per_param) {
  const auto r = train_memory(llama7b(), base(), ActivationReport{});
  EXPECT_EQ(r.stage, "all");
  EXPECT_EQ(v(r, "weights_bytes"), 2 * N);
  EXPECT_EQ(v(r, "gradients_bytes"), 4 * N);
  EXPECT_EQ(v(r, "master_bytes"), 4 * N);
  EXPECT_EQ(v(r, "optimizer_bytes"), 8 * N + kStep);
  EXPECT_EQ(v(r, "communication_bytes"), 0ull);  // dp = 1
  EXPECT_EQ(r.total_bytes, 18 * N + kStep);
  EXPECT_EQ(r.trainable_params, N);
}

TEST(train_memory_test, recipes) {
  TrainInput in = base();
  in.grad_bytes = 2;  // ZeRO's 2 + 2 + 12
  EXPECT_EQ(train_memory(llama7b(), in, {}).total_bytes, 16 * N + kStep);
  in           = base();
  in.precision = Precision::fp32;
  auto r       = train_memory(llama7b(), in, {});
  EXPECT_EQ(v(r, "weights_bytes"), 4 * N);
  EXPECT_EQ(v(r, "master_bytes"), 0ull);
  EXPECT_EQ(r.total_bytes, 16 * N + kStep);
  in.precision = Precision::bf16;  // pure bf16: states in bf16 too
  r            = train_memory(llama7b(), in, {});
  EXPECT_EQ(r.total_bytes, 2 * N + 2 * N + 4 * N + kStep);
  in.precision =
      Precision::fp8;  // + 1 byte per matmul weight (not norms, not the embedding lookup)
  r = train_memory(llama7b(), in, {});
  EXPECT_EQ(v(r, "fp8_weight_cache_bytes"), N - 65 * 4096 - kEmbed);  // the embedding is a lookup
}

TEST(train_memory_test, zero_stages) {
  TrainInput in = base();
  in.plan.dp    = 8;
  in.plan.zero  = 1;
  auto r        = train_memory(llama7b(), in, {});
  EXPECT_EQ(v(r, "weights_bytes"), 2 * N);
  EXPECT_EQ(v(r, "gradients_bytes"), 4 * N);
  EXPECT_EQ(v(r, "master_bytes"), 4 * N / 8);
  EXPECT_EQ(v(r, "optimizer_bytes"), (8 * N + kStep + 7) / 8);
  EXPECT_EQ(v(r, "communication_bytes"), 25ull * 1048576);  // one DDP bucket
  in.plan.zero = 2;
  EXPECT_EQ(v(train_memory(llama7b(), in, {}), "gradients_bytes"), 4 * N / 8);
  in.plan.zero = 3;
  r            = train_memory(llama7b(), in, {});
  EXPECT_EQ(v(r, "weights_bytes"), 2 * N / 8);
  // Two gathered bf16 layers + one fp32 gradient layer.
  EXPECT_EQ(v(r, "communication_bytes"), 8 * kLayer);
  in.plan.zero = 0;
  in.plan.fsdp = FsdpMode::full;  // = ZeRO-3
  EXPECT_EQ(train_memory(llama7b(), in, {}).total_bytes, r.total_bytes);
  in.plan.fsdp     = FsdpMode::hybrid;  // dp 16 on 2 nodes of 8: shard over 8
  in.plan.dp       = 16;
  in.gpus_per_node = 8;
  const auto h     = train_memory(llama7b(), in, {});
  EXPECT_EQ(h.shard_group, 8);
  EXPECT_EQ(v(h, "weights_bytes"), 2 * N / 8);
}

TEST(train_memory_test, tensor_parallel_replicates_norms) {
  TrainInput in         = base();
  in.plan.tp            = 2;
  const ByteCount norms = 65 * 4096;  // 2 per layer + final
  EXPECT_EQ(v(train_memory(llama7b(), in, {}), "weights_bytes"), 2 * ((N - norms) / 2 + norms));
}

TEST(train_memory_test, pipeline_picks_the_most_loaded_stage) {
  TrainInput in = base();
  in.plan.pp    = 2;
  auto r        = train_memory(llama7b(), in, {});
  // Without activations the last stage (16 layers + final norm + head) is heavier.
  EXPECT_EQ(r.stage, "last");
  EXPECT_EQ(v(r, "weights_bytes"), 2 * (16 * kLayer + 4096 + kEmbed));
  EXPECT_EQ(r.first_stage_bytes, 18 * (kEmbed + 16 * kLayer) + (1 + 16 * 9) * 4);
  // 4 micro-batches, 1F1B: the first stage holds min(pp, m) = 2 in flight.
  in.workload.global_batch = 4;
  ActivationReport act;
  act.layer_bytes     = 10000;
  act.embedding_bytes = 500;
  act.head_bytes      = 7000;
  r                   = train_memory(llama7b(), in, act);
  EXPECT_EQ(r.micro_batches, 4);
  EXPECT_DOUBLE_EQ(r.in_flight, 2.0);
  EXPECT_EQ(r.stage, "first");
  EXPECT_EQ(v(r, "activations_bytes"), 16ull * 10000 * 2 + 500 * 2);
  EXPECT_EQ(v(r, "logits_bytes"), 0ull);
  EXPECT_EQ(r.last_stage_bytes,
            18 * (16 * kLayer + 4096 + kEmbed) + (16 * 9 + 2) * 4 + 16 * 10000 + 7000);
}

TEST(train_memory_test, recompute_peak_counted_once) {
  TrainInput in            = base();
  in.plan.pp               = 2;
  in.workload.global_batch = 8;
  ActivationReport act;
  act.layer_bytes          = 100;  // full recompute: layer inputs only
  act.recompute_peak_bytes = 5000;
  const auto r             = train_memory(llama7b(), in, act);
  // First stage: 16 layers x 100 x 2 in flight + one layer recomputed at a time.
  EXPECT_EQ(r.first_stage_bytes, 18 * (kEmbed + 16 * kLayer) + (1 + 16 * 9) * 4 + 3200 + 5000);
}

TEST(train_memory_test, interleaved_schedule_factor) {
  TrainInput in            = base();
  in.plan.pp               = 4;
  in.plan.schedule         = Schedule::interleaved;
  in.plan.interleave       = 2;
  in.workload.global_batch = 8;
  ActivationReport act;
  act.layer_bytes = 1000;
  const auto r    = train_memory(llama7b(), in, act);
  EXPECT_DOUBLE_EQ(r.in_flight, 5.5);  // 4 · (1 + 3/8)
  // First stage: 8 layers x 1000 x 5.5 (the first stage is the heavier one here only if
  // its activations outweigh the head; check the first-stage figure directly).
  EXPECT_EQ(r.first_stage_bytes, 18 * (kEmbed + 8 * kLayer) + (1 + 8 * 9) * 4 + 44000);
}

TEST(train_memory_test, freeze_offload_qlora) {
  TrainInput in             = base();
  in.finetune.mode          = Finetune::freeze;
  in.finetune.frozen_layers = 2;
  auto r                    = train_memory(llama7b(), in, {});
  EXPECT_EQ(r.trainable_params, N - kEmbed - 2 * kLayer);
  EXPECT_EQ(v(r, "gradients_bytes"), 4 * (N - kEmbed - 2 * kLayer));
  EXPECT_EQ(v(r, "weights_bytes"), 2 * N);

  in              = base();
  in.plan.offload = Offload::optimizer;
  r               = train_memory(llama7b(), in, {});
  EXPECT_EQ(v(r, "master_bytes") + v(r, "optimizer_bytes"), 0ull);
  EXPECT_EQ(r.host_bytes, 12 * N + kStep);

  in                    = base();
  in.finetune.mode      = Finetune::qlora;
  in.finetune.lora_rank = 16;
  r                     = train_memory(llama7b(), in, {});
  // NF4 linear weights: 32 · (4 · 8,654,848 + 3 · 23,259,904); bf16 embedding, head, norms;
  // bf16 adapters 8,388,608 · 2.
  EXPECT_EQ(v(r, "weights_bytes"),
            32ull * (4 * 8654848 + 3 * 23259904) + 2 * (2 * kEmbed + 65 * 4096) + 2 * 8388608);
  EXPECT_EQ(r.trainable_params, 8388608ull);
  EXPECT_EQ(v(r, "gradients_bytes"), 4ull * 8388608);
  EXPECT_EQ(v(r, "master_bytes"), 4ull * 8388608);
  EXPECT_EQ(v(r, "optimizer_bytes"), 8ull * 8388608 + 128 * 4);  // 128 adapter tensors
}

TEST(train_memory_test, frozen_layers_save_no_activations) {
  TrainInput in             = base();
  in.finetune.mode          = Finetune::freeze;
  in.finetune.frozen_layers = 12;
  ActivationReport act;
  act.layer_bytes     = 1000;
  act.embedding_bytes = 77;  // not saved: nothing below layer 12 needs a gradient
  const auto r        = train_memory(llama7b(), in, act);
  EXPECT_EQ(v(r, "activations_bytes"), 20u * 1000);  // layers 12..31 of 32
  in.finetune.frozen_layers = 0;                     // embeddings frozen, every layer trains
  EXPECT_EQ(v(train_memory(llama7b(), in, act), "activations_bytes"), 32u * 1000 + 77);
}

TEST(train_memory_test, fits_against_gpu_memory) {
  TrainInput in       = base();
  in.gpu_memory_bytes = 85899345920;
  EXPECT_FALSE(train_memory(llama7b(), in, {}).fits);
  in.plan.dp   = 8;
  in.plan.zero = 3;
  EXPECT_TRUE(train_memory(llama7b(), in, {}).fits);
}

void expect_field(TrainInput in, const char* field) {
  try {
    train_memory(llama7b(), in, {});
    ADD_FAILURE() << "no error for " << field;
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), field);
  }
}

TEST(train_memory_test, divisibility_errors_name_the_option) {
  TrainInput in = base();
  in.plan.tp    = 3;
  expect_field(in, "tp");
  in         = base();
  in.plan.pp = 3;
  expect_field(in, "pp");
  in         = base();
  in.plan.dp = 4;
  in.gpus    = 8;
  expect_field(in, "gpus");
  in         = base();
  in.plan.ep = 2;
  expect_field(in, "ep");
  in                       = base();
  in.plan.dp               = 2;
  in.workload.global_batch = 3;
  expect_field(in, "global_batch");
  in         = base();
  in.plan.cp = 3;
  expect_field(in, "cp");
  in                       = base();
  in.plan.pp               = 4;
  in.plan.schedule         = Schedule::interleaved;
  in.plan.interleave       = 2;
  in.workload.global_batch = 6;  // 6 micro-batches, not a multiple of 4 stages
  expect_field(in, "global_batch");
}

TEST(train_memory_test, seed_heuristics_354m) {
  ModelSpec m;
  m.n_embd     = 1024;
  m.n_layer    = 24;
  m.n_head     = 16;
  const auto h = seed_heuristics(m, 354336768, 8, 1024);
  ASSERT_EQ(h.size(), 2ull);
  // Seed 002: 5 · 8 · 1024 · 1024 · 2 · 24 (the document prints 84,886,016 per layer; the
  // product is 83,886,080).
  EXPECT_EQ(h[0].rows.find("activations_bytes")->value, 2013265920ull);
  EXPECT_EQ(h[0].total_bytes, 12ull * 354336768 + 2013265920ull);
  // Seed 004: s·b·h·L = 201,326,592; x (34 + 5·16·1024/1024 = 80) = x 114.
  EXPECT_EQ(h[1].rows.find("activations_bytes")->value, 201326592ull * 114);
  EXPECT_EQ(h[1].total_bytes, 16ull * 354336768 + 201326592ull * 114);
}

}  // namespace
}  // namespace sizeup
