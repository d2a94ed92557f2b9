#include "sizeup/finetune.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "sizeup/checked.hpp"
#include "sizeup/error.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {

std::vector<std::string> default_lora_targets() { return {"q_proj", "v_proj"}; }

std::vector<LoraAdapter> lora_adapters(const ModelSpec& m, const std::vector<std::string>& targets,
                                       std::int64_t rank) {
  if (rank < 1) throw InputError("invalid LoRA rank", "--lora-rank", "must be at least 1");
  if (targets.empty())
    throw InputError("no LoRA targets", "--lora-targets", "give module names or all-linear");
  const bool all_linear = std::find(targets.begin(), targets.end(), "all-linear") != targets.end();
  std::vector<LoraAdapter> out;
  std::map<std::string, std::size_t> by_key;  // "<parent path><hf_module>" -> index in out
  std::vector<bool> used(targets.size(), false);
  const auto table = tensor_table(m);
  // A target names a module (q_proj) or the HF module holding it (c_attn); an adapter on a
  // fused module spans all of its parts, so GPT-2's q_proj selects the whole c_attn.
  std::set<std::string> hit_modules;
  for (const auto& t : table)
    for (std::size_t i = 0; i < targets.size(); ++i)
      if (t.is_matmul && (targets[i] == t.module || targets[i] == t.hf_module)) {
        used[i] = true;
        hit_modules.insert(t.hf_module);
      }
  for (const auto& t : table) {
    // Adapters sit on per-layer linear weights: {out, in} or stacked experts {E, out, in}.
    if (!t.is_matmul || t.tied || t.shape.size() < 2 || !t.in_layers()) continue;
    if (!all_linear && !hit_modules.count(t.hf_module)) continue;
    const auto cut         = t.name.rfind(t.module + ".");
    const std::string key  = t.name.substr(0, cut) + t.hf_module;
    const std::int64_t in  = t.shape.back();
    const std::int64_t o   = t.shape[t.shape.size() - 2];
    const std::int64_t exp = t.shape.size() == 3 ? t.shape[0] : 1;
    auto it                = by_key.find(key);
    if (it == by_key.end()) {
      by_key[key] = out.size();
      out.push_back({t.hf_module, t.name, in, o, exp, t.repeat, 0});
    } else {
      out[it->second].out += o;  // another part of a fused module (q, k, v in c_attn)
    }
  }
  if (all_linear) std::fill(used.begin(), used.end(), true);
  for (std::size_t i = 0; i < targets.size(); ++i)
    if (!used[i])
      throw InputError("unknown LoRA target", "--lora-targets",
                       "'" + targets[i] + "' matches no linear module of " + m.name);
  for (auto& a : out) {
    ParamCount p = checked_mul(static_cast<ParamCount>(rank), static_cast<ParamCount>(a.in + a.out),
                               "--lora-rank");
    p            = checked_mul(p, static_cast<ParamCount>(a.experts * a.count), "--lora-rank");
    a.params     = p;
  }
  return out;
}

ByteCount nf4_bytes(ParamCount n) {
  const ByteCount blocks = (n + kNf4Block - 1) / kNf4Block;
  return (n + 1) / 2 + blocks + 4 * ((blocks + kNf4SecondBlock - 1) / kNf4SecondBlock);
}

}  // namespace sizeup
