// A Hugging Face hub (and ModelScope, and Modelers) in-process for tests: a cpp-httplib server on 127.0.0.1 that speaks the subset of
// the protocols core/hub uses (revision listing, HEAD/GET resolve with a redirect to the blob for LFS files, ranges,
// ETag / X-Linked-Etag / X-Linked-Size / X-Repo-Commit, bearer auth for gated repos; ModelScope's listing and file
// query; Modelers' folder trees, file info and media routes), serving repos the test fills in. tinyRepo() makes one from the tests' tiny model.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "hub/hub_transfer.h"

#include "tiny_model.h"

namespace lathe::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

using lathe::hub_detail::sha256Hex; // the hub code's own

inline std::string readAll(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct RepoFile
{
    std::string content;
    bool lfs = false;
    std::string servedSha; ///< what X-Linked-Etag claims (differs from the content for a corrupt blob)
};

struct Repo
{
    std::string commit;
    std::map<std::string, RepoFile> files;
    bool gated = false;
};

// The hub, in-process.
class FakeHub
{
public:
    FakeHub()
    {
        m_server.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const Repo* repo = find(req.matches[1].str() + "/" + req.matches[2].str(), req, res);
            if (!repo)
                return;
            json siblings = json::array();
            for (const auto& [name, f] : repo->files)
                siblings.push_back({{"rfilename", name}});
            res.set_content(json{{"id", req.matches[1].str() + "/" + req.matches[2].str()}, {"sha", repo->commit}, {"siblings", siblings}}.dump(),
                            "application/json");
        });
        auto resolve = [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const Repo* repo = find(req.matches[1].str() + "/" + req.matches[2].str(), req, res);
            if (!repo)
                return;
            const auto it = repo->files.find(req.matches[4].str());
            if (it == repo->files.end()) {
                res.status = 404;
                return;
            }
            const RepoFile& f = it->second;
            res.set_header("X-Repo-Commit", repo->commit);
            if (f.lfs) {
                res.status = 302;
                res.set_header("Location", "/blobs/" + sha256Hex(f.content));
                res.set_header("X-Linked-Etag", "\"" + f.servedSha + "\"");
                res.set_header("X-Linked-Size", std::to_string(f.content.size()));
                return;
            }
            res.set_header("ETag", "\"" + sha256Hex(f.content).substr(0, 40) + "\"");
            res.set_content(f.content, "application/octet-stream");
        };
        m_server.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", resolve);
        // Dataset repos: the same protocol under /api/datasets/ and /datasets/.
        m_server.Get(R"(/api/datasets/([^/]+)/([^/]+)/revision/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const auto it = m_datasets.find(req.matches[1].str() + "/" + req.matches[2].str());
            if (it == m_datasets.end()) {
                res.status = 404;
                return;
            }
            json siblings = json::array();
            for (const auto& [name, f] : it->second.files)
                siblings.push_back({{"rfilename", name}});
            res.set_content(json{{"sha", it->second.commit}, {"siblings", siblings}}.dump(), "application/json");
        });
        m_server.Get(R"(/datasets/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const auto it = m_datasets.find(req.matches[1].str() + "/" + req.matches[2].str());
            const auto file = it == m_datasets.end() ? nullptr : &it->second.files;
            if (!file || !file->count(req.matches[4].str())) {
                res.status = 404;
                return;
            }
            const std::string& content = file->at(req.matches[4].str()).content;
            res.set_header("X-Repo-Commit", it->second.commit);
            res.set_header("ETag", "\"" + sha256Hex(content).substr(0, 40) + "\"");
            res.set_content(content, "application/octet-stream");
        });
        // ModelScope: the listing with sizes and sha256, files by query.
        m_server.Get(R"(/api/v1/(models|datasets)/([^/]+)/([^/]+)/repo/files)", [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            auto& table = req.matches[1].str() == "models" ? m_repos : m_datasets;
            const auto it = table.find(req.matches[2].str() + "/" + req.matches[3].str());
            if (it == table.end() || req.get_param_value("Revision") != "master" || req.get_param_value("Recursive") != "true") {
                res.status = 404;
                return;
            }
            json files = json::array();
            for (const auto& [name, f] : it->second.files)
                files.push_back({{"Name", fs::path(name).filename().string()}, {"Path", name}, {"Type", "blob"},
                                 {"Size", f.content.size()}, {"Sha256", sha256Hex(f.content)}, {"Revision", "abc"}});
            res.set_content(json{{"Code", 200}, {"Data", {{"Files", files}}}}.dump(), "application/json");
        });
        m_server.Get(R"(/api/v1/(models|datasets)/([^/]+)/([^/]+)/repo)", [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            auto& table = req.matches[1].str() == "models" ? m_repos : m_datasets;
            const auto it = table.find(req.matches[2].str() + "/" + req.matches[3].str());
            const std::string path = req.get_param_value("FilePath");
            if (it == table.end() || !it->second.files.count(path)) {
                res.status = 404;
                return;
            }
            res.set_content(it->second.files.at(path).content, "application/octet-stream");
        });
        // Modelers (openMind), as openmind_hub speaks to it: a folder's tree, a file's info, the file (LFS files
        // redirected to their blob). Datasets share the routes.
        auto modelers = [this](const std::string& id) -> const Repo* {
            if (m_repos.count(id))
                return &m_repos.at(id);
            return m_datasets.count(id) ? &m_datasets.at(id) : nullptr;
        };
        m_server.Get(R"(/api/v1/file/([^/]+)/([^/]+))", [this, modelers](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const Repo* repo = modelers(req.matches[1].str() + "/" + req.matches[2].str());
            if (!repo || req.get_param_value("ref") != "main") {
                res.status = 404;
                return;
            }
            const std::string dir = req.get_param_value("path"), prefix = dir.empty() ? dir : dir + "/";
            json tree = json::array();
            std::set<std::string> folders;
            for (const auto& [name, f] : repo->files) {
                if (name.rfind(prefix, 0) != 0)
                    continue;
                const std::string rest = name.substr(prefix.size());
                const auto slash = rest.find('/');
                if (slash == std::string::npos)
                    tree.push_back({{"type", "file"}, {"path", name}, {"name", rest}});
                else if (folders.insert(prefix + rest.substr(0, slash)).second)
                    tree.push_back({{"type", "dir"}, {"path", prefix + rest.substr(0, slash)}});
            }
            res.set_content(json{{"code", ""}, {"msg", ""}, {"data", {{"tree", tree}}}}.dump(), "application/json");
        });
        m_server.Get(R"(/api/v1/file/([^/]+)/([^/]+)/info)", [this, modelers](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const Repo* repo = modelers(req.matches[1].str() + "/" + req.matches[2].str());
            const std::string path = req.get_param_value("path");
            if (!repo || !repo->files.count(path)) {
                res.status = 404;
                return;
            }
            const RepoFile& f = repo->files.at(path);
            res.set_content(json{{"data", {{"branch_last_commit", repo->commit},
                                           // LFS: the sha256 it claims; small files: git's blob id (or a claimed one)
                                           {"etag", f.lfs ? f.servedSha
                                                    : f.servedSha.size() == 40 ? f.servedSha
                                                                               : lathe::hub_detail::gitBlobSha1Hex(f.content)},
                                           {"size", f.content.size()},
                                           {"path", path}}}}.dump(),
                            "application/json");
        });
        m_server.Get(R"(/api/v1/file/([^/]+)/([^/]+)/([^/]+)/media/(.+))", [this, modelers](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const Repo* repo = modelers(req.matches[1].str() + "/" + req.matches[2].str());
            if (!repo || !repo->files.count(req.matches[4].str())) {
                res.status = 404;
                return;
            }
            const RepoFile& f = repo->files.at(req.matches[4].str());
            if (f.lfs) {
                res.status = 302;
                res.set_header("Location", "/blobs/" + sha256Hex(f.content));
                return;
            }
            res.set_content(f.content, "application/octet-stream");
        });
        // The blobs: a slow content provider (64 KB per 5 ms), so a transfer can be cancelled halfway; ranges
        // are served by httplib from the provider's offset.
        m_server.Get(R"(/blobs/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
            ++m_requests;
            const std::string* content = nullptr;
            for (const auto& [id, repo] : m_repos)
                for (const auto& [name, f] : repo.files)
                    if (f.lfs && sha256Hex(f.content) == req.matches[1].str())
                        content = &f.content;
            if (!content) {
                res.status = 404;
                return;
            }
            if (req.has_header("Range"))
                m_lastRange = req.get_header_value("Range");
            res.set_content_provider(content->size(), "application/octet-stream",
                                     [this, content](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                         const std::size_t n = std::min<std::size_t>(length, 64 * 1024);
                                         std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                         m_blobBytes += n;
                                         return sink.write(content->data() + offset, n);
                                     });
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        while (!m_server.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~FakeHub()
    {
        m_server.stop();
        m_thread.join();
    }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    std::map<std::string, Repo>& repos() { return m_repos; }
    std::map<std::string, Repo>& datasets() { return m_datasets; }
    std::atomic<long> m_requests{0};
    std::atomic<std::size_t> m_blobBytes{0};
    std::string m_lastRange;

private:
    const Repo* find(const std::string& id, const httplib::Request& req, httplib::Response& res)
    {
        const auto it = m_repos.find(id);
        if (it == m_repos.end()) {
            res.status = 404;
            return nullptr;
        }
        if (it->second.gated && req.get_header_value("Authorization") != "Bearer secret") {
            res.status = 401;
            return nullptr;
        }
        return &it->second;
    }

    httplib::Server m_server;
    int m_port = 0;
    std::thread m_thread;
    std::map<std::string, Repo> m_repos;
    std::map<std::string, Repo> m_datasets;
};

// The tiny model's files as a repo, a 6 MB random LFS file added so a transfer takes long enough to interrupt;
// files a model does not need (README, onnx/, .bin next to safetensors) must not be fetched.
inline Repo tinyRepo(const fs::path& root, std::uint32_t seed)
{
    const fs::path model = makeTinyModel(root);
    Repo repo;
    repo.commit = sha256Hex("commit" + std::to_string(seed)).substr(0, 40);
    for (const auto& e : fs::directory_iterator(model)) {
        const std::string name = e.path().filename().string();
        RepoFile f;
        f.content = readAll(e.path());
        f.lfs = name.find(".safetensors") != std::string::npos;
        f.servedSha = sha256Hex(f.content);
        repo.files[name] = f;
    }
    std::mt19937 rng(seed);
    RepoFile big;
    big.content.resize(6 << 20);
    for (auto& c : big.content)
        c = char(rng());
    big.lfs = true;
    big.servedSha = sha256Hex(big.content);
    repo.files["value_head.safetensors"] = big; // fetched (a file the loaders read), large
    repo.files["README.md"] = {"# tiny", false, ""};
    repo.files["pytorch_model.bin"] = {"not fetched", false, ""};
    repo.files["onnx/model.onnx"] = {"not fetched", false, ""};
    return repo;
}

} // namespace lathe::test
