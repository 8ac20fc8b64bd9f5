#include "export/hf_export.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "runtime/device.h"
#include "template/chat_template.h"
#include "template/template_encoder.h"
#include "template/template_jinja.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_files.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Adapter
{
    std::string dir;
    LoraConfig config;
    std::unique_ptr<WeightStore> store;
    std::set<std::string> used;
};

// _convert_slots_to_ollama: text slots with {{content}} turned into {{ .<placeholder> }}, BOS/EOS as the
// tokenizer's own tokens.
std::string ollamaSlots(const Slots& slots, const Tokenizer& tokenizer, const std::string& placeholder)
{
    std::string out;
    for (const auto& slot : slots) {
        switch (slot.kind) {
        case Slot::Kind::Text: {
            const auto at = slot.text.find("{{content}}");
            if (at == std::string::npos) {
                out += slot.text;
            } else {
                out += slot.text.substr(0, at) + "{{ ." + placeholder + " }}" + slot.text.substr(at + 11);
            }
            break;
        }
        case Slot::Kind::Token:
            out += slot.text;
            break;
        case Slot::Kind::Bos:
            if (tokenizer.bosId)
                out += tokenizer.bosToken;
            break;
        case Slot::Kind::Eos:
            if (tokenizer.eosId)
                out += tokenizer.eosToken;
            break;
        }
    }
    return out;
}

torch::ScalarType exportDtype(const std::string& spec, const std::string& configDtype)
{
    if (spec == "auto") {
        // LLaMA-Factory: the config's dtype, and float32 becomes the best half precision (bf16 here).
        if (configDtype == "float16")
            return torch::kHalf;
        return torch::kBFloat16;
    }
    if (spec == "float32" || spec == "fp32")
        return torch::kFloat32;
    if (spec == "float16" || spec == "fp16")
        return torch::kHalf;
    if (spec == "bfloat16" || spec == "bf16")
        return torch::kBFloat16;
    fail("infer_dtype: \"", spec, "\" is not one of auto, float32, float16, bfloat16");
}

std::string dtypeConfigName(torch::ScalarType t)
{
    return t == torch::kFloat32 ? "float32" : t == torch::kHalf ? "float16" : "bfloat16";
}

} // namespace

std::string ollamaModelfile(const std::string& templateName, const std::string& modelDir)
{
    const auto tokenizer = Tokenizer::fromDirectory(modelDir);
    return ollamaModelfile(resolveChatTemplate(templateName, *tokenizer, modelDir), tokenizer);
}

ExportTemplatePlan planExportTemplate(const std::string& templateName, const std::string& modelDir)
{
    const auto tokenizer = Tokenizer::fromDirectory(modelDir);
    ExportTemplatePlan plan;
    plan.tokenizer = tokenizer;
    plan.tpl = resolveChatTemplate(templateName, *tokenizer, modelDir);
    if (isAutoTemplateName(templateName) && !tokenizer->chatTemplate.empty())
        plan.chat = {tokenizer->chatTemplate, false, ExportChatTemplate::Why::ParsedFromTokenizer, {},
                     "template auto was parsed from the tokenizer's own chat template, which is kept"};
    else
        plan.chat = exportChatTemplate(plan.tpl, *tokenizer, fs::path(modelDir).filename().string());
    plan.eosToken = effectiveEosToken(plan.tpl, tokenizer->eosId ? tokenizer->eosToken : std::string());
    return plan;
}

