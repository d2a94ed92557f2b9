// Inference memory: KV cache, quantised weights, tensor parallelism, workspace, fit and
// roofline. Expected values are derived by hand in the comments from the published configs.
#include "sizeup/inference.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

ModelSpec catalog(const char* name) {
  const CatalogEntry* e = find_model(name);
  EXPECT_NE(e, nullptr) << name;
  return model_from_catalog(*e);
}

InferenceInput one_token(int kv_bytes = 2) {
  InferenceInput in;
  in.batch    = 1;
  in.context  = 1;
  in.kv_bytes = kv_bytes;
  return in;
}

double kv(const ModelSpec& m, const InferenceInput& in) {
  return inference_memory(m, in).kv_cache_bytes;
}

// Llama-2-7B (MHA): 2 (K,V) * 32 layers * 32 heads * 128 * 2 bytes = 524,288 per token.
TEST(inference_test, kv_per_token_llama2_7b_mha) {
  const ModelSpec m = catalog("llama-2-7b");
  EXPECT_EQ(kv(m, one_token()), 524288.0);
  InferenceInput in = one_token();
  in.context        = 4096;
  in.batch          = 3;
  EXPECT_EQ(kv(m, in), 3.0 * 4096 * 524288);  // 6 GiB
  in.kv_bytes = 4;                            // fp32 doubles it
  EXPECT_EQ(kv(m, in), 2 * 3.0 * 4096 * 524288);
}

// Llama-3-8B (GQA, 8 KV heads): 2 * 32 * 8 * 128 * 2 = 131,072 per token; fp8 halves it.
TEST(inference_test, kv_per_token_llama3_8b_gqa) {
  const ModelSpec m = catalog("llama-3-8b");
  EXPECT_EQ(kv(m, one_token()), 131072.0);
  EXPECT_EQ(kv(m, one_token(1)), 65536.0);
}

// MQA (one KV head): 2 * L * 1 * hd * 2 for a hypothetical 4-layer model, hd 64.
TEST(inference_test, kv_mqa_one_head) {
  ModelSpec m = catalog("llama-3-8b");
  m.n_layer   = 4;
  m.n_head_kv = 1;
  EXPECT_EQ(kv(m, one_token()), 2.0 * 4 * 1 * 128 * 2);
}

// Mistral-7B-v0.1: every layer slides over 4096 tokens, 8 KV heads of 128:
// per token 2*32*8*128*2 = 131,072; at s = 32768 only 4096 tokens are held.
TEST(inference_test, kv_sliding_window_mistral) {
  const ModelSpec m = catalog("mistral-7b-v0.1");
  ASSERT_EQ(m.sliding_window, 4096);
  InferenceInput in = one_token();
  in.context        = 1000;
  EXPECT_EQ(kv(m, in), 1000.0 * 131072);
  in.context = 32768;
  EXPECT_EQ(kv(m, in), 4096.0 * 131072);  // 512 MiB, not 4 GiB
}

// Gemma-2-9B: 42 layers alternate sliding (4096) and global; 8 KV heads of 256.
// Per layer per token 2*8*256*2 = 8192 bytes; s = 8192: 21*8192*8192 + 21*4096*8192.
TEST(inference_test, kv_alternating_sliding_gemma2) {
  const ModelSpec m = catalog("gemma-2-9b");
  InferenceInput in = one_token();
  in.context        = 8192;
  EXPECT_EQ(kv(m, in), 21.0 * 8192 * 8192 + 21.0 * 4096 * 8192);
}

// DeepSeek-V2 (60 layers, kv_lora_rank 512, rope dim 64): latent cache (512 + 64) * 60 * 2
// = 69,120 bytes per token, not split by tensor parallelism.
TEST(inference_test, kv_mla_latent_deepseek_v2) {
  ModelSpec m = catalog("deepseek-v2-lite");  // same MLA widths, 27 layers, 16 heads
  EXPECT_EQ(m.kv_lora_rank, 512);
  EXPECT_EQ(m.qk_rope_head_dim, 64);
  EXPECT_EQ(kv(m, one_token()), 576.0 * 27 * 2);
  m.n_layer = 60;
  m.moe_layers.assign(60, true);
  EXPECT_EQ(kv(m, one_token()), 69120.0);
  InferenceInput in = one_token();
  in.tp             = 2;
  EXPECT_EQ(kv(m, in), 69120.0);
}

