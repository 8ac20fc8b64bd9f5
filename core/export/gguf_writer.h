// Exports a Hugging Face model folder (config.json, safetensors, tokenizer.json) as one GGUF v3 file that
// llama.cpp loads: `lathe export --format gguf` and the llama.cpp benchmark both come through here.
//
// What it writes, for llama / qwen2 / qwen3: general.* keys, the <arch>.* hyper-parameters llama.cpp's loader
// reads (with key/value_length whenever head_dim is explicit or differs from hidden/heads, RoPE scaling keys or
// Llama 3.1's rope_freqs tensor), the tokenizer (gguf_vocab.h), and every tensor of the architecture's table under
// its GGUF name (gguf_names.h). Norms, biases and other 1-D tensors are always F32; matrices keep their stored
// dtype, are converted to the requested one, or are quantized (gguf_quant.h: Q8_0, Q4_0, Q4_1, Q5_0, Q4_K,
// Q6_K, or the Q4_K_M mixture of gguf_mixture.h) with llama.cpp's shape fallbacks for rows that do not hold
// whole blocks. q/k rows are permuted for the "llama" arch only. Tensors are read from the mapped safetensors
// and written one at a time (quantized ones widened to float32 a slice of rows at a time); the file appears
// atomically when complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "export/gguf_vocab.h"

namespace lathe {

/// Tensor type of the exported matrices.
enum class GgufOutType
{
    AsStored, ///< keep F32 / F16 / BF16 as in the safetensors (F64 becomes F32)
    F32,
    F16,
    BF16,
    // Quantized as llama-quantize (no imatrix) quantizes an F32/BF16 file: the output tensor (output.weight, or
    // token_embd.weight when tied) is Q6_K except in Q8_0 files; rows that do not hold whole blocks fall back.
    Q8_0,
    Q4_0,
    Q4_1,
    Q5_0,
    Q6_K,
    Q4_K,   ///< every matrix Q4_K, output included (llama-quantize --pure Q4_K_S)
    Q4_K_M, ///< llama-quantize's Q4_K_M mixture: Q4_K, with Q6_K for output and some attn_v / ffn_down
};

/// "auto"/"as-stored", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q6_k", "q4_k", "q4_k_m" (any
/// case) -> GgufOutType; throws lathe::Error listing the choices.
GgufOutType parseGgufOutType(const std::string& name);

struct GgufExportOptions
{
    /// Model folder in HF layout.
    std::string modelDir;
    /// Output .gguf path (written atomically).
    std::string outPath;
    /// Type of the 2-D weights; 1-D tensors are always F32.
    GgufOutType outType = GgufOutType::AsStored;
    /// Threads quantizing each tensor's rows; 0 = std::thread::hardware_concurrency(). The bytes do not
    /// depend on it.
    int threads = 0;
    /// general.name; empty = the folder's name.
    std::string name;
    /// Tokenizer options (pre-tokenizer override, placeholder vocab for tokenizer-less test models).
    GgufVocabOptions vocab;
    /// Called before each tensor is written: (index, count, GGUF name).
    std::function<void(std::size_t, std::size_t, const std::string&)> progress;
};

struct GgufExportSummary
{
    std::string path;
    std::string architecture;     ///< GGUF arch string
    std::uint32_t fileType = 0;   ///< general.file_type (llama_ftype)
    std::size_t tensors = 0;
    std::size_t keys = 0;
    std::uint64_t dataBytes = 0;  ///< tensor data incl. padding
    GgufVocabSummary vocab;
};

/// Writes the GGUF file; throws lathe::Error naming the file, tensor or field on any problem.
GgufExportSummary exportGguf(const GgufExportOptions& options);

/// A PEFT LoRA adapter alone as a GGUF adapter for `llama-cli --lora` (convert_lora_to_gguf.py's layout):
/// general.type "adapter", adapter.type "lora", adapter.lora.alpha (times sqrt(r) for rsLoRA, which llama.cpp
/// does not know), and `<gguf name>.lora_a` (ne [in, r]) / `.lora_b` (ne [r, out]) per adapted matrix, with the
/// llama arch's q/k permutation applied to lora_b's rows. The base model folder gives the architecture and head
/// counts. DoRA, modules_to_save, per-module alpha_pattern and embedding / tied lm_head adapters have no GGUF
/// form and are refused with the reason.
struct GgufLoraExportOptions
{
    std::string adapterDir; ///< adapter_config.json + adapter_model.safetensors
    std::string modelDir;   ///< the base model the adapter was trained on
    std::string outPath;
    /// F32 (default), F16, BF16 or Q8_0, as convert_lora_to_gguf's --outtype.
    GgufOutType outType = GgufOutType::F32;
    std::string name; ///< general.name; empty = the adapter folder's name
    std::function<void(std::size_t, std::size_t, const std::string&)> progress;
};

/// Writes the adapter GGUF atomically; throws lathe::Error naming the file and tensor on any problem.
GgufExportSummary exportGgufLora(const GgufLoraExportOptions& options);

} // namespace lathe
