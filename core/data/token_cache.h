// The on-disk cache of tokenized training data, and the streaming preprocessor that fills it.
//
// Preprocessing a dataset (read, convert, apply the template, tokenize, mask) is done once and written to
// `<cache_dir>/<key>.tokens`; the key hashes the dataset files' bytes, the tokenizer files, the template and
// every argument that changes the result, so a changed file or setting makes a new cache and an unchanged one
// is reused (`overwrite_cache` rebuilds). Records are streamed through in batches and encoded by
// `preprocessing_num_workers` threads, so memory stays at one batch whatever the dataset's size; the cache
// is read back through a memory mapping.
//
// File layout (little-endian): "LATHETK1", then per example u32 length, u8 truncated, i32 input_ids[length],
// i32 labels[length]; then u64 offset of each example, u64 total tokens, u64 count, "LATHEIDX". Written to a
// temp file and renamed, so a crash never leaves a cache that looks complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset_loader.h"
#include "data/processor.h"
#include "data/record_reader.h"

namespace lathe {

class MappedFile;

/// A 64-bit content hash fed piece by piece (the same bytes in any split give the same value): four lanes of
/// 64-bit multiply-xorshift over 32-byte blocks, so hashing a large data file costs little next to reading it.
/// Not cryptographic; it tells caches apart.
class ContentHash
{
public:
    void add(const void* data, std::size_t size);
    void add(const std::string& text);
    void addFile(const std::string& path); ///< throws lathe::Error when unreadable
    std::string hex() const;

private:
    void block(const unsigned char* p);

    std::uint64_t m_lanes[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull,
                                0x27D4EB2F165667C5ull};
    unsigned char m_tail[32] = {};
    std::size_t m_tailSize = 0;
    std::uint64_t m_total = 0;
};

class TokenCache
{
public:
    /// Opens a finished cache file; throws lathe::Error when it is truncated or not a cache.
    static std::shared_ptr<TokenCache> open(const std::string& path);

    std::size_t size() const { return m_offsets.size(); }
    /// Example `i` (copied out of the mapping).
    TokenizedExample at(std::size_t i) const;
    /// Its length in tokens, without copying.
    std::int64_t length(std::size_t i) const;
    /// Tokens in all examples (stored in the index, so no example is touched).
    std::int64_t tokens() const { return std::int64_t(m_tokens); }

private:
    std::shared_ptr<MappedFile> m_file;
    std::vector<std::uint64_t> m_offsets;
    std::uint64_t m_tokens = 0;
};

struct PreprocessStats
{
    std::string cachePath;
    bool reused = false; ///< an existing cache was used
    std::int64_t examples = 0;
    std::int64_t tokens = 0;
    std::int64_t truncated = 0;
    std::int64_t textBytes = 0;          ///< UTF-8 bytes of the conversations' text
    std::vector<LoadedDataset> datasets; ///< counts and issues (no examples)
};

struct PreprocessOptions
{
    ProcessOptions process;
    DatasetLoadOptions load;
    int workers = 1;              ///< preprocessing_num_workers (at most one per core is used)
    std::string cacheDir;         ///< where .tokens files go
    bool overwriteCache = false;  ///< overwrite_cache
    std::size_t batchSize = 1024; ///< examples encoded per batch
    /// Identifies the tokenizer and template in the key: tokenizer files are hashed from this folder.
    std::string tokenizerDir;
};

/// Supervised preprocessing of `names` into a cache (streamed; num_samples and max_samples not applied).
PreprocessStats preprocessSupervised(const DatasetRegistry& registry, const std::vector<std::string>& names,
                                     const TemplateEncoder& encoder, const PreprocessOptions& options);

} // namespace lathe