// HF eager MLA caches full K (128 + 64) and V (128) per head: Lite 27 * 16 * 320 * 2.
TEST(inference_test, kv_mla_full_option) {
  const ModelSpec m = catalog("deepseek-v2-lite");
  InferenceInput in = one_token();
  in.mla_cache      = MlaCache::full;
  EXPECT_EQ(kv(m, in), 27.0 * 16 * 320 * 2);
}

// T5-small: 6 decoder layers, 8 heads of 64: self-attention 6*2*8*64*2 = 12,288 per token,
// cross-attention the same per encoder token.
TEST(inference_test, kv_encoder_decoder_t5) {
  const ModelSpec m = catalog("t5-small");
  InferenceInput in = one_token();
  in.context        = 100;
  in.encoder_seq    = 512;
  EXPECT_EQ(kv(m, in), 100.0 * 12288 + 512.0 * 12288);
}

// Tensor parallelism shards KV heads: Llama-2-70B (8 KV heads, 80 layers) per token per GPU
// 2*80*(8/t)*128*2; with t = 16 > 8 each rank holds one replicated head.
TEST(inference_test, kv_tensor_parallel_sharding) {
  const ModelSpec m = catalog("llama-2-70b");
  InferenceInput in = one_token();
  EXPECT_EQ(kv(m, in), 327680.0);
  in.tp = 2;
  EXPECT_EQ(kv(m, in), 163840.0);
  in.tp = 16;
  EXPECT_EQ(kv(m, in), 40960.0);
}

TEST(inference_test, tp_must_divide_heads) {
  const ModelSpec m = catalog("llama-2-70b");
  InferenceInput in = one_token();
  in.tp             = 3;
  try {
    inference_memory(m, in);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "tp");
  }
}

TEST(inference_test, bad_inputs_name_their_field) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceInput in = one_token();
  in.context        = 0;
  EXPECT_THROW(inference_memory(m, in), InputError);
  try {
    parse_weight_format("int3");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "dtype");
  }
  EXPECT_EQ(parse_weight_format("gptq-int4"), WeightFormat::gptq_int4);
}

// One 4096 x 4096 matrix, n = 16,777,216:
//  int4/AWQ g128: packed n/2 = 8,388,608 + zeros 32 groups * 512 int32 = 65,536
//                 + fp16 scales 32 * 4096 * 2 = 262,144  -> 8,716,288
//  GPTQ adds g_idx 4096 * 4 = 16,384                      -> 8,732,672
//  nf4 + double quant: n/2 + 262,144 one-byte absmax + 1024 fp32 constants -> 8,654,848
//  nf4 without: n/2 + 262,144 * 4 = 9,437,184; int8: n + 4096 * 4; fp8: n + 4.
TEST(inference_test, quantised_matrix_bytes_hand_derived) {
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::int4, 1, 4096, 4096, 128, true), 8716288.0);
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::awq_int4, 1, 4096, 4096, 128, true), 8716288.0);
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::gptq_int4, 1, 4096, 4096, 128, true), 8732672.0);
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::nf4, 1, 4096, 4096, 64, true), 8654848.0);
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::nf4, 1, 4096, 4096, 64, false), 9437184.0);
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::int8, 1, 4096, 4096, 128, true), 16793600.0);
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::fp8, 1, 4096, 4096, 128, true), 16777220.0);
  // Group 256 halves the scale/zero overhead: 16 groups -> 32,768 + 131,072.
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::int4, 1, 4096, 4096, 256, true),
            8388608.0 + 32768 + 131072);
  // A group that does not divide the inputs: ceil(100 / 64) = 2 groups per row.
  EXPECT_EQ(quantized_matrix_bytes(WeightFormat::int4, 1, 8, 100, 64, true),
            100.0 * 1 * 4 + 2 * 1 * 4 + 2 * 8 * 2);
}

