// Parameter counts of the seed example and of catalog models (data/models/), part by part.
#include "sizeup/params.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/tensors.hpp"
#include "test_models.hpp"

namespace sizeup {
namespace {

// A catalog model (data/models/, the one copy of the bundled configs); fails when absent,
// so that a renamed file cannot turn these tests into no-ops.
ModelSpec catalog_model(const char* name) {
  const CatalogEntry* e = find_model(name);
  if (!e) throw std::runtime_error(std::string("catalog has no ") + name);
  return model_from_catalog(*e);
}

// Totals of every catalog model against its published count: catalog_test.cpp.

using test::seed_example;

TEST(params_test, seed_example_matches_document_per_component) {
  const auto r = count_params(seed_example());
  EXPECT_EQ(r.total, 354'336'768u);
  EXPECT_EQ(r.components.find("token_embedding")->value, 51'200'000u);
  EXPECT_EQ(r.components.find("position_embedding")->value, 1'048'576u);
  EXPECT_EQ(r.components.find("attention")->value, 100'663'296u);
  EXPECT_EQ(r.components.find("mlp")->value, 201'326'592u);
  EXPECT_EQ(r.components.find("norm")->value, 98'304u);
  EXPECT_EQ(r.embedding, 52'248'576u);
  EXPECT_EQ(r.active, r.total);
}

TEST(params_test, mixtral_active_params_count_two_of_eight_experts) {
  // Mistral AI: 12.9B active of 46.7B; recomputed exactly with top-2 of 8 experts
  // (../shared/data/models.json notes).
  const auto r = count_params(catalog_model("mixtral-8x7b-v0.1"));
  EXPECT_EQ(r.total, 46'702'792'704u);
  EXPECT_EQ(r.active, 12'879'925'248u);
}

TEST(params_test, deepseek_v2_lite_active_params) {
  // DeepSeek-V2 paper: 2.4B activated of 15.7B (without embeddings and head); with them
  // 2,661,150,208 (../shared/data/models.json notes).
  const ModelSpec m = catalog_model("deepseek-v2-lite");
  const auto active = count_params(m).active;
  EXPECT_EQ(active, 2'661'150'208u);
  // Without the input embedding (102,400 x 2,048): 2,451,435,008, the paper's "2.4B".
  EXPECT_EQ(active - static_cast<ParamCount>(m.n_vocab * m.n_embd), 2'451'435'008u);
}

TEST(params_test, tied_head_counts_flops_not_parameters) {
  auto m      = seed_example();
  auto tied   = count_params(m).total;
  m.tied_head = false;
  EXPECT_EQ(count_params(m).total - tied, 50'000u * 1024u);
}

TEST(params_test, weight_bytes_round_up_to_whole_bytes) {
  EXPECT_EQ(weight_bytes(354'336'768, 32), 1'417'347'072u);
  EXPECT_EQ(weight_bytes(3, 4), 2u);
  EXPECT_THROW(weight_bytes(~0ull / 2, 32), InputError);
}

TEST(params_test, huge_model_does_not_overflow) {
  auto m    = seed_example();
  m.n_layer = 1000, m.n_embd = 32768, m.n_head = 256, m.n_head_kv = 256, m.head_dim = 128,
  m.n_ff = 4 * 32768;
  // 1000 layers x 12 d^2 = 1.29e13 parameters: exact in 64 bits.
  EXPECT_EQ(count_params(m).non_embedding - 1000ull * 4 * 32768, 12'884'901'888'000ull);
}

}  // namespace
}  // namespace sizeup
