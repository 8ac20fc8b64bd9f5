// The values' own operations (see jinja_builtins.h), ported from @huggingface/jinja 0.5's runtime.ts.
#include "template/jinja/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "template/jinja/jinja_text.h"
#include "util/utf8.h"

namespace lathe::jinja {

// ============================================================================================================
// Numbers, equality, order, text
// ============================================================================================================

/// A number as an integer; integers past 64 bits are an error (JavaScript would round them, silently).
int64_t checkedInt(double d)
{
    if (!(d >= -9.2e18 && d <= 9.2e18))
        failRuntime("integer overflow: " + jsNumberString(d) + " does not fit in 64 bits");
    return int64_t(d);
}

Value checkedArithmetic(const std::string& op, int64_t a, int64_t b)
{
    int64_t r = 0;
    const bool overflow = op == "+"   ? __builtin_add_overflow(a, b, &r)
                          : op == "-" ? __builtin_sub_overflow(a, b, &r)
                                      : __builtin_mul_overflow(a, b, &r);
    if (overflow)
        failRuntime("integer overflow in " + std::to_string(a) + " " + op + " " + std::to_string(b));
    return Value::fromInt(r);
}

bool isIntLike(const Value& v) { return v.type == Value::Type::Int || v.type == Value::Type::Float || v.type == Value::Type::Bool; }

/// JavaScript's `a.value == b.value`.
bool looseEquals(const Value& a, const Value& b)
{
    using T = Value::Type;
    const bool aNullish = a.type == T::Undefined || a.type == T::Null;
    const bool bNullish = b.type == T::Undefined || b.type == T::Null;
    if (aNullish || bNullish)
        return aNullish && bNullish;
    if (a.isList() || b.isList())
        return a.isList() && b.isList() && a.list == b.list;
    if (a.object || b.object)
        return a.object && b.object && a.object == b.object;
    if (a.type == T::Function || b.type == T::Function)
        return a.function == b.function;
    if (a.type == T::String && b.type == T::String)
        return a.string == b.string;
    auto toNumber = [](const Value& v) {
        if (v.type != T::String)
            return v.numeric();
        const std::string t = jsTrim(v.string);
        if (t.empty())
            return 0.0;
        char* end = nullptr;
        const double d = std::strtod(t.c_str(), &end);
        if (end != t.c_str() + t.size() || t.find_first_of("xXnN") != std::string::npos)
            return std::nan("");
        return d;
    };
    return toNumber(a) == toNumber(b);
}

/// JavaScript's `a.value === b.value` (list membership, unique).
bool strictEquals(const Value& a, const Value& b)
{
    using T = Value::Type;
    if (a.isNumber() && b.isNumber())
        return a.numeric() == b.numeric();
    if (a.type != b.type) {
        const bool bothLists = a.isList() && b.isList();
        const bool bothMaps = a.object && b.object;
        if (!bothLists && !bothMaps)
            return false;
    }
    switch (a.type) {
    case T::Undefined:
    case T::Null: return true;
    case T::Bool: return a.boolean == b.boolean;
    case T::String: return a.string == b.string;
    case T::Array:
    case T::Tuple: return a.list == b.list;
    case T::Object:
    case T::KwArgs:
    case T::Namespace: return a.object == b.object;
    case T::Function: return a.function == b.function;
    default: return false;
    }
}

/// compareRuntimeValues: numbers (and booleans) by value, strings (case-insensitively unless asked), none
/// equal to none; anything else is an error.
int compareValues(const Value& a, const Value& b, bool caseSensitive)
{
    using T = Value::Type;
    if (a.type == T::Null && b.type == T::Null)
        return 0;
    if (a.type == T::Null || b.type == T::Null)
        failRuntime(std::string("cannot compare ") + typeName(a) + " with " + typeName(b));
    if (a.type == T::Undefined && b.type == T::Undefined)
        return 0;
    if (a.type == T::Undefined || b.type == T::Undefined)
        failRuntime(std::string("cannot compare ") + typeName(a) + " with " + typeName(b));
    if (isIntLike(a) && isIntLike(b)) {
        const double x = a.numeric(), y = b.numeric();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.type != b.type)
        failRuntime(std::string("cannot compare different types: ") + typeName(a) + " and " + typeName(b));
    if (a.type == T::String) {
        std::string x = a.string, y = b.string;
        if (!caseSensitive) {
            std::transform(x.begin(), x.end(), x.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            std::transform(y.begin(), y.end(), y.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        }
        return x < y ? -1 : x > y ? 1 : 0;
    }
    failRuntime(std::string("cannot compare ") + typeName(a));
}

std::string asciiUpper(std::string s)
{
    for (char& c : s)
        if (c >= 'a' && c <= 'z')
            c = char(c - 'a' + 'A');
    return s;
}
std::string asciiLower(std::string s)
{
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = char(c - 'A' + 'a');
    return s;
}
bool isWord(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
std::string titleCase(std::string s)
{
    for (size_t i = 0; i < s.size(); ++i)
        if (isWord(s[i]) && (i == 0 || !isWord(s[i - 1])) && s[i] >= 'a' && s[i] <= 'z')
            s[i] = char(s[i] - 'a' + 'A');
    return s;
}

/// parseInt(s, 10); false when JavaScript gives NaN.
bool jsParseInt(const std::string& s, int64_t& out)
{
    size_t i = jsTrimStart(s);
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    const size_t start = i;
    int64_t value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (value > (INT64_MAX - 9) / 10)
            return false; // past 64 bits: treated as not a number (the filter's default)
        value = value * 10 + (s[i] - '0');
        ++i;
    }
    if (i == start)
        return false;
    out = negative ? -value : value;
    return true;
}

/// parseFloat(s); false when JavaScript gives NaN.
bool jsParseFloat(const std::string& s, double& out)
{
    size_t i = jsTrimStart(s);
    size_t j = i;
    if (j < s.size() && (s[j] == '+' || s[j] == '-'))
        ++j;
    if (s.compare(j, 8, "Infinity") == 0) {
        out = s[i] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    size_t digits = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
        ++j;
        ++digits;
    }
    if (j < s.size() && s[j] == '.') {
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
            ++j;
            ++digits;
        }
    }
    if (digits == 0)
        return false;
    if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-'))
            ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
            while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k])))
                ++k;
            j = k;
        }
    }
    out = std::strtod(s.substr(i, j - i).c_str(), nullptr);
    return true;
}


