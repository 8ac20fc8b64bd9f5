// The filters of a template (`x | name`, `x | name(args)`) as @huggingface/jinja 0.5 applies them
// (src/runtime.ts, applyFilter): on strings, lists, mappings, numbers and booleans, with the sandbox's budgets.
#include "template/jinja/jinja_interpreter.h"

#include <algorithm>
#include <cmath>

namespace lathe::jinja {

Value Interpreter::applyFilter(const Value& operand, const Node& filterNode, const EnvPtr& env)
{
    using T = Value::Type;
    if (filterNode.kind == NodeKind::Identifier)
        return applySimpleFilter(operand, filterNode.text, env);
    if (filterNode.kind != NodeKind::CallExpression || filterNode.a->kind != NodeKind::Identifier)
        failRuntime("unknown filter");
    const std::string& name = filterNode.a->text;
    std::shared_ptr<ObjectData> kw;
    auto arguments = [&]() {
        kw.reset();
        ValueList args = evaluateArguments(filterNode.args, env, kw);
        if (kw)
            args.push_back(Value::fromObject(kw, T::KwArgs));
        return CallArgs(args);
    };
    if (name == "tojson") {
        CallArgs call = arguments();
        JsonOptions options;
        const Value* indent = call.keyword("indent");
        if (indent && indent->type != T::Int && indent->type != T::Null)
            failRuntime("tojson: indent must be a number");
        if (indent && indent->type == T::Int)
            options.indent = int(indent->integer);
        const Value* ascii = call.keyword("ensure_ascii");
        if (ascii && ascii->type != T::Bool)
            failRuntime("tojson: ensure_ascii must be a boolean");
        options.ensureAscii = ascii && ascii->boolean;
        const Value* sortKeys = call.keyword("sort_keys");
        if (sortKeys && sortKeys->type != T::Bool)
            failRuntime("tojson: sort_keys must be a boolean");
        options.sortKeys = sortKeys && sortKeys->boolean;
        const Value* separators = call.keyword("separators");
        if (separators && separators->type != T::Null) {
            if (!separators->isList() || separators->list->size() != 2 ||
                (*separators->list)[0].type != T::String || (*separators->list)[1].type != T::String)
                failRuntime("tojson: separators must be a tuple of two strings");
            options.hasSeparators = true;
            options.itemSeparator = (*separators->list)[0].string;
            options.keySeparator = (*separators->list)[1].string;
        }
        return Value::fromString(json(operand, options));
    }
    if (name == "join") {
        std::vector<std::string> pieces;
        if (operand.type == T::String)
            pieces = utf8Characters(operand.string);
        else if (operand.isList())
            for (const Value& v : *operand.list)
                pieces.push_back(joinPiece(v));
        else
            failRuntime(std::string("cannot apply filter \"join\" to type: ") + typeName(operand));
        CallArgs call = arguments();
        const Value sep = call.get(0, "separator", Value::fromString(""));
        if (sep.type != T::String)
            failRuntime("join: separator must be a string");
        return Value::fromString(joinStrings(pieces, sep.string));
    }
    if (name == "int" || name == "float") {
        CallArgs call = arguments();
        const bool isInt = name == "int";
        const Value fallback = call.get(0, "default", isInt ? Value::fromInt(0) : Value::fromFloat(0));
        if (operand.type == T::String) {
            if (isInt) {
                int64_t i = 0;
                return jsParseInt(operand.string, i) ? Value::fromInt(i) : fallback;
            }
            double d = 0;
            return jsParseFloat(operand.string, d) ? Value::fromFloat(d) : fallback;
        }
        if (operand.isNumber())
            return operand;
        if (operand.type == T::Bool)
            return isInt ? Value::fromInt(operand.boolean ? 1 : 0) : Value::fromFloat(operand.boolean ? 1 : 0);
        failRuntime("cannot apply filter \"" + name + "\" to type: " + typeName(operand));
    }
    if (name == "default") {
        CallArgs call = arguments();
        const Value fallback = call.positional.size() > 0 ? call.positional[0] : Value::fromString("");
        const Value boolean = call.get(1, "boolean", Value::fromBool(false));
        if (boolean.type != T::Bool)
            failRuntime("default: the boolean flag must be a boolean");
        if (operand.type == T::Undefined || (boolean.boolean && !truthy(operand)))
            return fallback;
        return operand;
    }
    if (operand.isList()) {
        if (name == "sort") {
            CallArgs call = arguments();
            const Value reverse = call.get(0, "reverse", Value::fromBool(false));
            const Value caseSensitive = call.get(1, "case_sensitive", Value::fromBool(false));
            const Value attribute = call.get(2, "attribute", Value::null());
            if (reverse.type != T::Bool || caseSensitive.type != T::Bool)
                failRuntime("sort: reverse and case_sensitive must be booleans");
            if (attribute.type != T::String && attribute.type != T::Int && attribute.type != T::Null)
                failRuntime("sort: attribute must be a string, an integer or none");
            auto key = [&](const Value& item) {
                if (attribute.type == T::Null)
                    return item;
                return attributePath(item, attribute.type == T::Int ? std::to_string(attribute.integer)
                                                                     : attribute.string);
            };
            ValueList sorted = *operand.list;
            std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& a, const Value& b) {
                const int r = compareValues(key(a), key(b), caseSensitive.boolean);
                return (reverse.boolean ? -r : r) < 0;
            });
            return Value::fromList(std::move(sorted));
        }
        if (name == "selectattr" || name == "rejectattr") {
            const bool select = name == "selectattr";
            for (const Value& item : *operand.list)
                if (!(item.object && (item.isMapping() || item.type == T::Namespace)))
                    failRuntime("`" + name + "` can only be applied to a list of mappings");
            for (const NodePtr& arg : filterNode.args)
                if (arg->kind != NodeKind::StringLiteral)
                    failRuntime("the arguments of `" + name + "` must be strings");
            if (filterNode.args.empty())
                failRuntime("`" + name + "` needs an attribute name");
            const std::string attr = filterNode.args[0]->text;
            const std::string testName = filterNode.args.size() > 1 ? filterNode.args[1]->text : "";
            const Value other = filterNode.args.size() > 2 ? Value::fromString(filterNode.args[2]->text)
                                                           : Value::undefined();
            ValueList out;
            for (const Value& item : *operand.list) {
                const Value* a = item.object->find(attr);
                bool result = false;
                if (a)
                    result = testName.empty() ? truthy(*a)
                                              : runTest(testName, *a, filterNode.args.size() > 2 ? &other : nullptr);
                if (result == select)
                    out.push_back(item);
            }
            return Value::fromList(std::move(out));
        }
        if (name == "map") {
            CallArgs call = arguments();
            const Value* attribute = call.keyword("attribute");
            if (!attribute)
                failRuntime("map without attribute= is not supported");
            if (attribute->type != T::String)
                failRuntime("map: attribute must be a string");
            const Value* fallback = call.keyword("default");
            ValueList out;
            for (const Value& item : *operand.list) {
                if (!(item.object && (item.isMapping() || item.type == T::Namespace)))
                    failRuntime("map: the items must be mappings");
                Value v = attributePath(item, attribute->string);
                out.push_back(v.type == T::Undefined && fallback ? *fallback : v);
            }
            return Value::fromList(std::move(out));
        }
        failRuntime("unknown list filter: " + name);
    }
    if (operand.type == T::String) {
        if (name == "indent") {
            CallArgs call = arguments();
            const Value width = call.get(0, "width", Value::fromInt(4));
            if (width.type != T::Int)
                failRuntime("indent: width must be a number");
            const bool first = truthy(call.get(1, "first", Value::fromBool(false)));
            const bool blank = truthy(call.get(2, "blank", Value::fromBool(false)));
            return Value::fromString(indentLines(operand.string, std::string(size_t(std::max<int64_t>(width.integer, 0)), ' '),
                                                 first, blank));
        }
        if (name == "replace") {
            CallArgs call = arguments();
            ValueList args = call.positional;
            args.push_back(Value::fromObject(call.keywords ? call.keywords : std::make_shared<ObjectData>(), T::KwArgs));
            return replaceString(operand.string, args, m_limits.maxOutputBytes);
        }
        failRuntime("unknown string filter: " + name);
    }
    if (operand.isMapping()) {
        Value method = mappingMethod(operand, name);
        if (method.type == T::Function) {
            CallArgs call = arguments();
            ValueList args = call.positional;
            if (call.keywords && !call.keywords->entries.empty())
                args.push_back(Value::fromObject(call.keywords, T::KwArgs));
            return (*method.function)(args, env);
        }
        failRuntime("unknown mapping filter: " + name);
    }
    failRuntime("cannot apply filter \"" + name + "\" to type: " + typeName(operand));
}

