// A compiled PCRE2 pattern (UTF + UCP, JIT when available) for the tokenizer's Split pre-tokenizers and
// Replace normalizers/decoders.
//
// Hugging Face tokenizers compiles these patterns with Oniguruma; the patterns real tokenizers ship
// (GPT-2, Qwen2, Llama 3, DeepSeek V3) mean the same in PCRE2's Perl syntax with Unicode properties.
// A Regex is immutable after construction and may be used from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lathe {

class Regex
{
public:
    /// Compiles `pattern`; throws lathe::Error naming `where` (file and field) when it does not compile.
    Regex(const std::string& pattern, const std::string& where);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    /// Every non-empty, non-overlapping match in `text` (valid UTF-8), as [begin, end) byte offsets.
    void findAll(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

    const std::string& pattern() const { return m_pattern; }

private:
    std::string m_pattern;
    void* m_code = nullptr; ///< pcre2_code_8*
    bool m_jit = false;
};

} // namespace lathe
