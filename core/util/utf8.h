// UTF-8 and code points, the one copy every part of the engine uses (the tokenizer's byte-level alphabet, the
// evaluation's character n-grams, the Jinja interpreter's strings): appending a code point, decoding one leniently,
// and whole strings each way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lathe::utf8 {

/// Appends `cp` as UTF-8.
void append(std::string& out, std::uint32_t cp);

/// The code point starting at byte `i` and its length in bytes. An invalid sequence (a stray continuation byte,
/// a truncated sequence, an overlong form, a surrogate, a value past U+10FFFF) is U+FFFD, one byte long.
std::uint32_t decode(std::string_view s, std::size_t i, std::size_t& length);

/// Every code point of `s`, invalid bytes as U+FFFD, one per byte.
std::u32string toCodePoints(std::string_view s);

/// Code points to UTF-8.
std::string fromCodePoints(const std::u32string& s);

} // namespace lathe::utf8
