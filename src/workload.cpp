#include "sizeup/workload.hpp"

#include <utility>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

template <class E, std::size_t N>
E pick(const std::string& s, const std::string& field, const std::pair<const char*, E> (&opts)[N]) {
  std::string names;
  for (const auto& [name, value] : opts) {
    if (s == name) return value;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  throw InputError("invalid choice", field, "'" + s + "' is not one of " + names);
}

template <class E, std::size_t N>
const char* name_of(E v, const std::pair<const char*, E> (&opts)[N]) {
  for (const auto& [name, value] : opts)
    if (value == v) return name;
  return "?";
}

constexpr std::pair<const char*, Precision> kPrecisions[] = {{"fp32", Precision::fp32},
                                                             {"bf16", Precision::bf16},
                                                             {"fp16", Precision::fp16},
                                                             {"mixed-bf16", Precision::mixed_bf16},
                                                             {"mixed-fp16", Precision::mixed_fp16},
                                                             {"fp8", Precision::fp8},
                                                             {"tf32", Precision::tf32}};
constexpr std::pair<const char*, Optimizer> kOptimizers[] = {
    {"adamw", Optimizer::adamw},
    {"adam8bit", Optimizer::adam8bit},
    {"sgd", Optimizer::sgd},
    {"sgd-momentum", Optimizer::sgd_momentum},
    {"adafactor", Optimizer::adafactor},
    {"lion", Optimizer::lion}};
constexpr std::pair<const char*, Recompute> kRecompute[] = {
    {"none", Recompute::none}, {"selective", Recompute::selective}, {"full", Recompute::full}};
constexpr std::pair<const char*, AttentionImpl> kAttention[] = {{"eager", AttentionImpl::eager},
                                                                {"flash", AttentionImpl::flash}};
constexpr std::pair<const char*, FsdpMode> kFsdp[]           = {{"none", FsdpMode::none},
                                                                {"full", FsdpMode::full},
                                                                {"grad-op", FsdpMode::grad_op},
                                                                {"hybrid", FsdpMode::hybrid}};
constexpr std::pair<const char*, Schedule> kSchedules[]      = {{"1f1b", Schedule::one_f_one_b},
                                                                {"interleaved", Schedule::interleaved}};
constexpr std::pair<const char*, Offload> kOffload[]         = {{"none", Offload::none},
                                                                {"optimizer", Offload::optimizer}};
constexpr std::pair<const char*, Finetune> kFinetune[]       = {{"full", Finetune::full},
                                                                {"freeze", Finetune::freeze},
                                                                {"lora", Finetune::lora},
                                                                {"qlora", Finetune::qlora}};

}  // namespace

// Bytes per parameter of each recipe. Mixed precision keeps 16-bit working weights, fp32
// gradients accumulated in fp32 (as PyTorch AMP and Megatron's fp32 grad accumulation do)
// and an fp32 master copy. fp8 (Micikevicius et al. 2022, "FP8 Formats for Deep Learning"):
// fp8 GEMM inputs, bf16 working weights kept for the cast, fp32 gradients and master.
PrecisionRecipe recipe_for(Precision p) {
  switch (p) {
    case Precision::fp32:
      return {4, 4, 0, 4, "fp32"};
    case Precision::bf16:
      return {2, 2, 0, 2, "bf16"};
    case Precision::fp16:
      return {2, 2, 0, 2, "fp16"};
    case Precision::mixed_bf16:
      return {2, 4, 4, 2, "bf16"};
    case Precision::mixed_fp16:
      return {2, 4, 4, 2, "fp16"};
    case Precision::fp8:
      return {2, 4, 4, 2, "fp8"};
    case Precision::tf32:  // NVIDIA A100 whitepaper: TF32 tensor cores read fp32 tensors
      return {4, 4, 0, 4, "tf32"};
  }
  return {4, 4, 0, 4, "fp32"};
}

Precision parse_precision(const std::string& s, const std::string& f) {
  return pick(s, f, kPrecisions);
}
Optimizer parse_optimizer(const std::string& s, const std::string& f) {
  return pick(s, f, kOptimizers);
}
Recompute parse_recompute(const std::string& s, const std::string& f) {
  return pick(s, f, kRecompute);
}
AttentionImpl parse_attention(const std::string& s, const std::string& f) {
  return pick(s, f, kAttention);
}
FsdpMode parse_fsdp(const std::string& s, const std::string& f) { return pick(s, f, kFsdp); }
Schedule parse_schedule(const std::string& s, const std::string& f) {
  return pick(s, f, kSchedules);
}
Offload parse_offload(const std::string& s, const std::string& f) { return pick(s, f, kOffload); }
Finetune parse_finetune(const std::string& s, const std::string& f) {
  return pick(s, f, kFinetune);
}

const char* to_string(Precision p) { return name_of(p, kPrecisions); }
const char* to_string(Optimizer o) { return name_of(o, kOptimizers); }
const char* to_string(Recompute r) { return name_of(r, kRecompute); }

}  // namespace sizeup
