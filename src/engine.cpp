// The command registry, request validation and the typed readers of request options.
#include "sizeup/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "commands/commands.hpp"
#include "sizeup/error.hpp"
#include "sizeup/quantity.hpp"

namespace sizeup {

const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> all = {
      cmd::models_command(), cmd::params_command(), cmd::gpus_command(), cmd::dtypes_command(),
      cmd::infer_command(),  cmd::train_command(),  cmd::fit_command(),  cmd::plan_command(),
  };
  return all;
}

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

namespace {

void check_option(const CommandSpec& c, const std::string& key, const nlohmann::json& value) {
  const OptionSpec* spec = nullptr;
  std::vector<std::string> names;
  for (const auto& o : c.options) {
    if (o.name == key || (!o.off_name.empty() && o.off_name == key)) spec = &o;
    names.push_back(o.name);
  }
  if (!spec) {
    throw InputError("unknown option", key,
                     fmt::format("sizeup {} does not take it{}", c.name, did_you_mean(key, names)));
  }
  if (value.is_null()) return;
  if (spec->kind == OptionKind::flag || spec->kind == OptionKind::toggle) {
    if (!value.is_boolean()) throw InputError("invalid option", key, "must be true or false");
  } else if (spec->kind == OptionKind::json) {
    return;
  } else if (!value.is_string() && !value.is_number()) {
    throw InputError("invalid option", key, "must be a number or a string");
  }
  if (!spec->choices.empty()) {
    const std::string v = value.is_string() ? value.get<std::string>() : value.dump();
    if (std::find(spec->choices.begin(), spec->choices.end(), v) == spec->choices.end()) {
      std::string list;
      for (const auto& ch : spec->choices) list += (list.empty() ? "" : ", ") + ch;
      throw InputError("invalid choice", key, "'" + v + "' is not one of " + list);
    }
  }
}

// A string, or a JSON number printed back exactly (integers as integers).
std::optional<std::string> raw(const Options& o, const std::string& name) {
  if (!o.is_object()) return std::nullopt;
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  if (it->is_number_float()) {
    const double v = it->get<double>();
    return fmt::format("{}", v);  // shortest form that reads back as the same double
  }
  throw InputError("invalid option", name, "must be a number or a string");
}

}  // namespace

Report run(const Request& request) {
  const CommandSpec* c = find_command(request.command);
  if (!c) {
    std::vector<std::string> names;
    for (const auto& x : commands()) names.push_back(x.name);
    throw InputError(
        "unknown command", "command",
        "'" + request.command + "' is not a command" + did_you_mean(request.command, names));
  }
  if (!request.options.is_object())
    throw InputError("invalid request", "options", "must be a JSON object of options");
  for (const auto& [key, value] : request.options.items()) check_option(*c, key, value);
  Report r  = c->run(request.options);
  r.command = c->name;
  return r;
}

bool has_option(const Options& o, const std::string& name) {
  return o.is_object() && o.contains(name) && !o.at(name).is_null();
}

std::optional<std::string> text_option(const Options& o, const std::string& name) {
  return raw(o, name);
}

std::optional<std::int64_t> count_option(const Options& o, const std::string& name) {
  const auto v = raw(o, name);
  if (!v) return std::nullopt;
  return parse_count(*v, name);
}

std::optional<double> quantity_option(const Options& o, const std::string& name) {
  const auto v = raw(o, name);
  if (!v) return std::nullopt;
  return parse_quantity(*v, name);
}

std::optional<double> number_option(const Options& o, const std::string& name) {
  const auto v = raw(o, name);
  if (!v) return std::nullopt;
  return parse_number(*v, name);
}

std::optional<double> bytes_option(const Options& o, const std::string& name) {
  const auto v = raw(o, name);
  if (!v) return std::nullopt;
  return parse_bytes(*v, name);
}

std::optional<double> rate_option(const Options& o, const std::string& name) {
  auto v = raw(o, name);
  if (!v) return std::nullopt;
  // "3.35TB/s" and "3.35TB" both mean 3.35e12 bytes per second.
  if (v->size() > 2 && v->compare(v->size() - 2, 2, "/s") == 0) v->resize(v->size() - 2);
  const double x = parse_bytes(*v, name);
  // Bounded so that bytes / bandwidth stays finite and meaningful (1 kB/s .. 1 EB/s).
  if (!(x >= 1e3 && x <= 1e18))
    throw InputError("invalid bandwidth", name,
                     fmt::format("must be between 1e3 and 1e18 bytes/s, got {}", *raw(o, name)));
  return x;
}

bool flag_option(const Options& o, const std::string& name) {
  return toggle_option(o, name).value_or(false);
}

std::optional<bool> toggle_option(const Options& o, const std::string& name) {
  if (!has_option(o, name)) return std::nullopt;
  const auto& v = o.at(name);
  if (!v.is_boolean()) throw InputError("invalid option", name, "must be true or false");
  return v.get<bool>();
}

std::vector<OptionSpec> join(std::vector<OptionSpec> a, const std::vector<OptionSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace sizeup
