// Reading a config.json as published. One table row per model_type: the architectures names
// that identify it without model_type, its reader, and the class defaults of HF transformers
// that apply to keys a file omits (the version and class they come from named in the row).
// Multimodal wrappers (gemma3, mistral3, llama4) hold their language model in text_config;
// their towers are recorded as not counted until a family counts them (ModelSpec::not_counted).
#include "sizeup/hf_config.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "family_config.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

using detail::Config;
using detail::json;
using I      = std::int64_t;
using Reader = void (*)(const Config&, ModelSpec&);

struct Family {
  const char* model_type;
  std::vector<const char*> architectures;  // class-name prefixes, e.g. "Llama" (LlamaForCausalLM)
  Reader read;
  const char* defaults_source;  // transformers version and class the defaults are copied from
  const char* defaults;         // JSON object: the class defaults of the keys that shape the count
};

// Defaults are those of the configuration classes' __init__ signatures (or dataclass fields);
// keys the classes compute (head_dim = hidden / heads, num_key_value_heads = heads) are left
// to the readers. T4.46 = transformers 4.46; "main@<commit>" = the file read at that commit.
const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {"gpt2",
       {"GPT2"},
       detail::read_gpt2,
       "transformers 4.46 GPT2Config",
       R"({"vocab_size":50257,"n_positions":1024,"n_embd":768,"n_layer":12,"n_head":12,
           "activation_function":"gelu_new","tie_word_embeddings":true})"},
      {"gpt_neox",
       {"GPTNeoX"},
       detail::read_gpt_neox,
       "transformers 4.46 GPTNeoXConfig",
       R"({"vocab_size":50432,"hidden_size":6144,"num_hidden_layers":44,"num_attention_heads":64,
           "intermediate_size":24576,"hidden_act":"gelu","rotary_pct":0.25,
           "max_position_embeddings":2048,"use_parallel_residual":true,
           "tie_word_embeddings":false,"attention_bias":true})"},
      {"gptj",
       {"GPTJ"},
       detail::read_gptj,
       "transformers 4.46 GPTJConfig",
       R"({"vocab_size":50400,"n_positions":2048,"n_embd":4096,"n_layer":28,"n_head":16,
           "rotary_dim":64,"activation_function":"gelu_new","tie_word_embeddings":false})"},
      {"opt",
       {"OPT"},
       detail::read_opt,
       "transformers 4.46 OPTConfig",
       R"({"vocab_size":50272,"hidden_size":768,"num_hidden_layers":12,"ffn_dim":3072,
           "max_position_embeddings":2048,"do_layer_norm_before":true,
           "_remove_final_layer_norm":false,"num_attention_heads":12,
           "activation_function":"relu","enable_bias":true,
           "layer_norm_elementwise_affine":true,"tie_word_embeddings":true})"},
      {"bloom",
       {"Bloom"},
       detail::read_bloom,
       "transformers 4.46 BloomConfig",
       R"({"vocab_size":250880,"hidden_size":64,"n_layer":2,"n_head":8,
           "tie_word_embeddings":true})"},
      {"falcon",
       {"Falcon", "RW"},
       detail::read_falcon,
       "transformers 4.46 FalconConfig",
       R"({"vocab_size":65024,"hidden_size":4544,"num_hidden_layers":32,
           "num_attention_heads":71,"alibi":false,"new_decoder_architecture":false,
           "multi_query":true,"parallel_attn":true,"bias":false,"max_position_embeddings":2048,
           "activation":"gelu","tie_word_embeddings":true})"},
      {"llama",
       {"Llama"},
       detail::read_llama,
       "transformers 4.46 LlamaConfig",
       R"({"vocab_size":32000,"hidden_size":4096,"intermediate_size":11008,
           "num_hidden_layers":32,"num_attention_heads":32,"hidden_act":"silu",
           "max_position_embeddings":2048,"tie_word_embeddings":false,"attention_bias":false,
           "mlp_bias":false})"},
      {"mistral",
       {"Mistral"},
       detail::read_mistral,
       "transformers 4.46 MistralConfig",
       R"({"vocab_size":32000,"hidden_size":4096,"intermediate_size":14336,
           "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
           "hidden_act":"silu","max_position_embeddings":131072,"tie_word_embeddings":false,
           "sliding_window":4096})"},
      {"mixtral",
       {"Mixtral"},
       detail::read_mixtral,
       "transformers 4.46 MixtralConfig",
       R"({"vocab_size":32000,"hidden_size":4096,"intermediate_size":14336,
           "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
           "hidden_act":"silu","max_position_embeddings":131072,"tie_word_embeddings":false,
           "num_experts_per_tok":2,"num_local_experts":8})"},
      {"qwen2",
       {"Qwen2ForCausalLM", "Qwen2Model"},
       detail::read_qwen2,
       "transformers 4.46 Qwen2Config",
       R"({"vocab_size":151936,"hidden_size":4096,"intermediate_size":22016,
           "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32,
           "hidden_act":"silu","max_position_embeddings":32768,"tie_word_embeddings":false,
           "use_sliding_window":false,"sliding_window":4096,"max_window_layers":28})"},
      {"qwen2_moe",
       {"Qwen2Moe"},
       detail::read_qwen2_moe,
       "transformers 4.46 Qwen2MoeConfig",
       R"({"vocab_size":151936,"hidden_size":2048,"intermediate_size":5632,
           "num_hidden_layers":24,"num_attention_heads":16,"num_key_value_heads":16,
           "hidden_act":"silu","max_position_embeddings":32768,"tie_word_embeddings":false,
           "use_sliding_window":false,"sliding_window":4096,"max_window_layers":28,
           "decoder_sparse_step":1,"moe_intermediate_size":1408,
           "shared_expert_intermediate_size":5632,"num_experts_per_tok":4,"num_experts":60})"},
      {"qwen3",
       {"Qwen3ForCausalLM", "Qwen3Model"},
       detail::read_qwen3,
       "transformers 4.51 Qwen3Config",
       R"({"vocab_size":151936,"hidden_size":4096,"intermediate_size":22016,
           "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32,
           "head_dim":128,"hidden_act":"silu","max_position_embeddings":32768,
           "tie_word_embeddings":false,"attention_bias":false,"use_sliding_window":false,
           "sliding_window":4096,"max_window_layers":28})"},
      {"qwen3_moe",
       {"Qwen3Moe"},
       detail::read_qwen3_moe,
       "transformers 4.51 Qwen3MoeConfig",
       R"({"vocab_size":151936,"hidden_size":2048,"intermediate_size":6144,
           "num_hidden_layers":24,"num_attention_heads":32,"num_key_value_heads":4,
           "hidden_act":"silu","max_position_embeddings":32768,"tie_word_embeddings":false,
           "attention_bias":false,"use_sliding_window":false,"sliding_window":4096,
           "max_window_layers":28,"decoder_sparse_step":1,"moe_intermediate_size":768,
           "num_experts_per_tok":8,"num_experts":128})"},
      {"gemma",
       {"GemmaFor", "GemmaModel"},
       detail::read_gemma,
       "transformers 4.46 GemmaConfig",
       R"({"vocab_size":256000,"hidden_size":3072,"intermediate_size":24576,
           "num_hidden_layers":28,"num_attention_heads":16,"num_key_value_heads":16,
           "head_dim":256,"hidden_act":"gelu_pytorch_tanh","max_position_embeddings":8192,
           "tie_word_embeddings":true,"attention_bias":false})"},
      {"gemma2",
       {"Gemma2"},
       detail::read_gemma2,
       "transformers 4.46 Gemma2Config",
       R"({"vocab_size":256000,"hidden_size":2304,"intermediate_size":9216,
           "num_hidden_layers":26,"num_attention_heads":8,"num_key_value_heads":4,
           "head_dim":256,"hidden_activation":"gelu_pytorch_tanh",
           "max_position_embeddings":8192,"tie_word_embeddings":true,"attention_bias":false,
           "sliding_window":4096})"},
      {"gemma3_text",
       {"Gemma3ForCausalLM", "Gemma3TextModel"},
       detail::read_gemma3,
       "transformers 4.50 Gemma3TextConfig (configuration_gemma3.py, main@008f5c8)",
       R"({"vocab_size":262208,"hidden_size":2304,"intermediate_size":9216,
           "num_hidden_layers":26,"num_attention_heads":8,"num_key_value_heads":4,
           "head_dim":256,"hidden_activation":"gelu_pytorch_tanh",
           "max_position_embeddings":131072,"tie_word_embeddings":true,
           "attention_bias":false,"sliding_window":4096,"sliding_window_pattern":6})"},
      {"phi",
       {"PhiFor", "PhiModel"},
       detail::read_phi,
       "transformers 4.46 PhiConfig",
       R"({"vocab_size":51200,"hidden_size":2048,"intermediate_size":8192,
           "num_hidden_layers":24,"num_attention_heads":32,"hidden_act":"gelu_new",
           "max_position_embeddings":2048,"partial_rotary_factor":0.5,"qk_layernorm":false,
           "tie_word_embeddings":false})"},
      {"phi3",
       {"Phi3"},
       detail::read_phi3,
       "transformers 4.46 Phi3Config",
       R"({"vocab_size":32064,"hidden_size":3072,"intermediate_size":8192,
           "num_hidden_layers":32,"num_attention_heads":32,"hidden_act":"silu",
           "max_position_embeddings":4096,"tie_word_embeddings":false})"},
      {"deepseek_v2",
       {"DeepseekV2"},
       detail::read_deepseek,
       "transformers 4.52 DeepseekV2Config",
       R"({"vocab_size":102400,"hidden_size":4096,"intermediate_size":11008,
           "moe_intermediate_size":1407,"num_hidden_layers":30,"num_attention_heads":32,
           "num_key_value_heads":32,"moe_layer_freq":1,"first_k_dense_replace":0,
           "kv_lora_rank":512,"q_lora_rank":1536,"qk_rope_head_dim":64,"v_head_dim":128,
           "qk_nope_head_dim":128,"hidden_act":"silu","max_position_embeddings":2048,
           "tie_word_embeddings":false})"},
      {"deepseek_v3",
       {"DeepseekV3"},
       detail::read_deepseek,
       "transformers 4.51 DeepseekV3Config",
       R"({"vocab_size":129280,"hidden_size":7168,"intermediate_size":18432,
           "moe_intermediate_size":2048,"num_hidden_layers":61,"num_attention_heads":128,
           "num_key_value_heads":128,"n_shared_experts":1,"n_routed_experts":256,
           "num_experts_per_tok":8,"first_k_dense_replace":3,"kv_lora_rank":512,
           "q_lora_rank":1536,"qk_rope_head_dim":64,"v_head_dim":128,"qk_nope_head_dim":128,
           "hidden_act":"silu","max_position_embeddings":4096,"tie_word_embeddings":false})"},
      {"olmo2",
       {"Olmo2"},
       detail::read_olmo2,
       "transformers 4.47 Olmo2Config",
       R"({"vocab_size":50304,"hidden_size":4096,"intermediate_size":11008,
           "num_hidden_layers":32,"num_attention_heads":32,"hidden_act":"silu",
           "max_position_embeddings":2048,"tie_word_embeddings":false,"attention_bias":false})"},
      {"starcoder2",
       {"Starcoder2"},
       detail::read_starcoder2,
       "transformers 4.46 Starcoder2Config",
       R"({"vocab_size":49152,"hidden_size":3072,"intermediate_size":12288,
           "num_hidden_layers":30,"num_attention_heads":24,"num_key_value_heads":2,
           "hidden_act":"gelu_pytorch_tanh","max_position_embeddings":4096,"use_bias":true,
           "tie_word_embeddings":true})"},
      {"bert",
       {"Bert"},
       detail::read_bert,
       "transformers 4.46 BertConfig",
       R"({"vocab_size":30522,"hidden_size":768,"num_hidden_layers":12,
           "num_attention_heads":12,"intermediate_size":3072,"hidden_act":"gelu",
           "max_position_embeddings":512,"type_vocab_size":2})"},
      {"t5",
       {"T5"},
       detail::read_t5,
       "transformers 4.46 T5Config",
       R"({"vocab_size":32128,"d_model":512,"d_kv":64,"d_ff":2048,"num_layers":6,
           "num_heads":8,"relative_attention_num_buckets":32,"feed_forward_proj":"relu",
           "tie_word_embeddings":true})"},
      // 2024-2025 text families.
      {"gpt_oss",
       {"GptOss"},
       detail::read_gpt_oss,
       "transformers 4.55 GptOssConfig (configuration_gpt_oss.py, main@02b8f42)",
       R"({"num_hidden_layers":36,"num_local_experts":128,"vocab_size":201088,
           "hidden_size":2880,"intermediate_size":2880,"head_dim":64,"num_attention_heads":64,
           "num_key_value_heads":8,"sliding_window":128,"tie_word_embeddings":false,
           "hidden_act":"silu","max_position_embeddings":131072,"num_experts_per_tok":4,
           "attention_bias":true})"},
      {"llama4_text",
       {"Llama4ForCausalLM"},
       detail::read_llama4_text,
       "transformers 4.51 Llama4TextConfig (configuration_llama4.py, main@008e574)",
       R"({"vocab_size":202048,"hidden_size":5120,"intermediate_size":8192,
           "intermediate_size_mlp":16384,"num_hidden_layers":48,"num_attention_heads":40,
           "num_key_value_heads":8,"head_dim":128,"hidden_act":"silu",
           "max_position_embeddings":131072,"tie_word_embeddings":false,
           "num_experts_per_tok":1,"num_local_experts":16,"interleave_moe_layer_step":1,
           "use_qk_norm":true,"no_rope_layer_interval":4,"attention_chunk_size":8192,
           "attention_bias":false})"},
      {"glm4_moe",
       {"Glm4Moe"},
       detail::read_glm4_moe,
       "transformers 4.54 Glm4MoeConfig (configuration_glm4_moe.py)",
       R"({"vocab_size":151552,"hidden_size":4096,"intermediate_size":10944,
           "num_hidden_layers":46,"num_attention_heads":96,"partial_rotary_factor":0.5,
           "num_key_value_heads":8,"head_dim":128,"hidden_act":"silu",
           "max_position_embeddings":131072,"tie_word_embeddings":false,
           "attention_bias":false,"moe_intermediate_size":1408,"num_experts_per_tok":8,
           "n_shared_experts":1,"n_routed_experts":128,"first_k_dense_replace":1,
           "use_qk_norm":false})"},
      {"granite",
       {"GraniteFor", "GraniteModel"},
       detail::read_granite,
       "transformers 4.45 GraniteConfig (configuration_granite.py, main@008e574)",
       R"({"vocab_size":32000,"hidden_size":4096,"intermediate_size":11008,
           "num_hidden_layers":32,"num_attention_heads":32,"hidden_act":"silu",
           "max_position_embeddings":2048,"tie_word_embeddings":false,"attention_bias":false,
           "mlp_bias":false})"},
      {"smollm3",
       {"SmolLM3"},
       detail::read_smollm3,
       "transformers 4.53 SmolLM3Config (configuration_smollm3.py, main@008e574)",
       R"({"vocab_size":128256,"hidden_size":2048,"intermediate_size":11008,
           "num_hidden_layers":36,"num_attention_heads":16,"num_key_value_heads":4,
           "hidden_act":"silu","max_position_embeddings":32768,"use_sliding_window":false,
           "no_rope_layer_interval":4,"attention_bias":false,"mlp_bias":false,
           "tie_word_embeddings":true})"},
      {"cohere",
       {"CohereFor", "CohereModel"},
       detail::read_cohere,
       "transformers 4.46 CohereConfig",
       R"({"vocab_size":256000,"hidden_size":8192,"intermediate_size":22528,
           "num_hidden_layers":40,"num_attention_heads":64,"hidden_act":"silu",
           "max_position_embeddings":8192,"tie_word_embeddings":true,"use_qk_norm":false,
           "attention_bias":false})"},
      {"cohere2",
       {"Cohere2"},
       detail::read_cohere2,
       "transformers 4.48 Cohere2Config (configuration_cohere2.py, main@008e574)",
       R"({"vocab_size":256000,"hidden_size":8192,"intermediate_size":22528,
           "num_hidden_layers":40,"num_attention_heads":64,"hidden_act":"silu",
           "max_position_embeddings":8192,"tie_word_embeddings":true,"attention_bias":false,
           "sliding_window":4096})"},
      {"dbrx",
       {"Dbrx"},
       detail::read_dbrx,
       "transformers 4.46 DbrxConfig",
       R"({"d_model":2048,"n_heads":16,"n_layers":24,"max_seq_len":2048,"vocab_size":32000,
           "tie_word_embeddings":false})"},
      {"olmoe",
       {"Olmoe"},
       detail::read_olmoe,
       "transformers 4.46 OlmoeConfig",
       R"({"vocab_size":50304,"hidden_size":2048,"intermediate_size":2048,
           "num_hidden_layers":16,"num_attention_heads":16,"hidden_act":"silu",
           "max_position_embeddings":4096,"tie_word_embeddings":false,"attention_bias":false,
           "num_experts_per_tok":8,"num_experts":64})"},
      {"phimoe",
       {"PhiMoE", "Phimoe"},
       detail::read_phimoe,
       "transformers 4.46 PhimoeConfig",
       R"({"vocab_size":32064,"hidden_size":4096,"intermediate_size":6400,
           "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
           "hidden_act":"silu","max_position_embeddings":131072,"tie_word_embeddings":false,
           "num_experts_per_tok":2,"num_local_experts":16,"attention_bias":false,
           "lm_head_bias":false})"},
      {"internlm2",
       {"InternLM2"},
       detail::read_internlm2,
       "remote code InternLM2Config (internlm/internlm2_5-7b-chat configuration_internlm2.py)",
       R"({"vocab_size":103168,"hidden_size":4096,"intermediate_size":11008,
           "num_hidden_layers":32,"num_attention_heads":32,"hidden_act":"silu",
           "max_position_embeddings":2048,"tie_word_embeddings":false,"bias":true})"},
      {"exaone",
       {"Exaone"},
       detail::read_exaone,
       "remote code ExaoneConfig (LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct configuration_exaone.py)",
       R"({"vocab_size":102400,"max_position_embeddings":2048,"hidden_size":2048,
           "num_layers":32,"num_attention_heads":32,"activation_function":"silu",
           "tie_word_embeddings":true})"},
      // State-space and hybrid families (src/family_hybrid.cpp, recurrent layers: ssm.hpp).
      {"mamba",
       {"MambaFor", "MambaModel"},
       detail::read_mamba,
       "transformers 4.39 MambaConfig (configuration_mamba.py)",
       R"({"vocab_size":50280,"hidden_size":768,"state_size":16,"num_hidden_layers":32,
           "conv_kernel":4,"expand":2,"use_bias":false,"use_conv_bias":true,
           "time_step_rank":"auto","tie_word_embeddings":true})"},
      {"falcon_mamba",
       {"FalconMamba"},
       detail::read_mamba,
       "transformers 4.45 FalconMambaConfig (configuration_falcon_mamba.py)",
       R"({"vocab_size":50280,"hidden_size":768,"state_size":16,"num_hidden_layers":32,
           "conv_kernel":4,"expand":2,"use_bias":false,"use_conv_bias":true,
           "time_step_rank":"auto","tie_word_embeddings":true})"},
      {"mamba2",
       {"Mamba2"},
       detail::read_mamba2,
       "transformers 4.44 Mamba2Config (configuration_mamba2.py)",
       R"({"num_heads":128,"head_dim":64,"vocab_size":32768,"hidden_size":4096,
           "state_size":128,"num_hidden_layers":64,"expand":2,"conv_kernel":4,"n_groups":8,
           "use_bias":false,"use_conv_bias":true,"tie_word_embeddings":false})"},
      {"jamba",
       {"Jamba"},
       detail::read_jamba,
       "transformers 4.40 JambaConfig (configuration_jamba.py)",
       R"({"vocab_size":65536,"tie_word_embeddings":false,"hidden_size":4096,
           "intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,
           "num_key_value_heads":8,"max_position_embeddings":262144,"num_experts_per_tok":2,
           "num_experts":16,"expert_layer_period":2,"expert_layer_offset":1,
           "attn_layer_period":8,"attn_layer_offset":4,"mamba_d_state":16,"mamba_d_conv":4,
           "mamba_expand":2,"mamba_dt_rank":"auto","mamba_conv_bias":true,
           "mamba_proj_bias":false})"},
      {"granitemoehybrid",
       {"GraniteMoeHybrid"},
       detail::read_granitemoehybrid,
       "transformers 4.53 GraniteMoeHybridConfig (configuration_granitemoehybrid.py)",
       R"({"vocab_size":32000,"hidden_size":4096,"intermediate_size":11008,
           "num_hidden_layers":32,"num_attention_heads":32,"hidden_act":"silu",
           "max_position_embeddings":2048,"tie_word_embeddings":false,"attention_bias":false,
           "num_local_experts":8,"num_experts_per_tok":2,"shared_intermediate_size":1024,
           "mamba_n_heads":128,"mamba_n_groups":1,"mamba_d_state":256,"mamba_d_conv":4,
           "mamba_expand":2,"mamba_conv_bias":true,"mamba_proj_bias":false})"},
      {"nemotron_h",
       {"NemotronH"},
       detail::read_nemotron_h,
       "remote code NemotronHConfig (nvidia/NVIDIA-Nemotron-Nano-9B-v2 "
       "configuration_nemotron_h.py)",
       R"({"vocab_size":131072,"tie_word_embeddings":false,"hidden_size":4096,
           "intermediate_size":21504,"num_hidden_layers":52,
           "hybrid_override_pattern":"M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
           "num_attention_heads":32,"head_dim":128,"num_key_value_heads":8,
           "mlp_hidden_act":"relu2","attention_bias":false,"mlp_bias":false,"use_bias":false,
           "max_position_embeddings":4096,"ssm_state_size":128,"mamba_num_heads":128,
           "n_groups":8,"mamba_head_dim":64,"conv_kernel":4,"use_conv_bias":true})"},
      {"qwen3_next",
       {"Qwen3Next"},
       detail::read_qwen3_next,
       "transformers 4.57 Qwen3NextConfig (configuration_qwen3_next.py)",
       R"({"vocab_size":151936,"hidden_size":2048,"intermediate_size":5632,
           "num_hidden_layers":48,"num_attention_heads":16,"num_key_value_heads":2,
           "head_dim":256,"hidden_act":"silu","max_position_embeddings":32768,
           "tie_word_embeddings":false,"attention_bias":false,"linear_conv_kernel_dim":4,
           "linear_key_head_dim":128,"linear_value_head_dim":128,"linear_num_key_heads":16,
           "linear_num_value_heads":32,"decoder_sparse_step":1,"moe_intermediate_size":512,
           "shared_expert_intermediate_size":512,"num_experts_per_tok":10,"num_experts":512,
           "mlp_only_layers":[],"full_attention_interval":4})"},
  };
  return f;
}

