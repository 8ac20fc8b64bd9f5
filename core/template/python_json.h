// JSON text exactly as Python's `json.dumps(obj, ensure_ascii=False[, indent=4])` writes it.
//
// LLaMA-Factory builds its tool prompts and `<tool_call>` bodies with json.dumps, so the learned text
// depends on Python's spelling: ", " and ": " separators, keys in their original order, non-ASCII kept,
// floats in repr form (1.0, 1e-05, 1e+16). nlohmann's own dump() differs on every one of these, so the
// chat template code parses into ordered_json and writes through this file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lathe {

/// Parses JSON text keeping the key order (Python dicts keep it). Throws lathe::Error naming `what`.
nlohmann::ordered_json parsePythonJson(const std::string& text, const std::string& what);

/// `json.dumps(value, ensure_ascii=False)`, or with `indent >= 0` `json.dumps(..., indent=indent)`.
std::string dumpPythonJson(const nlohmann::ordered_json& value, int indent = -1);

} // namespace lathe
