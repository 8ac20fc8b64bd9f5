#include "model/model_config.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/arch/architecture.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

using nlohmann::json;

// Typed field readers: each names the file and the field when the value has the wrong type.
std::int64_t readInt(const json& j, const char* key, const std::string& src, std::optional<std::int64_t> fallback)
{
    if (!j.contains(key) || j[key].is_null()) {
        if (!fallback)
            fail(src, ": missing required field \"", key, "\"");
        return *fallback;
    }
    if (!j[key].is_number_integer())
        fail(src, ": field \"", key, "\" must be an integer, got ", j[key].dump());
    return j[key].get<std::int64_t>();
}

double readDouble(const json& j, const char* key, const std::string& src, double fallback)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    if (!j[key].is_number())
        fail(src, ": field \"", key, "\" must be a number, got ", j[key].dump());
    return j[key].get<double>();
}

std::optional<double> readOptDouble(const json& j, const char* key, const std::string& src)
{
    if (!j.contains(key) || j[key].is_null())
        return std::nullopt;
    if (!j[key].is_number())
        fail(src, ": field \"", key, "\" must be a number, got ", j[key].dump());
    return j[key].get<double>();
}

bool readBool(const json& j, const char* key, const std::string& src, bool fallback)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    if (!j[key].is_boolean())
        fail(src, ": field \"", key, "\" must be true or false, got ", j[key].dump());
    return j[key].get<bool>();
}

std::string readString(const json& j, const char* key, const std::string& src, const std::string& fallback)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    if (!j[key].is_string())
        fail(src, ": field \"", key, "\" must be a string, got ", j[key].dump());
    return j[key].get<std::string>();
}

} // namespace

namespace {

// The sizes every architecture file computes with (layer patterns, head_dim = hidden / heads), checked before
// them: positive, and below bounds no model comes near, so a config claiming 10^15 layers is refused instead of
// filling memory with a per-layer list.
void checkSizes(const ModelConfig& c, const std::string& src)
{
    auto inRange = [&](const char* key, std::int64_t value, std::int64_t most) {
        if (value <= 0)
            fail(src, ": field \"", key, "\" must be positive, got ", value);
        if (value > most)
            fail(src, ": field \"", key, "\" is ", value, ", more than any model has (at most ", most, ")");
    };
    inRange("vocab_size", c.vocab_size, std::int64_t(1) << 24);
    inRange("hidden_size", c.hidden_size, std::int64_t(1) << 20);
    inRange("intermediate_size", c.intermediate_size, std::int64_t(1) << 22);
    inRange("num_hidden_layers", c.num_hidden_layers, 4096);
    inRange("num_attention_heads", c.num_attention_heads, 1 << 14);
    inRange("num_key_value_heads", c.num_key_value_heads, 1 << 14);
    inRange("head_dim", c.head_dim, 1 << 14);
    inRange("max_position_embeddings", c.max_position_embeddings, std::int64_t(1) << 32);
}

} // namespace

