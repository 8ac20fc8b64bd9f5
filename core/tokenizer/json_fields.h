// Checked access to tokenizer.json / tokenizer_config.json fields: every failure names the file and the
// field ("tokenizer.json: model.vocab: ...") instead of surfacing a raw nlohmann exception.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace lathe {

inline const nlohmann::json& requireField(const nlohmann::json& node, const char* key, const std::string& where)
{
    if (!node.is_object())
        fail(where, ": expected an object, got ", node.type_name());
    const auto it = node.find(key);
    if (it == node.end())
        fail(where, ": field \"", key, "\" is missing");
    return *it;
}

inline std::string requireString(const nlohmann::json& node, const char* key, const std::string& where)
{
    const nlohmann::json& value = requireField(node, key, where);
    if (!value.is_string())
        fail(where, ".", key, ": expected a string, got ", value.type_name());
    return value.get<std::string>();
}

inline const nlohmann::json& requireArray(const nlohmann::json& node, const char* key, const std::string& where)
{
    const nlohmann::json& value = requireField(node, key, where);
    if (!value.is_array())
        fail(where, ".", key, ": expected an array, got ", value.type_name());
    return value;
}

inline std::string requireType(const nlohmann::json& node, const std::string& where)
{
    return requireString(node, "type", where);
}

inline bool optionalBool(const nlohmann::json& node, const char* key, bool fallback, const std::string& where)
{
    if (!node.is_object())
        return fallback;
    const auto it = node.find(key);
    if (it == node.end() || it->is_null())
        return fallback;
    if (!it->is_boolean())
        fail(where, ".", key, ": expected true or false, got ", it->dump());
    return it->get<bool>();
}

inline std::string optionalString(const nlohmann::json& node, const char* key, const std::string& fallback,
                                  const std::string& where)
{
    if (!node.is_object())
        return fallback;
    const auto it = node.find(key);
    if (it == node.end() || it->is_null())
        return fallback;
    if (!it->is_string())
        fail(where, ".", key, ": expected a string, got ", it->dump());
    return it->get<std::string>();
}

inline long long optionalInt(const nlohmann::json& node, const char* key, long long fallback,
                             const std::string& where)
{
    if (!node.is_object())
        return fallback;
    const auto it = node.find(key);
    if (it == node.end() || it->is_null())
        return fallback;
    if (!it->is_number_integer())
        fail(where, ".", key, ": expected an integer, got ", it->dump());
    return it->get<long long>();
}

} // namespace lathe
