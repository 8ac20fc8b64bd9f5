#include "data/converter.h"

#include "util/error.h"
#include "util/json_text.h"

namespace lathe {

using json = nlohmann::json;

std::string DataIssue::text() const
{
    std::string out = file.empty() ? dataset : file;
    if (record >= 0)
        out += cat(": record ", record);
    if (!field.empty())
        out += ": field \"" + field + "\"";
    return out + ": " + message + (dropped ? " (record dropped)" : "");
}

namespace {

struct Context
{
    const DatasetAttr& attr;
    std::int64_t index;
    const std::string& file;
    std::vector<DataIssue>& issues;

    std::nullopt_t drop(const std::string& field, const std::string& message) const
    {
        issues.push_back({attr.name, file, index, field, message, true});
        return std::nullopt;
    }
    void warn(const std::string& field, const std::string& message) const
    {
        issues.push_back({attr.name, file, index, field, message, false});
    }
};

const char* typeName(const json& v)
{
    return v.type_name();
}

// A column that should hold text: absent or null reads as "", as HF datasets fills missing keys with None.
bool textColumn(const Context& ctx, const json& record, const std::string& column, std::string& out)
{
    out.clear();
    if (column.empty() || !record.contains(column) || record[column].is_null())
        return true;
    const auto& v = record[column];
    if (!v.is_string()) {
        ctx.drop(column, cat("must be a string, not ", typeName(v)));
        return false;
    }
    out = v.get<std::string>();
    return true;
}

// The tools column: a JSON string of a list of function schemas (a list or object is accepted as well).
bool toolsColumn(const Context& ctx, const json& record, std::string& out)
{
    out.clear();
    const auto& column = ctx.attr.tools;
    if (column.empty() || !record.contains(column) || record[column].is_null())
        return true;
    const auto& v = record[column];
    if (v.is_array() || v.is_object()) {
        out = v.dump();
        return true;
    }
    if (!v.is_string()) {
        ctx.drop(column, cat("must be a JSON string of tool schemas, not ", typeName(v)));
        return false;
    }
    out = v.get<std::string>();
    if (out.empty())
        return true;
    try {
        const auto parsed = parseJson<json>(out, column);
        if (!parsed.is_array() && !parsed.is_object()) {
            ctx.drop(column, "must be a JSON list of tool schemas");
            return false;
        }
    } catch (const json::parse_error& e) {
        ctx.drop(column, cat("is not valid JSON: ", e.what()));
        return false;
    } catch (const Error&) {
        ctx.drop(column, cat("nests JSON deeper than ", kMaxJsonNesting, " levels"));
        return false;
    }
    return true;
}

Message assistant(std::string content)
{
    return {Role::Assistant, std::move(content)};
}

std::optional<Example> convertAlpaca(const Context& ctx, const json& record)
{
    const auto& attr = ctx.attr;
    Example ex;
    ex.record = ctx.index;
    if (!attr.history.empty() && record.contains(attr.history) && !record[attr.history].is_null()) {
        const auto& history = record[attr.history];
        if (!history.is_array())
            return ctx.drop(attr.history,
                            cat("must be a list of [instruction, response] pairs, not ", typeName(history)));
        for (std::size_t i = 0; i < history.size(); ++i) {
            const auto& pair = history[i];
            if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
                return ctx.drop(cat(attr.history, "[", i, "]"),
                                "must be a pair of strings [instruction, response]");
            ex.prompt.push_back({Role::User, pair[0].get<std::string>()});
            ex.prompt.push_back(assistant(pair[1].get<std::string>()));
        }
    }
    std::string prompt, query;
    if (!textColumn(ctx, record, attr.prompt, prompt) || !textColumn(ctx, record, attr.query, query))
        return std::nullopt;
    std::string user;
    for (const auto* part : {&prompt, &query})
        if (!part->empty())
            user += (user.empty() ? "" : "\n") + *part;
    ex.prompt.push_back({Role::User, user});

    if (!attr.ktoTag.empty() && record.contains(attr.ktoTag) && record[attr.ktoTag].is_boolean()) {
        std::string response;
        if (!textColumn(ctx, record, attr.response, response))
            return std::nullopt;
        ex.ktoTag = record[attr.ktoTag].get<bool>();
        ex.response = *ex.ktoTag ? std::vector<Message>{assistant(response), assistant("")}
                                 : std::vector<Message>{assistant(""), assistant(response)};
    } else if (attr.ranking) {
        const bool ok = !attr.chosen.empty() && record.contains(attr.chosen) &&
                        record[attr.chosen].is_string() && !attr.rejected.empty() &&
                        record.contains(attr.rejected) && record[attr.rejected].is_string();
        if (!ok)
            return ctx.drop(attr.chosen.empty() ? "chosen" : attr.chosen,
                            "ranking data needs string \"chosen\" and \"rejected\" responses");
        ex.response = {assistant(record[attr.chosen].get<std::string>()),
                       assistant(record[attr.rejected].get<std::string>())};
    } else if (!attr.response.empty() && record.contains(attr.response) &&
               record[attr.response].is_string()) {
        ex.response = {assistant(record[attr.response].get<std::string>())};
        if (ex.response[0].content.empty())
            ctx.warn(attr.response, "is empty: the model learns to answer with nothing but EOS");
    } else if (!attr.response.empty() && record.contains(attr.response) && !record[attr.response].is_null()) {
        return ctx.drop(attr.response, cat("must be a string, not ", typeName(record[attr.response])));
    }
    if (!textColumn(ctx, record, attr.system, ex.system) || !toolsColumn(ctx, record, ex.tools))
        return std::nullopt;
    return ex;
}

// ShareGPT and OpenAI: messages with role/content keys (attr.roleTag/contentTag), tags mapped to roles.
std::optional<Example> convertMessages(const Context& ctx, const json& record, bool openai)
{
    const auto& attr = ctx.attr;
    Example ex;
    ex.record = ctx.index;
    if (!record.contains(attr.messages) || record[attr.messages].is_null())
        return ctx.drop(attr.messages, "is missing (set columns.messages to the field holding the turns)");
    const auto& messages = record[attr.messages];
    if (!messages.is_array())
        return ctx.drop(attr.messages, cat("must be a list of messages, not ", typeName(messages)));

    auto roleOf = [&](const json& m, std::size_t i, std::string& role, std::string& content) -> bool {
        const std::string where = cat(attr.messages, "[", i, "]");
        if (!m.is_object()) {
            ctx.drop(where, "must be an object");
            return false;
        }
        if (!m.contains(attr.roleTag) || !m[attr.roleTag].is_string()) {
            ctx.drop(where, cat("has no \"", attr.roleTag, "\" role tag (tags.role_tag)"));
            return false;
        }
        role = m[attr.roleTag].get<std::string>();
        if (m.contains(attr.contentTag) && m[attr.contentTag].is_string())
            content = m[attr.contentTag].get<std::string>();
        else if (m.contains(attr.contentTag) && !m[attr.contentTag].is_null()) {
            ctx.drop(where + "." + attr.contentTag,
                     cat("must be a string, not ", typeName(m[attr.contentTag])));
            return false;
        } else if (!(openai && m.contains("tool_calls"))) {
            ctx.drop(where, cat("has no \"", attr.contentTag, "\" content (tags.content_tag)"));
            return false;
        } else
            content.clear();
        return true;
    };

    std::size_t start = 0;
    if (!attr.systemTag.empty() && !messages.empty() && messages[0].is_object() &&
        messages[0].contains(attr.roleTag) && messages[0][attr.roleTag] == attr.systemTag) {
        std::string role;
        if (!roleOf(messages[0], 0, role, ex.system))
            return std::nullopt;
        start = 1;
    } else if (!textColumn(ctx, record, attr.system, ex.system)) {
        return std::nullopt;
    }

    auto mapRole = [&](const std::string& tag, Role& role) {
        if (tag == attr.userTag)
            role = Role::User;
        else if (tag == attr.assistantTag)
            role = Role::Assistant;
        else if (tag == attr.observationTag)
            role = Role::Observation;
        else if (tag == attr.functionTag)
            role = Role::Function;
        else
            return false;
        return true;
    };

    std::vector<Message> aligned;
    std::vector<std::size_t> sourceIndex;
    std::vector<std::string> toolResponses;
    for (std::size_t i = start; i < messages.size(); ++i) {
        std::string tag, content;
        if (!roleOf(messages[i], i, tag, content))
            return std::nullopt;
        if (openai) {
            const auto& m = messages[i];
            if ((tag == attr.assistantTag || tag == attr.functionTag) && m.contains("tool_calls") &&
                m["tool_calls"].is_array() && !m["tool_calls"].empty()) {
                json calls = json::array();
                for (const auto& call : m["tool_calls"])
                    calls.push_back(call.value("function", json::object()));
                content = calls.dump(-1, ' ', false);
                tag = attr.functionTag;
            }
            if (tag == attr.observationTag) {
                toolResponses.push_back(content);
                continue;
            }
            if (!toolResponses.empty()) {
                std::string joined;
                for (std::size_t k = 0; k < toolResponses.size(); ++k)
                    joined += (k ? "\n</tool_response>\n<tool_response>\n" : "") + toolResponses[k];
                aligned.push_back({Role::Observation, joined});
                sourceIndex.push_back(i - 1);
                toolResponses.clear();
            }
        }
        Role role;
        if (!mapRole(tag, role))
            return ctx.drop(cat(attr.messages, "[", i, "].", attr.roleTag),
                            cat("unknown role \"", tag, "\" (expected ", attr.userTag, ", ",
                                attr.assistantTag, ", ", attr.observationTag, " or ", attr.functionTag,
                                "; see tags)"));
        aligned.push_back({role, content});
        sourceIndex.push_back(i);
    }
    if (openai && !toolResponses.empty()) {
        std::string joined;
        for (std::size_t k = 0; k < toolResponses.size(); ++k)
            joined += (k ? "\n</tool_response>\n<tool_response>\n" : "") + toolResponses[k];
        aligned.push_back({Role::Observation, joined});
        sourceIndex.push_back(messages.size() - 1);
    }

    // LLaMA-Factory: user/observation at even positions, assistant/function at odd ones ("Invalid role tag").
    for (std::size_t t = 0; t < aligned.size(); ++t) {
        const bool userSide = aligned[t].role == Role::User || aligned[t].role == Role::Observation;
        if (userSide != (t % 2 == 0))
            return ctx.drop(cat(attr.messages, "[", sourceIndex[t], "]"),
                            cat("turns must alternate: turn ", t + 1, " is \"", roleName(aligned[t].role),
                                "\" but ", t % 2 == 0 ? "a user or observation" : "an assistant or function",
                                " turn belongs there"));
        if (aligned[t].role == Role::Function) {
            if (!json::accept(aligned[t].content))
                return ctx.drop(cat(attr.messages, "[", sourceIndex[t], "]"),
                                "function call is not valid JSON");
        }
    }
    if (!attr.ranking && aligned.size() % 2 != 0)
        return ctx.drop(attr.messages, cat("has ", aligned.size(),
                                           " turns; it must end with an assistant turn "
                                           "(an even number of turns)"));
    if (attr.ranking && aligned.size() % 2 == 0)
        return ctx.drop(attr.messages, cat("has ", aligned.size(),
                                           " turns; ranking data must end with a user turn "
                                           "(an odd number), the answers are chosen/rejected"));
    if (aligned.empty())
        return ctx.drop(attr.messages, "has no turns");

    if (!attr.ktoTag.empty() && record.contains(attr.ktoTag) && record[attr.ktoTag].is_boolean()) {
        ex.ktoTag = record[attr.ktoTag].get<bool>();
        ex.prompt.assign(aligned.begin(), aligned.end() - 1);
        const Message last = aligned.back();
        ex.response = *ex.ktoTag ? std::vector<Message>{last, assistant("")}
                                 : std::vector<Message>{assistant(""), last};
    } else if (attr.ranking) {
        for (const std::string* column : {&attr.chosen, &attr.rejected}) {
            if (column->empty() || !record.contains(*column) || !record[*column].is_object())
                return ctx.drop(column->empty() ? "chosen" : *column,
                                "ranking data needs a chosen and a rejected message");
            const auto& m = record[*column];
            std::string tag, content;
            if (!m.contains(attr.roleTag) || !m[attr.roleTag].is_string() || !m.contains(attr.contentTag) ||
                !m[attr.contentTag].is_string())
                return ctx.drop(*column,
                                cat("needs string \"", attr.roleTag, "\" and \"", attr.contentTag, "\""));
            Role role;
            if (!mapRole(m[attr.roleTag].get<std::string>(), role) ||
                (role != Role::Assistant && role != Role::Function))
                return ctx.drop(*column + "." + attr.roleTag, "must be an assistant or function turn");
            ex.response.push_back({role, m[attr.contentTag].get<std::string>()});
        }
        ex.prompt = aligned;
    } else {
        ex.prompt.assign(aligned.begin(), aligned.end() - 1);
        ex.response = {aligned.back()};
        if (ex.response[0].content.empty())
            ctx.warn(cat(attr.messages, "[", sourceIndex.back(), "]"), "the answer is empty");
    }
    if (!toolsColumn(ctx, record, ex.tools))
        return std::nullopt;
    return ex;
}

} // namespace

std::optional<Example> convertRecord(const DatasetAttr& attr, const json& record, std::int64_t index,
                                     const std::string& file, std::vector<DataIssue>& issues)
{
    const Context ctx{attr, index, file, issues};
    if (!record.is_object())
        return ctx.drop("", cat("must be a JSON object, not ", typeName(record)));
    switch (attr.formatting) {
    case DataFormat::Alpaca:
        return convertAlpaca(ctx, record);
    case DataFormat::ShareGpt:
        return convertMessages(ctx, record, false);
    case DataFormat::OpenAi:
        return convertMessages(ctx, record, true);
    }
    return std::nullopt;
}

bool checkForStage(const std::string& stage, const Example& ex, const DatasetAttr& attr,
                   const std::string& file, std::vector<DataIssue>& issues)
{
    auto drop = [&](const std::string& message) {
        issues.push_back({attr.name, file, ex.record, "", message, true});
        return false;
    };
    const bool oddPrompt = ex.prompt.size() % 2 == 1;
    if (stage == "pt")
        return true; // the first turn's text is used
    if (stage == "rm" || stage == "dpo" || stage == "orpo" || stage == "simpo") {
        if (!oddPrompt || ex.response.size() < 2)
            return drop("a pairwise stage needs a prompt and a chosen/rejected pair (register the dataset "
                        "with ranking)");
        return true;
    }
    if (stage == "kto") {
        if (!oddPrompt || ex.response.size() < 2 || !ex.ktoTag)
            return drop("kto needs a kto_tag (true/false) on each record");
        return true;
    }
    // sft (and ppo/predict: unsupervised allows an empty response)
    if (!oddPrompt || ex.response.size() != 1)
        return drop(ex.response.size() > 1
                        ? "has several responses (ranking data) but the stage is supervised"
                        : "has no response to learn (text-only records are for stage pt)");
    return true;
}

} // namespace lathe
