// The HTTP API of `sizeup serve` without the sockets: a request (method, path, query flags,
// body) in, a response (status, content type, body) out. It turns a body into an engine
// Request and a Report into the JSON `sizeup <command> --json` prints; it computes nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sizeup::server {

struct Limits {
  std::size_t max_body_bytes = 1 << 20;           // a config.json is a few KB; 1 MiB bounds a body
  int max_json_depth         = 64;                // nesting of a body (HF configs nest 3-4 levels)
  std::chrono::milliseconds request_time{10000};  // wall time of one computation
  int max_running = 32;  // computations at once, counting ones abandoned after request_time
};

struct Response {
  int status               = 200;
  std::string content_type = "application/json";
  std::string body;
};

// {"error": {"field": field, "message": message}}
Response error_response(int status, const std::string& field, const std::string& message);

// GET /api/commands: every engine command with its options (name, kind, help, group,
// choices, off_name, positional), for generated forms.
Response commands_response();

// What is added to the object `sizeup <command> --json` prints.
struct Detail {
  bool explain = false;  // ?explain=1: "explain", the Markdown derivations (--json --explain)
  bool rows    = false;  // ?rows=1: "report", the rows as the text form shows them, each with
                         // its key, label, display value, unit and derivation (for the page)
};

// POST /api/<command> (GET runs it with no options). `body` is a JSON object of options.
Response run_command(const std::string& command, std::string_view body, Detail detail,
                     const Limits& limits);

// Runs `compute` on a thread of its own and waits at most limits.request_time for it; a
// computation that takes longer is abandoned (its answer is dropped when it ends) and the
// answer is 503. At most limits.max_running computations run at once (503 beyond).
Response run_bounded(std::function<Response()> compute, const Limits& limits);

// The embedded page and its assets ("/" is /index.html); status 404 when there is none.
Response static_file(const std::string& path);

}  // namespace sizeup::server
