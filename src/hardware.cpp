#include "sizeup/hardware.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

GpuSpec parse_gpu(const nlohmann::json& j) {
  GpuSpec g;
  g.name                         = j.at("name").get<std::string>();
  g.display_name                 = j.value("display_name", g.name);
  g.aliases                      = j.value("aliases", std::vector<std::string>{});
  g.vendor                       = j.value("vendor", std::string());
  g.memory_bytes                 = j.at("memory_bytes").get<ByteCount>();
  g.memory_bandwidth_bytes_per_s = j.at("memory_bandwidth_bytes_per_s").get<double>();
  for (const auto& [k, v] : j.at("peak_flops_per_s").items())
    if (v.is_number()) g.peak_flops_per_s[k] = v.get<double>();
  if (j.contains("board_power_watts") && j["board_power_watts"].is_number())
    g.board_power_watts = j["board_power_watts"].get<double>();
  g.intra_node_bandwidth_bytes_per_s = j.value("intra_node_bandwidth_bytes_per_s", 0.0);
  g.inter_node_bandwidth_bytes_per_s = j.value("inter_node_bandwidth_bytes_per_s", 0.0);
  g.gpus_per_node                    = j.value("gpus_per_node", 8);
  g.sm_count                         = j.value("sm_count", 0);
  g.pcie_bandwidth_bytes_per_s       = j.value("pcie_bandwidth_bytes_per_s", 32e9);
  g.intra_node_latency_seconds       = j.value("intra_node_latency_seconds", 2e-6);
  g.inter_node_latency_seconds       = j.value("inter_node_latency_seconds", 5e-6);
  g.nvlink_domain_gpus               = j.value("nvlink_domain_gpus", 0);
  g.source                           = j.value("source", std::string());
  return g;
}

// Lower case, letters and digits only: "RTX 4090" and "rtx-4090" are both "rtx4090".
std::string squash(const std::string& s) {
  std::string out;
  for (unsigned char c : s)
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  return out;
}

std::vector<std::string> names_and_aliases() {
  std::vector<std::string> v;
  for (const auto& g : gpu_catalog()) {
    v.push_back(g.name);
    v.insert(v.end(), g.aliases.begin(), g.aliases.end());
  }
  return v;
}

}  // namespace

FlopRate GpuSpec::peak(const std::string& dtype, const std::string& field) const {
  auto it = peak_flops_per_s.find(lower(dtype));
  if (it == peak_flops_per_s.end())
    throw InputError("unsupported format", field,
                     name + " has no published dense " + dtype + " peak");
  return it->second;
}

const std::vector<GpuSpec>& gpu_catalog() {
  static const std::vector<GpuSpec> gpus = [] {
    std::vector<GpuSpec> v;
    for (const auto& j : nlohmann::json::parse(detail::embedded_gpus())) v.push_back(parse_gpu(j));
    return v;
  }();
  return gpus;
}

const GpuSpec* find_gpu(const std::string& name) {
  const std::string n = lower(name);
  for (const auto& g : gpu_catalog()) {
    if (g.name == n) return &g;
    for (const auto& a : g.aliases)
      if (a == n) return &g;
  }
  return nullptr;
}

const GpuSpec& require_gpu(const std::string& name, const std::string& field) {
  if (const GpuSpec* g = find_gpu(name)) return *g;
  const std::string q = squash(name);
  std::vector<const GpuSpec*> parts;  // names that contain what was typed
  auto contains = [&q](const std::string& n) {
    return q.size() >= 2 && squash(n).find(q) != std::string::npos;
  };
  for (const auto& g : gpu_catalog())
    if (contains(g.name) || std::any_of(g.aliases.begin(), g.aliases.end(), contains))
      parts.push_back(&g);
  if (parts.size() == 1) return *parts.front();
  if (parts.size() > 1) {
    std::string list;
    for (const auto* g : parts) list += (list.empty() ? "" : ", ") + g->name;
    throw InputError("ambiguous accelerator", field, "'" + name + "' could be " + list);
  }
  throw InputError("unknown accelerator", field,
                   "'" + name + "' is not in the catalog (see `sizeup gpus`)" +
                       did_you_mean(lower(name), names_and_aliases()));
}

}  // namespace sizeup
