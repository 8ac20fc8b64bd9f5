#include "export/gguf_vocab.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/gguf_file.h"
#include "model/model_config.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// llama_token_type (llama-vocab.h).
enum TokenType : std::int32_t
{
    kNormal = 1,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
};

// Split regexes of the tokenizers llama.cpp knows by name. Qwen2's splits digits one by one, Llama 3's in
// groups of up to three; everything else is the same.
const char* const kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json readJsonIfExists(const fs::path& path)
{
    if (!fs::exists(path))
        return json();
    try {
        return parseJson<json>(readTextFile(path.string()), path.string());
    } catch (const json::exception& e) {
        fail(path.string(), ": invalid JSON: ", e.what());
    }
}

// convert_hf_to_gguf's does_token_look_special().
bool looksSpecial(const std::string& t)
{
    auto starts = [&](const std::string& p) { return t.compare(0, p.size(), p) == 0; };
    auto ends = [&](const std::string& s) { return t.size() >= s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0; };
    if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]")
        return true;
    if (t.size() >= 4 && starts("<|") && ends("|>"))
        return true;
    const std::string wideOpen = "<\xEF\xBD\x9C", wideClose = "\xEF\xBD\x9C>"; // <｜ ... ｜>
    if (t.size() >= wideOpen.size() + wideClose.size() && starts(wideOpen) && ends(wideClose))
        return true;
    return starts("<unused") && ends(">");
}

// The Split regex of a tokenizers pre_tokenizer (plain or inside a Sequence); empty when there is none.
std::string splitRegex(const json& pre)
{
    if (!pre.is_object())
        return {};
    if (pre.value("type", "") == "Split" && pre.contains("pattern") && pre["pattern"].is_object() &&
        pre["pattern"].contains("Regex") && pre["pattern"]["Regex"].is_string())
        return pre["pattern"]["Regex"].get<std::string>();
    if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
        for (const auto& p : pre["pretokenizers"]) {
            std::string r = splitRegex(p);
            if (!r.empty())
                return r;
        }
    return {};
}

bool hasByteLevel(const json& node)
{
    if (!node.is_object())
        return false;
    if (node.value("type", "") == "ByteLevel")
        return true;
    for (const char* key : {"pretokenizers", "processors", "decoders"})
        if (node.contains(key) && node[key].is_array())
            for (const auto& p : node[key])
                if (hasByteLevel(p))
                    return true;
    return false;
}

// The content string of a tokenizer_config "<x>_token" entry (a string or an AddedToken dict).
std::optional<std::string> tokenContent(const json& entry)
{
    if (entry.is_string())
        return entry.get<std::string>();
    if (entry.is_object() && entry.contains("content") && entry["content"].is_string())
        return entry["content"].get<std::string>();
    return std::nullopt;
}

std::optional<std::int64_t> firstId(const json& value)
{
    if (value.is_number_integer())
        return value.get<std::int64_t>();
    if (value.is_array() && !value.empty() && value[0].is_number_integer())
        return value[0].get<std::int64_t>();
    return std::nullopt;
}

// add_bos / add_eos inferred from a TemplateProcessing post-processor (single sequence).
void inferAddSpecial(const json& post, const std::optional<std::string>& bos, const std::optional<std::string>& eos,
                     std::optional<bool>& addBos, std::optional<bool>& addEos)
{
    if (!post.is_object())
        return;
    if (post.value("type", "") == "Sequence" && post.contains("processors") && post["processors"].is_array()) {
        for (const auto& p : post["processors"])
            inferAddSpecial(p, bos, eos, addBos, addEos);
        return;
    }
    if (post.value("type", "") != "TemplateProcessing" || !post.contains("single") || !post["single"].is_array())
        return;
    const json& single = post["single"];
    auto specialId = [](const json& item) -> std::optional<std::string> {
        if (item.is_object() && item.contains("SpecialToken") && item["SpecialToken"].contains("id"))
            return item["SpecialToken"]["id"].get<std::string>();
        return std::nullopt;
    };
    if (!single.empty()) {
        const auto first = specialId(single.front());
        if (!addBos)
            addBos = first && bos && *first == *bos;
        const auto last = specialId(single.back());
        if (!addEos)
            addEos = single.size() > 1 && last && eos && *last == *eos;
    }
}

