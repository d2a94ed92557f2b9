// Step-time model: composition rules checked by hand, and published measurements.
#include "sizeup/step_time.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

// GPT as in Narayanan et al. 2021 / Korthikanti et al. 2022: learned positions, LayerNorm with
// biases, GELU MLP of 4h, biases, tied head, vocabulary 51,200.
ModelSpec gpt(std::int64_t layers, std::int64_t hidden, std::int64_t heads) {
  ModelSpec m;
  m.name    = "gpt";
  m.n_layer = layers, m.n_embd = hidden, m.n_head = heads, m.n_head_kv = heads;
  m.head_dim = hidden / heads, m.n_ff = 4 * hidden, m.n_vocab = 51200, m.n_ctx = 2048;
  m.positions = PositionKind::learned, m.norm = NormKind::layernorm, m.norm_bias = true;
  m.mlp = MlpKind::plain, m.activation = "gelu", m.tied_head = true;
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = true;
  return m;
}

struct RunSpec {
  std::int64_t gpus, tp, pp, v, cp, micro, global, seq;
  Recompute rc;
  bool sp;
  AttentionImpl attn;
  Precision prec;
  bool dp_overlap;
  FsdpMode fsdp = FsdpMode::none;
  int zero      = 0;
};

TrainInput input(const RunSpec& r) {
  TrainInput in;
  in.workload.micro_batch  = r.micro;
  in.workload.seq_len      = r.seq;
  in.workload.global_batch = r.global;
  in.precision             = r.prec;
  in.activation.recompute  = r.rc;
  in.activation.attention  = r.attn;
  in.activation.dropout    = r.attn == AttentionImpl::eager ? 0.1 : 0.0;
  in.plan.tp = r.tp, in.plan.pp = r.pp, in.plan.cp = r.cp;
  in.plan.dp                = r.gpus / (r.tp * r.pp * r.cp);
  in.plan.interleave        = r.v;
  in.plan.schedule          = r.v > 1 ? Schedule::interleaved : Schedule::one_f_one_b;
  in.plan.sequence_parallel = r.sp;
  in.plan.fsdp              = r.fsdp;
  in.plan.zero              = r.zero;
  return in;
}

StepTimeReport predict(const ModelSpec& m, const RunSpec& r, const char* gpu) {
  const TrainInput in = input(r);
  StepOptions o;
  o.dp_overlap = r.dp_overlap;
  PerfConstants k;
  auto env = [](const char* n, double& v) {
    if (const char* e = std::getenv(n)) v = std::atof(e);
  };
  env("K_GEMM", k.gemm_peak_fraction);
  env("K_MEM", k.memory_bw_fraction);
  env("K_ATT", k.attention_peak_fraction);
  env("K_LINK", k.link_fraction);
  DeviceModel d = device_model(require_gpu(gpu), train_recipe(in).compute_dtype, k);
  if (std::getenv("NO_WAVE")) d.sm_count = 0;
  return step_time(m, in, d, o);
}

TEST(step_time, bubble_and_stage_rule) {
  std::int64_t s[16];
  balanced_stage_layers(126, 16, s);
  EXPECT_EQ(s[0], 7);
  EXPECT_EQ(s[15], 7);
  for (int i = 1; i < 15; ++i) EXPECT_EQ(s[i], 8);
  balanced_stage_layers(96, 8, s);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(s[i], 12);
}

