// safetensors headers (huggingface/safetensors README, "Format"), parsed from bytes only.
// Checks follow the reference implementation's validation (safetensors/src/tensor.rs,
// Metadata::validate): the tensors, sorted by begin offset, tile [0, data end) with no gap or
// overlap, and each one's byte span equals its element count times its dtype's bits / 8.
#include "sizeup/safetensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "sizeup/checked.hpp"
#include "sizeup/error.hpp"
#include "sizeup/params.hpp"
#include "sizeup/tensors.hpp"

namespace sizeup {
namespace {

// The checkpoint is named by MODEL: its errors blame that input.
constexpr const char* kField = "model";

[[noreturn]] void bad_header(const std::string& source, const std::string& why) {
  throw InputError("bad safetensors header", kField, source + ": " + why);
}

// A JSON value as a non-negative integer that fits in 63 bits (shapes) or 64 bits (offsets).
std::uint64_t as_unsigned(const nlohmann::json& v, const std::string& source,
                          const std::string& what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  bad_header(source, what + " is not a non-negative integer");
}

// "model.layers.3.mlp.experts.7.up_proj.weight" -> "up_proj.weight": the last two name parts
// once the numeric (layer, expert) parts are removed.
std::string leaf_group(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= name.size()) {
    const std::size_t j = std::min(name.find('.', i), name.size());
    std::string part    = name.substr(i, j - i);
    const bool numeric  = !part.empty() && std::all_of(part.begin(), part.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    if (!part.empty() && !numeric && part != "*") parts.push_back(std::move(part));
    i = j + 1;
  }
  if (parts.empty()) return name;
  if (parts.size() == 1) return parts[0];
  return parts[parts.size() - 2] + "." + parts.back();
}

}  // namespace

int safetensors_dtype_bits(std::string_view dtype) {
  // The Dtype enum of safetensors (src/tensor.rs) with its bitsize().
  static const std::pair<const char*, int> kBits[] = {
      {"BOOL", 8}, {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},
      {"I8", 8},   {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"I16", 16},
      {"U16", 16}, {"F16", 16},    {"BF16", 16},   {"I32", 32},    {"U32", 32},
      {"F32", 32}, {"C64", 64},    {"F64", 64},    {"I64", 64},    {"U64", 64}};
  for (const auto& [name, bits] : kBits)
    if (dtype == name) return bits;
  return 0;
}

std::uint64_t safetensors_header_length(std::string_view first_bytes, const std::string& source) {
  if (first_bytes.size() < 8)
    bad_header(source,
               fmt::format("{} bytes, fewer than the 8-byte header length", first_bytes.size()));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(first_bytes[i]);
  if (n == 0) bad_header(source, "header length is 0");
  if (n > kSafetensorsMaxHeaderBytes)
    bad_header(source, fmt::format("header length {} exceeds the {} bytes safetensors allows", n,
                                   kSafetensorsMaxHeaderBytes));
  return n;
}

SafetensorsHeader parse_safetensors_header(std::string_view json, std::uint64_t header_bytes,
                                           std::uint64_t file_bytes, const std::string& source) {
  if (json.size() != header_bytes)
    bad_header(source, fmt::format("header announces {} bytes but {} are present", header_bytes,
                                   json.size()));
  if (json.empty() || json.front() != '{') bad_header(source, "header is not a JSON object");
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad_header(source, "header is not valid JSON");

  SafetensorsHeader h;
  h.header_bytes = header_bytes;
  struct Span {
    std::uint64_t begin, end;
    std::size_t index;
  };
  std::vector<Span> spans;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) bad_header(source, "__metadata__ is not an object");
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      bad_header(source, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    const auto& dt = v["dtype"];
    if (!dt.is_string()) bad_header(source, "tensor '" + name + "': dtype is not a string");
    StoredTensor t;
    t.name         = name;
    t.dtype        = dt.get<std::string>();
    const int bits = safetensors_dtype_bits(t.dtype);
    if (bits == 0) bad_header(source, "tensor '" + name + "': unknown dtype '" + t.dtype + "'");
    const auto& shape = v["shape"];
    if (!shape.is_array() || shape.size() > 64)
      bad_header(source, "tensor '" + name + "': shape is not an array of at most 64 dims");
    t.elements = 1;
    for (const auto& d : shape) {
      const std::uint64_t n = as_unsigned(d, source, "tensor '" + name + "': a dimension");
      if (n > static_cast<std::uint64_t>(INT64_MAX))
        bad_header(source, "tensor '" + name + "': a dimension overflows 63 bits");
      t.shape.push_back(static_cast<std::int64_t>(n));
      t.elements = checked_mul(t.elements, n, kField);
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2)
      bad_header(source, "tensor '" + name + "': data_offsets is not [begin, end]");
    const std::uint64_t begin = as_unsigned(off[0], source, "tensor '" + name + "': begin");
    const std::uint64_t end   = as_unsigned(off[1], source, "tensor '" + name + "': end");
    if (end < begin) bad_header(source, "tensor '" + name + "': data_offsets end before begin");
    // Bytes = elements x bits / 8, whole bytes only (safetensors rejects a partial byte).
    const std::uint64_t total_bits =
        checked_mul(t.elements, static_cast<std::uint64_t>(bits), kField);
    if (total_bits % 8 != 0)
      bad_header(source, "tensor '" + name + "': " + t.dtype + " elements do not fill whole bytes");
    t.bytes = total_bits / 8;
    if (end - begin != t.bytes)
      bad_header(source, fmt::format("tensor '{}': {} x {} needs {} bytes but data_offsets span {}",
                                     name, t.dtype, t.elements, t.bytes, end - begin));
    spans.push_back({begin, end, h.tensors.size()});
    h.tensors.push_back(std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const auto& s : spans) {
    if (s.begin != at)
      bad_header(source, fmt::format("tensor '{}' starts at byte {} where {} was expected "
                                     "(tensors overlap or leave a gap)",
                                     h.tensors[s.index].name, s.begin, at));
    at = s.end;
  }
  h.data_bytes = at;
  if (file_bytes != 0) {
    const std::uint64_t expected = checked_add(checked_add(8, header_bytes, kField), at, kField);
    if (expected != file_bytes)
      bad_header(source,
                 fmt::format("file is {} bytes but its header describes {}", file_bytes, expected));
  }
  return h;
}

std::vector<std::string> safetensors_index_shards(std::string_view json_text,
                                                  const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") ||
      !j["weight_map"].is_object())
    bad_header(source, "not a safetensors index (no \"weight_map\" object)");
  std::vector<std::string> shards;
  std::set<std::string> seen;
  for (const auto& [tensor, file] : j["weight_map"].items()) {
    if (!file.is_string()) bad_header(source, "weight_map['" + tensor + "'] is not a file name");
    const std::string f   = file.get<std::string>();
    const bool plain_name = !f.empty() && f.find('/') == std::string::npos &&
                            f.find('\\') == std::string::npos && f != "." && f != ".." &&
                            f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0;
    if (!plain_name)
      bad_header(source, "weight_map names '" + f + "', not a .safetensors file beside the index");
    if (seen.insert(f).second) shards.push_back(f);
  }
  if (shards.empty()) bad_header(source, "weight_map is empty");
  if (shards.size() > 100000) bad_header(source, "more than 100000 shards");
  return shards;
}

