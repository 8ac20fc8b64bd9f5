#include "model/new_model.h"

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "model/arch/architecture.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_files.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

using nlohmann::json;

struct Preset
{
    const char* name;
    const char* json;
};

// Shapes of real models (random weights) and small ones for demos and tests.
//
// `demo` is the model of the first-run demo (resources/demo/demo_lora_sft.yaml): Qwen3's vocabulary, small
// enough to LoRA-train in about a minute on a CPU. Its initializer_range, 0.3, is far above transformers'
// 0.02 on purpose: LoRA leaves the tied embeddings and the final norm untouched, so a logit can never
// exceed about initializer_range * hidden_size (|h| = sqrt(hidden) after the norm, |e| = initializer_range
// * sqrt(hidden)). With 0.02 and hidden 256 that is ~5, and the loss stalls near 7 nats over 151936 tokens;
// with 0.3 and hidden 128 it is ~38, and LoRA learns the demo data by heart. The lm_head over 151936 tokens
// is nearly all of the training time, so the model is narrow; four layers tell similar prompts apart better
// than two (tests/core/tst_train_identity.cpp).
const Preset kPresets[] = {
    {"demo", R"({"vocab_size": 151936, "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "tie_word_embeddings": true,
                 "max_position_embeddings": 4096, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
                 "initializer_range": 0.3, "bos_token_id": 151643, "eos_token_id": 151645})"},
    {"tiny", R"({"vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "tie_word_embeddings": true,
                 "max_position_embeddings": 512})"},
    {"qwen3-0.6b", R"({"vocab_size": 151936, "hidden_size": 1024, "intermediate_size": 3072,
                 "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
                 "tie_word_embeddings": true, "max_position_embeddings": 40960, "rope_theta": 1000000.0,
                 "rms_norm_eps": 1e-6, "bos_token_id": 151643, "eos_token_id": 151645})"},
    {"qwen2.5-0.5b", R"({"vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                 "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                 "tie_word_embeddings": true, "max_position_embeddings": 32768, "rope_theta": 1000000.0,
                 "rms_norm_eps": 1e-6, "bos_token_id": 151643, "eos_token_id": 151645})"},
    {"llama3.2-1b", R"({"vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
                 "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
                 "tie_word_embeddings": true, "max_position_embeddings": 131072, "rope_theta": 500000.0,
                 "rms_norm_eps": 1e-5, "bos_token_id": 128000, "eos_token_id": 128001,
                 "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})"},
};

json presetJson(const std::string& name)
{
    for (const auto& p : kPresets)
        if (name == p.name)
            return json::parse(p.json);
    std::string known;
    for (const auto& p : kPresets)
        known += std::string(known.empty() ? "" : ", ") + p.name;
    fail("--config \"", name, "\" is neither JSON nor a preset (", known, ")");
}

} // namespace

std::vector<std::string> newModelPresets()
{
    std::vector<std::string> out;
    for (const auto& p : kPresets)
        out.push_back(p.name);
    return out;
}

ModelConfig newModelConfig(const NewModelOptions& options)
{
    json j = presetJson("tiny");
    const std::string& spec = options.config;
    if (!spec.empty()) {
        const bool looksJson = spec.find('{') != std::string::npos;
        json overrides;
        if (looksJson) {
            try {
                overrides = parseJson<json>(spec, "--config");
            } catch (const json::exception& e) {
                fail("--config: not valid JSON: ", e.what());
            }
            if (overrides.contains("preset") && overrides["preset"].is_string())
                j = presetJson(overrides["preset"].get<std::string>());
        } else if (std::filesystem::exists(spec)) {
            try {
                overrides = parseJson<json>(readTextFile(spec), spec);
            } catch (const json::exception& e) {
                fail(spec, ": not valid JSON: ", e.what());
            }
        } else {
            j = presetJson(spec);
        }
        for (auto it = overrides.begin(); it != overrides.end(); ++it)
            if (it.key() != "preset")
                j[it.key()] = it.value();
    }
    j["model_type"] = options.arch;
    j["architectures"] = {architectureFor(options.arch, "--arch").hf_class};
    j["torch_dtype"] = options.dtype;
    if (!j.contains("initializer_range"))
        j["initializer_range"] = 0.02;
    return ModelConfig::fromJson(j, "--config");
}

ModelConfig writeNewModel(const NewModelOptions& options)
{
    namespace fs = std::filesystem;
    if (options.outDir.empty())
        fail("new-model: --out is required");
    const ModelConfig config = newModelConfig(options);
    if (!options.tokenizerDir.empty()) {
        // An embedding smaller than the tokenizer would index out of range on its highest ids.
        const auto tokenizer = Tokenizer::fromDirectory(options.tokenizerDir);
        if (static_cast<std::int64_t>(tokenizer->vocabSize()) > config.vocab_size)
            fail("the tokenizer in ", options.tokenizerDir, " has ", tokenizer->vocabSize(),
                 " tokens but vocab_size is ", config.vocab_size, ": set \"vocab_size\" in --config to at least ",
                 tokenizer->vocabSize());
    }
    // The storage dtype, not a compute dtype: resolveDtype would refuse float16 where the CPU cannot
    // multiply in it, but writing float16 weights needs no matmul (torch_dtype is validated already).
    const auto saveType = config.torch_dtype == "bfloat16" ? torch::kBFloat16
                          : config.torch_dtype == "float16" ? torch::kHalf
                                                            : torch::kFloat32;
    fs::create_directories(options.outDir);

    torch::manual_seed(options.seed);
    torch::NoGradGuard noGrad;
    NamedTensors tensors;
    for (const auto& spec : tensorTable(config)) {
        torch::Tensor t;
        switch (spec.init) {
        case TensorInit::Normal:
            t = torch::empty(spec.shape, torch::kFloat32).normal_(0.0, config.initializer_range).to(saveType);
            break;
        case TensorInit::Zeros:
            t = torch::zeros(spec.shape, saveType);
            break;
        case TensorInit::Ones:
            t = torch::ones(spec.shape, saveType);
            break;
        }
        tensors.emplace_back(spec.name, t);
    }
    saveSafetensorsSharded(options.outDir, tensors, 2ull << 30);

    writeTextFileAtomic((fs::path(options.outDir) / "config.json").string(), config.toJson().dump(2) + "\n");
    json generation = {{"_from_model_config", true}};
    if (config.bos_token_id)
        generation["bos_token_id"] = *config.bos_token_id;
    if (config.eos_token_ids.size() == 1)
        generation["eos_token_id"] = config.eos_token_ids[0];
    else if (!config.eos_token_ids.empty())
        generation["eos_token_id"] = config.eos_token_ids;
    writeTextFileAtomic((fs::path(options.outDir) / "generation_config.json").string(), generation.dump(2) + "\n");

    if (!options.tokenizerDir.empty()) {
        if (copyTokenizerFiles(options.tokenizerDir, options.outDir).empty())
            fail("--tokenizer ", options.tokenizerDir, ": no tokenizer files (tokenizer.json, vocab.json, ...) found");
    }
    return config;
}

} // namespace lathe
