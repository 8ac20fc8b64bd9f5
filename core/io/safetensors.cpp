#include "io/safetensors.h"
#include "io/safetensors_header.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

struct DtypeName
{
    const char* name;
    at::ScalarType type;
};

const DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat},   {"F16", at::kHalf},  {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},     {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};

} // namespace

at::ScalarType scalarTypeFromSafetensors(const std::string& dtype)
{
    for (const auto& d : kDtypes)
        if (dtype == d.name)
            return d.type;
    fail("unknown safetensors dtype \"", dtype, "\"");
}

std::string safetensorsDtypeName(at::ScalarType type)
{
    for (const auto& d : kDtypes)
        if (type == d.type)
            return d.name;
    fail("tensor type ", c10::toString(type), " cannot be stored in safetensors");
}

// ---------------------------------------------------------------------------------------------------------
// SafetensorsFile
// ---------------------------------------------------------------------------------------------------------

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path)
{
    auto result = std::shared_ptr<SafetensorsFile>(new SafetensorsFile);
    result->m_file = MappedFile::open(path);
    SafetensorsHeader header = parseSafetensorsHeader(result->m_file->data(), result->m_file->size(), path);
    result->m_dataStart = header.dataStart;
    result->m_entries = std::move(header.entries);
    result->m_metadata = std::move(header.metadata);
    return result;
}

