// One tensor-parallel rule for attention heads (layout.hpp).
#include "sizeup/layout.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sizeup/error.hpp"

namespace sizeup {

void check_tensor_parallel(const ModelSpec& m, std::int64_t tp) {
  if (tp < 1) throw InputError("invalid tensor parallelism", "tp", "must be at least 1");
  if (m.n_head % tp != 0)
    throw InputError("indivisible layout", "tp",
                     fmt::format("{} ranks do not divide {} attention heads", tp, m.n_head));
  const std::int64_t K = m.n_head_kv;
  if (m.attention == AttentionKind::standard && K > 0 && (K >= tp ? K % tp != 0 : tp % K != 0))
    throw InputError("indivisible layout", "tp",
                     fmt::format("{} ranks and {} KV heads: one must divide the other (KV heads "
                                 "are split, or replicated when fewer than the ranks)",
                                 tp, K));
}

std::int64_t kv_heads_per_rank(const ModelSpec& m, std::int64_t tp) {
  return m.n_head_kv >= tp ? m.n_head_kv / tp : 1;
}

std::int64_t kv_shards(const ModelSpec& m, std::int64_t tp) {
  return std::max<std::int64_t>(1, std::min(tp, m.n_head_kv));
}

}  // namespace sizeup
