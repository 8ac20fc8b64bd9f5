#include "hub/hub_transfer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "util/edit_distance.h"
#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace hub_detail {

namespace {

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
    EVP_MD_CTX* hash = nullptr; ///< sha256 of what is written, as it is written (a download from byte 0)
    EVP_MD_CTX* restartHash = nullptr; ///< used as `hash` when a resumed download restarts from byte 0
};

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    const std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) { // a new response (after a redirect): start over, with its status
        t->response->headers.clear();
        const auto sp = line.find(' ');
        t->response->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
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
            if (t->restartHash) { // the whole file follows: hash it from the start
                t->hash = t->restartHash;
                EVP_DigestInit_ex(t->hash, EVP_sha256(), nullptr);
            }
        }
        if (std::fwrite(data, 1, n, t->sink) != n) {
            t->writeErrno = errno ? errno : EIO;
            return 0;
        }
        if (t->hash)
            EVP_DigestUpdate(t->hash, data, n);
    } else if (t->response->body.size() < (std::size_t(1) << 26)) {
        t->response->body.append(data, n);
    }
    t->received += std::int64_t(n);
    if (t->onBytes && !t->onBytes(t->received))
        return 0;
    return n;
}


HttpResponse transfer(const std::string& url, const RequestOptions& o, Transfer& t, const std::string& what)
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
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader); // records the status before the body (onBody checks it)
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

std::mutex& knownIdsMutex()
{
    static std::mutex m;
    return m;
}

std::vector<std::string>& knownIds()
{
    static std::vector<std::string> ids;
    return ids;
}

} // namespace

HttpResponse httpRequest(const std::string& url, const RequestOptions& options, const std::string& what)
{
    Transfer t;
    return transfer(url, options, t, what);
}

std::string statusProblem(long status, const std::string& repoId, const std::string& endpoint, const std::string& token)
{
    if (status == 401 || status == 403)
        return token.empty() ? "the repo " + repoId + " is gated or private: accept its terms on " + endpoint + "/" + repoId +
                                   " and set HF_TOKEN to an access token (or write it to $HF_HOME/token)"
                             : "the repo " + repoId + " refuses the token in HF_TOKEN (HTTP " + std::to_string(status) +
                                   "): is access to it granted for that account?";
    if (status == 404) {
        std::vector<std::string> close;
        {
            std::lock_guard<std::mutex> lock(knownIdsMutex());
            close = closestNames(repoId, knownIds(), 3);
        }
        std::string hint;
        for (const auto& c : close)
            hint += (hint.empty() ? "; did you mean " : " or ") + c;
        return "no repo " + repoId + " on " + endpoint + " (check the spelling; a private repo needs HF_TOKEN" + hint +
               (hint.empty() ? ")" : "?)");
    }
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

namespace {

std::string hexOf(const unsigned char* digest, unsigned int len)
{
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
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
    return hexOf(digest, len);
}

} // namespace

std::string sha256Hex(const std::string& data)
{
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    return hexOf(digest, len);
}

std::string gitBlobSha1Hex(const std::string& data)
{
    const std::string header = "blob " + std::to_string(data.size()) + std::string(1, '\0');
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
    EVP_DigestUpdate(ctx, header.data(), header.size());
    EVP_DigestUpdate(ctx, data.data(), data.size());
    unsigned char digest[20];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    return hexOf(digest, len);
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



/// Downloads `url` into `target` through `target.incomplete` (resumed with a Range request when it exists),
/// checks the size and, when given, the sha256, and renames it into place. Nothing appears under `target` unless
/// complete and checked.
void fetchFile(Fetch& f, const std::string& file, const std::string& url, const fs::path& target, std::int64_t size,
               const std::string& sha256, const std::string& gitSha1)
{
    const fs::path partial = fs::path(target.string() + ".incomplete");
    std::error_code ec;
    fs::create_directories(target.parent_path());
    const std::int64_t have = fs::exists(partial, ec) ? std::int64_t(fs::file_size(partial, ec)) : 0;
    if (have > 0 && f.options->log)
        f.options->log("Resuming " + f.what + " file " + file + " at " + std::to_string(have) + " of " +
                       std::to_string(size) + " bytes");
    std::FILE* out = std::fopen(partial.c_str(), have > 0 ? "ab" : "wb");
    if (!out)
        fail(f.what, " file ", file, ": ", writeFailure(partial.string(), errno));
    Transfer t;
    t.sink = out;
    t.sinkPath = partial.string();
    // A download from byte 0 is hashed while it is written (one pass over the data); a resumed one afterwards.
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> hash(nullptr, EVP_MD_CTX_free);
    if (!sha256.empty()) {
        hash.reset(EVP_MD_CTX_new());
        EVP_DigestInit_ex(hash.get(), EVP_sha256(), nullptr);
        if (have == 0)
            t.hash = hash.get();
        else
            t.restartHash = hash.get(); // the server may ignore the range and send the file from byte 0 (onBody)
    }
    const std::int64_t doneBefore = f.done + have;
    auto last = Clock::time_point{};
    t.onBytes = [&](std::int64_t received) {
        if (f.options->cancel && f.options->cancel->load())
            return false;
        const auto now = Clock::now();
        if (now - last > std::chrono::milliseconds(100)) {
            last = now;
            f.report(file, (t.restarted ? f.done : doneBefore) + received);
        }
        return true;
    };
    RequestOptions go;
    go.token = f.token;
    go.rangeFrom = have;
    HttpResponse r;
    try {
        r = transfer(url, go, t, f.what + " file " + file);
    } catch (...) {
        std::fclose(out);
        throw;
    }
    if (std::fclose(out) != 0)
        fail(f.what, " file ", file, ": ", writeFailure(partial.string(), errno));
    f.sessionBytes += t.received;
    if (!(r.status == 416 && have > 0) && r.status >= 400)
        fail(f.what, " file ", file, ": ", statusProblem(r.status, f.what.substr(f.what.find(' ') + 1), f.endpoint, f.token));
    const std::int64_t got = std::int64_t(fs::file_size(partial, ec));
    if (size > 0 && got != size) {
        fs::remove(partial, ec);
        fail(f.what, " file ", file, ": received ", got, " bytes, the hub announced ", size,
             " (the partial file was removed; run again)");
    }
    if (!sha256.empty()) {
        std::string sum;
        if (t.hash) {
            unsigned char digest[32];
            unsigned int len = 0;
            EVP_DigestFinal_ex(t.hash, digest, &len);
            sum = hexOf(digest, len);
        } else {
            sum = sha256File(partial);
        }
        if (sum != sha256) {
            fs::remove(partial, ec);
            fail(f.what, " file ", file, ": checksum mismatch (sha256 ", sum, ", expected ", sha256,
                 "); the corrupt download was removed, nothing was kept under its name");
        }
    }
    if (!gitSha1.empty()) {
        // A git blob id (small, non-LFS files): the whole file is hashed behind its header.
        std::ifstream in(partial, std::ios::binary);
        const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::string sum = gitBlobSha1Hex(content);
        if (sum != gitSha1) {
            fs::remove(partial, ec);
            fail(f.what, " file ", file, ": checksum mismatch (git blob id ", sum, ", expected ", gitSha1,
                 "); the corrupt download was removed, nothing was kept under its name");
        }
    }
    fs::rename(partial, target);
    f.done += size > 0 ? size : got;
}

} // namespace hub_detail

void setKnownRepoIds(std::vector<std::string> ids)
{
    std::lock_guard<std::mutex> lock(hub_detail::knownIdsMutex());
    hub_detail::knownIds() = std::move(ids);
}

} // namespace lathe
