// sizeup serve: starts sizeup-server (apps/server), the HTTP API and web page, which lives
// in a program of its own so that the other commands do not load cpp-httplib and OpenSSL.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common.hpp"

namespace sizeup::cli {

Action register_serve(CLI::App& root, GlobalOptions&) {
  struct Typed {
    std::optional<std::string> host, port, threads, max_body_bytes, read_timeout, request_timeout;
  };
  auto t    = std::make_shared<Typed>();
  auto* app = root.add_subcommand("serve", "serve the HTTP API and the web page");
  app->add_option("--host", t->host, "address to listen on (default 127.0.0.1, loopback only)");
  app->add_option("--port", t->port, "port (default 8080; 0 picks a free one)");
  app->add_option("--threads", t->threads, "connections served at once (default 8)");
  app->add_option("--max-body-bytes", t->max_body_bytes,
                  "larger request bodies get 413 (default 1048576)");
  app->add_option("--read-timeout", t->read_timeout,
                  "seconds a client may stay silent mid-request (default 5)");
  app->add_option("--request-timeout", t->request_timeout,
                  "seconds one computation may take before 503 (default 10)");
  return [t]() -> Output {
    // sizeup-server sits next to sizeup (build tree and install prefix alike).
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const char* env = std::getenv("SIZEUP_SERVER");
    const std::string server =
        env ? env
            : (ec ? std::string("sizeup-server") : (self.parent_path() / "sizeup-server").string());
    std::vector<std::string> args = {server};
    auto add                      = [&](const char* flag, const std::optional<std::string>& v) {
      if (v) args.insert(args.end(), {flag, *v});
    };
    add("--host", t->host);
    add("--port", t->port);
    add("--threads", t->threads);
    add("--max-body-bytes", t->max_body_bytes);
    add("--read-timeout", t->read_timeout);
    add("--request-timeout", t->request_timeout);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    ::execv(server.c_str(), argv.data());
    throw std::runtime_error("cannot start " + server + ": " + std::strerror(errno));
  };
}

}  // namespace sizeup::cli
