// UTF-8 and Unicode helpers for the tokenizer: validation with byte offsets, code point walking, lossy
// decoding as Rust's String::from_utf8_lossy does it, the GPT-2 byte-level alphabet, and Unicode
// normalization forms (NFC, NFD, NFKC, NFKD) through ICU.
//
// Everything here is free of Qt and torch; the GGUF exporter shares the byte-level alphabet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lathe::unicode {

/// Byte offset of the first invalid UTF-8 sequence in `text`, or npos when it is valid (overlong forms,
/// surrogates and code points above U+10FFFF are invalid, as in Rust and Python).
std::size_t firstInvalidUtf8(std::string_view text);

/// Decodes the code point starting at `text[pos]` (which must be valid UTF-8) and advances `pos`.
std::uint32_t nextCodePoint(std::string_view text, std::size_t& pos);

/// Length in bytes of the UTF-8 sequence whose lead byte is `lead` (1 for continuation bytes).
inline std::size_t sequenceLength(unsigned char lead)
{
    return lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

void appendUtf8(std::string& out, std::uint32_t cp);

/// Bytes to UTF-8 with each maximal invalid subsequence replaced by U+FFFD (Rust's from_utf8_lossy, the
/// WHATWG decoder, JavaScript's TextDecoder).
std::string lossyUtf8(std::string_view bytes);

/// Rust's char::is_whitespace (the Unicode White_Space property).
bool isWhitespace(std::uint32_t cp);
/// A "word" character for added tokens' single_word flag: letters, digits, marks, and '_'.
bool isWordChar(std::uint32_t cp);

/// GPT-2's bytes_to_unicode(): the UTF-8 of the character that stands for each byte.
const std::array<std::string, 256>& byteLevelAlphabet();
/// Reverse of byteLevelAlphabet by code point (index < 0x144), -1 where a code point stands for no byte.
const std::array<std::int16_t, 0x144>& byteLevelDecodeTable();

enum class NormalizationForm
{
    NFC,
    NFD,
    NFKC,
    NFKD,
};
/// Unicode normalization of valid UTF-8 text.
std::string normalize(std::string_view text, NormalizationForm form);
/// Per-character lowercase mapping (Rust's str::to_lowercase, without the final-sigma rule).
std::string lowercase(std::string_view text);

} // namespace lathe::unicode
