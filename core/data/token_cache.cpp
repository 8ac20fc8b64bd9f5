#include "data/token_cache.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
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

/// Threads that live for a whole preprocessing call: each batch is handed to the same workers, so what they
/// keep per thread (the tokenizer's word cache) stays warm from batch to batch.
class WorkerPool
{
public:
    explicit WorkerPool(int workers)
    {
        for (int w = 0; w < workers; ++w)
            m_threads.emplace_back([this, w] { loop(w); });
    }
    ~WorkerPool()
    {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        for (auto& t : m_threads)
            t.join();
    }
    int size() const { return int(m_threads.size()); }

    /// Starts job(worker) on every worker; wait() collects them.
    void run(std::function<void(int)> job)
    {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_job = std::move(job);
            m_pending = int(m_threads.size());
            m_error = nullptr;
            ++m_generation;
        }
        m_wake.notify_all();
    }
    /// Waits for the job started last; rethrows the first exception a worker threw.
    void wait()
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_done.wait(lock, [this] { return m_pending == 0; });
        if (m_error) {
            auto e = m_error;
            m_error = nullptr;
            std::rethrow_exception(e);
        }
    }

private:
    void loop(int worker)
    {
        std::uint64_t seen = 0;
        for (;;) {
            std::function<void(int)> job;
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
                if (m_stop)
                    return;
                seen = m_generation;
                job = m_job;
            }
            std::exception_ptr error;
            try {
                job(worker);
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard<std::mutex> lock(m_mutex);
            if (error && !m_error)
                m_error = error;
            if (--m_pending == 0)
                m_done.notify_all();
        }
    }

    std::vector<std::thread> m_threads;
    std::mutex m_mutex;
    std::condition_variable m_wake, m_done;
    std::function<void(int)> m_job;
    std::uint64_t m_generation = 0;
    int m_pending = 0;
    bool m_stop = false;
    std::exception_ptr m_error;
};

template <typename T> void put(std::FILE* f, const T& v)
{
    if (std::fwrite(&v, sizeof v, 1, f) != 1)
        fail("cannot write the token cache (disk full?)");
}

} // namespace

namespace {

std::uint64_t mix(std::uint64_t v)
{
    // MurmurHash3's 64-bit finaliser.
    v ^= v >> 33;
    v *= 0xFF51AFD7ED558CCDull;
    v ^= v >> 33;
    v *= 0xC4CEB9FE1A85EC53ull;
    v ^= v >> 33;
    return v;
}

} // namespace

void ContentHash::block(const unsigned char* p)
{
    for (int lane = 0; lane < 4; ++lane) {
        std::uint64_t w;
        std::memcpy(&w, p + 8 * lane, 8);
        std::uint64_t v = (m_lanes[lane] ^ w) * 0x9FB21C651E98DF25ull;
        m_lanes[lane] = v ^ (v >> 29);
    }
}

void ContentHash::add(const void* data, std::size_t size)
{
    const auto* p = static_cast<const unsigned char*>(data);
    m_total += size;
    if (m_tailSize) {
        const std::size_t take = std::min(size, sizeof m_tail - m_tailSize);
        std::memcpy(m_tail + m_tailSize, p, take);
        m_tailSize += take;
        p += take;
        size -= take;
        if (m_tailSize < sizeof m_tail)
            return;
        block(m_tail);
        m_tailSize = 0;
    }
    for (; size >= 32; p += 32, size -= 32)
        block(p);
    std::memcpy(m_tail, p, size);
    m_tailSize = size;
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
    // The lanes, the unfinished block (zero-padded) and the length, folded together.
    ContentHash last = *this;
    std::memset(last.m_tail + last.m_tailSize, 0, sizeof last.m_tail - last.m_tailSize);
    last.block(last.m_tail);
    std::uint64_t h = mix(m_total ^ 0x2545F4914F6CDD1Dull);
    for (const std::uint64_t lane : last.m_lanes)
        h = mix(h ^ lane) * 0x9E3779B97F4A7C15ull;
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(mix(h)));
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
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "chat_template.jinja"})
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

    // A name of its own: two processes preprocessing the same data at once must not write one file.
    const std::string tmp = stats.cachePath + ".tmp" + std::to_string(::getpid()) + "-" +
                            std::to_string(std::random_device()() & 0xffffff);
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
            std::atomic<std::size_t> next{0};
        };
        // With several workers this thread is one of them: it reads the next batch, then helps encode the
        // current one, so there are never more busy threads than workers (a third thread on two cores only
        // takes turns with them).
        // More workers than cores only take turns (LLaMA-Board asks for 16, sized for Python processes).
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        const int workers = std::clamp(options.workers, 1, cores);
        const bool helps = workers > 1;
        WorkerPool pool(helps ? workers - 1 : 1);
        // Small runs of examples taken as they go rather than fixed shares: a thread that is slowed down
        // (or joins late) just does fewer.
        auto encodeRuns = [&encoder, &p](Pending& job) {
            constexpr std::size_t kRun = 8;
            for (std::size_t i = job.next.fetch_add(kRun); i < job.batch.size(); i = job.next.fetch_add(kRun))
                for (std::size_t j = i; j < std::min(i + kRun, job.batch.size()); ++j)
                    job.encoded[j] = encodeSupervised(encoder, job.batch[j], p);
        };
        auto start = [&](Pending& job) {
            job.encoded.assign(job.batch.size(), {});
            job.next = 0;
            pool.run([&job, &encodeRuns](int) { encodeRuns(job); });
        };
        auto wait = [&](Pending& job) {
            if (helps)
                encodeRuns(job);
            pool.wait();
        };
        auto write = [&](Pending& job) {
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
        // The workers get the full batch as soon as they are done with the previous one, which this thread
        // then writes while they encode.
        auto hand_over = [&] {
            if (running)
                wait(jobs[1 - filling]);
            start(jobs[filling]);
            if (running)
                write(jobs[1 - filling]);
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
            wait(jobs[1 - filling]);
            write(jobs[1 - filling]);
        } catch (...) {
            if (running) {
                try {
                    pool.wait(); // the workers still read the batch being encoded
                } catch (...) {
                }
            }
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
