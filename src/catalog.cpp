#include "sizeup/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "sizeup/hf_config.hpp"

namespace sizeup {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

CatalogEntry parse_entry(std::string_view text) {
  const auto j = nlohmann::json::parse(text);  // bundled data: a parse failure is a build bug
  CatalogEntry e;
  e.name          = j.at("name").get<std::string>();
  e.hf_id         = j.at("hf_id").get<std::string>();
  e.params_total  = j.at("params_total").get<ParamCount>();
  e.params_source = j.value("params_source", std::string());
  e.params_status = j.value("params_status", std::string("published"));
  e.config_json   = j.at("config").dump();
  e.family        = j.at("config").value("model_type", std::string());
  return e;
}

}  // namespace

const std::vector<CatalogEntry>& model_catalog() {
  static const std::vector<CatalogEntry> entries = [] {
    std::vector<CatalogEntry> v;
    for (auto text : detail::embedded_model_files()) v.push_back(parse_entry(text));
    return v;
  }();
  return entries;
}

const CatalogEntry* find_model(std::string_view key) {
  for (const auto& e : model_catalog())
    if (iequals(e.name, key) || iequals(e.hf_id, key)) return &e;
  return nullptr;
}

ModelSpec model_from_catalog(const CatalogEntry& e) {
  return model_from_config_text(e.config_json, e.name);
}

}  // namespace sizeup
