#include "template/template_detect.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "template/chat_template.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;

namespace {

bool has(const std::string& text, const char* marker)
{
    return text.find(marker) != std::string::npos;
}

std::string readOr(const fs::path& path)
{
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        return {};
    try {
        return readTextFile(path.string());
    } catch (const std::exception&) {
        return {};
    }
}

// The family's template from the markers of its Jinja text.
std::string fromJinja(const std::string& jinja, const std::string& modelType)
{
    if (has(jinja, "<|im_sep|>")) // Phi-4 writes <|im_start|> too
        return "phi4";
    if (has(jinja, "<|im_start|>")) {
        if (modelType == "qwen3" || modelType == "qwen3_moe" || has(jinja, "<think>"))
            return "qwen3";
        if (modelType == "qwen2" || modelType == "qwen2_moe" || has(jinja, "You are Qwen"))
            return "qwen";
        return "chatml";
    }
    if (has(jinja, "<|start_header_id|>"))
        return "llama3";
    if (has(jinja, "<start_of_turn>"))
        return modelType == "gemma2" ? "gemma2" : (modelType == "gemma3" || modelType == "gemma3_text") ? "gemma3" : "gemma";
    if (has(jinja, "<|assistant|>") && has(jinja, "<|end|>"))
        return "phi";
    if (has(jinja, "[gMASK]"))
        return "glm4";
    if (has(jinja, "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>")) // <｜Assistant｜>
        return has(jinja, "<think>") ? "deepseekr1" : "deepseek3";
    if (has(jinja, "[INST]"))
        return has(jinja, "<<SYS>>") ? "llama2" : "mistral";
    return {};
}

} // namespace

std::optional<TemplateGuess> detectChatTemplate(const std::string& modelDir)
{
    if (modelDir.empty())
        return std::nullopt;
    const fs::path dir(modelDir);
    std::string modelType;
    {
        const auto config = parseJsonOrDiscard<nlohmann::json>(readOr(dir / "config.json"), "config.json");
        if (config.is_object() && config.contains("model_type") && config["model_type"].is_string())
            modelType = config["model_type"].get<std::string>();
    }
    std::string jinja, source;
    const auto tokConfig = parseJsonOrDiscard<nlohmann::json>(readOr(dir / "tokenizer_config.json"), "tokenizer_config.json");
    if (tokConfig.is_object() && tokConfig.contains("chat_template")) {
        const auto& t = tokConfig["chat_template"];
        if (t.is_string()) {
            jinja = t.get<std::string>();
        } else if (t.is_array()) { // named templates: the "default" one
            for (const auto& item : t)
                if (item.is_object() && item.value("name", std::string()) == "default" && item.contains("template") &&
                    item["template"].is_string())
                    jinja = item["template"].get<std::string>();
        }
        source = "tokenizer_config.json";
    }
    if (jinja.empty()) {
        jinja = readOr(dir / "chat_template.jinja");
        source = "chat_template.jinja";
    }
    if (jinja.empty())
        return std::nullopt;
    const std::string name = fromJinja(jinja, modelType);
    if (name.empty() || !hasChatTemplate(name))
        return TemplateGuess{"auto", source}; // a family Lathe has no template for: built from its own Jinja
    return TemplateGuess{name, source};
}

std::string templateFamily(const std::string& name)
{
    const auto cut = name.find("_nothink");
    return cut == std::string::npos ? name : name.substr(0, cut);
}

} // namespace lathe
