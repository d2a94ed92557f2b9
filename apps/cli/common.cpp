#include "common.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup::cli {
namespace {

void put(Options& o, const char* name, const std::optional<std::string>& v) {
  if (v) o[name] = *v;
}
void put(Options& o, const char* name, const std::optional<bool>& v) {
  if (v) o[name] = *v;
}

Options to_options(const ModelOptions& m) {
  Options o = Options::object();
  if (!m.model.empty()) o["model"] = m.model;
  put(o, "layers", m.layers);
  put(o, "hidden", m.hidden);
  put(o, "heads", m.heads);
  put(o, "kv_heads", m.kv_heads);
  put(o, "ffn", m.ffn);
  put(o, "vocab", m.vocab);
  put(o, "max_positions", m.max_positions);
  put(o, "head_dim", m.head_dim);
  put(o, "positions", m.positions);
  put(o, "norm", m.norm);
  put(o, "mlp", m.mlp);
  put(o, "bias", m.bias);
  put(o, "tied", m.tied);
  put(o, "final_norm", m.final_norm);
  put(o, "experts", m.experts);
  put(o, "experts_per_token", m.experts_per_token);
  put(o, "expert_ffn", m.expert_ffn);
  put(o, "shared_experts", m.shared_experts);
  put(o, "sliding_window", m.sliding_window);
  return o;
}

Options to_options(const GpuOptions& g) {
  Options o = Options::object();
  put(o, "gpu", g.gpu);
  put(o, "gpus", g.gpus);
  put(o, "gpus_per_node", g.gpus_per_node);
  put(o, "peak_tflops", g.peak_tflops);
  put(o, "gpu_memory", g.memory);
  put(o, "bandwidth", g.bandwidth);
  put(o, "gpu_power", g.power);
  put(o, "intra_node_bandwidth", g.intra_node);
  put(o, "inter_node_bandwidth", g.inter_node);
  return o;
}

// Library errors name options by identifier; commands not yet on the engine report the
// command-line spelling.
template <class F>
auto with_cli_fields(F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    const std::string field = cli_field(join(model_options(), gpu_options()), e.field());
    throw InputError(e.subject(), field, e.reason());
  }
}

}  // namespace

bool ModelOptions::any_shape_flag() const {
  return layers || hidden || heads || kv_heads || ffn || vocab || max_positions || head_dim ||
         positions || norm || mlp || bias || tied || final_norm || experts || sliding_window;
}

void add_model_options(CLI::App* app, ModelOptions& o, bool required) {
  app->add_option("MODEL", o.model,
                  "catalog name, HF id, config.json path or directory (or use shape flags)");
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
  return with_cli_fields([&] { return sizeup::resolve_model(to_options(o)); });
}

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
  return with_cli_fields([&] { return sizeup::resolve_gpu(to_options(o), default_gpu); });
}

std::int64_t resolve_gpu_count(const GpuOptions& o, std::int64_t dflt) {
  return with_cli_fields([&] { return sizeup::resolve_gpu_count(to_options(o), dflt); });
}

CLI::Option* add_quantity(CLI::App* app, const std::string& name, std::optional<std::string>& into,
                          const std::string& help) {
  return app->add_option(name, into, help + " (accepts 70e9, 70B, 15T, 1.5k)");
}

}  // namespace sizeup::cli
