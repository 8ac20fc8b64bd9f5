// The transfers under core/hub (internal to it): one HTTP request through libcurl, the hub's status codes worded for
// the user, and fetchFile, the one way a file enters a cache: a `.incomplete` file resumed with a Range request,
// size and sha256 checked, then renamed into place. hub.cpp speaks the hubs' protocols on top of these.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "hub/hub.h"

namespace lathe::hub_detail {

struct HttpResponse
{
    long status = 0;
    std::map<std::string, std::string> headers; ///< of the last response, names lower-case
    std::string body;                           ///< the body (up to 64 MB)
};

struct RequestOptions
{
    bool head = false;
    bool followRedirects = true;
    std::string token;           ///< sent as a bearer token
    std::int64_t rangeFrom = -1; ///< a Range request from this byte
};

/// One request, its body in memory. Throws lathe::Error (with `what`) when the host cannot be reached.
HttpResponse httpRequest(const std::string& url, const RequestOptions& options, const std::string& what);

/// A hub's HTTP status as a sentence naming the repo: gated (how to set a token), refused token, no such repo (with
/// the closest known ids, setKnownRepoIds), other.
std::string statusProblem(long status, const std::string& repoId, const std::string& endpoint, const std::string& token);

/// An ETag without W/ and quotes.
std::string normalizeEtag(std::string etag);
bool isSha256Hex(const std::string& s);
std::string sha256Hex(const std::string& data);
/// Git's object id of a blob with this content: sha1 of "blob <size>\0" + content (Modelers' ETag of a non-LFS file).
std::string gitBlobSha1Hex(const std::string& data);
/// A repo path for a URL: every byte but [A-Za-z0-9-_.~/] percent-encoded.
std::string urlEncodePath(const std::string& path);

/// One repo being fetched: the label of every message, and the running byte counts for progress.
struct Fetch
{
    std::string what; ///< "model org/name" / "dataset org/name"
    const HubOptions* options = nullptr;
    std::string token, endpoint;
    std::int64_t total = 0, done = 0, sessionBytes = 0;
    std::int64_t fileIndex = 0, fileCount = 0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

    void report(const std::string& file, std::int64_t bytesDone)
    {
        if (!options->progress)
            return;
        HubProgress p;
        p.file = file;
        p.fileIndex = fileIndex;
        p.fileCount = fileCount;
        p.bytesDone = bytesDone;
        p.bytesTotal = total;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        p.bytesPerSecond = seconds > 0 ? double(sessionBytes + (bytesDone - done)) / seconds : 0;
        p.secondsLeft = p.bytesPerSecond > 0 ? double(total - bytesDone) / p.bytesPerSecond : 0;
        options->progress(p);
    }
};

/// Downloads `url` into `target` through `target.incomplete` (resumed with a Range request when it exists), checks
/// the size and, when `sha256` is given, the sha256 (computed while writing a fresh download), when `gitSha1` is
/// given, git's blob id, and renames it into place. Nothing appears under `target` unless complete and checked.
/// Throws lathe::Error naming the repo and file.
void fetchFile(Fetch& f, const std::string& file, const std::string& url, const std::filesystem::path& target,
               std::int64_t size, const std::string& sha256, const std::string& gitSha1 = {});

} // namespace lathe::hub_detail
