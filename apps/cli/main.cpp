// sizeup command line. Each command lives in cmd_<name>.cpp and returns an Output; this
// file parses, dispatches and prints, mapping errors to the contract's format and codes.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "sizeup/error.hpp"

namespace {

int fail(const std::string& message, bool json, int code) {
  std::cerr << "sizeup: error: " << message << "\n";
  if (json) std::cout << nlohmann::json{{"error", message}}.dump() << "\n";
  return code;
}

// One-line form of a CLI11 error: "invalid option (--gpus): ...".
std::string describe(const CLI::Error& e) {
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  return "invalid command line (arguments): " + msg;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sizeup::cli;
  CLI::App app{"sizeup: size up a transformer model before spending GPU time on it"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");
  GlobalOptions g;
  app.add_flag("--json", g.json, "print one JSON object on stdout")->configurable(false);
  app.add_flag("--explain", g.explain, "add the derivation (Markdown)");

  std::vector<std::pair<CLI::App*, Action>> actions;
  const auto commands   = all_commands();
  const std::string cmd = argc > 1 ? argv[1] : "";
  const bool named =
      std::any_of(commands.begin(), commands.end(), [&](const auto& c) { return cmd == c.first; });
  for (const auto& [name, reg] : commands) {
    if (named && cmd != name) continue;
    const std::size_t before = app.get_subcommands({}).size();
    Action a                 = reg(app, g);
    CLI::App* sub            = app.get_subcommands({}).at(before);
    if (sub->get_name() != name)  // commands.hpp lists each command under the name it registers
      return fail(
          fmt::format("internal error (commands.hpp): '{}' registers '{}'", name, sub->get_name()),
          false, 1);
    actions.emplace_back(sub, std::move(a));
  }
  for (auto* sub : app.get_subcommands({})) {
    sub->add_flag("--json", g.json, "print one JSON object on stdout");
    sub->add_flag("--explain", g.explain, "add the derivation (Markdown)");
  }

  bool json_requested = false;
  for (int i = 1; i < argc; ++i) json_requested |= std::string(argv[i]) == "--json";
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(describe(e), json_requested, 2);
  }
  try {
    for (auto& [sub, action] : actions) {
      if (!sub->parsed()) continue;
      Output out = action();
      if (g.json) {
        if (g.explain && !out.explain.empty()) out.json["explain"] = out.explain;
        std::cout << out.json.dump(2) << "\n";
      } else {
        std::cout << out.text;
        if (g.explain && !out.explain.empty()) std::cout << "\n" << out.explain;
      }
    }
  } catch (const sizeup::InputError& e) {
    return fail(e.what(), g.json, 2);
  } catch (const std::exception& e) {
    return fail(std::string("internal error (sizeup): ") + e.what(), g.json, 1);
  }
  return 0;
}