struct Vocab
{
    std::vector<std::string> tokens;
    std::vector<std::int32_t> types;
    std::vector<std::string> merges;
    std::map<std::string, std::int64_t> idOf; ///< token text -> id (added tokens win)
};

Vocab readTokenizerJson(const json& tj, const std::string& src, std::int64_t vocabSize)
{
    if (!tj.contains("model") || !tj["model"].is_object())
        fail(src, ": missing \"model\"");
    const json& model = tj["model"];
    if (model.value("type", "") != "BPE")
        fail(src, ": model type \"", model.value("type", ""),
             "\" is not supported for GGUF export (only byte-level BPE tokenizers)");
    if (!hasByteLevel(tj.value("pre_tokenizer", json())) && !hasByteLevel(tj.value("decoder", json())))
        fail(src, ": BPE tokenizer without ByteLevel pre-tokenizer is not supported for GGUF export");
    if (!model.contains("vocab") || !model["vocab"].is_object())
        fail(src, ": field \"model.vocab\" missing");

    Vocab v;
    v.tokens.assign(vocabSize, std::string());
    v.types.assign(vocabSize, kUnused);
    std::vector<bool> set(vocabSize, false);
    auto place = [&](const std::string& text, std::int64_t id, std::int32_t type, const char* where) {
        if (id < 0 || id >= vocabSize)
            fail(src, ": ", where, " token \"", text, "\" has id ", id, ", outside config vocab_size ", vocabSize);
        v.tokens[id] = text;
        v.types[id] = type;
        set[id] = true;
        v.idOf[text] = id;
    };
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
        if (!it.value().is_number_integer())
            fail(src, ": model.vocab[\"", it.key(), "\"] is not an integer id");
        place(it.key(), it.value().get<std::int64_t>(), kNormal, "model.vocab");
    }
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
        for (const auto& a : tj["added_tokens"]) {
            if (!a.contains("id") || !a.contains("content"))
                fail(src, ": added_tokens entry without id/content");
            const std::string text = a["content"].get<std::string>();
            const bool special = a.value("special", false);
            place(text, a["id"].get<std::int64_t>(), special || looksSpecial(text) ? kControl : kUserDefined,
                  "added_tokens");
        }
    for (std::int64_t i = 0; i < vocabSize; ++i)
        if (!set[i] || v.tokens[i].empty()) {
            v.tokens[i] = "[PAD" + std::to_string(i) + "]";
            v.types[i] = kUnused;
        }

    if (!model.contains("merges") || !model["merges"].is_array())
        fail(src, ": field \"model.merges\" missing");
    const std::string g = "\xC4\xA0"; // U+0120, byte-level stand-in for a space
    v.merges.reserve(model["merges"].size());
    for (const auto& m : model["merges"]) {
        if (m.is_string()) {
            v.merges.push_back(m.get<std::string>());
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            // New tokenizers format: a pair; a real space inside a part becomes U+0120 so " " stays the separator.
            std::string joined;
            for (int part = 0; part < 2; ++part) {
                if (part)
                    joined += ' ';
                for (const char c : m[part].get<std::string>())
                    joined += c == ' ' ? g : std::string(1, c);
            }
            v.merges.push_back(std::move(joined));
        } else {
            fail(src, ": model.merges entry ", m.dump(), " is neither \"a b\" nor [\"a\", \"b\"]");
        }
    }
    return v;
}

std::string detectPre(const json& tj, const std::string& src)
{
    const std::string regex = splitRegex(tj.value("pre_tokenizer", json()));
    if (regex == kQwen2Regex)
        return "qwen2";
    if (regex == kLlama3Regex)
        return "llama-bpe";
    fail(src, ": the pre-tokenizer split regex is not one Lathe recognises (Qwen2 or Llama 3); set the GGUF "
              "pre-tokenizer name explicitly. Regex: ",
         regex.empty() ? "(none)" : regex);
}

