// The Hugging Face Hub as a source of config.json files and checkpoint headers: repository ids,
// the local cache (huggingface_hub's layout, shared with transformers), and downloads through
// an injectable fetcher (libcurl by default, a fake in tests). I/O lives here, never in the
// math; everything returns bytes that the pure parsers (hf_config.hpp, safetensors.hpp) read.
//
// Cache layout (huggingface_hub, "Manage huggingface_hub cache-system"):
//   <cache>/models--<org>--<name>/refs/<revision>            the commit hash, 40 hex digits
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file>  a symlink to ../../blobs/<etag>
//   <cache>/models--<org>--<name>/blobs/<etag>                the file's bytes
// Download URL: <endpoint>/<org>/<name>/resolve/<revision>/<file>; the Hub answers with the
// commit in X-Repo-Commit, the blob id in X-Linked-Etag or ETag, and on failure names the
// cause in X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sizeup/safetensors.hpp"

namespace sizeup::hub {

// The input field errors name (the MODEL argument).
inline constexpr const char* kModelField = "model";

struct RepoId {
  std::string repo;               // "org/name", e.g. "google/gemma-3-12b-it"
  std::string revision = "main";  // branch, tag or commit, e.g. "main", "v1.0", 40 hex digits
};

// "org/name" or "org/name@revision" with the Hub's rules for names (letters, digits, '-', '_',
// '.'; at most 96 characters per part; no "--" or ".."; not starting or ending with '-' or
// '.'). nullopt for anything else, e.g. "llama-2-7b", "./dir", "dir/config.json".
std::optional<RepoId> parse_repo_id(std::string_view text);

// One HTTP GET. range_length 0: the whole body; otherwise bytes [range_begin, range_begin +
// range_length). The fetcher follows redirects (at most 10) and stops reading a body that
// exceeds max_body_bytes (body_truncated).
struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // e.g. "Authorization: Bearer hf_..."
  std::uint64_t range_begin  = 0;
  std::uint64_t range_length = 0;
  std::size_t max_body_bytes = std::size_t{16} << 20;
  long timeout_seconds       = 10;
};
struct HttpResponse {
  long status = 0;                             // e.g. 200, 206, 404
  std::string body;                            // at most max_body_bytes
  bool body_truncated = false;                 // the body was longer than max_body_bytes
  std::map<std::string, std::string> headers;  // lower-case names; the final response's,
                                               // completed by earlier hops (X-Repo-Commit)
};
// Throws InputError (field kModelField) when no HTTP answer arrives: connection refused, DNS,
// TLS, timeout.
using Fetcher = std::function<HttpResponse(const HttpRequest&)>;

// libcurl, loaded with dlopen on first use so that commands without downloads do not pay for
// loading it: honours http_proxy / https_proxy / no_proxy, verifies TLS with the system CAs,
// sends the Authorization header to the first host only.
Fetcher curl_fetcher();

struct HubSettings {
  std::string cache_dir;  // where models--*--* live
  std::string endpoint = "https://huggingface.co";
  std::string token;             // empty: anonymous
  bool offline         = false;  // never use the network
  long timeout_seconds = 10;     // connect and stall timeout
};

// From environment variables, as huggingface_hub reads them: HF_HUB_CACHE, else HF_HOME/hub,
// else XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub; HF_ENDPOINT; HF_TOKEN,
// else the file HF_TOKEN_PATH or HF_HOME/token (written by `huggingface-cli login`);
// HF_HUB_OFFLINE (1, true, yes, on); HF_HUB_DOWNLOAD_TIMEOUT in seconds.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
HubSettings settings_from_env(const Getenv& getenv);
HubSettings settings_from_environment();  // std::getenv

// "models--org--name"
std::string repo_folder_name(const std::string& repo);

// Path of `filename` at `id` in the cache, or nullopt.
std::optional<std::string> cached_file(const HubSettings& s, const RepoId& id,
                                       const std::string& filename);

class Hub {
 public:
  Hub(HubSettings settings, Fetcher fetcher);

  // The bytes of `filename`: from the cache, else downloaded and stored in the cache (so the
  // next call is offline). Throws InputError with a one-line reason: not found, gated,
  // offline and not cached, network failure, larger than max_bytes.
  std::string read_file(const RepoId& id, const std::string& filename, std::size_t max_bytes);
  // As read_file, but nullopt when the repository has no such file (HTTP 404 EntryNotFound).
  std::optional<std::string> read_file_if_exists(const RepoId& id, const std::string& filename,
                                                 std::size_t max_bytes);
  // The safetensors header of `filename`: from a cached copy, else by HTTP range requests
  // (the first 64 KiB, then the rest of the header if it is longer). Not cached.
  SafetensorsHeader read_safetensors_header(const RepoId& id, const std::string& filename);

  const HubSettings& settings() const { return settings_; }
  int requests() const { return requests_; }  // HTTP requests made so far

 private:
  HttpResponse get(const RepoId& id, const std::string& filename, std::uint64_t range_begin,
                   std::uint64_t range_length, std::size_t max_bytes);
  HubSettings settings_;
  Fetcher fetcher_;
  int requests_ = 0;
};

// config.json of a Hub repository (cache first), at most 16 MiB.
std::string hub_config_text(Hub& hub, const RepoId& id);

// Every safetensors header of a checkpoint: model.safetensors.index.json and its shards, or a
// single model.safetensors.
CheckpointSummary hub_checkpoint(Hub& hub, const RepoId& id);

// A local .safetensors file, or a directory holding model.safetensors.index.json (and its
// shards) or model.safetensors. Reads headers only.
CheckpointSummary local_checkpoint(const std::string& path);

// MODEL names a checkpoint rather than a config: a .safetensors file or a
// model.safetensors.index.json.
bool is_checkpoint_path(std::string_view model);

// The checkpoint of MODEL: an existing path (a file or directory; a config.json stands for the
// directory holding it), else the Hub repository of a catalog entry (its hf_id) or of a Hub id
// (settings from the environment, libcurl).
CheckpointSummary resolve_checkpoint(const std::string& model);

}  // namespace sizeup::hub
