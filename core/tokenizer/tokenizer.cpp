// Loading a Tokenizer from a model folder (see tokenizer.h): tokenizer.json, or vocab.json + merges.txt,
// then the special tokens and chat template from tokenizer_config.json, special_tokens_map.json and
// generation_config.json.
#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/json_fields.h"
#include "util/error.h"
#include "util/json_text.h"

namespace lathe {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Qwen2Tokenizer's split pattern (the slow tokenizer, when only vocab.json + merges.txt are present).
const char* const kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The tokenizer library stands alone (no lathe_core): its own whole-file read.
std::string readTextFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, ": cannot open for reading");
    std::ostringstream data;
    data << in.rdbuf();
    if (in.bad())
        fail(path, ": read error");
    return data.str();
}

json readJson(const fs::path& path)
{
    try {
        return parseJson<json>(readTextFile(path.string()), path.string());
    } catch (const json::exception& e) {
        fail(path.string(), ": invalid JSON: ", e.what());
    }
}

json readJsonIfExists(const fs::path& path)
{
    return fs::exists(path) ? readJson(path) : json();
}

AddedToken parseAddedToken(const json& node, const std::string& where)
{
    AddedToken t;
    if (!node.is_object())
        fail(where, ": expected an object, got ", node.type_name());
    const json& id = requireField(node, "id", where);
    if (!id.is_number_integer() || id.get<long long>() < 0)
        fail(where, ".id: expected a non-negative integer, got ", id.dump());
    t.id = id.get<TokenId>();
    t.content = requireString(node, "content", where);
    t.special = optionalBool(node, "special", false, where);
    t.normalized = optionalBool(node, "normalized", !t.special, where);
    t.lstrip = optionalBool(node, "lstrip", false, where);
    t.rstrip = optionalBool(node, "rstrip", false, where);
    t.singleWord = optionalBool(node, "single_word", false, where);
    return t;
}

std::vector<std::pair<std::string, std::string>> parseMerges(const json& list, const std::string& where)
{
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json& m = list[i];
        if (m.is_string()) {
            const std::string& s = m.get_ref<const std::string&>();
            const std::size_t space = s.find(' ');
            if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
                fail(where, ".merges[", i, "]: \"", s, "\" is not two tokens separated by one space");
            merges.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
            fail(where, ".merges[", i, "]: expected \"a b\" or [\"a\", \"b\"], got ", m.dump());
        }
    }
    return merges;
}

std::unique_ptr<BpeModel> parseModel(const json& tj, const std::string& src)
{
    const std::string where = src + ": model";
    const json& model = requireField(tj, "model", src);
    const std::string type = optionalString(model, "type", "BPE", where);
    if (type != "BPE")
        fail(where, ".type: \"", type, "\" is not supported (Lathe handles BPE tokenizers)");
    const json& vocabNode = requireField(model, "vocab", where);
    if (!vocabNode.is_object())
        fail(where, ".vocab: expected an object of token -> id");
    std::vector<std::pair<std::string, TokenId>> vocab;
    vocab.reserve(vocabNode.size());
    for (auto it = vocabNode.begin(); it != vocabNode.end(); ++it) {
        if (!it.value().is_number_integer())
            fail(where, ".vocab[\"", it.key(), "\"]: expected an integer id, got ", it.value().dump());
        vocab.emplace_back(it.key(), it.value().get<TokenId>());
    }
    const auto merges = parseMerges(requireArray(model, "merges", where), where);
    BpeOptions options;
    options.byteFallback = optionalBool(model, "byte_fallback", false, where);
    options.fuseUnk = optionalBool(model, "fuse_unk", false, where);
    options.ignoreMerges = optionalBool(model, "ignore_merges", false, where);
    options.continuingSubwordPrefix = optionalString(model, "continuing_subword_prefix", "", where);
    options.endOfWordSuffix = optionalString(model, "end_of_word_suffix", "", where);
    if (model.contains("unk_token") && !model["unk_token"].is_null())
        options.unkToken = requireString(model, "unk_token", where);
    return std::make_unique<BpeModel>(std::move(vocab), merges, options, src);
}

