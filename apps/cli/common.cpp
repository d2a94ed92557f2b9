#include "common.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/hub.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

std::string read_config_file(const std::string& path) {
  std::error_code ec;
  const std::string file = std::filesystem::is_directory(path, ec) ? path + "/config.json" : path;
  std::ifstream in(file);
  if (!in)
    throw InputError("model not found", "MODEL",
                     "'" + path +
                         "' is not a catalog name, HF id, config.json or directory "
                         "(see `sizeup models`)");
  if (std::filesystem::is_directory(file, ec))
    throw InputError("unreadable config", "MODEL", "'" + file + "' is a directory");
  // Read at most 16 MiB: HF configs are a few KB, and a device such as /dev/zero never ends.
  constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
      throw InputError("unreadable config", "MODEL",
                       "'" + file + "' is larger than 16 MiB; a config.json is a few KB");
  }
  if (in.bad()) throw InputError("unreadable config", "MODEL", "cannot read '" + file + "'");
  return text;
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || s.find(".json") != std::string::npos || s == ".";
}

std::int64_t dim(const std::optional<std::string>& v, const char* flag, std::int64_t dflt) {
  return v ? parse_count(*v, flag) : dflt;
}

template <class E>
E choose(const std::optional<std::string>& v, const char* flag,
         std::initializer_list<std::pair<const char*, E>> options, E dflt) {
  if (!v) return dflt;
  std::string names;
  for (const auto& [name, value] : options) {
    if (*v == name) return value;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  throw InputError("invalid choice", flag, "'" + *v + "' is not one of " + names);
}

std::string flag_for_field(const std::string& field) {
  static const std::pair<const char*, const char*> names[] = {
      {"n_layer", "--layers"},
      {"n_embd", "--hidden"},
      {"n_head", "--heads"},
      {"n_head_kv", "--kv-heads"},
      {"n_ff", "--ffn"},
      {"n_vocab", "--vocab"},
      {"n_ctx", "--max-positions"},
      {"head_dim", "--head-dim"},
      {"n_expert", "--experts"},
      {"n_expert_used", "--experts-per-token"},
      {"n_ff_expert", "--expert-ffn"},
      {"n_ff_shared", "--shared-experts"}};
  for (const auto& [f, flag] : names)
    if (field == f) return flag;
  return field;
}

// A model described by flags. Defaults: GPT-style decoder with learned positions,
// LayerNorm, GELU MLP of 4d, biases, tied head, final norm.
ModelSpec model_from_flags(const ModelOptions& o) {
  if (!o.layers || !o.hidden || !o.heads || !o.vocab)
    throw InputError("missing model", "MODEL",
                     "give a catalog name, a config.json, or --layers --hidden --heads --vocab");
  ModelSpec m;
  m.name      = "custom";
  m.family    = "custom";
  m.n_layer   = dim(o.layers, "--layers", 0);
  m.n_embd    = dim(o.hidden, "--hidden", 0);
  m.n_head    = dim(o.heads, "--heads", 0);
  m.n_head_kv = dim(o.kv_heads, "--kv-heads", m.n_head);
  m.n_vocab   = dim(o.vocab, "--vocab", 0);
  m.n_ctx     = dim(o.max_positions, "--max-positions", 2048);
  if (o.head_dim) {
    m.head_dim = dim(o.head_dim, "--head-dim", 0);
  } else {
    if (m.n_head <= 0) throw InputError("invalid model", "--heads", "must be positive");
    if (m.n_embd % m.n_head != 0)
      throw InputError("invalid model", "--heads",
                       fmt::format("{} heads do not divide hidden size {}", m.n_head, m.n_embd));
    m.head_dim = m.n_embd / m.n_head;
  }
  m.positions = choose(o.positions, "--positions",
                       {{"learned", PositionKind::learned},
                        {"rope", PositionKind::rope},
                        {"alibi", PositionKind::alibi},
                        {"none", PositionKind::none}},
                       PositionKind::learned);
  m.norm =
      choose(o.norm, "--norm", {{"layernorm", NormKind::layernorm}, {"rmsnorm", NormKind::rmsnorm}},
             NormKind::layernorm);
  m.norm_bias     = m.norm == NormKind::layernorm;
  m.mlp           = choose(o.mlp, "--mlp", {{"gelu", MlpKind::plain}, {"swiglu", MlpKind::gated}},
                           MlpKind::plain);
  m.activation    = m.mlp == MlpKind::gated ? "silu" : "gelu";
  m.n_ff          = dim(o.ffn, "--ffn", 4 * m.n_embd);
  const bool bias = o.bias.value_or(true);
  m.q_bias = m.k_bias = m.v_bias = m.o_bias = m.mlp_bias = bias;
  m.tied_head                                            = o.tied.value_or(true);
  m.final_norm                                           = o.final_norm.value_or(true);
  if (m.n_layer <= 0 || m.n_layer > 100000)
    throw InputError("invalid model", "--layers", "must be between 1 and 100000");
  m.n_expert = dim(o.experts, "--experts", 0);
  if (m.n_expert > 0) {
    m.n_expert_used = dim(o.experts_per_token, "--experts-per-token", 2);
    m.n_ff_expert   = dim(o.expert_ffn, "--expert-ffn", m.n_ff);
    m.n_ff_shared   = dim(o.shared_experts, "--shared-experts", 0) * m.n_ff_expert;
    m.moe_layers.assign(static_cast<std::size_t>(std::max<std::int64_t>(m.n_layer, 0)), true);
  } else if (o.experts_per_token || o.expert_ffn || o.shared_experts) {
    throw InputError("invalid model", "--experts", "expert options need --experts");
  }
  if (o.sliding_window) {  // Mistral-7B-v0.1 style: every layer uses the window
    m.sliding_window = dim(o.sliding_window, "--sliding-window", 0);
    if (m.sliding_window < 1)
      throw InputError("invalid model", "--sliding-window", "must be at least 1 token");
    m.sliding_layers.assign(static_cast<std::size_t>(m.n_layer), true);
  }
  try {
    validate(m);
  } catch (const InputError& e) {  // name the flag the user typed, not the struct field
    throw InputError(e.subject(), flag_for_field(e.field()), e.reason());
  }
  return m;
}

}  // namespace

