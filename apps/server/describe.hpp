// Every engine command with its options as JSON: what the web page builds its forms from
// (GET /api/commands) and what the Python module builds its functions from.
#pragma once

#include <nlohmann/json.hpp>

#include "sizeup/engine.hpp"

namespace sizeup::server {

inline const char* kind_name(OptionKind k) {
  switch (k) {
    case OptionKind::text:
      return "text";
    case OptionKind::count:
      return "count";
    case OptionKind::quantity:
      return "quantity";
    case OptionKind::number:
      return "number";
    case OptionKind::bytes:
      return "bytes";
    case OptionKind::rate:
      return "rate";
    case OptionKind::flag:
      return "flag";
    case OptionKind::toggle:
      return "toggle";
    case OptionKind::json:
      return "json";
  }
  return "text";
}

// {"commands": [{"name", "help", "options": [{"name", "kind", "help", "group"?, "choices"?,
// "off_name"?, "positional"?}]}]}
inline nlohmann::json describe_commands() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : commands()) {
    nlohmann::json options = nlohmann::json::array();
    for (const auto& o : c.options) {
      nlohmann::json j = {{"name", o.name}, {"kind", kind_name(o.kind)}, {"help", o.help}};
      if (!o.group.empty()) j["group"] = o.group;
      if (!o.choices.empty()) j["choices"] = o.choices;
      if (!o.off_name.empty()) j["off_name"] = o.off_name;
      if (o.positional) j["positional"] = true;
      options.push_back(std::move(j));
    }
    list.push_back({{"name", c.name}, {"help", c.help}, {"options", std::move(options)}});
  }
  return {{"commands", list}};
}

}  // namespace sizeup::server
