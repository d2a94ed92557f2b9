// libFuzzer over the checkpoint readers: the input is a whole .safetensors file (8-byte
// length, JSON header, data) or, when it starts with '{', a model.safetensors.index.json.
// Any input must give a header or an InputError: never a crash, hang, sanitizer report,
// uncaught exception or an allocation beyond the input's size.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sizeup/error.hpp"
#include "sizeup/hf_config.hpp"
#include "sizeup/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    if (!bytes.empty() && bytes.front() == '{') {
      (void)sizeup::safetensors_index_shards(bytes, "fuzz.index.json");
      return 0;
    }
    const std::uint64_t n = sizeup::safetensors_header_length(bytes, "fuzz");
    if (n > size - 8) return 0;  // the file readers refuse this before reading the header
    const auto h = sizeup::parse_safetensors_header(bytes.substr(8, n), n, size, "fuzz");
    const auto s = sizeup::summarize_checkpoint({h, h}, "fuzz");  // a duplicate: refused
    (void)s;
  } catch (const sizeup::InputError&) {
  }
  try {
    // Headers that parse are compared with a small config's tensor table.
    const std::uint64_t n = sizeup::safetensors_header_length(bytes, "fuzz");
    if (n > size - 8) return 0;
    const auto h = sizeup::parse_safetensors_header(bytes.substr(8, n), n, 0, "fuzz");
    static const sizeup::ModelSpec spec = sizeup::model_from_config_text(
        R"({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 2,
            "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 16,
            "vocab_size": 32, "max_position_embeddings": 64, "tie_word_embeddings": false})");
    (void)sizeup::compare_checkpoint(sizeup::summarize_checkpoint({h}, "fuzz"), spec);
  } catch (const sizeup::InputError&) {
  }
  return 0;
}
