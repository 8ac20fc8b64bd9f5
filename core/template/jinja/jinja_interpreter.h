// The interpreter of a parsed template (internal to core/template/jinja): its scopes, its budgets and the
// evaluation of every node. jinja_interpreter.cpp evaluates expressions and statements and runs a Template;
// jinja_filters.cpp applies the filters (`x | name(args)`), the largest single family of rules it ports.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "template/jinja/jinja.h"
#include "template/jinja/jinja_builtins.h"
#include "template/jinja/jinja_syntax.h"
#include "template/jinja/jinja_text.h"
#include "template/jinja/jinja_value.h"

namespace lathe::jinja {

struct BreakSignal
{
};
struct ContinueSignal
{
};

// ============================================================================================================
// Scopes
// ============================================================================================================

class Env
{
public:
    explicit Env(std::shared_ptr<Env> parent = nullptr) : m_parent(std::move(parent)) {}

    void set(const std::string& name, Value value)
    {
        for (auto& entry : m_vars) {
            if (entry.first == name) {
                entry.second = std::move(value);
                return;
            }
        }
        m_vars.emplace_back(name, std::move(value));
    }
    bool hasOwn(const std::string& name) const
    {
        for (const auto& entry : m_vars)
            if (entry.first == name)
                return true;
        return false;
    }
    const Value* lookup(const std::string& name) const
    {
        for (const Env* env = this; env; env = env->m_parent.get())
            for (const auto& entry : env->m_vars)
                if (entry.first == name)
                    return &entry.second;
        return nullptr;
    }

private:
    std::shared_ptr<Env> m_parent;
    std::vector<std::pair<std::string, Value>> m_vars;
};

// ============================================================================================================
// The interpreter
// ============================================================================================================

class Interpreter
{
public:
    Interpreter(const RenderOptions& options) : m_limits(options.limits)
    {
        m_now = options.now ? *options.now : std::chrono::system_clock::now();
    }

    EnvPtr makeGlobals(const nlohmann::ordered_json& context);

    std::string run(const Node& program, const EnvPtr& env) { return evaluateBlock(program.body, env); }

private:
    Limits m_limits;
    std::chrono::system_clock::time_point m_now;
    uint64_t m_steps = 0;
    int m_callDepth = 0;

    // Budgets (the sandbox's limits) and the globals' functions.
    /// Charges `n` steps of work (loop iterations, list items built) against the budget.
    void charge(uint64_t n);
    void checkSize(size_t bytes);
    void checkListSize(size_t n);
    Value range(ValueList& args);
    static Value makeNamespace(ValueList& args);

    // Expressions (jinja_interpreter.cpp).
    Value evaluate(const Node* node, const EnvPtr& env);
    std::string evaluateBlock(const NodeList& statements, const EnvPtr& env);
    std::string display(const Value& v, const Node& at);
    Value evaluateNode(const Node& node, const EnvPtr& env);
    Value evaluateBinary(const Node& node, const EnvPtr& env);
    Value evaluateUnary(const Node& node, const EnvPtr& env);
    ValueList evaluateArguments(const NodeList& args, const EnvPtr& env, std::shared_ptr<ObjectData>& keywords);
    Value evaluateCall(const Node& node, const EnvPtr& env);
    Value evaluateMember(const Node& node, const EnvPtr& env);
    Value evaluateSlice(const Value& object, const Node& slice, const EnvPtr& env);

    // Filters (jinja_filters.cpp).
    Value applyFilter(const Value& operand, const Node& filterNode, const EnvPtr& env);
    Value applySimpleFilter(const Value& operand, const std::string& name, const EnvPtr& env);
    std::string json(const Value& v, const JsonOptions& options);
    std::string joinStrings(const std::vector<std::string>& pieces, const std::string& sep);

    // Statements (jinja_interpreter.cpp).
    Value evaluateSet(const Node& node, const EnvPtr& env);
    Value evaluateFor(const Node& node, const EnvPtr& env);
    static bool usesName(const Node* node, const char* name);
    static bool bodyUses(const NodeList& body, const char* name);
    void bindArguments(const std::string& displayName, const NodeList& parameters, bool takesKwargs,
                       bool takesVarargs, ValueList args, const EnvPtr& scope);

    struct CallDepth
    {
        Interpreter& self;
        explicit CallDepth(Interpreter& i) : self(i)
        {
            if (++self.m_callDepth > self.m_limits.maxCallDepth)
                failRuntime("recursion limit exceeded: macros nested more than " +
                            std::to_string(self.m_limits.maxCallDepth) + " calls deep");
        }
        ~CallDepth() { --self.m_callDepth; }
    };

    Value evaluateMacro(const Node& node, const EnvPtr& env);
    Value evaluateCallStatement(const Node& node, const EnvPtr& env);
};

} // namespace lathe::jinja
