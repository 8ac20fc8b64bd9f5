#include "template/jinja/jinja_text.h"

#include "util/utf8.h"

namespace lathe::jinja {

std::string utf8CharAt(const std::string& s, size_t i)
{
    size_t len = 1;
    utf8::decode(s, i, len);
    return s.substr(i, len);
}

bool isJsSpace(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

size_t jsSpaceLength(const std::string& s, size_t i)
{
    if (i >= s.size())
        return 0;
    size_t len = 1;
    const uint32_t cp = utf8::decode(s, i, len);
    return isJsSpace(cp) ? len : 0;
}

size_t jsTrimStart(const std::string& s)
{
    size_t i = 0;
    while (size_t len = jsSpaceLength(s, i))
        i += len;
    return i;
}

size_t jsTrimEnd(const std::string& s)
{
    size_t end = s.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
            --start;
        size_t len = 1;
        const uint32_t cp = utf8::decode(s, start, len);
        if (start + len != end || !isJsSpace(cp))
            break;
        end = start;
    }
    return end;
}

std::string jsTrim(const std::string& s)
{
    const size_t end = jsTrimEnd(s);
    const size_t start = jsTrimStart(s);
    return start >= end ? std::string() : s.substr(start, end - start);
}

std::vector<std::string> utf8Characters(const std::string& s)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        size_t len = 1;
        utf8::decode(s, i, len);
        out.push_back(s.substr(i, len));
        i += len;
    }
    return out;
}

size_t utf8Length(const std::string& s)
{
    size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80)
            ++n;
    return n;
}

} // namespace lathe::jinja