bool ModelOptions::any_shape_flag() const {
  return layers || hidden || heads || kv_heads || ffn || vocab || max_positions || head_dim ||
         positions || norm || mlp || bias || tied || final_norm || experts || sliding_window;
}

void add_model_options(CLI::App* app, ModelOptions& o, bool required) {
  app->add_option("MODEL", o.model,
                  "catalog name, Hub id (org/name[@revision]), config.json path or directory "
                  "(or use shape flags)");
  auto g = "Hypothetical model";
  app->add_option("--layers", o.layers, "transformer layers")->group(g);
  app->add_option("--hidden", o.hidden, "hidden size d_model")->group(g);
  app->add_option("--heads", o.heads, "attention heads")->group(g);
  app->add_option("--kv-heads", o.kv_heads, "key/value heads (GQA/MQA)")->group(g);
  app->add_option("--ffn", o.ffn, "MLP inner width (default 4 x hidden)")->group(g);
  app->add_option("--vocab", o.vocab, "vocabulary size")->group(g);
  app->add_option("--max-positions", o.max_positions, "maximum positions")->group(g);
  app->add_option("--head-dim", o.head_dim, "width of one head (default hidden/heads)")->group(g);
  app->add_option("--positions", o.positions, "learned, rope, alibi or none")->group(g);
  app->add_option("--norm", o.norm, "layernorm or rmsnorm")->group(g);
  app->add_option("--mlp", o.mlp, "gelu or swiglu")->group(g);
  auto toggle = [&](const std::string& on, const std::string& off, std::optional<bool>& into,
                    const std::string& help) {
    // Both spellings together are a contradiction, not "the last one wins".
    auto* yes = app->add_flag_callback(
                       on, [&into] { into = true; }, help + " (default)")
                    ->group(g);
    app->add_flag_callback(
           off, [&into] { into = false; }, "no " + help)
        ->group(g)
        ->excludes(yes);
  };
  toggle("--bias", "--no-bias", o.bias, "biases on linear layers");
  toggle("--tied", "--untied", o.tied, "output head tied to the embedding");
  toggle("--final-norm", "--no-final-norm", o.final_norm, "norm before the head");
  app->add_option("--experts", o.experts, "routed experts (mixture of experts)")->group(g);
  app->add_option("--experts-per-token", o.experts_per_token, "experts per token")->group(g);
  app->add_option("--expert-ffn", o.expert_ffn, "inner width of one expert")->group(g);
  app->add_option("--shared-experts", o.shared_experts, "shared experts")->group(g);
  app->add_option("--sliding-window", o.sliding_window, "every layer attends to the last W tokens")
      ->group(g);
  (void)required;
}