// Multimodal configs whose language model is a text family in `text_config`. The towers are
// not counted here; a tower family replaces the entry in ModelSpec::not_counted when it does.
struct Wrapper {
  const char* model_type;
  std::vector<const char*> architectures;
  const char* default_text_type;    // text_config.model_type when the file omits it
  std::vector<const char*> towers;  // keys of the parts outside the language model
};

const std::vector<Wrapper>& wrappers() {
  static const std::vector<Wrapper> w = {
      {"gemma3", {"Gemma3ForConditionalGeneration"}, "gemma3_text", {"vision_config"}},
      {"mistral3", {"Mistral3"}, "mistral", {"vision_config"}},
      {"llama4", {"Llama4ForConditionalGeneration"}, "llama4_text", {"vision_config"}},
      {"llava", {"LlavaForConditionalGeneration"}, "llama", {"vision_config"}},
      // Qwen2.5-VL keeps its text keys at the top level (older files) or in text_config.
      {"qwen2_5_vl", {"Qwen2_5_VL"}, "qwen2", {"vision_config"}},
  };
  return w;
}

// Spellings of one setting across families: a default applies only when none is present.
const std::vector<std::vector<const char*>>& alias_groups() {
  static const std::vector<std::vector<const char*>> g = {
      {"hidden_size", "n_embd", "d_model", "n_embed"},
      {"num_hidden_layers", "n_layer", "num_layers", "n_layers"},
      {"num_attention_heads", "n_head", "num_heads", "n_heads"},
      {"intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "d_ff"},
      {"max_position_embeddings", "n_positions", "n_ctx", "seq_length", "max_seq_len"},
      {"hidden_act", "hidden_activation", "activation_function"},
      {"num_local_experts", "num_experts", "n_routed_experts"},
  };
  return g;
}

// Keys that change the tensor table. One present in a file (and not false, 0 or empty) that
// the family's reader did not read is an error, never silently ignored.
const char* const kCountKeys[] = {"num_experts",
                                  "num_local_experts",
                                  "n_routed_experts",
                                  "moe_num_experts",
                                  "moe_intermediate_size",
                                  "shared_expert_intermediate_size",
                                  "n_shared_experts",
                                  "num_shared_experts",
                                  "kv_lora_rank",
                                  "q_lora_rank",
                                  "qk_nope_head_dim",
                                  "v_head_dim",
                                  "intermediate_size_mlp",
                                  "moe_layers",
                                  "interleave_moe_layer_step",
                                  "mlp_only_layers",
                                  "decoder_sparse_step",
                                  "first_k_dense_replace",
                                  "moe_layer_freq",
                                  "qk_layernorm",
                                  "use_qk_norm",
                                  "qk_norm",
                                  "mlp_bias",
                                  "lm_head_bias",
                                  "num_nextn_predict_layers",
                                  "word_embed_proj_dim",
                                  "audio_config",
                                  "vision_config",
                                  "text_config",
                                  "ffn_config",
                                  "attn_config",
                                  "layers_block_type",
                                  "attn_layer_indices",
                                  "ssm_cfg",
                                  "mamba_d_state",
                                  "linear_num_value_heads",
                                  "full_attention_interval",
                                  "shared_intermediate_size",
                                  "num_kv_shared_layers",
                                  "hidden_size_per_layer_input",
                                  "global_head_dim"};

bool truthy(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_array() || v.is_object() || v.is_string()) return !v.empty();
  return true;
}

