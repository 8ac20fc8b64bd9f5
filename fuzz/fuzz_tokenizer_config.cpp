// tokenizer_config.json (special tokens, add_bos_token, chat_template, added_tokens_decoder) beside a small
// valid tokenizer.json, then one encode and decode with whatever special tokens it set.
#include <cstdint>

#include <sys/stat.h>

#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"
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
    // The 256 byte-level symbols, then the merges' results.
    std::string vocab;
    int id = 0;
    auto add = [&](const std::string& token) {
        vocab += (vocab.empty() ? "" : ",") + std::string("\"") + token + "\":" + std::to_string(id++);
    };
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards.
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        const int cp = printable ? b : 256 + shifted++;
        std::string utf8;
        if (cp < 0x80)
            utf8 = std::string(1, static_cast<char>(cp));
        else {
            utf8 += static_cast<char>(0xC0 | (cp >> 6));
            utf8 += static_cast<char>(0x80 | (cp & 0x3F));
        }
        if (utf8 == "\"" || utf8 == "\\")
            utf8 = "\\" + utf8;
        add(utf8);
    }
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
