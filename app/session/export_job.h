// A torch-free face of the exporters for the desktop window's Export wizard: a merged Hugging Face folder
// (exportHf), a GGUF file for llama.cpp / Ollama (adapters merged first, then exportGguf), or a LoRA adapter
// alone as a GGUF adapter (exportGgufLora) — what `lathe export` does for export_format hf / gguf / gguf_lora.
//
// runExportJob() blocks (run it on a worker thread), reports progress through a plain callback and stops at
// the next tensor when `cancel` is set (nothing finished is left behind: the exporters write atomically).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "template/template_jinja.h"

namespace lathe {

enum class ExportJobFormat
{
    Hf,       ///< merged safetensors shards + config + tokenizer (+ Modelfile)
    Gguf,     ///< one GGUF file, optionally quantized (+ Modelfile)
    GgufLora, ///< the (single) LoRA adapter as a GGUF adapter
};

struct ExportJobOptions
{
    std::string modelDir;
    std::vector<std::string> adapters; ///< merged in order (GgufLora: exactly one)
    /// The training template ("auto": parsed from the model's own): the export's chat template, EOS and Ollama
    /// Modelfile follow it (hf_export.h's planExportTemplate); empty: tokenizer files as they are, no Modelfile.
    std::string templateName;
    std::string exportDir;
    ExportJobFormat format = ExportJobFormat::Hf;
    double shardGb = 5;              ///< Hf: export_size
    std::string device = "cpu";      ///< Hf: export_device (cpu, or auto: the fastest device present)
    std::string dtype = "auto";      ///< Hf: auto, float16, bfloat16, float32
    std::string quantization = "f16"; ///< Gguf / GgufLora: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q6_k, q4_k, q4_k_m
    std::string ggufPreTokenizer;    ///< Gguf: tokenizer.ggml.pre; empty = recognised from tokenizer.json
    bool overwrite = false;          ///< replace the contents of a non-empty exportDir
    int threads = 0;                 ///< quantizer threads; 0 = all cores
};

struct ExportJobFile
{
    std::string path;
    std::uint64_t bytes = 0;
};

struct ExportJobSummary
{
    std::string exportDir;
    std::vector<ExportJobFile> files; ///< everything in exportDir after the export, sorted
    std::uint64_t totalBytes = 0;
    std::string modelfile;   ///< the Ollama Modelfile written (empty when none)
    std::string templateNote; ///< which chat template the export prompts with, and why (empty: untouched)
    std::string tryCommands; ///< shell lines to try the result with llama.cpp / Ollama / lathe
    double seconds = 0;
};

/// (steps done, steps in all, what is being written). Steps are tensors; a GGUF export with adapters counts
/// the merge and the conversion as two rounds of tensors.
using ExportJobProgress = std::function<void(std::int64_t done, std::int64_t total, const std::string& what)>;

/// The GGUF types offered, in the wizard's order.
std::vector<std::string> exportQuantizationTypes();

/// True when `dir` exists and holds anything.
bool exportDirIsNonEmpty(const std::string& dir);

/// Which chat template an export of `modelDir` for a model trained with `templateName` will carry, and why
/// (hf_export.h's planExportTemplate). Throws lathe::Error for an unknown template or unreadable tokenizer.
ExportChatTemplate previewExportTemplate(const std::string& templateName, const std::string& modelDir);

/// Runs the export; throws std::runtime_error with a message for the user ("cancelled" when stopped).
ExportJobSummary runExportJob(const ExportJobOptions& options, const ExportJobProgress& progress = {},
                              const std::atomic<bool>* cancel = nullptr);

} // namespace lathe
