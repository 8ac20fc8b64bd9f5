#include "hub/hub.h"

#include "hub/hub_transfer.h"
#include "hub/dataset_card.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using namespace hub_detail;

namespace {

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool truthy(const std::string& v)
{
    std::string s = v;
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    return s == "1" || s == "true" || s == "yes" || s == "on";
}

bool snapshotLooksComplete(const fs::path& dir)
{
    std::error_code ec;
    if (fs::exists(dir / "adapter_config.json", ec))
        return fs::exists(dir / "adapter_model.safetensors", ec) || fs::exists(dir / "adapter_model.bin", ec);
    if (!fs::exists(dir / "config.json", ec))
        return false;
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(index, ec)) {
        try {
            const auto j = parseJson<nlohmann::json>(readTextFile(index.string()), index.string());
            for (const auto& [name, file] : j.at("weight_map").items())
                if (!fs::exists(dir / file.get<std::string>(), ec))
                    return false;
            return true;
        } catch (const std::exception&) {
            return false;
        }
    }
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0 && fs::exists(entry.path(), ec))
            return true;
        if (name == "pytorch_model.bin" && fs::exists(entry.path(), ec))
            return true;
    }
    return false;
}

} // namespace

namespace {
std::vector<fs::path> modelScopeDirs(const HubSettings& s, const std::string& repoId, bool dataset);
}

// ---------------------------------------------------------------------------------------------------------
// Settings, ids, the cache
// ---------------------------------------------------------------------------------------------------------

HubSettings HubSettings::fromEnvironment()
{
    HubSettings s;
    const std::string home = env("HOME");
    const fs::path hfHome = !env("HF_HOME").empty() ? fs::path(env("HF_HOME"))
                            : !env("XDG_CACHE_HOME").empty() ? fs::path(env("XDG_CACHE_HOME")) / "huggingface"
                                                              : fs::path(home) / ".cache" / "huggingface";
    s.cacheDir = !env("HF_HUB_CACHE").empty() ? fs::path(env("HF_HUB_CACHE"))
                 : !env("HUGGINGFACE_HUB_CACHE").empty() ? fs::path(env("HUGGINGFACE_HUB_CACHE"))
                                                          : hfHome / "hub";
    if (!env("HF_ENDPOINT").empty()) {
        s.endpoint = env("HF_ENDPOINT");
        while (!s.endpoint.empty() && s.endpoint.back() == '/')
            s.endpoint.pop_back();
    }
    s.token = !env("HF_TOKEN").empty() ? env("HF_TOKEN") : env("HUGGING_FACE_HUB_TOKEN");
    if (s.token.empty()) {
        std::ifstream tokenFile(hfHome / "token");
        std::getline(tokenFile, s.token);
    }
    s.offline = truthy(env("HF_HUB_OFFLINE")) || truthy(env("TRANSFORMERS_OFFLINE"));
    // LLaMA-Factory's switches between hubs.
    if (truthy(env("USE_MODELSCOPE_HUB")))
        s.hub = HubKind::ModelScope;
    else if (truthy(env("USE_OPENMIND_HUB")))
        s.hub = HubKind::Modelers;
    if (!env("MODELSCOPE_DOMAIN").empty()) {
        const std::string domain = env("MODELSCOPE_DOMAIN");
        s.msEndpoint = domain.find("://") == std::string::npos ? "https://" + domain : domain;
        while (!s.msEndpoint.empty() && s.msEndpoint.back() == '/')
            s.msEndpoint.pop_back();
    }
    s.msCacheDir = !env("MODELSCOPE_CACHE").empty() ? fs::path(env("MODELSCOPE_CACHE"))
                                                     : fs::path(home) / ".cache" / "modelscope" / "hub";
    s.msToken = env("MODELSCOPE_API_TOKEN");
    const fs::path xdgCache = !env("XDG_CACHE_HOME").empty() ? fs::path(env("XDG_CACHE_HOME")) : fs::path(home) / ".cache";
    s.omCacheDir = !env("OPENMIND_HUB_CACHE").empty() ? fs::path(env("OPENMIND_HUB_CACHE")) : xdgCache / "openmind" / "hub";
    if (!env("OPENMIND_HUB_ENDPOINT").empty()) {
        s.omEndpoint = env("OPENMIND_HUB_ENDPOINT");
        while (!s.omEndpoint.empty() && s.omEndpoint.back() == '/')
            s.omEndpoint.pop_back();
    }
    s.omToken = env("OPENMIND_HUB_TOKEN");
    return s;
}

