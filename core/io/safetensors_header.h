// The header of a safetensors file, parsed and checked without torch: the 8-byte little-endian length, the JSON
// describing each tensor, and every structural rule (known dtypes, shapes matching their byte spans, spans inside
// the data section and not overlapping). safetensors.h maps the file and makes tensors of what this returns; the
// fuzzer (fuzz/fuzz_safetensors_header.cpp) feeds it arbitrary bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lathe {

/// One entry of a safetensors header.
struct SafetensorsEntry
{
    std::string name;              ///< tensor name as stored (HF naming, e.g. model.layers.0.self_attn.q_proj.weight)
    std::string dtype;             ///< safetensors dtype string: F32, F16, BF16, I64, ...
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;       ///< byte offset into the data section
    std::uint64_t end = 0;
};

struct SafetensorsHeader
{
    std::uint64_t dataStart = 0; ///< file offset of the data section (8 + header length)
    std::map<std::string, SafetensorsEntry> entries;
    std::map<std::string, std::string> metadata;
};

/// Bytes per element of a safetensors dtype ("F32" -> 4); 0 for a name it does not know.
std::uint64_t safetensorsElementSize(const std::string& dtype);

/// Parses the header of a file of `fileSize` bytes starting at `bytes` (all of the file, or at least its first
/// 8 + header-length bytes). Throws lathe::Error naming `path` and the tensor on any malformed header.
SafetensorsHeader parseSafetensorsHeader(const std::uint8_t* bytes, std::uint64_t fileSize, const std::string& path);

} // namespace lathe
