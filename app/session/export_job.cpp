// A torch-free face of the exporters (see export_job.h).
#include "session/export_job.h"

#include <optional>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>

#include "export/gguf_writer.h"
#include "export/hf_export.h"
#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace fs = std::filesystem;

namespace {

struct Cancelled : Error
{
    Cancelled() : Error("cancelled") {}
};

void checkCancel(const std::atomic<bool>* cancel)
{
    if (cancel && cancel->load())
        throw Cancelled();
}

std::string quoted(const std::string& path)
{
    if (path.find_first_of(" '\"$\\") == std::string::npos)
        return path;
    std::string out = "'";
    for (char c : path)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string ollamaName(const std::string& exportDir)
{
    std::string name;
    for (char c : fs::path(exportDir).filename().string())
        name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? char(std::tolower(c)) : '-';
    return name.empty() ? std::string("lathe-model") : name;
}

} // namespace

std::vector<std::string> exportQuantizationTypes()
{
    return {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q6_k", "q4_k", "q4_k_m"};
}

bool exportDirIsNonEmpty(const std::string& dir)
{
    std::error_code ec;
    return !dir.empty() && fs::is_directory(dir, ec) && !fs::is_empty(dir, ec);
}

ExportChatTemplate previewExportTemplate(const std::string& templateName, const std::string& modelDir)
{
    return planExportTemplate(templateName, modelDir).chat;
}

ExportJobSummary runExportJob(const ExportJobOptions& options, const ExportJobProgress& progress,
                              const std::atomic<bool>* cancel)
{
    const auto start = std::chrono::steady_clock::now();
    if (options.modelDir.empty())
        fail("Please select a model.");
    if (options.exportDir.empty())
        fail("Please provide export dir.");
    const fs::path out = fs::absolute(options.exportDir).lexically_normal();
    if (exportDirIsNonEmpty(out.string()) && !options.overwrite)
        fail("export_dir ", out.string(), " is not empty: pick another folder or allow overwriting it");
    auto report = [&](std::int64_t done, std::int64_t total, const std::string& what) {
        checkCancel(cancel);
        if (progress)
            progress(done, total, what);
    };

    ExportJobSummary summary;
    summary.exportDir = out.string();
    std::error_code ec;
    std::vector<std::string> written; // GGUF formats: the files this export wrote (the folder may hold others)
    const fs::path merged = out.parent_path() / ("." + out.filename().string() + ".merged");
    const fs::path hfTemp = out.parent_path() / ("." + out.filename().string() + ".exporting");
    removeExportLeftovers(out.string()); // of an earlier export to this folder that was killed
    try {
        checkCancel(cancel);
        if (options.format == ExportJobFormat::Hf) {
            HfExportOptions hf;
            hf.modelDir = options.modelDir;
            hf.adapters = options.adapters;
            hf.exportDir = out.string();
            hf.shardGb = options.shardGb;
            hf.device = options.device;
            hf.dtype = options.dtype;
            hf.templateName = options.templateName;
            hf.overwrite = options.overwrite;
            hf.progress = [&](const std::string& name, std::int64_t done, std::int64_t total) { report(done, total, name); };
            summary.templateNote = exportHf(hf).templateNote;
            summary.tryCommands = "lathe chat model_name_or_path=" + quoted(out.string()) +
                                  (options.templateName.empty() ? std::string() : " template=" + options.templateName) +
                                  "\n";
            if (!options.templateName.empty())
                summary.tryCommands += "cd " + quoted(out.string()) + " && ollama create " + ollamaName(out.string()) +
                                       " -f Modelfile && ollama run " + ollamaName(out.string()) + "\n";
            summary.tryCommands += "python convert_hf_to_gguf.py " + quoted(out.string()) + "   # llama.cpp\n";
        } else if (options.format == ExportJobFormat::GgufLora) {
            if (options.adapters.size() != 1)
                fail("a LoRA-only GGUF needs exactly one adapter (got ", options.adapters.size(), ")");
            fs::create_directories(out);
            GgufLoraExportOptions g;
            g.adapterDir = options.adapters.front();
            g.modelDir = options.modelDir;
            g.outType = parseGgufOutType(options.quantization);
            g.outPath = (out / ("adapter-" + options.quantization + ".gguf")).string();
            g.progress = [&](std::size_t i, std::size_t n, const std::string& name) {
                report(std::int64_t(i), std::int64_t(n), name);
            };
            const auto s = exportGgufLora(g);
            written.push_back(s.path);
            summary.tryCommands = "llama-cli -m <base model>.gguf --lora " + quoted(s.path) + " -cnv\n";
        } else {
            const GgufOutType type = parseGgufOutType(options.quantization);
            std::string source = options.modelDir;
            const bool merge = !options.adapters.empty();
            const std::int64_t rounds = merge ? 2 : 1;
            if (merge) {
                HfExportOptions hf;
                hf.modelDir = options.modelDir;
                hf.adapters = options.adapters;
                hf.exportDir = merged.string();
                hf.overwrite = true;
                hf.dtype = "float32"; // the quantizer reads the merged weights unrounded
                hf.progress = [&](const std::string& name, std::int64_t done, std::int64_t total) {
                    report(done, total * rounds, "merge: " + name);
                };
                exportHf(hf);
                source = merged.string();
            }
            fs::create_directories(out);
            GgufExportOptions g;
            g.modelDir = source;
            g.outType = type;
            g.name = fs::path(options.modelDir).filename().string();
            const std::string file = "model-" + options.quantization + ".gguf";
            g.outPath = (out / file).string();
            g.threads = options.threads;
            g.vocab.preTokenizer = options.ggufPreTokenizer;
            std::optional<ExportTemplatePlan> plan;
            if (!options.templateName.empty()) {
                plan = planExportTemplate(options.templateName, options.modelDir);
                g.vocab.chatTemplate = plan->chat.jinja;
                g.vocab.eosToken = plan->eosToken;
                summary.templateNote = plan->chat.reason;
            }
            g.progress = [&](std::size_t i, std::size_t n, const std::string& name) {
                report((merge ? std::int64_t(n) : 0) + std::int64_t(i), std::int64_t(n) * rounds, name);
            };
            const auto s = exportGguf(g);
            written.push_back(s.path);
            if (merge)
                fs::remove_all(merged, ec);
            if (plan) {
                // Ollama's Modelfile, pointing at the GGUF file instead of LLaMA-Factory's `FROM .`.
                std::string text = ollamaModelfile(plan->tpl, plan->tokenizer);
                const auto at = text.find("FROM .\n");
                if (at != std::string::npos)
                    text.replace(at, 7, "FROM ./" + file + "\n");
                writeTextFileAtomic((out / "Modelfile").string(), text);
                written.push_back((out / "Modelfile").string());
            }
            summary.tryCommands = "llama-cli -m " + quoted(s.path) + " -cnv\n";
            if (!options.templateName.empty())
                summary.tryCommands += "cd " + quoted(out.string()) + " && ollama create " + ollamaName(out.string()) +
                                       " -f Modelfile && ollama run " + ollamaName(out.string()) + "\n";
        }
    } catch (...) {
        fs::remove_all(merged, ec);
        fs::remove_all(hfTemp, ec);
        throw;
    }

    if (options.format == ExportJobFormat::Hf) {
        // exportHf replaced the whole folder: everything in it is the export.
        for (const auto& entry : fs::recursive_directory_iterator(out, ec)) {
            if (entry.is_regular_file(ec))
                written.push_back(entry.path().string());
        }
    }
    for (const auto& path : written) {
        const std::uint64_t bytes = fs::file_size(path, ec);
        summary.files.push_back({path, ec ? 0 : bytes});
        summary.totalBytes += ec ? 0 : bytes;
    }
    std::sort(summary.files.begin(), summary.files.end(),
              [](const ExportJobFile& a, const ExportJobFile& b) { return a.path < b.path; });
    const fs::path modelfile = out / "Modelfile";
    if (!options.templateName.empty() && options.format != ExportJobFormat::GgufLora && fs::exists(modelfile, ec))
        summary.modelfile = readTextFile(modelfile.string());
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

} // namespace lathe
