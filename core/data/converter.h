// Dataset records to LLaMA-Factory's aligned example form (data/converter.py).
//
// An Example is what the processors read: `prompt` (the turns before the learned one: odd length for
// supervised data, user/observation at even positions), `response` (one assistant/function turn for SFT;
// chosen and rejected for ranking data; the KTO pair; empty for unsupervised text), the system prompt and
// the tools JSON. Records LLaMA-Factory skips ("Invalid role tag", "Invalid message count") are reported
// as DataIssues naming the file, record and field instead of a bare warning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset_attr.h"
#include "template/conversation.h"

namespace lathe {

struct Example
{
    std::vector<Message> prompt;
    std::vector<Message> response;
    std::string system;
    std::string tools;
    std::optional<bool> ktoTag;
    std::int64_t record = -1; ///< index of the record in its dataset
};

/// A problem with one record (or the whole file when record < 0).
struct DataIssue
{
    std::string dataset;
    std::string file;
    std::int64_t record = -1;
    std::string field;   ///< the record's field (column or message index), may be empty
    std::string message; ///< what is wrong
    bool dropped = true; ///< the record is not used (false: a warning only)

    std::string text() const;
};

/// Converts one record. Returns nullopt (and appends the issue) when the record cannot be used.
std::optional<Example> convertRecord(const DatasetAttr& attr, const nlohmann::json& record,
                                     std::int64_t index, const std::string& file,
                                     std::vector<DataIssue>& issues);

/// Checks an Example against what the stage's processor accepts (supervised: odd prompt, one response;
/// pairwise: two responses; ...). Appends an issue and returns false when LLaMA-Factory would drop it.
bool checkForStage(const std::string& stage, const Example& example, const DatasetAttr& attr,
                   const std::string& file, std::vector<DataIssue>& issues);

} // namespace lathe
