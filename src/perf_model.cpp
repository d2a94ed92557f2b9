#include "sizeup/perf_model.hpp"

#include <algorithm>
#include <cmath>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

double ceil_to(double v, double q) { return std::ceil(v / q) * q; }

// One ring collective on n ranks over one link: bandwidth term and latency term.
// All-reduce moves 2(n-1)/n of the buffer per rank in 2(n-1) steps; reduce-scatter and
// all-gather half of that; all-to-all (n-1)/n in n-1 steps (pairwise exchange);
// p2p the buffer once (Thakur et al. 2005, Table 1).
double ring_seconds(Collective c, double bytes, double n, double bw, double alpha) {
  if (n <= 1 && c != Collective::p2p) return 0.0;
  const double f = (n - 1) / n;
  switch (c) {
    case Collective::all_reduce: {
      const double ring = 2 * f * bytes / bw + 2 * (n - 1) * alpha;
      // Double binary tree: latency 2·log2(n) steps; bandwidth term about the ring's
      // (NCCL's trees are pipelined), so the tree wins only on latency.
      const double tree = 2 * f * bytes / bw + 2 * std::ceil(std::log2(n)) * alpha;
      return std::min(ring, tree);
    }
    case Collective::reduce_scatter:
    case Collective::all_gather:
      return f * bytes / bw + (n - 1) * alpha;
    case Collective::all_to_all:
      return f * bytes / bw + (n - 1) * alpha;
    case Collective::p2p:
      return bytes / bw + alpha;
  }
  return 0.0;
}

}  // namespace

const char* to_string(Collective c) {
  switch (c) {
    case Collective::all_reduce:
      return "all_reduce";
    case Collective::reduce_scatter:
      return "reduce_scatter";
    case Collective::all_gather:
      return "all_gather";
    case Collective::all_to_all:
      return "all_to_all";
    case Collective::p2p:
      return "p2p";
  }
  return "?";
}

DeviceModel device_model(const GpuSpec& g, const std::string& dtype, const PerfConstants& k) {
  DeviceModel d;
  d.peak_flops_per_s = g.peak(dtype, "compute_dtype");
  auto it            = g.peak_flops_per_s.find("bf16");
  if (it == g.peak_flops_per_s.end()) it = g.peak_flops_per_s.find("fp16");
  d.peak16_flops_per_s = it != g.peak_flops_per_s.end() ? std::min(it->second, d.peak_flops_per_s)
                                                        : d.peak_flops_per_s;
  if (dtype == "fp8" && it != g.peak_flops_per_s.end()) d.peak16_flops_per_s = it->second;
  d.memory_bandwidth_bytes_per_s = g.memory_bandwidth_bytes_per_s;
  d.sm_count                     = g.sm_count;
  d.intra_bandwidth_bytes_per_s  = g.intra_node_bandwidth_bytes_per_s;
  d.inter_bandwidth_bytes_per_s  = g.inter_node_bandwidth_bytes_per_s;
  d.pcie_bandwidth_bytes_per_s   = g.pcie_bandwidth_bytes_per_s;
  d.intra_latency_seconds        = g.intra_node_latency_seconds;
  d.inter_latency_seconds        = g.inter_node_latency_seconds;
  d.domain_gpus = g.nvlink_domain_gpus > 0 ? g.nvlink_domain_gpus : g.gpus_per_node;
  d.k           = k;
  // Blamed on the request option that sets each figure (engine.hpp identifiers).
  for (auto [v, f] : {std::pair<double, const char*>{d.memory_bandwidth_bytes_per_s, "bandwidth"},
                      {d.intra_bandwidth_bytes_per_s, "intra_node_bandwidth"},
                      {d.inter_bandwidth_bytes_per_s, "inter_node_bandwidth"},
                      {d.pcie_bandwidth_bytes_per_s, "pcie_bandwidth"}})
    if (!(v > 0) || !std::isfinite(v))
      throw InputError("missing hardware figure", f, g.name + " has no positive value for it");
  for (auto [v, f] : {std::pair<double, const char*>{k.gemm_peak_fraction, "gemm_efficiency"},
                      {k.memory_bw_fraction, "memory_efficiency"},
                      {k.link_fraction, "link_efficiency"},
                      {k.attention_peak_fraction, "attention_efficiency"}})
    if (!(v > 0 && v <= 1)) throw InputError("invalid efficiency", f, "must be in (0, 1]");
  if (k.tile_m < 1 || k.tile_n < 1)
    throw InputError("invalid GEMM tile", "gemm_tile", "must be at least 1");
  return d;
}