std::shared_ptr<HfTokenizer> loadTokenizerJson(const fs::path& path)
{
    const std::string src = path.string();
    const json tj = readJson(path);
    if (!tj.is_object())
        fail(src, ": expected a JSON object");
    TokenizerParts parts;
    parts.normalizer = makeNormalizer(tj.value("normalizer", json()), src + ": normalizer");
    parts.preTokenizer = makePreTokenizer(tj.value("pre_tokenizer", json()), src + ": pre_tokenizer");
    parts.model = parseModel(tj, src);
    parts.postProcessor = makePostProcessor(tj.value("post_processor", json()), src + ": post_processor");
    parts.decoder = makeDecoder(tj.value("decoder", json()), src + ": decoder");
    if (tj.contains("added_tokens") && !tj["added_tokens"].is_null()) {
        const json& list = requireArray(tj, "added_tokens", src);
        for (std::size_t i = 0; i < list.size(); ++i)
            parts.addedTokens.push_back(parseAddedToken(list[i], cat(src, ": added_tokens[", i, "]")));
    }
    return std::make_shared<HfTokenizer>(std::move(parts));
}

// GPT-2 / Qwen2 slow-tokenizer files: byte-level BPE, added tokens from tokenizer_config.json.
std::shared_ptr<HfTokenizer> loadVocabMerges(const fs::path& dir, const json& config, const std::string& configSrc)
{
    const fs::path vocabPath = dir / "vocab.json", mergesPath = dir / "merges.txt";
    const std::string vocabSrc = vocabPath.string();
    const json vocabNode = readJson(vocabPath);
    if (!vocabNode.is_object())
        fail(vocabSrc, ": expected an object of token -> id");
    std::vector<std::pair<std::string, TokenId>> vocab;
    for (auto it = vocabNode.begin(); it != vocabNode.end(); ++it) {
        if (!it.value().is_number_integer())
            fail(vocabSrc, ": [\"", it.key(), "\"]: expected an integer id");
        vocab.emplace_back(it.key(), it.value().get<TokenId>());
    }
    std::vector<std::pair<std::string, std::string>> merges;
    std::istringstream lines(readTextFile(mergesPath.string()));
    std::string line;
    std::size_t lineNo = 0;
    while (std::getline(lines, line)) {
        ++lineNo;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || (lineNo == 1 && line.rfind("#version", 0) == 0))
            continue;
        const std::size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
            fail(mergesPath.string(), ": line ", lineNo, ": \"", line, "\" is not two tokens separated by one space");
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }

    TokenizerParts parts;
    const std::string tokenizerClass = optionalString(config, "tokenizer_class", "", configSrc);
    if (tokenizerClass.rfind("Qwen2Tokenizer", 0) == 0) {
        parts.normalizer = makeNormalizer(json{{"type", "NFC"}}, configSrc);
        parts.preTokenizer = makeRegexByteLevelPreTokenizer(kQwen2Regex, configSrc);
    } else {
        parts.preTokenizer =
            makeByteLevelPreTokenizer(optionalBool(config, "add_prefix_space", false, configSrc), true);
    }
    parts.decoder = makeByteLevelDecoder();
    BpeOptions options;
    parts.model = std::make_unique<BpeModel>(std::move(vocab), merges, options, vocabSrc + " / merges.txt");
    if (config.is_object() && config.contains("added_tokens_decoder")) {
        const json& added = config["added_tokens_decoder"];
        if (!added.is_object())
            fail(configSrc, ": added_tokens_decoder: expected an object of id -> token");
        for (auto it = added.begin(); it != added.end(); ++it) {
            json entry = it.value();
            const std::string where = cat(configSrc, ": added_tokens_decoder[\"", it.key(), "\"]");
            try {
                entry["id"] = std::stoll(it.key());
            } catch (const std::exception&) {
                fail(where, ": the key is not an integer id");
            }
            parts.addedTokens.push_back(parseAddedToken(entry, where));
        }
    }
    return std::make_shared<HfTokenizer>(std::move(parts));
}

// A "<x>_token" entry: a string, an AddedToken object with "content", or null.
std::optional<std::string> tokenText(const json& config, const char* key, const std::string& where)
{
    if (!config.is_object() || !config.contains(key) || config[key].is_null())
        return std::nullopt;
    const json& v = config[key];
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    fail(where, ": ", key, ": expected a string or {\"content\": ...}, got ", v.dump());
}

std::vector<TokenId> idList(const json& value, const std::string& where)
{
    std::vector<TokenId> ids;
    if (value.is_number_integer())
        ids.push_back(value.get<TokenId>());
    else if (value.is_array())
        for (const auto& v : value) {
            if (!v.is_number_integer())
                fail(where, ": expected integer ids, got ", value.dump());
            ids.push_back(v.get<TokenId>());
        }
    else if (!value.is_null())
        fail(where, ": expected an id or a list of ids, got ", value.dump());
    return ids;
}

