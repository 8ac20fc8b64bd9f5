#include "data/token_cache.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'L', 'A', 'T', 'H', 'E', 'T', 'K', '1'};
constexpr char kIndexMagic[8] = {'L', 'A', 'T', 'H', 'E', 'I', 'D', 'X'};

template <typename T> void put(std::FILE* f, const T& v)
{
    if (std::fwrite(&v, sizeof v, 1, f) != 1)
        fail("cannot write the token cache (disk full?)");
}

} // namespace

void ContentHash::add(const void* data, std::size_t size)
{
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = m_state;
    for (std::size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    m_state = h;
}

void ContentHash::add(const std::string& text)
{
    const std::uint64_t n = text.size();
    add(&n, sizeof n);
    add(text.data(), text.size());
}

void ContentHash::addFile(const std::string& path)
{
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        fail(path, ": cannot read");
    std::vector<char> buf(1 << 20);
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
        add(buf.data(), n);
    std::fclose(f);
    add(path);
}

std::string ContentHash::hex() const
{
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(m_state));
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------------

std::shared_ptr<TokenCache> TokenCache::open(const std::string& path)
{
    auto cache = std::shared_ptr<TokenCache>(new TokenCache);
    cache->m_file = MappedFile::open(path);
    const auto* d = cache->m_file->data();
    const std::size_t size = cache->m_file->size();
    if (size < 24 || std::memcmp(d, kMagic, 8) != 0 || std::memcmp(d + size - 8, kIndexMagic, 8) != 0)
        fail(path, ": not a complete Lathe token cache (delete it, or set overwrite_cache)");
    std::uint64_t count;
    std::memcpy(&count, d + size - 16, 8);
    std::memcpy(&cache->m_tokens, d + size - 24, 8);
    if (size < 32 || count > (size - 32) / 8)
        fail(path, ": corrupt token cache index");
    cache->m_offsets.resize(count);
    std::memcpy(cache->m_offsets.data(), d + size - 24 - 8 * count, 8 * count);
    for (auto off : cache->m_offsets)
        if (off + 5 > size)
            fail(path, ": corrupt token cache offset");
    return cache;
}

std::int64_t TokenCache::length(std::size_t i) const
{
    std::uint32_t n;
    std::memcpy(&n, m_file->data() + m_offsets.at(i), 4);
    return n;
}

TokenizedExample TokenCache::at(std::size_t i) const
{
    const auto* p = m_file->data() + m_offsets.at(i);
    std::uint32_t n;
    std::memcpy(&n, p, 4);
    TokenizedExample t;
    t.truncated = p[4] != 0;
    t.inputIds.resize(n);
    t.labels.resize(n);
    std::memcpy(t.inputIds.data(), p + 5, 4 * std::size_t(n));
    std::memcpy(t.labels.data(), p + 5 + 4 * std::size_t(n), 4 * std::size_t(n));
    return t;
}

// ---------------------------------------------------------------------------------------------------------
// Streaming preprocessing
// ---------------------------------------------------------------------------------------------------------

PreprocessStats preprocessSupervised(const DatasetRegistry& registry, const std::vector<std::string>& names,
                                     const TemplateEncoder& encoder, const PreprocessOptions& options)
{
    if (options.cacheDir.empty())
        fail("preprocessing needs a cache folder");
    // The key: data bytes, tokenizer files, template, and the arguments that change the encoding.
    ContentHash key;
    for (const auto& name : names) {
        const auto attr = registry.get(name);
        key.add(attr.toJson().dump());
        if (attr.isLocal())
            for (const auto& f : RecordReader::filesOf(datasetFilePath(registry.datasetDir(), attr)))
                key.addFile(f);
    }
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"})
        if (!options.tokenizerDir.empty() && fs::exists(fs::path(options.tokenizerDir) / f))
            key.addFile((fs::path(options.tokenizerDir) / f).string());
    const auto& p = options.process;
    key.add(nlohmann::json{
        {"template", encoder.chatTemplate().name},
        {"stage", options.load.stage},
        {"cutoff_len", p.cutoffLen},
        {"train_on_prompt", p.trainOnPrompt},
        {"mask_history", p.maskHistory},
        {"enable_thinking", p.chat.enableThinking ? int(*p.chat.enableThinking) : -1},
        {"preserve_thinking", p.chat.preserveThinking},
        {"format",
         1}}.dump());

    PreprocessStats stats;
    fs::create_directories(options.cacheDir);
    stats.cachePath = (fs::path(options.cacheDir) / (key.hex() + ".tokens")).string();
    if (!options.overwriteCache && fs::exists(stats.cachePath)) {
        try {
            const auto cache = TokenCache::open(stats.cachePath);
            stats.reused = true;
            stats.examples = std::int64_t(cache->size());
            stats.tokens = cache->tokens();
            return stats;
        } catch (const Error&) {
            // An unreadable cache is rebuilt.
        }
    }

    const std::string tmp = stats.cachePath + ".tmp";
    std::FILE* out = std::fopen(tmp.c_str(), "wb");
    if (!out)
        fail(tmp, ": cannot create");
    std::vector<std::uint64_t> offsets;
    std::uint64_t offset = sizeof kMagic;
    try {
        std::fwrite(kMagic, 1, sizeof kMagic, out);
        // Pipelined: while the workers encode one batch, this thread reads and converts the next one.
        struct Pending
        {
            std::vector<Example> batch;
            std::vector<TokenizedExample> encoded;
            std::vector<std::thread> threads;
            std::vector<std::exception_ptr> errors;
        };
        const int workers = std::max(1, options.workers);
        auto start = [&](Pending& job) {
            job.encoded.assign(job.batch.size(), {});
            job.errors.assign(static_cast<std::size_t>(workers), nullptr);
            for (int w = 0; w < workers; ++w)
                job.threads.emplace_back([&job, &encoder, &p, w, workers] {
                    try {
                        for (std::size_t i = std::size_t(w); i < job.batch.size(); i += std::size_t(workers))
                            job.encoded[i] = encodeSupervised(encoder, job.batch[i], p);
                    } catch (...) {
                        job.errors[std::size_t(w)] = std::current_exception();
                    }
                });
        };
        auto finish = [&](Pending& job) {
            for (auto& t : job.threads)
                t.join();
            job.threads.clear();
            for (auto& e : job.errors)
                if (e)
                    std::rethrow_exception(e);
            for (std::size_t i = 0; i < job.batch.size(); ++i) {
                const auto& t = job.encoded[i];
                for (const auto& m : job.batch[i].prompt)
                    stats.textBytes += std::int64_t(m.content.size());
                for (const auto& m : job.batch[i].response)
                    stats.textBytes += std::int64_t(m.content.size());
                const auto n = std::uint32_t(t.inputIds.size());
                offsets.push_back(offset);
                put(out, n);
                put(out, std::uint8_t(t.truncated));
                if (n && (std::fwrite(t.inputIds.data(), 4, n, out) != n ||
                          std::fwrite(t.labels.data(), 4, n, out) != n))
                    fail(tmp, ": write failed (disk full?)");
                offset += 5 + 8ull * n;
                stats.tokens += n;
                stats.truncated += t.truncated;
                ++stats.examples;
            }
            job.batch.clear();
            job.encoded.clear();
        };
        Pending jobs[2];
        int filling = 0;
        bool running = false; // jobs[1 - filling] is being encoded
        auto hand_over = [&] {
            if (running)
                finish(jobs[1 - filling]);
            start(jobs[filling]);
            running = true;
            filling = 1 - filling;
        };
        try {
            for (const auto& name : names) {
                stats.datasets.push_back(scanDataset(registry, name, options.load, [&](Example&& ex) {
                    jobs[filling].batch.push_back(std::move(ex));
                    if (jobs[filling].batch.size() >= options.batchSize)
                        hand_over();
                }));
            }
            hand_over();
            finish(jobs[1 - filling]);
        } catch (...) {
            for (auto& job : jobs)
                for (auto& t : job.threads)
                    if (t.joinable())
                        t.join();
            throw;
        }
        if (!offsets.empty() && std::fwrite(offsets.data(), 8, offsets.size(), out) != offsets.size())
            fail(tmp, ": write failed (disk full?)");
        put(out, std::uint64_t(stats.tokens));
        put(out, std::uint64_t(offsets.size()));
        std::fwrite(kIndexMagic, 1, sizeof kIndexMagic, out);
        if (std::fflush(out) != 0 || ::fsync(fileno(out)) != 0)
            fail(tmp, ": write failed (disk full?)");
        std::fclose(out);
        out = nullptr;
        fs::rename(tmp, stats.cachePath);
    } catch (...) {
        if (out)
            std::fclose(out);
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
    }
    return stats;
}

} // namespace lathe