ModelConfig ModelConfig::fromJson(const json& j, const std::string& src)
{
    if (!j.is_object())
        fail(src, ": not a JSON object");
    ModelConfig c;
    c.model_type = readString(j, "model_type", src, "");
    if (c.model_type.empty())
        fail(src, ": missing required field \"model_type\"");
    const Architecture& arch = architectureFor(c.model_type, src);
    c.architecture = arch.hf_class;
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        c.architecture = j["architectures"][0].get<std::string>();

    c.vocab_size = readInt(j, "vocab_size", src, std::nullopt);
    c.hidden_size = readInt(j, "hidden_size", src, std::nullopt);
    c.intermediate_size = readInt(j, "intermediate_size", src, std::nullopt);
    c.num_hidden_layers = readInt(j, "num_hidden_layers", src, std::nullopt);
    c.num_attention_heads = readInt(j, "num_attention_heads", src, std::nullopt);
    c.num_key_value_heads = readInt(j, "num_key_value_heads", src, c.num_attention_heads);
    const std::int64_t defaultHeadDim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;
    c.head_dim = readInt(j, "head_dim", src, defaultHeadDim);
    c.max_position_embeddings = readInt(j, "max_position_embeddings", src, 2048);
    c.rms_norm_eps = readDouble(j, "rms_norm_eps", src, 1e-6);
    c.rope_theta = readDouble(j, "rope_theta", src, 10000.0);
    c.partial_rotary_factor = readDouble(j, "partial_rotary_factor", src, 1.0);
    c.tie_word_embeddings = readBool(j, "tie_word_embeddings", src, false);
    c.hidden_act = readString(j, "hidden_act", src, "silu");
    c.torch_dtype = readString(j, "torch_dtype", src, "float32");
    c.initializer_range = readDouble(j, "initializer_range", src, 0.02);
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
        c.bos_token_id = j["bos_token_id"].get<std::int64_t>();
    if (j.contains("pad_token_id") && j["pad_token_id"].is_number_integer())
        c.pad_token_id = j["pad_token_id"].get<std::int64_t>();
    if (j.contains("eos_token_id")) {
        const auto& eos = j["eos_token_id"];
        if (eos.is_number_integer())
            c.eos_token_ids.push_back(eos.get<std::int64_t>());
        else if (eos.is_array())
            for (const auto& e : eos)
                if (e.is_number_integer())
                    c.eos_token_ids.push_back(e.get<std::int64_t>());
    }

    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
        const auto& rs = j["rope_scaling"];
        const std::string rsrc = src + ": rope_scaling";
        if (!rs.is_object())
            fail(src, ": field \"rope_scaling\" must be an object or null");
        // transformers accepts the legacy key "type" as well as "rope_type".
        c.rope_scaling.rope_type = readString(rs, "rope_type", rsrc, readString(rs, "type", rsrc, "default"));
        c.rope_scaling.factor = readDouble(rs, "factor", rsrc, 1.0);
        c.rope_scaling.low_freq_factor = readDouble(rs, "low_freq_factor", rsrc, 1.0);
        c.rope_scaling.high_freq_factor = readDouble(rs, "high_freq_factor", rsrc, 4.0);
        if (rs.contains("original_max_position_embeddings") && !rs["original_max_position_embeddings"].is_null())
            c.rope_scaling.original_max_position_embeddings =
                readInt(rs, "original_max_position_embeddings", rsrc, std::nullopt);
        c.rope_scaling.attention_factor = readOptDouble(rs, "attention_factor", rsrc);
        c.rope_scaling.beta_fast = readOptDouble(rs, "beta_fast", rsrc).value_or(32.0);
        c.rope_scaling.beta_slow = readOptDouble(rs, "beta_slow", rsrc).value_or(1.0);
        c.rope_scaling.mscale = readOptDouble(rs, "mscale", rsrc);
        c.rope_scaling.mscale_all_dim = readOptDouble(rs, "mscale_all_dim", rsrc);
        c.rope_scaling.truncate = readBool(rs, "truncate", rsrc, true);
        for (auto [key, into] : {std::pair<const char*, std::vector<double>*>{"long_factor", &c.rope_scaling.long_factor},
                                 {"short_factor", &c.rope_scaling.short_factor}}) {
            if (!rs.contains(key) || rs[key].is_null())
                continue;
            if (!rs[key].is_array())
                fail(rsrc, ": field \"", key, "\" must be a list of numbers");
            for (const auto& v : rs[key]) {
                if (!v.is_number())
                    fail(rsrc, ": field \"", key, "\" must be a list of numbers");
                into->push_back(v.get<double>());
            }
        }
        if (c.rope_scaling.rope_type == "yarn" && !rs.contains("factor") &&
            c.rope_scaling.original_max_position_embeddings)
            c.rope_scaling.factor = double(c.max_position_embeddings) /
                                    double(*c.rope_scaling.original_max_position_embeddings);
    }

    // The architecture files read these switches with json.value(), which throws nlohmann's type_error on a
    // non-boolean; check their types here so the message names the file and the field.
    for (const char* key : {"attention_bias", "mlp_bias", "use_sliding_window"})
        readBool(j, key, src, false);
    checkSizes(c, src);
    try {
        arch.apply_traits(c, j);
    } catch (const Error& e) {
        std::string message = e.what();
        const std::string prefix = "config.json";
        if (message.rfind(prefix, 0) == 0)
            message = src + message.substr(prefix.size());
        throw Error(message);
    }
    c.validate(src);
    return c;
}