bool looksLikeRepoId(const std::string& text)
{
    static const std::regex id(R"(^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$)");
    std::error_code ec;
    if (text.empty() || fs::exists(text, ec) || !std::regex_match(text, id))
        return false;
    return text.find("..") == std::string::npos && text.find('/') != std::string::npos;
}

fs::path repoCacheDir(const HubSettings& settings, const std::string& repoId, bool dataset)
{
    std::string name = dataset ? "datasets--" : "models--";
    for (char c : repoId)
        name += c == '/' ? std::string("--") : std::string(1, c);
    return settings.cacheDir / name;
}

std::optional<fs::path> cachedSnapshot(const HubSettings& settings, const std::string& repoId, const std::string& revision)
{
    if (settings.hub == HubKind::ModelScope) {
        std::error_code ec;
        for (const auto& dir : modelScopeDirs(settings, repoId, false))
            if (fs::is_directory(dir, ec))
                return dir;
        return std::nullopt;
    }
    HubSettings layout = settings;
    if (settings.hub == HubKind::Modelers) // openmind_hub keeps huggingface_hub's layout in its own cache
        layout.cacheDir = settings.omCacheDir;
    const fs::path repo = repoCacheDir(layout, repoId);
    std::error_code ec;
    std::string commit = revision;
    const fs::path ref = repo / "refs" / revision;
    if (fs::is_regular_file(ref, ec)) {
        std::ifstream in(ref);
        std::getline(in, commit);
    }
    const fs::path snapshot = repo / "snapshots" / commit;
    if (!commit.empty() && fs::is_directory(snapshot, ec))
        return snapshot;
    return std::nullopt;
}

