// Allocated, reserved and device memory of a training process (allocator.hpp).
#include "sizeup/allocator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sizeup/checked.hpp"
#include "sizeup/error.hpp"

namespace sizeup {
namespace {

constexpr ByteCount kMiB = 1048576;

// Measured contexts (bytes that nvidia-smi shows for a process holding one tiny tensor).
// eager: 1343 MiB, Hugging Face Transformers docs, "Model training anatomy"
//        (torch.ones((1, 1)).to("cuda") on a V100-SXM2 16GB, CUDA 11.2, driver 460).
// lazy:  ~300-430 MiB: 287,047,680 B with CUDA_MODULE_LOADING=LAZY against 666,632,192 B eager
//        (pytorch/pytorch#86509, PyTorch 1.13); 426 MiB for the bare context on an RTX 6000 Ada
//        with PyTorch 2.10 / CUDA 13 (unslothai/unsloth-zoo#1053). A training step then loads
//        the kernels it uses (GEMM, attention, optimizer, NCCL when distributed); sizeup takes
//        512 MiB, an assumption that rounds the 426 MiB measurement up by those kernels.
constexpr ByteCount kEagerContextBytes = 1343 * kMiB;
constexpr ByteCount kLazyContextBytes  = 512 * kMiB;

ByteCount round_up(ByteCount v, ByteCount to) { return v % to == 0 ? v : v + (to - v % to); }

}  // namespace

ContextLoading parse_context_loading(const std::string& s, const std::string& field) {
  if (s == "lazy") return ContextLoading::lazy;
  if (s == "eager") return ContextLoading::eager;
  throw InputError("invalid choice", field, "'" + s + "' is not one of lazy, eager");
}

const char* to_string(ContextLoading c) { return c == ContextLoading::lazy ? "lazy" : "eager"; }

CudaContext cuda_context(ContextLoading loading) {
  if (loading == ContextLoading::eager)
    return {kEagerContextBytes,
            {"C = 1343 MiB (measured CUDA context, eager module loading, CUDA < 11.7)",
             std::to_string(kEagerContextBytes),
             "Hugging Face Transformers docs, Model training anatomy (V100, CUDA 11.2)"}};
  return {kLazyContextBytes,
          {"C = 512 MiB (426 MiB measured with lazy loading, rounded up for the kernels a "
           "training step loads)",
           std::to_string(kLazyContextBytes),
           "pytorch/pytorch#86509 (287 MB lazy vs 667 MB eager); unslothai/unsloth-zoo#1053 "
           "(426 MiB, RTX 6000 Ada, CUDA 13); CUDA Programming Guide, Lazy Loading"}};
}

// Fragmentation model: the persistent tensors are allocated once, in the same order every step,
// and their blocks are never freed: no fragmentation (their rounding to 512 B is below 0.01%).
// The transient tensors are freed and requested again in a different order and with different
// sizes in backward; the allocator serves each request from a cached block at least as large,
// split, and a remainder too small for later requests stays reserved. sizeup takes the
// reserved space beyond the allocated peak as a fraction phi of the transient bytes, at least
// the largest transient tensor rounded up to 2 MiB (kRoundLarge; that request finds no cached
// block and gets a segment of its own). phi = 0.25 is fitted: the nvidia-smi readings of the
// three fp32 BERT-large runs without recomputation in the Hugging Face docs (perf_train_gpu_one,
// V100) exceed their allocated peak plus context by 0.23-0.28 of their transient bytes; the
// other published runs of docs/validation.md check it.
ByteCount fragmentation_bytes(ByteCount transient_bytes, ByteCount largest_transient_bytes) {
  const ByteCount block =
      transient_bytes == 0 ? 0 : round_up(largest_transient_bytes, kAllocatorRoundLarge);
  const ByteCount share =
      static_cast<ByteCount>(std::ceil(kFragmentationShare * static_cast<double>(transient_bytes)));
  return std::max(block, share);
}

DeviceMemoryReport device_memory(const DeviceMemoryInput& in) {
  DeviceMemoryReport r;
  const char* f        = "reserved";
  r.allocated_bytes    = checked_add(in.persistent_bytes, in.transient_bytes, f);
  const ByteCount frag = fragmentation_bytes(in.transient_bytes, in.largest_transient_bytes);
  r.reserved_bytes     = checked_add(r.allocated_bytes, frag, f);
  r.device_bytes       = checked_add(r.reserved_bytes, in.context_bytes, f);
  r.fragmentation      = {"allocator_bytes",
                          "caching allocator: reserved beyond allocated",
                          frag,
                          {"max(round_up(largest transient tensor, 2 MiB), phi · transient bytes)",
                           fmt::format("max(round_up({}, {}), {} · {})", in.largest_transient_bytes,
                                       kAllocatorRoundLarge, kFragmentationShare, in.transient_bytes),
                           "PyTorch CUDACachingAllocator (kRoundLarge = 2 MiB); fragmentation model "
                                "stated in allocator.cpp"}};
  r.context            = {"cuda_context_bytes",
                          "CUDA context (driver, loaded kernels, workspaces)",
                          in.context_bytes,
                          {"C", std::to_string(in.context_bytes), in.context_source}};
  return r;
}

}  // namespace sizeup