void writeExportTemplate(const std::string& folder, const ExportTemplatePlan& plan)
{
    const fs::path configPath = fs::path(folder) / "tokenizer_config.json";
    nlohmann::ordered_json config = nlohmann::ordered_json::object();
    if (fs::exists(configPath)) {
        try {
            config = parseJson<nlohmann::ordered_json>(readTextFile(configPath.string()), configPath.string());
        } catch (const nlohmann::ordered_json::exception& e) {
            fail(configPath.string(), ": ", e.what());
        }
        if (!config.is_object())
            fail(configPath.string(), ": not a JSON object");
    }
    config["chat_template"] = plan.chat.jinja;
    // fix_special_tokens: the EOS a replace_eos template trains with is the one the export declares.
    if (!plan.eosToken.empty()) {
        if (config.contains("eos_token") && config["eos_token"].is_object())
            config["eos_token"]["content"] = plan.eosToken;
        else
            config["eos_token"] = plan.eosToken;
    }
    writeTextFileAtomic(configPath.string(), config.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
    const fs::path jinja = fs::path(folder) / "chat_template.jinja";
    if (fs::exists(jinja))
        writeTextFileAtomic(jinja.string(), plan.chat.jinja);
}

std::string ollamaModelfile(const ChatTemplate& tpl, const std::shared_ptr<const Tokenizer>& tokenizer)
{
    const TemplateEncoder encoder(tpl, tokenizer);
    std::string text = "# ollama modelfile auto-generated by llamafactory\n\n";
    const std::string prefix = ollamaSlots(tpl.formatPrefix, *tokenizer, "content");
    const std::string system = ollamaSlots(tpl.formatSystem, *tokenizer, "System");
    const std::string user = ollamaSlots(tpl.formatUser, *tokenizer, "Content");
    std::string assistant = ollamaSlots(tpl.formatAssistant, *tokenizer, "Content");
    // {"eos_token"} slots mean the template's EOS (after replace_eos), not the tokenizer's original one.
    if (tokenizer->eosId && encoder.eosId() && !tokenizer->eosToken.empty() &&
        tokenizer->eosToken != encoder.eosToken()) {
        for (std::size_t at = 0; (at = assistant.find(tokenizer->eosToken, at)) != std::string::npos;) {
            assistant.replace(at, tokenizer->eosToken.size(), encoder.eosToken());
            at += encoder.eosToken().size();
        }
    }
    text += "FROM .\n\nTEMPLATE \"\"\"" + prefix + "{{ if .System }}" + system + "{{ end }}" +
            "{{ range .Messages }}{{ if eq .Role \"user\" }}" + user + "{{ else if eq .Role \"assistant\" }}" +
            assistant + "{{ end }}{{ end }}\"\"\"\n\n";
    if (!tpl.defaultSystem.empty())
        text += "SYSTEM \"\"\"" + tpl.defaultSystem + "\"\"\"\n\n";
    for (const auto id : encoder.stopTokenIds())
        text += "PARAMETER stop \"" + tokenizer->idToToken(id) + "\"\n";
    text += "PARAMETER num_ctx 4096\n";
    return text;
}

HfExportSummary exportHf(const HfExportOptions& options)
{
    if (options.exportDir.empty())
        fail("Please specify `export_dir` to save model.");
    const fs::path out(options.exportDir);
    std::error_code ec;
    if (fs::exists(out) && !fs::is_empty(out, ec) && !options.overwrite)
        fail("export_dir ", out.string(), " is not empty: pick another folder or allow overwriting");
    const auto base = WeightStore::openDir(options.modelDir);
    json config;
    try {
        const std::string configPath = (fs::path(options.modelDir) / "config.json").string();
        if (!fs::exists(configPath))
            fail(options.modelDir, ": not a model folder (no config.json)");
        config = parseJson<json>(readTextFile(configPath), configPath);
    } catch (const json::exception& e) {
        fail(options.modelDir, "/config.json: ", e.what());
    }
    HfExportSummary summary;
    summary.dtype = exportDtype(options.dtype, config.value("torch_dtype", std::string("float32")));
    const torch::Device device = resolveDevice(options.device == "cpu" ? "cpu" : "auto");

    std::vector<Adapter> adapters;
    for (const auto& dir : options.adapters) {
        Adapter a;
        a.dir = dir;
        a.config = LoraConfig::fromDir(dir);
        a.store = std::make_unique<WeightStore>(WeightStore::openDir(dir, "adapter_model"));
        adapters.push_back(std::move(a));
    }

    std::vector<TensorPlan> plan;
    for (const auto& name : base.names()) {
        const auto& e = base.entry(name);
        const auto stored = scalarTypeFromSafetensors(e.dtype);
        const bool floating = stored == torch::kFloat32 || stored == torch::kHalf || stored == torch::kBFloat16;
        plan.push_back({name, floating ? summary.dtype : stored, e.shape});
    }

    // W' = W + s B A per adapter in turn (DoRA: rescaled to the magnitude's row norms), in float32.
    auto produce = [&](const TensorPlan& t) -> torch::Tensor {
        torch::NoGradGuard noGrad;
        auto w = base.get(t.name);
        const std::string module = t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0
                                       ? t.name.substr(0, t.name.size() - 7)
                                       : std::string();
        bool merged = false;
        for (auto& a : adapters) {
            const std::string prefix = "base_model.model." + module;
            const std::string full = "base_model.model." + t.name; // modules_to_save: a whole new tensor
            if (a.store->contains(full)) {
                w = a.store->get(full);
                a.used.insert(full);
                merged = true;
                continue;
            }
            const std::string aKey = prefix + ".lora_A.weight", bKey = prefix + ".lora_B.weight";
            if (module.empty() || !a.store->contains(aKey))
                continue;
            if (!a.store->contains(bKey))
                fail(a.store->description(), ": ", aKey, " has no ", bKey);
            auto A = a.store->get(aKey).to(device).to(torch::kFloat32);
            auto B = a.store->get(bKey).to(device).to(torch::kFloat32);
            auto wf = w.to(device).to(torch::kFloat32);
            if (A.dim() != 2 || B.dim() != 2 || A.size(1) != wf.size(1) || B.size(0) != wf.size(0) ||
                A.size(0) != B.size(1))
                fail(a.store->fileOf(aKey), ": ", aKey, " ", A.sizes(), " and ", bKey, " ", B.sizes(),
                     " do not fit ", t.name, " ", wf.sizes(), " of ", options.modelDir,
                     " (is the adapter for another model?)");
            wf = wf + a.config.scaling() * torch::matmul(B, A);
            const std::string mKey = prefix + ".lora_magnitude_vector";
            if (a.config.useDora) {
                if (!a.store->contains(mKey))
                    fail(a.store->description(), ": use_dora is set but ", mKey, " is missing");
                auto m = a.store->get(mKey).to(device).to(torch::kFloat32).reshape({-1});
                wf = (m / wf.norm(2, 1)).unsqueeze(1) * wf;
                a.used.insert(mKey);
            }
            a.used.insert(aKey);
            a.used.insert(bKey);
            w = wf;
            merged = true;
        }
        summary.mergedTensors += merged;
        ++summary.tensors;
        if (options.progress)
            options.progress(t.name, summary.tensors, std::int64_t(plan.size()));
        return w;
    };

    // Everything goes into a sibling temporary folder, renamed over export_dir when complete.
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    fs::create_directories(parent);
    const fs::path tmp = parent / ("." + out.filename().string() + ".exporting");
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp);
    const auto shardBytes = std::uint64_t(std::max(1e-6, options.shardGb) * 1e9);
    summary.files = saveSafetensorsStreamed(tmp.string(), plan, shardBytes, produce);
    for (const auto& a : adapters)
        for (const auto& name : a.store->names())
            if (!a.used.count(name))
                fail(a.store->fileOf(name), ": tensor \"", name, "\" matches no weight of ", options.modelDir);

    config["torch_dtype"] = dtypeConfigName(summary.dtype);
    writeTextFileAtomic((tmp / "config.json").string(), config.dump(2) + "\n");
    summary.files.push_back("config.json");
    if (fs::exists(fs::path(options.modelDir) / "generation_config.json")) {
        fs::copy_file(fs::path(options.modelDir) / "generation_config.json", tmp / "generation_config.json",
                      fs::copy_options::overwrite_existing);
        summary.files.push_back("generation_config.json");
    }
    for (auto& name : copyTokenizerFiles(options.modelDir, tmp.string()))
        summary.files.push_back(std::move(name));
    if (!options.templateName.empty()) {
        const ExportTemplatePlan plan = planExportTemplate(options.templateName, options.modelDir);
        writeExportTemplate(tmp.string(), plan);
        summary.templateNote = plan.chat.reason;
        writeTextFileAtomic((tmp / "Modelfile").string(), ollamaModelfile(plan.tpl, plan.tokenizer));
        summary.files.push_back("Modelfile");
    }
    for (const auto& t : plan)
        summary.bytes += t.bytes();
    if (fs::exists(out)) {
        const fs::path old = parent / ("." + out.filename().string() + ".old");
        fs::remove_all(old, ec);
        fs::rename(out, old);
        fs::rename(tmp, out);
        fs::remove_all(old, ec);
    } else {
        fs::rename(tmp, out);
    }
    return summary;
}

std::vector<std::string> removeExportLeftovers(const std::string& exportDir)
{
    namespace fs = std::filesystem;
    std::vector<std::string> removed;
    std::error_code ec;
    const fs::path out = fs::path(exportDir).lexically_normal();
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    for (const char* suffix : {".merged", ".exporting"}) {
        const fs::path p = parent / ("." + out.filename().string() + suffix);
        if (fs::exists(p, ec)) {
            fs::remove_all(p, ec);
            removed.push_back(p.string());
        }
    }
    for (const auto& entry : fs::directory_iterator(out, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_regular_file() && name.find(".tmp-") != std::string::npos) {
            fs::remove(entry.path(), ec);
            removed.push_back(entry.path().string());
        }
    }
    return removed;
}

} // namespace lathe
