// Small filesystem helpers shared by the engine: whole-file reads, atomic writes, read-only mappings.
//
// Writes go to a temporary file in the target's folder and are renamed over the target only once the
// data is flushed, so a crash mid-save leaves the previous file intact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace lathe {

/// Reads a whole file; throws lathe::Error naming the path on failure.
std::string readTextFile(const std::string& path);

/// Writes through `writer` into `path.tmp-XXXX`, fsyncs, then renames over `path`.
/// The writer receives a FILE* opened for binary writing.
void writeFileAtomic(const std::string& path, const std::function<void(std::FILE*)>& writer);

/// The reason a write to `path` failed with `err`, for the user: strerror, or for a full disk "no space left on
/// the device holding <folder> (N MB free)".
std::string writeFailure(const std::string& path, int err);

/// Convenience: atomically writes `content` to `path`.
void writeTextFileAtomic(const std::string& path, const std::string& content);

/// A read-only, private (copy-on-write) memory mapping of a whole file. Pages are loaded lazily by the OS.
class MappedFile
{
public:
    static std::shared_ptr<MappedFile> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::uint8_t* data() const { return m_data; }
    std::uint8_t* mutableData() const { return m_data; }
    std::size_t size() const { return m_size; }
    const std::string& path() const { return m_path; }

private:
    MappedFile() = default;
    std::string m_path;
    std::uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace lathe