const Family* find_family(const std::string& t) {
  for (const auto& f : families())
    if (t == f.model_type) return &f;
  return nullptr;
}

const Wrapper* find_wrapper(const std::string& t) {
  for (const auto& w : wrappers())
    if (t == w.model_type) return &w;
  return nullptr;
}

std::string family_list() {
  std::string s;
  for (const auto& f : supported_families()) s += (s.empty() ? "" : ", ") + f;
  return s;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// model_type, else the first architectures name that starts with a known class prefix.
std::string resolve_type(const json& j) {
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
    std::string t = it->get<std::string>();
    if (find_family(t) || find_wrapper(t)) return t;
    throw InputError("unsupported model", "model_type",
                     "'" + t + "' is not supported; supported: " + family_list());
  }
  if (auto it = j.find("architectures"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (!a.is_string()) continue;
      const std::string name = a.get<std::string>();
      for (const auto& w : wrappers())  // wrapper names first: Gemma3ForConditionalGeneration
        for (const char* p : w.architectures)
          if (starts_with(name, p)) return w.model_type;
      for (const auto& f : families())
        for (const char* p : f.architectures)
          if (starts_with(name, p)) return f.model_type;
    }
  }
  throw InputError(
      "unsupported model", "model_type",
      "config has no recognised model_type or architectures; supported: " + family_list());
}

