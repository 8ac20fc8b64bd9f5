#include "hub/hub.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>

#include <unistd.h>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

// ---------------------------------------------------------------------------------------------------------
// HTTP through libcurl
// ---------------------------------------------------------------------------------------------------------

struct CurlGlobal
{
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~CurlGlobal() { curl_global_cleanup(); }
};

void ensureCurl()
{
    static CurlGlobal global;
}

struct HttpResponse
{
    long status = 0;
    std::map<std::string, std::string> headers; ///< of the last response, names lower-case
    std::string body;                           ///< when no sink was given
};

struct Transfer
{
    HttpResponse* response = nullptr;
    std::FILE* sink = nullptr;
    std::string sinkPath;
    int writeErrno = 0;
    std::function<bool(std::int64_t)> onBytes; ///< bytes received so far this request; false cancels
    std::int64_t received = 0;
    std::int64_t rangeFrom = 0; ///< the file already holds this many bytes (a Range request)
    bool restarted = false;     ///< the server ignored the range: the file was emptied and written from 0
};

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    const std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) { // a new response (after a redirect): start over
        t->response->headers.clear();
        return size * count;
    }
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.erase(value.begin());
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
            value.pop_back();
        t->response->headers[name] = value;
    }
    return size * count;
}

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    // Only a successful (or partial-content) answer goes to the file; an error page stays in memory.
    if (t->sink && t->response->status < 300) {
        if (t->received == 0 && t->rangeFrom > 0 && t->response->status == 200 && !t->restarted) {
            // 200 to a Range request: the whole file follows, so it replaces the partial bytes.
            std::fflush(t->sink);
            if (ftruncate(fileno(t->sink), 0) != 0 || std::fseek(t->sink, 0, SEEK_SET) != 0) {
                t->writeErrno = errno ? errno : EIO;
                return 0;
            }
            t->restarted = true;
        }
        if (std::fwrite(data, 1, n, t->sink) != n) {
            t->writeErrno = errno ? errno : EIO;
            return 0;
        }
    } else if (t->response->body.size() < (std::size_t(1) << 26)) {
        t->response->body.append(data, n);
    }
    t->received += std::int64_t(n);
    if (t->onBytes && !t->onBytes(t->received))
        return 0;
    return n;
}

struct RequestOptions
{
    bool head = false;
    bool followRedirects = true;
    std::string token;
    std::int64_t rangeFrom = -1;
};

HttpResponse request(const std::string& url, const RequestOptions& o, Transfer& t, const std::string& what)
{
    ensureCurl();
    HttpResponse response;
    t.response = &response;
    CURL* curl = curl_easy_init();
    if (!curl)
        fail(what, ": cannot start an HTTP client");
    curl_slist* headers = nullptr;
    if (!o.token.empty())
        headers = curl_slist_append(headers, ("Authorization: Bearer " + o.token).c_str());
    headers = curl_slist_append(headers, "Accept-Encoding: identity");
    headers = curl_slist_append(headers, "User-Agent: lathe (huggingface_hub-compatible)");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOBODY, o.head ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, o.followRedirects ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
    // A stalled transfer (under 1 KB/s for 60 s) fails instead of hanging forever.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    std::string range;
    if (o.rangeFrom > 0) {
        range = std::to_string(o.rangeFrom) + "-";
        curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
        t.rangeFrom = o.rangeFrom;
    }
    // The status is known once the headers are in: record it before the body arrives (onBody checks it).
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, +[](char* data, std::size_t size, std::size_t count, void* user) -> std::size_t {
        auto* tr = static_cast<Transfer*>(user);
        const std::string line(data, size * count);
        if (line.rfind("HTTP/", 0) == 0) {
            const auto sp = line.find(' ');
            tr->response->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
            // A redirect's own status is replaced by the next response's.
        }
        return onHeader(data, size, count, user);
    });
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (t.writeErrno)
        fail(what, ": ", writeFailure(t.sinkPath, t.writeErrno));
    if (rc == CURLE_ABORTED_BY_CALLBACK || (rc == CURLE_WRITE_ERROR && t.onBytes))
        fail(what, ": cancelled (the partial download is kept and resumes next time)");
    if (rc != CURLE_OK)
        fail(what, ": cannot reach ", url, ": ", curl_easy_strerror(rc),
             " (no network? set HF_ENDPOINT to a mirror, or HF_HUB_OFFLINE=1 to use only the local cache)");
    response.status = status;
    return response;
}

std::string statusProblem(long status, const std::string& repoId, const std::string& endpoint, const std::string& token)
{
    if (status == 401 || status == 403)
        return token.empty() ? "the repo " + repoId + " is gated or private: accept its terms on " + endpoint + "/" + repoId +
                                   " and set HF_TOKEN to an access token (or write it to $HF_HOME/token)"
                             : "the repo " + repoId + " refuses the token in HF_TOKEN (HTTP " + std::to_string(status) +
                                   "): is access to it granted for that account?";
    if (status == 404)
        return "no repo " + repoId + " on " + endpoint + " (check the spelling; a private repo needs HF_TOKEN)";
    return "HTTP " + std::to_string(status) + " from " + endpoint;
}

