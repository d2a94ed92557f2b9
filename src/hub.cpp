// Hub repository ids, the huggingface_hub cache layout, downloads through a Fetcher, and
// reading safetensors headers from local files. See hub.hpp for the layout and protocol.
#include "sizeup/hub.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

#include "sizeup/catalog.hpp"
#include "sizeup/error.hpp"

namespace sizeup::hub {
namespace fs = std::filesystem;
namespace {

// The config.json limit of the CLI's file reader: configs are a few KB.
constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;
// Index files list one line per tensor: DeepSeek-V3's (91k tensors) is about 9 MB.
constexpr std::size_t kMaxIndexBytes = std::size_t{64} << 20;
// First range request for a safetensors header: most headers of models up to ~100 layers fit.
constexpr std::uint64_t kFirstHeaderChunk = 64 * 1024;

bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > 96) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
  return s.find("--") == std::string_view::npos && s.find("..") == std::string_view::npos;
}

bool valid_revision(std::string_view r) {
  if (r.empty() || r.size() > 255 || r.front() == '/' || r.back() == '/') return false;
  if (r.find("..") != std::string_view::npos || r.find("//") != std::string_view::npos)
    return false;
  for (char c : r)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/'))
      return false;
  return true;
}

bool is_commit_hash(std::string_view s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool truthy(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string s = *v;
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s == "1" || s == "TRUE" || s == "YES" || s == "ON";
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Reads at most `limit` bytes of a small file; nullopt when it cannot be opened or is larger.
std::optional<std::string> read_small_file(const fs::path& p, std::size_t limit) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) return std::nullopt;
  }
  return text;
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw InputError(what, kModelField, why);
}

std::string describe(const RepoId& id) {
  return id.revision == "main" ? "'" + id.repo + "'" : "'" + id.repo + "@" + id.revision + "'";
}

// Writes `bytes` to `target` through a temporary file and a rename, so that a reader never sees
// half a file. Returns false on any failure (the cache is an optimisation, never an error).
bool write_atomically(const fs::path& target, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return false;
  std::random_device rd;
  const fs::path tmp =
      target.parent_path() / fmt::format(".{}.{:08x}.incomplete", target.filename().string(), rd());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) fs::remove(tmp, ec);
  return !ec;
}

// The blob id of a response: X-Linked-Etag (LFS files) or ETag, without quotes and W/.
std::string blob_id(const HttpResponse& r) {
  auto it = r.headers.find("x-linked-etag");
  if (it == r.headers.end()) it = r.headers.find("etag");
  if (it == r.headers.end()) return "";
  std::string e = trim(it->second);
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  e.erase(std::remove(e.begin(), e.end(), '"'), e.end());
  const bool ok = !e.empty() && e.size() <= 128 && std::all_of(e.begin(), e.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  return ok ? e : "";
}

// Stores a downloaded file in the cache layout; silently does nothing when it cannot.
void store_in_cache(const HubSettings& s, const RepoId& id, const std::string& filename,
                    const HttpResponse& r) {
  if (s.cache_dir.empty()) return;
  const auto c = r.headers.find("x-repo-commit");
  if (c == r.headers.end()) return;
  const std::string commit = trim(c->second);
  if (!is_commit_hash(commit)) return;
  const fs::path repo     = fs::path(s.cache_dir) / repo_folder_name(id.repo);
  const fs::path snapshot = repo / "snapshots" / commit / filename;
  const std::string blob  = blob_id(r);
  std::error_code ec;
  if (!blob.empty() && write_atomically(repo / "blobs" / blob, r.body)) {
    fs::create_directories(snapshot.parent_path(), ec);
    fs::remove(snapshot, ec);
    fs::create_symlink(fs::path("..") / ".." / "blobs" / blob, snapshot, ec);
    if (ec && !write_atomically(snapshot, r.body)) return;  // no symlinks: a copy
  } else if (!write_atomically(snapshot, r.body)) {
    return;
  }
  if (id.revision != commit) write_atomically(repo / "refs" / id.revision, commit);
}

std::uint64_t total_from_content_range(const HttpResponse& r) {
  // "bytes 0-65535/4939144" -> 4939144 ("*" when unknown -> 0).
  const auto it = r.headers.find("content-range");
  if (it == r.headers.end()) return 0;
  const auto slash = it->second.rfind('/');
  if (slash == std::string::npos) return 0;
  const std::string t = trim(it->second.substr(slash + 1));
  if (t.empty() || t.size() > 19 || !std::all_of(t.begin(), t.end(), ::isdigit)) return 0;
  return std::stoull(t);
}

SafetensorsHeader header_from_file(const fs::path& p, const std::string& source) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("checkpoint not found", "cannot open '" + source + "'");
  std::error_code ec;
  const std::uint64_t size = fs::file_size(p, ec);
  if (ec) fail("checkpoint not found", "cannot read the size of '" + source + "'");
  std::string first(8, '\0');
  in.read(first.data(), 8);
  first.resize(static_cast<std::size_t>(in.gcount()));
  const std::uint64_t n = safetensors_header_length(first, source);
  if (n > size - 8)  // size >= 8 here: safetensors_header_length read 8 bytes
    throw InputError(
        "bad safetensors header", kModelField,
        fmt::format("{}: header length {} exceeds the file ({} bytes)", source, n, size));
  std::string json(static_cast<std::size_t>(n), '\0');
  in.read(json.data(), static_cast<std::streamsize>(n));
  if (static_cast<std::uint64_t>(in.gcount()) != n)
    fail("unreadable checkpoint", "cannot read the header of '" + source + "'");
  return parse_safetensors_header(json, n, size, source);
}

