// The options shared by many commands: which model (catalog, file, uploaded config or shape
// options) and which accelerator. Reads a config file when MODEL names one: the only file
// input of the engine, kept here, away from the math.
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sizeup/catalog.hpp"
#include "sizeup/engine.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/hub.hpp"

namespace sizeup {
namespace {

std::string read_config_file(const std::string& path) {
  std::error_code ec;
  const std::string file = std::filesystem::is_directory(path, ec) ? path + "/config.json" : path;
  std::ifstream in(file);
  if (!in)
    throw InputError("model not found", "model",
                     "'" + path +
                         "' is not a catalog name, HF id, config.json or directory "
                         "(see `sizeup models`)");
  if (std::filesystem::is_directory(file, ec))
    throw InputError("unreadable config", "model", "'" + file + "' is a directory");
  // Read at most 16 MiB: HF configs are a few KB, and a device such as /dev/zero never ends.
  constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
      throw InputError("unreadable config", "model",
                       "'" + file + "' is larger than 16 MiB; a config.json is a few KB");
  }
  if (in.bad()) throw InputError("unreadable config", "model", "cannot read '" + file + "'");
  return text;
}

// Errors in a config name its key under `config.` ("config.head_dim"), the whole file as
// `config`, so that they are not mistaken for the options of the same name.
ModelSpec from_config(const std::string& text, std::string& label) {
  try {
    return model_from_config_text(text, label);
  } catch (const InputError& e) {
    throw InputError(e.subject(), e.field() == "config.json" ? "config" : "config." + e.field(),
                     e.reason());
  }
}

std::vector<std::string> catalog_names() {
  std::vector<std::string> names;
  for (const auto& e : model_catalog()) names.push_back(e.name);
  return names;
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || s.find(".json") != std::string::npos || s == ".";
}

const char* const kShapeOptions[] = {
    "layers",     "hidden",         "heads",         "kv_heads",
    "ffn",        "vocab",          "max_positions", "head_dim",
    "positions",  "norm",           "mlp",           "bias",
    "tied",       "final_norm",     "experts",       "experts_per_token",
    "expert_ffn", "shared_experts", "sliding_window"};

bool any_shape_option(const Options& o) {
  for (const char* name : kShapeOptions)
    if (has_option(o, name)) return true;
  return false;
}

// The option that sets a ModelSpec field, so that validate()'s errors name what was typed.
std::string option_for_field(const std::string& field) {
  static const std::pair<const char*, const char*> names[] = {
      {"n_layer", "layers"},
      {"n_embd", "hidden"},
      {"n_head", "heads"},
      {"n_head_kv", "kv_heads"},
      {"n_ff", "ffn"},
      {"n_vocab", "vocab"},
      {"n_ctx", "max_positions"},
      {"head_dim", "head_dim"},
      {"n_expert", "experts"},
      {"n_expert_used", "experts_per_token"},
      {"n_ff_expert", "expert_ffn"},
      {"n_ff_shared", "shared_experts"}};
  for (const auto& [f, option] : names)
    if (field == f) return option;
  return field;
}

std::int64_t dim(const Options& o, const char* name, std::int64_t dflt) {
  return count_option(o, name).value_or(dflt);
}

template <class E>
E choose(const Options& o, const char* name,
         std::initializer_list<std::pair<const char*, E>> options, E dflt) {
  const auto v = text_option(o, name);
  if (!v) return dflt;
  std::string names;
  for (const auto& [n, value] : options) {
    if (*v == n) return value;
    names += (names.empty() ? "" : ", ") + std::string(n);
  }
  throw InputError("invalid choice", name, "'" + *v + "' is not one of " + names);
}

// A model described by options. Defaults: GPT-style decoder with learned positions,
// LayerNorm, GELU MLP of 4d, biases, tied head, final norm.
ModelSpec model_from_options(const Options& o) {
  for (const char* required : {"layers", "hidden", "heads", "vocab"})
    if (!has_option(o, required))
      throw InputError("missing model", "model",
                       "give a catalog name, a config.json, or the shape options layers, hidden, "
                       "heads and vocab");
  ModelSpec m;
  m.name      = "custom";
  m.family    = "custom";
  m.n_layer   = dim(o, "layers", 0);
  m.n_embd    = dim(o, "hidden", 0);
  m.n_head    = dim(o, "heads", 0);
  m.n_head_kv = dim(o, "kv_heads", m.n_head);
  m.n_vocab   = dim(o, "vocab", 0);
  m.n_ctx     = dim(o, "max_positions", 2048);
  if (has_option(o, "head_dim")) {
    m.head_dim = dim(o, "head_dim", 0);
  } else {
    if (m.n_head <= 0) throw InputError("invalid model", "heads", "must be positive");
    if (m.n_embd % m.n_head != 0)
      throw InputError("invalid model", "heads",
                       fmt::format("{} heads do not divide hidden size {}", m.n_head, m.n_embd));
    m.head_dim = m.n_embd / m.n_head;
  }
  m.positions = choose(o, "positions",
                       {{"learned", PositionKind::learned},
                        {"rope", PositionKind::rope},
                        {"alibi", PositionKind::alibi},
                        {"none", PositionKind::none}},
                       PositionKind::learned);
  m.norm = choose(o, "norm", {{"layernorm", NormKind::layernorm}, {"rmsnorm", NormKind::rmsnorm}},
                  NormKind::layernorm);
  m.norm_bias = m.norm == NormKind::layernorm;
  m.mlp = choose(o, "mlp", {{"gelu", MlpKind::plain}, {"swiglu", MlpKind::gated}}, MlpKind::plain);
  m.activation    = m.mlp == MlpKind::gated ? "silu" : "gelu";
  m.n_ff          = dim(o, "ffn", 4 * m.n_embd);
  const bool bias = toggle_option(o, "bias").value_or(true);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = bias;
  m.tied_head                                            = toggle_option(o, "tied").value_or(true);
  m.final_norm = toggle_option(o, "final_norm").value_or(true);
  if (m.n_layer <= 0 || m.n_layer > 100000)
    throw InputError("invalid model", "layers", "must be between 1 and 100000");
  m.n_expert = dim(o, "experts", 0);
  if (m.n_expert > 0) {
    m.n_expert_used = dim(o, "experts_per_token", 2);
    m.n_ff_expert   = dim(o, "expert_ffn", m.n_ff);
    m.n_ff_shared   = dim(o, "shared_experts", 0) * m.n_ff_expert;
    m.moe_layers.assign(static_cast<std::size_t>(m.n_layer), true);
  } else if (has_option(o, "experts_per_token") || has_option(o, "expert_ffn") ||
             has_option(o, "shared_experts")) {
    throw InputError("invalid model", "experts",
                     "expert options need the number of experts (experts)");
  }
  if (has_option(o, "sliding_window")) {  // Mistral-7B-v0.1 style: every layer uses the window
    m.sliding_window = dim(o, "sliding_window", 0);
    if (m.sliding_window < 1)
      throw InputError("invalid model", "sliding_window", "must be at least 1 token");
    m.sliding_layers.assign(static_cast<std::size_t>(m.n_layer), true);
  }
  try {
    validate(m);
  } catch (const InputError& e) {  // name the option, not the struct field
    throw InputError(e.subject(), option_for_field(e.field()), e.reason());
  }
  return m;
}

std::string lower_case(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

GpuSpec custom_gpu(const Options& o) {
  const auto tflops = quantity_option(o, "peak_tflops");
  if (!tflops)
    throw InputError("incomplete custom accelerator", "peak_tflops",
                     "a custom accelerator needs its dense peak in TFLOP/s (peak_tflops)");
  GpuSpec g;
  g.name         = "custom";
  g.display_name = "custom accelerator";
  g.vendor       = "custom";
  // 1 MFLOP/s .. 1 ZFLOP/s per device: FLOPs / peak and peak x GPUs stay finite (B200: 2250).
  if (!(*tflops >= 1e-6 && *tflops <= 1e9))
    throw InputError("invalid peak", "peak_tflops",
                     fmt::format("must be between 1e-6 and 1e9 TFLOP/s, got {:g}", *tflops));
  for (const char* dtype : {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"})
    g.peak_flops_per_s[dtype] = *tflops * 1e12;
  if (const auto bytes = bytes_option(o, "gpu_memory")) {
    if (!(*bytes >= 1) || *bytes > 9.2e18)
      throw InputError("invalid memory", "gpu_memory", "must be between 1 byte and 9.2e18 bytes");
    g.memory_bytes = static_cast<ByteCount>(std::llround(*bytes));
  }
  if (const auto bw = rate_option(o, "bandwidth")) g.memory_bandwidth_bytes_per_s = *bw;
  if (const auto w = quantity_option(o, "gpu_power")) {
    if (!(*w > 0) || *w > 1e7)
      throw InputError("invalid power", "gpu_power", "must be between 0 and 1e7 watts");
    g.board_power_watts = *w;
  }
  if (const auto bw = rate_option(o, "intra_node_bandwidth"))
    g.intra_node_bandwidth_bytes_per_s = *bw;
  if (const auto bw = rate_option(o, "inter_node_bandwidth"))
    g.inter_node_bandwidth_bytes_per_s = *bw;
  g.source = "custom: given in the request; peak_tflops applies to every format";
  return g;
}

const char* const kCustomOnly[] = {"peak_tflops", "gpu_memory",           "bandwidth",
                                   "gpu_power",   "intra_node_bandwidth", "inter_node_bandwidth"};

}  // namespace

std::vector<OptionSpec> model_options() {
  using K       = OptionKind;
  const char* g = "Hypothetical model";
  auto shape    = [&](const char* name, K kind, const char* help) {
    return OptionSpec{name, kind, help, g, {}, "", false};
  };
  return {
      {"model",
       K::text,
       "catalog name, Hub id (org/name[@revision]), config.json path or directory (or use "
       "shape options)",
       "",
       {},
       "",
       true},
      {"config",
       K::json,
       "a config.json object (HTTP and Python; instead of MODEL)",
       "",
       {},
       "",
       false},
      shape("layers", K::count, "transformer layers"),
      shape("hidden", K::count, "hidden size d_model"),
      shape("heads", K::count, "attention heads"),
      shape("kv_heads", K::count, "key/value heads (GQA/MQA)"),
      shape("ffn", K::count, "MLP inner width (default 4 x hidden)"),
      shape("vocab", K::count, "vocabulary size"),
      shape("max_positions", K::count, "maximum positions"),
      shape("head_dim", K::count, "width of one head (default hidden/heads)"),
      {"positions",
       K::text,
       "learned, rope, alibi or none",
       g,
       {"learned", "rope", "alibi", "none"},
       "",
       false},
      {"norm", K::text, "layernorm or rmsnorm", g, {"layernorm", "rmsnorm"}, "", false},
      {"mlp", K::text, "gelu or swiglu", g, {"gelu", "swiglu"}, "", false},
      {"bias", K::toggle, "biases on linear layers", g, {}, "no_bias", false},
      {"tied", K::toggle, "output head tied to the embedding", g, {}, "untied", false},
      {"final_norm", K::toggle, "norm before the head", g, {}, "no_final_norm", false},
      shape("experts", K::count, "routed experts (mixture of experts)"),
      shape("experts_per_token", K::count, "experts per token"),
      shape("expert_ffn", K::count, "inner width of one expert"),
      shape("shared_experts", K::count, "shared experts"),
      shape("sliding_window", K::count, "every layer attends to the last W tokens"),
      {"mtp",
       K::flag,
       "also count the multi-token-prediction layers the checkpoint stores (DeepSeek-V3, GLM-4.5)",
       "",
       {},
       "",
       false},
  };
}

namespace {
ModelSpec resolve_model_description(const Options& o);
}  // namespace

ModelSpec resolve_model(const Options& o) {
  ModelSpec m = resolve_model_description(o);
  if (flag_option(o, "mtp")) {
    if (m.n_mtp_layers == 0)
      throw InputError("no prediction layers", "mtp",
                       m.name + " has no multi-token-prediction layers");
    m.count_mtp = true;
  }
  return m;
}

namespace {
ModelSpec resolve_model_description(const Options& o) {
  const auto name     = text_option(o, "model");
  const bool uploaded = has_option(o, "config");
  if ((name || uploaded) && any_shape_option(o))
    throw InputError("contradictory model", "model",
                     "give either MODEL or shape options, not both");
  if (name && uploaded)
    throw InputError("contradictory model", "config", "give either MODEL or config, not both");
  if (uploaded) {
    const auto& config = o.at("config");
    if (!config.is_object())
      throw InputError("invalid config", "config", "must be a config.json object");
    std::string label = "config";
    return from_config(config.dump(), label);
  }
  if (!name || name->empty()) return model_from_options(o);
  if (const CatalogEntry* e = find_model(*name)) return model_from_catalog(*e);
  std::error_code ec;
  const bool on_disk = std::filesystem::exists(*name, ec);
  if (!on_disk) {
    if (const auto id = hub::parse_repo_id(*name)) {  // a Hub id: the HF cache, else a download
      hub::Hub h(hub::settings_from_environment(), hub::curl_fetcher());
      std::string label = *name;
      return from_config(hub::hub_config_text(h, *id), label);
    }
  }
  if (hub::is_checkpoint_path(*name))
    throw InputError("not a config", "model",
                     "'" + *name +
                         "' is a checkpoint: `sizeup params` reads its header; other commands "
                         "need a config.json, its directory or a Hub id");
  if (!looks_like_path(*name) && !on_disk)
    throw InputError("model not found", "model",
                     "'" + *name + "' is not in the catalog (see `sizeup models`) nor a file" +
                         did_you_mean(*name, catalog_names()));
  std::string label = *name;
  return from_config(read_config_file(*name), label);
}
}  // namespace

std::vector<OptionSpec> gpu_options(const std::string& default_gpu) {
  using K       = OptionKind;
  const char* g = "Accelerator";
  return {
      {"gpu",
       K::text,
       "catalog name (see `sizeup gpus`) or `custom`" +
           (default_gpu.empty() ? std::string() : " (default " + default_gpu + ")"),
       g,
       {},
       "",
       false},
      {"gpus", K::count, "number of GPUs", g, {}, "", false},
      {"gpus_per_node", K::count, "GPUs per node", g, {}, "", false},
      {"peak_tflops", K::quantity, "custom: dense peak, TFLOP/s", g, {}, "", false},
      {"gpu_memory", K::bytes, "custom: memory per GPU (80GiB, 80GB, bytes)", g, {}, "", false},
      {"bandwidth", K::rate, "custom: memory bandwidth (3.35TB = bytes/s)", g, {}, "", false},
      {"gpu_power", K::quantity, "custom: board power, watts", g, {}, "", false},
      {"intra_node_bandwidth",
       K::rate,
       "custom: per-GPU bandwidth inside a node, one direction (450GB)",
       g,
       {},
       "",
       false},
      {"inter_node_bandwidth",
       K::rate,
       "custom: per-GPU bandwidth between nodes, one direction (50GB)",
       g,
       {},
       "",
       false},
  };
}

GpuSpec resolve_gpu(const Options& o, const std::string& default_gpu) {
  const std::string name = text_option(o, "gpu").value_or(default_gpu);
  if (name.empty())
    throw InputError("missing accelerator", "gpu",
                     "give a catalog name (see `sizeup gpus`) or custom with peak_tflops");
  GpuSpec g;
  if (lower_case(name) == "custom") {
    g = custom_gpu(o);
  } else {
    for (const char* option : kCustomOnly)
      if (has_option(o, option))
        throw InputError(
            "option needs a custom accelerator", option,
            "'" + name + "' is a catalog accelerator; describe your own with gpu custom");
    g = require_gpu(name, "gpu");
  }
  if (const auto n = count_option(o, "gpus_per_node")) {
    if (*n < 1 || *n > 1024)
      throw InputError("invalid node size", "gpus_per_node", "must be between 1 and 1024");
    g.gpus_per_node = static_cast<int>(*n);
  }
  return g;
}

std::int64_t resolve_gpu_count(const Options& o, std::int64_t dflt) {
  const auto n = count_option(o, "gpus");
  if (!n) return dflt;
  if (*n < 1 || *n > 10000000)
    throw InputError("invalid GPU count", "gpus", "must be between 1 and 10,000,000");
  return *n;
}

}  // namespace sizeup