/// getAttributeValue: a dotted path through mappings, namespaces and list indices.
Value attributePath(const Value& item, const std::string& path)
{
    Value value = item;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (value.object && (value.isMapping() || value.type == Value::Type::Namespace)) {
            const Value* found = value.object->find(part);
            value = found ? *found : Value::undefined();
        } else if (value.isList()) {
            int64_t index = 0;
            if (jsParseInt(part, index) && index >= 0 && index < int64_t(value.list->size()))
                value = (*value.list)[size_t(index)];
            else
                return Value::undefined();
        } else {
            return Value::undefined();
        }
        if (dot == std::string::npos)
            return value;
        start = dot + 1;
    }
}


const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};

/// @huggingface/jinja's strftime: %Y %m %d %b %B %H %M %% (English month names, local time).
std::string strftimeJs(std::chrono::system_clock::time_point now, const std::string& format)
{
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    localtime_r(&t, &tm);
    auto pad2 = [](int n) { return n < 10 ? "0" + std::to_string(n) : std::to_string(n); };
    std::string out;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] == '%' && i + 1 < format.size()) {
            const char c = format[i + 1];
            std::string piece;
            switch (c) {
            case 'Y': piece = std::to_string(tm.tm_year + 1900); break;
            case 'm': piece = pad2(tm.tm_mon + 1); break;
            case 'd': piece = pad2(tm.tm_mday); break;
            case 'b': piece = std::string(kMonths[tm.tm_mon]).substr(0, 3); break;
            case 'B': piece = kMonths[tm.tm_mon]; break;
            case 'H': piece = pad2(tm.tm_hour); break;
            case 'M': piece = pad2(tm.tm_min); break;
            case '%': piece = "%"; break;
            default: break;
            }
            if (!piece.empty()) {
                out += piece;
                ++i;
                continue;
            }
        }
        out += format[i];
    }
    return out;
}

