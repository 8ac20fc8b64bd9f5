#include "export/gguf_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <ATen/ATen.h>

#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace {

// gguf_type ids (ggml/include/gguf.h).
enum GgufValueType : std::int32_t
{
    kU32 = 4,
    kI32 = 5,
    kF32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
};

constexpr std::uint32_t kVersion = 3;
constexpr std::size_t kMaxTensorName = 63; // GGML_MAX_NAME - 1

// ===== little-endian encoding =====

bool hostIsLittleEndian()
{
    const std::uint16_t probe = 1;
    std::uint8_t first = 0;
    std::memcpy(&first, &probe, 1);
    return first == 1;
}

template <typename T>
void put(std::string& out, T value)
{
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
}

void putString(std::string& out, const std::string& s)
{
    put<std::uint64_t>(out, s.size());
    out.append(s);
}

std::uint64_t padTo(std::uint64_t n, std::uint64_t alignment)
{
    return (n + alignment - 1) / alignment * alignment;
}

void writeAll(std::FILE* file, const void* data, std::size_t size, const std::string& path)
{
    if (size != 0 && std::fwrite(data, 1, size, file) != size)
        fail(path, ": write failed: ", std::strerror(errno));
}

} // namespace

// ===== types =====

at::ScalarType ggmlScalarType(GgmlType type)
{
    switch (type) {
    case GgmlType::F32: return at::kFloat;
    case GgmlType::F16: return at::kHalf;
    case GgmlType::BF16: return at::kBFloat16;
    default: return at::kByte; // block-quantized: raw bytes
    }
}

// ===== metadata =====

std::string& GgufFile::beginKv(const std::string& key)
{
    if (key.empty())
        fail("GGUF: empty metadata key");
    if (hasKey(key))
        fail("GGUF: duplicate metadata key \"", key, "\"");
    m_kvs.emplace_back(key, std::string());
    return m_kvs.back().second;
}

bool GgufFile::hasKey(const std::string& key) const
{
    for (const auto& kv : m_kvs)
        if (kv.first == key)
            return true;
    return false;
}

void GgufFile::setU32(const std::string& key, std::uint32_t value)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kU32);
    put(out, value);
}

void GgufFile::setI32(const std::string& key, std::int32_t value)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kI32);
    put(out, value);
}

void GgufFile::setF32(const std::string& key, float value)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kF32);
    put(out, value);
}

void GgufFile::setBool(const std::string& key, bool value)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kBool);
    put<std::uint8_t>(out, value ? 1 : 0);
}

void GgufFile::setString(const std::string& key, const std::string& value)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kString);
    putString(out, value);
}

void GgufFile::setStringArray(const std::string& key, const std::vector<std::string>& values)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kArray);
    put<std::int32_t>(out, kString);
    put<std::uint64_t>(out, values.size());
    for (const auto& v : values)
        putString(out, v);
}

void GgufFile::setI32Array(const std::string& key, const std::vector<std::int32_t>& values)
{
    std::string& out = beginKv(key);
    put<std::int32_t>(out, kArray);
    put<std::int32_t>(out, kI32);
    put<std::uint64_t>(out, values.size());
    for (const auto v : values)
        put(out, v);
}

void GgufFile::setAlignment(std::uint32_t alignment)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        fail("GGUF: alignment ", alignment, " is not a power of two");
    m_alignment = alignment;
    setU32("general.alignment", alignment);
}

// ===== tensors =====

void GgufFile::addTensor(const std::string& name, std::vector<std::int64_t> ne, GgmlType type,
                         std::function<at::Tensor()> produce)
{
    if (name.empty() || name.size() > kMaxTensorName)
        fail("GGUF: tensor name \"", name, "\" must be 1 to ", kMaxTensorName, " bytes");
    for (const auto& t : m_tensors)
        if (t.name == name)
            fail("GGUF: duplicate tensor \"", name, "\"");
    if (ne.empty() || ne.size() > 4)
        fail("GGUF: tensor \"", name, "\" has ", ne.size(), " dimensions (1 to 4 allowed)");
    std::uint64_t rows = 1;
    for (std::size_t d = 0; d < ne.size(); ++d) {
        if (ne[d] <= 0)
            fail("GGUF: tensor \"", name, "\" has a dimension of ", ne[d]);
        if (d > 0)
            rows *= static_cast<std::uint64_t>(ne[d]);
    }
    if (ne[0] % ggmlBlockSize(type) != 0)
        fail("GGUF: tensor \"", name, "\" has rows of ", ne[0], " elements, not a multiple of ",
             ggmlTypeName(type), "'s block size ", ggmlBlockSize(type));
    const std::uint64_t nbytes = rows * ggmlRowSize(type, ne[0]);
    m_tensors.push_back({name, std::move(ne), type, nbytes, std::move(produce)});
}

std::uint64_t GgufFile::dataBytes() const
{
    std::uint64_t total = 0;
    for (const auto& t : m_tensors)
        total += padTo(t.nbytes, m_alignment);
    return total;
}

// ===== writing =====

void GgufFile::write(const std::string& path, const Progress& progress) const
{
    if (!hostIsLittleEndian())
        fail(path, ": writing GGUF on a big-endian host is not supported");

    // Header, KVs and tensor infos are small next to the data (a 150k-token vocab is a few MB): build them in memory.
    std::string head;
    head.append("GGUF", 4);
    put<std::uint32_t>(head, kVersion);
    put<std::uint64_t>(head, m_tensors.size());
    put<std::uint64_t>(head, m_kvs.size());
    for (const auto& kv : m_kvs) {
        putString(head, kv.first);
        head.append(kv.second);
    }
    std::uint64_t offset = 0;
    for (const auto& t : m_tensors) {
        putString(head, t.name);
        put<std::uint32_t>(head, static_cast<std::uint32_t>(t.ne.size()));
        for (const auto n : t.ne)
            put<std::int64_t>(head, n);
        put<std::int32_t>(head, static_cast<std::int32_t>(t.type));
        put<std::uint64_t>(head, offset);
        offset += padTo(t.nbytes, m_alignment);
    }
    head.resize(padTo(head.size(), m_alignment), '\0');

    const std::string zeros(m_alignment, '\0');
    writeFileAtomic(path, [&](std::FILE* file) {
        writeAll(file, head.data(), head.size(), path);
        for (std::size_t i = 0; i < m_tensors.size(); ++i) {
            const Tensor& t = m_tensors[i];
            if (progress)
                progress(i, m_tensors.size(), t.name);
            at::Tensor data = t.produce();
            if (!data.defined() || data.device().type() != at::kCPU)
                fail(path, ": tensor \"", t.name, "\": producer returned no CPU tensor");
            if (data.scalar_type() != ggmlScalarType(t.type))
                fail(path, ": tensor \"", t.name, "\": data is ", data.scalar_type(), ", expected ",
                     ggmlTypeName(t.type));
            data = data.contiguous();
            const std::uint64_t nbytes = data.numel() * data.element_size();
            if (nbytes != t.nbytes)
                fail(path, ": tensor \"", t.name, "\": data has ", nbytes, " bytes, expected ", t.nbytes);
            writeAll(file, data.data_ptr(), nbytes, path);
            writeAll(file, zeros.data(), padTo(nbytes, m_alignment) - nbytes, path);
        }
    });
}

} // namespace lathe
