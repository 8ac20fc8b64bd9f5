// Jinja source to tokens, as @huggingface/jinja 0.5 reads a chat template (its src/lexer.ts ported rule by rule):
// the preprocessing (one trailing newline dropped, lstrip_blocks, trim_blocks, generation tags removed) with every
// byte's origin kept for error positions, then the tokens, with an end-of-input check wherever the original would
// read past the last character.
#include "template/jinja/jinja_syntax.h"

#include <algorithm>
#include <cstring>

#include "template/jinja/jinja_text.h"
#include "util/utf8.h"

namespace lathe::jinja {

namespace {

bool isWordChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// ============================================================================================================
// Preprocessing: the four rewrites of @huggingface/jinja's preprocess(), each keeping every byte's origin.
// ============================================================================================================

struct Builder
{
    PreparedSource out;
    void keep(const PreparedSource& in, size_t from, size_t to)
    {
        out.text.append(in.text, from, to - from);
        out.offsets.insert(out.offsets.end(), in.offsets.begin() + long(from), in.offsets.begin() + long(to));
    }
    PreparedSource finish(const PreparedSource& in)
    {
        out.offsets.push_back(in.offsets.back());
        return std::move(out);
    }
};

// `^[ \t]*({[#%-])` with the multiline flag: blanks at a line start before `{#`, `{%`, `{-`.
PreparedSource lstripBlocks(const PreparedSource& in)
{
    const std::string& s = in.text;
    Builder b;
    size_t i = 0;
    while (i < s.size()) {
        const bool lineStart = i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r';
        if (lineStart) {
            size_t j = i;
            while (j < s.size() && (s[j] == ' ' || s[j] == '\t'))
                ++j;
            if (j + 1 < s.size() && s[j] == '{' && (s[j + 1] == '#' || s[j + 1] == '%' || s[j + 1] == '-')) {
                i = j; // drop the blanks
            }
        }
        b.keep(in, i, i + 1);
        ++i;
    }
    return b.finish(in);
}

// `([#%-]})\n`: the newline after a tag's close.
PreparedSource trimBlocks(const PreparedSource& in)
{
    const std::string& s = in.text;
    Builder b;
    size_t i = 0;
    while (i < s.size()) {
        if (i + 2 < s.size() && (s[i] == '#' || s[i] == '%' || s[i] == '-') && s[i + 1] == '}' && s[i + 2] == '\n') {
            b.keep(in, i, i + 2);
            i += 3;
            continue;
        }
        b.keep(in, i, i + 1);
        ++i;
    }
    return b.finish(in);
}

// The length of `{%-? \s* (end)?generation \s* -?%}` at i (0 when there is none); its two dashes.
size_t generationTagAt(const std::string& s, size_t i, bool& stripBefore, bool& stripAfter)
{
    if (s.compare(i, 2, "{%") != 0)
        return 0;
    size_t j = i + 2;
    stripBefore = j < s.size() && s[j] == '-';
    if (stripBefore)
        ++j;
    while (size_t n = jsSpaceLength(s, j))
        j += n;
    if (s.compare(j, 3, "end") == 0 && s.compare(j + 3, 10, "generation") == 0)
        j += 3;
    if (s.compare(j, 10, "generation") != 0)
        return 0;
    j += 10;
    while (size_t n = jsSpaceLength(s, j))
        j += n;
    stripAfter = j < s.size() && s[j] == '-';
    if (stripAfter)
        ++j;
    if (s.compare(j, 2, "%}") != 0)
        return 0;
    return j + 2 - i;
}

size_t spaceRunEnd(const std::string& s, size_t i)
{
    while (size_t n = jsSpaceLength(s, i))
        i += n;
    return i;
}

// `(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)`: the assistant-mask tags transformers uses, removed with the
// whitespace around them unless a dash asks to keep... no: a dash drops that side's whitespace, as the original.
PreparedSource removeGenerationTags(const PreparedSource& in)
{
    const std::string& s = in.text;
    if (s.find("generation") == std::string::npos)
        return in;
    Builder b;
    size_t i = 0;
    while (i < s.size()) {
        const size_t blanksEnd = spaceRunEnd(s, i);
        bool stripBefore = false, stripAfter = false;
        const size_t tag = generationTagAt(s, blanksEnd, stripBefore, stripAfter);
        if (tag == 0) {
            const size_t next = blanksEnd > i ? blanksEnd : i + 1;
            b.keep(in, i, next);
            i = next;
            continue;
        }
        const size_t afterStart = blanksEnd + tag;
        const size_t afterEnd = spaceRunEnd(s, afterStart);
        if (!stripBefore)
            b.keep(in, i, blanksEnd);
        if (!stripAfter)
            b.keep(in, afterStart, afterEnd);
        i = afterEnd;
    }
    return b.finish(in);
}

} // namespace

PreparedSource prepareSource(const std::string& source)
{
    PreparedSource p;
    p.text = source;
    p.offsets.resize(source.size() + 1);
    for (size_t i = 0; i <= source.size(); ++i)
        p.offsets[i] = SourceOffset(i);
    if (!p.text.empty() && p.text.back() == '\n') {
        p.text.pop_back();
        p.offsets.erase(p.offsets.end() - 2);
    }
    return removeGenerationTags(trimBlocks(lstripBlocks(p)));
}

SourcePos positionOf(const std::string& source, size_t offset)
{
    offset = std::min(offset, source.size());
    SourcePos pos{1, 1};
    size_t lineStart = 0;
    for (size_t i = 0; i < offset; ++i) {
        if (source[i] == '\n') {
            ++pos.line;
            lineStart = i + 1;
        }
    }
    for (size_t i = lineStart; i < offset; ++i)
        if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80)
            ++pos.column;
    return pos;
}

