// sizeup command line. Each command lives in cmd_<name>.cpp and returns an Output; this
// file parses, dispatches and prints, mapping errors to the contract's format and codes.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common.hpp"
#include "sizeup/error.hpp"

namespace {

int fail(const std::string& raw_message, bool json, int code) {
  const std::string message = sizeup::printable(raw_message);  // one line, valid UTF-8
  std::cerr << "sizeup: error: " << message << "\n";
  if (json) std::cout << nlohmann::json{{"error", message}}.dump() << "\n";
  return code;
}

// Strings from the user (a model name, a path) may not be UTF-8: never throw on them.
std::string dump_json(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One-line form of a CLI11 error, naming the argument it is about where the message says:
// "unknown argument (--seq): sizeup params does not take --seq; see sizeup params --help".
std::string describe(const CLI::Error& e, const CLI::App& app, const std::string& first_arg) {
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  std::string command = "sizeup";
  for (const auto* sub : app.get_subcommands()) command += " " + sub->get_name();
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::ExtrasError)) {
    // "The following arguments were not expected: 1.5 --seq" (CLI11 lists them last first):
    // name the first option typed if one is listed, else a stray value (e.g. a second MODEL).
    std::vector<std::string> words;
    std::string rest = msg.substr(msg.find(':') == std::string::npos ? 0 : msg.find(':') + 1);
    for (std::size_t i = 0; i < rest.size();) {
      const std::size_t j = rest.find(' ', i);
      if (j != i) words.push_back(rest.substr(i, j == std::string::npos ? j : j - i));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    std::string word = words.empty() ? std::string("arguments") : words.back();
    for (const auto& w : words)
      if (w.rfind("--", 0) == 0) word = w;
    if (word.rfind("--", 0) == 0)
      return fmt::format("unknown option ({}): {} does not take {}; see {} --help", word, command,
                         word, command);
    return fmt::format(
        "unexpected argument ({}): {} takes no further positional argument; see "
        "{} --help",
        word, command, command);
  }
  if (msg == "A subcommand is required") {
    std::string names;
    for (const auto* sub : app.get_subcommands({}))
      if (!sub->get_group().empty())  // hidden commands stay unlisted
        names += (names.empty() ? "" : ", ") + sub->get_name();
    if (first_arg.empty() || first_arg.front() == '-')
      return fmt::format("missing command (COMMAND): give one of {}", names);
    return fmt::format("unknown command ({}): not one of {}", first_arg, names);
  }
  // Messages such as "--hidden: At Most 1 required but received 2" or "--bias excludes --no-bias".
  if (msg.rfind("--", 0) == 0) {
    const std::size_t end = msg.find_first_of(": ");
    const std::string opt = msg.substr(0, end);
    std::string why       = end == std::string::npos ? msg : msg.substr(end);
    while (!why.empty() && (why.front() == ':' || why.front() == ' ')) why.erase(0, 1);
    if (why.rfind("At Most 1 required", 0) == 0) why = "given more than once";
    return fmt::format("invalid command line ({}): {}", opt, why.empty() ? msg : why);
  }
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
    return fail(describe(e, app, argc > 1 ? argv[1] : ""), json_requested, 2);
  }
  try {
    for (auto& [sub, action] : actions) {
      if (!sub->parsed()) continue;
      Output out = action();
      if (g.json) {
        if (g.explain && !out.explain.empty()) out.json["explain"] = out.explain;
        std::cout << dump_json(out.json) << "\n";
      } else {
        std::cout << out.text;
        if (g.explain && !out.explain.empty()) std::cout << "\n" << out.explain;
      }
    }
  } catch (const sizeup::InputError& e) {
    // Engine commands name options by identifier; print the command-line spelling.
    std::string field = e.field();
    for (auto& [sub, action] : actions)
      if (sub->parsed())
        if (const auto* spec = sizeup::find_command(sub->get_name()))
          field = cli_field(spec->options, field);
    return fail(e.subject() + " (" + field + "): " + e.reason(), g.json, 2);
  } catch (const std::exception& e) {
    return fail(std::string("internal error (sizeup): ") + e.what(), g.json, 1);
  }
  // A failed write (a full disk, a closed pipe) is an error, not a silent success.
  if (!std::cout.flush()) {
    std::cerr << "sizeup: error: output not written (stdout): " << std::strerror(errno) << "\n";
    return 1;
  }
  return 0;
}
