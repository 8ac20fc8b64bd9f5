#include "io/safetensors_header.h"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json_text.h"

namespace lathe {

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024; // the Python library's own limit

std::uint64_t readLe64(const std::uint8_t* p)
{
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i)
        value = (value << 8) | p[i];
    return value;
}

} // namespace

std::uint64_t safetensorsElementSize(const std::string& dtype)
{
    static const std::map<std::string, std::uint64_t> sizes = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
        {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
    };
    const auto it = sizes.find(dtype);
    return it == sizes.end() ? 0 : it->second;
}

SafetensorsHeader parseSafetensorsHeader(const std::uint8_t* bytes, std::uint64_t fileSize, const std::string& path)
{
    SafetensorsHeader result;
    if (fileSize < 8)
        fail(path, ": not a safetensors file: ", fileSize, " bytes, shorter than the 8-byte header length");
    const std::uint64_t headerLen = readLe64(bytes);
    if (headerLen > fileSize - 8)
        fail(path, ": header length ", headerLen, " runs past the end of the file (", fileSize, " bytes)");
    if (headerLen > kMaxHeaderBytes)
        fail(path, ": header length ", headerLen, " exceeds the 100 MB limit");
    result.dataStart = 8 + headerLen;
    const std::uint64_t dataSize = fileSize - result.dataStart;

    nlohmann::json header;
    try {
        const std::string_view text(reinterpret_cast<const char*>(bytes) + 8, headerLen);
        header = parseJson<nlohmann::json>(text, path + ": header");
    } catch (const nlohmann::json::exception& e) {
        fail(path, ": header is not valid JSON: ", e.what());
    }
    if (!header.is_object())
        fail(path, ": header is not a JSON object");

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const auto& value = it.value();
        if (name == "__metadata__") {
            if (!value.is_object())
                fail(path, ": __metadata__ is not an object");
            for (auto m = value.begin(); m != value.end(); ++m)
                result.metadata[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
            continue;
        }
        const std::string where = cat(path, ": tensor \"", name, "\"");
        if (!value.is_object())
            fail(where, ": entry is not an object");
        SafetensorsEntry entry;
        entry.name = name;
        if (!value.contains("dtype") || !value["dtype"].is_string())
            fail(where, ": missing field \"dtype\"");
        entry.dtype = value["dtype"].get<std::string>();
        const std::uint64_t elemSize = safetensorsElementSize(entry.dtype);
        if (elemSize == 0)
            fail(where, ": unknown dtype \"", entry.dtype, "\"");
        if (!value.contains("shape") || !value["shape"].is_array())
            fail(where, ": missing field \"shape\"");
        std::uint64_t numel = 1;
        for (const auto& dim : value["shape"]) {
            if (!dim.is_number_integer() || dim.get<std::int64_t>() < 0)
                fail(where, ": shape ", value["shape"].dump(), " has a dimension that is not a non-negative integer");
            entry.shape.push_back(dim.get<std::int64_t>());
            const auto d = static_cast<std::uint64_t>(entry.shape.back());
            if (d != 0 && numel > (std::uint64_t(1) << 62) / d)
                fail(where, ": shape ", value["shape"].dump(), " is too large");
            numel *= d;
        }
        const auto& offsets = value.contains("data_offsets") ? value["data_offsets"] : nlohmann::json();
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned())
            fail(where, ": field \"data_offsets\" must be two non-negative integers");
        entry.begin = offsets[0].get<std::uint64_t>();
        entry.end = offsets[1].get<std::uint64_t>();
        if (entry.begin > entry.end)
            fail(where, ": data_offsets [", entry.begin, ", ", entry.end, "] begin after they end");
        if (entry.end > dataSize)
            fail(where, ": data_offsets [", entry.begin, ", ", entry.end, "] run past the data section (", dataSize,
                 " bytes)");
        if (entry.end - entry.begin != numel * elemSize)
            fail(where, ": shape ", value["shape"].dump(), " of ", entry.dtype, " needs ", numel * elemSize,
                 " bytes but data_offsets span ", entry.end - entry.begin);
        result.entries.emplace(name, std::move(entry));
    }

    // Tensors must not share bytes.
    std::vector<const SafetensorsEntry*> byOffset;
    for (const auto& kv : result.entries)
        byOffset.push_back(&kv.second);
    std::sort(byOffset.begin(), byOffset.end(),
              [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
    // Compare each tensor with the earlier one reaching furthest, not just its neighbour: an empty
    // tensor sorted in between must not hide an overlap.
    const SafetensorsEntry* reach = nullptr;
    for (const auto* cur : byOffset) {
        if (cur->begin == cur->end)
            continue;
        if (reach && cur->begin < reach->end)
            fail(path, ": tensor \"", cur->name, "\" (bytes ", cur->begin, "..", cur->end, ") overlaps tensor \"",
                 reach->name, "\" (bytes ", reach->begin, "..", reach->end, ")");
        if (!reach || cur->end > reach->end)
            reach = cur;
    }
    return result;
}

} // namespace lathe
