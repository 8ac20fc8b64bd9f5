#include "export/gguf_mixture.h"

#include "util/error.h"

namespace lathe {

namespace {

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& s, const char* part)
{
    return s.find(part) != std::string::npos;
}

// The N of "blk.N.<...>", or -1.
std::int64_t layerOf(const std::string& name)
{
    if (name.compare(0, 4, "blk.") != 0)
        return -1;
    std::size_t i = 4;
    std::int64_t layer = 0;
    const std::size_t start = i;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9')
        layer = layer * 10 + (name[i++] - '0');
    if (i == start || i >= name.size() || name[i] != '.')
        return -1;
    return layer;
}

// llama.cpp's type for the output tensor (output.weight, or the tied token_embd.weight) in a file whose
// default type is `defaultType`, before the generic shape fallback.
GgmlType outputTensorType(GgmlType defaultType, std::int64_t ne0)
{
    if (ne0 % ggmlBlockSize(defaultType) != 0)
        return GgmlType::Q8_0;
    return defaultType == GgmlType::Q8_0 ? GgmlType::Q8_0 : GgmlType::Q6_K;
}

bool isOutputTensor(const std::string& ggufName, const GgufMixtureModel& model)
{
    return ggufName == "output.weight" || (ggufName == "token_embd.weight" && !model.hasOutputTensor);
}

std::int64_t requireLayer(const std::string& name, const GgufMixtureModel& model)
{
    const std::int64_t layer = layerOf(name);
    if (layer < 0 || layer >= model.layerCount)
        fail("Q4_K_M: tensor \"", name, "\" has no layer index in [0, ", model.layerCount, ")");
    return layer;
}

} // namespace

bool ggufTensorAllowsQuantization(const std::string& ggufName, const std::vector<std::int64_t>& ne)
{
    std::size_t nDims = ne.size(); // ggml_n_dims: trailing dimensions of 1 are not counted
    while (nDims > 1 && ne[nDims - 1] == 1)
        --nDims;
    return nDims >= 2 && endsWith(ggufName, "weight") && !contains(ggufName, "_norm.weight") &&
           !contains(ggufName, "ffn_gate_inp.weight");
}

GgmlType ggmlTypeForRow(GgmlType wanted, std::int64_t ne0)
{
    if (ne0 % ggmlBlockSize(wanted) == 0)
        return wanted;
    GgmlType fallback = GgmlType::F16;
    switch (wanted) {
    case GgmlType::Q4_K: fallback = GgmlType::Q5_0; break;
    case GgmlType::Q5_K: fallback = GgmlType::Q5_1; break;
    case GgmlType::Q6_K: fallback = GgmlType::Q8_0; break;
    default: break;
    }
    if (ne0 % ggmlBlockSize(fallback) != 0)
        fallback = GgmlType::F16;
    return fallback;
}

bool ggufUseMoreBits(std::int64_t layer, std::int64_t layerCount)
{
    return layer < layerCount / 8 || layer >= 7 * layerCount / 8 || (layer - layerCount / 8) % 3 == 2;
}

GgmlType q4kmTypeFor(const std::string& ggufName, const std::vector<std::int64_t>& ne,
                     const GgufMixtureModel& model, GgmlType unquantized)
{
    if (!ggufTensorAllowsQuantization(ggufName, ne))
        return unquantized;
    const std::int64_t ne0 = ne[0];
    GgmlType type = GgmlType::Q4_K; // the mixture's default type

    if (isOutputTensor(ggufName, model)) {
        // Decided inside the mixture, before the generic fallback: Q8_0 when the row does not hold
        // 256-blocks.
        type = outputTensorType(type, ne0);
    } else if (ggufName == "token_embd.weight") {
        // untied: the default
    } else if (contains(ggufName, "attn_v.weight")) {
        // llama.cpp counts attn_v tensors in layer order, so its running index is the layer number.
        if (ggufUseMoreBits(requireLayer(ggufName, model), model.layerCount))
            type = GgmlType::Q6_K;
        if (model.is70B && type == GgmlType::Q4_K)
            type = GgmlType::Q5_K; // 8 heads share attn_v: more bits cost little
    } else if (contains(ggufName, "ffn_down")) {
        if (ggufUseMoreBits(requireLayer(ggufName, model), model.layerCount))
            type = GgmlType::Q6_K;
    }
    // attn_q, attn_k, attn_output, ffn_gate, ffn_up: the default. (Fused attn_qkv, MoE experts and falcon
    // have rules of their own in llama.cpp; Lathe's architectures have none of them.)
    return ggmlTypeForRow(type, ne0);
}

GgmlType llamaQuantizeTypeFor(GgmlType type, const std::string& ggufName, const std::vector<std::int64_t>& ne,
                              const GgufMixtureModel& model, GgmlType unquantized)
{
    if (!ggufTensorAllowsQuantization(ggufName, ne))
        return unquantized;
    if (isOutputTensor(ggufName, model))
        type = outputTensorType(type, ne[0]);
    return ggmlTypeForRow(type, ne[0]);
}

} // namespace lathe
