// The default Fetcher: libcurl (Debian libcurl4), opened with dlopen on the first download so
// that the loader maps libcurl, OpenSSL and their dependencies only for commands that need
// the network (the CLI's start-up time is measured in docs/performance.md). Only the header
// <curl/curl.h> is needed at build time.
#include <curl/curl.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "sizeup/error.hpp"
#include "sizeup/hub.hpp"

namespace sizeup::hub {
namespace {

struct CurlApi {
  CURLcode (*global_init)(long)                         = nullptr;
  CURL* (*easy_init)()                                  = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...)       = nullptr;
  CURLcode (*easy_perform)(CURL*)                       = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...)        = nullptr;
  void (*easy_cleanup)(CURL*)                           = nullptr;
  const char* (*easy_strerror)(CURLcode)                = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*)                   = nullptr;
  std::string error;  // why loading failed
};

template <class F>
void bind(void* lib, const char* name, F& into, std::string& error) {
  into = reinterpret_cast<F>(dlsym(lib, name));
  if (!into && error.empty()) error = std::string("libcurl lacks ") + name;
}

const CurlApi& curl_api() {
  static CurlApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      api.error = "cannot load libcurl.so.4 (install Debian's libcurl4)";
      return;
    }
    bind(lib, "curl_global_init", api.global_init, api.error);
    bind(lib, "curl_easy_init", api.easy_init, api.error);
    bind(lib, "curl_easy_setopt", api.easy_setopt, api.error);
    bind(lib, "curl_easy_perform", api.easy_perform, api.error);
    bind(lib, "curl_easy_getinfo", api.easy_getinfo, api.error);
    bind(lib, "curl_easy_cleanup", api.easy_cleanup, api.error);
    bind(lib, "curl_easy_strerror", api.easy_strerror, api.error);
    bind(lib, "curl_slist_append", api.slist_append, api.error);
    bind(lib, "curl_slist_free_all", api.slist_free_all, api.error);
    if (api.error.empty() && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      api.error = "curl_global_init failed";
  });
  return api;
}

struct Transfer {
  HttpResponse response;
  std::size_t max_body = 0;
  std::map<std::string, std::string> hop;  // headers of the response being received
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t               = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  const std::size_t room =
      t->max_body > t->response.body.size() ? t->max_body - t->response.body.size() : 0;
  t->response.body.append(data, std::min(len, room));
  if (len > room) {
    t->response.body_truncated = true;
    return 0;  // stops the transfer (CURLE_WRITE_ERROR)
  }
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t               = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  std::string line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): earlier hops
    for (auto& [k, v] : t->hop) t->response.headers[k] = v;  // kept, later ones win
    t->hop.clear();
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos || line.size() > 8192) return len;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  t->hop[name] = value;
  return len;
}

HttpResponse curl_get(const HttpRequest& req) {
  const CurlApi& api = curl_api();
  if (!api.error.empty()) throw InputError("network failure", kModelField, api.error);
  CURL* h = api.easy_init();
  if (!h) throw InputError("network failure", kModelField, "curl_easy_init failed");
  Transfer t;
  t.max_body         = req.max_body_bytes;
  curl_slist* header = nullptr;
  for (const auto& line : req.headers) header = api.slist_append(header, line.c_str());
  const std::string range =
      req.range_length == 0
          ? ""
          : fmt::format("{}-{}", req.range_begin, req.range_begin + req.range_length - 1);
  char error[CURL_ERROR_SIZE] = {};
  api.easy_setopt(h, CURLOPT_URL, req.url.c_str());
  api.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  api.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  api.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  // Connect timeout, and a stall timeout: less than 1 byte/s for timeout_seconds aborts; the
  // whole transfer is capped at 30 x the timeout (a 100 MB header at a slow trickle).
  api.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req.timeout_seconds);
  api.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  api.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req.timeout_seconds);
  api.easy_setopt(h, CURLOPT_TIMEOUT, 30 * req.timeout_seconds);
  api.easy_setopt(h, CURLOPT_HTTPHEADER, header);
  if (!range.empty()) api.easy_setopt(h, CURLOPT_RANGE, range.c_str());
  api.easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  api.easy_setopt(h, CURLOPT_WRITEDATA, &t);
  api.easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  api.easy_setopt(h, CURLOPT_HEADERDATA, &t);
  const CURLcode rc = api.easy_perform(h);
  long status       = 0;
  api.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  api.easy_cleanup(h);
  api.slist_free_all(header);
  for (auto& [k, v] : t.hop) t.response.headers[k] = v;
  t.response.status = status;
  if (rc == CURLE_WRITE_ERROR && t.response.body_truncated) return t.response;
  if (rc != CURLE_OK) {
    std::string why = error[0] ? error : api.easy_strerror(rc);
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    const char* what = rc == CURLE_OPERATION_TIMEDOUT ? "network timeout" : "network failure";
    // The URL without the query; the token is never part of it.
    throw InputError(what, kModelField, fmt::format("GET {}: {}", req.url, why));
  }
  return t.response;
}

}  // namespace

Fetcher curl_fetcher() { return &curl_get; }

}  // namespace sizeup::hub
