#include "cli/export_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/train_command.h"
#include "data/dataset_loader.h"
#include "export/gguf_writer.h"
#include "export/hf_export.h"
#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace fs = std::filesystem;

int runExportCommand(const std::vector<std::string>& argv)
{
    const auto line = parseConfigCommandLine(argv);
    const ArgumentSet& args = line.args;
    if (args.getBool("export_legacy_format"))
        fail("export_legacy_format: pickled pytorch_model.bin is not written by Lathe (safetensors only)");
    const std::string model = args.getString("model_name_or_path");
    if (model.empty())
        fail("model_name_or_path: required for export");
    const std::string exportDir = args.getString("export_dir");
    if (exportDir.empty())
        fail("Please specify `export_dir` to save model.");
    const std::string format = args.getString("export_format");
    const auto adapters = splitNames(args.getString("adapter_name_or_path"));
    const auto start = std::chrono::steady_clock::now();
    auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

    HfExportOptions hf;
    hf.modelDir = model;
    hf.adapters = adapters;
    hf.exportDir = exportDir;
    hf.shardGb = args.getFloat("export_size");
    hf.dtype = args.getString("infer_dtype");
    hf.device = args.getString("export_device");
    // The training template shapes the export's chat template, EOS and Modelfile; without `template` it is
    // parsed from the model's own (LLaMA-Factory's default), where the folder has a tokenizer at all.
    const bool hasTokenizer = fs::exists(fs::path(model) / "tokenizer.json") ||
                              fs::exists(fs::path(model) / "tokenizer_config.json");
    const std::string templateName = args.isSet("template") ? args.getString("template") : hasTokenizer ? "auto" : "";
    hf.templateName = templateName;
    hf.overwrite = args.getBool("overwrite_output_dir");
    std::int64_t lastShown = -1;
    hf.progress = [&](const std::string& name, std::int64_t done, std::int64_t total) {
        const std::int64_t percent = done * 100 / std::max<std::int64_t>(1, total);
        if (percent / 10 != lastShown) {
            lastShown = percent / 10;
            std::cout << "[INFO] merging and writing " << done << "/" << total << " tensors (" << name << ")"
                      << std::endl;
        }
    };
    if (line.dryRun) {
        std::cout << args.toYaml() << "\n" << args.toCommandLine("lathe export") << "\n";
        return 0;
    }

    for (const auto& leftover : removeExportLeftovers(exportDir))
        std::cout << "[INFO] Removed " << leftover << ", left by an interrupted export" << std::endl;
    if (format == "hf") {
        const auto summary = exportHf(hf);
        if (!summary.templateNote.empty())
            std::cout << "[INFO] Chat template: " << summary.templateNote << "\n";
        std::cout << "[INFO] Exported " << summary.tensors << " tensors (" << summary.mergedTensors
                  << " merged with " << adapters.size() << " adapter(s)), "
                  << double(summary.bytes) / 1e9 << " GB to " << exportDir << " in " << seconds() << " s\n";
        return 0;
    }

    std::error_code ec;
    if (format == "gguf_lora") {
        if (adapters.size() != 1)
            fail("export_format gguf_lora: adapter_name_or_path must name exactly one adapter (got ",
                 adapters.size(), ")");
        if (fs::exists(exportDir) && !fs::is_empty(exportDir, ec) && !args.getBool("overwrite_output_dir"))
            fail("export_dir ", exportDir, " is not empty: pick another folder or set overwrite_output_dir: true");
        const std::string quant = args.getString("export_quantization");
        GgufLoraExportOptions g;
        g.adapterDir = adapters.front();
        g.modelDir = model;
        g.outType = parseGgufOutType(quant);
        fs::create_directories(exportDir);
        g.outPath = (fs::path(exportDir) / ("adapter-" + quant + ".gguf")).string();
        const auto summary = exportGgufLora(g);
        std::cout << "[INFO] Exported LoRA adapter (" << summary.tensors << " tensors, " << summary.architecture
                  << ", " << quant << ") to " << summary.path << " in " << seconds() << " s\n"
                  << "[INFO] use it with: llama-cli -m <base>.gguf --lora " << summary.path << "\n";
        return 0;
    }

    // GGUF: adapters are merged into an HF folder first (next to the export), which is then converted.
    if (fs::exists(exportDir) && !fs::is_empty(exportDir, ec) && !args.getBool("overwrite_output_dir"))
        fail("export_dir ", exportDir, " is not empty: pick another folder or set overwrite_output_dir: true");
    std::string source = model;
    const fs::path merged = fs::path(exportDir).parent_path() / ("." + fs::path(exportDir).filename().string() + ".merged");
    // The float32 merge (4x the model) never outlives this export, however it ends.
    struct RemoveOnExit
    {
        fs::path path;
        ~RemoveOnExit()
        {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    } mergedGuard{merged};
    if (!adapters.empty()) {
        hf.exportDir = merged.string();
        hf.overwrite = true;
        hf.dtype = "float32"; // the quantizer reads the merged weights unrounded
        hf.templateName.clear();
        exportHf(hf);
        source = merged.string();
    }
    const std::string quant = args.getString("export_quantization");
    GgufExportOptions g;
    g.modelDir = source;
    std::optional<ExportTemplatePlan> plan;
    if (!templateName.empty()) {
        plan = planExportTemplate(templateName, model);
        g.vocab.chatTemplate = plan->chat.jinja;
        g.vocab.eosToken = plan->eosToken;
        std::cout << "[INFO] Chat template: " << plan->chat.reason << "\n";
    }
    g.outType = parseGgufOutType(quant);
    g.name = fs::path(model).filename().string();
    fs::create_directories(exportDir);
    const std::string file = "model-" + quant + ".gguf";
    g.outPath = (fs::path(exportDir) / file).string();
    g.threads = line.threads;
    g.progress = [&](std::size_t i, std::size_t n, const std::string& name) {
        if (i % std::max<std::size_t>(1, n / 10) == 0)
            std::cout << "[INFO] writing tensor " << i + 1 << "/" << n << " (" << name << ")" << std::endl;
    };
    const auto summary = exportGguf(g);
    if (!adapters.empty())
        fs::remove_all(merged, ec);
    if (plan) {
        // Ollama's Modelfile, pointing at the GGUF file instead of LLaMA-Factory's `FROM .`.
        std::string text = ollamaModelfile(plan->tpl, model);
        const auto at = text.find("FROM .\n");
        if (at != std::string::npos)
            text.replace(at, 7, "FROM ./" + file + "\n");
        writeTextFileAtomic((fs::path(exportDir) / "Modelfile").string(), text);
    }
    std::cout << "[INFO] Exported " << summary.tensors << " tensors (" << summary.architecture << ", " << quant
              << ") to " << summary.path << " in " << seconds() << " s\n";
    return 0;
}

} // namespace lathe
