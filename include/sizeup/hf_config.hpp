// Reading a HuggingFace config.json, as published, into a ModelSpec. A registry maps
// model_type (or, failing that, the architectures class name) to a family reader.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sizeup/model.hpp"

namespace sizeup {

// Parses config.json text. Throws InputError for malformed JSON, missing or contradictory
// fields, and unknown families (the message lists the supported ones).
ModelSpec model_from_config_text(std::string_view json_text, const std::string& name = "custom");

std::vector<std::string> supported_families();

// The transformers version and class a family's defaults come from ("" if unknown), e.g.
// "transformers 4.50 Gemma3TextConfig (...)" for "gemma3_text".
std::string family_defaults_source(const std::string& model_type);

}  // namespace sizeup
