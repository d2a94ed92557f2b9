// The bundled catalog: every entry parses and reproduces its published parameter count.
#include "sizeup/catalog.hpp"

#include <gtest/gtest.h>

#include <set>

#include "sizeup/params.hpp"

namespace sizeup {
namespace {

TEST(catalog_test, has_at_least_forty_models_with_unique_names) {
  std::set<std::string> names;
  for (const auto& e : model_catalog()) EXPECT_TRUE(names.insert(e.name).second) << e.name;
  EXPECT_GE(names.size(), 40u);
}

TEST(catalog_test, every_entry_reproduces_its_published_count) {
  for (const auto& e : model_catalog())
    EXPECT_EQ(count_params(model_from_catalog(e)).total, e.params_total)
        << e.name << ": " << e.params_source;
}

TEST(catalog_test, every_entry_names_its_source) {
  for (const auto& e : model_catalog()) EXPECT_FALSE(e.params_source.empty()) << e.name;
}

TEST(catalog_test, finds_by_short_name_and_hf_id_case_insensitively) {
  const auto* a = find_model("llama-2-7b");
  const auto* b = find_model("meta-llama/Llama-2-7b-hf");
  const auto* c = find_model("LLAMA-2-7B");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(find_model("no-such-model"), nullptr);
}

TEST(catalog_test, covers_every_supported_family_but_custom) {
  std::set<std::string> families;
  for (const auto& e : model_catalog()) families.insert(e.family);
  for (const char* f :
       {"gpt2",        "gpt_neox",    "gptj",     "opt",         "bloom",     "falcon",
        "llama",       "mistral",     "mixtral",  "qwen2",       "qwen2_moe", "qwen3",
        "qwen3_moe",   "gemma",       "gemma2",   "gemma3_text", "phi",       "phi3",
        "deepseek_v2", "deepseek_v3", "olmo2",    "starcoder2",  "bert",      "t5",
        "gpt_oss",     "llama4",      "mistral3", "glm4_moe",    "granite",   "smollm3",
        "cohere",      "cohere2",     "dbrx",     "olmoe",       "phimoe",    "internlm2",
        "exaone"})
    EXPECT_TRUE(families.count(f)) << f;
}

}  // namespace
}  // namespace sizeup
