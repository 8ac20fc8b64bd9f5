// Shared by the harnesses: a scratch folder per process and file writing, for parsers whose entry point is a file
// or a folder (the harness writes the input where the program would find it, so the real entry point runs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace lathe::fuzz {

/// A folder of this process's own, created once (under $TMPDIR, /dev/shm when it exists: no disk traffic).
inline const std::string& scratchDir()
{
    static const std::string dir = [] {
        const char* tmp = std::getenv("TMPDIR");
        std::string base = tmp && *tmp ? tmp : (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        std::string pattern = base + "/lathe-fuzz-XXXXXX";
        if (!mkdtemp(pattern.data()))
            std::abort();
        return pattern;
    }();
    return dir;
}

inline void writeFile(const std::string& path, const std::uint8_t* data, std::size_t size)
{
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        std::abort();
    if (size && std::fwrite(data, 1, size, f) != size)
        std::abort();
    std::fclose(f);
}

inline void writeFile(const std::string& path, const std::string& text)
{
    writeFile(path, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

} // namespace lathe::fuzz
