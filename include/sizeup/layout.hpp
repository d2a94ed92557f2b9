// The tensor-parallel layout of attention heads, one rule for train, infer and activations.
//
// Policy: tp ranks split the query heads evenly (Megatron-LM, Shoeybi et al. 2019, Sec. 3), so
// tp must divide the attention heads. Key/value heads are split the same way when tp divides
// them; when tp exceeds the KV heads (GQA/MQA), each KV head is replicated on tp / n_kv ranks,
// as vLLM's QKVParallelLinear and Megatron-LM (num_query_groups < tp) do, so then the KV heads
// must divide tp. Every rank then holds max(n_kv / tp, 1) KV heads, and the key and value
// projections are split min(tp, n_kv) ways. MLA (DeepSeek) caches a latent shared by all heads:
// only the query-head rule applies.
#pragma once

#include <cstdint>

#include "sizeup/model.hpp"

namespace sizeup {

// Throws InputError (field `tp`) when the layout has no whole-head split.
void check_tensor_parallel(const ModelSpec& m, std::int64_t tp);

// KV heads held by one rank: n_kv / tp, or 1 (a replicated head) when tp > n_kv.
std::int64_t kv_heads_per_rank(const ModelSpec& m, std::int64_t tp);

// Ways the key and value projections are split: min(tp, n_kv).
std::int64_t kv_shards(const ModelSpec& m, std::int64_t tp);

}  // namespace sizeup
