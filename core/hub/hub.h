// Models by name: `Qwen/Qwen3-0.6B` where a local folder is expected, resolved as LLaMA-Factory resolves it through
// huggingface_hub: first the local Hugging Face cache, then a download into that same cache, so Python tools see
// Lathe's downloads and the reverse.
//
// The cache layout (huggingface_hub's, under HF_HUB_CACHE, default $HF_HOME/hub = ~/.cache/huggingface/hub):
//   models--<org>--<name>/refs/<revision>            the commit a branch or tag points to
//   models--<org>--<name>/blobs/<etag>               file contents, named by their ETag (sha256 for LFS files)
//   models--<org>--<name>/blobs/<etag>.incomplete    a download in progress (resumed with a Range request)
//   models--<org>--<name>/snapshots/<commit>/<path>  relative symlinks to the blobs: the folder a model is read from
//
// The protocol (the hub's HTTP API; HF_ENDPOINT picks a mirror):
//   GET  {endpoint}/api/models/{repo}/revision/{revision}   {"sha": commit, "siblings": [{"rfilename"}, ...]}
//   HEAD {endpoint}/{repo}/resolve/{revision}/{path}        X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size,
//                                                           a redirect to the blob's URL for LFS files
//   GET  the file (following redirects), with Range: bytes=N- to resume; HF_TOKEN as a bearer token.
// Only what a model needs is fetched (config, tokenizer files, safetensors weights and their index); LFS files are
// checked against their sha256; a file appears under its final name only once complete.
//
// Environment: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN (or $HF_HOME/token), HF_HUB_OFFLINE.
// libcurl does the HTTP (proxies, TLS, redirects); OpenSSL's libcrypto the sha256. No torch, no Qt.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lathe {

/// Which hub a repo id is looked up on (LLaMA-Factory's USE_MODELSCOPE_HUB / USE_OPENMIND_HUB, the top bar's
/// hub choice).
enum class HubKind
{
    HuggingFace,
    ModelScope,
    Modelers, ///< openMind (modelers.cn), as openmind_hub speaks to it
};

struct HubSettings
{
    HubKind hub = HubKind::HuggingFace;
    std::string endpoint = "https://huggingface.co";
    std::filesystem::path cacheDir; ///< HF_HUB_CACHE
    std::string token;              ///< HF_TOKEN
    bool offline = false;           ///< HF_HUB_OFFLINE
    /// ModelScope: MODELSCOPE_DOMAIN, MODELSCOPE_CACHE (its layout: <cache>/models/<org>/<name>, '.' as '___'),
    /// MODELSCOPE_API_TOKEN. Listing GET /api/v1/models/<id>/repo/files?Revision=&Recursive=true, files from
    /// /api/v1/models/<id>/repo?Revision=&FilePath= (sha256 checked); revision "main" means "master".
    std::string msEndpoint = "https://www.modelscope.cn";
    std::filesystem::path msCacheDir;
    std::string msToken;
    /// Modelers (openMind), as openmind_hub does: OPENMIND_HUB_ENDPOINT (https://modelers.cn), the cache
    /// OPENMIND_HUB_CACHE (default $XDG_CACHE_HOME/openmind/hub) in huggingface_hub's layout, OPENMIND_HUB_TOKEN.
    ///   GET {endpoint}/api/v1/file/{repo}?ref=&path=DIR          {"data": {"tree": [{"type": "file"|"dir", "path"}]}}
    ///   GET {endpoint}/api/v1/file/{repo}/info?ref=&path=FILE    {"data": {"branch_last_commit", "etag", "size"}}
    ///   GET {endpoint}/api/v1/file/{repo}/{rev}/media/{path}     the file (a redirect to its CDN), Range to resume
    /// The ETag is the sha256 of an LFS file or git's blob id (sha1) of a small one; both are checked.
    std::string omEndpoint = "https://modelers.cn";
    std::filesystem::path omCacheDir;
    std::string omToken;

    /// From the environment, with huggingface_hub's defaults.
    static HubSettings fromEnvironment();
};

struct HubProgress
{
    std::string file;                  ///< path in the repo
    std::int64_t fileIndex = 0, fileCount = 0;
    std::int64_t bytesDone = 0;        ///< of all files to download, including what was already on disk
    std::int64_t bytesTotal = 0;
    double bytesPerSecond = 0;         ///< of this session's transfer
    double secondsLeft = 0;
};

struct HubOptions
{
    std::string revision = "main";
    HubSettings settings = HubSettings::fromEnvironment();
    std::function<void(const HubProgress&)> progress;
    std::function<void(const std::string&)> log;
    /// Set from another thread to stop: the partial file is kept for a later run to resume; throws "cancelled".
    const std::atomic<bool>* cancel = nullptr;
};

/// True for "org/name" or "name"-style ids that are not a path on disk (no such file or folder exists).
bool looksLikeRepoId(const std::string& text);

/// The cache folder of a repo: <cache>/models--org--name (datasets--org--name for a dataset).
std::filesystem::path repoCacheDir(const HubSettings& settings, const std::string& repoId, bool dataset = false);

/// The snapshot folder for `revision` (a branch, tag or commit) when the cache has it, without any request.
std::optional<std::filesystem::path> cachedSnapshot(const HubSettings& settings, const std::string& repoId,
                                                    const std::string& revision);

/// Whether a file of a repo listing is one a model needs (weights in safetensors, config, tokenizer files).
/// `files` is the whole listing: .bin weights are taken only when there are no .safetensors.
std::vector<std::string> filesToFetch(const std::vector<std::string>& files);

/// A local folder for `pathOrId`: the folder itself when it exists; otherwise the repo id from the cache (offline,
/// or when the snapshot is complete) or downloaded into it. Throws lathe::Error naming the repo and file: no
/// network, 401/403 (gated or private: how to set a token), 404, disk full, checksum mismatch, offline and not cached.
std::filesystem::path resolveModelPath(const std::string& pathOrId, const HubOptions& options = {});

/// Downloads (or completes) the snapshot of `repoId` at `options.revision`; returns its folder.
std::filesystem::path downloadSnapshot(const std::string& repoId, const HubOptions& options = {});

/// The folder holding the data files of a dataset repo (dataset_info.json's hf_hub_url / ms_hub_url / om_hub_url), from the
/// cache or downloaded into it: the .json/.jsonl/.csv/.txt/.parquet files under `folder` (all when empty); when
/// they lie in several folders, the one named `split`. Throws lathe::Error naming the repo.
/// `subset` (dataset_info.json's, the datasets library's configuration name) picks the files its card's `configs`
/// name for `split` (hub/dataset_card.h): one file is returned as that file; without configs, the folder named
/// like the subset. Empty or "default" without configs: all data files.
std::filesystem::path resolveDatasetRepo(const std::string& repoId, HubKind hub, const std::string& folder,
                                         const std::string& split, const std::string& subset = {},
                                         const HubOptions& options = {});

/// Repo ids a "no such repo" message suggests the closest of (the program registers LLaMA-Board's catalogue).
void setKnownRepoIds(std::vector<std::string> ids);

/// One line for a terminal: "file 3/5 model.safetensors  412.0/1192.3 MB  85.1 MB/s  0:00:09".
std::string formatHubProgress(const HubProgress& progress);

} // namespace lathe
