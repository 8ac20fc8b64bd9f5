// tokenizer.json (Hugging Face tokenizers): loading, then encoding and decoding a text that touches the
// normalizers, pre-tokenizers, added tokens and byte fallback of whatever loaded.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include <sys/stat.h>

#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string dir = lathe::fuzz::scratchDir() + "/tokenizer_json";
    static const int made = mkdir(dir.c_str(), 0700);
    (void)made;
    lathe::fuzz::writeFile(dir + "/tokenizer.json", data, size);
    try {
        const auto tokenizer = lathe::Tokenizer::fromDirectory(dir);
        const std::string text = "Hello world!  It's 2026: 你好，世界 \xF0\x9F\x98\x80 <s></s><|im_end|>\n\tx  y";
        auto ids = tokenizer->encode(text, {});
        (void)tokenizer->decode(ids, false);
        (void)tokenizer->encode(text, {true, false});
        // Every id (and a few beyond the vocabulary), one at a time through the streaming decoder.
        const auto n = static_cast<lathe::TokenId>(std::min<std::size_t>(tokenizer->vocabSize() + 2, 4096));
        lathe::StreamDecoder stream(tokenizer, false);
        for (lathe::TokenId id = 0; id < n; ++id)
            (void)stream.push(id);
        (void)stream.flush();
    } catch (const lathe::Error&) {
    }
    return 0;
}