TEST(step_time, published_runs) {
  const Recompute F = Recompute::full, S = Recompute::selective;
  const auto E = AttentionImpl::eager, FA = AttentionImpl::flash;
  const auto fp16 = Precision::mixed_fp16, bf16 = Precision::mixed_bf16;
  struct Case {
    const char* name;
    ModelSpec m;
    RunSpec r;
    const char* gpu;
    const char* metric;  // hw_tflops, step, tokens_per_gpu
    double published;
  };
  const Case cases[] = {
      {"SC21 T1 1.7B",
       gpt(24, 2304, 24),
       {32, 1, 1, 1, 1, 16, 512, 2048, F, false, E, fp16, true},
       "a100-80gb",
       "hw",
       137},
      {"SC21 T1 3.6B",
       gpt(30, 3072, 32),
       {64, 2, 1, 1, 1, 16, 512, 2048, F, false, E, fp16, true},
       "a100-80gb",
       "hw",
       138},
      {"SC21 T1 7.5B",
       gpt(36, 4096, 32),
       {128, 4, 1, 1, 1, 16, 512, 2048, F, false, E, fp16, true},
       "a100-80gb",
       "hw",
       142},
      {"SC21 T1 18.4B",
       gpt(40, 6144, 48),
       {256, 8, 1, 1, 1, 8, 1024, 2048, F, false, E, fp16, true},
       "a100-80gb",
       "hw",
       135},
      {"SC21 T1 76.1B",
       gpt(60, 10240, 80),
       {1024, 8, 4, 3, 1, 2, 1792, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       140},
      {"SC21 T1 310.1B",
       gpt(96, 16384, 128),
       {1920, 8, 16, 2, 1, 1, 2160, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       155},
      {"SC21 T1 1T",
       gpt(128, 25600, 160),
       {3072, 8, 64, 1, 1, 1, 3072, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       163},
      {"SC21 T2 175B 384",
       gpt(96, 12288, 96),
       {384, 8, 12, 1, 1, 1, 1536, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       153},
      {"SC21 T2 175B 768",
       gpt(96, 12288, 96),
       {768, 8, 12, 1, 1, 1, 1536, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       149},
      {"SC21 T2 175B 1536",
       gpt(96, 12288, 96),
       {1536, 8, 12, 1, 1, 1, 1536, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       141},
      {"SC21 T2 530B 560",
       gpt(105, 20480, 128),
       {560, 8, 35, 3, 1, 1, 2240, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       171},
      {"SC21 T2 530B 1120",
       gpt(105, 20480, 128),
       {1120, 8, 35, 3, 1, 1, 2240, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       167},
      {"SC21 T2 530B 2240",
       gpt(105, 20480, 128),
       {2240, 8, 35, 3, 1, 1, 2240, 2048, F, false, E, fp16, false},
       "a100-80gb",
       "hw",
       159},
      {"SC21 T2 ZeRO-3 175B 384",
       gpt(96, 12288, 96),
       {384, 1, 1, 1, 1, 4, 1536, 2048, F, false, E, fp16, true, FsdpMode::none, 3},
       "a100-80gb",
       "hw",
       144},
      {"SC21 T2 ZeRO-3 175B 768",
       gpt(96, 12288, 96),
       {768, 1, 1, 1, 1, 2, 1536, 2048, F, false, E, fp16, true, FsdpMode::none, 3},
       "a100-80gb",
       "hw",
       88},
      {"SC21 T2 ZeRO-3 175B 1536",
       gpt(96, 12288, 96),
       {1536, 1, 1, 1, 1, 1, 1536, 2048, F, false, E, fp16, true, FsdpMode::none, 3},
       "a100-80gb",
       "hw",
       44},
      {"Kor T5 22B full",
       gpt(48, 6144, 64),
       {8, 8, 1, 1, 1, 1, 4, 2048, F, false, E, bf16, true},
       "a100-80gb",
       "step",
       1.42},
      {"Kor T5 22B sp+sel",
       gpt(48, 6144, 64),
       {8, 8, 1, 1, 1, 1, 4, 2048, S, true, E, bf16, true},
       "a100-80gb",
       "step",
       1.10},
      {"Kor T5 1T full",
       gpt(128, 25600, 160),
       {512, 8, 64, 1, 1, 1, 512, 2048, F, false, E, bf16, true},
       "a100-80gb",
       "step",
       94.42},
      {"Kor T5 1T sp+sel",
       gpt(128, 25600, 160),
       {512, 8, 64, 1, 1, 1, 512, 2048, S, true, E, bf16, true},
       "a100-80gb",
       "step",
       71.49},
      {"NeMo GPT3-175B fp8",
       gpt(96, 12288, 96),
       {512, 4, 8, 6, 1, 2, 2048, 2048, Recompute::none, true, FA, Precision::fp8, true,
        FsdpMode::none, 1},
       "h100-sxm",
       "tok",
       825},
      {"NeMo Llama3-70B fp8",
       model_from_catalog(*find_model("llama-3-70b")),
       {64, 4, 4, 5, 2, 1, 128, 8192, Recompute::none, true, FA, Precision::fp8, true,
        FsdpMode::none, 1},
       "h100-sxm",
       "tok",
       1524},
      {"torchtitan Llama3.1-8B",
       model_from_catalog(*find_model("llama-3.1-8b")),
       {8, 1, 1, 1, 1, 2, 16, 8192, S, false, FA, bf16, true, FsdpMode::full, 0},
       "h100-sxm",
       "tok",
       5762},
  };
  double sum = 0, worst = 0;
  int counted = 0;
  for (const auto& c : cases) {
    const StepTimeReport r   = predict(c.m, c.r, c.gpu);
    const std::string metric = c.metric;
    const double got         = metric == "hw"     ? r.hardware_tflops_per_gpu
                               : metric == "step" ? r.step_seconds
                                                  : r.tokens_per_second_per_gpu;
    const double err         = std::abs(got - c.published) / c.published;
    // DeepSpeed ZeRO-3 (2021) and eager torchtitan are outside what the model describes
    // (docs/validation.md); the Megatron-LM and NeMo runs are held to the reached bounds.
    const std::string name = c.name;
    if (name.find("ZeRO-3") == std::string::npos && name.find("torchtitan") == std::string::npos) {
      sum += err;
      ++counted;
      worst = std::max(worst, err);
    }
    std::string rows;
    for (const auto& row : r.rows.rows)
      if (row.value > 0)
        rows += fmt::format(" {}={:.3g}", row.key.substr(0, row.key.size() - 8), row.value);
    if (std::getenv("SIZEUP_DEBUG")) fmt::print("  {}\n", r.rows.rows[0].derivation.substituted);
    fmt::print("{:28s} {:8.3f} vs {:8.3f}  {:+6.1f}%  step {:.3f}s mfu {:.3f}{}\n", c.name, got,
               c.published, 100 * (got - c.published) / c.published, r.step_seconds, r.mfu, rows);
  }
  fmt::print("mean {:.2f}%  worst {:.2f}%\n", 100 * sum / counted, 100 * worst);
  EXPECT_EQ(counted, 19);
  EXPECT_LE(sum / counted, 0.06);
  EXPECT_LE(worst, 0.15);
}

}  // namespace
}  // namespace sizeup