CheckpointSummary checkpoint_in_directory(const fs::path& dir, const std::string& source) {
  std::error_code ec;
  const fs::path index = dir / "model.safetensors.index.json";
  std::vector<SafetensorsHeader> headers;
  if (fs::exists(index, ec)) {
    const auto text = read_small_file(index, kMaxIndexBytes);
    if (!text) fail("unreadable checkpoint", "cannot read '" + index.string() + "'");
    for (const auto& shard : safetensors_index_shards(*text, index.string()))
      headers.push_back(header_from_file(dir / shard, (dir / shard).string()));
  } else if (fs::exists(dir / "model.safetensors", ec)) {
    headers.push_back(
        header_from_file(dir / "model.safetensors", (dir / "model.safetensors").string()));
  } else {
    fail("checkpoint not found", "'" + source +
                                     "' holds neither model.safetensors.index.json nor "
                                     "model.safetensors");
  }
  return summarize_checkpoint(headers, source);
}

}  // namespace

std::optional<RepoId> parse_repo_id(std::string_view text) {
  RepoId id;
  std::string_view repo = text;
  if (const auto at = text.find('@'); at != std::string_view::npos) {
    const std::string_view rev = text.substr(at + 1);
    if (!valid_revision(rev)) return std::nullopt;
    id.revision = std::string(rev);
    repo        = text.substr(0, at);
  }
  const auto slash = repo.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view org = repo.substr(0, slash), name = repo.substr(slash + 1);
  if (!valid_name_part(org) || !valid_name_part(name)) return std::nullopt;
  // "dir/config.json" and "dir/model.safetensors" are meant as files.
  for (std::string_view ext : {".json", ".safetensors"})
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext)
      return std::nullopt;
  id.repo = std::string(repo);
  return id;
}

