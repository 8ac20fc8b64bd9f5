// Command-line arguments in llamafactory-cli's forms: `--key value`, `--key=value`, `key=value`, and a
// leading YAML/JSON config file whose keys the others override.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lathe {

class Arguments
{
public:
    /// Parses argv after the command name. Throws lathe::Error on malformed input.
    static Arguments parse(const std::vector<std::string>& args);

    bool has(const std::string& key) const;
    std::string get(const std::string& key, const std::string& fallback = "") const;
    /// Throws lathe::Error "missing --key" when absent.
    std::string require(const std::string& key) const;
    std::int64_t getInt(const std::string& key, std::int64_t fallback) const;
    bool getBool(const std::string& key, bool fallback = false) const;
    /// Comma/space separated integers ("1,2,3" or "[1, 2, 3]").
    std::vector<std::int64_t> getIntList(const std::string& key) const;

    const std::vector<std::string>& positional() const { return m_positional; }
    /// Keys given but never read by the command (reported as unknown options).
    std::vector<std::string> unusedKeys() const;

    void set(const std::string& key, const std::string& value) { m_values[key] = value; }

private:
    std::map<std::string, std::string> m_values;
    mutable std::map<std::string, bool> m_used;
    std::vector<std::string> m_positional;
};

} // namespace lathe
