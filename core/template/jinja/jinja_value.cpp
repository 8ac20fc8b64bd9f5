#include "template/jinja/jinja_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "template/jinja/jinja_text.h"
#include "util/utf8.h"

namespace lathe::jinja {

const Value* ObjectData::find(const std::string& key) const
{
    for (const auto& entry : entries)
        if (entry.first == key)
            return &entry.second;
    return nullptr;
}

void ObjectData::set(const std::string& key, Value value)
{
    for (auto& entry : entries) {
        if (entry.first == key) {
            entry.second = std::move(value);
            return;
        }
    }
    entries.emplace_back(key, std::move(value));
}

const char* typeName(const Value& v)
{
    switch (v.type) {
    case Value::Type::Undefined: return "UndefinedValue";
    case Value::Type::Null: return "NullValue";
    case Value::Type::Bool: return "BooleanValue";
    case Value::Type::Int: return "IntegerValue";
    case Value::Type::Float: return "FloatValue";
    case Value::Type::String: return "StringValue";
    case Value::Type::Array: return "ArrayValue";
    case Value::Type::Tuple: return "TupleValue";
    case Value::Type::Object: return "ObjectValue";
    case Value::Type::KwArgs: return "KeywordArgumentsValue";
    case Value::Type::Namespace: return "NamespaceValue";
    case Value::Type::Function: return "FunctionValue";
    }
    return "Value";
}

bool truthy(const Value& v)
{
    switch (v.type) {
    case Value::Type::Undefined:
    case Value::Type::Null: return false;
    case Value::Type::Bool: return v.boolean;
    case Value::Type::Int: return v.integer != 0;
    case Value::Type::Float: return v.number != 0 && !std::isnan(v.number);
    case Value::Type::String: return !v.string.empty();
    case Value::Type::Array:
    case Value::Type::Tuple: return !v.list->empty();
    case Value::Type::Object:
    case Value::Type::KwArgs: return !v.object->entries.empty();
    case Value::Type::Namespace:
    case Value::Type::Function: return true;
    }
    return false;
}

// ------------------------------------------------------------------------------------------------------------
// Numbers as JavaScript prints them
// ------------------------------------------------------------------------------------------------------------

std::string jsNumberString(double d)
{
    if (std::isnan(d))
        return "NaN";
    if (std::isinf(d))
        return d > 0 ? "Infinity" : "-Infinity";
    if (d == 0)
        return "0";
    // The shortest digits that read back as d (ECMAScript's Number::toString picks the same digits).
    char buf[40];
    int precision = 1;
    for (; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*e", precision - 1, d);
        if (std::strtod(buf, nullptr) == d)
            break;
    }
    std::string s = buf;
    const bool negative = s[0] == '-';
    if (negative)
        s.erase(0, 1);
    const size_t e = s.find('e');
    const int exponent = std::atoi(s.c_str() + e + 1);
    std::string digits;
    for (size_t i = 0; i < e; ++i)
        if (s[i] != '.')
            digits += s[i];
    while (digits.size() > 1 && digits.back() == '0')
        digits.pop_back();
    const int k = int(digits.size());
    const int n = exponent + 1; // the decimal point's position
    std::string out;
    if (k <= n && n <= 21) {
        out = digits + std::string(size_t(n - k), '0');
    } else if (0 < n && n <= 21) {
        out = digits.substr(0, size_t(n)) + "." + digits.substr(size_t(n));
    } else if (-6 < n && n <= 0) {
        out = "0." + std::string(size_t(-n), '0') + digits;
    } else {
        out = digits.substr(0, 1);
        if (k > 1)
            out += "." + digits.substr(1);
        out += "e";
        out += (n - 1 >= 0 ? "+" : "-");
        out += std::to_string(std::abs(n - 1));
    }
    return negative ? "-" + out : out;
}

namespace {

std::string floatDisplay(double d)
{
    if (d == 0 && std::signbit(d))
        return "-0.0";
    if (std::isfinite(d) && std::floor(d) == d) {
        if (std::fabs(d) >= 1e21)
            return jsNumberString(d);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f", d);
        return buf;
    }
    return jsNumberString(d);
}

void appendJsonString(std::string& out, const std::string& s, bool ensureAscii)
{
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || (ensureAscii && c == 0x7f)) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += char(c);
                }
            }
            ++i;
            continue;
        }
        size_t len = 1;
        const uint32_t cp = utf8::decode(s, i, len);
        if (ensureAscii) {
            auto unit = [&](uint32_t u) {
                out += "\\u";
                for (int shift = 12; shift >= 0; shift -= 4)
                    out += hex[(u >> shift) & 15];
            };
            if (cp >= 0x10000) {
                const uint32_t v = cp - 0x10000;
                unit(0xD800 + (v >> 10));
                unit(0xDC00 + (v & 0x3FF));
            } else {
                unit(cp);
            }
        } else {
            out.append(s, i, len);
        }
        i += len;
    }
    out += '"';
}

