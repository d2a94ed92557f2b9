// Command-line spellings of engine commands: each OptionSpec becomes a CLI11 option
// (`micro_batch` is --micro-batch, a positional `model` is MODEL), and what was typed becomes
// the request's options, as strings the library parses and validates.
#include <fmt/format.h>

#include <map>
#include <memory>

#include "common.hpp"

namespace sizeup::cli {
namespace {

std::string dashed(std::string name) {
  for (auto& c : name)
    if (c == '_') c = '-';
  return "--" + name;
}

std::string upper(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

bool takes_suffixes(OptionKind k) { return k == OptionKind::count || k == OptionKind::quantity; }

struct Typed {
  std::map<std::string, std::optional<std::string>> values;
  std::map<std::string, std::optional<bool>> flags;
};

}  // namespace

std::string option_spelling(const OptionSpec& o) {
  return o.positional ? upper(o.name) : dashed(o.name);
}

std::string cli_field(const std::vector<OptionSpec>& options, const std::string& field) {
  // On the command line a config is always a file: its keys are named as in the file.
  if (field == "config") return "config.json";
  if (field.rfind("config.", 0) == 0) return field.substr(7);
  for (const auto& o : options) {
    if (o.name == field) return option_spelling(o);
    if (!o.off_name.empty() && o.off_name == field) return dashed(o.off_name);
  }
  // An option of another command that this one computes (e.g. `micro_batch` blamed inside
  // fit's search): spelled as an option. Anything else (`checkpoint`, a key) as it is.
  for (const auto& c : commands())
    for (const auto& o : c.options)
      if (o.name == field && !o.positional) return dashed(field);
  return field;
}

Action register_engine_command(CLI::App& root, const CommandSpec& spec) {
  auto* app  = root.add_subcommand(spec.name, spec.help);
  auto typed = std::make_shared<Typed>();
  for (const auto& o : spec.options) {
    CLI::Option* added = nullptr;
    switch (o.kind) {
      case OptionKind::json:
        continue;  // API only
      case OptionKind::flag:
        added = app->add_flag_callback(
            dashed(o.name), [typed, name = o.name] { typed->flags[name] = true; }, o.help);
        break;
      case OptionKind::toggle: {
        added = app->add_flag_callback(
            dashed(o.name), [typed, name = o.name] { typed->flags[name] = true; },
            o.help + " (default)");
        auto* off = app->add_flag_callback(
            dashed(o.off_name), [typed, name = o.name] { typed->flags[name] = false; },
            "no " + o.help);
        off->excludes(added);
        if (!o.group.empty()) off->group(o.group);
        break;
      }
      default: {
        auto& into = typed->values[o.name];
        const std::string help =
            o.help + (takes_suffixes(o.kind) ? " (accepts 70e9, 70B, 15T, 1.5k)" : "");
        added = app->add_option(option_spelling(o), into, help);
        break;
      }
    }
    if (!o.group.empty() && added) added->group(o.group);
  }
  return [typed, name = spec.name] {
    Request req{name, Options::object()};
    for (const auto& [key, value] : typed->values)
      if (value) req.options[key] = *value;
    for (const auto& [key, value] : typed->flags)
      if (value) req.options[key] = *value;
    const Report r = run(req);
    return Output{r};
  };
}

}  // namespace sizeup::cli