std::string normalizeEtag(std::string etag)
{
    if (etag.rfind("W/", 0) == 0)
        etag = etag.substr(2);
    etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
    return etag;
}

bool isSha256Hex(const std::string& s)
{
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string sha256File(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path.string(), ": cannot be read");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        if (in.gcount() > 0)
            EVP_DigestUpdate(ctx, buf.data(), std::size_t(in.gcount()));
    }
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
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

std::string urlEncodePath(const std::string& path)
{
    std::string out;
    for (unsigned char c : path) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/')
            out += char(c);
        else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

} // namespace

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

fs::path repoCacheDir(const HubSettings& settings, const std::string& repoId)
{
    std::string name = "models--";
    for (char c : repoId)
        name += c == '/' ? std::string("--") : std::string(1, c);
    return settings.cacheDir / name;
}

std::optional<fs::path> cachedSnapshot(const HubSettings& settings, const std::string& repoId, const std::string& revision)
{
    const fs::path repo = repoCacheDir(settings, repoId);
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

fs::path downloadSnapshot(const std::string& repoId, const HubOptions& options)
{
    const HubSettings& s = options.settings;
    const std::string& revision = options.revision.empty() ? std::string("main") : options.revision;
    if (s.offline) {
        if (const auto snap = cachedSnapshot(s, repoId, revision))
            return *snap;
        fail("model ", repoId, " (revision ", revision, ") is not in the Hugging Face cache ", s.cacheDir.string(),
             " and HF_HUB_OFFLINE is set: download it once with the network, or unset HF_HUB_OFFLINE");
    }
    const fs::path repoDir = repoCacheDir(s, repoId);

    // The listing: the commit and the files.
    Transfer listing;
    RequestOptions get;
    get.token = s.token;
    const HttpResponse info = request(s.endpoint + "/api/models/" + repoId + "/revision/" + urlEncodePath(revision), get,
                                      listing, "model " + repoId);
    if (info.status != 200)
        fail("model ", repoId, ": ", statusProblem(info.status, repoId, s.endpoint, s.token));
    nlohmann::json meta = parseJsonOrDiscard<nlohmann::json>(info.body, repoId + " listing");
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("sha") || !meta["sha"].is_string() ||
        !meta.contains("siblings") || !meta["siblings"].is_array())
        fail("model ", repoId, ": the hub's file listing is not what huggingface_hub expects (", s.endpoint, ")");
    const std::string commit = meta["sha"].get<std::string>();
    std::vector<std::string> all;
    for (const auto& f : meta["siblings"])
        if (f.is_object() && f.contains("rfilename") && f["rfilename"].is_string())
            all.push_back(f["rfilename"].get<std::string>());
    const std::vector<std::string> files = filesToFetch(all);
    if (files.empty())
        fail("model ", repoId, ": the repo has no config, tokenizer or safetensors file to download");

    const fs::path snapshot = repoDir / "snapshots" / commit;
    fs::create_directories(repoDir / "blobs");
    fs::create_directories(snapshot);

    // What each file is: its ETag (the blob's name), size and download URL.
    struct FileInfo
    {
        std::string path, etag, url;
        std::int64_t size = 0;
    };
    std::vector<FileInfo> infos;
    std::int64_t total = 0, done = 0;
    for (const auto& f : files) {
        Transfer head;
        RequestOptions ho;
        ho.head = true;
        ho.followRedirects = false; // the hub's own answer carries X-Linked-Etag / X-Linked-Size
        ho.token = s.token;
        FileInfo fi;
        fi.path = f;
        fi.url = s.endpoint + "/" + repoId + "/resolve/" + commit + "/" + urlEncodePath(f);
        const HttpResponse h = request(fi.url, ho, head, "model " + repoId + " file " + f);
        if (h.status >= 400)
            fail("model ", repoId, " file ", f, ": ", statusProblem(h.status, repoId, s.endpoint, s.token));
        auto header = [&](const char* name) {
            const auto it = h.headers.find(name);
            return it == h.headers.end() ? std::string() : it->second;
        };
        fi.etag = normalizeEtag(!header("x-linked-etag").empty() ? header("x-linked-etag") : header("etag"));
        const std::string size = !header("x-linked-size").empty() ? header("x-linked-size") : header("content-length");
        fi.size = size.empty() ? 0 : std::strtoll(size.c_str(), nullptr, 10);
        if (fi.etag.empty() || fi.etag.find('/') != std::string::npos || fi.etag.find("..") != std::string::npos)
            fail("model ", repoId, " file ", f, ": the hub gave no usable ETag (", s.endpoint, ")");
        total += fi.size;
        std::error_code ec;
        if (fs::exists(repoDir / "blobs" / fi.etag, ec))
            done += fi.size;
        infos.push_back(fi);
    }

    const auto start = Clock::now();
    std::int64_t sessionBytes = 0;
    for (std::size_t i = 0; i < infos.size(); ++i) {
        const FileInfo& fi = infos[i];
        const fs::path blob = repoDir / "blobs" / fi.etag;
        const fs::path partial = fs::path(blob.string() + ".incomplete");
        std::error_code ec;
        if (!fs::exists(blob, ec)) {
            const std::int64_t have = fs::exists(partial, ec) ? std::int64_t(fs::file_size(partial, ec)) : 0;
            if (have > 0 && options.log)
                options.log("Resuming " + repoId + "/" + fi.path + " at " + std::to_string(have) + " of " +
                            std::to_string(fi.size) + " bytes");
            std::FILE* out = std::fopen(partial.c_str(), have > 0 ? "ab" : "wb");
            if (!out)
                fail("model ", repoId, " file ", fi.path, ": ", writeFailure(partial.string(), errno));
            Transfer t;
            t.sink = out;
            t.sinkPath = partial.string();
            const std::int64_t doneBefore = done + have;
            auto last = Clock::time_point{};
            t.onBytes = [&](std::int64_t received) {
                if (options.cancel && options.cancel->load())
                    return false;
                const auto now = Clock::now();
                if (options.progress && now - last > std::chrono::milliseconds(100)) {
                    last = now;
                    HubProgress p;
                    p.file = fi.path;
                    p.fileIndex = std::int64_t(i) + 1;
                    p.fileCount = std::int64_t(infos.size());
                    p.bytesDone = doneBefore + received;
                    p.bytesTotal = total;
                    const double seconds = std::chrono::duration<double>(now - start).count();
                    p.bytesPerSecond = seconds > 0 ? double(sessionBytes + received) / seconds : 0;
                    p.secondsLeft = p.bytesPerSecond > 0 ? double(total - p.bytesDone) / p.bytesPerSecond : 0;
                    options.progress(p);
                }
                return true;
            };
            RequestOptions go;
            go.token = s.token;
            go.rangeFrom = have;
            HttpResponse r;
            try {
                r = request(fi.url, go, t, "model " + repoId + " file " + fi.path);
            } catch (...) {
                std::fclose(out);
                throw;
            }
            if (std::fclose(out) != 0)
                fail("model ", repoId, " file ", fi.path, ": ", writeFailure(partial.string(), errno));
            sessionBytes += t.received;
            if (r.status == 416 && have > 0) {
                // The partial file is already whole (or longer): let the checks below judge it.
            } else if (r.status >= 400) {
                fail("model ", repoId, " file ", fi.path, ": ", statusProblem(r.status, repoId, s.endpoint, s.token));
            }
            const std::int64_t size = std::int64_t(fs::file_size(partial, ec));
            if (fi.size > 0 && size != fi.size) {
                fs::remove(partial, ec);
                fail("model ", repoId, " file ", fi.path, ": received ", size, " bytes, the hub announced ", fi.size,
                     " (the partial file was removed; run again)");
            }
            if (isSha256Hex(fi.etag)) {
                const std::string sum = sha256File(partial);
                if (sum != fi.etag) {
                    fs::remove(partial, ec);
                    fail("model ", repoId, " file ", fi.path, ": checksum mismatch (sha256 ", sum, ", expected ", fi.etag,
                         "); the corrupt download was removed, nothing was kept under its name");
                }
            }
            fs::rename(partial, blob);
            done += fi.size;
        }
        // snapshots/<commit>/<path> -> ../../blobs/<etag> (one more ../ per folder of the path)
        const fs::path link = snapshot / fi.path;
        fs::create_directories(link.parent_path());
        std::string up = "../../";
        for (char c : fi.path)
            if (c == '/')
                up += "../";
        if (fs::is_symlink(link, ec) || fs::exists(link, ec))
            fs::remove(link, ec);
        fs::create_symlink(up + "blobs/" + fi.etag, link, ec);
        if (ec) // file systems without symlinks: a copy, as huggingface_hub does on Windows
            fs::copy_file(blob, link, fs::copy_options::overwrite_existing);
    }
    if (revision != commit) {
        fs::create_directories(repoDir / "refs");
        writeTextFileAtomic((repoDir / "refs" / revision).string(), commit);
    }
    if (options.progress) {
        HubProgress p;
        p.fileIndex = p.fileCount = std::int64_t(infos.size());
        p.bytesDone = p.bytesTotal = total;
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        p.bytesPerSecond = seconds > 0 ? double(sessionBytes) / seconds : 0;
        options.progress(p);
    }
    if (options.log)
        options.log("Model " + repoId + " (" + commit.substr(0, 12) + ") ready in " + snapshot.string());
    return snapshot;
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
                options.log("Model " + pathOrId + " from the Hugging Face cache: " + snap->string());
            return *snap;
        }
    }
    if (options.log && !options.settings.offline)
        options.log("Downloading " + pathOrId + " (revision " + revision + ") from " + options.settings.endpoint +
                    " into " + options.settings.cacheDir.string());
    return downloadSnapshot(pathOrId, options);
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