std::vector<std::string> filesToFetch(const std::vector<std::string>& files)
{
    const bool hasSafetensors = std::any_of(files.begin(), files.end(), [](const std::string& f) {
        return f.find('/') == std::string::npos && f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0;
    });
    static const std::vector<std::string> named = {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja", "chat_template.json",
        "model.safetensors.index.json", "adapter_config.json", "value_head.safetensors", "preprocessor_config.json"};
    std::vector<std::string> out;
    for (const auto& f : files) {
        if (f.find('/') != std::string::npos) // subfolders (onnx/, original/, gguf variants) are other formats
            continue;
        const bool weights = f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0;
        const bool binWeights = !hasSafetensors && (f == "pytorch_model.bin" || f == "adapter_model.bin" ||
                                                    f == "pytorch_model.bin.index.json" ||
                                                    (f.rfind("pytorch_model-", 0) == 0 && f.size() > 4 &&
                                                     f.compare(f.size() - 4, 4, ".bin") == 0));
        if (weights || binWeights || std::find(named.begin(), named.end(), f) != named.end())
            out.push_back(f);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Download
// ---------------------------------------------------------------------------------------------------------

namespace {

std::string lowerExtension(const std::string& path)
{
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    return ext;
}

/// The data files of a dataset repo under `folder` (all of them when empty).
std::vector<std::string> dataFilesToFetch(const std::vector<std::string>& files, const std::string& folder)
{
    std::string prefix = folder;
    while (!prefix.empty() && prefix.back() == '/')
        prefix.pop_back();
    if (!prefix.empty())
        prefix += '/';
    std::vector<std::string> out;
    for (const auto& f : files) {
        const std::string ext = lowerExtension(f);
        if ((ext == ".json" || ext == ".jsonl" || ext == ".csv" || ext == ".txt" || ext == ".parquet") &&
            f.compare(0, prefix.size(), prefix) == 0 && fs::path(f).filename().string()[0] != '.')
            out.push_back(f);
    }
    return out;
}

/// The folder a dataset is read from: where its files are (one folder), preferring the split's files when they
/// are spread over several.
fs::path dataFolderOf(const fs::path& root, const std::vector<std::string>& files, const std::string& split,
                      const std::string& what)
{
    std::map<std::string, int> byFolder;
    for (const auto& f : files)
        ++byFolder[fs::path(f).parent_path().string()];
    if (byFolder.size() == 1)
        return root / byFolder.begin()->first;
    for (const auto& [folder, n] : byFolder)
        if (!split.empty() && fs::path(folder).filename().string() == split)
            return root / folder;
    std::string list;
    for (const auto& [folder, n] : byFolder)
        list += (list.empty() ? "" : ", ") + (folder.empty() ? std::string(".") : folder);
    fail(what, ": its data files are in several folders (", list, "); set \"folder\" in dataset_info.json to one of them");
}

std::string modelScopeRevision(const std::string& revision)
{
    return revision.empty() || revision == "main" ? "master" : revision; // as LLaMA-Factory maps it
}

/// ModelScope's cache folder of a repo: <cache>/models/<org>/<name with . as ___> (the SDK's current layout);
/// the older <cache>/models/<org>/<name> and <cache>/<org>/<name> are read too.
std::vector<fs::path> modelScopeDirs(const HubSettings& s, const std::string& repoId, bool dataset)
{
    std::string escaped = repoId;
    for (std::size_t at = escaped.find('.', escaped.find('/') + 1); at != std::string::npos; at = escaped.find('.', at + 3))
        escaped.replace(at, 1, "___");
    const fs::path base = s.msCacheDir / (dataset ? "datasets" : "models");
    return {base / escaped, base / repoId, s.msCacheDir / repoId};
}

/// What to fetch of a repo's listing: a model's files (filesToFetch) or a dataset's data files under `folder` and its
/// card (README.md, whose configs name each subset's files). Throws lathe::Error when there is none, or when the
/// listing names a path outside the repo.
std::vector<std::string> filesOfListing(const std::vector<std::string>& all, bool dataset, const std::string& folder,
                                        const std::string& what)
{
    std::vector<std::string> files = dataset ? dataFilesToFetch(all, folder) : filesToFetch(all);
    if (files.empty())
        fail(what, dataset ? ": the repo has no .json, .jsonl, .csv, .txt or .parquet file" + (folder.empty() ? std::string() : " under " + folder)
                           : std::string(": the repo has no config, tokenizer or safetensors file to download"));
    if (dataset && std::find(all.begin(), all.end(), "README.md") != all.end())
        files.push_back("README.md");
    for (const auto& f : files)
        if (f.empty() || f.find("..") != std::string::npos || f.front() == '/')
            fail(what, ": the listing names an unsafe path: ", f);
    return files;
}

/// snapshots/<commit>/<path> -> ../../blobs/<etag> (one more ../ per folder of the path), as huggingface_hub links them.
void linkIntoSnapshot(const fs::path& snapshot, const std::string& path, const std::string& etag, const fs::path& blob)
{
    std::error_code ec;
    const fs::path link = snapshot / path;
    fs::create_directories(link.parent_path());
    std::string up = "../../";
    for (char c : path)
        if (c == '/')
            up += "../";
    if (fs::is_symlink(link, ec) || fs::exists(link, ec))
        fs::remove(link, ec);
    fs::create_symlink(up + "blobs/" + etag, link, ec);
    if (ec) // file systems without symlinks: a copy, as huggingface_hub does on Windows
        fs::copy_file(blob, link, fs::copy_options::overwrite_existing);
}

/// The end of a download in huggingface_hub's layout: refs/<revision> -> commit, the last progress report and log line,
/// the files fetched; returns the snapshot folder.
fs::path finishSnapshot(const fs::path& repoDir, const std::string& revision, const std::string& commit,
                        const fs::path& snapshot, Fetch& fetch, const HubOptions& options,
                        const std::vector<std::string>& files, std::vector<std::string>* fetched)
{
    if (revision != commit) {
        fs::create_directories(repoDir / "refs");
        writeTextFileAtomic((repoDir / "refs" / revision).string(), commit);
    }
    fetch.fileIndex = fetch.fileCount;
    fetch.report("", fetch.total);
    if (options.log)
        options.log(fetch.what + " (" + commit.substr(0, 12) + ") ready in " + snapshot.string());
    if (fetched)
        *fetched = files;
    return snapshot;
}

fs::path downloadFromHuggingFace(const std::string& repoId, bool dataset, const std::string& folder, const HubOptions& options,
                                 std::vector<std::string>* fetched)
{
    const HubSettings& s = options.settings;
    const std::string revision = options.revision.empty() ? std::string("main") : options.revision;
    const std::string kind = dataset ? "dataset" : "model";
    const std::string what = kind + " " + repoId;
    const fs::path repoDir = repoCacheDir(s, repoId, dataset);
    const std::string apiPath = s.endpoint + (dataset ? "/api/datasets/" : "/api/models/") + repoId + "/revision/" + urlEncodePath(revision);
    RequestOptions get;
    get.token = s.token;
    const HttpResponse info = httpRequest(apiPath, get, what);
    if (info.status != 200)
        fail(what, ": ", statusProblem(info.status, repoId, s.endpoint, s.token));
    nlohmann::json meta = parseJsonOrDiscard<nlohmann::json>(info.body, repoId + " listing");
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("sha") || !meta["sha"].is_string() ||
        !meta.contains("siblings") || !meta["siblings"].is_array())
        fail(what, ": the hub's file listing is not what huggingface_hub expects (", s.endpoint, ")");
    const std::string commit = meta["sha"].get<std::string>();
    if (commit.empty() || commit.find('/') != std::string::npos || commit.find("..") != std::string::npos)
        fail(what, ": the hub's listing names no usable commit");
    std::vector<std::string> all;
    for (const auto& f : meta["siblings"])
        if (f.is_object() && f.contains("rfilename") && f["rfilename"].is_string())
            all.push_back(f["rfilename"].get<std::string>());
    const std::vector<std::string> files = filesOfListing(all, dataset, folder, what);

    const fs::path snapshot = repoDir / "snapshots" / commit;
    fs::create_directories(repoDir / "blobs");
    fs::create_directories(snapshot);

    // What each file is: its ETag (the blob's name), size and URL, from a HEAD on resolve/ without following the
    // redirect (the hub's own answer carries X-Linked-Etag and X-Linked-Size for LFS files).
    struct FileInfo
    {
        std::string path, etag, url;
        std::int64_t size = 0;
    };
    std::vector<FileInfo> infos;
    Fetch fetch;
    fetch.what = what;
    fetch.options = &options;
    fetch.token = s.token;
    fetch.endpoint = s.endpoint;
    for (const auto& f : files) {
        RequestOptions ho;
        ho.head = true;
        ho.followRedirects = false;
        ho.token = s.token;
        FileInfo fi;
        fi.path = f;
        fi.url = s.endpoint + (dataset ? "/datasets/" : "/") + repoId + "/resolve/" + commit + "/" + urlEncodePath(f);
        const HttpResponse h = httpRequest(fi.url, ho, what + " file " + f);
        if (h.status >= 400)
            fail(what, " file ", f, ": ", statusProblem(h.status, repoId, s.endpoint, s.token));
        auto header = [&](const char* name) {
            const auto it = h.headers.find(name);
            return it == h.headers.end() ? std::string() : it->second;
        };
        fi.etag = normalizeEtag(!header("x-linked-etag").empty() ? header("x-linked-etag") : header("etag"));
        const std::string size = !header("x-linked-size").empty() ? header("x-linked-size") : header("content-length");
        fi.size = size.empty() ? 0 : std::strtoll(size.c_str(), nullptr, 10);
        if (fi.etag.empty() || fi.etag.find('/') != std::string::npos || fi.etag.find("..") != std::string::npos)
            fail(what, " file ", f, ": the hub gave no usable ETag (", s.endpoint, ")");
        fetch.total += fi.size;
        std::error_code ec;
        if (fs::exists(repoDir / "blobs" / fi.etag, ec))
            fetch.done += fi.size;
        infos.push_back(fi);
    }
    fetch.fileCount = std::int64_t(infos.size());
    for (std::size_t i = 0; i < infos.size(); ++i) {
        const FileInfo& fi = infos[i];
        fetch.fileIndex = std::int64_t(i) + 1;
        const fs::path blob = repoDir / "blobs" / fi.etag;
        std::error_code ec;
        if (!fs::exists(blob, ec))
            fetchFile(fetch, fi.path, fi.url, blob, fi.size, isSha256Hex(fi.etag) ? fi.etag : std::string());
        linkIntoSnapshot(snapshot, fi.path, fi.etag, blob);
    }
    return finishSnapshot(repoDir, revision, commit, snapshot, fetch, options, files, fetched);
}

// Python pickles of str -> str dicts (protocol 2: BINUNICODE strings, no memo), for the modelscope SDK's own index
// files: `.mdl` {'id': 'org/name'} and `.msc` [{'Path': file, 'Revision': commit}, ...] (its FileSystemCache).
void pickleString(std::string& out, const std::string& text)
{
    out += 'X';
    const auto n = std::uint32_t(text.size());
    for (int i = 0; i < 4; ++i)
        out += char((n >> (8 * i)) & 0xff);
    out += text;
}

std::string pickleDict(const std::vector<std::pair<std::string, std::string>>& items, bool alone = true)
{
    std::string out = alone ? std::string("\x80\x02", 2) : std::string();
    out += "}(";
    for (const auto& [key, value] : items) {
        pickleString(out, key);
        pickleString(out, value);
    }
    out += 'u';
    if (alone)
        out += '.';
    return out;
}

/// Writes the modelscope SDK's `.mdl` and `.msc` beside the files of `dir`, so the SDK finds them cached (it
/// re-downloads files its index does not list).
void writeModelScopeIndex(const fs::path& dir, const std::string& repoId,
                          const std::vector<std::pair<std::string, std::string>>& files)
{
    writeTextFileAtomic((dir / ".mdl").string(), pickleDict({{"id", repoId}}));
    std::string list = std::string("\x80\x02", 2) + "](";
    for (const auto& [path, revision] : files)
        list += pickleDict({{"Path", path}, {"Revision", revision}}, false);
    list += "e.";
    writeTextFileAtomic((dir / ".msc").string(), list);
}

fs::path downloadFromModelScope(const std::string& repoId, bool dataset, const std::string& folder, const HubOptions& options,
                                std::vector<std::string>* fetched)
{
    const HubSettings& s = options.settings;
    const std::string revision = modelScopeRevision(options.revision);
    const std::string kind = dataset ? "dataset" : "model";
    const std::string what = kind + " " + repoId;
    const std::string api = s.msEndpoint + (dataset ? "/api/v1/datasets/" : "/api/v1/models/") + repoId;
    RequestOptions get;
    get.token = s.msToken;
    const HttpResponse info =
        httpRequest(api + "/repo/files?Revision=" + urlEncodePath(revision) + "&Recursive=true", get, what);
    if (info.status != 200)
        fail(what, ": ", statusProblem(info.status, repoId, s.msEndpoint, s.msToken));
    nlohmann::json meta = parseJsonOrDiscard<nlohmann::json>(info.body, repoId + " listing");
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("Data") || !meta["Data"].is_object() ||
        !meta["Data"].contains("Files") || !meta["Data"]["Files"].is_array())
        fail(what, ": ModelScope's file listing is not what the modelscope SDK expects (", s.msEndpoint, ")");
    std::map<std::string, std::pair<std::int64_t, std::string>> sizes; // path -> size, sha256
    std::map<std::string, std::string> revisions;                      // path -> the commit the listing names
    std::vector<std::string> all;
    for (const auto& f : meta["Data"]["Files"]) {
        if (!f.is_object() || f.value("Type", std::string("blob")) != "blob" || !f.contains("Path") || !f["Path"].is_string())
            continue;
        const std::string path = f["Path"].get<std::string>();
        all.push_back(path);
        sizes[path] = {f.contains("Size") && f["Size"].is_number() ? f["Size"].get<std::int64_t>() : 0,
                       f.contains("Sha256") && f["Sha256"].is_string() ? f["Sha256"].get<std::string>() : std::string()};
        revisions[path] = f.contains("Revision") && f["Revision"].is_string() ? f["Revision"].get<std::string>() : revision;
    }
    const std::vector<std::string> files = filesOfListing(all, dataset, folder, what);
    const fs::path dir = modelScopeDirs(s, repoId, dataset).front();
    Fetch fetch;
    fetch.what = what;
    fetch.options = &options;
    fetch.token = s.msToken;
    fetch.endpoint = s.msEndpoint;
    std::error_code ec;
    for (const auto& f : files) {
        fetch.total += sizes[f].first;
        if (fs::exists(dir / f, ec) && std::int64_t(fs::file_size(dir / f, ec)) == sizes[f].first)
            fetch.done += sizes[f].first;
    }
    fetch.fileCount = std::int64_t(files.size());
    std::vector<std::pair<std::string, std::string>> indexed; // what the SDK's .msc lists: the files in place
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string& f = files[i];
        fetch.fileIndex = std::int64_t(i) + 1;
        const auto& [size, sha] = sizes[f];
        if (!(fs::exists(dir / f, ec) && std::int64_t(fs::file_size(dir / f, ec)) == size))
            fetchFile(fetch, f, api + "/repo?Revision=" + urlEncodePath(revision) + "&FilePath=" + urlEncodePath(f),
                      dir / f, size, isSha256Hex(sha) ? sha : std::string());
        indexed.emplace_back(f, revisions[f]);
        if (!dataset) // the model cache's index, after each file as the SDK saves it (datasets have their own)
            writeModelScopeIndex(dir, repoId, indexed);
    }
    fetch.fileIndex = fetch.fileCount;
    fetch.report("", fetch.total);
    if (options.log)
        options.log(what + " ready in " + dir.string());
    if (fetched)
        *fetched = files;
    return dir;
}

