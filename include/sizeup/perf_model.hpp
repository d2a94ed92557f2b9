// Performance model of one accelerator and its links: how long a matrix product, a
// memory-bound kernel, an attention kernel or a collective takes. Shared by the training
// step-time model (step_time.hpp), the planner (plan.hpp) and the serving model.
//
// Legend: m, n, k GEMM dimensions (C[m x n] = A[m x k] · B[k x n]); P dense peak FLOP/s of the
// dtype; W HBM bandwidth (bytes/s); n ranks in a collective, S bytes per rank, B link
// bandwidth per GPU and direction, alpha per-message latency.
//
// Sources:
// - GEMM tile and wave quantization: NVIDIA "Matrix Multiplication Background User's Guide"
//   (Deep Learning Performance docs), sections "Tile quantization" and "Wave quantization";
//   roofline (Williams et al. 2009, CACM 52(4)): time >= max(FLOPs / P, bytes / W).
// - Achievable fraction of the datasheet peak for large GEMMs (kGemmPeakFraction = 0.73):
//   sustained cuBLAS throughput of large fp16/bf16 products in training is 70-80% of the dense
//   peak on A100 and H100 (clocks below boost under sustained load; NVIDIA Deep Learning
//   Performance docs, GEMM figures). Fitted within that range on the development runs of
//   docs/validation.md (Narayanan et al. 2021 Table 1, Korthikanti et al. 2022 Table 5).
// - Achievable fraction of HBM bandwidth for the memory-bound kernels of a training step
//   (kMemoryBwFraction = 0.6): normalization, softmax, dropout and activation kernels with
//   reductions and 2-byte elements reach 55-70% of the datasheet bandwidth, below the 85-90%
//   of a plain copy. Fitted within that range on the same development runs.
// - Ring all-reduce 2(n-1)/n · S / B + 2(n-1)·alpha, reduce-scatter and all-gather half of it;
//   tree 2·log2(n)·alpha: Thakur, Rabenseifner, Gropp 2005 ("Optimization of collective
//   communication operations in MPICH"), Table 1; NCCL's double binary tree (Sanders et al.
//   2009). Hierarchical (intra-domain then inter-domain) decomposition: the same paper, Sec. 4.
// - Achievable link fraction (kLinkFraction): nccl-tests all_reduce bus bandwidth on DGX A100
//   NVLink 3 is about 230-240 GB/s of 300 GB/s per direction (~0.8), and on HDR InfiniBand
//   about 22-23 GB/s of 25 GB/s; one fraction 0.8 for both (assumption, overridable).
// - FlashAttention-2 (Dao 2023, Sec. 4.1): forward + backward reach 50-73% of the A100 peak
//   at head width 128 for sequences 512-16k; kAttentionPeakFraction = 0.6 is the middle.
#pragma once

#include <cstdint>
#include <string>

#include "sizeup/hardware.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// Constants of the efficiency model; every one documented above, every one overridable.
inline constexpr double kGemmPeakFraction      = 0.73;  // large GEMM / datasheet dense peak
inline constexpr double kMemoryBwFraction      = 0.60;  // memory-bound kernels / datasheet HBM
inline constexpr double kLinkFraction          = 0.80;  // NCCL bus bandwidth / link rate
inline constexpr double kAttentionPeakFraction = 0.60;  // FlashAttention-2 fwd+bwd / peak
inline constexpr int kGemmTileM                = 128;   // cuBLAS CTA tile rows (guide, Fig. 3)
inline constexpr int kGemmTileN                = 128;   // CTA tile columns

struct PerfConstants {
  double gemm_peak_fraction      = kGemmPeakFraction;
  double memory_bw_fraction      = kMemoryBwFraction;
  double link_fraction           = kLinkFraction;
  double attention_peak_fraction = kAttentionPeakFraction;
  int tile_m                     = kGemmTileM;
  int tile_n                     = kGemmTileN;
};

// One accelerator and its interconnect, resolved for one compute dtype.
struct DeviceModel {
  FlopRate peak_flops_per_s           = 0;  // dense peak of the compute dtype, e.g. 312e12
  FlopRate peak16_flops_per_s         = 0;  // dense bf16/fp16 peak (attention, fp8 recipes)
  double memory_bandwidth_bytes_per_s = 0;  // HBM, e.g. 2.039e12
  int sm_count                        = 0;  // streaming multiprocessors (0: no wave model)
  double intra_bandwidth_bytes_per_s  = 0;  // per GPU, one direction, e.g. 300e9 (NVLink 3)
  double inter_bandwidth_bytes_per_s  = 0;  // per GPU, one direction, e.g. 25e9 (HDR IB)
  double pcie_bandwidth_bytes_per_s   = 0;  // host link, one direction, e.g. 32e9 (Gen4 x16)
  double intra_latency_seconds        = 0;  // per message on the NVLink domain, e.g. 2e-6
  double inter_latency_seconds        = 0;  // per message across domains, e.g. 5e-6
  std::int64_t domain_gpus            = 8;  // GPUs sharing the intra link (8; 72 for NVL72)
  PerfConstants k;
};

// The device model of a catalog GPU for a compute dtype ("bf16", "fp16", "fp8", ...).
DeviceModel device_model(const GpuSpec& g, const std::string& dtype, const PerfConstants& k = {});

// Fraction of kGemmPeakFraction·P reached by one m x n x k product: tile quantization
// (m n / (ceil(m/tm) tm · ceil(n/tn) tn), a side shorter than its tile using the next power of
// two, at least 16) times wave quantization (tiles / (ceil(tiles/SMs) SMs)).
// `batch` products of one shape launched together (batched or grouped GEMM) share the waves.
double gemm_shape_efficiency(const DeviceModel& d, double m, double n, double k, double batch = 1);
// Seconds of `count` m x n x k products launched as one batched GEMM: max(2mnk / (f·P·e_shape),
// bytes / (f_mem·W)) with bytes = (mk + kn + mn) · elem_bytes (roofline).
Seconds gemm_seconds(const DeviceModel& d, double m, double n, double k, double count = 1,
                     double elem_bytes = 2);
// Seconds to stream `bytes` through HBM at f_mem·W.
Seconds memory_seconds(const DeviceModel& d, double bytes);
// FlashAttention-style fused kernel: `flops` at the 16-bit peak times the attention fraction.
Seconds attention_seconds(const DeviceModel& d, double flops);

enum class Collective { all_reduce, reduce_scatter, all_gather, all_to_all, p2p };
const char* to_string(Collective c);

// Where a group of n ranks sits: `local` of them share one NVLink domain (1 when every rank
// is in its own domain, n when the whole group is inside one).
struct GroupPlacement {
  std::int64_t n     = 1;
  std::int64_t local = 1;
};
// Ranks of a group whose members are `stride` ranks apart (Megatron rank order: tp fastest,
// then cp, dp, pp), given the domain size.
GroupPlacement place_group(std::int64_t n, std::int64_t stride, std::int64_t domain_gpus);

// Seconds of one collective on `bytes` (the full buffer per rank: all-reduce input,
// reduce-scatter input, all-gather output, all-to-all send buffer, p2p message).
// Inside one domain: the ring on the intra link (tree latency when cheaper). Across domains,
// hierarchical: within the domain on the intra link for `local` ranks, then across the n/local
// domains on each GPU's own network link with bytes/local each (Thakur et al. 2005, Sec. 4).
Seconds collective_seconds(const DeviceModel& d, Collective c, double bytes, GroupPlacement g);

}  // namespace sizeup