ModelSpec resolve_model(const ModelOptions& o) {
  if (o.model.empty()) return model_from_flags(o);
  if (o.any_shape_flag())
    throw InputError("contradictory model", "MODEL", "give either MODEL or shape flags, not both");
  if (const CatalogEntry* e = find_model(o.model)) return model_from_catalog(*e);
  std::error_code ec;
  const bool on_disk = std::filesystem::exists(o.model, ec);
  if (!on_disk) {
    if (const auto id = hub::parse_repo_id(o.model)) {  // a Hub id: the cache, else a download
      hub::Hub h(hub::settings_from_environment(), hub::curl_fetcher());
      return model_from_config_text(hub::hub_config_text(h, *id), o.model);
    }
  }
  if (is_checkpoint_path(o.model))
    throw InputError("not a config", "MODEL",
                     "'" + o.model +
                         "' is a checkpoint: `sizeup params` reads its header; other commands "
                         "need a config.json, its directory or a Hub id");
  if (!looks_like_path(o.model) && !on_disk) {
    throw InputError("model not found", "MODEL",
                     "'" + o.model + "' is not in the catalog (see `sizeup models`) nor a file");
  }
  std::string name = o.model;
  return model_from_config_text(read_config_file(o.model), name);
}

bool is_checkpoint_path(const std::string& model) {
  auto ends_with = [&](std::string_view tail) {
    return model.size() >= tail.size() &&
           model.compare(model.size() - tail.size(), tail.size(), tail.data(), tail.size()) == 0;
  };
  return ends_with(".safetensors") || ends_with("model.safetensors.index.json");
}

CheckpointSummary resolve_checkpoint(const ModelOptions& o) {
  if (o.model.empty())
    throw InputError("missing checkpoint", "MODEL",
                     "--from-checkpoint needs MODEL: a Hub id, a catalog name, a directory or a "
                     ".safetensors file");
  std::error_code ec;
  if (std::filesystem::exists(o.model, ec)) {
    // A config.json stands for the directory that holds it and its checkpoint.
    const std::filesystem::path p(o.model);
    if (!std::filesystem::is_directory(p, ec) && !is_checkpoint_path(o.model))
      return hub::local_checkpoint(p.parent_path().empty() ? "." : p.parent_path().string());
    return hub::local_checkpoint(o.model);
  }
  std::optional<hub::RepoId> id;
  if (const CatalogEntry* e = find_model(o.model)) {
    id = hub::parse_repo_id(e->hf_id);
  } else {
    id = hub::parse_repo_id(o.model);
  }
  if (!id)
    throw InputError("checkpoint not found", "MODEL",
                     "'" + o.model + "' is neither a file, a directory nor a Hub id");
  hub::Hub h(hub::settings_from_environment(), hub::curl_fetcher());
  return hub::hub_checkpoint(h, *id);
}

