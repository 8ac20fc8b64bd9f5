// The values' own operations (internal to core/template/jinja): equality and ordering as @huggingface/jinja
// compares, integer arithmetic that cannot overflow silently, JavaScript's number parsing, Python-style slices,
// the string and mapping methods (str.split(), dict.items(), ...), the tests (`is defined`, ...), and the
// helpers the filters share. The interpreter (jinja_interpreter.cpp) evaluates the language on top of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "template/jinja/jinja_syntax.h"
#include "template/jinja/jinja_value.h"

namespace lathe::jinja {

/// A runtime error before it is tied to a node (the interpreter adds the position of the innermost node).
struct Failure
{
    std::string message;
    bool raised = false;          ///< raise_exception()
    bool positioned = false;
    SourceOffset offset = 0;
};

[[noreturn]] inline void failRuntime(std::string message)
{
    throw Failure{std::move(message)};
}

using EnvPtr = std::shared_ptr<Env>;

/// A number as an integer; past 64 bits is an error (JavaScript would round it, silently).
int64_t checkedInt(double d);
/// a + b, a - b or a * b (`op`) on integers; overflow is an error.
Value checkedArithmetic(const std::string& op, int64_t a, int64_t b);
/// Int, Float or Bool: what arithmetic and comparisons take as a number.
bool isIntLike(const Value& v);

/// JavaScript's `a.value == b.value` (`==`, `!=`).
bool looseEquals(const Value& a, const Value& b);
/// JavaScript's `a.value === b.value` (`in` on lists, unique, equalto).
bool strictEquals(const Value& a, const Value& b);
/// compareRuntimeValues: numbers, strings (case-insensitively unless asked), none with none; else an error.
int compareValues(const Value& a, const Value& b, bool caseSensitive);

std::string asciiUpper(std::string s);
std::string asciiLower(std::string s);
/// /\b\w/ upper-cased, the rest untouched (JavaScript's titleCase, not Python's).
std::string titleCase(std::string s);
/// The first character upper-cased, the rest untouched.
std::string capitalize(const std::string& s);

/// parseInt(s, 10) and parseFloat(s); false where JavaScript gives NaN.
bool jsParseInt(const std::string& s, int64_t& out);
bool jsParseFloat(const std::string& s, double& out);

/// Python-style slicing as @huggingface/jinja's slice() does it.
template <typename T>
std::vector<T> sliceOf(const std::vector<T>& items, const Value& startV, const Value& stopV, const Value& stepV)
{
    const int64_t length = int64_t(items.size());
    const int64_t step = stepV.type == Value::Type::Undefined ? 1 : stepV.integer;
    if (step == 0)
        failRuntime("slice step cannot be zero");
    int64_t start, stop;
    if (step > 0) {
        start = startV.type == Value::Type::Undefined ? 0 : startV.integer;
        stop = stopV.type == Value::Type::Undefined ? length : stopV.integer;
        start = start < 0 ? std::max<int64_t>(length + start, 0) : std::min(start, length);
        stop = stop < 0 ? std::max<int64_t>(length + stop, 0) : std::min(stop, length);
    } else {
        start = startV.type == Value::Type::Undefined ? length - 1 : startV.integer;
        stop = stopV.type == Value::Type::Undefined ? -1 : stopV.integer;
        start = start < 0 ? std::max<int64_t>(length + start, -1) : std::min(start, length - 1);
        stop = stop < -1 ? std::max<int64_t>(length + stop, -1) : std::min(stop, length - 1);
    }
    std::vector<T> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
        out.push_back(items[size_t(i)]);
        if (step > 0 ? stop - i <= step : i - stop <= -step) // the next index is past stop (no overflow)
            break;
        i += step;
    }
    return out;
}

/// getAttributeValue: a dotted path through mappings, namespaces and list indices.
Value attributePath(const Value& item, const std::string& path);

/// Splits a call's arguments into positional ones and the trailing keyword mapping.
struct CallArgs
{
    ValueList positional;
    std::shared_ptr<ObjectData> keywords;

    explicit CallArgs(const ValueList& args)
    {
        positional = args;
        if (!positional.empty() && positional.back().type == Value::Type::KwArgs) {
            keywords = positional.back().object;
            positional.pop_back();
        }
    }
    const Value* keyword(const char* name) const { return keywords ? keywords->find(name) : nullptr; }
    /// Positional i, else keyword `name`, else the default.
    Value get(size_t i, const char* name, Value fallback) const
    {
        if (i < positional.size())
            return positional[i];
        if (const Value* v = keyword(name))
            return *v;
        return fallback;
    }
};

/// @huggingface/jinja's strftime: %Y %m %d %b %B %H %M %% (English month names, local time).
std::string strftimeJs(std::chrono::system_clock::time_point now, const std::string& format);

/// A string's method or property (`length`) by name, undefined when there is none; strings built by replace()
/// are bounded by `maxBytes`.
Value stringMethod(const Value& self, const std::string& name, size_t maxBytes);
Value splitString(const std::string& s, ValueList& args);
Value replaceString(const std::string& s, ValueList& args, size_t maxBytes);
/// A mapping's method by name (get, items, keys, values, dictsort), undefined when there is none.
Value mappingMethod(const Value& self, const std::string& name);
/// [[key, value], ...] of a mapping.
Value items(const ObjectData& data);

/// The test `name` (`is defined`, `is string`, ...) on `operand`; `other` is equalto's argument.
bool runTest(const std::string& name, const Value& operand, const Value* other);

/// A list item as join writes it (none and undefined as nothing).
std::string joinPiece(const Value& v);
/// The indent filter: `indent` before every line but the first (unless `first`) and blank ones (unless `blank`).
std::string indentLines(const std::string& s, const std::string& indent, bool first, bool blank);

} // namespace lathe::jinja