// ============================================================================================================
// Methods of strings and mappings, tests, filter helpers
// ============================================================================================================

// The string methods @huggingface/jinja gives (str.upper(), .strip(), .split(), ...).
Value stringMethod(const Value& self, const std::string& name, size_t maxBytes)
{
    const std::string s = self.string;
    auto method = [](auto fn) { return Value::fromFunction(fn); };
    if (name == "length")
        return Value::fromInt(int64_t(utf8Length(s)));
    if (name == "upper")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(asciiUpper(s)); });
    if (name == "lower")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(asciiLower(s)); });
    if (name == "strip")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(jsTrim(s)); });
    if (name == "lstrip")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(s.substr(jsTrimStart(s))); });
    if (name == "rstrip")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(s.substr(0, jsTrimEnd(s))); });
    if (name == "title")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(titleCase(s)); });
    if (name == "capitalize")
        return method([s](ValueList&, const EnvPtr&) { return Value::fromString(capitalize(s)); });
    if (name == "startswith" || name == "endswith") {
        const bool starts = name == "startswith";
        return method([s, starts, name](ValueList& args, const EnvPtr&) {
            if (args.empty())
                failRuntime(name + "() requires at least one argument");
            auto test = [&](const std::string& p) {
                return p.size() <= s.size() &&
                       (starts ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
            };
            const Value& pattern = args[0];
            if (pattern.type == Value::Type::String)
                return Value::fromBool(test(pattern.string));
            if (pattern.isList()) {
                for (const Value& item : *pattern.list) {
                    if (item.type != Value::Type::String)
                        failRuntime(name + "() tuple elements must be strings");
                    if (test(item.string))
                        return Value::fromBool(true);
                }
                return Value::fromBool(false);
            }
            failRuntime(name + "() argument must be a string or tuple of strings");
        });
    }
    if (name == "split")
        return method([s](ValueList& args, const EnvPtr&) { return splitString(s, args); });
    if (name == "replace")
        return method([s, maxBytes](ValueList& args, const EnvPtr&) { return replaceString(s, args, maxBytes); });
    return Value::undefined();
}

std::string capitalize(const std::string& s)
{
    if (s.empty())
        return s;
    std::string out = s;
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = char(out[0] - 'a' + 'A');
    return out;
}