const std::string& SafetensorsFile::path() const
{
    return m_file->path();
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const
{
    auto it = m_entries.find(name);
    if (it == m_entries.end())
        fail(path(), ": no tensor named \"", name, "\"");
    return it->second;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const
{
    const auto& e = entry(name);
    const auto type = scalarTypeFromSafetensors(e.dtype);
    auto keepAlive = m_file;
    void* ptr = m_file->mutableData() + m_dataStart + e.begin;
    if (e.begin == e.end)
        return at::empty(e.shape, at::TensorOptions().dtype(type));
    // Misaligned data (possible: the header length need not be a multiple of the element size) is copied.
    if (reinterpret_cast<std::uintptr_t>(ptr) % c10::elementSize(type) != 0) {
        auto out = at::empty(e.shape, at::TensorOptions().dtype(type));
        std::memcpy(out.data_ptr(), ptr, e.end - e.begin);
        return out;
    }
    return at::from_blob(
        ptr, e.shape, [keepAlive](void*) mutable { keepAlive.reset(); }, at::TensorOptions().dtype(type));
}

void SafetensorsFile::readInto(const std::string& name, void* dst) const
{
    const auto& e = entry(name);
    const int fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail(path(), ": cannot open: ", std::strerror(errno));
    auto* out = static_cast<std::uint8_t*>(dst);
    std::uint64_t offset = m_dataStart + e.begin, left = e.end - e.begin;
    while (left > 0) {
        const ssize_t n = ::pread(fd, out, left, off_t(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            fail(path(), ": tensor \"", name, "\": read failed: ", n < 0 ? std::strerror(err) : "unexpected end of file");
        }
        out += n;
        offset += std::uint64_t(n);
        left -= std::uint64_t(n);
    }
    ::close(fd);
}

// ---------------------------------------------------------------------------------------------------------
// WeightStore
// ---------------------------------------------------------------------------------------------------------

WeightStore WeightStore::openFile(const std::string& path)
{
    WeightStore store;
    store.m_description = path;
    store.m_files.push_back(SafetensorsFile::open(path));
    for (const auto& kv : store.m_files[0]->entries())
        store.m_where[kv.first] = 0;
    return store;
}

WeightStore WeightStore::openDir(const std::string& dir, const std::string& stem)
{
    namespace fs = std::filesystem;
    const fs::path single = fs::path(dir) / (stem + ".safetensors");
    const fs::path index = fs::path(dir) / (stem + ".safetensors.index.json");
    if (fs::exists(single))
        return openFile(single.string());
    if (!fs::exists(index))
        fail(dir, ": no ", stem, ".safetensors or ", stem, ".safetensors.index.json (only safetensors weights are supported)");

    nlohmann::json json;
    try {
        json = parseJson<nlohmann::json>(readTextFile(index.string()), index.string());
    } catch (const nlohmann::json::exception& e) {
        fail(index.string(), ": not valid JSON: ", e.what());
    }
    if (!json.contains("weight_map") || !json["weight_map"].is_object())
        fail(index.string(), ": missing object \"weight_map\"");

    WeightStore store;
    store.m_description = index.string();
    std::map<std::string, std::size_t> fileIndex;
    for (auto it = json["weight_map"].begin(); it != json["weight_map"].end(); ++it) {
        if (!it.value().is_string())
            fail(index.string(), ": weight_map entry \"", it.key(), "\" is not a file name");
        const std::string shard = it.value().get<std::string>();
        if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
            fail(index.string(), ": weight_map entry \"", it.key(), "\" points outside the folder: ", shard);
        auto found = fileIndex.find(shard);
        if (found == fileIndex.end()) {
            const fs::path shardPath = fs::path(dir) / shard;
            if (!fs::exists(shardPath))
                fail(index.string(), ": shard ", shard, " (holding \"", it.key(), "\") does not exist");
            store.m_files.push_back(SafetensorsFile::open(shardPath.string()));
            found = fileIndex.emplace(shard, store.m_files.size() - 1).first;
        }
        if (!store.m_files[found->second]->contains(it.key()))
            fail(store.m_files[found->second]->path(), ": index ", index.filename().string(), " lists tensor \"",
                 it.key(), "\" here, but the file does not hold it");
        store.m_where[it.key()] = found->second;
    }
    return store;
}

std::vector<std::string> WeightStore::names() const
{
    std::vector<std::string> out;
    out.reserve(m_where.size());
    for (const auto& kv : m_where)
        out.push_back(kv.first);
    return out;
}

const SafetensorsEntry& WeightStore::entry(const std::string& name) const
{
    auto it = m_where.find(name);
    if (it == m_where.end())
        fail(m_description, ": missing tensor \"", name, "\"");
    return m_files[it->second]->entry(name);
}

std::string WeightStore::fileOf(const std::string& name) const
{
    auto it = m_where.find(name);
    return it == m_where.end() ? m_description : m_files[it->second]->path();
}

at::Tensor WeightStore::get(const std::string& name) const
{
    auto it = m_where.find(name);
    if (it == m_where.end())
        fail(m_description, ": missing tensor \"", name, "\"");
    return m_files[it->second]->tensor(name);
}

void WeightStore::readInto(const std::string& name, void* dst) const
{
    auto it = m_where.find(name);
    if (it == m_where.end())
        fail(m_description, ": missing tensor \"", name, "\"");
    m_files[it->second]->readInto(name, dst);
}

// ---------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------

namespace {

std::uint64_t tensorBytes(const at::Tensor& t)
{
    return static_cast<std::uint64_t>(t.numel()) * t.element_size();
}

} // namespace

void saveSafetensors(const std::string& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata)
{
    std::vector<std::pair<std::string, at::Tensor>> sorted;
    sorted.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        if (!tensor.defined())
            fail(path, ": tensor \"", name, "\" is undefined");
        sorted.emplace_back(name, tensor.detach().to(at::kCPU).contiguous());
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i].first == sorted[i - 1].first)
            fail(path, ": tensor \"", sorted[i].first, "\" given twice");

    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto& [name, tensor] : sorted) {
        nlohmann::json entry;
        entry["dtype"] = safetensorsDtypeName(tensor.scalar_type());
        entry["shape"] = tensor.sizes().vec();
        entry["data_offsets"] = {offset, offset + tensorBytes(tensor)};
        offset += tensorBytes(tensor);
        header[name] = entry;
    }
    std::string headerText = header.dump();
    while ((headerText.size() + 8) % 8 != 0) // keep the data section 8-byte aligned, as the Python writer does
        headerText.push_back(' ');

    writeFileAtomic(path, [&](std::FILE* file) {
        std::uint8_t len[8];
        std::uint64_t n = headerText.size();
        for (int i = 0; i < 8; ++i)
            len[i] = static_cast<std::uint8_t>(n >> (8 * i));
        bool ok = std::fwrite(len, 1, 8, file) == 8 &&
                  std::fwrite(headerText.data(), 1, headerText.size(), file) == headerText.size();
        for (const auto& item : sorted) {
            const auto bytes = tensorBytes(item.second);
            ok = ok && (bytes == 0 || std::fwrite(item.second.data_ptr(), 1, bytes, file) == bytes);
        }
        if (!ok)
            fail(path, ": write failed (disk full?)");
    });
}

