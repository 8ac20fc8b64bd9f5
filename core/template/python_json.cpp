// Python-compatible JSON writing (see python_json.h).
#include "python_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "util/error.h"
#include "util/json_text.h"

namespace lathe {

nlohmann::ordered_json parsePythonJson(const std::string& text, const std::string& what)
{
    try {
        return parseJson<nlohmann::ordered_json>(text, what);
    } catch (const nlohmann::json::exception& e) {
        fail("Invalid JSON format in ", what, ": ", e.what(), " (text: ", text.substr(0, 200), ")");
    }
}

namespace {

// json.encoder's ESCAPE with ensure_ascii=False: quotes, backslash and control characters only.
void appendString(std::string& out, const std::string& s)
{
    out += '"';
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buffer[8];
                std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
                out += buffer;
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

// float.__repr__: the shortest digits that round-trip, positional for 1e-4 <= |x| < 1e16, else
// d.ddde[+-]XX with at least two exponent digits.
void appendFloat(std::string& out, double value)
{
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "Infinity" : "-Infinity";
        return;
    }
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    std::string sci(buffer, result.ptr);
    const std::size_t ePos = sci.find('e');
    std::string mantissa = sci.substr(0, ePos);
    const int exponent = std::stoi(sci.substr(ePos + 1));
    const bool negative = !mantissa.empty() && mantissa[0] == '-';
    if (negative)
        mantissa.erase(0, 1);
    std::string digits;
    for (const char c : mantissa)
        if (c != '.')
            digits += c;

    if (negative)
        out += '-';
    if (exponent < -4 || exponent >= 16) {
        out += digits.substr(0, 1);
        if (digits.size() > 1)
            out += "." + digits.substr(1);
        char expBuffer[16];
        std::snprintf(expBuffer, sizeof expBuffer, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        out += expBuffer;
    } else if (exponent < 0) {
        out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else {
        const auto intDigits = static_cast<std::size_t>(exponent + 1);
        if (digits.size() <= intDigits) {
            out += digits + std::string(intDigits - digits.size(), '0') + ".0";
        } else {
            out += digits.substr(0, intDigits) + "." + digits.substr(intDigits);
        }
    }
}

void appendValue(std::string& out, const nlohmann::ordered_json& value, int indent, int depth)
{
    const auto newline = [&](int level) {
        out += '\n';
        out.append(static_cast<std::size_t>(indent * level), ' ');
    };
    switch (value.type()) {
    case nlohmann::json::value_t::null:
        out += "null";
        break;
    case nlohmann::json::value_t::boolean:
        out += value.get<bool>() ? "true" : "false";
        break;
    case nlohmann::json::value_t::number_integer:
        out += std::to_string(value.get<std::int64_t>());
        break;
    case nlohmann::json::value_t::number_unsigned:
        out += std::to_string(value.get<std::uint64_t>());
        break;
    case nlohmann::json::value_t::number_float:
        appendFloat(out, value.get<double>());
        break;
    case nlohmann::json::value_t::string:
        appendString(out, value.get_ref<const std::string&>());
        break;
    case nlohmann::json::value_t::array: {
        if (value.empty()) {
            out += "[]";
            break;
        }
        out += '[';
        bool first = true;
        for (const auto& item : value) {
            if (!first)
                out += indent >= 0 ? "," : ", ";
            first = false;
            if (indent >= 0)
                newline(depth + 1);
            appendValue(out, item, indent, depth + 1);
        }
        if (indent >= 0)
            newline(depth);
        out += ']';
        break;
    }
    case nlohmann::json::value_t::object: {
        if (value.empty()) {
            out += "{}";
            break;
        }
        out += '{';
        bool first = true;
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (!first)
                out += indent >= 0 ? "," : ", ";
            first = false;
            if (indent >= 0)
                newline(depth + 1);
            appendString(out, it.key());
            out += ": ";
            appendValue(out, it.value(), indent, depth + 1);
        }
        if (indent >= 0)
            newline(depth);
        out += '}';
        break;
    }
    default:
        fail("JSON value of an unsupported type (binary or discarded)");
    }
}

} // namespace

std::string dumpPythonJson(const nlohmann::ordered_json& value, int indent)
{
    std::string out;
    appendValue(out, value, indent, 0);
    return out;
}

} // namespace lathe
