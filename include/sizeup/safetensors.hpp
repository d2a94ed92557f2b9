// Checkpoint headers: what a .safetensors file stores (tensor names, dtypes, shapes, bytes),
// read from its header alone. Pure functions over bytes; reading files and HTTP ranges is in
// hub.hpp / checkpoint.hpp.
//
// Format (huggingface/safetensors, README "Format"): 8 bytes N (unsigned little-endian),
// then N bytes of UTF-8 JSON {"name": {"dtype": "BF16", "shape": [4096, 4096],
// "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}, then the data;
// offsets are relative to the end of the header and the tensors tile the data exactly.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sizeup/model.hpp"
#include "sizeup/units.hpp"

namespace sizeup {

// The safetensors library refuses headers above 100 MB (MAX_HEADER_SIZE in safetensors'
// lib.rs); a 1000-layer model with 20 tensors per layer needs about 2 MB.
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct StoredTensor {
  std::string name;                 // e.g. "model.layers.0.self_attn.q_proj.weight"
  std::string dtype;                // safetensors spelling, e.g. "BF16", "I32", "F8_E4M3"
  std::vector<std::int64_t> shape;  // e.g. {4096, 4096}
  std::uint64_t elements = 0;       // product of shape (1 for a scalar)
  ByteCount bytes        = 0;       // data_offsets end - begin = elements x bits / 8
};

struct SafetensorsHeader {
  std::uint64_t header_bytes = 0;  // N, the JSON length
  ByteCount data_bytes       = 0;  // bytes after the header (end of the last tensor)
  std::vector<StoredTensor> tensors;
};

// Bits per element of a safetensors dtype (e.g. 16 for "BF16", 4 for "F4"); 0 when unknown.
int safetensors_dtype_bits(std::string_view dtype);

// N from the first 8 bytes of a file. Throws InputError (field `checkpoint`) when fewer than 8
// bytes are given or N is 0 or above kSafetensorsMaxHeaderBytes.
std::uint64_t safetensors_header_length(std::string_view first_bytes, const std::string& source);

// Parses the JSON header (the N bytes after the length). `file_bytes`, when non-zero, is the
// size of the whole file and must equal 8 + N + the end of the last tensor. Throws InputError
// for non-JSON, unknown dtypes, negative or overflowing shapes, and offsets that overlap, leave
// gaps or disagree with dtype x shape. `source` names the file in messages.
SafetensorsHeader parse_safetensors_header(std::string_view json, std::uint64_t header_bytes,
                                           std::uint64_t file_bytes, const std::string& source);

// The shard file names of a model.safetensors.index.json ({"weight_map": {"tensor": "file"}}),
// each once, in order of first appearance. Throws InputError for malformed indexes and names
// that are not plain file names ending in .safetensors (no directories, no "..").
std::vector<std::string> safetensors_index_shards(std::string_view json_text,
                                                  const std::string& source);

// What a checkpoint stores, summed over its shards.
struct DTypeTotals {
  std::uint64_t tensors  = 0;
  std::uint64_t elements = 0;
  ByteCount bytes        = 0;
};
struct CheckpointSummary {
  std::string source;              // file, directory, or Hub id
  std::uint64_t shards       = 0;  // number of .safetensors files
  std::uint64_t header_bytes = 0;  // 8 + N summed over shards: what was read
  std::uint64_t tensors      = 0;  // tensor count
  std::uint64_t elements     = 0;  // stored elements (packed quantized weights count as stored)
  ByteCount bytes            = 0;  // data bytes, the checkpoint's actual weight bytes
  std::map<std::string, DTypeTotals> by_dtype;  // "BF16" -> totals
  std::vector<StoredTensor> tensor_list;        // every tensor, in shard then header order
};

// Sums headers into one summary; a tensor name in two shards is an error.
CheckpointSummary summarize_checkpoint(const std::vector<SafetensorsHeader>& shards,
                                       const std::string& source);

// The checkpoint against the tensor table of a config. Tensors are grouped by their name with
// layer and expert indices removed ("model.layers.3.mlp.experts.7.up_proj.weight" ->
// "up_proj.weight" under the module path), and each group of the table is matched with the
// checkpoint group of the same leaf name; groups whose element counts differ, or that exist on
// one side only, are listed (at most `max_listed`).
struct CheckpointDifference {
  std::string name;                   // leaf group, e.g. "q_proj.weight"
  std::uint64_t checkpoint_elements;  // 0 when absent from the checkpoint
  std::uint64_t config_elements;      // 0 when absent from the tensor table
};
struct CheckpointComparison {
  ParamCount config_params    = 0;  // count_params(spec).total
  ParamCount checkpoint_elems = 0;  // summary.elements
  bool matches                = false;
  std::vector<CheckpointDifference> differences;  // empty when matches
};
CheckpointComparison compare_checkpoint(const CheckpointSummary& summary, const ModelSpec& spec,
                                        std::size_t max_listed = 20);

// JSON views (cli-contract.md, `params --from-checkpoint`): totals, "by_dtype" rows, and the
// comparison with its "differences".
nlohmann::json to_json(const CheckpointSummary& s);
nlohmann::json to_json(const CheckpointComparison& c);

}  // namespace sizeup