// ============================================================================================================
// Lexer
// ============================================================================================================

std::vector<Token> tokenize(const std::string& source)
{
    const PreparedSource prepared = prepareSource(source);
    const std::string& src = prepared.text;
    const size_t n = src.size();
    std::vector<Token> tokens;
    size_t pos = 0;
    int curlyDepth = 0;

    auto offsetAt = [&](size_t i) { return prepared.offsets[std::min(i, n)]; };
    auto push = [&](std::string value, TokenType type, size_t at) {
        tokens.push_back(Token{std::move(value), type, offsetAt(at)});
    };
    auto endOfInput = [&]() { syntaxError("unexpected end of template", offsetAt(n)); };

    // A string literal's body up to `quote`, with the escapes @huggingface/jinja knows.
    auto consumeString = [&](char quote, size_t start) {
        std::string str;
        while (true) {
            if (pos >= n)
                syntaxError(std::string("the string starting here is not closed with ") + quote, offsetAt(start));
            const char c = src[pos];
            if (c == quote)
                return str;
            if (c == '\\') {
                ++pos;
                if (pos >= n)
                    syntaxError(std::string("the string starting here is not closed with ") + quote, offsetAt(start));
                const char e = src[pos++];
                if (e == 'x' || e == 'u') {
                    const size_t len = e == 'x' ? 2 : 4;
                    const std::string hex = src.substr(pos, len);
                    if (hex.size() != len || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                        syntaxError("invalid hexadecimal escape \\" + std::string(1, e) + hex, offsetAt(pos - 2));
                    utf8::append(str, uint32_t(std::stoul(hex, nullptr, 16)));
                    pos += len;
                    continue;
                }
                switch (e) {
                case 'n': str += '\n'; break;
                case 't': str += '\t'; break;
                case 'r': str += '\r'; break;
                case 'b': str += '\b'; break;
                case 'f': str += '\f'; break;
                case 'v': str += '\v'; break;
                case '\'': str += '\''; break;
                case '"': str += '"'; break;
                case '\\': str += '\\'; break;
                default: syntaxError("unexpected escaped character \\" + std::string(1, e), offsetAt(pos - 2));
                }
                continue;
            }
            str += c;
            ++pos;
        }
    };
    auto consumeDigits = [&]() {
        const size_t start = pos;
        while (pos < n && isDigit(src[pos]))
            ++pos;
        if (pos >= n && pos > start)
            endOfInput();
        return src.substr(start, pos - start);
    };
    auto stripTrailingWhitespace = [&]() {
        if (!tokens.empty() && tokens.back().type == TokenType::Text) {
            std::string& text = tokens.back().value;
            text.resize(jsTrimEnd(text));
            if (text.empty())
                tokens.pop_back();
        }
    };
    auto skipLeadingWhitespace = [&]() {
        while (size_t len = jsSpaceLength(src, pos))
            pos += len;
    };
    auto lastType = [&](TokenType& type) {
        if (tokens.empty())
            return false;
        type = tokens.back().type;
        return true;
    };

    while (pos < n) {
        TokenType last{};
        const bool hasLast = lastType(last);
        if (!hasLast || last == TokenType::CloseStatement || last == TokenType::CloseExpression ||
            last == TokenType::Comment) {
            const size_t start = pos;
            while (pos < n && !(src[pos] == '{' && pos + 1 < n &&
                                (src[pos + 1] == '%' || src[pos + 1] == '{' || src[pos + 1] == '#')))
                ++pos;
            if (pos > start) {
                push(src.substr(start, pos - start), TokenType::Text, start);
                continue;
            }
        }

        if (src.compare(pos, 2, "{#") == 0) {
            const size_t start = pos;
            pos += 2;
            const bool stripBefore = pos < n && src[pos] == '-';
            if (stripBefore)
                ++pos;
            const size_t close = src.find("#}", pos);
            if (close == std::string::npos)
                syntaxError("comment {# is not closed with #}", offsetAt(start));
            std::string comment = src.substr(pos, close - pos);
            const bool stripAfter = !comment.empty() && comment.back() == '-';
            if (stripAfter)
                comment.pop_back();
            if (stripBefore)
                stripTrailingWhitespace();
            push(std::move(comment), TokenType::Comment, start);
            pos = close + 2;
            if (stripAfter)
                skipLeadingWhitespace();
            continue;
        }
        if (src.compare(pos, 3, "{%-") == 0) {
            stripTrailingWhitespace();
            push("{%", TokenType::OpenStatement, pos);
            pos += 3;
            continue;
        }
        if (src.compare(pos, 3, "{{-") == 0) {
            stripTrailingWhitespace();
            push("{{", TokenType::OpenExpression, pos);
            curlyDepth = 0;
            pos += 3;
            continue;
        }
        skipLeadingWhitespace();
        if (pos >= n)
            endOfInput();
        if (src.compare(pos, 3, "-%}") == 0) {
            push("%}", TokenType::CloseStatement, pos);
            pos += 3;
            skipLeadingWhitespace();
            continue;
        }
        if (src.compare(pos, 3, "-}}") == 0) {
            push("}}", TokenType::CloseExpression, pos);
            pos += 3;
            skipLeadingWhitespace();
            continue;
        }

        const char c = src[pos];
        if (c == '-' || c == '+') {
            TokenType prev{};
            if (!lastType(prev) || prev == TokenType::Text)
                syntaxError(std::string("unexpected character ") + c, offsetAt(pos));
            const bool binary = prev == TokenType::Identifier || prev == TokenType::NumericLiteral ||
                                prev == TokenType::StringLiteral || prev == TokenType::CloseParen ||
                                prev == TokenType::CloseSquareBracket;
            if (!binary) {
                const size_t start = pos;
                ++pos;
                std::string num = consumeDigits();
                if (!num.empty() && pos + 1 < n && src[pos] == '.' && isDigit(src[pos + 1])) {
                    ++pos;
                    num += "." + consumeDigits();
                }
                push(std::string(1, c) + num, num.empty() ? TokenType::UnaryOperator : TokenType::NumericLiteral,
                     start);
                continue;
            }
        }

        struct Op
        {
            const char* text;
            TokenType type;
        };
        static const Op kOps[] = {
            {"{%", TokenType::OpenStatement},
            {"%}", TokenType::CloseStatement},
            {"{{", TokenType::OpenExpression},
            {"}}", TokenType::CloseExpression},
            {"(", TokenType::OpenParen},
            {")", TokenType::CloseParen},
            {"{", TokenType::OpenCurlyBracket},
            {"}", TokenType::CloseCurlyBracket},
            {"[", TokenType::OpenSquareBracket},
            {"]", TokenType::CloseSquareBracket},
            {",", TokenType::Comma},
            {".", TokenType::Dot},
            {":", TokenType::Colon},
            {"|", TokenType::Pipe},
            {"<=", TokenType::ComparisonBinaryOperator},
            {">=", TokenType::ComparisonBinaryOperator},
            {"==", TokenType::ComparisonBinaryOperator},
            {"!=", TokenType::ComparisonBinaryOperator},
            {"<", TokenType::ComparisonBinaryOperator},
            {">", TokenType::ComparisonBinaryOperator},
            {"+", TokenType::AdditiveBinaryOperator},
            {"-", TokenType::AdditiveBinaryOperator},
            {"~", TokenType::AdditiveBinaryOperator},
            {"**", TokenType::ExponentiationBinaryOperator},
            {"*", TokenType::MultiplicativeBinaryOperator},
            {"//", TokenType::MultiplicativeBinaryOperator},
            {"/", TokenType::MultiplicativeBinaryOperator},
            {"%", TokenType::MultiplicativeBinaryOperator},
            {"=", TokenType::Equals},
        };
        bool matched = false;
        for (const Op& op : kOps) {
            if (op.type == TokenType::CloseExpression && curlyDepth > 0)
                continue;
            const size_t len = std::strlen(op.text);
            if (src.compare(pos, len, op.text) == 0) {
                push(op.text, op.type, pos);
                if (op.type == TokenType::OpenExpression)
                    curlyDepth = 0;
                else if (op.type == TokenType::OpenCurlyBracket)
                    ++curlyDepth;
                else if (op.type == TokenType::CloseCurlyBracket)
                    --curlyDepth;
                pos += len;
                matched = true;
                break;
            }
        }
        if (matched)
            continue;

        if (c == '\'' || c == '"') {
            const size_t start = pos;
            ++pos;
            std::string str = consumeString(c, start);
            push(std::move(str), TokenType::StringLiteral, start);
            ++pos;
            continue;
        }
        if (isDigit(c)) {
            const size_t start = pos;
            std::string num = consumeDigits();
            TokenType prev{};
            const bool afterDot = lastType(prev) && prev == TokenType::Dot;
            if (!afterDot && pos + 1 < n && src[pos] == '.' && isDigit(src[pos + 1])) {
                ++pos;
                num += "." + consumeDigits();
            }
            push(std::move(num), TokenType::NumericLiteral, start);
            continue;
        }
        if (isWordChar(c)) {
            const size_t start = pos;
            while (pos < n && isWordChar(src[pos]))
                ++pos;
            if (pos >= n)
                endOfInput();
            push(src.substr(start, pos - start), TokenType::Identifier, start);
            continue;
        }
        syntaxError("unexpected character '" + utf8CharAt(src, pos) + "'", offsetAt(pos));
    }
    return tokens;
}

} // namespace lathe::jinja
