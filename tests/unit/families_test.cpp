// The 2024-2025 text families, configs as published (class defaults for omitted keys, nested
// text_config, quantization_config), checked against published totals and hand counts.
#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/inference.hpp"
#include "sizeup/params.hpp"
#include "sizeup/tensors.hpp"
#include "test_models.hpp"

namespace sizeup {
namespace {

using test::error_of;

// Rounds a count to `digits` decimals of a billion, as model cards print it ("20.91B").
double billions(ParamCount n, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(static_cast<double>(n) / 1e9 * scale) / scale;
}

ModelSpec catalog(const char* name) {
  const auto* e = find_model(name);
  if (!e) throw std::runtime_error(std::string("no catalog model ") + name);
  return model_from_catalog(*e);
}

// google/gemma-3-12b-it config.json as published: text_config omits vocab_size and head_dim,
// which Gemma3TextConfig defaults to 262208 and 256 (not hidden / heads = 240).
const char* kGemma3_12b = R"({
  "architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 255999,
  "eoi_token_index": 256000, "eos_token_id": [1, 106], "image_token_index": 262144,
  "initializer_range": 0.02, "mm_tokens_per_image": 256, "model_type": "gemma3",
  "text_config": {"hidden_size": 3840, "intermediate_size": 15360, "model_type": "gemma3_text",
    "num_attention_heads": 16, "num_hidden_layers": 48, "num_key_value_heads": 8,
    "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 1024},
  "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
  "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
    "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27,
    "patch_size": 14, "vision_use_head": false}})";

