// tokenizer_config.json (special tokens, add_bos_token, chat_template, added_tokens_decoder) beside a small
// valid tokenizer.json, then one encode and decode with whatever special tokens it set.
#include <cstdint>

#include <sys/stat.h>

#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace {

// A byte-level BPE tokenizer.json (the Qwen/Llama 3 kind) with two merges and two added tokens.
const char* kTokenizerJson = R"({"version":"1.0","truncation":null,"padding":null,
"added_tokens":[{"id":260,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
{"id":261,"content":"<|im_end|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
"normalizer":{"type":"NFC"},
"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]},
"post_processor":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},
"decoder":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},
"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":"","end_of_word_suffix":"","fuse_unk":false,"byte_fallback":false,"ignore_merges":false,
"vocab":{VOCAB},"merges":["h e","he l"]}})";

std::string tokenizerJson()
{
    // The 256 byte-level symbols (GPT-2's bytes_to_unicode), then the merges' results.
    std::string vocab;
    int id = 0;
    auto add = [&](const std::string& token) {
        vocab += (vocab.empty() ? "" : ",") + std::string("\"") + token + "\":" + std::to_string(id++);
    };
    for (const auto& symbol : lathe::unicode::byteLevelAlphabet())
        add(symbol == "\"" || symbol == "\\" ? "\\" + symbol : symbol);
    add("he");
    add("hel");
    std::string text = kTokenizerJson;
    text.replace(text.find("{VOCAB}"), 7, "{" + vocab + "}");
    return text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string dir = lathe::fuzz::scratchDir() + "/tokenizer_config";
    static const bool ready = [&] {
        mkdir(dir.c_str(), 0700);
        lathe::fuzz::writeFile(dir + "/tokenizer.json", tokenizerJson());
        return true;
    }();
    (void)ready;
    lathe::fuzz::writeFile(dir + "/tokenizer_config.json", data, size);
    try {
        const auto tokenizer = lathe::Tokenizer::fromDirectory(dir);
        const auto ids = tokenizer->encode("hello<|im_end|> " + tokenizer->bosToken + tokenizer->eosToken, {true, true});
        (void)tokenizer->decode(ids, true);
    } catch (const lathe::Error&) {
    }
    return 0;
}
