#include "export/gguf_writer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "export/gguf_file.h"
#include "export/gguf_mixture.h"
#include "export/gguf_names.h"
#include "export/gguf_quant.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/arch/architecture.h"
#include "model/model_config.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

namespace fs = std::filesystem;

// llama_ftype values (llama.h) for general.file_type.
constexpr std::uint32_t kFtypeAllF32 = 0;
constexpr std::uint32_t kFtypeMostlyF16 = 1;
constexpr std::uint32_t kFtypeMostlyBF16 = 32;
constexpr std::uint32_t kFtypeMostlyQ4_0 = 2;
constexpr std::uint32_t kFtypeMostlyQ4_1 = 3;
constexpr std::uint32_t kFtypeMostlyQ8_0 = 7;
constexpr std::uint32_t kFtypeMostlyQ5_0 = 8;
constexpr std::uint32_t kFtypeMostlyQ4_K_S = 14; // what llama-quantize calls an all-Q4_K file
constexpr std::uint32_t kFtypeMostlyQ4_K_M = 15;
constexpr std::uint32_t kFtypeMostlyQ6_K = 18;
constexpr std::uint32_t kQuantizationVersion = 2; // GGML_QNT_VERSION

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

GgmlType storedType(at::ScalarType type, const std::string& hfName)
{
    switch (type) {
    case at::kFloat:
    case at::kDouble: return GgmlType::F32;
    case at::kHalf: return GgmlType::F16;
    case at::kBFloat16: return GgmlType::BF16;
    default: fail("GGUF export: tensor \"", hfName, "\" has non-float dtype ", type);
    }
}

// The default ggml type of a quantized export.
GgmlType defaultQuantType(GgufOutType outType)
{
    switch (outType) {
    case GgufOutType::Q8_0: return GgmlType::Q8_0;
    case GgufOutType::Q4_0: return GgmlType::Q4_0;
    case GgufOutType::Q4_1: return GgmlType::Q4_1;
    case GgufOutType::Q5_0: return GgmlType::Q5_0;
    case GgufOutType::Q6_K: return GgmlType::Q6_K;
    case GgufOutType::Q4_K: return GgmlType::Q4_K;
    default: return GgmlType::F32;
    }
}

// convert_hf_to_gguf / llama-quantize: 1-D tensors, norms and anything that is not a ".weight" (biases)
// stay F32. Quantized exports choose as llama-quantize does (gguf_mixture.h): the Q4_K_M mixture, or for
// q8_0 / q4_0 / q4_1 / q5_0 / q6_k the ftype's type with Q6_K for the output tensor (Q8_0 keeps Q8_0); q4_k
// is every matrix Q4_K (`llama-quantize --pure`). Rows that do not hold whole blocks fall back as there.
GgmlType chooseType(const std::string& ggufName, const std::vector<std::int64_t>& ne, at::ScalarType stored,
                    const std::string& hfName, GgufOutType outType, const GgufMixtureModel& mixture)
{
    if (ne.size() <= 1 || endsWith(ggufName, "_norm.weight") || !endsWith(ggufName, ".weight"))
        return GgmlType::F32;
    switch (outType) {
    case GgufOutType::AsStored: return storedType(stored, hfName);
    case GgufOutType::F32: return GgmlType::F32;
    case GgufOutType::F16: return GgmlType::F16;
    case GgufOutType::BF16: return GgmlType::BF16;
    case GgufOutType::Q4_K_M: return q4kmTypeFor(ggufName, ne, mixture, GgmlType::F32);
    case GgufOutType::Q4_K:
        if (!ggufTensorAllowsQuantization(ggufName, ne))
            return GgmlType::F32;
        return ggmlTypeForRow(GgmlType::Q4_K, ne[0]);
    default: return llamaQuantizeTypeFor(defaultQuantType(outType), ggufName, ne, mixture, GgmlType::F32);
    }
}