ModelConfig ModelConfig::fromDir(const std::string& dir)
{
    const std::string path = (std::filesystem::path(dir) / "config.json").string();
    if (!std::filesystem::exists(path))
        fail(dir, ": not a model folder (no config.json)");
    json j;
    try {
        j = parseJson<json>(readTextFile(path), path);
    } catch (const json::exception& e) {
        fail(path, ": not valid JSON: ", e.what());
    }
    return fromJson(j, path);
}

void ModelConfig::validate(const std::string& src) const
{
    checkSizes(*this, src);
    if (num_attention_heads % num_key_value_heads != 0)
        fail(src, ": field \"num_key_value_heads\" (", num_key_value_heads, ") must divide num_attention_heads (",
             num_attention_heads, ")");
    if (rotary_dim() % 2 != 0 || rotary_dim() <= 0 || rotary_dim() > head_dim)
        fail(src, ": field \"partial_rotary_factor\" gives an invalid rotary dimension ", rotary_dim());
    if (!(rms_norm_eps > 0))
        fail(src, ": field \"rms_norm_eps\" must be positive");
    if (!(rope_theta > 0))
        fail(src, ": field \"rope_theta\" must be positive");
    if (hidden_act != "silu" && hidden_act != "swish" && hidden_act != "gelu_pytorch_tanh" && hidden_act != "gelu_tanh")
        fail(src, ": field \"hidden_act\": \"", hidden_act, "\" is not supported (silu, gelu_pytorch_tanh)");
    const auto& rs = rope_scaling;
    const std::string& t = rs.rope_type;
    if (t != "default" && t != "linear" && t != "dynamic" && t != "llama3" && t != "yarn" && t != "longrope")
        fail(src, ": field \"rope_scaling.rope_type\": \"", t,
             "\" is not supported (default, linear, dynamic, llama3, yarn, longrope)");
    if (t == "longrope") {
        const std::size_t half = std::size_t(rotary_dim() / 2);
        if (rs.long_factor.size() != half || rs.short_factor.size() != half)
            fail(src, ": fields \"rope_scaling.long_factor\" and \"short_factor\" must each have rotary_dim / 2 = ",
                 half, " entries");
    }
    if (num_experts > 0) {
        if (num_experts_per_tok <= 0 || num_experts_per_tok > num_experts)
            fail(src, ": field \"num_experts_per_tok\" (", num_experts_per_tok, ") must be between 1 and the ",
                 num_experts, " experts");
        if (moe_intermediate_size <= 0)
            fail(src, ": field \"moe_intermediate_size\" must be positive");
        if (num_experts > 4096)
            fail(src, ": field \"num_experts\" is ", num_experts, ", more than any model has (at most 4096)");
        if (decoder_sparse_step <= 0)
            fail(src, ": field \"decoder_sparse_step\" must be positive, got ", decoder_sparse_step);
    }
    if (t != "default" && !(rs.factor >= 1.0))
        fail(src, ": field \"rope_scaling.factor\" must be >= 1, got ", rs.factor);
    if (t == "llama3") {
        if (!rs.original_max_position_embeddings)
            fail(src, ": field \"rope_scaling.original_max_position_embeddings\" is required for llama3 RoPE");
        if (!(rs.high_freq_factor > rs.low_freq_factor))
            fail(src, ": field \"rope_scaling.high_freq_factor\" must exceed low_freq_factor");
    }
    if (torch_dtype != "float32" && torch_dtype != "float16" && torch_dtype != "bfloat16" && torch_dtype != "auto")
        fail(src, ": field \"torch_dtype\": \"", torch_dtype, "\" is not supported (float32, float16, bfloat16)");
}

