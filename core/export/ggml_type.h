// ggml's tensor types as GGUF stores them: ids, block sizes, bytes per block and row sizes.
//
// Torch-free, so the quantizers (gguf_quant.h) and the Q4_K_M type chooser (gguf_mixture.h) build without
// libtorch; the GGUF container (gguf_file.h) includes this header for the same enum. Values follow ggml.h and
// ggml-common.h: a row of n elements of a block type holds n / blockSize blocks of typeSize bytes each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace lathe {

/// ggml tensor types Lathe writes (ids as in ggml.h).
enum class GgmlType : std::uint32_t
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,  ///< 32 weights: fp16 d, 16 bytes of nibbles
    Q4_1 = 3,  ///< 32 weights: fp16 d, fp16 m, 16 bytes of nibbles
    Q5_0 = 6,  ///< 32 weights: fp16 d, 4 bytes of high bits, 16 bytes of nibbles
    Q5_1 = 7,  ///< 32 weights: fp16 d, fp16 m, 4 bytes of high bits, 16 bytes of nibbles
    Q8_0 = 8,  ///< 32 weights: fp16 d, 32 int8
    Q4_K = 12, ///< 256 weights: fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
    Q5_K = 13, ///< 256 weights: as Q4_K plus 32 bytes of high bits
    Q6_K = 14, ///< 256 weights: 128 bytes low nibbles, 64 bytes high bits, 16 int8 scales, fp16 d (last)
    BF16 = 30,
};

/// "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K" (gguf-py's spelling).
const char* ggmlTypeName(GgmlType type);
/// The type named `name` as ggmlTypeName spells it (case-insensitive), or nullopt.
std::optional<GgmlType> ggmlTypeFromName(const std::string& name);
/// Elements per block: 1 for F32/F16/BF16, 32 for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, 256 for the K-quants.
std::int64_t ggmlBlockSize(GgmlType type);
/// Bytes per block (for F32/F16/BF16: bytes per element), ggml_type_size.
std::size_t ggmlTypeSize(GgmlType type);
/// True for the block-quantized types.
bool ggmlIsQuantized(GgmlType type);
/// Bytes of one row of `n` elements; throws lathe::Error unless `n` is a positive multiple of the block size.
std::size_t ggmlRowSize(GgmlType type, std::int64_t n);

} // namespace lathe
