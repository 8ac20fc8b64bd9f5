// Rendering a parsed template: @huggingface/jinja 0.5's Interpreter (src/runtime.ts) ported rule by rule, with
// the sandbox's budgets (steps, output, list sizes, call depth) checked as it goes and every error tied to the
// innermost node that failed. The filters are in jinja_filters.cpp.
#include "template/jinja/jinja_interpreter.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <unordered_map>

namespace lathe::jinja {

EnvPtr Interpreter::makeGlobals(const nlohmann::ordered_json& context)
{
    auto env = std::make_shared<Env>();
    env->set("namespace", Value::fromFunction([](ValueList& args, const EnvPtr&) { return makeNamespace(args); }));
    env->set("false", Value::fromBool(false));
    env->set("true", Value::fromBool(true));
    env->set("none", Value::null());
    env->set("raise_exception", Value::fromFunction([](ValueList& args, const EnvPtr&) -> Value {
                 Failure f{args.empty() ? std::string("undefined") : toJsString(args[0])};
                 f.raised = true;
                 throw f;
             }));
    env->set("range", Value::fromFunction([this](ValueList& args, const EnvPtr&) { return range(args); }));
    env->set("strftime_now", Value::fromFunction([this](ValueList& args, const EnvPtr&) {
                 if (args.empty() || args[0].type != Value::Type::String)
                     failRuntime("strftime_now() takes a format string");
                 return Value::fromString(strftimeJs(m_now, args[0].string));
             }));
    env->set("True", Value::fromBool(true));
    env->set("False", Value::fromBool(false));
    env->set("None", Value::null());
    if (!context.is_object())
        failRuntime("the render context must be a JSON object");
    for (auto it = context.begin(); it != context.end(); ++it) {
        if (env->hasOwn(it.key()))
            failRuntime("variable already declared: " + it.key() + " (a name the interpreter defines)");
        env->set(it.key(), fromJson(it.value()));
    }
    return env;
}

void Interpreter::charge(uint64_t n)
{
    m_steps += n;
    if (m_steps > m_limits.maxSteps)
        failRuntime("step limit exceeded: the template ran more than " + std::to_string(m_limits.maxSteps) +
                    " steps (an endless or huge loop?)");
}

void Interpreter::checkSize(size_t bytes)
{
    if (bytes > m_limits.maxOutputBytes)
        failRuntime("output limit exceeded: more than " + std::to_string(m_limits.maxOutputBytes) + " bytes");
}

void Interpreter::checkListSize(size_t n)
{
    if (n > m_limits.maxListLength)
        failRuntime("list limit exceeded: more than " + std::to_string(m_limits.maxListLength) + " items");
}

Value Interpreter::range(ValueList& args)
{
    CallArgs call(args);
    auto number = [](const Value& v) -> double {
        if (!isIntLike(v))
            failRuntime(std::string("range() takes integers, got ") + typeName(v));
        return v.numeric();
    };
    double start = 0, stop = 0, step = 1;
    if (call.positional.empty())
        failRuntime("range() takes at least one argument");
    if (call.positional.size() == 1) {
        stop = number(call.positional[0]);
    } else {
        start = number(call.positional[0]);
        stop = number(call.positional[1]);
        if (call.positional.size() > 2)
            step = number(call.positional[2]);
    }
    // (7 % 0 is NaN here, as in JavaScript; Python's range takes integers only)
    if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
        failRuntime("range() arguments must be finite numbers");
    if (step == 0)
        failRuntime("range() step must not be zero");
    const double count = step > 0 ? std::ceil((stop - start) / step) : std::ceil((start - stop) / -step);
    if (count > double(m_limits.maxListLength))
        failRuntime("list limit exceeded: range() of " + jsNumberString(count) + " items (limit " +
                    std::to_string(m_limits.maxListLength) + ")");
    charge(uint64_t(std::max(count, 0.0)));
    ValueList items;
    if (step > 0)
        for (double i = start; i < stop; i += step)
            items.push_back(Value::fromInt(checkedInt(i)));
    else
        for (double i = start; i > stop; i += step)
            items.push_back(Value::fromInt(checkedInt(i)));
    return Value::fromList(std::move(items));
}

Value Interpreter::makeNamespace(ValueList& args)
{
    CallArgs call(args);
    if (call.positional.size() > 1)
        failRuntime("namespace expected at most 1 argument, got " + std::to_string(call.positional.size()));
    auto entries = std::make_shared<ObjectData>();
    if (call.positional.size() == 1) {
        const Value& source = call.positional[0];
        if (source.isMapping()) {
            for (const auto& e : source.object->entries)
                entries->set(e.first, e.second);
        } else if (source.isList()) {
            for (const Value& pair : *source.list) {
                if (!pair.isList() || pair.list->size() != 2 || (*pair.list)[0].type != Value::Type::String)
                    failRuntime("namespace expected a mapping or a list of [key, value] pairs");
                entries->set((*pair.list)[0].string, (*pair.list)[1]);
            }
        } else {
            failRuntime(std::string("'") + typeName(source) + "' object is not iterable");
        }
    }
    if (call.keywords)
        for (const auto& e : call.keywords->entries)
            entries->set(e.first, e.second);
    return Value::fromObject(entries, Value::Type::Namespace);
}

Value Interpreter::evaluate(const Node* node, const EnvPtr& env)
{
    if (!node)
        return Value::undefined();
    if (++m_steps > m_limits.maxSteps)
        throw Failure{"step limit exceeded: the template ran more than " + std::to_string(m_limits.maxSteps) +
                          " steps (an endless or huge loop?)",
                      false, true, node->offset};
    try {
        return evaluateNode(*node, env);
    } catch (Failure& f) {
        if (!f.positioned) {
            f.positioned = true;
            f.offset = node->offset;
        }
        throw;
    } catch (const std::length_error&) {
        throw Failure{"a string or list grew past what memory allows", false, true, node->offset};
    } catch (const std::runtime_error& e) {
        throw Failure{e.what(), false, true, node->offset};
    }
}

std::string Interpreter::evaluateBlock(const NodeList& statements, const EnvPtr& env)
{
    std::string result;
    for (const NodePtr& statement : statements) {
        Value v = evaluate(statement.get(), env);
        if (v.type == Value::Type::Null || v.type == Value::Type::Undefined)
            continue;
        if (v.type == Value::Type::String)
            result += v.string;
        else
            result += display(v, *statement);
        checkSize(result.size());
    }
    return result;
}

std::string Interpreter::display(const Value& v, const Node& at)
{
    try {
        return toDisplayString(v);
    } catch (const std::runtime_error& e) {
        throw Failure{e.what(), false, true, at.offset};
    }
}

Value Interpreter::evaluateNode(const Node& node, const EnvPtr& env)
{
    switch (node.kind) {
    case NodeKind::Program: return Value::fromString(evaluateBlock(node.body, env));
    case NodeKind::Set: return evaluateSet(node, env);
    case NodeKind::If:
        return Value::fromString(evaluateBlock(truthy(evaluate(node.a.get(), env)) ? node.body : node.alternate, env));
    case NodeKind::For: return evaluateFor(node, env);
    case NodeKind::Macro: return evaluateMacro(node, env);
    case NodeKind::CallStatement: return evaluateCallStatement(node, env);
    case NodeKind::Break: throw BreakSignal{};
    case NodeKind::Continue: throw ContinueSignal{};
    case NodeKind::IntegerLiteral: return Value::fromInt(node.integer);
    case NodeKind::FloatLiteral: return Value::fromFloat(node.number);
    case NodeKind::StringLiteral: return Value::fromString(node.text);
    case NodeKind::ArrayLiteral:
    case NodeKind::TupleLiteral: {
        ValueList items;
        items.reserve(node.args.size());
        for (const NodePtr& item : node.args)
            items.push_back(evaluate(item.get(), env));
        return Value::fromList(std::move(items),
                               node.kind == NodeKind::TupleLiteral ? Value::Type::Tuple : Value::Type::Array);
    }
    case NodeKind::ObjectLiteral: {
        auto data = std::make_shared<ObjectData>();
        for (size_t i = 0; i + 1 < node.args.size(); i += 2) {
            Value key = evaluate(node.args[i].get(), env);
            if (key.type != Value::Type::String)
                failRuntime(std::string("mapping keys must be strings: got ") + typeName(key));
            data->set(key.string, evaluate(node.args[i + 1].get(), env));
        }
        return Value::fromObject(std::move(data));
    }
    case NodeKind::Identifier: {
        const Value* v = env->lookup(node.text);
        return v ? *v : Value::undefined();
    }
    case NodeKind::CallExpression: return evaluateCall(node, env);
    case NodeKind::MemberExpression: return evaluateMember(node, env);
    case NodeKind::UnaryExpression: return evaluateUnary(node, env);
    case NodeKind::BinaryExpression: return evaluateBinary(node, env);
    case NodeKind::FilterExpression: return applyFilter(evaluate(node.a.get(), env), *node.b, env);
    case NodeKind::FilterStatement:
        return applyFilter(Value::fromString(evaluateBlock(node.body, env)), *node.a, env);
    case NodeKind::TestExpression: {
        const Value operand = evaluate(node.a.get(), env);
        const bool result = runTest(node.text, operand, nullptr);
        return Value::fromBool(node.negate ? !result : result);
    }
    case NodeKind::SelectExpression:
        if (!truthy(evaluate(node.b.get(), env)))
            return Value::undefined();
        return evaluate(node.a.get(), env);
    case NodeKind::Ternary:
        return truthy(evaluate(node.a.get(), env)) ? evaluate(node.b.get(), env) : evaluate(node.c.get(), env);
    case NodeKind::Comment: return Value::null();
    default: failRuntime("unexpected expression here");
    }
}

Value Interpreter::evaluateBinary(const Node& node, const EnvPtr& env)
{
    using T = Value::Type;
    const std::string& op = node.text;
    Value left = evaluate(node.a.get(), env);
    if (op == "and")
        return truthy(left) ? evaluate(node.b.get(), env) : left;
    if (op == "or")
        return truthy(left) ? left : evaluate(node.b.get(), env);
    Value right = evaluate(node.b.get(), env);
    if (op == "==")
        return Value::fromBool(looseEquals(left, right));
    if (op == "!=")
        return Value::fromBool(!looseEquals(left, right));
    if (left.type == T::Undefined || right.type == T::Undefined) {
        if (right.type == T::Undefined && (op == "in" || op == "not in"))
            return Value::fromBool(op == "not in");
        failRuntime("cannot apply " + op + " to an undefined value");
    }
    if (left.type == T::Null || right.type == T::Null)
        failRuntime("cannot apply " + op + " to none");
    if (op == "~") {
        std::string s = toJsString(left) + toJsString(right);
        checkSize(s.size());
        return Value::fromString(std::move(s));
    }
    if (op == "**" && isIntLike(left) && isIntLike(right)) {
        const double a = left.numeric(), b = right.numeric();
        if (a == 0 && b < 0)
            failRuntime("0.0 cannot be raised to a negative power");
        const double r = std::pow(a, b);
        if (!std::isfinite(r))
            failRuntime("the power is not a finite number");
        const bool isFloat = left.type == T::Float || right.type == T::Float || b < 0;
        return isFloat ? Value::fromFloat(r) : Value::fromInt(checkedInt(r));
    }
    if (left.isNumber() && right.isNumber()) {
        const bool isFloat = left.type == T::Float || right.type == T::Float;
        const double a = left.numeric(), b = right.numeric();
        auto number = [&](double r) {
            if (isFloat || !std::isfinite(r))
                return Value::fromFloat(r);
            return Value::fromInt(checkedInt(r));
        };
        if (op == "+")
            return isFloat ? Value::fromFloat(a + b) : checkedArithmetic(op, left.integer, right.integer);
        if (op == "-")
            return isFloat ? Value::fromFloat(a - b) : checkedArithmetic(op, left.integer, right.integer);
        if (op == "*")
            return isFloat ? Value::fromFloat(a * b) : checkedArithmetic(op, left.integer, right.integer);
        if (op == "/")
            return Value::fromFloat(a / b);
        if (op == "//")
            return number(std::floor(a / b));
        if (op == "%")
            return number(std::fmod(a, b));
        if (op == "<")
            return Value::fromBool(a < b);
        if (op == ">")
            return Value::fromBool(a > b);
        if (op == ">=")
            return Value::fromBool(a >= b);
        if (op == "<=")
            return Value::fromBool(a <= b);
    } else if (left.isList() && right.isList()) {
        if (op == "+") {
            checkListSize(left.list->size() + right.list->size());
            charge(left.list->size() + right.list->size());
            ValueList items = *left.list;
            items.insert(items.end(), right.list->begin(), right.list->end());
            return Value::fromList(std::move(items));
        }
    } else if (right.isList()) {
        const bool member = std::any_of(right.list->begin(), right.list->end(),
                                        [&](const Value& x) { return strictEquals(x, left); });
        if (op == "in")
            return Value::fromBool(member);
        if (op == "not in")
            return Value::fromBool(!member);
    }
    if ((left.type == T::String || right.type == T::String) && op == "+") {
        std::string s = toJsString(left) + toJsString(right);
        checkSize(s.size());
        return Value::fromString(std::move(s));
    }
    if (left.type == T::String && right.type == T::String) {
        if (op == "in")
            return Value::fromBool(right.string.find(left.string) != std::string::npos);
        if (op == "not in")
            return Value::fromBool(right.string.find(left.string) == std::string::npos);
    }
    if (left.type == T::String && right.isMapping()) {
        if (op == "in")
            return Value::fromBool(right.object->find(left.string) != nullptr);
        if (op == "not in")
            return Value::fromBool(right.object->find(left.string) == nullptr);
    }
    failRuntime("unknown operator \"" + op + "\" between " + typeName(left) + " and " + typeName(right));
}

Value Interpreter::evaluateUnary(const Node& node, const EnvPtr& env)
{
    Value argument = evaluate(node.a.get(), env);
    if (node.text == "not")
        return Value::fromBool(!truthy(argument));
    const double sign = node.text == "-" ? -1 : 1;
    if (argument.type == Value::Type::Float)
        return Value::fromFloat(sign * argument.number);
    if (argument.type == Value::Type::Int)
        return checkedArithmetic("*", int64_t(sign), argument.integer);
    if (argument.type == Value::Type::Bool)
        return Value::fromInt(int64_t(sign) * (argument.boolean ? 1 : 0));
    failRuntime("unknown operator \"" + node.text + "\" for " + typeName(argument));
}

ValueList Interpreter::evaluateArguments(const NodeList& args, const EnvPtr& env, std::shared_ptr<ObjectData>& keywords)
{
    ValueList positional;
    for (const NodePtr& arg : args) {
        if (arg->kind == NodeKind::SpreadExpression) {
            Value v = evaluate(arg->a.get(), env);
            if (!v.isList())
                failRuntime(std::string("cannot unpack non-iterable type: ") + typeName(v));
            positional.insert(positional.end(), v.list->begin(), v.list->end());
        } else if (arg->kind != NodeKind::KeywordArgumentExpression &&
                   arg->kind != NodeKind::KeywordSpreadExpression) {
            positional.push_back(evaluate(arg.get(), env));
        }
    }
    for (const NodePtr& arg : args) {
        auto add = [&](const std::string& key, Value value) {
            if (!keywords)
                keywords = std::make_shared<ObjectData>();
            if (keywords->find(key))
                failRuntime("got multiple values for keyword argument '" + key + "'");
            keywords->entries.emplace_back(key, std::move(value));
        };
        if (arg->kind == NodeKind::KeywordArgumentExpression) {
            add(arg->text, evaluate(arg->a.get(), env));
        } else if (arg->kind == NodeKind::KeywordSpreadExpression) {
            Value v = evaluate(arg->a.get(), env);
            if (!v.isMapping())
                failRuntime(std::string("argument after ** must be a mapping, not ") + typeName(v));
            for (const auto& e : v.object->entries)
                add(e.first, e.second);
        }
    }
    return positional;
}

Value Interpreter::evaluateCall(const Node& node, const EnvPtr& env)
{
    std::shared_ptr<ObjectData> keywords;
    ValueList args = evaluateArguments(node.args, env, keywords);
    if (keywords && !keywords->entries.empty())
        args.push_back(Value::fromObject(keywords, Value::Type::KwArgs));
    Value fn = evaluate(node.a.get(), env);
    if (fn.type != Value::Type::Function)
        failRuntime(std::string("cannot call something that is not a function: got ") + typeName(fn));
    return (*fn.function)(args, env);
}

Value Interpreter::evaluateMember(const Node& node, const EnvPtr& env)
{
    using T = Value::Type;
    Value object = evaluate(node.a.get(), env);
    Value property;
    if (node.computed) {
        if (node.b->kind == NodeKind::SliceExpression)
            return evaluateSlice(object, *node.b, env);
        property = evaluate(node.b.get(), env);
    } else if (node.b->kind == NodeKind::IntegerLiteral) {
        property = Value::fromInt(node.b->integer);
    } else {
        property = Value::fromString(node.b->text);
    }
    if (object.object && (object.isMapping() || object.type == T::Namespace)) {
        if (property.type != T::String)
            failRuntime(std::string("cannot access a mapping with a non-string key: got ") + typeName(property));
        if (const Value* v = object.object->find(property.string))
            return *v;
        if (object.isMapping())
            return mappingMethod(object, property.string);
        return Value::undefined();
    }
    if (object.isList() || object.type == T::String) {
        if (property.type == T::Int) {
            if (object.type == T::String) {
                const std::vector<std::string> chars = utf8Characters(object.string);
                int64_t i = property.integer < 0 ? int64_t(chars.size()) + property.integer : property.integer;
                if (i < 0 || i >= int64_t(chars.size()))
                    return Value::undefined();
                return Value::fromString(chars[size_t(i)]);
            }
            int64_t i = property.integer < 0 ? int64_t(object.list->size()) + property.integer : property.integer;
            if (i < 0 || i >= int64_t(object.list->size()))
                return Value::undefined();
            return (*object.list)[size_t(i)];
        }
        if (property.type == T::String) {
            if (object.type == T::String)
                return stringMethod(object, property.string, m_limits.maxOutputBytes);
            if (property.string == "length")
                return Value::fromInt(int64_t(object.list->size()));
            return Value::undefined();
        }
        failRuntime(std::string("cannot access a property with a non-string/non-number: got ") + typeName(property));
    }
    if (property.type != T::String)
        failRuntime(std::string("cannot access a property with a non-string: got ") + typeName(property));
    return Value::undefined();
}

Value Interpreter::evaluateSlice(const Value& object, const Node& slice, const EnvPtr& env)
{
    if (!object.isList() && object.type != Value::Type::String)
        failRuntime("only lists and strings can be sliced");
    const Value start = evaluate(slice.a.get(), env);
    const Value stop = evaluate(slice.b.get(), env);
    const Value step = evaluate(slice.c.get(), env);
    for (const Value* v : {&start, &stop, &step})
        if (v->type != Value::Type::Int && v->type != Value::Type::Undefined)
            failRuntime("slice bounds must be integers or left out");
    if (object.isList())
        return Value::fromList(sliceOf(*object.list, start, stop, step));
    std::string out;
    for (const std::string& c : sliceOf(utf8Characters(object.string), start, stop, step))
        out += c;
    return Value::fromString(std::move(out));
}

Value Interpreter::evaluateSet(const Node& node, const EnvPtr& env)
{
    Value rhs = node.b ? evaluate(node.b.get(), env) : Value::fromString(evaluateBlock(node.body, env));
    const Node& target = *node.a;
    if (target.kind == NodeKind::Identifier) {
        env->set(target.text, std::move(rhs));
    } else if (target.kind == NodeKind::TupleLiteral) {
        if (!rhs.isList())
            failRuntime(std::string("cannot unpack non-iterable type in set: ") + typeName(rhs));
        if (rhs.list->size() != target.args.size())
            failRuntime(std::string("too ") + (target.args.size() > rhs.list->size() ? "few" : "many") +
                        " items to unpack in set");
        for (size_t i = 0; i < target.args.size(); ++i) {
            if (target.args[i]->kind != NodeKind::Identifier)
                failRuntime("cannot unpack to a non-name in set");
            env->set(target.args[i]->text, (*rhs.list)[i]);
        }
    } else if (target.kind == NodeKind::MemberExpression) {
        Value object = evaluate(target.a.get(), env);
        if (object.type != Value::Type::Namespace)
            failRuntime("cannot assign an attribute of something that is not a namespace");
        if (target.b->kind != NodeKind::Identifier)
            failRuntime("cannot assign to a member with a non-name property");
        object.object->set(target.b->text, std::move(rhs));
    } else {
        failRuntime("invalid target of set");
    }
    return Value::null();
}

Value Interpreter::evaluateFor(const Node& node, const EnvPtr& env)
{
    auto scope = std::make_shared<Env>(env);
    const Node* test = nullptr;
    Value iterable;
    if (node.b->kind == NodeKind::SelectExpression) {
        iterable = evaluate(node.b->a.get(), scope);
        test = node.b->b.get();
    } else {
        iterable = evaluate(node.b.get(), scope);
    }
    if (iterable.isMapping()) {
        ValueList keys;
        for (const auto& e : iterable.object->entries)
            keys.push_back(Value::fromString(e.first));
        iterable = Value::fromList(std::move(keys));
    }
    if (!iterable.isList())
        failRuntime(std::string("expected a list or a mapping to loop over: got ") + typeName(iterable));

    const Node& loopVar = *node.a;
    auto bind = [&](const EnvPtr& target, const Value& current) {
        if (loopVar.kind == NodeKind::Identifier) {
            target->set(loopVar.text, current);
            return;
        }
        if (current.type != Value::Type::Array)
            failRuntime(std::string("cannot unpack non-iterable type: ") + typeName(current));
        if (current.list->size() != loopVar.args.size())
            failRuntime(std::string("too ") + (loopVar.args.size() > current.list->size() ? "few" : "many") +
                        " items to unpack");
        for (size_t j = 0; j < loopVar.args.size(); ++j) {
            if (loopVar.args[j]->kind != NodeKind::Identifier)
                failRuntime("cannot unpack to a non-name");
            target->set(loopVar.args[j]->text, (*current.list)[j]);
        }
    };

    ValueList items;
    for (const Value& current : *iterable.list) {
        charge(1);
        if (test) {
            auto loopScope = std::make_shared<Env>(scope);
            bind(loopScope, current);
            if (!truthy(evaluate(test, loopScope)))
                continue;
        }
        items.push_back(current);
    }

    std::string result;
    bool noIteration = true;
    for (size_t i = 0; i < items.size(); ++i) {
        charge(1);
        auto loop = std::make_shared<ObjectData>();
        const int64_t n = int64_t(items.size());
        loop->entries = {
            {"index", Value::fromInt(int64_t(i) + 1)},
            {"index0", Value::fromInt(int64_t(i))},
            {"revindex", Value::fromInt(n - int64_t(i))},
            {"revindex0", Value::fromInt(n - int64_t(i) - 1)},
            {"first", Value::fromBool(i == 0)},
            {"last", Value::fromBool(int64_t(i) == n - 1)},
            {"length", Value::fromInt(n)},
            {"previtem", i > 0 ? items[i - 1] : Value::undefined()},
            {"nextitem", int64_t(i) < n - 1 ? items[i + 1] : Value::undefined()},
        };
        scope->set("loop", Value::fromObject(loop));
        bind(scope, items[i]);
        try {
            result += evaluateBlock(node.body, scope);
            checkSize(result.size());
        } catch (const ContinueSignal&) {
            continue; // the iteration's output is dropped, as in @huggingface/jinja
        } catch (const BreakSignal&) {
            break;
        }
        noIteration = false;
    }
    if (noIteration)
        result += evaluateBlock(node.alternate, scope);
    return Value::fromString(std::move(result));
}

bool Interpreter::usesName(const Node* node, const char* name)
{
    if (!node)
        return false;
    if (node->kind == NodeKind::Identifier && node->text == name)
        return true;
    for (const Node* child : {node->a.get(), node->b.get(), node->c.get()})
        if (usesName(child, name))
            return true;
    for (const NodeList* list : {&node->args, &node->body, &node->alternate})
        for (const NodePtr& child : *list)
            if (usesName(child.get(), name))
                return true;
    return false;
}

bool Interpreter::bodyUses(const NodeList& body, const char* name)
{
    for (const NodePtr& n : body)
        if (usesName(n.get(), name))
            return true;
    return false;
}

void Interpreter::bindArguments(const std::string& displayName, const NodeList& parameters, bool takesKwargs,
                   bool takesVarargs, ValueList args, const EnvPtr& scope)
{
    std::shared_ptr<ObjectData> keywords = std::make_shared<ObjectData>();
    if (!args.empty() && args.back().type == Value::Type::KwArgs) {
        keywords->entries = args.back().object->entries;
        args.pop_back();
    }
    std::vector<std::pair<std::string, const Node*>> pendingDefaults;
    for (size_t i = 0; i < parameters.size(); ++i) {
        const Node& p = *parameters[i];
        const std::string& name = p.text;
        const Node* defaultValue = p.kind == NodeKind::KeywordArgumentExpression ? p.a.get() : nullptr;
        Value value;
        bool given = i < args.size();
        if (given) {
            value = args[i];
        } else {
            for (auto it = keywords->entries.begin(); it != keywords->entries.end(); ++it) {
                if (it->first == name) {
                    value = it->second;
                    keywords->entries.erase(it);
                    given = true;
                    break;
                }
            }
        }
        if (!given && defaultValue)
            pendingDefaults.emplace_back(name, defaultValue);
        scope->set(name, given ? value : Value::undefined());
    }
    if (takesKwargs)
        scope->set("kwargs", Value::fromObject(keywords));
    else if (!keywords->entries.empty())
        failRuntime("macro " + displayName + " takes no keyword argument '" + keywords->entries.front().first + "'");
    if (takesVarargs) {
        ValueList rest;
        for (size_t i = parameters.size(); i < args.size(); ++i)
            rest.push_back(args[i]);
        scope->set("varargs", Value::fromList(std::move(rest)));
    } else if (args.size() > parameters.size()) {
        failRuntime("macro " + displayName + " takes not more than " + std::to_string(parameters.size()) +
                    " argument(s)");
    }
    for (const auto& [name, defaultValue] : pendingDefaults)
        scope->set(name, evaluate(defaultValue, scope));
}

Value Interpreter::evaluateMacro(const Node& node, const EnvPtr& env)
{
    const Node* macro = &node;
    const bool takesKwargs = bodyUses(node.body, "kwargs");
    const bool takesVarargs = bodyUses(node.body, "varargs");
    env->set(node.a->text, Value::fromFunction([this, macro, takesKwargs, takesVarargs](ValueList& args,
                                                                                       const EnvPtr& caller) {
                 CallDepth depth(*this);
                 auto scope = std::make_shared<Env>(caller);
                 bindArguments("'" + macro->a->text + "'", macro->args, takesKwargs, takesVarargs, args, scope);
                 return Value::fromString(evaluateBlock(macro->body, scope));
             }));
    return Value::null();
}

Value Interpreter::evaluateCallStatement(const Node& node, const EnvPtr& env)
{
    const Node* statement = &node;
    const bool takesKwargs = bodyUses(node.body, "kwargs");
    const bool takesVarargs = bodyUses(node.body, "varargs");
    EnvPtr definingEnv = env;
    Value callerFn = Value::fromFunction([this, statement, takesKwargs, takesVarargs,
                                          definingEnv](ValueList& args, const EnvPtr&) {
        CallDepth depth(*this);
        auto scope = std::make_shared<Env>(definingEnv);
        bindArguments("None", statement->args, takesKwargs, takesVarargs, args, scope);
        return Value::fromString(evaluateBlock(statement->body, scope));
    });
    const Node& call = *node.a;
    std::shared_ptr<ObjectData> keywords;
    ValueList args = evaluateArguments(call.args, env, keywords);
    args.push_back(Value::fromObject(keywords ? keywords : std::make_shared<ObjectData>(), Value::Type::KwArgs));
    Value fn = evaluate(call.a.get(), env);
    if (fn.type != Value::Type::Function)
        failRuntime(std::string("cannot call something that is not a function: got ") + typeName(fn));
    auto callEnv = std::make_shared<Env>(env);
    callEnv->set("caller", callerFn);
    return (*fn.function)(args, callEnv);
}

// ============================================================================================================
// Template
// ============================================================================================================

struct Template::Impl
{
    std::string source;
    std::string name;
    NodePtr program;
};

namespace {

[[noreturn]] void throwAt(const std::string& source, const std::string& name, SourceOffset offset,
                          const std::string& message, bool raised)
{
    const SourcePos pos = positionOf(source, offset);
    throw JinjaError(cat(name, ":", pos.line, ":", pos.column, ": ", raised ? "the template raised: " : "", message),
                     name, pos.line, pos.column, raised);
}

} // namespace

Template::Template(const std::string& source, std::string name)
{
    auto impl = std::make_shared<Impl>();
    impl->source = source;
    impl->name = std::move(name);
    try {
        impl->program = parse(tokenize(impl->source), SourceOffset(impl->source.size()));
    } catch (const SyntaxFailure& f) {
        throwAt(impl->source, impl->name, f.offset, f.message, false);
    }
    m_impl = std::move(impl);
}

Template::~Template() = default;
Template::Template(const Template&) = default;
Template& Template::operator=(const Template&) = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

const std::string& Template::source() const { return m_impl->source; }
const std::string& Template::name() const { return m_impl->name; }

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const
{
    Interpreter interpreter(options);
    try {
        EnvPtr globals = interpreter.makeGlobals(context);
        return interpreter.run(*m_impl->program, globals);
    } catch (Failure& f) {
        throwAt(m_impl->source, m_impl->name, f.offset, f.message, f.raised);
    } catch (const BreakSignal&) {
        throwAt(m_impl->source, m_impl->name, 0, "{% break %} outside a loop", false);
    } catch (const ContinueSignal&) {
        throwAt(m_impl->source, m_impl->name, 0, "{% continue %} outside a loop", false);
    }
}

} // namespace lathe::jinja
