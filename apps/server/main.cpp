// sizeup-server: the HTTP API and the web page (`sizeup serve` starts it). Sockets, threads,
// timeouts and logging are here; what a request means is in api.cpp.
#include <httplib.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "api.hpp"

namespace {

void send(httplib::Response& res, const sizeup::server::Response& r) {
  res.status = r.status;
  res.set_content(r.body, r.content_type.c_str());
}

bool query_flag(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  return v.empty() || v == "1" || v == "true" || v == "yes";
}

sizeup::server::Detail detail(const httplib::Request& req) {
  return {query_flag(req, "explain"), query_flag(req, "rows")};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sizeup serve: the HTTP API and web page of sizeup"};
  std::string host      = "127.0.0.1";
  int port              = 8080;
  int threads           = 8;
  double read_timeout_s = 5, request_time_s = 10;
  sizeup::server::Limits limits;
  app.add_option("--host", host, "address to listen on (loopback by default)");
  app.add_option("--port", port, "port (0: any free port, printed on stderr)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--threads", threads, "connections served at once")->check(CLI::Range(1, 256));
  app.add_option("--max-body-bytes", limits.max_body_bytes, "larger request bodies get 413")
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 30));
  app.add_option("--read-timeout", read_timeout_s,
                 "seconds a client may stay silent while sending a request")
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--request-timeout", request_time_s,
                 "seconds one computation may take before the answer is 503")
      ->check(CLI::Range(0.01, 3600.0));
  CLI11_PARSE(app, argc, argv);
  limits.request_time = std::chrono::milliseconds(static_cast<long>(request_time_s * 1000));
  limits.max_running  = 4 * threads;

  httplib::Server svr;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  const auto read_us = static_cast<long>(read_timeout_s * 1e6);
  svr.set_read_timeout(read_us / 1000000, read_us % 1000000);
  svr.set_write_timeout(read_us / 1000000, read_us % 1000000);
  svr.set_keep_alive_timeout(static_cast<time_t>(read_timeout_s) + 1);
  svr.set_payload_max_length(limits.max_body_bytes);

  svr.Get("/api/commands", [](const httplib::Request&, httplib::Response& res) {
    send(res, sizeup::server::commands_response());
  });
  svr.Get(R"(/api/([A-Za-z0-9_-]+))", [&](const httplib::Request& req, httplib::Response& res) {
    send(res, sizeup::server::run_command(req.matches[1], "", detail(req), limits));
  });
  svr.Post(R"(/api/([A-Za-z0-9_-]+))", [&](const httplib::Request& req, httplib::Response& res) {
    send(res, sizeup::server::run_command(req.matches[1], req.body, detail(req), limits));
  });
  svr.Get(R"(/[A-Za-z0-9_.-]*)", [](const httplib::Request& req, httplib::Response& res) {
    send(res, sizeup::server::static_file(req.path));
    res.set_header("Cache-Control", "no-cache");
  });
  // Other methods: 405 (httplib would answer 400 to a method without a handler).
  const auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    send(res, sizeup::server::error_response(405, "method",
                                             "method not allowed (method): " + req.method + " " +
                                                 req.path + "; the API takes GET and POST"));
  };
  svr.Put(".*", not_allowed);
  svr.Patch(".*", not_allowed);
  svr.Delete(".*", not_allowed);
  // Answers httplib makes itself (no route: 404, body too large: 413, unreadable: 400) in the
  // API's error form; a handler's own answers already have a body.
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [&](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string field = "path", message = "no route " + req.method + " " + req.path;
        if (res.status == 413)
          field = "body", message = "request body larger than " +
                                    std::to_string(limits.max_body_bytes) + " bytes (the limit)";
        else if (res.status != 404)
          field = "request", message = "unreadable HTTP request";
        send(res, sizeup::server::error_response(res.status, field, message));
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "%s %s %s %d %zu\n", req.remote_addr.c_str(), req.method.c_str(),
                 req.path.c_str(), res.status, res.body.size());
  });

  // cpp-httplib 0.11 listens with a backlog of 5 connections: a burst of clients arriving
  // while the accept loop waits for a core overflows it and connections are reset. The
  // socket is remembered as it is created and listen() is called again with the system's
  // maximum, which Linux applies to a listening socket.
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    if (listen_fd < 0) listen_fd = sock;
  });
  const int bound =
      port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr,
                 "sizeup: error: cannot listen (--port): %s:%d is in use or not an address\n",
                 host.c_str(), port);
    return 2;
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  std::fprintf(stderr, "sizeup serve: listening on http://%s:%d/\n", host.c_str(), bound);
  std::fflush(stderr);
  return svr.listen_after_bind() ? 0 : 1;
}
