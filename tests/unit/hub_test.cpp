// The Hub client against a fake fetcher and a cache directory laid out as huggingface_hub
// lays it out (models--org--name/refs/<rev>, snapshots/<commit>/<file> -> ../../blobs/<etag>).
#include "sizeup/hub.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "sizeup/error.hpp"

namespace sizeup::hub {
namespace {
namespace fs = std::filesystem;

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("sizeup_hub_test_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

Fetcher no_network() {
  return [](const HttpRequest& r) -> HttpResponse {
    ADD_FAILURE() << "unexpected request " << r.url;
    return {};
  };
}

HubSettings settings_in(const fs::path& cache) {
  HubSettings s;
  s.cache_dir = cache.string();
  s.endpoint  = "http://hub.test";
  return s;
}

TEST(hub_test, parses_repo_ids_and_revisions) {
  auto id = parse_repo_id("google/gemma-3-12b-it");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->repo, "google/gemma-3-12b-it");
  EXPECT_EQ(id->revision, "main");
  id = parse_repo_id("Qwen/Qwen2.5-VL-7B-Instruct@refs/pr/12");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->repo, "Qwen/Qwen2.5-VL-7B-Instruct");
  EXPECT_EQ(id->revision, "refs/pr/12");
  for (const char* not_an_id :
       {"llama-2-7b", "./models/x", "a/b/c", "org/", "/name", "org/-name", "org/na--me",
        "org/na..me", "dir/config.json", "dir/model.safetensors", "org/name@", "org/name@../x",
        "org/name@a b", "or g/name"})
    EXPECT_FALSE(parse_repo_id(not_an_id)) << not_an_id;
}

TEST(hub_test, settings_follow_huggingface_hub_precedence) {
  std::map<std::string, std::string> env = {{"HOME", "/home/u"}};
  auto getenv                            = [&](const char* n) -> std::optional<std::string> {
    auto it = env.find(n);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  EXPECT_EQ(settings_from_env(getenv).cache_dir, "/home/u/.cache/huggingface/hub");
  EXPECT_EQ(settings_from_env(getenv).endpoint, "https://huggingface.co");
  env["XDG_CACHE_HOME"] = "/xdg";
  EXPECT_EQ(settings_from_env(getenv).cache_dir, "/xdg/huggingface/hub");
  env["HF_HOME"] = "/hf";
  EXPECT_EQ(settings_from_env(getenv).cache_dir, "/hf/hub");
  env["HF_HUB_CACHE"] = "/cache";
  EXPECT_EQ(settings_from_env(getenv).cache_dir, "/cache");
  env["HF_ENDPOINT"] = "http://127.0.0.1:8080/";
  EXPECT_EQ(settings_from_env(getenv).endpoint, "http://127.0.0.1:8080");
  EXPECT_FALSE(settings_from_env(getenv).offline);
  for (const char* yes : {"1", "true", "YES", "on"}) {
    env["HF_HUB_OFFLINE"] = yes;
    EXPECT_TRUE(settings_from_env(getenv).offline) << yes;
  }
  env["HF_HUB_OFFLINE"] = "0";
  EXPECT_FALSE(settings_from_env(getenv).offline);
  env["HF_TOKEN"] = "hf_abc\n";
  EXPECT_EQ(settings_from_env(getenv).token, "hf_abc");
  env["HF_HUB_DOWNLOAD_TIMEOUT"] = "3";
  EXPECT_EQ(settings_from_env(getenv).timeout_seconds, 3);
  env["HF_HUB_DOWNLOAD_TIMEOUT"] = "-3";
  EXPECT_NE(error_of([&] { settings_from_env(getenv); }).find("HF_HUB_DOWNLOAD_TIMEOUT"),
            std::string::npos);
}

TEST(hub_test, token_file_is_read_when_hf_token_is_unset) {
  TempDir d;
  write(d.path() / "token", "hf_from_file\n");
  std::map<std::string, std::string> env = {{"HF_HOME", d.path().string()}};
  auto getenv                            = [&](const char* n) -> std::optional<std::string> {
    auto it = env.find(n);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  EXPECT_EQ(settings_from_env(getenv).token, "hf_from_file");
}

TEST(hub_test, reads_a_file_from_the_cache_layout_without_network) {
  TempDir d;
  const fs::path repo = d.path() / "models--org--name";
  write(repo / "refs" / "main", kCommit);
  write(repo / "blobs" / "abc123", R"({"model_type": "llama"})");
  fs::create_directories(repo / "snapshots" / kCommit);
  fs::create_symlink("../../blobs/abc123", repo / "snapshots" / kCommit / "config.json");
  EXPECT_EQ(repo_folder_name("org/name"), "models--org--name");
  Hub hub(settings_in(d.path()), no_network());
  EXPECT_EQ(hub.read_file({"org/name", "main"}, "config.json", 1000), R"({"model_type": "llama"})");
  // A commit hash names the snapshot directly.
  EXPECT_EQ(hub.read_file({"org/name", kCommit}, "config.json", 1000),
            R"({"model_type": "llama"})");
  EXPECT_EQ(hub.requests(), 0);
  EXPECT_FALSE(cached_file(settings_in(d.path()), {"org/name", "v2"}, "config.json"));
}

TEST(hub_test, downloads_sends_the_token_and_stores_in_the_cache) {
  TempDir d;
  std::vector<HttpRequest> seen;
  auto fetch = [&](const HttpRequest& r) {
    seen.push_back(r);
    HttpResponse resp;
    resp.status                   = 200;
    resp.body                     = R"({"model_type": "qwen2"})";
    resp.headers["x-repo-commit"] = kCommit;
    resp.headers["etag"]          = "\"f00dbabe\"";
    return resp;
  };
  auto s  = settings_in(d.path());
  s.token = "hf_secret";
  Hub hub(s, fetch);
  EXPECT_EQ(hub.read_file({"org/name", "main"}, "config.json", 1000), R"({"model_type": "qwen2"})");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].url, "http://hub.test/org/name/resolve/main/config.json");
  // A pull-request revision is one path segment; refs/pr/3 is recorded under refs/.
  EXPECT_EQ(hub.read_file({"org/name", "refs/pr/3"}, "config.json", 1000),
            R"({"model_type": "qwen2"})");
  EXPECT_EQ(seen.back().url, "http://hub.test/org/name/resolve/refs%2Fpr%2F3/config.json");
  EXPECT_EQ(slurp(d.path() / "models--org--name" / "refs" / "refs" / "pr" / "3"), kCommit);
  EXPECT_NE(
      std::find(seen[0].headers.begin(), seen[0].headers.end(), "Authorization: Bearer hf_secret"),
      seen[0].headers.end());
  const fs::path repo = d.path() / "models--org--name";
  EXPECT_EQ(slurp(repo / "refs" / "main"), kCommit);
  EXPECT_EQ(slurp(repo / "blobs" / "f00dbabe"), R"({"model_type": "qwen2"})");
  EXPECT_TRUE(fs::is_symlink(repo / "snapshots" / kCommit / "config.json"));
  EXPECT_EQ(fs::read_symlink(repo / "snapshots" / kCommit / "config.json"),
            fs::path("../../blobs/f00dbabe"));
  // The next read, even offline, comes from the cache.
  s.offline = true;
  Hub offline(s, no_network());
  EXPECT_EQ(offline.read_file({"org/name", "main"}, "config.json", 1000),
            R"({"model_type": "qwen2"})");
}

HttpResponse answer(long status, const std::string& error_code) {
  HttpResponse r;
  r.status = status;
  if (!error_code.empty()) r.headers["x-error-code"] = error_code;
  return r;
}

TEST(hub_test, errors_say_what_happened_in_one_line) {
  TempDir d;
  struct Case {
    long status;
    const char* code;
    const char* expected;
  };
  const Case cases[] = {
      {401, "GatedRepo", "gated repository (model): org/name needs a token (HTTP 401)"},
      {403, "", "gated repository (model): org/name needs a token (HTTP 403)"},
      {401, "RepoNotFound",
       "repository not found (model): no repository org/name on "
       "http://hub.test (HTTP 401); a private one needs HF_TOKEN"},
      {404, "RevisionNotFound", "revision not found (model): org/name has no revision 'main'"},
      {404, "EntryNotFound", "file not found (model): org/name has no config.json"},
      {500, "", "network failure (model): http://hub.test answered HTTP 500"},
  };
  for (const auto& c : cases) {
    Hub hub(settings_in(d.path()), [&](const HttpRequest&) { return answer(c.status, c.code); });
    const std::string e = error_of([&] {
      hub.read_file({"org/name", "main"}, "config.json", 100);
    });
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_EQ(e.rfind(c.expected, 0), 0u) << e;
  }
  auto s  = settings_in(d.path());
  s.token = "hf_x";
  Hub with_token(s, [](const HttpRequest&) { return answer(403, "GatedRepo"); });
  EXPECT_NE(error_of([&] {
              with_token.read_file({"org/name", "main"}, "config.json", 100);
            }).find("HF_TOKEN has no access to org/name"),
            std::string::npos);
}

TEST(hub_test, offline_and_not_cached_is_an_error_without_a_request) {
  TempDir d;
  auto s    = settings_in(d.path());
  s.offline = true;
  Hub hub(s, no_network());
  EXPECT_NE(error_of([&] {
              hub.read_file({"org/name", "main"}, "config.json", 100);
            }).find("offline and not cached (model): HF_HUB_OFFLINE is set"),
            std::string::npos);
}

TEST(hub_test, oversized_download_is_refused) {
  TempDir d;
  Hub hub(settings_in(d.path()), [](const HttpRequest& r) {
    HttpResponse resp;
    resp.status         = 200;
    resp.body           = std::string(r.max_body_bytes, 'x');
    resp.body_truncated = true;
    return resp;
  });
  EXPECT_NE(error_of([&] {
              hub.read_file({"org/name", "main"}, "config.json", 100);
            }).find("larger than 100 bytes"),
            std::string::npos);
}

// A fake Hub that serves files from memory and answers Range requests with 206.
struct FakeRangeServer {
  std::map<std::string, std::string> files;  // URL path after /resolve/main/ -> bytes
  std::vector<HttpRequest> seen;
  HttpResponse operator()(const HttpRequest& r) {
    seen.push_back(r);
    const std::string prefix = "http://hub.test/org/name/resolve/main/";
    const auto it            = files.find(r.url.substr(prefix.size()));
    if (it == files.end()) return answer(404, "EntryNotFound");
    HttpResponse resp;
    resp.headers["x-repo-commit"] = kCommit;
    if (r.range_length == 0) {
      resp.status = 200;
      resp.body   = it->second;
      return resp;
    }
    resp.status                   = 206;
    resp.body                     = it->second.substr(r.range_begin, r.range_length);
    resp.headers["content-range"] = "bytes " + std::to_string(r.range_begin) + "-" +
                                    std::to_string(r.range_begin + resp.body.size() - 1) + "/" +
                                    std::to_string(it->second.size());
    return resp;
  }
};

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file of `tensors` F32 vectors of 2 elements, padded so the header is
// `min_header` bytes or more.
std::string safetensors_file(int tensors, std::size_t min_header, const std::string& prefix) {
  std::string json = "{";
  for (int i = 0; i < tensors; ++i)
    json += (i ? "," : "") + std::string("\"") + prefix + std::to_string(i) +
            "\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [" + std::to_string(8 * i) +
            ", " + std::to_string(8 * i + 8) + "]}";
  json += "}";
  if (json.size() < min_header) json += std::string(min_header - json.size(), ' ');
  return le64(json.size()) + json + std::string(static_cast<std::size_t>(8 * tensors), '\0');
}

TEST(hub_test, remote_headers_are_read_with_range_requests) {
  TempDir d;
  auto server                        = std::make_shared<FakeRangeServer>();
  server->files["model.safetensors"] = safetensors_file(3, 100, "w");
  Hub hub(settings_in(d.path()), [server](const HttpRequest& r) { return (*server)(r); });
  const auto s = hub_checkpoint(hub, {"org/name", "main"});
  EXPECT_EQ(s.tensors, 3u);
  EXPECT_EQ(s.elements, 6u);
  EXPECT_EQ(s.bytes, 24u);
  // 404 for the index, then one range request of the first 64 KiB.
  ASSERT_EQ(server->seen.size(), 2u);
  EXPECT_EQ(server->seen[1].range_begin, 0u);
  EXPECT_EQ(server->seen[1].range_length, 65536u);
}

TEST(hub_test, sharded_remote_checkpoint_with_a_long_header_takes_two_ranges) {
  TempDir d;
  auto server = std::make_shared<FakeRangeServer>();
  server->files["model.safetensors.index.json"] =
      R"({"weight_map": {"a0": "model-00001-of-00002.safetensors",
                         "b0": "model-00002-of-00002.safetensors"}})";
  server->files["model-00001-of-00002.safetensors"] = safetensors_file(2, 100000, "a");
  server->files["model-00002-of-00002.safetensors"] = safetensors_file(1, 10, "b");
  Hub hub(settings_in(d.path()), [server](const HttpRequest& r) { return (*server)(r); });
  const auto s = hub_checkpoint(hub, {"org/name", "main"});
  EXPECT_EQ(s.shards, 2u);
  EXPECT_EQ(s.tensors, 3u);
  EXPECT_EQ(s.bytes, 24u);
  // index, shard 1 (64 KiB, then the remaining 100008 - 65536 bytes), shard 2.
  ASSERT_EQ(server->seen.size(), 4u);
  EXPECT_EQ(server->seen[2].range_begin, 65536u);
  EXPECT_EQ(server->seen[2].range_length, 100008u - 65536u);
}

