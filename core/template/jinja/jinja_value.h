// The values a Jinja template computes with (internal to core/template/jinja), shaped as @huggingface/jinja's
// runtime values: undefined, none, booleans, integers and floats (JavaScript numbers underneath, so 1 == 1.0),
// strings, lists and tuples, mappings (insertion-ordered), keyword arguments, namespaces and functions.
// Lists, mappings and namespaces are shared by reference, as in JavaScript: `a == b` on them is identity, and a
// namespace assigned to two names is one namespace.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lathe::jinja {

struct Value;
class Env;

using ValueList = std::vector<Value>;

/// An insertion-ordered mapping (chat-template mappings are small: a linear search is the fast choice).
struct ObjectData
{
    std::vector<std::pair<std::string, Value>> entries;
    const Value* find(const std::string& key) const;
    void set(const std::string& key, Value value);
};

/// A callable: positional arguments, a trailing KwArgs value when keywords were given, the caller's scope.
using NativeFunction = std::function<Value(ValueList& args, const std::shared_ptr<Env>& scope)>;

struct Value
{
    enum class Type : uint8_t
    {
        Undefined,
        Null,
        Bool,
        Int,
        Float,
        String,
        Array,
        Tuple,
        Object,
        KwArgs,
        Namespace,
        Function,
    };

    Type type = Type::Undefined;
    bool boolean = false;
    int64_t integer = 0;
    double number = 0;
    std::string string;
    std::shared_ptr<ValueList> list;     ///< Array, Tuple
    std::shared_ptr<ObjectData> object;  ///< Object, KwArgs, Namespace
    std::shared_ptr<NativeFunction> function;

    static Value undefined() { return {}; }
    static Value null()
    {
        Value v;
        v.type = Type::Null;
        return v;
    }
    static Value fromBool(bool b)
    {
        Value v;
        v.type = Type::Bool;
        v.boolean = b;
        return v;
    }
    static Value fromInt(int64_t i)
    {
        Value v;
        v.type = Type::Int;
        v.integer = i;
        return v;
    }
    static Value fromFloat(double d)
    {
        Value v;
        v.type = Type::Float;
        v.number = d;
        return v;
    }
    static Value fromString(std::string s)
    {
        Value v;
        v.type = Type::String;
        v.string = std::move(s);
        return v;
    }
    static Value fromList(ValueList items, Type type = Type::Array)
    {
        Value v;
        v.type = type;
        v.list = std::make_shared<ValueList>(std::move(items));
        return v;
    }
    static Value fromObject(std::shared_ptr<ObjectData> data, Type type = Type::Object)
    {
        Value v;
        v.type = type;
        v.object = std::move(data);
        return v;
    }
    static Value fromFunction(NativeFunction fn)
    {
        Value v;
        v.type = Type::Function;
        v.function = std::make_shared<NativeFunction>(std::move(fn));
        return v;
    }

    bool isList() const { return type == Type::Array || type == Type::Tuple; }
    bool isMapping() const { return type == Type::Object || type == Type::KwArgs; }
    bool isNumber() const { return type == Type::Int || type == Type::Float; }
    /// The JavaScript number of an Int, Float or Bool.
    double numeric() const
    {
        return type == Type::Int ? double(integer) : type == Type::Float ? number : boolean ? 1.0 : 0.0;
    }
};

/// @huggingface/jinja's type names ("StringValue", ...), for messages.
const char* typeName(const Value& v);

/// Truthiness (__bool__): empty strings, lists and mappings, 0, none and undefined are false; namespaces and
/// functions are true.
bool truthy(const Value& v);

/// How a value prints in the output (RuntimeValue.toString()): floats keep ".0", booleans print true/false,
/// lists and mappings as JSON.
std::string toDisplayString(const Value& v);

/// JavaScript's String(value.value), which `~`, `+` and join use: floats without ".0", lists joined with ",",
/// mappings as "[object Map]".
std::string toJsString(const Value& v);

/// JavaScript's Number.prototype.toString().
std::string jsNumberString(double d);

struct JsonOptions
{
    int indent = 0; ///< 0: one line
    bool ensureAscii = false;
    bool sortKeys = false;
    bool hasSeparators = false;
    std::string itemSeparator;
    std::string keySeparator;
};

/// The tojson filter (@huggingface/jinja's toJSON); undefined prints "null" or, inside a printed list,
/// "undefined". Throws std::runtime_error for functions and tuples, as the original does.
std::string toJson(const Value& v, const JsonOptions& options, bool undefinedAsNull, int depth = 0);

/// A JSON document as template values (integers stay integers, key order kept).
Value fromJson(const nlohmann::ordered_json& j);

} // namespace lathe::jinja
