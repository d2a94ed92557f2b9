// What a training process occupies on the device beyond its tensors: the PyTorch CUDA caching
// allocator's segments (`reserved`) and the CUDA context (`device`, what nvidia-smi shows).
//
// Legend: A allocated bytes at the peak (the tensors), P persistent bytes (weights, gradients,
// master copy, optimizer states), T transient bytes at the peak (activations, loss buffers,
// communication buffers), x the largest transient tensor, C the CUDA context.
//
// Sources:
// - PyTorch c10/cuda/CUDACachingAllocator.cpp: every request is rounded up to 512 bytes
//   (kMinBlockSize); requests up to 1 MiB come from 2 MiB segments (kSmallBuffer), larger ones
//   from 20 MiB segments (kLargeBuffer) below 10 MiB (kMinLargeAlloc) and from their own segment
//   rounded up to 2 MiB (kRoundLarge) above. Freed blocks stay cached (reserved) and are split
//   for later requests; a cached block is not merged with a neighbouring segment.
// - CUDA context: NVIDIA, CUDA Programming Guide, "Lazy Loading" (kernels loaded on first use
//   from CUDA 11.7; the default on Linux from 12.2; PyTorch sets CUDA_MODULE_LOADING=LAZY since
//   1.13, pytorch/pytorch#86509). Measured values are listed with cuda_context().
#pragma once

#include <string>

#include "sizeup/breakdown.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

inline constexpr ByteCount kAllocatorRoundLarge = 2 * 1048576;  // kRoundLarge, 2 MiB
// Reserved beyond allocated, as a share of the transient bytes (fitted; allocator.cpp).
inline constexpr double kFragmentationShare = 0.25;

// How CUDA loads kernels into the context.
//  lazy:  CUDA >= 11.7 with CUDA_MODULE_LOADING=LAZY (PyTorch >= 1.13 sets it): kernels are
//         loaded when first used.
//  eager: older CUDA, or CUDA_MODULE_LOADING=EAGER: every kernel of every loaded library.
enum class ContextLoading { lazy, eager };
ContextLoading parse_context_loading(const std::string& s,
                                     const std::string& field = "cuda_loading");
const char* to_string(ContextLoading c);

struct CudaContext {
  ByteCount bytes = 0;
  Derivation derivation;
};
// The context of one training process on one GPU (driver state, loaded kernels, cuBLAS
// workspaces), from published measurements.
CudaContext cuda_context(ContextLoading loading);

struct DeviceMemoryInput {
  ByteCount persistent_bytes        = 0;  // P
  ByteCount transient_bytes         = 0;  // T
  ByteCount largest_transient_bytes = 0;  // x
  ByteCount context_bytes           = 0;  // C
  std::string context_source;             // where C comes from
};

// allocated = P + T; reserved = allocated + max(round_up(x, 2 MiB), phi·T); device = reserved + C.
struct DeviceMemoryReport {
  ByteCount allocated_bytes = 0;
  ByteCount reserved_bytes  = 0;
  ByteCount device_bytes    = 0;
  Row<ByteCount> fragmentation;  // allocator_bytes: reserved - allocated
  Row<ByteCount> context;        // cuda_context_bytes
};

DeviceMemoryReport device_memory(const DeviceMemoryInput& in);

// reserved - allocated: max(round_up(x, 2 MiB), phi·T) (0 without transient bytes); the one
// formula device_memory() and the planner's inner loop use.
ByteCount fragmentation_bytes(ByteCount transient_bytes, ByteCount largest_transient_bytes);

}  // namespace sizeup
