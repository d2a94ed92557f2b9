// safetensors headers parsed from bytes written here, following the format of the
// huggingface/safetensors README: u64 little-endian N, N bytes of JSON, the data.
#include "sizeup/safetensors.hpp"

#include <gtest/gtest.h>

#include <string>

#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"

namespace sizeup {
namespace {

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

SafetensorsHeader parse(const std::string& json, std::uint64_t file_bytes = 0) {
  return parse_safetensors_header(json, json.size(), file_bytes, "t.safetensors");
}

TEST(safetensors_test, header_length_is_little_endian) {
  EXPECT_EQ(safetensors_header_length(le64(16), "f"), 16u);
  EXPECT_EQ(safetensors_header_length(std::string("\x00\x01\x00\x00\x00\x00\x00\x00", 8), "f"),
            256u);
  EXPECT_EQ(safetensors_header_length(le64(100'000'000), "f"), 100'000'000u);
}

TEST(safetensors_test, header_length_refuses_short_zero_and_huge) {
  EXPECT_NE(error_of([] { safetensors_header_length("abc", "f"); }).find("fewer than the 8-byte"),
            std::string::npos);
  EXPECT_NE(error_of([] { safetensors_header_length(le64(0), "f"); }).find("length is 0"),
            std::string::npos);
  // A lying length (2^63) is refused before anything is allocated.
  EXPECT_NE(error_of([] {
              safetensors_header_length(le64(1ull << 63), "f");
            }).find("exceeds the 100000000 bytes"),
            std::string::npos);
}

TEST(safetensors_test, parses_tensors_dtypes_and_data_size) {
  // BF16 [2, 3]: 6 elements x 2 bytes = 12; F32 [4]: 16 bytes at [12, 28); a scalar I64: 8.
  const std::string json =
      R"({"__metadata__": {"format": "pt"},
          "b": {"dtype": "F32", "shape": [4], "data_offsets": [12, 28]},
          "a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},
          "s": {"dtype": "I64", "shape": [], "data_offsets": [28, 36]}})";
  const auto h = parse(json, 8 + json.size() + 36);
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.data_bytes, 36u);
  std::map<std::string, StoredTensor> by_name;
  for (const auto& t : h.tensors) by_name[t.name] = t;
  EXPECT_EQ(by_name["a"].elements, 6u);
  EXPECT_EQ(by_name["a"].bytes, 12u);
  EXPECT_EQ(by_name["a"].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(by_name["b"].bytes, 16u);
  EXPECT_EQ(by_name["s"].elements, 1u);
  EXPECT_EQ(by_name["s"].bytes, 8u);
}

TEST(safetensors_test, sub_byte_dtypes_fill_whole_bytes) {
  // F4 (e2m1): 4 bits; [2, 3] = 6 elements = 3 bytes. [3] = 1.5 bytes is refused.
  EXPECT_EQ(
      parse(R"({"w": {"dtype": "F4", "shape": [2, 3], "data_offsets": [0, 3]}})").tensors[0].bytes,
      3u);
  EXPECT_NE(error_of([] {
              parse(R"({"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}})");
            }).find("do not fill whole bytes"),
            std::string::npos);
}

TEST(safetensors_test, refuses_inconsistent_headers) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"(not json)", "not a JSON object"},
      {R"({"w": )", "not valid JSON"},
      {R"([1, 2])", "not a JSON object"},
      {R"({"w": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}})", "unknown dtype 'Q4'"},
      {R"({"w": {"dtype": "F16", "shape": [-1], "data_offsets": [0, 2]}})", "non-negative"},
      {R"({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 2]}})", "needs 4 bytes"},
      {R"({"w": {"dtype": "F16", "shape": [2]}})", "lacks dtype, shape or data_offsets"},
      {R"({"w": {"dtype": "F16", "shape": [1], "data_offsets": [2, 4]}})", "gap"},
      {R"({"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
           "b": {"dtype": "F16", "shape": [2], "data_offsets": [2, 6]}})",
       "overlap"},
      {R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296, 4294967296],
                 "data_offsets": [0, 1]}})",
       "overflows 64 bits"},
      {R"({"__metadata__": [1]})", "__metadata__ is not an object"},
  };
  for (const auto& c : cases)
    EXPECT_NE(error_of([&] { parse(c.json); }).find(c.message), std::string::npos)
        << c.json << " -> " << error_of([&] { parse(c.json); });
}

TEST(safetensors_test, file_size_must_match_header_and_data) {
  const std::string json = R"({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})";
  EXPECT_NO_THROW(parse(json, 8 + json.size() + 4));
  EXPECT_NE(error_of([&] { parse(json, 8 + json.size() + 3); }).find("header describes"),
            std::string::npos);
  // A header announcing more bytes than were read (a truncated file).
  EXPECT_NE(
      error_of([&] { parse_safetensors_header(json, json.size() + 10, 0, "f"); }).find("announces"),
      std::string::npos);
}

