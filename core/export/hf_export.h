// Merged Hugging Face export (`lathe export` with export_format hf, LLaMA-Factory's export_model): a base
// model with zero or more LoRA adapters merged in order (PEFT merge_and_unload, rsLoRA and DoRA included),
// written as safetensors shards of export_size GB with model.safetensors.index.json, config.json (torch_dtype
// updated), generation_config.json, the tokenizer files and LLaMA-Factory's Ollama Modelfile.
//
// Tensors are merged and written one at a time (peak memory: one tensor and its adapters, not the model).
// Everything is written into a temporary folder next to export_dir and renamed when complete, so an
// interrupted export never leaves a folder that looks finished.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "template/chat_template.h"
#include "template/template_jinja.h"

namespace lathe {

class Tokenizer;

struct HfExportOptions
{
    std::string modelDir;
    std::vector<std::string> adapters; ///< merged in order
    std::string exportDir;
    double shardGb = 5;                   ///< export_size
    std::string dtype = "auto";           ///< auto: config torch_dtype, float32 becoming bfloat16 (LLaMA-Factory)
    std::string device = "cpu";           ///< export_device: where the merge products are computed
    /// The template the model was trained with ("auto": parsed from the model's Jinja): the Modelfile, the chat
    /// template and EOS of tokenizer_config.json follow it. Empty: tokenizer files copied as they are, no Modelfile.
    std::string templateName;
    bool overwrite = false;               ///< replace a non-empty export_dir
    /// (tensor name, tensors done, tensors in all)
    std::function<void(const std::string&, std::int64_t, std::int64_t)> progress;
};

struct HfExportSummary
{
    std::vector<std::string> files;
    std::int64_t tensors = 0, mergedTensors = 0;
    std::uint64_t bytes = 0;
    torch::ScalarType dtype = torch::kBFloat16;
    std::string templateNote; ///< which chat template the export prompts with, and why (empty: untouched)
};

/// What an export writes for the training template: LLaMA-Factory's fix_special_tokens (EOS becomes the first
/// stop word with replace_eos) and fix_jinja_template made safe (template_jinja.h's exportChatTemplate).
struct ExportTemplatePlan
{
    std::shared_ptr<const Tokenizer> tokenizer; ///< the model folder's, loaded once for the plan and the Modelfile
    ChatTemplate tpl;
    ExportChatTemplate chat;
    std::string eosToken; ///< the EOS text the export's tokenizer declares
};

/// The plan for `templateName` and the model folder's tokenizer. Throws lathe::Error for an unknown template or
/// a folder without tokenizer files.
ExportTemplatePlan planExportTemplate(const std::string& templateName, const std::string& modelDir);

/// Writes the plan into an exported folder's tokenizer files: tokenizer_config.json's chat_template and
/// eos_token (atomically), and chat_template.jinja when the folder has one (transformers reads it first).
void writeExportTemplate(const std::string& folder, const ExportTemplatePlan& plan);

/// Throws lathe::Error naming the file and tensor on a mismatched adapter, an unreadable model, or an
/// export_dir that is not empty without `overwrite`.
HfExportSummary exportHf(const HfExportOptions& options);

/// Removes what an interrupted export to `exportDir` left behind: the float32 merge folder
/// (`.<name>.merged`) and the temporary HF folder (`.<name>.exporting`) beside it, and temporary files
/// (`*.tmp-NNNNNN`) inside it. Returns the paths removed (for the log).
std::vector<std::string> removeExportLeftovers(const std::string& exportDir);

/// LLaMA-Factory's Template.get_ollama_modelfile for the template and the model folder's tokenizer.
std::string ollamaModelfile(const std::string& templateName, const std::string& modelDir);
std::string ollamaModelfile(const ChatTemplate& tpl, const std::shared_ptr<const Tokenizer>& tokenizer);

} // namespace lathe