Value splitString(const std::string& s, ValueList& args)
{
    CallArgs call(args);
    const Value sep = call.get(0, "sep", Value::null());
    if (sep.type != Value::Type::String && sep.type != Value::Type::Null)
        failRuntime("split(): sep must be a string or none");
    const Value maxsplitV = call.get(1, "maxsplit", Value::fromInt(-1));
    if (maxsplitV.type != Value::Type::Int)
        failRuntime("split(): maxsplit must be a number");
    const int64_t maxsplit = maxsplitV.integer;
    ValueList result;
    if (sep.type == Value::Type::Null) {
        const std::string text = s.substr(jsTrimStart(s));
        size_t i = 0;
        while (i < text.size()) {
            while (size_t len = jsSpaceLength(text, i))
                i += len;
            if (i >= text.size())
                break;
            size_t j = i;
            while (j < text.size() && jsSpaceLength(text, j) == 0) {
                size_t len = 1;
                utf8::decode(text, j, len);
                j += len;
            }
            if (maxsplit != -1 && int64_t(result.size()) >= maxsplit) {
                result.push_back(Value::fromString(text.substr(i)));
                break;
            }
            result.push_back(Value::fromString(text.substr(i, j - i)));
            i = j;
        }
    } else {
        if (sep.string.empty())
            failRuntime("split(): empty separator");
        std::vector<std::string> parts;
        size_t start = 0;
        while (true) {
            const size_t at = s.find(sep.string, start);
            if (at == std::string::npos) {
                parts.push_back(s.substr(start));
                break;
            }
            parts.push_back(s.substr(start, at - start));
            start = at + sep.string.size();
        }
        if (maxsplit != -1 && int64_t(parts.size()) > maxsplit) {
            std::string rest;
            for (size_t i = size_t(std::max<int64_t>(maxsplit, 0)); i < parts.size(); ++i)
                rest += (i > size_t(std::max<int64_t>(maxsplit, 0)) ? sep.string : "") + parts[i];
            parts.resize(size_t(std::max<int64_t>(maxsplit, 0)));
            parts.push_back(rest);
        }
        for (std::string& p : parts)
            result.push_back(Value::fromString(std::move(p)));
    }
    return Value::fromList(std::move(result));
}

Value replaceString(const std::string& s, ValueList& args, size_t maxBytes)
{
    auto checkSize = [maxBytes](size_t bytes) {
        if (bytes > maxBytes)
            failRuntime("output limit exceeded: more than " + std::to_string(maxBytes) + " bytes");
    };
    CallArgs call(args);
    if (call.positional.size() < 2)
        failRuntime("replace() requires at least two arguments");
    const Value& oldV = call.positional[0];
    const Value& newV = call.positional[1];
    if (oldV.type != Value::Type::String || newV.type != Value::Type::String)
        failRuntime("replace() arguments must be strings");
    Value countV = call.get(2, "count", Value::null());
    if (countV.type != Value::Type::Int && countV.type != Value::Type::Null)
        failRuntime("replace() count must be a number or none");
    int64_t remaining = countV.type == Value::Type::Null || countV.integer < 0 ? INT64_MAX : countV.integer;
    if (remaining == 0)
        return Value::fromString(s);
    std::string out;
    if (oldV.string.empty()) {
        // (?=) with the u flag: before every code point and at the end.
        size_t i = 0;
        while (true) {
            if (remaining > 0) {
                out += newV.string;
                --remaining;
            }
            if (i >= s.size())
                break;
            size_t len = 1;
            utf8::decode(s, i, len);
            out.append(s, i, len);
            i += len;
            checkSize(out.size());
        }
        return Value::fromString(std::move(out));
    }
    size_t start = 0;
    while (true) {
        const size_t at = remaining > 0 ? s.find(oldV.string, start) : std::string::npos;
        if (at == std::string::npos) {
            out.append(s, start, std::string::npos);
            break;
        }
        out.append(s, start, at - start);
        out += newV.string;
        --remaining;
        start = at + oldV.string.size();
        checkSize(out.size());
    }
    checkSize(out.size());
    return Value::fromString(std::move(out));
}

