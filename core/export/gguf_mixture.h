// Which ggml type each tensor of an exported model gets: which tensors may be quantized at all, llama.cpp's
// shape fallbacks, the output-tensor rule of llama-quantize's single-type ftypes (Q8_0, Q4_0, Q4_1, Q5_0,
// Q6_K) and the Q4_K_M mixture (llama-quantize's llama_tensor_get_type for LLAMA_FTYPE_MOSTLY_Q4_K_M).
//
// The choice depends only on the GGUF tensor name, its row length ne[0], the layer count, whether the model
// has its own output.weight (untied embeddings) and whether llama.cpp classes it as a 70B model; never on the
// weight values. tests/core/tst_gguf_quant.cpp reproduces every choice llama-quantize made for the models in
// shared/fixtures/gguf/q4_k_m. Torch-free, like the quantizers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "export/ggml_type.h"

namespace lathe {

/// What the Q4_K_M rule needs to know about the whole model.
struct GgufMixtureModel
{
    /// {arch}.block_count.
    std::int64_t layerCount = 0;
    /// True when the file has its own output.weight; false for tied embeddings, where token_embd.weight takes
    /// the output tensor's type.
    bool hasOutputTensor = true;
    /// llama.cpp's LLM_TYPE_70B (80-layer Llama-2/3 70B with GQA, Qwen2/2.5 72B): a Q4_K attn_v becomes Q5_K.
    bool is70B = false;
};

/// llama-quantize's tensor_allows_quantization for the tensors Lathe writes: at least 2 dimensions as ggml
/// counts them (trailing 1s in `ne` do not count), a name ending in "weight", not a norm ("_norm.weight") and
/// not an MoE router ("ffn_gate_inp.weight").
bool ggufTensorAllowsQuantization(const std::string& ggufName, const std::vector<std::int64_t>& ne);

/// llama.cpp's shape fallback for a row of `ne0` elements: `wanted` itself when the row is a multiple of its
/// block; otherwise Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and F16 when that still does not fit. A
/// 32-block type that does not fit becomes F16 as in convert_hf_to_gguf (llama-quantize has no fallback for
/// those and refuses the tensor).
GgmlType ggmlTypeForRow(GgmlType wanted, std::int64_t ne0);

/// The Q4_K_M type of one tensor: `unquantized` (F32 for Lathe's exports) for tensors that are never
/// quantized; output.weight (or token_embd.weight when tied) Q6_K, or Q8_0 when ne0 % 256 != 0; attn_v and
/// ffn_down Q6_K on the layers where use_more_bits(layer, layerCount) holds; everything else Q4_K; then the
/// shape fallback. `ne` is in GGUF order (ne[0] = row length). Throws lathe::Error for an attn_v / ffn_down
/// name without a layer.
GgmlType q4kmTypeFor(const std::string& ggufName, const std::vector<std::int64_t>& ne,
                     const GgufMixtureModel& model, GgmlType unquantized = GgmlType::F32);

/// llama-quantize's choice (no imatrix, no --pure) for the single-type ftypes MOSTLY_Q8_0, Q4_0, Q4_1, Q5_0
/// and Q6_K, whose default type is `type`: the output tensor (output.weight, or token_embd.weight when tied)
/// gets Q6_K unless `type` is Q8_0 (Q8_0 when its row does not hold `type`'s blocks); every other quantizable
/// matrix gets `type`; then the shape fallback. Tensors that are never quantized get `unquantized`.
GgmlType llamaQuantizeTypeFor(GgmlType type, const std::string& ggufName, const std::vector<std::int64_t>& ne,
                              const GgufMixtureModel& model, GgmlType unquantized = GgmlType::F32);

/// llama-quantize's use_more_bits(i, n): the first and last eighth of the layers and every third in between.
bool ggufUseMoreBits(std::int64_t layer, std::int64_t layerCount);

} // namespace lathe