TEST(families_test, gemma3_12b_published_config_takes_the_class_defaults) {
  const ModelSpec m = model_from_config_text(kGemma3_12b);
  EXPECT_EQ(m.family, "gemma3_text");
  EXPECT_EQ(m.n_vocab, 262208);
  EXPECT_EQ(m.head_dim, 256);
  EXPECT_TRUE(m.tied_head);
  EXPECT_EQ(m.sliding_window, 1024);
  EXPECT_EQ(m.n_sliding_layers(), 40);  // 5 of every 6 layers
  EXPECT_TRUE(m.not_counted.empty());   // the SigLIP tower is counted (towers.hpp)
  // Hand count of the language model. Per layer: q 3840*4096 + k, v 2*3840*2048 + o 4096*3840
  // = 47,185,920, q/k norms 2*256, four norms 4*3840, MLP 3*3840*15360 = 176,947,200:
  // 224,148,992 x 48 = 10,759,151,616; embedding 262208*3840 = 1,006,878,720; final norm 3840.
  EXPECT_EQ(count_params(m).language_model, 11'766'034'176u);
  // With the SigLIP tower (416,866,032) and projector (1152·3840 + 1152 = 4,424,832): the HF
  // safetensors total of google/gemma-3-12b-it, 12,187,325,040.
  EXPECT_EQ(count_params(m).total, 12'187'325'040u);
}

TEST(families_test, gpt_oss_matches_the_model_card) {
  // gpt-oss model card (arXiv:2508.10925) Table 1: 20.91B total, 3.61B active without the
  // embedding; 116.83B and 5.13B for gpt-oss-120b.
  const ModelSpec small = catalog("gpt-oss-20b");
  const auto p          = count_params(small);
  EXPECT_EQ(billions(p.total, 2), 20.91);
  const ParamCount embed = 201088ull * 2880;
  EXPECT_EQ(billions(p.active - embed, 2), 3.61);
  const ModelSpec big = model_from_config_text(R"({"model_type":"gpt_oss",
    "num_hidden_layers":36,"num_local_experts":128,"num_experts_per_tok":4})");
  const auto q        = count_params(big);
  EXPECT_EQ(q.total, 116'829'156'672u);
  EXPECT_EQ(billions(q.total, 2), 116.83);
  EXPECT_EQ(billions(q.active - embed, 2), 5.13);
  // Alternating attention: even layers slide over 128 tokens; a sink per head in each layer.
  EXPECT_EQ(small.n_sliding_layers(), 12);
  EXPECT_TRUE(small.is_sliding_layer(0));
  const auto t = tensor_table(small);
  EXPECT_TRUE(std::any_of(t.begin(), t.end(), [](const Tensor& x) {
    return x.name == "layers.*.self_attn.sinks" && x.shape == std::vector<std::int64_t>{64};
  }));
}

TEST(families_test, gpt_oss_mxfp4_experts_set_the_weight_memory) {
  const ModelSpec m = catalog("gpt-oss-20b");
  EXPECT_EQ(m.quant.format, StoredQuant::mxfp4);
  EXPECT_TRUE(m.quant.keep_attention);
  for (const auto& t : tensor_table(m)) {
    if (t.name == "layers.*.moe.experts.up_proj.weight") {
      EXPECT_TRUE(t.stored_quantized);
    }
    if (t.name == "layers.*.self_attn.q_proj.weight") {
      EXPECT_FALSE(t.stored_quantized);
    }
    if (t.name == "lm_head.weight") {
      EXPECT_FALSE(t.stored_quantized);
    }
  }
  // Experts: 24 layers x 32 experts x (2880*5760 + 2880*2880) = 19,110,297,600 elements at
  // 4.25 bits (4-bit values, one 8-bit scale per 32) = 10,152,345,600 bytes; the rest in bf16:
  // (20,914,757,184 - 19,110,297,600 expert weights) x 2 = 3,608,919,168 bytes.
  InferenceInput in;
  in.batch     = 1;
  in.context   = 1;
  const auto r = inference_memory(m, in);
  EXPECT_DOUBLE_EQ(r.weights_bytes, 10'152'345'600.0 + 3'608'919'168.0);
}

TEST(families_test, llama4_text_models_match_the_model_card) {
  // Meta's Llama 4 card: Scout 17B active of 109B, Maverick 17B active of 400B (the totals
  // include the vision encoder, which is not counted here).
  const ModelSpec scout = catalog("llama-4-scout-17b-16e");
  const auto s          = count_params(scout);
  EXPECT_EQ(billions(s.active, 0), 17);
  EXPECT_EQ(scout.n_moe_layers(), 48);
  EXPECT_TRUE(scout.chunked_attention);
  EXPECT_EQ(scout.sliding_window, 8192);
  EXPECT_EQ(scout.n_sliding_layers(), 36);  // RoPE layers chunk; every 4th layer is NoPE, global
  EXPECT_TRUE(scout.nope_layers[3]);
  const ModelSpec maverick = model_from_config_text(R"({"model_type":"llama4",
    "text_config":{"num_local_experts":128,"interleave_moe_layer_step":2}})");
  const auto mv            = count_params(maverick);
  EXPECT_EQ(maverick.n_moe_layers(), 24);
  EXPECT_TRUE(maverick.is_moe_layer(1));
  EXPECT_FALSE(maverick.is_moe_layer(0));
  EXPECT_EQ(billions(mv.language_model, 0), 401);  // 400.7B language model; the card's 400B
  EXPECT_EQ(billions(mv.active, 0), 17);
}

TEST(families_test, mistral3_language_model_equals_mistral_small_base) {
  // Mistral-Small-24B-Base-2501, the same language model, has 23,572,403,200 parameters
  // (HF safetensors total).
  EXPECT_EQ(count_params(catalog("mistral-small-3.1-24b")).language_model, 23'572'403'200u);
}

TEST(families_test, glm45_air_and_its_prediction_layer) {
  ModelSpec m = catalog("glm-4.5-air");
  EXPECT_EQ(m.n_moe_layers(), 45);
  EXPECT_EQ(m.n_mtp_layers, 1);
  const auto p = count_params(m);
  EXPECT_EQ(billions(p.total, 0), 107);                // the card's "106B total": 106.85B
  EXPECT_EQ(billions(p.active - p.embedding, 0), 12);  // "12B active" without embedding, head
  m.count_mtp  = true;             // the checkpoint's extra layer, its copies of the
  const auto q = count_params(m);  // embedding and head: the Hub's 110B
  EXPECT_EQ(billions(q.total, 0), 110);
  bool mtp_row = false;
  for (const auto& row : q.components.rows) mtp_row = mtp_row || row.key == "mtp";
  EXPECT_TRUE(mtp_row);
}

TEST(families_test, glm45_full_matches_the_model_card) {
  // zai-org/GLM-4.5: 355B total, 32B active; 92 layers (3 dense), 160 experts, q/k norm.
  const ModelSpec m = model_from_config_text(R"({"model_type":"glm4_moe","hidden_size":5120,
    "intermediate_size":12288,"moe_intermediate_size":1536,"num_hidden_layers":92,
    "num_attention_heads":96,"num_key_value_heads":8,"head_dim":128,"n_routed_experts":160,
    "n_shared_experts":1,"num_experts_per_tok":8,"first_k_dense_replace":3,
    "attention_bias":true,"use_qk_norm":true,"num_nextn_predict_layers":1})");
  // By hand: attention 5120*12288+12288 + 2*(5120*1024+1024) + 12288*5120 + q/k norms 2*128
  // = 136,329,472 and 2 norms 10,240 per layer; 3 dense MLPs 3*5120*12288 = 188,743,680;
  // 89 MoE layers of router 160*5120 + experts 3*160*1536*5120 + shared 3*5120*1536
  // = 3,799,285,760; embedding and head 2*151552*5120; final norm 5120. Total 352.8B without
  // the prediction layer (358.3B with it and its stored copies of embedding and head): the
  // card's 355B matches neither convention (0.7% apart), its 32B active does.
  const auto p = count_params(m);
  EXPECT_EQ(p.total, 352'797'814'784u);
  EXPECT_EQ(billions(p.active - p.embedding, 0), 32);
}

TEST(families_test, published_totals_of_the_other_families) {
  struct Case {
    const char* name;
    double billions_published;
    int digits;
  };
  // Model cards / HF model pages: Granite 3.3 8.17B, SmolLM3 3.08B, Command R7B 8.03B,
  // Command R 35B, DBRX 132B, OLMoE 6.92B, Phi-3.5-MoE 41.9B, InternLM2.5 7.74B, EXAONE 7.82B.
  for (const Case& c :
       {Case{"granite-3.3-8b", 8.17, 2}, Case{"smollm3-3b", 3.08, 2}, Case{"command-r7b", 8.03, 2},
        Case{"command-r-35b", 35, 0}, Case{"dbrx-instruct", 132, 0}, Case{"olmoe-1b-7b", 6.92, 2},
        Case{"phi-3.5-moe", 41.9, 1}, Case{"internlm2.5-7b", 7.74, 2},
        Case{"exaone-3.5-7.8b", 7.82, 2}})
    EXPECT_EQ(billions(count_params(catalog(c.name)).total, c.digits), c.billions_published)
        << c.name;
  // Active parameters: DBRX 36B, OLMoE 1.3B, Phi-3.5-MoE 6.6B.
  EXPECT_EQ(billions(count_params(catalog("dbrx-instruct")).active, 0), 36);
  EXPECT_EQ(billions(count_params(catalog("olmoe-1b-7b")).active, 1), 1.3);
  EXPECT_EQ(billions(count_params(catalog("phi-3.5-moe")).active, 1), 6.6);
  // EXAONE 3.5's card: 6.98B without embeddings (token embedding and head).
  EXPECT_EQ(billions(count_params(catalog("exaone-3.5-7.8b")).non_embedding, 2), 6.98);
}

TEST(families_test, cohere_layers_share_one_norm_and_run_in_parallel) {
  const ModelSpec m = catalog("command-r7b");
  EXPECT_TRUE(m.parallel_block);
  EXPECT_EQ(m.norms_per_layer, 1);
  EXPECT_FALSE(m.norm_bias);
  EXPECT_EQ(m.n_sliding_layers(), 24);  // 3 of every 4
  EXPECT_FALSE(m.is_sliding_layer(3));
}

TEST(families_test, count_changing_keys_a_family_does_not_read_are_errors) {
  EXPECT_EQ(error_of(R"({"model_type":"llama","num_experts":8})"),
            "unsupported config (num_experts): changes the parameter count and model_type "
            "'llama' does not read it");
  EXPECT_EQ(error_of(R"({"model_type":"mistral","vision_config":{"hidden_size":8}})"),
            "unsupported config (vision_config): changes the parameter count and model_type "
            "'mistral' does not read it");
  // False, zero and empty values change nothing.
  EXPECT_EQ(error_of(R"({"model_type":"llama","num_experts":0,"mlp_only_layers":[]})"), "no error");
}

TEST(families_test, quantization_config_formats_and_exceptions) {
  const ModelSpec gptq = model_from_config_text(R"({"model_type":"llama",
    "quantization_config":{"quant_method":"gptq","bits":4,"group_size":128}})");
  EXPECT_EQ(gptq.quant.format, StoredQuant::gptq);
  int quantised = 0;
  for (const auto& t : tensor_table(gptq)) {
    quantised += t.stored_quantized;
    if (t.name == "lm_head.weight") {
      EXPECT_FALSE(t.stored_quantized);
    }
  }
  EXPECT_EQ(quantised, 7);  // q, k, v, o, gate, up, down
  // Llama-2-7B stored as GPTQ 4-bit: the 6.48B linear weights take about half a byte each
  // plus scales, the embedding and head stay 16-bit, so about 0.29 of the bf16 size.
  InferenceInput in;
  in.batch = in.context = 1;
  const double stored   = inference_memory(gptq, in).weights_bytes;
  const double plain =
      inference_memory(model_from_config_text(R"({"model_type":"llama"})"), in).weights_bytes;
  EXPECT_LT(stored, 0.35 * plain);
  EXPECT_GT(stored, 0.25 * plain);
  const ModelSpec bnb = model_from_config_text(R"({"model_type":"llama","quantization_config":
    {"quant_method":"bitsandbytes","load_in_4bit":true,"bnb_4bit_quant_type":"nf4",
     "llm_int8_skip_modules":["lm_head","self_attn"]}})");
  EXPECT_EQ(bnb.quant.format, StoredQuant::bnb_nf4);
  EXPECT_TRUE(bnb.quant.keep_attention);
  const ModelSpec ct = model_from_config_text(R"({"model_type":"llama","quantization_config":
    {"quant_method":"compressed-tensors","config_groups":{"group_0":{"targets":["Linear"],
     "weights":{"num_bits":8,"type":"float","strategy":"channel"}}},"ignore":["lm_head"]}})");
  EXPECT_EQ(ct.quant.format, StoredQuant::fp8);
  // DeepSeek-style block FP8: one byte per weight plus one fp32 scale per 128 x 128 block.
  // A 1-layer Llama of d 256, f 384 (untied, V 1000): linears q, k, v, o 256x256 (4 blocks
  // each), gate, up 384x256 and down 256x384 (6 blocks each): 4*65,536 + 3*98,304 = 557,056
  // bytes + 34 blocks * 4 = 136; embedding, head 2*1000*256*2 = 1,024,000; norms 3*256*2 = 1,536.
  const ModelSpec fp8 = model_from_config_text(R"({"model_type":"llama","hidden_size":256,
    "intermediate_size":384,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":1000,
    "quantization_config":{"quant_method":"fp8","weight_block_size":[128,128]}})");
  EXPECT_EQ(stored_weight_bytes(fp8), 557'056u + 136u + 1'024'000u + 1'536u);
  EXPECT_EQ(error_of(R"({"model_type":"llama","quantization_config":{"quant_method":"hqq"}})"),
            "unsupported config (quant_method): 'hqq' is not one of gptq, awq, bitsandbytes, "
            "fp8, mxfp4, compressed-tensors");
  EXPECT_EQ(error_of(R"({"model_type":"llama","quantization_config":{"quant_method":"awq",
    "modules_to_not_convert":["model.layers.3"]}})"),
            "unsupported config (modules_to_not_convert): 'model.layers.3' names no part of the "
            "model sizeup can match");
}

TEST(families_test, every_family_names_its_defaults_source) {
  for (const auto& f : supported_families()) {
    EXPECT_NE(family_defaults_source(f).find("Config"), std::string::npos) << f;
  }
  EXPECT_NE(family_defaults_source("gemma3_text").find("4.50"), std::string::npos);
}

}  // namespace
}  // namespace sizeup