// The file's keys over the family's defaults; a default is skipped when the file spells the
// same setting another way (BLOOM's n_embed for hidden_size).
json with_defaults(const Family& f, const json& file) {
  json merged = json::parse(f.defaults);
  for (auto it = merged.begin(); it != merged.end();) {
    bool spelled = file.contains(it.key());
    for (const auto& g : alias_groups())
      if (std::find_if(g.begin(), g.end(), [&](const char* k) { return it.key() == k; }) != g.end())
        for (const char* k : g) spelled = spelled || file.contains(k);
    it = spelled ? merged.erase(it) : std::next(it);
  }
  for (const auto& [k, v] : file.items()) merged[k] = v;
  return merged;
}

void check_unread(const json& file, const Config& c, const std::string& family) {
  for (const char* k : kCountKeys) {
    auto it = file.find(k);
    if (it == file.end() || !truthy(*it) || c.read_keys().count(k)) continue;
    throw InputError(
        "unsupported config", k,
        "changes the parameter count and model_type '" + family + "' does not read it");
  }
}

// --- quantization_config ----------------------------------------------------------------

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// A modules_to_not_convert / ignore pattern mapped onto the roles it leaves in float.
void keep_in_float(Quantization& q, const std::string& pattern, const char* field) {
  const std::string p = lower(starts_with(pattern, "re:") ? pattern.substr(3) : pattern);
  q.not_converted.push_back(pattern);
  const auto ends = [&](const std::string& tail) {
    return p.size() >= tail.size() && p.compare(p.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (has(p, "lm_head") || has(p, "embed") || has(p, "router") || has(p, "norm") ||
      has(p, "vision") || has(p, "visual") || has(p, "multi_modal") || has(p, "projector") ||
      has(p, "audio") || ends(".gate") || ends(".gate$"))
    return;  // never quantised by sizeup's table, or outside the counted model
  if (has(p, "attn") || has(p, "attention")) {
    q.keep_attention = true;
  } else if (has(p, "expert")) {
    q.keep_experts = true;
  } else if (has(p, "mlp") || has(p, "feed_forward")) {
    q.keep_mlp = q.keep_experts = true;
  } else {
    throw InputError("unsupported config", field,
                     "'" + pattern + "' names no part of the model sizeup can match");
  }
}

void read_patterns(Quantization& q, const json& qc, const char* key) {
  auto it = qc.find(key);
  if (it == qc.end() || it->is_null()) return;
  if (!it->is_array()) throw InputError("invalid config", key, "must be a list of module names");
  for (const auto& e : *it) {
    if (!e.is_string()) throw InputError("invalid config", key, "must be a list of module names");
    keep_in_float(q, e.get<std::string>(), key);
  }
}

I int_field(const json& o, const char* key, I dflt) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return dflt;
  if (!it->is_number_integer()) throw InputError("invalid config", key, "must be an integer");
  return it->get<I>();
}

bool bool_field(const json& o, const char* key, bool dflt) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) throw InputError("invalid config", key, "must be true or false");
  return it->get<bool>();
}