std::string Interpreter::json(const Value& v, const JsonOptions& options)
{
    try {
        std::string out = toJson(v, options, true);
        checkSize(out.size());
        return out;
    } catch (const std::runtime_error& e) {
        failRuntime(e.what());
    }
}

std::string Interpreter::joinStrings(const std::vector<std::string>& pieces, const std::string& sep)
{
    std::string out;
    for (size_t i = 0; i < pieces.size(); ++i) {
        if (i)
            out += sep;
        out += pieces[i];
        checkSize(out.size());
    }
    return out;
}

Value Interpreter::applySimpleFilter(const Value& operand, const std::string& name, const EnvPtr& env)
{
    using T = Value::Type;
    if (name == "safe")
        return operand;
    if (name == "tojson")
        return Value::fromString(json(operand, JsonOptions{}));
    if (operand.isList()) {
        const ValueList& items = *operand.list;
        if (name == "list")
            return operand;
        if (name == "first")
            return items.empty() ? Value::undefined() : items.front();
        if (name == "last")
            return items.empty() ? Value::undefined() : items.back();
        if (name == "length")
            return Value::fromInt(int64_t(items.size()));
        if (name == "reverse")
            return Value::fromList(ValueList(items.rbegin(), items.rend()));
        if (name == "sort") {
            ValueList sorted = items;
            std::stable_sort(sorted.begin(), sorted.end(),
                             [](const Value& a, const Value& b) { return compareValues(a, b, false) < 0; });
            return Value::fromList(std::move(sorted));
        }
        if (name == "join") {
            std::vector<std::string> pieces;
            for (const Value& v : items)
                pieces.push_back(joinPiece(v));
            return Value::fromString(joinStrings(pieces, ""));
        }
        if (name == "string") {
            try {
                return Value::fromString(toJson(operand, JsonOptions{}, false));
            } catch (const std::runtime_error& e) {
                failRuntime(e.what());
            }
        }
        if (name == "unique") {
            ValueList out;
            for (const Value& v : items)
                if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return strictEquals(o, v); }))
                    out.push_back(v);
            return Value::fromList(std::move(out));
        }
        failRuntime("unknown list filter: " + name);
    }
    if (operand.type == T::String) {
        const std::string& s = operand.string;
        if (name == "length")
            return Value::fromInt(int64_t(utf8Length(s)));
        if (name == "upper")
            return Value::fromString(asciiUpper(s));
        if (name == "lower")
            return Value::fromString(asciiLower(s));
        if (name == "title")
            return Value::fromString(titleCase(s));
        if (name == "capitalize")
            return Value::fromString(capitalize(s));
        if (name == "trim")
            return Value::fromString(jsTrim(s));
        if (name == "indent")
            return Value::fromString(indentLines(s, "    ", false, false));
        if (name == "join" || name == "string")
            return operand;
        if (name == "int") {
            int64_t i = 0;
            return Value::fromInt(jsParseInt(s, i) ? i : 0);
        }
        if (name == "float") {
            double d = 0;
            return Value::fromFloat(jsParseFloat(s, d) ? d : 0);
        }
        failRuntime("unknown string filter: " + name);
    }
    if (operand.isNumber()) {
        if (name == "abs")
            return operand.type == T::Int ? checkedArithmetic("*", operand.integer < 0 ? -1 : 1, operand.integer)
                                          : Value::fromFloat(std::fabs(operand.number));
        if (name == "int")
            return Value::fromInt(checkedInt(std::floor(operand.numeric())));
        if (name == "float")
            return Value::fromFloat(operand.numeric());
        if (name == "string")
            return Value::fromString(toDisplayString(operand));
        failRuntime("unknown number filter: " + name);
    }
    if (operand.isMapping()) {
        if (name == "items")
            return items(*operand.object);
        if (name == "length")
            return Value::fromInt(int64_t(operand.object->entries.size()));
        Value method = mappingMethod(operand, name);
        if (method.type == T::Function) {
            ValueList none;
            return (*method.function)(none, env);
        }
        failRuntime("unknown mapping filter: " + name);
    }
    if (operand.type == T::Bool) {
        if (name == "bool")
            return operand;
        if (name == "int")
            return Value::fromInt(operand.boolean ? 1 : 0);
        if (name == "float")
            return Value::fromFloat(operand.boolean ? 1 : 0);
        if (name == "string")
            return Value::fromString(operand.boolean ? "true" : "false");
        failRuntime("unknown boolean filter: " + name);
    }
    failRuntime("cannot apply filter \"" + name + "\" to type: " + typeName(operand));
}

} // namespace lathe::jinja
