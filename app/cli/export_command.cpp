#include "cli/export_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/train_command.h"
#include "data/dataset_loader.h"
#include "session/export_job.h"
#include "util/error.h"

namespace lathe {

namespace fs = std::filesystem;

// `lathe export`: LLaMA-Factory's export keys turned into the export job the window runs too (session/export_job),
// with progress printed every tenth of the way.
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

    ExportJobOptions job;
    job.modelDir = model;
    job.adapters = splitNames(args.getString("adapter_name_or_path"));
    job.exportDir = exportDir;
    job.format = format == "hf"          ? ExportJobFormat::Hf
                 : format == "gguf_lora" ? ExportJobFormat::GgufLora
                                         : ExportJobFormat::Gguf;
    job.shardGb = args.getFloat("export_size");
    job.dtype = args.getString("infer_dtype");
    job.device = args.getString("export_device");
    job.quantization = args.getString("export_quantization");
    job.overwrite = args.getBool("overwrite_output_dir");
    job.threads = line.threads;
    // The training template shapes the export's chat template, EOS and Modelfile; without `template` it is parsed
    // from the model's own (LLaMA-Factory's default), where the folder has a tokenizer at all.
    const bool hasTokenizer = fs::exists(fs::path(model) / "tokenizer.json") ||
                              fs::exists(fs::path(model) / "tokenizer_config.json");
    job.templateName = args.isSet("template") ? args.getString("template") : hasTokenizer ? "auto" : "";
    if (job.format == ExportJobFormat::GgufLora) {
        if (job.adapters.size() != 1)
            fail("export_format gguf_lora: adapter_name_or_path must name exactly one adapter (got ",
                 job.adapters.size(), ")");
        job.templateName.clear(); // an adapter file carries no tokenizer
    }
    if (line.dryRun) {
        std::cout << args.toYaml() << "\n" << args.toCommandLine("lathe export") << "\n";
        return 0;
    }
    if (exportDirIsNonEmpty(exportDir) && !job.overwrite)
        fail("export_dir ", exportDir, " is not empty: pick another folder or set overwrite_output_dir: true");

    std::int64_t lastShown = -1;
    const ExportJobSummary summary = runExportJob(job, [&](std::int64_t done, std::int64_t total, const std::string& what) {
        const std::int64_t tenth = done * 10 / std::max<std::int64_t>(1, total);
        if (tenth != lastShown) {
            lastShown = tenth;
            std::cout << "[INFO] writing " << done + 1 << "/" << total << " (" << what << ")" << std::endl;
        }
    });
    if (!summary.templateNote.empty())
        std::cout << "[INFO] Chat template: " << summary.templateNote << "\n";
    for (const auto& f : summary.files)
        std::cout << "[INFO] " << f.path << " (" << double(f.bytes) / 1e6 << " MB)\n";
    std::printf("[INFO] Exported %.3f GB to %s in %.1f s\n", double(summary.totalBytes) / 1e9,
                summary.exportDir.c_str(), summary.seconds);
    if (job.format == ExportJobFormat::GgufLora && !summary.files.empty())
        std::cout << "[INFO] use it with: llama-cli -m <base>.gguf --lora " << summary.files.front().path << "\n";
    std::cout << summary.tryCommands;
    return 0;
}

} // namespace lathe