fs::path downloadFromModelers(const std::string& repoId, bool dataset, const std::string& folder, const HubOptions& options,
                              std::vector<std::string>* fetched)
{
    const HubSettings& s = options.settings;
    const std::string revision = options.revision.empty() ? std::string("main") : options.revision;
    const std::string kind = dataset ? "dataset" : "model";
    const std::string what = kind + " " + repoId;
    const std::string api = s.omEndpoint + "/api/v1/file/" + repoId;
    RequestOptions get;
    get.token = s.omToken;
    // The listing: each folder's tree, the folders it names listed in turn (openmind_hub's list_repo_tree).
    std::vector<std::string> all, folders{""};
    for (std::size_t i = 0; i < folders.size(); ++i) {
        if (folders.size() > 10000)
            fail(what, ": the listing has more than 10000 folders");
        const HttpResponse r =
            httpRequest(api + "?ref=" + urlEncodePath(revision) + "&path=" + urlEncodePath(folders[i]), get, what);
        if (r.status != 200)
            fail(what, ": ", statusProblem(r.status, repoId, s.omEndpoint, s.omToken));
        const auto body = parseJsonOrDiscard<nlohmann::json>(r.body, repoId + " listing");
        if (body.is_discarded() || !body.is_object() || !body.contains("data") || !body["data"].is_object() ||
            !body["data"].contains("tree") || !body["data"]["tree"].is_array())
            fail(what, ": the Modelers listing is not what openmind_hub expects (", s.omEndpoint, ")");
        for (const auto& entry : body["data"]["tree"]) {
            if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string())
                continue;
            const std::string path = entry["path"].get<std::string>();
            if (entry.value("type", std::string()) == "dir") {
                if (std::find(folders.begin(), folders.end(), path) == folders.end())
                    folders.push_back(path);
            } else {
                all.push_back(path);
            }
        }
    }
    const std::vector<std::string> files = filesOfListing(all, dataset, folder, what);
    // Each file's commit, ETag and size (get_om_file_metadata).
    struct FileInfo
    {
        std::string path, etag;
        std::int64_t size = 0;
    };
    std::vector<FileInfo> infos;
    std::string commit;
    static const std::regex hex40("^[0-9a-f]{40}$"), hex40or64("^([0-9a-f]{40}|[0-9a-f]{64})$");
    for (const auto& f : files) {
        const HttpResponse r =
            httpRequest(api + "/info?ref=" + urlEncodePath(revision) + "&path=" + urlEncodePath(f), get, what + " file " + f);
        if (r.status != 200)
            fail(what, " file ", f, ": ", statusProblem(r.status, repoId, s.omEndpoint, s.omToken));
        const auto body = parseJsonOrDiscard<nlohmann::json>(r.body, repoId + " file " + f);
        const auto data = body.is_object() && body.contains("data") && body["data"].is_object() ? body["data"] : nlohmann::json();
        if (!data.is_object() || !data.contains("branch_last_commit") || !data["branch_last_commit"].is_string() ||
            !data.contains("etag") || !data["etag"].is_string())
            fail(what, " file ", f, ": the Modelers file information names no commit or ETag (", s.omEndpoint, ")");
        FileInfo fi;
        fi.path = f;
        fi.etag = normalizeEtag(data["etag"].get<std::string>());
        fi.size = data.contains("size") && data["size"].is_number_integer() ? data["size"].get<std::int64_t>() : 0;
        const std::string fileCommit = data["branch_last_commit"].get<std::string>();
        if (!std::regex_match(fileCommit, hex40) || !std::regex_match(fi.etag, hex40or64))
            fail(what, " file ", f, ": the Modelers file information has no usable commit or ETag (", s.omEndpoint, ")");
        if (commit.empty())
            commit = fileCommit;
        infos.push_back(fi);
    }
    HubSettings layout = s;
    layout.cacheDir = s.omCacheDir; // openmind_hub keeps huggingface_hub's layout in its own cache
    const fs::path repoDir = repoCacheDir(layout, repoId, dataset);
    const fs::path snapshot = repoDir / "snapshots" / commit;
    fs::create_directories(repoDir / "blobs");
    fs::create_directories(snapshot);
    Fetch fetch;
    fetch.what = what;
    fetch.options = &options;
    fetch.token = s.omToken;
    fetch.endpoint = s.omEndpoint;
    std::error_code ec;
    for (const auto& fi : infos) {
        fetch.total += fi.size;
        if (fs::exists(repoDir / "blobs" / fi.etag, ec))
            fetch.done += fi.size;
    }
    fetch.fileCount = std::int64_t(infos.size());
    for (std::size_t i = 0; i < infos.size(); ++i) {
        const FileInfo& fi = infos[i];
        fetch.fileIndex = std::int64_t(i) + 1;
        const fs::path blob = repoDir / "blobs" / fi.etag;
        if (!fs::exists(blob, ec))
            fetchFile(fetch, fi.path, api + "/" + urlEncodePath(revision) + "/media/" + urlEncodePath(fi.path), blob, fi.size,
                      fi.etag.size() == 64 ? fi.etag : std::string(), fi.etag.size() == 40 ? fi.etag : std::string());
        linkIntoSnapshot(snapshot, fi.path, fi.etag, blob);
    }
    return finishSnapshot(repoDir, revision, commit, snapshot, fetch, options, files, fetched);
}