TEST(safetensors_test, index_lists_each_shard_once_in_order) {
  const auto shards = safetensors_index_shards(
      R"({"metadata": {"total_size": 10},
          "weight_map": {"a": "model-00001-of-00002.safetensors",
                         "b": "model-00002-of-00002.safetensors",
                         "c": "model-00001-of-00002.safetensors"}})",
      "index");
  EXPECT_EQ(shards, (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                              "model-00002-of-00002.safetensors"}));
  EXPECT_NE(error_of([] {
              safetensors_index_shards(R"({"weight_map": {"a": "../etc/x.safetensors"}})", "i");
            }).find("not a .safetensors file beside the index"),
            std::string::npos);
  EXPECT_NE(error_of([] { safetensors_index_shards(R"({"x": 1})", "i"); }).find("weight_map"),
            std::string::npos);
}

TEST(safetensors_test, summary_sums_by_dtype_and_refuses_duplicates) {
  const auto a = parse(R"({"x": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 32]},
                           "y": {"dtype": "I32", "shape": [4], "data_offsets": [32, 48]}})");
  const auto b = parse(R"({"z": {"dtype": "BF16", "shape": [8], "data_offsets": [0, 16]}})");
  const auto s = summarize_checkpoint({a, b}, "ckpt");
  EXPECT_EQ(s.shards, 2u);
  EXPECT_EQ(s.tensors, 3u);
  EXPECT_EQ(s.elements, 16u + 4u + 8u);
  EXPECT_EQ(s.bytes, 32u + 16u + 16u);
  EXPECT_EQ(s.by_dtype.at("BF16").elements, 24u);
  EXPECT_EQ(s.by_dtype.at("BF16").bytes, 48u);
  EXPECT_EQ(s.by_dtype.at("I32").tensors, 1u);
  EXPECT_EQ(s.header_bytes, 8 + a.header_bytes + 8 + b.header_bytes);
  EXPECT_NE(error_of([&] {
              summarize_checkpoint({b, b}, "ckpt");
            }).find("stored in two shards"),
            std::string::npos);
}

// A Llama checkpoint written out by hand from LlamaForCausalLM's modules: d = 8, 2 layers,
// 2 heads of 4, 1 KV head, MLP 16, vocab 32, untied head.
std::vector<StoredTensor> tiny_llama_tensors() {
  std::vector<StoredTensor> t;
  auto add = [&](std::string name, std::vector<std::int64_t> shape) {
    StoredTensor s;
    s.name     = std::move(name);
    s.dtype    = "BF16";
    s.shape    = shape;
    s.elements = 1;
    for (auto d : shape) s.elements *= static_cast<std::uint64_t>(d);
    s.bytes = 2 * s.elements;
    t.push_back(s);
  };
  add("model.embed_tokens.weight", {32, 8});  // 256
  for (int l = 0; l < 2; ++l) {               // 592 per layer
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "self_attn.q_proj.weight", {8, 8});  // 64
    add(p + "self_attn.k_proj.weight", {4, 8});  // 32
    add(p + "self_attn.v_proj.weight", {4, 8});  // 32
    add(p + "self_attn.o_proj.weight", {8, 8});  // 64
    add(p + "mlp.gate_proj.weight", {16, 8});    // 128
    add(p + "mlp.up_proj.weight", {16, 8});      // 128
    add(p + "mlp.down_proj.weight", {8, 16});    // 128
    add(p + "input_layernorm.weight", {8});
    add(p + "post_attention_layernorm.weight", {8});
  }
  add("model.norm.weight", {8});
  add("lm_head.weight", {32, 8});  // 256; total 256 + 2 x 592 + 8 + 256 = 1704
  return t;
}

ModelSpec tiny_llama_spec() {
  return model_from_config_text(R"({"model_type": "llama", "hidden_size": 8,
    "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
    "intermediate_size": 16, "vocab_size": 32, "max_position_embeddings": 64,
    "tie_word_embeddings": false, "rms_norm_eps": 1e-5})");
}

CheckpointSummary summary_of(const std::vector<StoredTensor>& tensors) {
  SafetensorsHeader h;
  h.tensors = tensors;
  return summarize_checkpoint({h}, "tiny");
}

TEST(safetensors_test, checkpoint_matching_config_has_no_differences) {
  const auto c = compare_checkpoint(summary_of(tiny_llama_tensors()), tiny_llama_spec());
  EXPECT_EQ(c.checkpoint_elems, 1704u);
  EXPECT_EQ(c.config_params, 1704u);
  EXPECT_TRUE(c.matches);
  EXPECT_TRUE(c.differences.empty());
}

TEST(safetensors_test, checkpoint_differences_name_the_tensors) {
  auto t = tiny_llama_tensors();
  // Layer 1 stores k_proj at half width (a different KV-head count than the config says).
  for (auto& s : t)
    if (s.name == "model.layers.1.self_attn.k_proj.weight") {
      s.shape    = {2, 8};
      s.elements = 16;
    }
  const auto c = compare_checkpoint(summary_of(t), tiny_llama_spec());
  EXPECT_FALSE(c.matches);
  EXPECT_EQ(c.checkpoint_elems, 1704u - 16u);
  ASSERT_EQ(c.differences.size(), 1u);
  EXPECT_EQ(c.differences[0].name, "k_proj.weight");
  EXPECT_EQ(c.differences[0].checkpoint_elements, 48u);
  EXPECT_EQ(c.differences[0].config_elements, 64u);
}

}  // namespace
}  // namespace sizeup
