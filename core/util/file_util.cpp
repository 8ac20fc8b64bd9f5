#include "util/file_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

namespace lathe {

std::string readTextFile(const std::string& path)
{
    // A FIFO or a device named like a config file would block or never end: regular files only.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        fail(path, ": not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, ": cannot open for reading: ", std::strerror(errno));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string writeFailure(const std::string& path, int err)
{
    namespace fs = std::filesystem;
    if (err != ENOSPC && err != EDQUOT && err != EIO)
        return std::strerror(err);
    // A full disk (some file systems report it as EIO): say so, with the room left.
    std::error_code ec;
    fs::path dir = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
    while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir)
        dir = dir.parent_path(); // the nearest folder that exists is on the same device
    const auto space = fs::space(dir, ec);
    if (ec)
        return std::strerror(err);
    if (err == EIO && space.available > (std::uintmax_t(64) << 20))
        return std::strerror(err);
    char text[160];
    std::snprintf(text, sizeof text, "no space left on the device holding %s (%.1f MB free)", dir.c_str(),
                  double(space.available) / 1e6);
    return text;
}

void writeFileAtomic(const std::string& path, const std::function<void(std::FILE*)>& writer)
{
    namespace fs = std::filesystem;
    const fs::path target(path);
    if (target.has_parent_path())
        fs::create_directories(target.parent_path());
    std::random_device rd;
    const std::string tmp = path + ".tmp-" + std::to_string(rd() % 1000000);
    std::FILE* file = std::fopen(tmp.c_str(), "wb");
    if (!file)
        fail(tmp, ": cannot create: ", std::strerror(errno));
    try {
        writer(file);
        if (std::fflush(file) != 0 || ::fsync(::fileno(file)) != 0)
            fail(tmp, ": write failed: ", writeFailure(tmp, errno));
    } catch (...) {
        std::fclose(file);
        std::remove(tmp.c_str());
        throw;
    }
    if (std::fclose(file) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        fail(tmp, ": close failed: ", writeFailure(tmp, err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        fail(path, ": cannot replace with ", tmp, ": ", std::strerror(err));
    }
}

void writeTextFileAtomic(const std::string& path, const std::string& content)
{
    writeFileAtomic(path, [&](std::FILE* file) {
        if (!content.empty() && std::fwrite(content.data(), 1, content.size(), file) != content.size())
            fail(path, ": write failed: ", writeFailure(path, errno));
    });
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path)
{
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        fail(path, ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        fail(path, ": cannot stat: ", std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, ": not a regular file");
    }
    std::shared_ptr<MappedFile> mapped(new MappedFile);
    mapped->m_path = path;
    mapped->m_size = static_cast<std::size_t>(st.st_size);
    if (mapped->m_size > 0) {
        // MAP_PRIVATE + PROT_WRITE: tensors built on the mapping may be modified in place (full fine-tuning)
        // without ever writing back to the file; untouched pages stay shared with the page cache.
        void* addr = ::mmap(nullptr, mapped->m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (addr == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            fail(path, ": cannot map: ", std::strerror(err));
        }
        mapped->m_data = static_cast<std::uint8_t*>(addr);
    }
    ::close(fd);
    return mapped;
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(m_data, m_size);
}

} // namespace lathe