// general.file_type of a quantized export; nullopt for the float types.
std::optional<std::uint32_t> quantizedFileType(GgufOutType outType)
{
    switch (outType) {
    case GgufOutType::Q8_0: return kFtypeMostlyQ8_0;
    case GgufOutType::Q4_0: return kFtypeMostlyQ4_0;
    case GgufOutType::Q4_1: return kFtypeMostlyQ4_1;
    case GgufOutType::Q5_0: return kFtypeMostlyQ5_0;
    case GgufOutType::Q6_K: return kFtypeMostlyQ6_K;
    case GgufOutType::Q4_K: return kFtypeMostlyQ4_K_S;
    case GgufOutType::Q4_K_M: return kFtypeMostlyQ4_K_M;
    default: return std::nullopt;
    }
}

// llama.cpp's LLM_TYPE_70B, which bumps Q4_K_M's attn_v: 80-layer llama with GQA (without it, 65B) and qwen2.
bool isLlamaCpp70B(const std::string& arch, const ModelConfig& c)
{
    if (c.num_hidden_layers != 80)
        return false;
    if (arch == "llama")
        return c.num_attention_heads != c.num_key_value_heads;
    return arch == "qwen2";
}

// Quantizes a tensor whose rows are its last dimension: `rows` rows of ne0 values, widened to float32 a
// slice of rows at a time (a 150k x 1k embedding never exists in float32 as a whole), each slice split over
// `threads`.
at::Tensor quantizeTensor(const at::Tensor& t, GgmlType type, std::int64_t ne0, int threads)
{
    const std::int64_t rows = t.numel() / ne0;
    const std::size_t rowBytes = ggmlRowSize(type, ne0);
    at::Tensor out = at::empty({static_cast<std::int64_t>(rows * rowBytes)}, at::kByte);
    const at::Tensor matrix = t.reshape({rows, ne0});
    std::uint8_t* dst0 = out.data_ptr<std::uint8_t>();
    if (matrix.scalar_type() == at::kBFloat16 && matrix.is_contiguous()) {
        quantizeRowsBf16(type, reinterpret_cast<const std::uint16_t*>(matrix.data_ptr<at::BFloat16>()), dst0, rows,
                         ne0, threads);
        return out;
    }
    constexpr std::int64_t kSliceElements = std::int64_t(1) << 23; // 32 MiB of float32
    const std::int64_t sliceRows = std::max<std::int64_t>(1, kSliceElements / ne0);
    for (std::int64_t r0 = 0; r0 < rows; r0 += sliceRows) {
        const std::int64_t n = std::min(sliceRows, rows - r0);
        const at::Tensor slice = matrix.narrow(0, r0, n).to(at::kFloat).contiguous();
        std::uint8_t* out0 = dst0 + static_cast<std::size_t>(r0) * rowBytes;
        quantizeRows(type, slice.data_ptr<float>(), out0, n, ne0, threads);
    }
    return out;
}

// LlamaModel.permute: within each head of D rows, row 2i+j takes old row j*D/2+i (rotate-half -> adjacent pairs).
at::Tensor permuteQk(const at::Tensor& w, std::int64_t heads)
{
    const std::int64_t rows = w.size(0);
    std::vector<std::int64_t> split = {heads, 2, rows / heads / 2};
    for (std::int64_t d = 1; d < w.dim(); ++d)
        split.push_back(w.size(d));
    return w.reshape(split).transpose(1, 2).reshape(w.sizes()).contiguous();
}

