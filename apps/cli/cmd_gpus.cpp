// sizeup gpus [NAME]: the accelerator catalog (data/gpus.json), dense peaks per format,
// exact memory bytes, bandwidths, board power and the source of every row.
#include <fmt/format.h>

#include "common.hpp"
#include "sizeup/error.hpp"
#include "sizeup/json.hpp"

namespace sizeup::cli {
namespace {

constexpr const char* kFormats[] = {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"};

std::string tflops(const GpuSpec& g, const char* dtype) {
  auto it = g.peak_flops_per_s.find(dtype);
  return it == g.peak_flops_per_s.end() ? "-" : fmt::format("{:g}", it->second / 1e12);
}

std::string watts(const GpuSpec& g) {
  return g.board_power_watts ? fmt::format("{:g}", *g.board_power_watts) : "-";
}

Output list_output() {
  Output out;
  out.json["gpus"]                           = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows = {{"name", "bf16", "fp16", "fp8", "tf32", "fp32",
                                                 "memory GiB", "memory GB", "HBM TB/s", "watts"}};
  for (const GpuSpec& g : gpu_catalog()) {
    out.json["gpus"].push_back(to_json(g));
    rows.push_back({g.name, tflops(g, "bf16"), tflops(g, "fp16"), tflops(g, "fp8"),
                    tflops(g, "tf32"), tflops(g, "fp32"),
                    fmt::format("{:g}", to_gib(g.memory_bytes)),
                    fmt::format("{:.1f}", to_gb(g.memory_bytes)),
                    fmt::format("{:g}", g.memory_bandwidth_bytes_per_s / 1e12), watts(g)});
  }
  out.json["units"] = {{"peak_flops_per_s", "dense (no 2:4 sparsity) FLOP/s"},
                       {"gb", "10^9 bytes"},
                       {"gib", "2^30 bytes"}};
  out.text          = fmt::format(
                          "{} accelerators; dense peak TFLOP/s (no sparsity), memory in GiB "
                                   "(2^30 bytes) and GB (10^9 bytes), bandwidth in TB/s (10^12 bytes/s)\n\n",
                          gpu_catalog().size()) +
             table(rows) + "\n`sizeup gpus NAME` shows one device with exact bytes and sources.\n";
  out.explain =
      "## Accelerator catalog\n\nPeaks are dense tensor-core figures. Vendor pages headline "
      "2:4-sparse numbers, exactly twice the dense ones (e.g. H100 SXM bf16 1,979 sparse vs "
      "989.4 dense); sizeup never uses those.\n\n";
  for (const GpuSpec& g : gpu_catalog())
    out.explain +=
        fmt::format("- **{}** ({})  \n  _source: {}_\n", g.name, g.display_name, g.source);
  return out;
}

Output one_output(const GpuSpec& g) {
  Output out;
  out.json["gpu"]                            = to_json(g);
  std::vector<std::vector<std::string>> rows = {{"property", "value"}};
  rows.push_back({"name", g.name});
  rows.push_back({"device", g.display_name});
  rows.push_back(
      {"memory", fmt::format("{} bytes = {:.3f} GB = {:g} GiB", with_commas(g.memory_bytes),
                             to_gb(g.memory_bytes), to_gib(g.memory_bytes))});
  rows.push_back(
      {"memory bandwidth", fmt::format("{:g} GB/s", g.memory_bandwidth_bytes_per_s / 1e9)});
  for (const char* f : kFormats)
    if (g.peak_flops_per_s.count(f))
      rows.push_back({std::string("dense peak ") + f, tflops(g, f) + " TFLOP/s"});
  rows.push_back({"board power", g.board_power_watts ? watts(g) + " W" : "unpublished"});
  rows.push_back({"intra-node bandwidth", fmt::format("{:g} GB/s per GPU, one direction",
                                                      g.intra_node_bandwidth_bytes_per_s / 1e9)});
  rows.push_back({"inter-node bandwidth", fmt::format("{:g} GB/s per GPU, one direction",
                                                      g.inter_node_bandwidth_bytes_per_s / 1e9)});
  rows.push_back({"GPUs per node", std::to_string(g.gpus_per_node)});
  out.text = table(rows) + "\nsource: " + g.source + "\n";
  out.explain =
      "## " + g.display_name + "\n\n" +
      explain_row(
          "memory",
          {"GiB * 2^30", fmt::format("{:g} * 1073741824", to_gib(g.memory_bytes)), g.source},
          fmt::format("{} bytes ({:.3f} GB)", with_commas(g.memory_bytes), to_gb(g.memory_bytes)));
  for (const char* f : kFormats)
    if (g.peak_flops_per_s.count(f))
      out.explain += explain_row(std::string("dense ") + f + " peak",
                                 {"", "", "data/gpus.json row " + g.name + " (source above)"},
                                 fmt::format("{:g} FLOP/s", g.peak_flops_per_s.at(f)));
  return out;
}

}  // namespace

Action register_gpus(CLI::App& root, GlobalOptions&) {
  auto* app = root.add_subcommand("gpus", "accelerator catalog: dense peaks, memory, bandwidth");
  auto name = std::make_shared<std::string>();
  auto opts = std::make_shared<GpuOptions>();
  app->add_option("NAME", *name, "one accelerator (catalog name, or custom with its flags)");
  add_gpu_options(app, *opts);
  return [name, opts] {
    if (name->empty() && !opts->gpu) return list_output();
    if (!name->empty() && opts->gpu)
      throw InputError("contradictory accelerator", "--gpu", "give NAME or --gpu, not both");
    GpuOptions o = *opts;
    if (name->empty()) return one_output(resolve_gpu(o));
    o.gpu = *name;
    try {
      return one_output(resolve_gpu(o));
    } catch (const InputError& e) {  // the user typed NAME, not --gpu
      if (e.field() != "--gpu") throw;
      throw InputError(e.subject(), "NAME", e.reason());
    }
  };
}

}  // namespace sizeup::cli