// Llama-2-7B int4 g128. Block linears per layer: q,k,v,o 4096x4096 and gate,up {11008, 4096},
// down {4096, 11008}: 202,375,168 elements, x32 = 6,476,005,376 -> packed 3,238,002,688.
// Overhead per layer: 4 * 327,680 + 3 * (zeros 176,128 + scales 704,512) = 3,952,640, x32 =
// 126,484,480. The other 6,738,415,616 - 6,476,005,376 = 262,410,240 params stay 16-bit:
// 524,820,480 bytes. Total 3,889,307,648.
TEST(inference_test, int4_group128_llama2_7b_weights) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceInput in = one_token();
  in.weights        = WeightFormat::int4;
  EXPECT_EQ(inference_memory(m, in).weights_bytes, 3889307648.0);
  in.weights = WeightFormat::bf16;
  EXPECT_EQ(inference_memory(m, in).weights_bytes, 6738415616.0 * 2);
  // Quantising the (untied) head as well: 32000 x 4096 -> 65,536,000 packed + 32 groups x
  // (4000 int32 zeros + 32000 fp16 scales) = 2,560,000, instead of 262,144,000 bytes.
  in.weights       = WeightFormat::int4;
  in.quantize_head = true;
  EXPECT_EQ(inference_memory(m, in).weights_bytes,
            3889307648.0 - 262144000 + 65536000 + 32.0 * 4000 * 4 + 32.0 * 32000 * 2);
}

// Tensor parallelism splits matmul and embedding weights; norms (2 per layer + final, 4096
// each = 266,240 params) stay whole: (6,738,415,616 - 266,240) * 2 / 2 + 266,240 * 2.
TEST(inference_test, tp_shards_weights_not_norms) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceInput in = one_token();
  in.tp             = 2;
  EXPECT_EQ(inference_memory(m, in).weights_bytes, 6738149376.0 + 532480);
}

// Workspace for Llama-2-7B, T = 512: the MLP phase dominates, 2 * 512 * (3*4096 + 3*11008)
// = 46,399,488, plus fp32 last-token logits b * 32000 * 4.
TEST(inference_test, workspace_llama2_7b) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceInput in;
  in.batch   = 2;
  in.context = 4096;
  EXPECT_EQ(inference_memory(m, in).workspace_bytes, 46399488.0 + 2 * 128000);
  in.context = 100;  // T = min(512, b * s) = 200
  EXPECT_EQ(inference_memory(m, in).workspace_bytes, 2.0 * 200 * 45312 + 2 * 128000);
}

TEST(inference_test, total_is_sum_and_heuristic_is_1_2x) {
  const ModelSpec m       = catalog("llama-2-7b");
  InferenceInput in       = one_token();
  in.overhead_bytes       = 123;
  const InferenceReport r = inference_memory(m, in);
  EXPECT_EQ(r.total_bytes, r.weights_bytes + r.kv_cache_bytes + r.workspace_bytes + 123);
  EXPECT_EQ(r.heuristic_1_2x_bytes, std::ceil(1.2 * 13476831232.0));
}

// Llama-2-7B bf16 on an 80 GiB GPU at s = 4096: fixed = weights 13,476,831,232 + overhead
// 1 GiB + activations 46,399,488; per sequence KV 2 GiB + logits 128,000.
// (85,899,345,920 - 14,597,021,544) / 2,147,611,648 = 33.2 -> 33.
TEST(inference_test, fit_max_batch_closed_form) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceInput in;
  in.context = 4096;
  InferenceDevice dev;
  dev.memory_bytes           = 85899345920ULL;
  const InferenceFitReport f = inference_fit(m, in, dev);
  EXPECT_TRUE(f.fits);
  EXPECT_EQ(f.max_batch, 33);
  ASSERT_TRUE(f.max_context.has_value());
  // At b = 1: KV 262,144 bytes per token (bf16), workspace fixed at T = 512 once s >= 512:
  // (85,899,345,920 - 13,476,831,232 - 1,073,741,824 - 46,399,488 - 128,000) / 524,288.
  EXPECT_EQ(*f.max_context,
            static_cast<std::int64_t>(
                (85899345920.0 - 13476831232.0 - 1073741824.0 - 46399488.0 - 128000.0) / 524288.0));
  dev.memory_bytes           = 8ULL << 30;  // 8 GiB: the 13.5 GB of weights alone do not fit
  const InferenceFitReport g = inference_fit(m, in, dev);
  EXPECT_FALSE(g.fits);
  EXPECT_EQ(g.max_batch, 0);
  EXPECT_EQ(g.max_context, 0);
}