const char* hubName(HubKind hub)
{
    return hub == HubKind::ModelScope ? "ModelScope" : hub == HubKind::Modelers ? "Modelers (openMind)" : "Hugging Face";
}

} // namespace

fs::path downloadSnapshot(const std::string& repoId, const HubOptions& options)
{
    const HubSettings& s = options.settings;
    if (s.offline) {
        if (const auto snap = cachedSnapshot(s, repoId, options.revision.empty() ? "main" : options.revision))
            return *snap;
        fail("model ", repoId, " (revision ", options.revision, ") is not in the ", hubName(s.hub), " cache ",
             (s.hub == HubKind::ModelScope ? s.msCacheDir : s.hub == HubKind::Modelers ? s.omCacheDir : s.cacheDir).string(),
             " and HF_HUB_OFFLINE is set: download it once with the network, or unset HF_HUB_OFFLINE");
    }
    if (s.hub == HubKind::ModelScope)
        return downloadFromModelScope(repoId, false, "", options, nullptr);
    if (s.hub == HubKind::Modelers)
        return downloadFromModelers(repoId, false, "", options, nullptr);
    return downloadFromHuggingFace(repoId, false, "", options, nullptr);
}

fs::path resolveModelPath(const std::string& pathOrId, const HubOptions& options)
{
    std::error_code ec;
    if (pathOrId.empty() || fs::exists(pathOrId, ec) || !looksLikeRepoId(pathOrId))
        return pathOrId;
    const std::string revision = options.revision.empty() ? "main" : options.revision;
    if (const auto snap = cachedSnapshot(options.settings, pathOrId, revision)) {
        if (options.settings.offline || snapshotLooksComplete(*snap)) {
            if (options.log)
                options.log("Model " + pathOrId + " from the " + hubName(options.settings.hub) + " cache: " + snap->string());
            return *snap;
        }
    }
    if (options.log && !options.settings.offline) {
        const HubSettings& s = options.settings;
        const bool ms = s.hub == HubKind::ModelScope, om = s.hub == HubKind::Modelers;
        options.log("Downloading " + pathOrId + " (revision " + revision + ") from " + hubName(s.hub) + " (" +
                    (ms ? s.msEndpoint : om ? s.omEndpoint : s.endpoint) + ") into " +
                    (ms ? s.msCacheDir : om ? s.omCacheDir : s.cacheDir).string());
    }
    return downloadSnapshot(pathOrId, options);
}