// The mapping methods: get, items, keys, values, dictsort.
Value mappingMethod(const Value& self, const std::string& name)
{
    const auto data = self.object;
    if (name == "get")
        return Value::fromFunction([data](ValueList& args, const EnvPtr&) {
            if (args.empty() || args[0].type != Value::Type::String)
                failRuntime(std::string("mapping key must be a string: got ") +
                            (args.empty() ? "nothing" : typeName(args[0])));
            if (const Value* v = data->find(args[0].string))
                return *v;
            return args.size() > 1 ? args[1] : Value::null();
        });
    if (name == "items")
        return Value::fromFunction([data](ValueList&, const EnvPtr&) { return items(*data); });
    if (name == "keys")
        return Value::fromFunction([data](ValueList&, const EnvPtr&) {
            ValueList keys;
            for (const auto& e : data->entries)
                keys.push_back(Value::fromString(e.first));
            return Value::fromList(std::move(keys));
        });
    if (name == "values")
        return Value::fromFunction([data](ValueList&, const EnvPtr&) {
            ValueList values;
            for (const auto& e : data->entries)
                values.push_back(e.second);
            return Value::fromList(std::move(values));
        });
    if (name == "dictsort")
        return Value::fromFunction([data](ValueList& args, const EnvPtr&) {
            CallArgs call(args);
            const Value caseSensitive = call.get(0, "case_sensitive", Value::fromBool(false));
            if (caseSensitive.type != Value::Type::Bool)
                failRuntime("dictsort(): case_sensitive must be a boolean");
            const Value by = call.get(1, "by", Value::fromString("key"));
            if (by.type != Value::Type::String || (by.string != "key" && by.string != "value"))
                failRuntime("dictsort(): by must be 'key' or 'value'");
            const Value reverse = call.get(2, "reverse", Value::fromBool(false));
            if (reverse.type != Value::Type::Bool)
                failRuntime("dictsort(): reverse must be a boolean");
            Value list = items(*data);
            const size_t index = by.string == "key" ? 0 : 1;
            std::stable_sort(list.list->begin(), list.list->end(), [&](const Value& a, const Value& b) {
                const int r = compareValues((*a.list)[index], (*b.list)[index], caseSensitive.boolean);
                return (reverse.boolean ? -r : r) < 0;
            });
            return list;
        });
    return Value::undefined();
}

Value items(const ObjectData& data)
{
    ValueList out;
    for (const auto& e : data.entries)
        out.push_back(Value::fromList({Value::fromString(e.first), e.second}));
    return Value::fromList(std::move(out));
}

bool runTest(const std::string& name, const Value& operand, const Value* other)
{
    using T = Value::Type;
    if (name == "boolean")
        return operand.type == T::Bool;
    if (name == "callable")
        return operand.type == T::Function;
    if (name == "odd" || name == "even") {
        if (operand.type != T::Int)
            failRuntime("cannot " + name + " on " + typeName(operand));
        const bool odd = operand.integer % 2 != 0;
        return name == "odd" ? odd : !odd;
    }
    if (name == "false")
        return operand.type == T::Bool && !operand.boolean;
    if (name == "true")
        return operand.type == T::Bool && operand.boolean;
    if (name == "none")
        return operand.type == T::Null;
    if (name == "string")
        return operand.type == T::String;
    if (name == "number")
        return operand.isNumber();
    if (name == "integer")
        return operand.type == T::Int;
    if (name == "iterable")
        return operand.type == T::Array || operand.type == T::String;
    if (name == "mapping")
        return operand.isMapping();
    if (name == "sequence")
        return operand.isList() || operand.isMapping() || operand.type == T::String;
    if (name == "lower")
        return operand.type == T::String && operand.string == asciiLower(operand.string);
    if (name == "upper")
        return operand.type == T::String && operand.string == asciiUpper(operand.string);
    if (name == "defined")
        return operand.type != T::Undefined;
    if (name == "undefined")
        return operand.type == T::Undefined;
    if (name == "equalto" || name == "eq")
        return other ? strictEquals(operand, *other) : operand.type == T::Undefined;
    failRuntime("unknown test: " + name);
}

std::string joinPiece(const Value& v)
{
    if (v.type == Value::Type::Null || v.type == Value::Type::Undefined)
        return "";
    return toJsString(v);
}

std::string indentLines(const std::string& s, const std::string& indent, bool first, bool blank)
{
    std::string out;
    size_t start = 0, line = 0;
    while (true) {
        const size_t nl = s.find('\n', start);
        const std::string piece = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (line > 0)
            out += '\n';
        if (!((!first && line == 0) || (!blank && piece.empty())))
            out += indent;
        out += piece;
        if (nl == std::string::npos)
            break;
        start = nl + 1;
        ++line;
    }
    return out;
}

} // namespace lathe::jinja
