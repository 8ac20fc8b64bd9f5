// Text helpers of the Jinja interpreter (UTF-8 itself is util/utf8.h): JavaScript's notion of whitespace
// (@huggingface/jinja trims with String.prototype.trim and splits tags with /\s/, which include the Unicode spaces
// and U+FEFF), and strings as characters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lathe::jinja {

/// The whole character at byte i (for messages).
std::string utf8CharAt(const std::string& s, size_t i);

/// Whether a code point is whitespace to JavaScript's /\s/ and trim().
bool isJsSpace(uint32_t cp);

/// Byte length of a JavaScript whitespace character at i, 0 when there is none (or i is past the end).
size_t jsSpaceLength(const std::string& s, size_t i);

/// The length `s` keeps after trimEnd() / the offset trimStart() starts at.
size_t jsTrimEnd(const std::string& s);
size_t jsTrimStart(const std::string& s);

/// s.trim(), s.trimStart(), s.trimEnd().
std::string jsTrim(const std::string& s);

/// The string's code points (Array.from(s) for text without lone surrogates).
std::vector<std::string> utf8Characters(const std::string& s);

/// Number of code points.
size_t utf8Length(const std::string& s);

} // namespace lathe::jinja
