// The one schema of every argument Lathe accepts: LLaMA-Factory's YAML keys with their types, defaults,
// choices, ranges, group and help text (English and Chinese).
//
// Everything that reads or writes arguments is generated from this table: YAML load/save, `key=value` and
// `--key value` overrides, the equivalent-command preview, validation messages, and (later) the window's
// hyperparameter form. LLaMA-Factory keys Lathe recognises but does not implement (deepspeed, flash_attn,
// report_to: wandb, ...) are accepted and reported as ignored with the reason; an unknown key is an error
// that names the closest known key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lathe {

enum class ArgType
{
    Bool,
    Int,
    Float,
    String,
    Choice, ///< a string from `choices`
};

struct ArgSpec
{
    std::string name; ///< the YAML key, as LLaMA-Factory spells it
    ArgType type = ArgType::String;
    nlohmann::json defaultValue; ///< null when unset by default
    std::string group;           ///< model, method, lora, freeze, dataset, output, train, eval, generation, export, benchmark
    std::string help;            ///< English
    std::string helpZh;          ///< 简体中文
    std::vector<std::string> choices;
    std::optional<double> minimum, maximum;
};

/// Every argument, in the order of LLaMA-Factory's example configs (groups together).
const std::vector<ArgSpec>& argumentSchema();
/// The spec of `name`, or nullptr.
const ArgSpec* findArgument(const std::string& name);

/// LLaMA-Board's extra_args: a JSON object of YAML keys set over `args` (strings as written, numbers, booleans, null,
/// lists of names joined with commas as LLaMA-Factory's comma lists). Throws lathe::Error: not a JSON object, a value
/// of another kind, or what ArgumentSet::set says of a key (an unknown key names the closest one).
class ArgumentSet;
void applyJsonArguments(ArgumentSet& args, const std::string& jsonObject, const std::string& origin);

/// A LLaMA-Factory key Lathe accepts but does not act on, with why; nullptr for others.
const char* ignoredArgumentReason(const std::string& name);

/// Arguments of one run: values by key in the order they were set, plus what was ignored.
class ArgumentSet
{
public:
    /// Reads a YAML (or JSON) config file; throws lathe::Error naming the file, the key and the problem.
    static ArgumentSet fromYamlFile(const std::string& path);
    /// Parses YAML text (`origin` names it in errors).
    static ArgumentSet fromYaml(const std::string& text, const std::string& origin);

    /// Sets `name` from text as written on a command line or in YAML ("1e-4", "true", "null").
    /// Throws lathe::Error for an unknown key (suggesting the closest), a wrong type, a value out of range
    /// or not among the choices. Ignored keys are recorded in ignored().
    void set(const std::string& name, const std::string& text, const std::string& origin = "command line");
    /// Sets a typed value (checked as set()).
    void setValue(const std::string& name, const nlohmann::json& value,
                  const std::string& origin = "command line");

    /// The value: as set, else the schema default (null when none).
    nlohmann::json get(const std::string& name) const;
    bool isSet(const std::string& name) const;
    std::string getString(const std::string& name) const;
    double getFloat(const std::string& name) const;
    long long getInt(const std::string& name) const;
    bool getBool(const std::string& name) const;

    /// Keys set, in order.
    std::vector<std::string> keys() const;
    /// (key, reason) of every ignored key given.
    const std::vector<std::pair<std::string, std::string>>& ignored() const { return m_ignored; }

    /// Cross-field checks (e.g. num_train_epochs or max_steps; lora_alpha default); messages, empty when
    /// fine.
    std::vector<std::string> validate() const;

    /// The equivalent command line, `<program> key=value ...` in schema order, each word shell-quoted when it
    /// needs it (the window's "Preview command").
    std::string toCommandLine(const std::string& program = "lathe train") const;

    /// The set values as YAML, grouped with `### group` headers like LLaMA-Factory's examples.
    std::string toYaml() const;

private:
    nlohmann::ordered_json m_values;
    std::vector<std::pair<std::string, std::string>> m_ignored;
};

/// The known key closest to `name` (edit distance), or "" when nothing is close.
std::string closestArgument(const std::string& name);

} // namespace lathe
