// A sandboxed Jinja interpreter for the language Hugging Face chat templates are written in.
//
// It reads and renders templates as @huggingface/jinja 0.5 does (the implementation transformers.js and
// node-llama-cpp render chat templates with; the test suite compares byte for byte with it): the same grammar and
// whitespace rules (lstrip_blocks, trim_blocks), statements (set, if/elif/else, for/else with loop.*, break,
// continue, macro with defaults/varargs/kwargs, call/caller, filter blocks, block set), expressions (slices,
// ternaries, `x if c`, `in`, `~`, `**`, literals of lists, tuples and mappings), its filters and tests, the string
// and mapping methods, `namespace`, `range`, `raise_exception` and `strftime_now`, and the way values print
// (booleans as true/false, lists and mappings as JSON).
//
// Sandboxed: a template reaches nothing but the values it is given (no files, environment or clock beyond
// strftime_now); every render is bounded in steps, output bytes, list sizes and call depth (Limits), so a
// hostile template ends with an error in bounded time. Errors name the template, line and column.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace lathe::jinja {

/// A template that does not parse or fails while rendering (raise_exception included).
class JinjaError : public lathe::Error
{
public:
    JinjaError(const std::string& message, std::string templateName, int line, int column, bool raised)
        : lathe::Error(message), m_name(std::move(templateName)), m_line(line), m_column(column), m_raised(raised)
    {
    }
    const std::string& templateName() const { return m_name; }
    int line() const { return m_line; }
    int column() const { return m_column; }
    /// Whether the template itself raised it (raise_exception), as opposed to a syntax or runtime error.
    bool raisedByTemplate() const { return m_raised; }

private:
    std::string m_name;
    int m_line = 0;
    int m_column = 0;
    bool m_raised = false;
};

/// What one render may use. The defaults are far above any real chat template's needs.
struct Limits
{
    uint64_t maxSteps = 5'000'000;      ///< evaluated nodes, loop iterations and list items built
    size_t maxOutputBytes = 64u << 20;  ///< rendered text, and any one string built on the way
    size_t maxListLength = 1'000'000;   ///< range() and list concatenation results
    int maxCallDepth = 200;             ///< nested macro calls
};

struct RenderOptions
{
    Limits limits;
    /// The time strftime_now() formats (local time); unset means now.
    std::optional<std::chrono::system_clock::time_point> now;
};

class Template
{
public:
    /// Parses `source`; `name` is what errors call it (a file name or "Qwen3 chat_template").
    /// Throws JinjaError naming the line and column of a syntax error.
    explicit Template(const std::string& source, std::string name = "template");
    ~Template();
    Template(const Template&);
    Template& operator=(const Template&);
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;

    /// Renders with the variables of `context` (an object; key order is kept, as JavaScript objects keep it).
    /// The names the interpreter defines itself (true, false, none, True, False, None, namespace, range,
    /// raise_exception, strftime_now) cannot be given. Throws JinjaError.
    std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

    const std::string& source() const;
    const std::string& name() const;

private:
    struct Impl;
    std::shared_ptr<const Impl> m_impl;
};

} // namespace lathe::jinja