namespace {

std::string lower_case(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "3.35TB/s" and "3.35TB" both mean 3.35e12 bytes per second.
double bytes_per_second(const std::string& text, const char* field) {
  std::string t = text;
  if (t.size() > 2 && t.compare(t.size() - 2, 2, "/s") == 0) t.resize(t.size() - 2);
  const double v = parse_bytes(t, field);
  if (!(v > 0)) throw InputError("invalid bandwidth", field, "must be positive");
  // Bounded so that bytes / bandwidth stays finite and meaningful (1 kB/s .. 1 EB/s).
  if (v < 1e3 || v > 1e18)
    throw InputError("invalid bandwidth", field,
                     fmt::format("must be between 1e3 and 1e18 bytes/s, got {}", text));
  return v;
}

GpuSpec custom_gpu(const GpuOptions& o) {
  if (!o.peak_tflops)
    throw InputError("incomplete custom accelerator", "--peak-tflops",
                     "--gpu custom needs --peak-tflops (dense TFLOP/s of the compute format)");
  GpuSpec g;
  g.name              = "custom";
  g.display_name      = "custom accelerator";
  g.vendor            = "custom";
  const double tflops = parse_quantity(*o.peak_tflops, "--peak-tflops");
  if (!(tflops > 0)) throw InputError("invalid peak", "--peak-tflops", "must be positive");
  // 1 MFLOP/s .. 1 ZFLOP/s per device: FLOPs / peak and peak x GPUs stay finite (B200: 2250).
  if (tflops < 1e-6 || tflops > 1e9)
    throw InputError("invalid peak", "--peak-tflops",
                     fmt::format("must be between 1e-6 and 1e9 TFLOP/s, got {}", *o.peak_tflops));
  for (const char* dtype : {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"})
    g.peak_flops_per_s[dtype] = tflops * 1e12;
  if (o.memory) {
    const double bytes = parse_bytes(*o.memory, "--gpu-memory");
    if (!(bytes >= 1) || bytes > 9.2e18)
      throw InputError("invalid memory", "--gpu-memory", "must be between 1 byte and 9.2e18 bytes");
    g.memory_bytes = static_cast<ByteCount>(std::llround(bytes));
  }
  if (o.bandwidth) g.memory_bandwidth_bytes_per_s = bytes_per_second(*o.bandwidth, "--bandwidth");
  if (o.power) {
    const double w = parse_quantity(*o.power, "--gpu-power");
    if (!(w > 0) || w > 1e7)
      throw InputError("invalid power", "--gpu-power", "must be between 0 and 1e7 watts");
    g.board_power_watts = w;
  }
  if (o.intra_node)
    g.intra_node_bandwidth_bytes_per_s = bytes_per_second(*o.intra_node, "--intra-node-bandwidth");
  if (o.inter_node)
    g.inter_node_bandwidth_bytes_per_s = bytes_per_second(*o.inter_node, "--inter-node-bandwidth");
  g.source = "custom: given on the command line; --peak-tflops applies to every format";
  return g;
}

}  // namespace

void add_gpu_options(CLI::App* app, GpuOptions& o, const std::string& default_gpu) {
  const auto* grp = "Accelerator";
  app->add_option("--gpu", o.gpu,
                  "catalog name (see `sizeup gpus`) or `custom`" +
                      (default_gpu.empty() ? std::string() : " (default " + default_gpu + ")"))
      ->group(grp);
  add_quantity(app, "--gpus", o.gpus, "number of GPUs")->group(grp);
  add_quantity(app, "--gpus-per-node", o.gpus_per_node, "GPUs per node")->group(grp);
  add_quantity(app, "--peak-tflops", o.peak_tflops, "custom: dense peak, TFLOP/s")->group(grp);
  app->add_option("--gpu-memory", o.memory, "custom: memory per GPU (80GiB, 80GB, bytes)")
      ->group(grp);
  app->add_option("--bandwidth", o.bandwidth, "custom: memory bandwidth (3.35TB = bytes/s)")
      ->group(grp);
  add_quantity(app, "--gpu-power", o.power, "custom: board power, watts")->group(grp);
  app->add_option("--intra-node-bandwidth", o.intra_node,
                  "custom: per-GPU bandwidth inside a node, one direction (450GB)")
      ->group(grp);
  app->add_option("--inter-node-bandwidth", o.inter_node,
                  "custom: per-GPU bandwidth between nodes, one direction (50GB)")
      ->group(grp);
}

GpuSpec resolve_gpu(const GpuOptions& o, const std::string& default_gpu) {
  const std::string name = o.gpu ? *o.gpu : default_gpu;
  if (name.empty())
    throw InputError("missing accelerator", "--gpu",
                     "give a catalog name (see `sizeup gpus`) or `custom` with --peak-tflops");
  GpuSpec g;
  if (lower_case(name) == "custom") {
    g = custom_gpu(o);
  } else {
    const std::pair<const std::optional<std::string>*, const char*> custom_only[] = {
        {&o.peak_tflops, "--peak-tflops"},
        {&o.memory, "--gpu-memory"},
        {&o.bandwidth, "--bandwidth"},
        {&o.power, "--gpu-power"},
        {&o.intra_node, "--intra-node-bandwidth"},
        {&o.inter_node, "--inter-node-bandwidth"}};
    for (const auto& [opt, flag] : custom_only)
      if (*opt)
        throw InputError(
            "option needs --gpu custom", flag,
            "'" + name + "' is a catalog accelerator; use --gpu custom to describe one");
    g = require_gpu(name, "--gpu");
  }
  if (o.gpus_per_node) {
    const std::int64_t n = parse_count(*o.gpus_per_node, "--gpus-per-node");
    if (n < 1 || n > 1024)
      throw InputError("invalid node size", "--gpus-per-node", "must be between 1 and 1024");
    g.gpus_per_node = static_cast<int>(n);
  }
  return g;
}

std::int64_t resolve_gpu_count(const GpuOptions& o, std::int64_t dflt) {
  if (!o.gpus) return dflt;
  const std::int64_t n = parse_count(*o.gpus, "--gpus");
  if (n < 1 || n > 10000000)
    throw InputError("invalid GPU count", "--gpus", "must be between 1 and 10,000,000");
  return n;
}

CLI::Option* add_quantity(CLI::App* app, const std::string& name, std::optional<std::string>& into,
                          const std::string& help) {
  return app->add_option(name, into, help + " (accepts 70e9, 70B, 15T, 1.5k)");
}

std::string with_commas(std::uint64_t n) {
  // Built digit by digit: GCC 12 -O3 reports a false -Wrestrict on std::string::insert.
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_count(double n) {
  const char* units[] = {"", "K", "M", "B", "T", "P", "E"};
  int u               = 0;
  while (n >= 1000 && u < 6) {
    n /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", n) : fmt::format("{:.2f}{}", n, units[u]);
}

std::string table(const std::vector<std::vector<std::string>>& rows, int header_rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  std::string out;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    for (std::size_t i = 0; i < r.size(); ++i) {
      // First column left-aligned (labels), the rest right-aligned (numbers).
      out += i == 0 ? fmt::format("{:<{}}", r[i], w[i]) : fmt::format("  {:>{}}", r[i], w[i]);
    }
    out += "\n";
    if (static_cast<int>(k) + 1 == header_rows) {
      std::size_t total = 0;
      for (auto x : w) total += x + 2;
      out += std::string(total - 2, '-') + "\n";
    }
  }
  return out;
}

std::string explain_row(const std::string& label, const Derivation& d, const std::string& result) {
  std::string s = "- **" + label + "**";
  if (!d.formula.empty()) s += " = `" + d.formula + "`";
  if (!d.substituted.empty()) s += "\n  = `" + d.substituted + "`";
  s += "\n  = **" + result + "**";
  if (!d.source.empty()) s += "  \n  _source: " + d.source + "_";
  return s + "\n";
}

}  // namespace sizeup::cli