void saveSafetensorsSharded(const std::string& dir, const NamedTensors& tensors, std::uint64_t maxShardBytes,
                            const std::string& stem)
{
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    std::vector<NamedTensors> shards(1);
    std::uint64_t current = 0, total = 0;
    for (const auto& item : tensors) {
        const auto bytes = tensorBytes(item.second);
        if (current > 0 && current + bytes > maxShardBytes) {
            shards.emplace_back();
            current = 0;
        }
        shards.back().push_back(item);
        current += bytes;
        total += bytes;
    }
    if (shards.size() == 1) {
        saveSafetensors((fs::path(dir) / (stem + ".safetensors")).string(), tensors);
        return;
    }
    nlohmann::json index;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = nlohmann::json::object();
    char name[128];
    for (std::size_t i = 0; i < shards.size(); ++i) {
        std::snprintf(name, sizeof(name), "%s-%05zu-of-%05zu.safetensors", stem.c_str(), i + 1, shards.size());
        saveSafetensors((fs::path(dir) / name).string(), shards[i]);
        for (const auto& item : shards[i])
            index["weight_map"][item.first] = name;
    }
    writeTextFileAtomic((fs::path(dir) / (stem + ".safetensors.index.json")).string(), index.dump(2) + "\n");
}

std::uint64_t TensorPlan::bytes() const
{
    std::uint64_t n = at::elementSize(dtype);
    for (auto d : shape)
        n *= std::uint64_t(d);
    return n;
}

std::vector<std::string> saveSafetensorsStreamed(const std::string& dir, const std::vector<TensorPlan>& plan,
                                                 std::uint64_t maxShardBytes, const TensorProducer& produce,
                                                 const std::string& stem)
{
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    // Shards in plan order, as save_pretrained fills them; within a file tensors are stored sorted by name.
    std::vector<std::vector<const TensorPlan*>> shards(1);
    std::uint64_t current = 0, total = 0;
    for (const auto& t : plan) {
        if (current > 0 && current + t.bytes() > maxShardBytes) {
            shards.emplace_back();
            current = 0;
        }
        shards.back().push_back(&t);
        current += t.bytes();
        total += t.bytes();
    }
    std::vector<std::string> names;
    nlohmann::json index;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = nlohmann::json::object();
    for (std::size_t i = 0; i < shards.size(); ++i) {
        char name[160];
        if (shards.size() == 1)
            std::snprintf(name, sizeof(name), "%s.safetensors", stem.c_str());
        else
            std::snprintf(name, sizeof(name), "%s-%05zu-of-%05zu.safetensors", stem.c_str(), i + 1, shards.size());
        auto& tensors = shards[i];
        std::sort(tensors.begin(), tensors.end(), [](auto* a, auto* b) { return a->name < b->name; });
        nlohmann::json header = nlohmann::json::object();
        header["__metadata__"] = {{"format", "pt"}};
        std::uint64_t offset = 0;
        for (const auto* t : tensors) {
            header[t->name] = {{"dtype", safetensorsDtypeName(t->dtype)},
                               {"shape", t->shape},
                               {"data_offsets", {offset, offset + t->bytes()}}};
            offset += t->bytes();
            index["weight_map"][t->name] = name;
        }
        std::string headerText = header.dump();
        while ((headerText.size() + 8) % 8 != 0)
            headerText.push_back(' ');
        const std::string path = (fs::path(dir) / name).string();
        writeFileAtomic(path, [&](std::FILE* file) {
            std::uint8_t len[8];
            const std::uint64_t n = headerText.size();
            for (int b = 0; b < 8; ++b)
                len[b] = static_cast<std::uint8_t>(n >> (8 * b));
            bool ok = std::fwrite(len, 1, 8, file) == 8 &&
                      std::fwrite(headerText.data(), 1, headerText.size(), file) == headerText.size();
            for (const auto* t : tensors) {
                auto value = produce(*t).detach().to(at::kCPU).to(t->dtype).contiguous();
                if (value.sizes().vec() != t->shape)
                    fail(path, ": tensor \"", t->name, "\" came out with shape ", value.sizes(), ", planned ",
                         at::IntArrayRef(t->shape));
                const auto bytes = t->bytes();
                ok = ok && (bytes == 0 || std::fwrite(value.data_ptr(), 1, bytes, file) == bytes);
                if (!ok)
                    break;
            }
            if (!ok)
                fail(path, ": write failed (disk full?)");
        });
        names.push_back(name);
    }
    if (shards.size() > 1)
        writeTextFileAtomic((fs::path(dir) / (stem + ".safetensors.index.json")).string(), index.dump(2) + "\n");
    return names;
}

} // namespace lathe