// Llama 3.1's per-frequency RoPE factors (LlamaModel.generate_extra_tensors), ne = [head_dim/2].
at::Tensor llama3RopeFreqs(const ModelConfig& c)
{
    const auto& rs = c.rope_scaling;
    const double base = c.rope_theta;
    const std::int64_t dim = c.rotary_dim();
    const double factor = rs.factor;
    const double low = rs.low_freq_factor, high = rs.high_freq_factor;
    const double orig = static_cast<double>(rs.original_max_position_embeddings.value_or(8192));
    const double lowWavelen = orig / low, highWavelen = orig / high;
    at::Tensor out = at::empty({dim / 2}, at::kFloat);
    float* p = out.data_ptr<float>();
    for (std::int64_t i = 0; i < dim / 2; ++i) {
        // numpy computes freqs in float32 in the converter; the factors only depend on wavelength thresholds.
        const float freq = 1.0f / static_cast<float>(std::pow(base, static_cast<double>(2 * i) / dim));
        const double wavelen = 2.0 * M_PI / freq;
        double f;
        if (wavelen < highWavelen) {
            f = 1.0;
        } else if (wavelen > lowWavelen) {
            f = factor;
        } else {
            const double smooth = (orig / wavelen - low) / (high - low);
            f = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        p[i] = static_cast<float>(f);
    }
    return out;
}

std::uint32_t u32(std::int64_t v, const char* what)
{
    if (v < 0 || v > 0xFFFFFFFFll)
        fail("GGUF export: ", what, " = ", v, " does not fit a UINT32");
    return static_cast<std::uint32_t>(v);
}

void writeHyperParameters(GgufFile& file, const std::string& a, const ModelConfig& c, const nlohmann::json& raw)
{
    file.setU32(a + ".context_length", u32(c.max_position_embeddings, "max_position_embeddings"));
    file.setU32(a + ".embedding_length", u32(c.hidden_size, "hidden_size"));
    file.setU32(a + ".block_count", u32(c.num_hidden_layers, "num_hidden_layers"));
    file.setU32(a + ".feed_forward_length", u32(c.intermediate_size, "intermediate_size"));
    file.setU32(a + ".attention.head_count", u32(c.num_attention_heads, "num_attention_heads"));
    file.setU32(a + ".attention.head_count_kv", u32(c.num_key_value_heads, "num_key_value_heads"));
    // llama.cpp defaults key/value_length to hidden/heads: write them whenever the config says otherwise.
    if (raw.contains("head_dim") || c.head_dim * c.num_attention_heads != c.hidden_size) {
        file.setU32(a + ".attention.key_length", u32(c.head_dim, "head_dim"));
        file.setU32(a + ".attention.value_length", u32(c.head_dim, "head_dim"));
    }
    file.setF32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
    file.setF32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
    if (a == "llama") {
        file.setU32(a + ".rope.dimension_count", u32(c.rotary_dim(), "rotary dim"));
        file.setU32(a + ".vocab_size", u32(c.vocab_size, "vocab_size"));
    }
    if (a == "gemma3") {
        // convert_hf_to_gguf's Gemma3Model: the global layers' RoPE scaling, the window; the pattern is built in.
        file.setU32(a + ".attention.sliding_window", u32(c.sliding_window.value_or(4096), "sliding_window"));
        if (c.final_logit_softcapping)
            file.setF32(a + ".final_logit_softcapping", static_cast<float>(*c.final_logit_softcapping));
    }
    if (a == "chatglm")
        file.setU32(a + ".rope.dimension_count", u32(c.rotary_dim(), "rotary dim")); // half of head_dim for GLM-4
    if (a == "gemma2") {
        // convert_hf_to_gguf's Gemma2Model.
        if (c.attn_logit_softcapping)
            file.setF32(a + ".attn_logit_softcapping", static_cast<float>(*c.attn_logit_softcapping));
        if (c.final_logit_softcapping)
            file.setF32(a + ".final_logit_softcapping", static_cast<float>(*c.final_logit_softcapping));
        file.setU32(a + ".attention.sliding_window", u32(c.sliding_window.value_or(4096), "sliding_window"));
    }
    if (c.num_experts > 0) {
        file.setU32(a + ".expert_count", u32(c.num_experts, "num_experts"));
        file.setU32(a + ".expert_used_count", u32(c.num_experts_per_tok, "num_experts_per_tok"));
        if (a == "qwen3moe")
            file.setU32(a + ".expert_feed_forward_length", u32(c.moe_intermediate_size, "moe_intermediate_size"));
    }
    if (a == "phi3") {
        // convert_hf_to_gguf's Phi3MiniModel: the rotary dimensions, the sliding window (0 for none: Phi-4),
        // and for LongRoPE the original context and the attention factor (the factors are tensors).
        file.setU32(a + ".rope.dimension_count", u32(c.rotary_dim(), "rotary dim"));
        file.setU32(a + ".attention.sliding_window", u32(c.sliding_window.value_or(0), "sliding_window"));
        const auto& rs = c.rope_scaling;
        if (rs.rope_type == "longrope") {
            const double original = double(rs.original_max_position_embeddings.value_or(c.max_position_embeddings));
            const double scale = double(c.max_position_embeddings) / original;
            const double attnFactor = rs.attention_factor ? *rs.attention_factor
                                      : scale > 1.0       ? std::sqrt(1 + std::log(scale) / std::log(original))
                                                          : 1.0;
            file.setU32(a + ".rope.scaling.original_context_length", u32(std::int64_t(original), "original context"));
            file.setF32(a + ".rope.scaling.attn_factor", static_cast<float>(attnFactor));
        }
    }

    const auto& rs = c.rope_scaling;
    if (rs.rope_type == "linear") {
        file.setString(a + ".rope.scaling.type", "linear");
        file.setF32(a + ".rope.scaling.factor", static_cast<float>(rs.factor));
    } else if (rs.rope_type == "yarn") {
        file.setString(a + ".rope.scaling.type", "yarn");
        file.setF32(a + ".rope.scaling.factor", static_cast<float>(rs.factor));
        if (rs.original_max_position_embeddings)
            file.setU32(a + ".rope.scaling.original_context_length",
                        u32(*rs.original_max_position_embeddings, "original_max_position_embeddings"));
    }
    // "llama3" is carried by the rope_freqs tensor; "dynamic" has no GGUF form and only matters past the
    // trained context, as in convert_hf_to_gguf.
}

} // namespace

