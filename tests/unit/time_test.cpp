// Training time, FLOPs per token, MFU/HFU. Expected values are worked by hand (shown beside
// each), not taken from the code under test.
#include <gtest/gtest.h>

#include <cmath>

#include "sizeup/compute_time.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

constexpr double kH100Bf16 = 989.4e12;  // dense, data/gpus.json

TrainTimeInput seed_question() {  // CS336 lecture 2: 70B on 15T tokens on 1024 H100s
  TrainTimeInput in;
  in.params           = 70e9;
  in.tokens           = 15e12;
  in.gpus             = 1024;
  in.peak_flops_per_s = kH100Bf16;
  in.mfu              = 0.5;
  return in;
}

TEST(time_test, seed_70b_15t_1024_h100_takes_143_94_days) {
  const TrainTimeReport r = train_time(seed_question());
  // C = 6 * 70e9 * 15e12 = 6.3e24; tau = 1024 * 0.5 * 989.4e12 = 5.065728e17 FLOP/s.
  EXPECT_DOUBLE_EQ(r.value("total_flops"), 6.3e24);
  EXPECT_DOUBLE_EQ(r.value("cluster_flops_per_s"), 5.065728e17);
  // 6.3e24 / 5.065728e17 = 12,436,514.55 s = 143.9411 days; GPU-hours 1024 * s / 3600.
  EXPECT_NEAR(r.value("seconds"), 12436514.554, 1e-3);
  EXPECT_NEAR(r.value("days"), 143.94114, 1e-5);
  EXPECT_NEAR(r.value("gpu_hours"), 3537497.473, 1e-3);
  // PFLOP-days: 6.3e24 / (1e15 * 86400) = 72,916.67.
  EXPECT_NEAR(r.value("pflop_days"), 72916.6667, 1e-3);
  EXPECT_FALSE(r.has("cost_usd"));
  EXPECT_FALSE(r.has("energy_kwh"));
}

TEST(time_test, cost_energy_emissions_follow_gpu_hours) {
  TrainTimeInput in       = seed_question();
  in.price_per_gpu_hour   = 2.0;
  in.board_power_watts    = 700;
  in.pue                  = 1.1;
  in.grid_kg_per_kwh      = 0.4;
  const TrainTimeReport r = train_time(in);
  const double gh         = 3537497.4732;
  EXPECT_NEAR(r.value("cost_usd") / (2 * gh), 1.0, 1e-9);
  // 700 W * 3,537,497.47 GPU-h * 1.1 / 1000 = 2,723,873.05 kWh; x 0.4 = 1,089,549.2 kg.
  EXPECT_NEAR(r.value("energy_kwh"), 2723873.05, 0.01);
  EXPECT_NEAR(r.value("emissions_kg"), 1089549.22, 0.01);
}

TEST(time_test, achieved_flops_replace_mfu) {
  TrainTimeInput in       = seed_question();
  in.peak_flops_per_s     = 312e12;  // A100
  in.achieved_flops_per_s = 150e12;  // GPT-NeoX, seed 004 "150 TFLOP/s/A100"
  const TrainTimeReport r = train_time(in);
  EXPECT_NEAR(r.mfu, 150.0 / 312.0, 1e-12);
  EXPECT_NEAR(r.value("seconds"), 6.3e24 / (150e12 * 1024), 1e-3);
}

TEST(time_test, attention_variant_adds_palm_term) {
  TrainTimeInput in = seed_question();
  in.attention      = AttentionShape{80, 64, 128, 4096};
  // 12 * 80 * 64 * 128 * 4096 = 32,212,254,720 per token; + 6N = 420e9.
  const TrainTimeReport r = train_time(in);
  EXPECT_DOUBLE_EQ(r.value("total_flops_with_attention"), (420e9 + 32212254720.0) * 15e12);
  EXPECT_DOUBLE_EQ(r.value("total_flops"), 6.3e24);  // headline stays 6ND
}

TEST(time_test, huge_inputs_stay_finite) {
  TrainTimeInput in;
  in.params               = 1e13;
  in.tokens               = 1e15;
  in.gpus                 = 100000;
  in.peak_flops_per_s     = kH100Bf16;
  in.mfu                  = 0.4;
  const TrainTimeReport r = train_time(in);
  EXPECT_DOUBLE_EQ(r.value("total_flops"), 6e28);
  EXPECT_TRUE(std::isfinite(r.value("days")));
  EXPECT_NEAR(r.value("seconds"), 6e28 / (1e5 * 0.4 * kH100Bf16), 1.0);
}