fs::path resolveDatasetRepo(const std::string& repoId, HubKind hub, const std::string& folder, const std::string& split,
                            const std::string& subset, const HubOptions& given)
{
    HubOptions options = given;
    options.settings.hub = hub;
    const std::string what = "dataset " + repoId;
    std::vector<std::string> files;
    fs::path root;
    if (hub == HubKind::HuggingFace || hub == HubKind::Modelers) {
        // Both keep huggingface_hub's layout, each in its own cache.
        HubSettings layout = options.settings;
        if (hub == HubKind::Modelers)
            layout.cacheDir = options.settings.omCacheDir;
        const auto cached = [&]() -> std::optional<fs::path> {
            const fs::path repo = repoCacheDir(layout, repoId, true);
            std::error_code ec;
            std::string commit = options.revision.empty() ? "main" : options.revision;
            if (fs::is_regular_file(repo / "refs" / commit, ec)) {
                std::ifstream in(repo / "refs" / commit);
                std::getline(in, commit);
            }
            if (fs::is_directory(repo / "snapshots" / commit, ec))
                return repo / "snapshots" / commit;
            return std::nullopt;
        }();
        if (cached) {
            std::error_code ec;
            for (auto it = fs::recursive_directory_iterator(*cached, ec); it != fs::recursive_directory_iterator(); ++it)
                if (!it->is_directory(ec))
                    files.push_back(fs::relative(it->path(), *cached, ec).generic_string());
            files = dataFilesToFetch(files, folder);
        }
        if (cached && !files.empty()) {
            root = *cached;
        } else if (options.settings.offline) {
            fail(what, " is not in the ", hubName(hub), " cache ", layout.cacheDir.string(), " and HF_HUB_OFFLINE is set");
        } else if (hub == HubKind::Modelers) {
            if (options.log)
                options.log("Downloading " + what + " from Modelers (" + options.settings.omEndpoint + ")");
            root = downloadFromModelers(repoId, true, folder, options, &files);
        } else {
            if (options.log)
                options.log("Downloading " + what + " from " + options.settings.endpoint);
            root = downloadFromHuggingFace(repoId, true, folder, options, &files);
        }
    } else {
        const fs::path dir = modelScopeDirs(options.settings, repoId, true).front();
        std::error_code ec;
        if (options.settings.offline) {
            if (!fs::is_directory(dir, ec))
                fail(what, " is not in the ModelScope cache ", options.settings.msCacheDir.string(), " and HF_HUB_OFFLINE is set");
            for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it)
                if (!it->is_directory(ec))
                    files.push_back(fs::relative(it->path(), dir, ec).generic_string());
            files = dataFilesToFetch(files, folder);
            root = dir;
        } else {
            if (options.log)
                options.log("Downloading " + what + " from ModelScope (" + options.settings.msEndpoint + ")");
            root = downloadFromModelScope(repoId, true, folder, options, &files);
        }
    }
    // The data files (the card aside), then the named configuration's among them.
    std::error_code ec;
    const bool hasCard = fs::exists(root / "README.md", ec);
    files.erase(std::remove(files.begin(), files.end(), std::string("README.md")), files.end());
    if (files.empty())
        fail(what, ": no data file found");
    if (!subset.empty()) {
        const auto chosen =
            hasCard ? dataFilesOfConfig(readTextFile((root / "README.md").string()), subset, split, files, what)
                    : std::nullopt;
        if (chosen) {
            if (chosen->empty())
                fail(what, ": configuration \"", subset, "\" names no file the repo has");
            if (chosen->size() == 1)
                return root / chosen->front();
            const fs::path dir = dataFolderOf(root, *chosen, split, what);
            std::size_t inDir = 0;
            for (const auto& f : files)
                inDir += root / fs::path(f).parent_path() == dir;
            if (inDir != chosen->size())
                fail(what, ": configuration \"", subset, "\" names ", chosen->size(), " of the files in ", dir.string(),
                     "; set \"folder\" or \"file_name\" in dataset_info.json to the ones to read");
            return dir;
        }
        // No configs in the card: a folder named like the subset (the datasets library's layout by directory).
        std::vector<std::string> under;
        for (const auto& f : files)
            if (f.rfind(subset + "/", 0) == 0 || f.find("/" + subset + "/") != std::string::npos)
                under.push_back(f);
        if (!under.empty())
            return dataFolderOf(root, under, split, what);
        if (subset != "default")
            fail(what, ": no configuration named \"", subset, "\" (its card lists none and no folder has that name)");
    }
    return dataFolderOf(root, files, split, what);
}

std::string formatHubProgress(const HubProgress& p)
{
    auto mb = [](double bytes) { return bytes / (1024.0 * 1024.0); };
    const long left = long(p.secondsLeft);
    char line[256];
    std::snprintf(line, sizeof line, "file %lld/%lld %s  %.1f/%.1f MB  %.1f MB/s  %ld:%02ld:%02ld", (long long)p.fileIndex,
                  (long long)p.fileCount, p.file.c_str(), mb(double(p.bytesDone)), mb(double(p.bytesTotal)),
                  mb(p.bytesPerSecond), left / 3600, (left / 60) % 60, left % 60);
    return line;
}

} // namespace lathe
