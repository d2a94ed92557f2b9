// The HTTP API over the engine: bodies become Requests, Reports become the JSON of
// `sizeup <command> --json`, and InputErrors become 400 answers naming the field.
#include "api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "describe.hpp"
#include "sizeup/catalog.hpp"
#include "sizeup/engine.hpp"
#include "sizeup/error.hpp"
#include "sizeup/hub.hpp"
#include "web_assets.hpp"

namespace sizeup::server {
namespace {

// Pretty JSON as the CLI prints it; bytes that are not UTF-8 (echoed from a request) become
// U+FFFD instead of failing.
std::string dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The deepest nesting of arrays and objects in `text`, scanning at most to `limit` + 1 so
// that a body of a million '[' is refused before the parser (and the recursive dump()
// of a config) sees it.
int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) break;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// The report's rows as the text form shows them (label, display value, unit) with their JSON
// key and derivation: the page's results table and its "derivation on click".
nlohmann::json report_rows(const Report& r) {
  nlohmann::json sections = nlohmann::json::array();
  for (const auto& s : r.sections) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : s.rows) {
      if (!row.in_text && row.key.empty()) continue;
      rows.push_back({{"key", row.key},
                      {"label", row.label},
                      {"value", row.value},
                      {"display", display_value(row)},
                      {"unit", unit_name(row.unit)},
                      {"cells", row.cells},
                      {"formula", row.derivation.formula},
                      {"substituted", row.derivation.substituted},
                      {"source", row.derivation.source}});
    }
    sections.push_back({{"title", s.title},
                        {"columns", s.columns},
                        {"rows", std::move(rows)},
                        {"notes", s.notes}});
  }
  return {{"title", r.title}, {"sections", std::move(sections)}, {"notes", r.notes}};
}

Response compute(const std::string& command, const Options& options, Detail detail) {
  try {
    const Report r   = run(Request{command, options});
    nlohmann::json j = to_json(r, detail.explain);
    if (detail.rows) j["report"] = report_rows(r);
    return {200, "application/json", dump(j)};
  } catch (const InputError& e) {
    return error_response(400, e.field(), e.what());
  } catch (const std::exception& e) {
    return error_response(500, "command", std::string("internal error: ") + e.what());
  }
}

}  // namespace

Response error_response(int status, const std::string& field, const std::string& message) {
  const nlohmann::json j = {{"error", {{"field", field}, {"message", message}}}};
  return {status, "application/json", dump(j)};
}

namespace {
std::atomic<int> g_running{0};  // computations under way, including abandoned ones
}

Response run_bounded(std::function<Response()> compute, const Limits& limits) {
  if (g_running.fetch_add(1) >= limits.max_running) {
    g_running.fetch_sub(1);
    return error_response(503, "command",
                          "server busy (command): " + std::to_string(limits.max_running) +
                              " computations are running; retry later");
  }
  auto done   = std::make_shared<std::promise<Response>>();
  auto answer = done->get_future();
  std::thread([done, compute = std::move(compute)] {
    Response r;
    try {
      r = compute();
    } catch (const std::exception& e) {
      r = error_response(500, "command", std::string("internal error: ") + e.what());
    }
    done->set_value(std::move(r));
    g_running.fetch_sub(1);
  }).detach();
  if (answer.wait_for(limits.request_time) == std::future_status::timeout)
    return error_response(
        503, "command",
        fmt::format("took too long (command): more than {:g} s (the server's request time limit); "
                    "narrow the request",
                    static_cast<double>(limits.request_time.count()) / 1000));
  return answer.get();
}

Response commands_response() { return {200, "application/json", dump(describe_commands())}; }

Response run_command(const std::string& command, std::string_view body, Detail detail,
                     const Limits& limits) {
  if (!find_command(command))  // the route does not exist (sizeup run() would say 400)
    return error_response(404, "command", "no API route /api/" + command);
  if (body.size() > limits.max_body_bytes)
    return error_response(
        413, "body",
        "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes (the limit)");
  Options options  = Options::object();
  const bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (!blank) {
    if (json_depth(body, limits.max_json_depth) > limits.max_json_depth)
      return error_response(400, "body",
                            "invalid JSON (body): nested deeper than " +
                                std::to_string(limits.max_json_depth) + " levels");
    try {
      options = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {
      return error_response(400, "body", std::string("invalid JSON (body): ") + e.what());
    }
    if (!options.is_object())
      return error_response(400, "body",
                            "invalid request (body): must be a JSON object of options");
  }
  // The server reads no files of the machine it runs on: MODEL is a catalog name or a Hub id
  // (org/name[@revision], read from the Hugging Face cache or downloaded, as the CLI does,
  // unless a path of that name exists here), and any other model comes as its config.json
  // object in `config`. (A number is read as a name too, so it is checked the same way.)
  if (auto it = options.find("model"); it != options.end() && !it->is_null()) {
    const std::string name = it->is_string() ? it->get<std::string>() : it->dump();
    std::error_code ec;
    const bool hub_id = it->is_string() && hub::parse_repo_id(name).has_value() &&
                        !std::filesystem::exists(name, ec);
    if ((it->is_string() || it->is_number()) && !find_model(name) && !hub_id)
      return error_response(400, "model",
                            "model not found (model): '" + name +
                                "' is neither in the catalog (GET /api/models) nor a Hub id "
                                "(org/name); send a model's config.json object as `config` "
                                "instead");
  }
  return run_bounded(
      [command, options = std::move(options), detail] { return compute(command, options, detail); },
      limits);
}

Response static_file(const std::string& path) {
  const std::string want = path == "/" ? "/index.html" : path;
  for (const auto& a : web_assets())
    if (a.path == want) return {200, std::string(a.content_type), std::string(a.data)};
  return error_response(404, "path", "not found: " + path);
}

}  // namespace sizeup::server
