#include "cli/arguments.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "util/error.h"

namespace lathe {

Arguments Arguments::parse(const std::vector<std::string>& args)
{
    Arguments out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
            std::string body = arg.substr(2);
            const auto eq = body.find('=');
            if (eq != std::string::npos) {
                out.m_values[body.substr(0, eq)] = body.substr(eq + 1);
            } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
                out.m_values[body] = args[++i];
            } else {
                out.m_values[body] = "true"; // a bare flag
            }
        } else if (arg.find('=') != std::string::npos && arg[0] != '=') {
            const auto eq = arg.find('=');
            out.m_values[arg.substr(0, eq)] = arg.substr(eq + 1);
        } else {
            out.m_positional.push_back(arg);
        }
    }
    return out;
}

bool Arguments::has(const std::string& key) const
{
    m_used[key] = true;
    return m_values.count(key) != 0;
}

std::string Arguments::get(const std::string& key, const std::string& fallback) const
{
    m_used[key] = true;
    auto it = m_values.find(key);
    return it == m_values.end() ? fallback : it->second;
}

std::string Arguments::require(const std::string& key) const
{
    m_used[key] = true;
    auto it = m_values.find(key);
    if (it == m_values.end() || it->second.empty())
        fail("missing required option --", key);
    return it->second;
}

std::int64_t Arguments::getInt(const std::string& key, std::int64_t fallback) const
{
    if (!has(key))
        return fallback;
    const std::string text = get(key);
    try {
        std::size_t used = 0;
        const auto value = std::stoll(text, &used);
        if (used != text.size())
            throw std::invalid_argument(text);
        return value;
    } catch (const std::exception&) {
        fail("option --", key, ": \"", text, "\" is not an integer");
    }
}

bool Arguments::getBool(const std::string& key, bool fallback) const
{
    if (!has(key))
        return fallback;
    std::string text = get(key);
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    if (text == "true" || text == "1" || text == "yes")
        return true;
    if (text == "false" || text == "0" || text == "no")
        return false;
    fail("option --", key, ": \"", text, "\" is not true or false");
}

std::vector<std::int64_t> Arguments::getIntList(const std::string& key) const
{
    std::string text = require(key);
    for (char& c : text)
        if (c == ',' || c == '[' || c == ']')
            c = ' ';
    std::istringstream in(text);
    std::vector<std::int64_t> out;
    std::string token;
    while (in >> token) {
        try {
            std::size_t used = 0;
            out.push_back(std::stoll(token, &used));
            if (used != token.size())
                throw std::invalid_argument(token);
        } catch (const std::exception&) {
            fail("option --", key, ": \"", token, "\" is not an integer token id");
        }
    }
    if (out.empty())
        fail("option --", key, " lists no ids");
    return out;
}

std::vector<std::string> Arguments::unusedKeys() const
{
    std::vector<std::string> out;
    for (const auto& kv : m_values)
        if (!m_used.count(kv.first))
            out.push_back(kv.first);
    return out;
}

} // namespace lathe
