// sizeup gpus [NAME]: the accelerator catalog (data/gpus.json), dense peaks per format,
// exact memory bytes, bandwidths, board power and the source of every row.
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"

namespace sizeup::cmd {
namespace {

constexpr const char* kFormats[] = {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"};

std::string tflops(const GpuSpec& g, const char* dtype) {
  auto it = g.peak_flops_per_s.find(dtype);
  return it == g.peak_flops_per_s.end() ? "-" : fmt::format("{:g}", it->second / 1e12);
}

std::string watts(const GpuSpec& g) {
  return g.board_power_watts ? fmt::format("{:g}", *g.board_power_watts) : "-";
}

Report list_report() {
  Report r;
  r.title = fmt::format(
      "{} accelerators; dense peak TFLOP/s (no sparsity), memory in GiB (2^30 bytes) and GB "
      "(10^9 bytes), bandwidth in TB/s (10^12 bytes/s)",
      gpu_catalog().size());
  r.explain_intro =
      "Peaks are dense tensor-core figures. Vendor pages headline 2:4-sparse numbers, exactly "
      "twice the dense ones (e.g. H100 SXM bf16 1,979 sparse vs 989.4 dense); sizeup never "
      "uses those.";
  r.data["gpus"]  = nlohmann::json::array();
  r.data["units"] = {{"peak_flops_per_s", "dense (no 2:4 sparsity) FLOP/s"},
                     {"gb", "10^9 bytes"},
                     {"gib", "2^30 bytes"}};
  auto& s = r.section("", {"name", "bf16", "fp16", "fp8", "tf32", "fp32", "memory GiB", "memory GB",
                           "HBM TB/s", "watts"});
  for (const GpuSpec& g : gpu_catalog()) {
    r.data["gpus"].push_back(to_json(g));
    s.rows.push_back(
        {"",
         g.name,
         tflops(g, "bf16"),
         Unit::none,
         {"", g.display_name, g.source},
         {tflops(g, "fp16"), tflops(g, "fp8"), tflops(g, "tf32"), tflops(g, "fp32"),
          fmt::format("{:g}", to_gib(g.memory_bytes)), fmt::format("{:.1f}", to_gb(g.memory_bytes)),
          fmt::format("{:g}", g.memory_bandwidth_bytes_per_s / 1e12), watts(g)},
         "",
         true});
  }
  s.notes.push_back("`sizeup gpus NAME` shows one device with exact bytes and sources.");
  return r;
}

Report one_report(const GpuSpec& g) {
  Report r;
  r.title       = g.display_name;
  r.data["gpu"] = to_json(g);
  auto& s       = r.section("", {"property", "value"});
  auto text     = [&](const char* label, std::string value, Derivation d = {}) {
    s.rows.push_back({"", label, std::move(value), Unit::none, std::move(d), {}, "", true});
  };
  text("name", g.name);
  text("device", g.display_name);
  text("memory",
       fmt::format("{} bytes = {:.3f} GB = {:g} GiB", with_commas(g.memory_bytes),
                   to_gb(g.memory_bytes), to_gib(g.memory_bytes)),
       {"GiB * 2^30", fmt::format("{:g} * 1073741824", to_gib(g.memory_bytes)), g.source});
  text("memory bandwidth", fmt::format("{:g} GB/s", g.memory_bandwidth_bytes_per_s / 1e9));
  for (const char* f : kFormats)
    if (g.peak_flops_per_s.count(f))
      text((std::string("dense peak ") + f).c_str(), tflops(g, f) + " TFLOP/s",
           {"", "", "data/gpus.json row " + g.name + " (source below)"});
  text("board power", g.board_power_watts ? watts(g) + " W" : "unpublished");
  text("intra-node bandwidth",
       fmt::format("{:g} GB/s per GPU, one direction", g.intra_node_bandwidth_bytes_per_s / 1e9));
  text("inter-node bandwidth",
       fmt::format("{:g} GB/s per GPU, one direction", g.inter_node_bandwidth_bytes_per_s / 1e9));
  text("GPUs per node", std::to_string(g.gpus_per_node));
  r.notes.push_back("source: " + g.source);
  return r;
}

Report gpus_report(const Options& o) {
  const auto name = text_option(o, "name");
  if (!name && !has_option(o, "gpu")) return list_report();
  if (name && has_option(o, "gpu"))
    throw InputError("contradictory accelerator", "gpu", "give NAME or gpu, not both");
  if (!name) return one_report(resolve_gpu(o));
  Options with_gpu = o;
  with_gpu.erase("name");
  with_gpu["gpu"] = *name;
  try {
    return one_report(resolve_gpu(with_gpu));
  } catch (const InputError& e) {  // the request named it NAME, not gpu
    if (e.field() != "gpu") throw;
    throw InputError(e.subject(), "name", e.reason());
  }
}

}  // namespace

CommandSpec gpus_command() {
  std::vector<OptionSpec> own = {{"name",
                                  OptionKind::text,
                                  "one accelerator (catalog name, or custom with its options)",
                                  "",
                                  {},
                                  "",
                                  true}};
  return {"gpus", "accelerator catalog: dense peaks, memory, bandwidth", join(own, gpu_options()),
          gpus_report};
}

}  // namespace sizeup::cmd
