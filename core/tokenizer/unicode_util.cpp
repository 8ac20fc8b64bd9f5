// UTF-8 walking, lossy decoding, the byte-level alphabet and ICU-backed normalization (see unicode_util.h).
#include "tokenizer/unicode_util.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "util/error.h"
#include "util/utf8.h"

namespace lathe::unicode {

namespace {

// Length of the valid UTF-8 sequence at text[pos], or 0 when the bytes there do not start one. With
// `maximalPrefix` the number of bytes of the longest valid prefix is stored (for lossy decoding).
std::size_t validSequence(std::string_view text, std::size_t pos, std::size_t* maximalPrefix = nullptr)
{
    const auto byteAt = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char b0 = byteAt(pos);
    if (maximalPrefix)
        *maximalPrefix = 1;
    if (b0 < 0x80)
        return 1;
    std::size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        if (b0 == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    for (std::size_t k = 1; k < need; ++k) {
        if (pos + k >= text.size())
            return 0;
        const unsigned char b = byteAt(pos + k);
        if (b < lo || b > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
        if (maximalPrefix)
            *maximalPrefix = k + 1;
    }
    return need;
}

// ICU works on UTF-16.
std::u16string toUtf16(std::string_view text)
{
    std::u16string out(text.size() + 1, u'\0');
    UErrorCode err = U_ZERO_ERROR;
    int32_t len = 0;
    u_strFromUTF8(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &len, text.data(),
                  static_cast<int32_t>(text.size()), &err);
    if (U_FAILURE(err))
        fail("Unicode conversion failed: ", u_errorName(err));
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::string toUtf8(const std::u16string& text)
{
    std::string out(text.size() * 3 + 1, '\0');
    UErrorCode err = U_ZERO_ERROR;
    int32_t len = 0;
    u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &len, reinterpret_cast<const UChar*>(text.data()),
                static_cast<int32_t>(text.size()), &err);
    if (U_FAILURE(err))
        fail("Unicode conversion failed: ", u_errorName(err));
    out.resize(static_cast<std::size_t>(len));
    return out;
}

} // namespace

std::size_t firstInvalidUtf8(std::string_view text)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        // ASCII runs dominate most text: skip them eight bytes at a time.
        while (pos + 8 <= text.size()) {
            std::uint64_t word;
            __builtin_memcpy(&word, text.data() + pos, 8);
            if (word & 0x8080808080808080ULL)
                break;
            pos += 8;
        }
        if (pos >= text.size())
            break;
        const std::size_t n = validSequence(text, pos);
        if (n == 0)
            return pos;
        pos += n;
    }
    return std::string_view::npos;
}

std::uint32_t nextCodePoint(std::string_view text, std::size_t& pos)
{
    const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(text[i])); };
    const std::uint32_t b0 = b(pos);
    if (b0 < 0x80) {
        pos += 1;
        return b0;
    }
    if (b0 < 0xE0) {
        const std::uint32_t cp = ((b0 & 0x1F) << 6) | (b(pos + 1) & 0x3F);
        pos += 2;
        return cp;
    }
    if (b0 < 0xF0) {
        const std::uint32_t cp = ((b0 & 0x0F) << 12) | ((b(pos + 1) & 0x3F) << 6) | (b(pos + 2) & 0x3F);
        pos += 3;
        return cp;
    }
    const std::uint32_t cp =
        ((b0 & 0x07) << 18) | ((b(pos + 1) & 0x3F) << 12) | ((b(pos + 2) & 0x3F) << 6) | (b(pos + 3) & 0x3F);
    pos += 4;
    return cp;
}

void appendUtf8(std::string& out, std::uint32_t cp)
{
    utf8::append(out, cp);
}

std::string lossyUtf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::size_t prefix = 1;
        const std::size_t n = validSequence(bytes, pos, &prefix);
        if (n) {
            out.append(bytes.data() + pos, n);
            pos += n;
        } else {
            out += "\xEF\xBF\xBD";
            pos += prefix;
        }
    }
    return out;
}

bool isWhitespace(std::uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

bool isWordChar(std::uint32_t cp)
{
    if (cp == '_')
        return true;
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    const auto c = static_cast<UChar32>(cp);
    if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC))
        return true;
    const std::int8_t type = u_charType(c);
    return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

const std::array<std::string, 256>& byteLevelAlphabet()
{
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> out;
        std::uint32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            appendUtf8(out[b], direct ? static_cast<std::uint32_t>(b) : next++);
        }
        return out;
    }();
    return table;
}

const std::array<std::int16_t, 0x144>& byteLevelDecodeTable()
{
    static const std::array<std::int16_t, 0x144> table = [] {
        std::array<std::int16_t, 0x144> out;
        out.fill(-1);
        const auto& alphabet = byteLevelAlphabet();
        for (int b = 0; b < 256; ++b) {
            std::size_t pos = 0;
            out[nextCodePoint(alphabet[b], pos)] = static_cast<std::int16_t>(b);
        }
        return out;
    }();
    return table;
}

std::string normalize(std::string_view text, NormalizationForm form)
{
    // Below U+0300 every character is its own NFC/NFD form and none combines with a neighbour, so text
    // without lead bytes >= 0xCC needs no work (NFKC/NFKD also map some Latin-1 characters: not skipped).
    if (form == NormalizationForm::NFC || form == NormalizationForm::NFD) {
        bool simple = true;
        for (const char c : text)
            if (static_cast<unsigned char>(c) >= 0xCC) {
                simple = false;
                break;
            }
        if (simple)
            return std::string(text);
    }
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2* norm = nullptr;
    switch (form) {
    case NormalizationForm::NFC:
        norm = unorm2_getNFCInstance(&err);
        break;
    case NormalizationForm::NFD:
        norm = unorm2_getNFDInstance(&err);
        break;
    case NormalizationForm::NFKC:
        norm = unorm2_getNFKCInstance(&err);
        break;
    case NormalizationForm::NFKD:
        norm = unorm2_getNFKDInstance(&err);
        break;
    }
    if (U_FAILURE(err))
        fail("Unicode normalizer unavailable: ", u_errorName(err));
    const std::u16string src = toUtf16(text);
    const auto* s = reinterpret_cast<const UChar*>(src.data());
    const auto n = static_cast<int32_t>(src.size());
    if (unorm2_spanQuickCheckYes(norm, s, n, &err) == n && U_SUCCESS(err))
        return std::string(text);
    err = U_ZERO_ERROR;
    std::u16string dst(src.size() * 4 + 16, u'\0');
    int32_t len = unorm2_normalize(norm, s, n, reinterpret_cast<UChar*>(dst.data()),
                                   static_cast<int32_t>(dst.size()), &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
        err = U_ZERO_ERROR;
        dst.assign(static_cast<std::size_t>(len) + 1, u'\0');
        len = unorm2_normalize(norm, s, n, reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()),
                               &err);
    }
    if (U_FAILURE(err))
        fail("Unicode normalization failed: ", u_errorName(err));
    dst.resize(static_cast<std::size_t>(len));
    return toUtf8(dst);
}

std::string lowercase(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::uint32_t cp = nextCodePoint(text, pos);
        appendUtf8(out, cp < 0x80 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp)
                                  : static_cast<std::uint32_t>(u_tolower(static_cast<UChar32>(cp))));
    }
    return out;
}

} // namespace lathe::unicode