void writeChatTemplates(GgufFile& file, const fs::path& dir, const json& tc, const std::string& tcSrc)
{
    if (tc.contains("chat_template")) {
        const json& ct = tc["chat_template"];
        if (ct.is_string()) {
            file.setString("tokenizer.chat_template", ct.get<std::string>());
            return;
        }
        if (ct.is_array()) {
            std::vector<std::string> names;
            for (const auto& t : ct) {
                if (!t.is_object() || !t.contains("name") || !t.contains("template"))
                    fail(tcSrc, ": chat_template list entry without name/template");
                const std::string name = t["name"].get<std::string>();
                if (name == "default") {
                    file.setString("tokenizer.chat_template", t["template"].get<std::string>());
                } else {
                    file.setString("tokenizer.chat_template." + name, t["template"].get<std::string>());
                    names.push_back(name);
                }
            }
            if (!names.empty())
                file.setStringArray("tokenizer.chat_templates", names);
            return;
        }
    }
    const fs::path jinja = dir / "chat_template.jinja";
    if (fs::exists(jinja))
        file.setString("tokenizer.chat_template", readTextFile(jinja.string()));
}

} // namespace

GgufVocabSummary addGgufVocab(GgufFile& file, const std::string& modelDir, const ModelConfig& config,
                              const std::string& ggufArch, const GgufVocabOptions& options)
{
    const fs::path dir(modelDir);
    const fs::path tokPath = dir / "tokenizer.json";
    const std::int64_t vocabSize = config.vocab_size;
    GgufVocabSummary summary;

    const json cfg = readJsonIfExists(dir / "config.json");
    const json gen = readJsonIfExists(dir / "generation_config.json");

    if (!fs::exists(tokPath)) {
        if (!options.placeholderIfMissing)
            fail(modelDir, ": no tokenizer.json; GGUF needs the tokenizer (or ask for a placeholder vocab)");
        if (vocabSize < 256)
            fail(modelDir, ": placeholder vocab needs vocab_size >= 256, got ", vocabSize);
        // Byte tokens make llama.cpp's BPE vocab load (it looks up the newline byte); the rest are unused ids.
        const auto& alphabet = unicode::byteLevelAlphabet(); // GPT-2 bytes_to_unicode()
        std::vector<std::string> tokens(vocabSize);
        std::vector<std::int32_t> types(vocabSize, kNormal);
        for (std::int64_t i = 0; i < vocabSize; ++i) {
            if (i < 256) {
                tokens[i] = alphabet[i];
            } else {
                tokens[i] = "[PAD" + std::to_string(i) + "]";
                types[i] = kUnused;
            }
        }
        summary.pre = options.preTokenizer.empty() ? (ggufArch == "llama" ? "llama-bpe" : "qwen2")
                                                   : options.preTokenizer;
        file.setString("tokenizer.ggml.model", "gpt2");
        file.setString("tokenizer.ggml.pre", summary.pre);
        file.setStringArray("tokenizer.ggml.tokens", tokens);
        file.setI32Array("tokenizer.ggml.token_type", types);
        file.setStringArray("tokenizer.ggml.merges", {});
        for (const auto& [key, ggufKey] : {std::pair<const char*, const char*>{"bos_token_id", "bos_token_id"},
                                           {"eos_token_id", "eos_token_id"},
                                           {"pad_token_id", "padding_token_id"}}) {
            std::optional<std::int64_t> id = cfg.is_object() && cfg.contains(key) ? firstId(cfg[key]) : std::nullopt;
            if (!id && gen.is_object() && gen.contains(key))
                id = firstId(gen[key]);
            if (id && *id >= 0 && *id < vocabSize)
                file.setU32(std::string("tokenizer.ggml.") + ggufKey, static_cast<std::uint32_t>(*id));
        }
        summary.tokens = tokens.size();
        summary.placeholder = true;
        return summary;
    }

    const std::string tokSrc = tokPath.string();
    const json tj = readJsonIfExists(tokPath);
    const fs::path tcPath = dir / "tokenizer_config.json";
    const json tc = readJsonIfExists(tcPath);

    Vocab vocab = readTokenizerJson(tj, tokSrc, vocabSize);
    summary.pre = options.preTokenizer.empty() ? detectPre(tj, tokSrc) : options.preTokenizer;
    file.setString("tokenizer.ggml.model", "gpt2");
    file.setString("tokenizer.ggml.pre", summary.pre);
    file.setStringArray("tokenizer.ggml.tokens", vocab.tokens);
    file.setI32Array("tokenizer.ggml.token_type", vocab.types);
    file.setStringArray("tokenizer.ggml.merges", vocab.merges);
    summary.tokens = vocab.tokens.size();
    summary.merges = vocab.merges.size();

    // ===== special token ids (SpecialVocab order: tokenizer_config by content, then config.json ids) =====
    struct Special
    {
        const char* hf;   ///< tokenizer_config "<hf>_token", config.json "<hf>_token_id"
        const char* gguf; ///< tokenizer.ggml.<gguf>_token_id
    };
    const Special specials[] = {{"bos", "bos"}, {"eos", "eos"}, {"unk", "unknown"},
                                {"sep", "seperator"}, {"pad", "padding"}, {"mask", "mask"}};
    std::optional<std::string> bosText, eosText;
    for (const auto& s : specials) {
        std::optional<std::int64_t> id;
        const std::string tokenKey = std::string(s.hf) + "_token";
        if (std::string(s.hf) == "eos" && !options.eosToken.empty()) {
            const auto it = vocab.idOf.find(options.eosToken);
            if (it == vocab.idOf.end())
                fail(modelDir, ": the template's EOS token ", options.eosToken, " is not in the vocabulary");
            id = it->second;
        } else if (tc.is_object() && tc.contains(tokenKey))
            if (const auto content = tokenContent(tc[tokenKey])) {
                const auto it = vocab.idOf.find(*content);
                if (it != vocab.idOf.end())
                    id = it->second;
            }
        const std::string idKey = std::string(s.hf) + "_token_id";
        if (!id && cfg.is_object() && cfg.contains(idKey))
            id = firstId(cfg[idKey]);
        if (!id && gen.is_object() && gen.contains(idKey))
            id = firstId(gen[idKey]);
        if (!id)
            continue;
        if (*id < 0 || *id >= vocabSize)
            fail(modelDir, ": ", s.hf, " token id ", *id, " is outside vocab_size ", vocabSize);
        file.setU32(std::string("tokenizer.ggml.") + s.gguf + "_token_id", static_cast<std::uint32_t>(*id));
        if (std::string(s.hf) == "bos")
            bosText = vocab.tokens[*id];
        if (std::string(s.hf) == "eos")
            eosText = vocab.tokens[*id];
    }

    // ===== add_bos / add_eos =====
    std::optional<bool> addBos, addEos;
    if (tc.is_object() && tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
        addBos = tc["add_bos_token"].get<bool>();
    if (tc.is_object() && tc.contains("add_eos_token") && tc["add_eos_token"].is_boolean())
        addEos = tc["add_eos_token"].get<bool>();
    inferAddSpecial(tj.value("post_processor", json()), bosText, eosText, addBos, addEos);
    if (addBos)
        file.setBool("tokenizer.ggml.add_bos_token", *addBos);
    if (addEos)
        file.setBool("tokenizer.ggml.add_eos_token", *addEos);

    if (options.chatTemplate)
        file.setString("tokenizer.chat_template", *options.chatTemplate);
    else if (tc.is_object())
        writeChatTemplates(file, dir, tc, tcPath.string());
    return summary;
}

} // namespace lathe