void applyConfigs(Tokenizer& tok, const fs::path& dir, const json& config, const std::string& configSrc)
{
    const fs::path mapPath = dir / "special_tokens_map.json";
    const json specialMap = readJsonIfExists(mapPath);
    const std::string mapSrc = mapPath.string();

    struct Slot
    {
        const char* key;
        std::string* text;
        std::optional<TokenId>* id;
    };
    const Slot slots[] = {{"bos_token", &tok.bosToken, &tok.bosId},
                          {"eos_token", &tok.eosToken, &tok.eosId},
                          {"pad_token", &tok.padToken, &tok.padId},
                          {"unk_token", &tok.unkToken, &tok.unkId}};
    for (const Slot& s : slots) {
        std::optional<std::string> text = tokenText(config, s.key, configSrc);
        if (!text)
            text = tokenText(specialMap, s.key, mapSrc);
        if (!text)
            continue;
        *s.text = *text;
        *s.id = tok.tokenToId(*text);
    }
    tok.addBosToken = optionalBool(config, "add_bos_token", false, configSrc);
    tok.addEosToken = optionalBool(config, "add_eos_token", false, configSrc);

    if (config.is_object() && config.contains("chat_template")) {
        const json& ct = config["chat_template"];
        if (ct.is_string()) {
            tok.chatTemplate = ct.get<std::string>();
        } else if (ct.is_array()) {
            for (const auto& t : ct) {
                if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("template") ||
                    !t["template"].is_string())
                    continue;
                if (t["name"] == "default")
                    tok.chatTemplate = t["template"].get<std::string>();
                else
                    tok.namedChatTemplates.emplace_back(t["name"].get<std::string>(), t["template"].get<std::string>());
            }
            if (tok.chatTemplate.empty())
                fail(configSrc, ": chat_template: a list without a \"default\" entry");
        } else if (!ct.is_null()) {
            fail(configSrc, ": chat_template: expected a string or a list of {name, template}");
        }
    }
    if (tok.chatTemplate.empty() && fs::exists(dir / "chat_template.jinja"))
        tok.chatTemplate = readTextFile((dir / "chat_template.jinja").string());

    const fs::path genPath = dir / "generation_config.json";
    const json gen = readJsonIfExists(genPath);
    if (gen.is_object()) {
        const std::string genSrc = genPath.string();
        if (gen.contains("eos_token_id"))
            tok.generationEosIds = idList(gen["eos_token_id"], genSrc + ": eos_token_id");
        if (!tok.eosId && !tok.generationEosIds.empty())
            tok.eosId = tok.generationEosIds.front();
        if (!tok.bosId && gen.contains("bos_token_id")) {
            const auto ids = idList(gen["bos_token_id"], genSrc + ": bos_token_id");
            if (!ids.empty())
                tok.bosId = ids.front();
        }
        if (!tok.padId && gen.contains("pad_token_id")) {
            const auto ids = idList(gen["pad_token_id"], genSrc + ": pad_token_id");
            if (!ids.empty())
                tok.padId = ids.front();
        }
    }
    for (auto* slot : {&tok.bosId, &tok.eosId, &tok.padId, &tok.unkId})
        if (*slot && static_cast<std::size_t>(**slot) >= tok.vocabSize())
            fail(dir.string(), ": special token id ", **slot, " is outside the vocabulary (", tok.vocabSize(), " ids)");
    if (tok.bosId && tok.bosToken.empty())
        tok.bosToken = tok.idToToken(*tok.bosId);
    if (tok.eosId && tok.eosToken.empty())
        tok.eosToken = tok.idToToken(*tok.eosId);
    if (tok.padId && tok.padToken.empty())
        tok.padToken = tok.idToToken(*tok.padId);
}

} // namespace

std::shared_ptr<const Tokenizer> Tokenizer::fromDirectory(const std::string& dir)
{
    const fs::path root(dir);
    if (!fs::is_directory(root))
        fail(dir, ": not a folder");
    const fs::path configPath = root / "tokenizer_config.json";
    const json config = readJsonIfExists(configPath);
    if (!config.is_null() && !config.is_object())
        fail(configPath.string(), ": expected a JSON object");
    std::shared_ptr<HfTokenizer> tok;
    if (fs::exists(root / "tokenizer.json"))
        tok = loadTokenizerJson(root / "tokenizer.json");
    else if (fs::exists(root / "vocab.json") && fs::exists(root / "merges.txt"))
        tok = loadVocabMerges(root, config, configPath.string());
    else
        fail(dir, ": no tokenizer.json (nor vocab.json + merges.txt)");
    applyConfigs(*tok, root, config, configPath.string());
    return tok;
}

} // namespace lathe