HubSettings settings_from_env(const Getenv& getenv) {
  HubSettings s;
  auto nonempty = [&](const char* name) -> std::optional<std::string> {
    auto v = getenv(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  const auto home    = nonempty("HOME");
  const auto hf_home = nonempty("HF_HOME");
  if (auto c = nonempty("HF_HUB_CACHE")) {
    s.cache_dir = *c;
  } else if (hf_home) {
    s.cache_dir = *hf_home + "/hub";
  } else if (auto x = nonempty("XDG_CACHE_HOME")) {
    s.cache_dir = *x + "/huggingface/hub";
  } else if (home) {
    s.cache_dir = *home + "/.cache/huggingface/hub";
  }
  if (auto e = nonempty("HF_ENDPOINT")) {
    s.endpoint = *e;
    while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  }
  if (auto t = nonempty("HF_TOKEN")) {
    s.token = trim(*t);
  } else {
    std::optional<std::string> path = nonempty("HF_TOKEN_PATH");
    if (!path && hf_home) path = *hf_home + "/token";
    if (!path && home) path = *home + "/.cache/huggingface/token";
    if (path)
      if (auto text = read_small_file(*path, 4096)) s.token = trim(*text);
  }
  s.offline = truthy(getenv("HF_HUB_OFFLINE"));
  if (auto t = nonempty("HF_HUB_DOWNLOAD_TIMEOUT")) {
    char* end     = nullptr;
    const long v  = std::strtol(t->c_str(), &end, 10);
    const bool ok = end && *end == '\0' && v >= 1 && v <= 3600;
    if (!ok)
      throw InputError(
          "invalid environment", "hf_hub_download_timeout",
          "HF_HUB_DOWNLOAD_TIMEOUT must be whole seconds between 1 and 3600, got '" + *t + "'");
    s.timeout_seconds = v;
  }
  return s;
}

HubSettings settings_from_environment() {
  return settings_from_env([](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
}

std::string repo_folder_name(const std::string& repo) {
  std::string out = "models--";
  for (char c : repo) out += c == '/' ? std::string("--") : std::string(1, c);
  return out;
}

std::optional<std::string> cached_file(const HubSettings& s, const RepoId& id,
                                       const std::string& filename) {
  if (s.cache_dir.empty()) return std::nullopt;
  const fs::path repo = fs::path(s.cache_dir) / repo_folder_name(id.repo);
  std::string commit  = id.revision;
  if (!is_commit_hash(commit)) {
    const auto ref = read_small_file(repo / "refs" / id.revision, 1024);
    if (!ref) return std::nullopt;
    commit = trim(*ref);
    if (!is_commit_hash(commit)) return std::nullopt;
  }
  const fs::path p = repo / "snapshots" / commit / filename;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;  // follows the blob symlink
  return p.string();
}

Hub::Hub(HubSettings settings, Fetcher fetcher)
    : settings_(std::move(settings)), fetcher_(std::move(fetcher)) {}

HttpResponse Hub::get(const RepoId& id, const std::string& filename, std::uint64_t range_begin,
                      std::uint64_t range_length, std::size_t max_bytes) {
  if (settings_.offline)
    fail("offline and not cached",
         fmt::format("HF_HUB_OFFLINE is set and {} of {} is not in the cache {}", filename,
                     describe(id), settings_.cache_dir.empty() ? "(none)" : settings_.cache_dir));
  HttpRequest req;
  // A revision such as refs/pr/1 is one path segment: its slashes are escaped, as
  // huggingface_hub's quote(revision, safe="") does.
  std::string revision;
  for (char c : id.revision) revision += c == '/' ? std::string("%2F") : std::string(1, c);
  req.url = fmt::format("{}/{}/resolve/{}/{}", settings_.endpoint, id.repo, revision, filename);
  if (!settings_.token.empty()) req.headers.push_back("Authorization: Bearer " + settings_.token);
  req.headers.push_back("User-Agent: sizeup/0.1");
  req.range_begin     = range_begin;
  req.range_length    = range_length;
  req.max_body_bytes  = max_bytes;
  req.timeout_seconds = settings_.timeout_seconds;
  ++requests_;
  HttpResponse r = fetcher_(req);
  if (r.status == 200 || r.status == 206) {
    if (r.body_truncated && range_length == 0)
      fail("file too large",
           fmt::format("{} of {} is larger than {} bytes", filename, describe(id), max_bytes));
    return r;
  }
  const auto code_it     = r.headers.find("x-error-code");
  const std::string code = code_it == r.headers.end() ? "" : trim(code_it->second);
  const std::string url  = settings_.endpoint + "/" + id.repo;
  if (code == "GatedRepo" || ((r.status == 401 || r.status == 403) && code.empty()))
    fail("gated repository",
         settings_.token.empty()
             ? fmt::format("{} needs a token (HTTP {}): accept its terms at {} and set HF_TOKEN",
                           id.repo, r.status, url)
             : fmt::format("HF_TOKEN has no access to {} (HTTP {}): accept its terms at {}",
                           id.repo, r.status, url));
  if (code == "RepoNotFound" || (r.status == 404 && code.empty() && filename == "config.json"))
    fail("repository not found",
         fmt::format("no repository {} on {} (HTTP {}){}", id.repo, settings_.endpoint, r.status,
                     settings_.token.empty() ? "; a private one needs HF_TOKEN" : ""));
  if (code == "RevisionNotFound")
    fail("revision not found",
         fmt::format("{} has no revision '{}' (HTTP {})", id.repo, id.revision, r.status));
  if (code == "EntryNotFound" || r.status == 404)
    fail("file not found", fmt::format("{} has no {} at revision '{}' (HTTP {})", id.repo, filename,
                                       id.revision, r.status));
  if (r.status == 429)
    fail("network failure", fmt::format("{} refused the request: too many requests (HTTP 429); "
                                        "retry later or set HF_TOKEN",
                                        settings_.endpoint));
  fail("network failure", fmt::format("{} answered HTTP {} for {} of {}", settings_.endpoint,
                                      r.status, filename, describe(id)));
}

std::string Hub::read_file(const RepoId& id, const std::string& filename, std::size_t max_bytes) {
  if (auto p = cached_file(settings_, id, filename)) {
    if (auto text = read_small_file(*p, max_bytes)) return *text;
    fail("unreadable cache", fmt::format("cannot read {} or it exceeds {} bytes", *p, max_bytes));
  }
  HttpResponse r = get(id, filename, 0, 0, max_bytes);
  store_in_cache(settings_, id, filename, r);
  return std::move(r.body);
}

std::optional<std::string> Hub::read_file_if_exists(const RepoId& id, const std::string& filename,
                                                    std::size_t max_bytes) {
  try {
    return read_file(id, filename, max_bytes);
  } catch (const InputError& e) {
    if (e.subject() == "file not found") return std::nullopt;
    throw;
  }
}

SafetensorsHeader Hub::read_safetensors_header(const RepoId& id, const std::string& filename) {
  const std::string source = id.repo + "/" + filename;
  if (auto p = cached_file(settings_, id, filename)) return header_from_file(*p, source);
  // First chunk: the length and, usually, the whole header.
  HttpResponse r = get(id, filename, 0, kFirstHeaderChunk, kFirstHeaderChunk);
  // A server that ignores Range answers 200 with the whole file (cut at the chunk size).
  const std::uint64_t total =
      r.status == 206 ? total_from_content_range(r) : (r.body_truncated ? 0 : r.body.size());
  const std::uint64_t n = safetensors_header_length(r.body, source);
  if (total != 0 && n > total - 8)
    throw InputError(
        "bad safetensors header", kModelField,
        fmt::format("{}: header length {} exceeds the file ({} bytes)", source, n, total));
  std::string json;
  if (r.body.size() >= 8 + n) {
    json = r.body.substr(8, static_cast<std::size_t>(n));
  } else {
    json                     = r.body.substr(8);
    const std::uint64_t rest = 8 + n - r.body.size();
    HttpResponse more = get(id, filename, r.body.size(), rest, static_cast<std::size_t>(rest));
    if (more.status != 206)
      fail("network failure", fmt::format("{} did not answer the range request for {} (HTTP {})",
                                          settings_.endpoint, source, more.status));
    json += more.body.substr(0, static_cast<std::size_t>(rest));
  }
  return parse_safetensors_header(json, n, total, source);
}

std::string hub_config_text(Hub& hub, const RepoId& id) {
  return hub.read_file(id, "config.json", kMaxConfigBytes);
}

CheckpointSummary hub_checkpoint(Hub& hub, const RepoId& id) {
  const std::string source = id.repo + (id.revision == "main" ? "" : "@" + id.revision);
  std::vector<SafetensorsHeader> headers;
  if (auto index = hub.read_file_if_exists(id, "model.safetensors.index.json", kMaxIndexBytes)) {
    for (const auto& shard :
         safetensors_index_shards(*index, source + "/model.safetensors.index.json"))
      headers.push_back(hub.read_safetensors_header(id, shard));
  } else {
    try {
      headers.push_back(hub.read_safetensors_header(id, "model.safetensors"));
    } catch (const InputError& e) {
      if (e.subject() != "file not found") throw;
      fail("checkpoint not found",
           fmt::format("{} has neither model.safetensors.index.json nor model.safetensors at "
                       "revision '{}'",
                       id.repo, id.revision));
    }
  }
  return summarize_checkpoint(headers, source);
}

CheckpointSummary local_checkpoint(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) return checkpoint_in_directory(p, path);
  if (!fs::exists(p, ec)) fail("checkpoint not found", "'" + path + "' does not exist");
  if (p.filename() == "model.safetensors.index.json")
    return checkpoint_in_directory(p.parent_path().empty() ? fs::path(".") : p.parent_path(), path);
  return summarize_checkpoint({header_from_file(p, path)}, path);
}

bool is_checkpoint_path(std::string_view model) {
  auto ends_with = [&](std::string_view tail) {
    return model.size() >= tail.size() && model.substr(model.size() - tail.size()) == tail;
  };
  return ends_with(".safetensors") || ends_with("model.safetensors.index.json");
}

CheckpointSummary resolve_checkpoint(const std::string& model) {
  std::error_code ec;
  if (fs::exists(model, ec)) {
    const fs::path p(model);
    if (!fs::is_directory(p, ec) && !is_checkpoint_path(model))  // a config.json
      return local_checkpoint(p.parent_path().empty() ? "." : p.parent_path().string());
    return local_checkpoint(model);
  }
  std::optional<RepoId> id;
  if (const CatalogEntry* e = find_model(model)) {
    id = parse_repo_id(e->hf_id);
  } else {
    id = parse_repo_id(model);
  }
  if (!id)
    fail("checkpoint not found", "'" + model + "' is neither a file, a directory nor a Hub id");
  Hub hub(settings_from_environment(), curl_fetcher());
  return hub_checkpoint(hub, *id);
}

}  // namespace sizeup::hub
