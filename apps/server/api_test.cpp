// The HTTP API without sockets: the time bound and concurrency limit of a computation, and
// the error forms of bodies (the e2e test tests/e2e/test_server.py covers the wire).
#include "api.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace sizeup::server {
namespace {

using namespace std::chrono_literals;

nlohmann::json body(const Response& r) { return nlohmann::json::parse(r.body); }

TEST(api_test, slow_computation_answers_503_within_the_bound) {
  Limits limits;
  limits.request_time = 50ms;
  const auto start    = std::chrono::steady_clock::now();
  const Response r    = run_bounded(
      [] {
        std::this_thread::sleep_for(1s);
        return Response{200, "application/json", "{}"};
      },
      limits);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"]["field"], "command");
  EXPECT_LT(waited, 900ms);  // answered at the bound, not when the computation ended
}

TEST(api_test, fast_computation_answers_its_result) {
  Limits limits;
  const Response r = run_bounded(
      [] {
        return Response{200, "application/json", "{\"a\":1}"};
      },
      limits);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["a"], 1);
}

TEST(api_test, computations_beyond_the_limit_are_refused) {
  Limits limits;
  limits.request_time = 20ms;
  limits.max_running  = 2;
  const auto slow     = [] {
    std::this_thread::sleep_for(400ms);
    return Response{};
  };
  EXPECT_EQ(run_bounded(slow, limits).status, 503);  // abandoned, still running
  EXPECT_EQ(run_bounded(slow, limits).status, 503);  // abandoned, still running
  const Response busy = run_bounded(slow, limits);   // a third is refused at once
  EXPECT_EQ(busy.status, 503);
  EXPECT_NE(body(busy)["error"]["message"].get<std::string>().find("busy"), std::string::npos);
  std::this_thread::sleep_for(600ms);  // the abandoned ones end and free their places
  limits.request_time = 2s;
  EXPECT_EQ(run_bounded([] { return Response{200, "text/plain", "ok"}; }, limits).status, 200);
}

TEST(api_test, bodies_and_routes) {
  Limits limits;
  EXPECT_EQ(run_command("params", R"({"model": "llama-3-8b"})", {}, limits).status, 200);
  EXPECT_EQ(run_command("nope", "{}", {}, limits).status, 404);
  EXPECT_EQ(body(run_command("params", "{", {}, limits))["error"]["field"], "body");
  EXPECT_EQ(body(run_command("params", std::string(100, '['), {}, limits))["error"]["field"],
            "body");
  EXPECT_EQ(body(run_command("params", R"({"model": "llama-3-8b", "seq": 1})", {},
                             limits))["error"]["field"],
            "seq");
  limits.max_body_bytes = 10;
  EXPECT_EQ(run_command("params", R"({"model": "llama-3-8b"})", {}, limits).status, 413);
  EXPECT_EQ(static_file("/").status, 200);
  EXPECT_EQ(static_file("/../etc/passwd").status, 404);
}

}  // namespace
}  // namespace sizeup::server
