#include "tiny_model.h"

#include <nlohmann/json.hpp>

#include "model/new_model.h"
#include "util/file_util.h"

namespace lathe::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// GPT-2's bytes_to_unicode: the printable stand-in of every byte in byte-level BPE vocabularies.
std::string byteChar(int b)
{
    int cp = b;
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    if (!printable) {
        int n = 0;
        for (int i = 0; i < b; ++i)
            if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255)))
                ++n;
        cp = 256 + n;
    }
    std::string out;
    if (cp < 0x80) {
        out += char(cp);
    } else {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    }
    return out;
}

} // namespace

// A byte-level tokenizer (ids 0-255) with <|endoftext|> 256, <|im_start|> 257, <|im_end|> 258.
void writeByteTokenizer(const std::filesystem::path& dir)
{
    json vocab = json::object();
    for (int b = 0; b < 256; ++b)
        vocab[byteChar(b)] = b;
    json added = json::array();
    const char* specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; ++i)
        added.push_back({{"id", 256 + i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    json tok = {{"version", "1.0"},
                {"added_tokens", added},
                {"normalizer", nullptr},
                {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                   {"use_regex", true}}},
                {"post_processor", nullptr},
                {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                             {"use_regex", true}}},
                {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                           {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                           {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                           {"merges", json::array()}}}};
    writeTextFileAtomic((dir / "tokenizer.json").string(), tok.dump());
    json cfg = {{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"}, {"bos_token", nullptr},
                {"model_max_length", 4096}};
    writeTextFileAtomic((dir / "tokenizer_config.json").string(), cfg.dump());
}

// A tiny float32 Qwen3 model with the byte tokenizer.
std::filesystem::path makeTinyModel(const std::filesystem::path& root)
{
    const fs::path tok = root / "tokenizer";
    fs::create_directories(tok);
    writeByteTokenizer(tok);
    NewModelOptions o;
    o.arch = "qwen3";
    o.config = json{{"vocab_size", 300},        {"hidden_size", 32},          {"intermediate_size", 64},
                    {"num_hidden_layers", 2},   {"num_attention_heads", 4},   {"num_key_value_heads", 2},
                    {"head_dim", 8},            {"tie_word_embeddings", true}, {"max_position_embeddings", 512},
                    {"initializer_range", 0.1}}
                   .dump();
    o.tokenizerDir = tok.string();
    o.outDir = (root / "model").string();
    o.dtype = "float32";
    o.seed = 7;
    writeNewModel(o);
    return root / "model";
}

void writeAlpacaDataset(const std::filesystem::path& dir, const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& examples)
{
    json records = json::array();
    for (const auto& [instruction, output] : examples)
        records.push_back({{"instruction", instruction}, {"input", ""}, {"output", output}});
    writeTextFileAtomic((dir / (name + ".json")).string(), records.dump(2));
    writeTextFileAtomic((dir / "dataset_info.json").string(), json{{name, {{"file_name", name + ".json"}}}}.dump(2));
}

} // namespace lathe::test