// Mistral's cache stops growing at the window: memory never runs out in the context search.
TEST(inference_test, fit_sliding_context_unbounded) {
  const ModelSpec m = catalog("mistral-7b-v0.1");
  InferenceInput in;
  in.context = 4096;
  InferenceDevice dev;
  dev.memory_bytes = 85899345920ULL;
  EXPECT_FALSE(inference_fit(m, in, dev).max_context.has_value());
}

// A batch of 1e9 sequences: 1e9 * 4096 * 524,288 bytes (2.1e21) is finite and exact in a
// double (2^31 * 10^9), and the fit search does not overflow.
TEST(inference_test, huge_batch_no_overflow) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceInput in;
  in.context = 4096;
  // 1e9 sequences x 4096 tokens x 512 KiB: 2.1e18 bytes, beyond 2^53 where sums stay exact.
  in.batch = 1000000000;
  try {
    inference_memory(m, in);
    FAIL() << "accepted a total beyond 2^53 bytes";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "batch");  // the larger factor (1e9 sequences, 4096 tokens)
  }
  // 1e5 sequences: 2.1e14 bytes, exact; the total is the exact sum of its rows.
  in.batch                = 100000;
  const InferenceReport r = inference_memory(m, in);
  EXPECT_EQ(r.kv_cache_bytes, 1e5 * 4096 * 524288);
  EXPECT_EQ(r.total_bytes,
            r.weights_bytes + r.kv_cache_bytes + r.workspace_bytes + r.overhead_bytes);
  InferenceDevice dev;
  dev.memory_bytes          = 85899345920ULL;
  dev.bandwidth_bytes_per_s = 2e12;
  dev.peak_flops_per_s      = 1e15;
  EXPECT_FALSE(inference_fit(m, in, dev).fits);
  const Roofline rf = inference_roofline(m, in, dev);
  EXPECT_TRUE(std::isfinite(rf.decode_seconds) && rf.decode_seconds > 0);
  EXPECT_TRUE(std::isfinite(rf.prefill_tokens_per_s));
}

// Decode roofline of Llama-2-7B, b = 1, s = 1, on a 1 TB/s, 1 PFLOP/s device.
// Bytes: weights 13,476,831,232 minus the untied embedding table (one row read per token,
// 262,144,000) plus the KV cache 524,288. FLOPs: 2 * matmul params (6,476,005,376 block
// linears + 131,072,000 head) + attention 32 layers * 2 * 32 heads * (128 + 128) * 1.
TEST(inference_test, decode_roofline_memory_bound) {
  const ModelSpec m = catalog("llama-2-7b");
  InferenceDevice dev;
  dev.bandwidth_bytes_per_s = 1e12;
  dev.peak_flops_per_s      = 1e15;
  const Roofline r          = inference_roofline(m, one_token(), dev);
  EXPECT_EQ(r.decode_bytes, 13476831232.0 - 262144000 + 524288);
  EXPECT_EQ(r.decode_flops, 2.0 * (6476005376.0 + 131072000) + 32.0 * 2 * 32 * 256);
  EXPECT_EQ(r.decode_bound, "memory");
  EXPECT_DOUBLE_EQ(r.decode_seconds, r.decode_bytes / 1e12);
  EXPECT_DOUBLE_EQ(r.decode_tokens_per_s, 1e12 / r.decode_bytes);
}

}  // namespace
}  // namespace sizeup