json ModelConfig::toJson() const
{
    json j;
    j["architectures"] = {architecture};
    j["model_type"] = model_type;
    j["vocab_size"] = vocab_size;
    j["hidden_size"] = hidden_size;
    j["intermediate_size"] = intermediate_size;
    j["num_hidden_layers"] = num_hidden_layers;
    j["num_attention_heads"] = num_attention_heads;
    j["num_key_value_heads"] = num_key_value_heads;
    j["head_dim"] = head_dim;
    j["max_position_embeddings"] = max_position_embeddings;
    j["rms_norm_eps"] = rms_norm_eps;
    j["rope_theta"] = rope_theta;
    j["tie_word_embeddings"] = tie_word_embeddings;
    j["hidden_act"] = hidden_act;
    j["torch_dtype"] = torch_dtype;
    j["initializer_range"] = initializer_range;
    j["attention_dropout"] = 0.0;
    j["use_cache"] = true;
    // The family's own keys (model/arch/<family>.cpp).
    if (const auto& arch = architectureFor(model_type, "config"); arch.write_traits)
        arch.write_traits(*this, j);
    if (rope_scaling.rope_type == "default") {
        j["rope_scaling"] = nullptr;
    } else {
        json rs;
        rs["rope_type"] = rope_scaling.rope_type;
        rs["factor"] = rope_scaling.factor;
        if (rope_scaling.rope_type == "llama3") {
            rs["low_freq_factor"] = rope_scaling.low_freq_factor;
            rs["high_freq_factor"] = rope_scaling.high_freq_factor;
        }
        if (rope_scaling.original_max_position_embeddings)
            rs["original_max_position_embeddings"] = *rope_scaling.original_max_position_embeddings;
        if (rope_scaling.rope_type == "longrope") {
            rs["long_factor"] = rope_scaling.long_factor;
            rs["short_factor"] = rope_scaling.short_factor;
        }
        if (rope_scaling.rope_type == "yarn") {
            if (rope_scaling.attention_factor)
                rs["attention_factor"] = *rope_scaling.attention_factor;
            rs["beta_fast"] = rope_scaling.beta_fast;
            rs["beta_slow"] = rope_scaling.beta_slow;
        }
        j["rope_scaling"] = rs;
    }
    if (bos_token_id)
        j["bos_token_id"] = *bos_token_id;
    if (eos_token_ids.size() == 1)
        j["eos_token_id"] = eos_token_ids[0];
    else if (!eos_token_ids.empty())
        j["eos_token_id"] = eos_token_ids;
    if (pad_token_id)
        j["pad_token_id"] = *pad_token_id;
    return j;
}

std::string applyRopeScalingArgument(ModelConfig& config, const std::string& type,
                                     std::optional<std::int64_t> modelMaxLength)
{
    if (type.empty() || type == "none")
        return {};
    if (type != "linear" && type != "dynamic" && type != "yarn" && type != "llama3")
        fail("rope_scaling: unknown value \"", type, "\" (expected linear, dynamic, yarn or llama3)");
    const std::int64_t old = config.max_position_embeddings;
    double factor = 2.0;
    if (modelMaxLength) {
        if (*modelMaxLength <= old)
            return "rope_scaling " + type + ": cutoff_len " + std::to_string(*modelMaxLength) +
                   " is not longer than the model's context " + std::to_string(old) + "; scaling left off";
        config.max_position_embeddings = *modelMaxLength;
        factor = std::ceil(double(*modelMaxLength) / double(old));
    }
    RopeScaling rs;
    rs.rope_type = type;
    rs.factor = factor;
    if (type != "linear")
        rs.original_max_position_embeddings = old;
    config.rope_scaling = rs;
    char text[64];
    std::snprintf(text, sizeof text, "%g", factor);
    return "rope_scaling " + type + " with factor " + text +
           (modelMaxLength ? ", context enlarged from " + std::to_string(old) + " to " +
                                 std::to_string(config.max_position_embeddings)
                           : std::string());
}

} // namespace lathe