// quantization_config as HF transformers' quantizers read it (quantizer_gptq.py, _awq.py,
// _bnb_4bit.py / _bnb_8bit.py, _finegrained_fp8.py, _mxfp4.py, _compressed_tensors.py).
Quantization read_quantization(const json& qc) {
  if (!qc.is_object())
    throw InputError("invalid config", "quantization_config", "must be a JSON object");
  Quantization q;
  auto m = qc.find("quant_method");
  if (m == qc.end() || !m->is_string())
    throw InputError("invalid config", "quant_method", "quantization_config names no method");
  q.method                 = m->get<std::string>();
  const std::string method = lower(q.method);
  if (method == "gptq") {
    q.bits          = static_cast<int>(int_field(qc, "bits", 4));
    q.group_size    = int_field(qc, "group_size", 128);
    q.format        = StoredQuant::gptq;
    q.quantize_head = bool_field(qc, "lm_head", false);
    read_patterns(q, qc, "modules_to_not_convert");
  } else if (method == "awq") {
    q.bits       = static_cast<int>(int_field(qc, "bits", int_field(qc, "w_bit", 4)));
    q.group_size = int_field(qc, "group_size", int_field(qc, "q_group_size", 128));
    q.format     = StoredQuant::awq;
    read_patterns(q, qc, "modules_to_not_convert");
  } else if (method == "bitsandbytes") {
    const bool four  = bool_field(qc, "load_in_4bit", false);
    const bool eight = bool_field(qc, "load_in_8bit", false);
    if (four == eight)
      throw InputError("invalid config", "load_in_4bit",
                       "bitsandbytes needs exactly one of load_in_4bit and load_in_8bit");
    q.format       = four ? StoredQuant::bnb_nf4 : StoredQuant::bnb_int8;
    q.bits         = four ? 4 : 8;
    q.group_size   = four ? 64 : 0;
    q.double_quant = bool_field(qc, "bnb_4bit_use_double_quant", false);
    read_patterns(q, qc, "llm_int8_skip_modules");
  } else if (method == "fp8") {
    q.format = StoredQuant::fp8;
    q.bits   = 8;
    if (auto b = qc.find("weight_block_size"); b != qc.end() && !b->is_null()) {
      if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number_integer() ||
          !(*b)[1].is_number_integer() || (*b)[0].get<I>() <= 0 || (*b)[1].get<I>() <= 0)
        throw InputError("invalid config", "weight_block_size", "must be two positive integers");
      q.block_rows = (*b)[0].get<I>();
      q.block_cols = (*b)[1].get<I>();
    }
    read_patterns(q, qc, "modules_to_not_convert");
  } else if (method == "mxfp4") {
    q.format     = StoredQuant::mxfp4;
    q.bits       = 4;
    q.group_size = 32;  // OCP MX v1.0: one shared e8m0 scale per 32 values
    read_patterns(q, qc, "modules_to_not_convert");
  } else if (method == "compressed-tensors") {
    auto groups = qc.find("config_groups");
    if (groups == qc.end() || !groups->is_object() || groups->empty())
      throw InputError("unsupported config", "config_groups",
                       "compressed-tensors without config_groups is not supported");
    if (groups->size() > 1)
      throw InputError("unsupported config", "config_groups",
                       "more than one compressed-tensors group is not supported yet");
    const json& g = groups->begin().value();
    const json w  = g.is_object() && g.contains("weights") ? g.at("weights") : json();
    if (!w.is_object())
      throw InputError("unsupported config", "config_groups", "group has no weights scheme");
    q.bits               = static_cast<int>(int_field(w, "num_bits", 8));
    const std::string ty = w.contains("type") && w.at("type").is_string()
                               ? w.at("type").get<std::string>()
                               : std::string("int");
    q.group_size         = int_field(w, "group_size", 0);
    if (ty == "float" && q.bits == 8)
      q.format = StoredQuant::fp8;
    else if (ty == "int" && q.bits == 8)
      q.format = StoredQuant::int8;
    else if (ty == "int" && q.bits == 4)
      q.format = StoredQuant::int4;
    else
      throw InputError("unsupported config", "num_bits",
                       "compressed-tensors " + ty + " " + std::to_string(q.bits) +
                           "-bit weights are not supported");
    if (q.format == StoredQuant::int4 && q.group_size <= 0) q.group_size = 128;
    read_patterns(q, qc, "ignore");
  } else {
    throw InputError(
        "unsupported config", "quant_method",
        "'" + q.method + "' is not one of gptq, awq, bitsandbytes, fp8, mxfp4, compressed-tensors");
  }
  if ((q.format == StoredQuant::gptq || q.format == StoredQuant::awq) && q.bits != 4 && q.bits != 8)
    throw InputError("unsupported config", "bits",
                     std::to_string(q.bits) + "-bit " + q.method + " is not supported (4 or 8)");
  if (q.group_size < 0) q.group_size = 0;  // GPTQ group_size -1: one group per column
  return q;
}

