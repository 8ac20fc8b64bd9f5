// GGUF tensor-data encoders: fp16/bf16 conversion and the block quantizers Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// Q4_K, Q5_K and Q6_K, byte for byte as llama.cpp's llama-quantize writes them without an importance matrix.
//
// llama-quantize calls ggml's reference quantizers (quantize_row_*_ref in ggml-quants.c, built without FMA
// and without fast-math); these are ports of the algorithms described in shared/docs/gguf-reference.md §3, in
// the same float32 operation order, with the same rounding helpers (C roundf for Q8_0, ggml's nearest_int
// elsewhere, C casts that truncate) and ggml's fp32 -> fp16 rounding. The translation unit is compiled with
// -ffp-contract=off so no multiply-add is fused; tests/core/tst_gguf_quant.cpp checks every byte against
// llama.cpp's output in shared/fixtures/gguf/quant. Rows are independent, so quantizeRows may split them over
// threads and still write the same bytes as one thread.
//
// Plain float arrays in, raw little-endian block bytes out: no torch, no Qt.
#pragma once

#include <cstddef>
#include <cstdint>

#include "export/ggml_type.h"

namespace lathe {

// ===== scalar conversions =====

/// IEEE fp32 -> fp16, round to nearest even, as GGML_FP32_TO_FP16: the sign of zero is kept, values past the
/// fp16 range become infinity, subnormals are rounded (not flushed), a NaN becomes sign | 0x7E00.
std::uint16_t fp32ToFp16(float value);
/// fp16 -> fp32 (exact).
float fp16ToFp32(std::uint16_t bits);
/// fp32 -> bf16 as ggml does: round to nearest even; a NaN keeps its sign and top bits and is made quiet.
std::uint16_t fp32ToBf16(float value);
/// bf16 -> fp32 (exact).
float bf16ToFp32(std::uint16_t bits);

// ===== rows =====

/// Encodes one row of `n` floats as `type` into `dst` (ggmlRowSize(type, n) bytes). F32, F16 and BF16 are
/// plain conversions. Throws lathe::Error unless `n` is a positive multiple of the type's block size. Inputs
/// are expected to be finite, as llama.cpp expects.
void quantizeRow(GgmlType type, const float* src, void* dst, std::int64_t n);

/// Encodes `rows` rows of `cols` floats (row-major) into `rows * ggmlRowSize(type, cols)` bytes, splitting
/// the rows over up to `threads` std::threads (the caller's thread is one of them). Output is identical for
/// any thread count.
void quantizeRows(GgmlType type, const float* src, void* dst, std::int64_t rows, std::int64_t cols,
                  int threads = 1);

/// quantizeRows for bfloat16 input (each row widened to float32 exactly, in the worker threads): the same bytes
/// as widening the whole matrix first, without a float32 copy of it.
void quantizeRowsBf16(GgmlType type, const std::uint16_t* src, void* dst, std::int64_t rows, std::int64_t cols,
                      int threads);

/// Decodes one row of `n` elements of `type` back to floats (ggml's dequantize_row_*); for tests and checks.
void dequantizeRow(GgmlType type, const void* src, float* dst, std::int64_t n);

/// Widens `n` bf16 values to float32 (exact).
void bf16ToFp32Row(const std::uint16_t* src, float* dst, std::int64_t n);
/// Widens `n` fp16 values to float32 (exact).
void fp16ToFp32Row(const std::uint16_t* src, float* dst, std::int64_t n);

} // namespace lathe