TEST(hub_test, lying_remote_header_length_is_refused_before_allocating) {
  TempDir d;
  auto server                        = std::make_shared<FakeRangeServer>();
  server->files["model.safetensors"] = le64(50'000'000) + "{}";  // file of 10 bytes
  Hub hub(settings_in(d.path()), [server](const HttpRequest& r) { return (*server)(r); });
  EXPECT_NE(error_of([&] {
              hub_checkpoint(hub, {"org/name", "main"});
            }).find("header length 50000000 exceeds the file (10 bytes)"),
            std::string::npos);
  EXPECT_EQ(server->seen.size(), 2u);
}

TEST(hub_test, local_checkpoint_reads_a_file_or_a_sharded_directory) {
  TempDir d;
  write(d.path() / "one" / "model.safetensors", safetensors_file(2, 0, "w"));
  EXPECT_EQ(local_checkpoint((d.path() / "one").string()).elements, 4u);
  EXPECT_EQ(local_checkpoint((d.path() / "one" / "model.safetensors").string()).bytes, 16u);
  write(d.path() / "two" / "model.safetensors.index.json",
        R"({"weight_map": {"a0": "a.safetensors", "b0": "b.safetensors"}})");
  write(d.path() / "two" / "a.safetensors", safetensors_file(2, 0, "a"));
  write(d.path() / "two" / "b.safetensors", safetensors_file(3, 0, "b"));
  const auto s = local_checkpoint((d.path() / "two").string());
  EXPECT_EQ(s.shards, 2u);
  EXPECT_EQ(s.tensors, 5u);
  EXPECT_EQ(s.by_dtype.at("F32").bytes, 40u);
  // Truncated: the data is shorter than the header says.
  std::string cut = safetensors_file(2, 0, "w");
  cut.resize(cut.size() - 1);
  write(d.path() / "cut.safetensors", cut);
  EXPECT_NE(error_of([&] {
              local_checkpoint((d.path() / "cut.safetensors").string());
            }).find("header describes"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { local_checkpoint((d.path() / "none").string()); }).find("does not exist"),
      std::string::npos);
}

}  // namespace
}  // namespace sizeup::hub