// String.prototype.localeCompare under the root collation, closely enough for mapping keys: letters compare
// without case first, then lower case before upper case.
bool localeLess(const std::string& a, const std::string& b)
{
    std::string la = a, lb = b;
    std::transform(la.begin(), la.end(), la.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    std::transform(lb.begin(), lb.end(), lb.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (la != lb)
        return la < lb;
    return a > b; // lower case (larger byte) first
}

} // namespace

std::string toJson(const Value& v, const JsonOptions& options, bool undefinedAsNull, int depth)
{
    switch (v.type) {
    case Value::Type::Null: return "null";
    case Value::Type::Undefined: return undefinedAsNull ? "null" : "undefined";
    case Value::Type::Int: return std::to_string(v.integer);
    case Value::Type::Float: return std::isfinite(v.number) ? jsNumberString(v.number) : "null";
    case Value::Type::Bool: return v.boolean ? "true" : "false";
    case Value::Type::String: {
        std::string out;
        appendJsonString(out, v.string, options.ensureAscii);
        return out;
    }
    case Value::Type::Array:
    case Value::Type::Object:
    case Value::Type::Namespace: {
        std::string itemSeparator, keySeparator;
        if (options.hasSeparators) {
            itemSeparator = options.itemSeparator;
            keySeparator = options.keySeparator;
        } else if (options.indent > 0) {
            itemSeparator = ",";
            keySeparator = ": ";
        } else {
            itemSeparator = ", ";
            keySeparator = ": ";
        }
        const std::string indentUnit(size_t(std::max(options.indent, 0)), ' ');
        std::string basePadding = "\n";
        for (int i = 0; i < depth; ++i)
            basePadding += indentUnit;
        const std::string childPadding = basePadding + indentUnit;
        const bool pretty = options.indent > 0;
        std::string out;
        if (v.type == Value::Type::Array) {
            if (v.list->empty())
                return "[]";
            out += '[';
            bool first = true;
            for (const Value& item : *v.list) {
                if (!first)
                    out += itemSeparator;
                first = false;
                if (pretty)
                    out += childPadding;
                out += toJson(item, options, undefinedAsNull, depth + 1);
            }
            if (pretty)
                out += basePadding;
            out += ']';
            return out;
        }
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& entry : v.object->entries)
            entries.push_back(&entry);
        if (options.sortKeys)
            std::stable_sort(entries.begin(), entries.end(),
                             [](const auto* a, const auto* b) { return localeLess(a->first, b->first); });
        if (entries.empty())
            return "{}";
        out += '{';
        bool first = true;
        for (const auto* entry : entries) {
            if (!first)
                out += itemSeparator;
            first = false;
            if (pretty)
                out += childPadding;
            appendJsonString(out, entry->first, options.ensureAscii);
            out += keySeparator;
            out += toJson(entry->second, options, undefinedAsNull, depth + 1);
        }
        if (pretty)
            out += basePadding;
        out += '}';
        return out;
    }
    case Value::Type::Tuple:
    case Value::Type::KwArgs:
    case Value::Type::Function: break;
    }
    throw std::runtime_error(std::string("cannot convert to JSON: ") + typeName(v));
}

std::string toDisplayString(const Value& v)
{
    switch (v.type) {
    case Value::Type::Undefined: return "undefined";
    case Value::Type::Null: return "null";
    case Value::Type::Bool: return v.boolean ? "true" : "false";
    case Value::Type::Int: return std::to_string(v.integer);
    case Value::Type::Float: return floatDisplay(v.number);
    case Value::Type::String: return v.string;
    case Value::Type::Function: return "[function]";
    default: return toJson(v, JsonOptions{}, false);
    }
}

std::string toJsString(const Value& v)
{
    switch (v.type) {
    case Value::Type::Float: return jsNumberString(v.number);
    case Value::Type::Array:
    case Value::Type::Tuple: {
        std::string out;
        bool first = true;
        for (const Value& item : *v.list) {
            if (!first)
                out += ',';
            first = false;
            out += toDisplayString(item);
        }
        return out;
    }
    case Value::Type::Object:
    case Value::Type::KwArgs:
    case Value::Type::Namespace: return "[object Map]";
    default: return toDisplayString(v);
    }
}

Value fromJson(const nlohmann::ordered_json& j)
{
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::null();
    case nlohmann::ordered_json::value_t::boolean: return Value::fromBool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::fromInt(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return Value::fromInt(int64_t(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: {
        const double d = j.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.007199254740992e15)
            return Value::fromInt(int64_t(d)); // Number.isInteger: 2.0 arrives as an integer
        return Value::fromFloat(d);
    }
    case nlohmann::ordered_json::value_t::string: return Value::fromString(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        ValueList items;
        items.reserve(j.size());
        for (const auto& item : j)
            items.push_back(fromJson(item));
        return Value::fromList(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
        auto data = std::make_shared<ObjectData>();
        data->entries.reserve(j.size());
        for (auto it = j.begin(); it != j.end(); ++it)
            data->entries.emplace_back(it.key(), fromJson(it.value()));
        return Value::fromObject(std::move(data));
    }
    default: return Value::undefined();
    }
}

} // namespace lathe::jinja