double gemm_shape_efficiency(const DeviceModel& d, double m, double n, double /*k*/, double batch) {
  if (m <= 0 || n <= 0) return 1.0;
  // cuBLAS picks narrower tiles for skinny products: a side shorter than the tile gets the
  // next power of two (at least 16, the tensor-core fragment), as its heuristics do.
  auto tile_for = [](double side, double tile) {
    return std::min(tile, std::max(16.0, std::exp2(std::ceil(std::log2(side)))));
  };
  const double tm = tile_for(m, d.k.tile_m), tn = tile_for(n, d.k.tile_n);
  const double tile = (m * n) / (ceil_to(m, tm) * ceil_to(n, tn));
  double wave       = 1.0;
  if (d.sm_count > 0) {
    const double tiles = std::ceil(m / tm) * std::ceil(n / tn) * std::max(1.0, batch);
    wave               = tiles / ceil_to(tiles, d.sm_count);
  }
  return tile * wave;
}

Seconds gemm_seconds(const DeviceModel& d, double m, double n, double k, double count,
                     double elem_bytes) {
  if (m <= 0 || n <= 0 || k <= 0 || count <= 0) return 0.0;
  const double flops   = 2 * m * n * k;
  const double compute = flops / (d.peak_flops_per_s * d.k.gemm_peak_fraction *
                                  gemm_shape_efficiency(d, m, n, k, count));
  const double bytes   = (m * k + k * n + m * n) * elem_bytes;
  return count * std::max(compute, memory_seconds(d, bytes));
}

Seconds memory_seconds(const DeviceModel& d, double bytes) {
  return bytes <= 0 ? 0.0 : bytes / (d.memory_bandwidth_bytes_per_s * d.k.memory_bw_fraction);
}

Seconds attention_seconds(const DeviceModel& d, double flops) {
  return flops <= 0 ? 0.0 : flops / (d.peak16_flops_per_s * d.k.attention_peak_fraction);
}

GroupPlacement place_group(std::int64_t n, std::int64_t stride, std::int64_t domain_gpus) {
  GroupPlacement g;
  g.n = std::max<std::int64_t>(1, n);
  if (stride < 1) stride = 1;
  // Members are stride apart: a domain of D GPUs holds D / stride of them (at least 1).
  g.local = std::clamp<std::int64_t>(domain_gpus / stride, 1, g.n);
  return g;
}

Seconds collective_seconds(const DeviceModel& d, Collective c, double bytes, GroupPlacement g) {
  if (bytes <= 0) return 0.0;
  const double bi = d.intra_bandwidth_bytes_per_s * d.k.link_fraction;
  const double be = d.inter_bandwidth_bytes_per_s * d.k.link_fraction;
  const double ai = d.intra_latency_seconds, ae = d.inter_latency_seconds;
  const double n = static_cast<double>(g.n), local = static_cast<double>(g.local);
  if (c == Collective::p2p)  // between two ranks: on the network unless the group is local
    return ring_seconds(c, bytes, 2, g.local >= g.n ? bi : be, g.local >= g.n ? ai : ae);
  if (g.local >= g.n) return ring_seconds(c, bytes, n, bi, ai);
  const double nodes = n / local;
  if (c == Collective::all_to_all) {
    // Of each rank's (n-1)/n share, (local-1)/n stays in the domain and (n-local)/n leaves it;
    // the two proceed on different links at the same time.
    const double intra = bytes * (local - 1) / n / bi + (local - 1) * ai;
    const double inter = bytes * (n - local) / n / be + (nodes - 1) * ae;
    return std::max(intra, inter);
  }
  // Hierarchical: reduce-scatter in the domain, the collective across domains on bytes/local
  // per GPU (every GPU uses its own network link), all-gather in the domain.
  const double across = ring_seconds(c, bytes / local, nodes, be, ae);
  switch (c) {
    case Collective::all_reduce:
      return 2 * ring_seconds(Collective::reduce_scatter, bytes, local, bi, ai) + across;
    case Collective::reduce_scatter:
    case Collective::all_gather:
      return ring_seconds(c, bytes, local, bi, ai) + across;
    default:
      return across;
  }
}

}  // namespace sizeup
