// Mistral — MistralForCausalLM.
//
// A Llama decoder without biases; Mistral 7B v0.1 also restricts attention to a sliding window of
// `sliding_window` tokens, which the attention mask applies when the config sets it.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {
void applyMistralTraits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = false;
    config.o_bias = false;
    config.mlp_bias = false;
    config.qk_norm = false;
    if (json.contains("sliding_window") && json["sliding_window"].is_number_integer())
        config.sliding_window = json["sliding_window"].get<std::int64_t>();
}
void writeMistralTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["sliding_window"] = config.sliding_window ? nlohmann::json(*config.sliding_window) : nlohmann::json(nullptr);
}
} // namespace

const Architecture kMistralArchitecture = {"mistral", "MistralForCausalLM", &applyMistralTraits, &writeMistralTraits};

} // namespace lathe
