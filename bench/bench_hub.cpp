// Download throughput of core/hub against curl, both fetching the same file from a hub server on 127.0.0.1
// (the subset of the Hugging Face protocol core/hub speaks: listing, HEAD on resolve/ with X-Linked-Etag and a
// redirect, the blob), so the figure is the client's cost (libcurl, writing, sha256), not the network's.
//
//   bench_hub [--mb 512] [--runs 3]
//
// Each run downloads into a fresh cache: Lathe's figure includes the listing, the HEAD, the redirect, writing
// blobs/<sha>.incomplete, the sha256 check, the rename and the snapshot link; curl's writes the file only.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "hub/hub_transfer.h"

#include "hub/hub.h"

namespace fs = std::filesystem;

namespace {

using lathe::hub_detail::sha256Hex; // the hub code's own

double secondsSince(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t mb = 512;
    int runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--mb")
            mb = std::stoul(argv[i + 1]);
        else if (std::string(argv[i]) == "--runs")
            runs = std::stoi(argv[i + 1]);
    }
    std::string blob(mb << 20, '\0');
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i + 8 <= blob.size(); i += 8) {
        const std::uint64_t v = rng();
        std::memcpy(&blob[i], &v, 8);
    }
    const std::string sha = sha256Hex(blob);
    const std::string config = R"({"model_type": "qwen3"})";
    const std::string commit = "0123456789abcdef0123456789abcdef01234567";

    httplib::Server server;
    server.Get("/api/models/bench/model/revision/main", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(nlohmann::json{{"sha", commit},
                                       {"siblings", {{{"rfilename", "config.json"}}, {{"rfilename", "model.safetensors"}}}}}
                            .dump(),
                        "application/json");
    });
    server.Get(R"(/bench/model/resolve/([^/]+)/(.+))", [&](const httplib::Request& req, httplib::Response& res) {
        res.set_header("X-Repo-Commit", commit);
        if (req.matches[2].str() == "config.json") {
            res.set_header("ETag", "\"" + sha256Hex(config).substr(0, 40) + "\"");
            res.set_content(config, "application/json");
            return;
        }
        res.status = 302;
        res.set_header("Location", "/blobs/" + sha);
        res.set_header("X-Linked-Etag", "\"" + sha + "\"");
        res.set_header("X-Linked-Size", std::to_string(blob.size()));
    });
    server.Get(R"(/blobs/([0-9a-f]+))", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content_provider(blob.size(), "application/octet-stream",
                                 [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                     return sink.write(blob.data() + offset, std::min<std::size_t>(length, 1 << 20));
                                 });
    });
    const int port = server.bind_to_any_port("127.0.0.1");
    std::thread thread([&] { server.listen_after_bind(); });
    while (!server.is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
    const fs::path scratch = fs::temp_directory_path() / "lathe-bench-hub";

    std::printf("file: %zu MB; %d runs each\n", mb, runs);
    for (int r = 0; r < runs; ++r) {
        fs::remove_all(scratch);
        fs::create_directories(scratch);
        lathe::HubOptions o;
        o.settings.endpoint = endpoint;
        o.settings.cacheDir = scratch / "cache";
        o.settings.token.clear();
        o.settings.offline = false;
        o.settings.hub = lathe::HubKind::HuggingFace;
        auto start = std::chrono::steady_clock::now();
        lathe::downloadSnapshot("bench/model", o);
        const double lathe = secondsSince(start);

        const std::string cmd = "curl -s -f -o " + (scratch / "curl.bin").string() + " " + endpoint + "/blobs/" + sha;
        start = std::chrono::steady_clock::now();
        const int rc = std::system(cmd.c_str());
        const double curl = secondsSince(start);
        start = std::chrono::steady_clock::now();
        const int rcSum = std::system(("sha256sum " + (scratch / "curl.bin").string() + " > /dev/null").c_str());
        const double curlSum = secondsSince(start);
        std::printf("run %d: lathe %.3f s (%.0f MB/s, listing + HEAD + download + sha256 + link) | curl %.3f s (%.0f MB/s)%s, "
                    "curl + sha256sum %.3f s (%.0f MB/s)\n",
                    r + 1, lathe, double(mb) / lathe, curl, double(mb) / curl, rc ? " FAILED" : "", curl + curlSum,
                    double(mb) / (curl + curlSum));
        (void)rcSum;
    }
    fs::remove_all(scratch);
    server.stop();
    thread.join();
    return 0;
}