TEST(time_test, bad_mfu_names_the_option) {
  for (double bad : {0.0, -0.1, 1.01}) {
    TrainTimeInput in = seed_question();
    in.mfu            = bad;
    try {
      train_time(in);
      FAIL() << "accepted MFU " << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(e.field(), "--mfu");
    }
  }
}

TEST(time_test, bad_inputs_name_their_options) {
  auto field_of = [](TrainTimeInput in) {
    try {
      train_time(in);
    } catch (const InputError& e) {
      return e.field();
    }
    return std::string("accepted");
  };
  TrainTimeInput in = seed_question();
  in.tokens         = -1;
  EXPECT_EQ(field_of(in), "--tokens");
  in      = seed_question();
  in.gpus = 0;
  EXPECT_EQ(field_of(in), "--gpus");
  in        = seed_question();
  in.params = 0;
  EXPECT_EQ(field_of(in), "--params");
  in                      = seed_question();
  in.achieved_flops_per_s = 2 * kH100Bf16;  // above the peak
  EXPECT_EQ(field_of(in), "--achieved-flops");
  in     = seed_question();
  in.pue = 0.9;
  EXPECT_EQ(field_of(in), "--pue");
  in     = seed_question();
  in.mfu = 1e-9;  // not a utilisation
  EXPECT_EQ(field_of(in), "--mfu");
  in        = seed_question();
  in.params = 1e300;  // 6 * 1e300 * 15e12 overflows: reported, never printed as inf
  EXPECT_EQ(field_of(in), "--params");
}

TEST(time_test, flops_per_token_rows) {
  const AttentionShape s{24, 16, 64, 1024};
  // 6N = 6 * 354e6 = 2.124e9; 12 * 24 * 16 * 64 * 1024 = 301,989,888.
  const auto none = training_flops_per_token(354e6, s, Recompute::none);
  EXPECT_DOUBLE_EQ(none.find("dense_matmul")->value, 2.124e9);
  EXPECT_DOUBLE_EQ(none.find("attention")->value, 301989888.0);
  EXPECT_DOUBLE_EQ(none.find("model")->value, 2.124e9 + 301989888.0);
  EXPECT_DOUBLE_EQ(none.find("hardware")->value, none.find("model")->value);
  // Full recomputation: + forward 2N + 4LHQT = 708e6 + 100,663,296.
  const auto full = training_flops_per_token(354e6, s, Recompute::full);
  EXPECT_DOUBLE_EQ(full.find("recompute")->value, 708e6 + 100663296.0);
  // Selective: + 4LHQT only.
  const auto sel = training_flops_per_token(354e6, s, Recompute::selective);
  EXPECT_DOUBLE_EQ(sel.find("recompute")->value, 100663296.0);
}

TEST(time_test, mfu_of_neox_150_tflops_on_a100) {
  // 20B params at 1,250 tokens/s per GPU: 6 * 20e9 * 1250 = 150e12 FLOP/s = 48.08% of 312e12.
  MfuInput in;
  in.params            = 20e9;
  in.tokens_per_second = 1250.0 * 64;
  in.gpus              = 64;
  in.peak_flops_per_s  = 312e12;
  const MfuReport r    = mfu(in);
  EXPECT_NEAR(r.mfu, 150.0 / 312.0, 1e-12);
  EXPECT_NEAR(r.hfu, r.mfu, 1e-15);
  in.recompute = Recompute::full;  // 8N / 6N
  EXPECT_NEAR(mfu(in).hfu, 200.0 / 312.0, 1e-12);
}

TEST(time_test, mfu_from_step_time) {
  // 512 sequences of 2048 tokens in 4 s = 262,144 tokens/s.
  const Row<double> r = tokens_per_second_from_step(512, 2048, 4.0);
  EXPECT_DOUBLE_EQ(r.value, 262144.0);
  EXPECT_THROW(tokens_per_second_from_step(0, 2048, 4.0), InputError);
  EXPECT_THROW(tokens_per_second_from_step(512, 2048, 0.0), InputError);
}

TEST(time_test, mfu_above_one_is_rejected) {
  MfuInput in;
  in.params            = 70e9;
  in.tokens_per_second = 1e6;  // 4.2e17 FLOP/s on one A100
  in.peak_flops_per_s  = 312e12;
  try {
    mfu(in);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "--tokens-per-second");
  }
}

}  // namespace
}  // namespace sizeup