// The config.json key a ModelSpec field was read from: the first of its usual spellings present
// in the file (HF names first, GPT-2/Falcon/T5/DeepSeek aliases after), else the field itself.
std::string config_key_for_field(const json& j, const std::string& field) {
  static const std::map<std::string, std::vector<const char*>> keys = {
      {"n_layer", {"num_hidden_layers", "n_layer", "num_layers", "n_layers"}},
      {"n_embd", {"hidden_size", "n_embd", "d_model", "n_embed"}},
      {"n_head", {"num_attention_heads", "n_head", "num_heads", "n_heads"}},
      {"n_head_kv", {"num_key_value_heads", "num_kv_heads", "multi_query"}},
      {"n_ff", {"intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "d_ff"}},
      {"n_vocab", {"vocab_size"}},
      {"n_ctx", {"max_position_embeddings", "n_positions", "n_ctx", "seq_length"}},
      {"head_dim", {"head_dim"}},
      {"n_expert", {"num_local_experts", "num_experts", "n_routed_experts"}},
      {"n_expert_used", {"num_experts_per_tok"}},
      {"n_ff_expert", {"moe_intermediate_size"}},
      {"n_ff_shared", {"shared_expert_intermediate_size", "n_shared_experts"}},
      {"n_layer_dec", {"num_decoder_layers"}},
      {"sliding_window", {"sliding_window"}}};
  const auto it = keys.find(field);
  if (it == keys.end()) return field;
  for (const char* k : it->second)
    if (j.contains(k)) return k;
  return it->second.front();
}

}  // namespace

std::vector<std::string> supported_families() {
  std::vector<std::string> out;
  for (const auto& f : families()) out.push_back(f.model_type);
  for (const auto& w : wrappers()) out.push_back(w.model_type);
  std::sort(out.begin(), out.end());
  return out;
}

std::string family_defaults_source(const std::string& model_type) {
  const Family* f = find_family(model_type);
  if (!f && find_wrapper(model_type)) return detail::vision_defaults_source(model_type);
  return f ? f->defaults_source : "";
}

ModelSpec model_from_config_text(std::string_view text, const std::string& name) {
  // A config.json nests a few levels (text_config.rope_scaling...); deeper input is refused
  // at once instead of building a tree of millions of empty arrays.
  constexpr int kMaxDepth                   = 32;
  const json::parser_callback_t depth_limit = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth)
      throw InputError("malformed config", "config.json",
                       "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    return true;
  };
  json top = json::parse(text, depth_limit, false);
  if (top.is_discarded()) throw InputError("malformed config", "config.json", "not valid JSON");
  if (!top.is_object())
    throw InputError("malformed config", "config.json", "must be a JSON object");
  std::string type = resolve_type(top);
  ModelSpec m;
  json text_obj           = top;   // the object the language model is read from
  const std::string outer = type;  // the wrapper's model_type, for its towers
  if (const Wrapper* w = find_wrapper(type)) {
    // HF builds the text config from defaults when text_config is absent; Qwen2.5-VL files
    // written before transformers 4.52 keep the text keys at the top level instead.
    text_obj = top.contains("text_config") ? top.at("text_config") : json::object();
    if (type == "qwen2_5_vl" && !top.contains("text_config")) {
      text_obj = top;
      for (const char* k : {"vision_config", "model_type", "architectures"}) text_obj.erase(k);
      text_obj["model_type"] = "qwen2";
    }
    if (!text_obj.is_object())
      throw InputError("malformed config", "text_config", "must be a JSON object");
    type = text_obj.contains("model_type") && text_obj.at("model_type").is_string()
               ? text_obj.at("model_type").get<std::string>()
               : w->default_text_type;
    if (!find_family(type))
      throw InputError(
          "unsupported model", "text_config",
          "language model '" + type + "' is not supported; supported: " + family_list());
    for (const char* t : w->towers) m.not_counted.push_back(t);
    for (const auto& item : top.items()) {  // the wrapper's own count keys are its towers
      // (named, not a structured binding: clang 14 cannot capture one in the lambda below)
      const std::string& k = item.key();
      const json& v        = item.value();
      if (k != "text_config" && k != "quantization_config" &&
          std::find_if(w->towers.begin(), w->towers.end(), [&](const char* t) { return k == t; }) ==
              w->towers.end() &&
          (k == "audio_config" || k == "vision_config") && truthy(v))
        throw InputError("unsupported config", k,
                         "changes the parameter count and model_type '" +
                             std::string(w->model_type) + "' does not read it");
    }
  }
  const Family& fam = *find_family(type);
  const json merged = with_defaults(fam, text_obj);
  m.name            = name;
  m.family          = type;
  Config c(merged, type);
  fam.read(c, m);
  check_unread(text_obj, c, type);
  if (find_wrapper(outer)) detail::read_vision_tower(top, outer, m);  // towers.hpp
  const json* qc = nullptr;
  if (auto it = top.find("quantization_config"); it != top.end() && !it->is_null())
    qc = &*it;
  else if (auto it2 = text_obj.find("quantization_config");
           it2 != text_obj.end() && !it2->is_null())
    qc = &*it2;
  if (qc) m.quant = read_quantization(*qc);
  try {
    validate(m);
  } catch (const InputError& e) {  // name the key of config.json, not the ModelSpec field
    throw InputError(e.subject(), config_key_for_field(text_obj, e.field()), e.reason());
  }
  return m;
}

}  // namespace sizeup