GgufOutType parseGgufOutType(const std::string& name)
{
    std::string lower = name;
    for (char& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::pair<const char*, GgufOutType> kNames[] = {
        {"auto", GgufOutType::AsStored}, {"as-stored", GgufOutType::AsStored},
        {"f32", GgufOutType::F32},       {"f16", GgufOutType::F16},
        {"bf16", GgufOutType::BF16},     {"q8_0", GgufOutType::Q8_0},
        {"q4_0", GgufOutType::Q4_0},     {"q4_1", GgufOutType::Q4_1},
        {"q5_0", GgufOutType::Q5_0},     {"q6_k", GgufOutType::Q6_K},
        {"q4_k", GgufOutType::Q4_K},     {"q4_k_m", GgufOutType::Q4_K_M},
    };
    for (const auto& [text, type] : kNames)
        if (lower == text)
            return type;
    fail("GGUF out type \"", name,
         "\" is not one of auto, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q6_k, q4_k, q4_k_m");
}

GgufExportSummary exportGguf(const GgufExportOptions& options)
{
    const fs::path dir(options.modelDir);
    const std::string configPath = (dir / "config.json").string();
    const ModelConfig config = ModelConfig::fromDir(options.modelDir); // names a missing or bad config.json
    const nlohmann::json raw = parseJsonOrDiscard<nlohmann::json>(readTextFile(configPath), configPath);
    if (raw.is_discarded())
        fail(configPath, ": invalid JSON");
    const std::string arch = ggufArchitecture(config);
    if (config.rotary_dim() != config.head_dim && arch != "phi3" && arch != "chatglm")
        fail(configPath, ": partial_rotary_factor != 1 is not supported by llama.cpp's ", arch, " graph");

    auto store = std::make_shared<WeightStore>(WeightStore::openDir(options.modelDir));

    GgufFile file;
    file.setString("general.architecture", arch);
    file.setString("general.type", "model");
    std::string name = options.name;
    if (name.empty())
        name = fs::absolute(dir).lexically_normal().filename().string();
    if (name.empty())
        name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
    if (!name.empty())
        file.setString("general.name", name);
    writeHyperParameters(file, arch, config, raw);

    // ===== tensors: the architecture's table, renamed, in transformers' order =====
    const std::vector<TensorSpec> table = tensorTable(config);
    GgufMixtureModel mixture;
    mixture.layerCount = config.num_hidden_layers;
    mixture.hasOutputTensor = false; // tied embeddings: token_embd.weight is also the output tensor
    for (const TensorSpec& spec : table)
        if (ggufTensorName(spec.name, config) == std::optional<std::string>("output.weight"))
            mixture.hasOutputTensor = true;
    mixture.is70B = isLlamaCpp70B(arch, config);
    const int hardwareThreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = options.threads > 0 ? options.threads : hardwareThreads;
    std::set<std::string> expected;
    std::map<GgmlType, std::uint64_t> matrixBytes;
    // Mixture of experts: llama.cpp stacks each layer's experts into one tensor per projection
    // (ffn_gate_exps / ffn_up_exps / ffn_down_exps, ne = [in, out, experts]), added at the layer's first expert.
    auto expertOf = [&](const std::string& name, std::int64_t& layer, std::int64_t& expert, std::string& kind) {
        const std::string mid = config.mixtral_names ? ".block_sparse_moe.experts." : ".mlp.experts.";
        const auto at = name.find(mid);
        if (config.num_experts <= 0 || name.rfind("model.layers.", 0) != 0 || at == std::string::npos)
            return false;
        layer = std::stoll(name.substr(13, at - 13));
        const std::string rest = name.substr(at + mid.size());
        expert = std::stoll(rest.substr(0, rest.find('.')));
        const std::string leaf = rest.substr(rest.find('.') + 1);
        static const std::pair<const char*, const char*> kinds[] = {
            {"gate_proj.weight", "ffn_gate_exps"}, {"up_proj.weight", "ffn_up_exps"}, {"down_proj.weight", "ffn_down_exps"},
            {"w1.weight", "ffn_gate_exps"},        {"w3.weight", "ffn_up_exps"},      {"w2.weight", "ffn_down_exps"}};
        for (const auto& [hf, gguf] : kinds)
            if (leaf == hf) {
                kind = gguf;
                return true;
            }
        fail("GGUF export: expert tensor \"", name, "\" has no GGUF counterpart");
    };
    for (const TensorSpec& spec : table) {
        expected.insert(spec.name);
        if (!store->contains(spec.name))
            fail(store->description(), ": missing tensor \"", spec.name, "\"");
        std::int64_t layer = 0, expert = 0;
        std::string kind;
        if (expertOf(spec.name, layer, expert, kind)) {
            if (expert != 0)
                continue;
            std::vector<std::string> parts;
            for (std::int64_t e = 0; e < config.num_experts; ++e) {
                std::string n = spec.name;
                const std::string mid = config.mixtral_names ? ".block_sparse_moe.experts." : ".mlp.experts.";
                const auto at = n.find(mid) + mid.size();
                n.replace(at, n.find('.', at) - at, std::to_string(e));
                if (!store->contains(n))
                    fail(store->description(), ": missing tensor \"", n, "\"");
                parts.push_back(n);
            }
            std::vector<std::int64_t> ne(spec.shape.rbegin(), spec.shape.rend());
            ne.push_back(config.num_experts);
            const std::string gguf = "blk." + std::to_string(layer) + "." + kind + ".weight";
            const GgmlType type =
                chooseType(gguf, ne, scalarTypeFromSafetensors(store->entry(spec.name).dtype), spec.name, options.outType, mixture);
            std::uint64_t n = ggmlRowSize(type, ne[0]);
            for (std::size_t d = 1; d < ne.size(); ++d)
                n *= static_cast<std::uint64_t>(ne[d]);
            matrixBytes[type] += n;
            const std::int64_t ne0 = ne[0];
            file.addTensor(gguf, std::move(ne), type, [store, parts, type, ne0, threads]() {
                std::vector<at::Tensor> ts;
                for (const auto& p : parts)
                    ts.push_back(store->get(p));
                const at::Tensor t = at::stack(ts);
                if (ggmlIsQuantized(type))
                    return quantizeTensor(t, type, ne0, threads);
                return t.to(ggmlScalarType(type));
            });
            continue;
        }
        const SafetensorsEntry& entry = store->entry(spec.name);
        if (entry.shape != spec.shape)
            fail(store->fileOf(spec.name), ": tensor \"", spec.name, "\" has shape ", at::IntArrayRef(entry.shape),
                 ", expected ", at::IntArrayRef(spec.shape));
        const auto gguf = ggufTensorName(spec.name, config);
        if (!gguf)
            fail("GGUF export: tensor \"", spec.name, "\" has no GGUF name");
        // (1 + w) norms store w; llama.cpp's Gemma graphs multiply by the weight itself (the converter adds 1).
        static const std::string kNormSuffix = "norm.weight";
        const bool plusOne = config.norm_offset_one && spec.name.size() > kNormSuffix.size() &&
                             spec.name.compare(spec.name.size() - kNormSuffix.size(), kNormSuffix.size(), kNormSuffix) == 0;
        const at::ScalarType stored = scalarTypeFromSafetensors(entry.dtype);
        std::vector<std::int64_t> ne(spec.shape.rbegin(), spec.shape.rend());
        const GgmlType type = chooseType(*gguf, ne, stored, spec.name, options.outType, mixture);
        std::int64_t permuteHeads = 0;
        if (needsLlamaQkPermute(arch, spec.name))
            permuteHeads = spec.name.find(".q_proj.") != std::string::npos ? config.num_attention_heads
                                                                             : config.num_key_value_heads;
        if (spec.shape.size() >= 2) {
            std::uint64_t n = ggmlRowSize(type, ne[0]);
            for (std::size_t d = 1; d < ne.size(); ++d)
                n *= static_cast<std::uint64_t>(ne[d]);
            matrixBytes[type] += n;
        }
        const std::string hfName = spec.name;
        const std::int64_t ne0 = ne[0];
        file.addTensor(*gguf, std::move(ne), type, [store, hfName, type, permuteHeads, ne0, threads, plusOne]() {
            at::Tensor t = store->get(hfName);
            if (plusOne)
                t = t.to(at::kFloat) + 1;
            if (permuteHeads > 0)
                t = permuteQk(t, permuteHeads);
            if (ggmlIsQuantized(type))
                return quantizeTensor(t, type, ne0, threads);
            return t.to(ggmlScalarType(type));
        });
    }
    for (const std::string& hfName : store->names()) {
        if (expected.count(hfName) || isDroppedHfTensor(hfName))
            continue;
        if (hfName == "lm_head.weight" && config.tie_word_embeddings)
            continue; // tied: llama.cpp reuses token_embd
        fail(store->fileOf(hfName), ": tensor \"", hfName, "\" is not part of the ", config.model_type,
             " architecture and has no GGUF counterpart");
    }
    if (arch == "llama" && config.rope_scaling.rope_type == "llama3") {
        const at::Tensor freqs = llama3RopeFreqs(config);
        file.addTensor("rope_freqs.weight", {freqs.size(0)}, GgmlType::F32, [freqs]() { return freqs; });
    }
    if (config.rope_scaling.rope_type == "longrope") {
        // Phi-3's LongRoPE factors (Phi3MiniModel.generate_extra_tensors); llama.cpp picks the long ones when its
        // context is longer than the original one.
        for (const auto& [tensorName, factors] :
             {std::pair<const char*, const std::vector<double>*>{"rope_factors_long.weight", &config.rope_scaling.long_factor},
              {"rope_factors_short.weight", &config.rope_scaling.short_factor}}) {
            const at::Tensor t = at::tensor(*factors, at::kDouble).to(at::kFloat);
            file.addTensor(tensorName, {t.size(0)}, GgmlType::F32, [t]() { return t; });
        }
    }

    // general.file_type: the requested quantization, else the type holding most of the matrix bytes.
    GgmlType main = GgmlType::F32;
    std::uint64_t best = 0;
    for (const auto& [type, bytes] : matrixBytes)
        if (bytes > best) {
            best = bytes;
            main = type;
        }
    const std::uint32_t fileType = quantizedFileType(options.outType) ? *quantizedFileType(options.outType)
                                   : main == GgmlType::F16            ? kFtypeMostlyF16
                                   : main == GgmlType::BF16           ? kFtypeMostlyBF16
                                                                      : kFtypeAllF32;
    file.setU32("general.file_type", fileType);
    file.setU32("general.quantization_version", kQuantizationVersion);
    file.setAlignment(GgufFile::kDefaultAlignment);

    GgufExportSummary summary;
    summary.vocab = addGgufVocab(file, options.modelDir, config, arch, options.vocab);

    file.write(options.outPath, options.progress);
    summary.path = options.outPath;
    summary.architecture = arch;
    summary.fileType = fileType;
    summary.tensors = file.tensorCount();
    summary.keys = file.keyCount();
    summary.dataBytes = file.dataBytes();
    return summary;
}

GgufExportSummary exportGgufLora(const GgufLoraExportOptions& options)
{
    const fs::path adapterDir(options.adapterDir);
    const std::string configPath = (adapterDir / "adapter_config.json").string();
    const nlohmann::json ac = parseJsonOrDiscard<nlohmann::json>(readTextFile(configPath), configPath);
    if (ac.is_discarded() || !ac.is_object())
        fail(configPath, ": invalid JSON");
    const LoraConfig lora = LoraConfig::fromDir(options.adapterDir);
    if (lora.useDora)
        fail(configPath, ": use_dora: llama.cpp has no DoRA adapters; export the merged model instead");
    for (const char* key : {"alpha_pattern"})
        if (ac.contains(key) && ac[key].is_object() && !ac[key].empty())
            fail(configPath, ": ", key, ": per-module alphas have no GGUF form (one adapter.lora.alpha per file)");
    if (ac.contains("modules_to_save") && ac["modules_to_save"].is_array() && !ac["modules_to_save"].empty())
        fail(configPath, ": modules_to_save: fully trained modules have no GGUF adapter form; export the merged model");
    switch (options.outType) {
    case GgufOutType::F32:
    case GgufOutType::F16:
    case GgufOutType::BF16:
    case GgufOutType::Q8_0: break;
    default: fail("GGUF LoRA export: type must be f32, f16, bf16 or q8_0 (convert_lora_to_gguf's --outtype)");
    }

    const ModelConfig config = ModelConfig::fromDir(options.modelDir);
    const std::string arch = ggufArchitecture(config);
    const WeightStore base = WeightStore::openDir(options.modelDir);
    auto store = std::make_shared<WeightStore>(WeightStore::openDir(options.adapterDir, "adapter_model"));

    GgufFile file;
    file.setString("general.architecture", arch);
    file.setString("general.type", "adapter");
    std::string name = options.name;
    if (name.empty())
        name = fs::absolute(adapterDir).lexically_normal().filename().string();
    if (!name.empty())
        file.setString("general.name", name);
    file.setString("adapter.type", "lora");
    // llama.cpp scales by alpha / r; rsLoRA's alpha / sqrt(r) is the same with alpha * sqrt(r).
    const double alpha = lora.useRslora ? lora.alpha * std::sqrt(double(lora.r)) : lora.alpha;
    file.setF32("adapter.lora.alpha", static_cast<float>(alpha));

    const std::string prefix = "base_model.model.";
    std::set<std::string> used;
    std::map<GgmlType, std::uint64_t> bytes;
    const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (const std::string& key : store->names()) {
        const std::string suffix = ".lora_A.weight";
        if (!endsWith(key, suffix))
            continue;
        if (key.compare(0, prefix.size(), prefix) != 0)
            fail(store->fileOf(key), ": tensor \"", key, "\" does not start with ", prefix, " (not a PEFT adapter?)");
        const std::string module = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
        const std::string hfName = module + ".weight";
        const std::string bKey = prefix + module + ".lora_B.weight";
        if (!store->contains(bKey))
            fail(store->fileOf(key), ": ", key, " has no ", bKey);
        if (module.find("embed_tokens") != std::string::npos)
            fail(store->fileOf(key), ": ", key, ": embedding LoRA is not exported to GGUF; export the merged model");
        if (module == "lm_head" && config.tie_word_embeddings)
            fail(store->fileOf(key), ": ", key, ": lm_head LoRA on a tied-embedding model has no GGUF tensor to adapt");
        const auto gguf = ggufTensorName(hfName, config);
        if (!gguf)
            fail(store->fileOf(key), ": ", key, ": ", hfName,
                 hfName.find(".experts.") != std::string::npos || hfName.find(".gate.weight") != std::string::npos
                     ? " is an expert (or router) layer: llama.cpp's LoRA adapters cannot reach the stacked experts; "
                       "export the merged model (export_format: gguf) instead"
                     : " has no GGUF counterpart");
        if (!base.contains(hfName))
            fail(store->fileOf(key), ": ", key, ": ", options.modelDir, " has no tensor ", hfName,
                 " (is the adapter for another model?)");
        const SafetensorsEntry& a = store->entry(key);
        const SafetensorsEntry& b = store->entry(bKey);
        const SafetensorsEntry& w = base.entry(hfName);
        if (a.shape.size() != 2 || b.shape.size() != 2 || w.shape.size() != 2 || a.shape[1] != w.shape[1] ||
            b.shape[0] != w.shape[0] || a.shape[0] != b.shape[1])
            fail(store->fileOf(key), ": ", key, " ", at::IntArrayRef(a.shape), " and ", bKey, " ",
                 at::IntArrayRef(b.shape), " do not fit ", hfName, " ", at::IntArrayRef(w.shape), " of ",
                 options.modelDir);
        std::int64_t permuteHeads = 0;
        if (needsLlamaQkPermute(arch, hfName))
            permuteHeads = hfName.find(".q_proj.") != std::string::npos ? config.num_attention_heads
                                                                          : config.num_key_value_heads;
        for (const auto& [hfKey, shape, permute, tag] :
             {std::tuple{key, a.shape, std::int64_t(0), ".lora_a"}, std::tuple{bKey, b.shape, permuteHeads, ".lora_b"}}) {
            std::vector<std::int64_t> ne(shape.rbegin(), shape.rend());
            GgmlType type = GgmlType::F32;
            switch (options.outType) {
            case GgufOutType::F16: type = GgmlType::F16; break;
            case GgufOutType::BF16: type = GgmlType::BF16; break;
            case GgufOutType::Q8_0: type = ggmlTypeForRow(GgmlType::Q8_0, ne[0]); break;
            default: break;
            }
            std::uint64_t n = ggmlRowSize(type, ne[0]) * static_cast<std::uint64_t>(ne[1]);
            bytes[type] += n;
            const std::int64_t ne0 = ne[0];
            file.addTensor(*gguf + tag, std::move(ne), type, [store, hfKey = hfKey, type, permute = permute, ne0, threads]() {
                at::Tensor t = store->get(hfKey).to(at::kFloat);
                if (permute > 0)
                    t = permuteQk(t, permute);
                if (ggmlIsQuantized(type))
                    return quantizeTensor(t, type, ne0, threads);
                return t.to(ggmlScalarType(type));
            });
            used.insert(hfKey);
        }
    }
    for (const std::string& key : store->names())
        if (!used.count(key))
            fail(store->fileOf(key), ": tensor \"", key, "\" is not a LoRA A/B matrix and has no GGUF adapter form");
    if (file.tensorCount() == 0)
        fail(store->description(), ": no lora_A / lora_B tensors");
    file.setAlignment(GgufFile::kDefaultAlignment);
    file.write(options.outPath, options.progress);

    GgufExportSummary summary;
    summary.path = options.outPath;
    summary.architecture = arch;
    summary.tensors = file.tensorCount();
    summary.keys = file.keyCount();
    summary.dataBytes = file.dataBytes();
    return summary;
}

} // namespace lathe