CheckpointSummary summarize_checkpoint(const std::vector<SafetensorsHeader>& shards,
                                       const std::string& source) {
  CheckpointSummary s;
  s.source = source;
  s.shards = shards.size();
  std::set<std::string> names;
  for (const auto& h : shards) {
    s.header_bytes = checked_add(s.header_bytes, checked_add(8, h.header_bytes, kField), kField);
    for (const auto& t : h.tensors) {
      if (!names.insert(t.name).second)
        throw InputError("bad checkpoint", kField,
                         source + ": tensor '" + t.name + "' is stored in two shards");
      DTypeTotals& d = s.by_dtype[t.dtype];
      d.tensors += 1;
      d.elements = checked_add(d.elements, t.elements, kField);
      d.bytes    = checked_add(d.bytes, t.bytes, kField);
      s.tensors += 1;
      s.elements = checked_add(s.elements, t.elements, kField);
      s.bytes    = checked_add(s.bytes, t.bytes, kField);
      s.tensor_list.push_back(t);
    }
  }
  return s;
}

CheckpointComparison compare_checkpoint(const CheckpointSummary& summary, const ModelSpec& spec,
                                        std::size_t max_listed) {
  CheckpointComparison c;
  c.config_params    = count_params(spec).total;
  c.checkpoint_elems = summary.elements;
  c.matches          = c.config_params == c.checkpoint_elems;
  if (c.matches) return c;
  // Group both sides by leaf name; a fused HF module (GPT-2 c_attn) groups q, k and v together.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> groups;  // ckpt, config
  for (const auto& t : summary.tensor_list)
    groups[leaf_group(t.name)].first =
        checked_add(groups[leaf_group(t.name)].first, t.elements, kField);
  for (const auto& t : tensor_table(spec)) {
    if (t.elements() == 0) continue;  // tied: stored once, under the embedding
    std::string key = leaf_group(t.name);
    if (t.hf_module != t.module && t.module != "norm")
      key =
          t.hf_module + key.substr(key.find('.') == std::string::npos ? key.size() : key.find('.'));
    groups[key].second = checked_add(groups[key].second, t.elements(), kField);
  }
  for (const auto& [name, counts] : groups) {
    if (counts.first == counts.second) continue;
    if (c.differences.size() >= max_listed) break;
    c.differences.push_back({name, counts.first, counts.second});
  }
  return c;
}

nlohmann::json to_json(const CheckpointSummary& s) {
  nlohmann::json j = {
      {"source", s.source},   {"shards", s.shards},     {"header_bytes_read", s.header_bytes},
      {"tensors", s.tensors}, {"elements", s.elements}, {"bytes", s.bytes},
      {"gb", to_gb(s.bytes)}, {"gib", to_gib(s.bytes)}};
  j["by_dtype"] = nlohmann::json::array();
  for (const auto& [dtype, d] : s.by_dtype)
    j["by_dtype"].push_back({{"dtype", dtype},
                             {"bits", safetensors_dtype_bits(dtype)},
                             {"tensors", d.tensors},
                             {"elements", d.elements},
                             {"bytes", d.bytes}});
  return j;
}

nlohmann::json to_json(const CheckpointComparison& c) {
  nlohmann::json j = {{"config_params", c.config_params},
                      {"checkpoint_elements", c.checkpoint_elems},
                      {"matches", c.matches}};
  j["differences"] = nlohmann::json::array();
  for (const auto& d : c.differences)
    j["differences"].push_back({{"name", d.name},
                                {"checkpoint_elements", d.checkpoint_elements},
                                {"config_elements", d.config_elements}});
  return j;
}

}  // namespace sizeup
