// Tool prompts, call formatting and call extraction per tool format (see tool_format.h).
#include "tool_format.h"

#include <ctime>

#include "template/python_json.h"
#include "util/error.h"

namespace lathe {

namespace {

using Json = nlohmann::ordered_json;

const char* const kQwenToolPrompt =
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>{tool_text}"
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, "
    "\"arguments\": <args-json-object>}\n</tool_call>";

const char* const kDefaultToolPrompt =
    "You have access to the following tools:\n{tool_text}"
    "Use the following format if using a tool:\n"
    "```\n"
    "Action: tool name (one of [{tool_names}])\n"
    "Action Input: the input to the tool, in a JSON format representing the kwargs "
    "(e.g. ```{\"input\": \"hello world\", \"num_beams\": 5}```)\n"
    "```\n";

const char* const kLlama3ToolPrompt =
    "Cutting Knowledge Date: December 2023\nToday Date: {date}\n\n"
    "You have access to the following functions. To call a function, please respond with JSON for a function "
    "call. Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and "
    "its "
    "value}. Do not use variables.\n\n{tool_text}";

const char* const kGlm4ToolPrompt =
    "你是一个名为 ChatGLM 的人工智能助手。你是基于智谱 AI 公司训练的语言模型 GLM-4 模型开发的，"
    "你的任务是针对用户的问题和要求提供适当的答复和支持。\n\n# 可用工具{tool_text}";

/// Replaces the first "{key}" of `text` (the prompts above have each key once).
std::string fillIn(std::string text, const std::string& key, const std::string& value)
{
    const std::string placeholder = "{" + key + "}";
    const std::size_t at = text.find(placeholder);
    if (at != std::string::npos)
        text.replace(at, placeholder.size(), value);
    return text;
}

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string strip(const std::string& text, const std::string& chars = " \t\n\r\f\v")
{
    const std::size_t begin = text.find_first_not_of(chars);
    if (begin == std::string::npos)
        return {};
    const std::size_t end = text.find_last_not_of(chars);
    return text.substr(begin, end - begin + 1);
}

/// Python's str() of a scalar schema field as str.format would print it (strings unquoted).
std::string plain(const Json& value)
{
    return value.is_string() ? value.get<std::string>() : dumpPythonJson(value);
}

/// `tool if tool.get("type") == "function" else {"type": "function", "function": tool}`
Json wrapFunction(const Json& tool)
{
    if (tool.is_object() && tool.contains("type") && tool["type"] == "function")
        return tool;
    Json wrapped = Json::object();
    wrapped["type"] = "function";
    wrapped["function"] = tool;
    return wrapped;
}

/// `tool.get("function", "") if tool.get("type") == "function" else tool`
Json unwrapFunction(const Json& tool)
{
    if (tool.is_object() && tool.contains("type") && tool["type"] == "function")
        return tool.contains("function") ? tool["function"] : Json("");
    return tool;
}

const Json& field(const Json& object, const char* key, const char* what)
{
    if (!object.is_object() || !object.contains(key))
        fail("Tool description: ", what, " has no \"", key, "\" (", dumpPythonJson(object), ")");
    return object[key];
}

std::string defaultToolPrompt(const Json& tools)
{
    std::string toolText;
    std::string toolNames;
    for (const Json& entry : tools) {
        const Json tool = unwrapFunction(entry);
        const Json& parameters = field(tool, "parameters", "a tool");
        std::string paramText;
        const Json& properties = field(parameters, "properties", "parameters");
        for (auto it = properties.begin(); it != properties.end(); ++it) {
            const std::string& name = it.key();
            const Json& param = it.value();
            std::string required, choices, items;
            if (parameters.contains("required"))
                for (const Json& r : parameters["required"])
                    if (r.is_string() && r.get<std::string>() == name)
                        required = ", required";
            if (param.contains("enum") && !param["enum"].empty() && !param["enum"].is_null()) {
                std::string joined;
                for (const Json& option : param["enum"])
                    joined += (joined.empty() ? "" : ", ") + plain(option);
                choices = ", should be one of [" + joined + "]";
            }
            if (param.contains("items") && !param["items"].empty() && !param["items"].is_null())
                items = ", where each item should be " +
                        (param["items"].contains("type") ? plain(param["items"]["type"]) : std::string());
            paramText += "  - " + name + " (" +
                         (param.contains("type") ? plain(param["type"]) : std::string()) + required + "): " +
                         (param.contains("description") ? plain(param["description"]) : std::string()) +
                         choices + items + "\n";
        }
        const std::string name = plain(field(tool, "name", "a tool"));
        toolText += "> Tool Name: " + name + "\nTool Description: " +
                    (tool.contains("description") ? plain(tool["description"]) : std::string()) +
                    "\nTool Args:\n" + paramText + "\n";
        toolNames += (toolNames.empty() ? "" : ", ") + name;
    }
    return fillIn(fillIn(kDefaultToolPrompt, "tool_names", toolNames), "tool_text", toolText);
}

Json argumentsJson(const ToolCall& call)
{
    return parsePythonJson(call.arguments, "the arguments of tool call " + call.name);
}

std::optional<std::vector<ToolCall>> extractDefault(const std::string& text)
{
    // Action:\s*([a-zA-Z0-9_]+)\s*Action Input:\s*(.+?)(?=\s*Action:|\s*$), DOTALL, all matches.
    const std::string action = "Action:";
    const std::string input = "Action Input:";
    const auto isNameChar = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    };
    const auto skipSpaces = [&](std::size_t i) {
        while (i < text.size() && isSpace(text[i]))
            ++i;
        return i;
    };
    std::vector<ToolCall> calls;
    std::size_t pos = 0;
    while ((pos = text.find(action, pos)) != std::string::npos) {
        const std::size_t nameBegin = skipSpaces(pos + action.size());
        std::size_t nameEnd = nameBegin;
        while (nameEnd < text.size() && isNameChar(text[nameEnd]))
            ++nameEnd;
        // The name is greedy but may give characters back so that "Action Input:" follows.
        std::size_t valueBegin = std::string::npos;
        for (std::size_t end = nameEnd; end > nameBegin; --end) {
            const std::size_t at = skipSpaces(end);
            if (text.compare(at, input.size(), input) == 0) {
                nameEnd = end;
                valueBegin = skipSpaces(at + input.size());
                break;
            }
        }
        if (valueBegin == std::string::npos || valueBegin >= text.size()) {
            ++pos;
            continue;
        }
        // Lazy value: the shortest non-empty run followed by whitespace then "Action:" or the end.
        std::size_t valueEnd = valueBegin + 1;
        for (; valueEnd <= text.size(); ++valueEnd) {
            const std::size_t at = skipSpaces(valueEnd);
            if (at == text.size() || text.compare(at, action.size(), action) == 0)
                break;
        }
        const std::string name = strip(text.substr(nameBegin, nameEnd - nameBegin));
        const std::string value =
            strip(strip(strip(text.substr(valueBegin, valueEnd - valueBegin)), "\""), "`");
        try {
            calls.push_back({name, dumpPythonJson(Json::parse(value))});
        } catch (const nlohmann::json::exception&) {
            return std::nullopt;
        }
        pos = valueEnd;
    }
    if (calls.empty())
        return std::nullopt;
    return calls;
}

std::optional<std::vector<ToolCall>> extractQwen(const std::string& text)
{
    // <tool_call>(.+?)</tool_call>(?=\s*<tool_call>|\s*$), DOTALL, all matches.
    const std::string open = "<tool_call>";
    const std::string close = "</tool_call>";
    std::vector<std::string> bodies;
    std::size_t pos = 0;
    while ((pos = text.find(open, pos)) != std::string::npos) {
        const std::size_t bodyBegin = pos + open.size();
        std::size_t closeAt = text.find(close, bodyBegin + 1);
        bool matched = false;
        while (closeAt != std::string::npos) {
            std::size_t after = closeAt + close.size();
            while (after < text.size() && isSpace(text[after]))
                ++after;
            if (after == text.size() || text.compare(after, open.size(), open) == 0) {
                matched = true;
                break;
            }
            closeAt = text.find(close, closeAt + 1);
        }
        if (!matched) {
            ++pos;
            continue;
        }
        bodies.push_back(text.substr(bodyBegin, closeAt - bodyBegin));
        pos = closeAt + close.size();
    }
    if (bodies.empty())
        return std::nullopt;
    std::vector<ToolCall> calls;
    for (const std::string& body : bodies) {
        Json call;
        try {
            call = Json::parse(strip(body));
        } catch (const nlohmann::json::exception&) {
            return std::nullopt;
        }
        if (!call.is_object() || !call.contains("name") || !call.contains("arguments"))
            return std::nullopt;
        calls.push_back({plain(call["name"]), dumpPythonJson(call["arguments"])});
    }
    return calls;
}

/// llama3 and mistral: the whole text is one JSON call or a list of them, arguments under `key`.
std::optional<std::vector<ToolCall>> extractJson(const std::string& text, const char* key)
{
    Json parsed;
    try {
        parsed = Json::parse(strip(text));
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
    if (!parsed.is_array())
        parsed = Json::array({parsed});
    std::vector<ToolCall> calls;
    for (const Json& call : parsed) {
        if (!call.is_object() || !call.contains("name") || !call.contains(key))
            return std::nullopt;
        calls.push_back({plain(call["name"]), dumpPythonJson(call[key])});
    }
    return calls;
}

std::optional<std::vector<ToolCall>> extractGlm4(const std::string& text)
{
    const std::size_t newline = text.find('\n');
    if (newline == std::string::npos)
        return std::nullopt;
    try {
        const Json arguments = Json::parse(strip(text.substr(newline + 1)));
        return std::vector<ToolCall>{{text.substr(0, newline), dumpPythonJson(arguments)}};
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

} // namespace

std::string formatToolPrompt(ToolFormat format, const std::string& toolsJson, const std::string& date)
{
    const Json tools = parsePythonJson(toolsJson, "tool description");
    if (!tools.is_array())
        fail("Invalid JSON format in tool description: expected a list of tools, got ",
             toolsJson.substr(0, 200));
    if (tools.empty())
        return {};
    switch (format) {
    case ToolFormat::Default:
        return defaultToolPrompt(tools);
    case ToolFormat::Qwen: {
        std::string toolText;
        for (const Json& tool : tools)
            toolText += "\n" + dumpPythonJson(wrapFunction(tool));
        return fillIn(kQwenToolPrompt, "tool_text", toolText);
    }
    case ToolFormat::Llama3: {
        std::string toolText;
        for (const Json& tool : tools)
            toolText += dumpPythonJson(wrapFunction(tool), 4) + "\n\n";
        // Later placeholder first, so that text filled in is never searched again.
        return fillIn(fillIn(kLlama3ToolPrompt, "tool_text", toolText), "date",
                      date.empty() ? llama3ToolDate() : date);
    }
    case ToolFormat::Glm4: {
        std::string toolText;
        for (const Json& entry : tools) {
            const Json tool = unwrapFunction(entry);
            toolText += "\n\n## " + plain(field(tool, "name", "a tool")) + "\n\n" + dumpPythonJson(tool, 4) +
                        "\n在调用上述函数时，请使用 Json 格式表示调用的参数。";
        }
        return fillIn(kGlm4ToolPrompt, "tool_text", toolText);
    }
    case ToolFormat::Mistral: {
        Json wrapped = Json::array();
        for (const Json& tool : tools)
            wrapped.push_back(wrapFunction(tool));
        return "[AVAILABLE_TOOLS] " + dumpPythonJson(wrapped) + "[/AVAILABLE_TOOLS]";
    }
    }
    fail("unknown tool format");
}

std::string formatToolCalls(ToolFormat format, const std::vector<ToolCall>& calls)
{
    std::string out;
    switch (format) {
    case ToolFormat::Default:
        for (const ToolCall& call : calls)
            out += (out.empty() ? "" : "\n") + ("Action: " + call.name + "\nAction Input: " + call.arguments);
        return out;
    case ToolFormat::Qwen:
        for (const ToolCall& call : calls) {
            Json object = Json::object();
            object["name"] = call.name;
            object["arguments"] = argumentsJson(call);
            out += (out.empty() ? "" : "\n") + ("<tool_call>\n" + dumpPythonJson(object) + "\n</tool_call>");
        }
        return out;
    case ToolFormat::Llama3: {
        Json objects = Json::array();
        for (const ToolCall& call : calls) {
            Json object = Json::object();
            object["name"] = call.name;
            object["parameters"] = argumentsJson(call);
            objects.push_back(object);
        }
        return dumpPythonJson(objects.size() == 1 ? objects[0] : objects);
    }
    case ToolFormat::Glm4:
        if (calls.size() > 1)
            fail("GLM-4 does not support parallel functions.");
        if (calls.empty())
            fail("GLM-4 function message without a call.");
        return calls[0].name + "\n" + calls[0].arguments;
    case ToolFormat::Mistral: {
        Json objects = Json::array();
        for (const ToolCall& call : calls) {
            Json object = Json::object();
            object["name"] = call.name;
            object["arguments"] = argumentsJson(call);
            objects.push_back(object);
        }
        return dumpPythonJson(objects);
    }
    }
    fail("unknown tool format");
}

std::vector<ToolCall> parseFunctionMessage(const std::string& json)
{
    Json parsed = parsePythonJson(json, "function message");
    if (!parsed.is_array())
        parsed = Json::array({parsed});
    std::vector<ToolCall> calls;
    for (const Json& call : parsed) {
        if (!call.is_object() || !call.contains("name") || !call.contains("arguments"))
            fail("Invalid function message: each call needs \"name\" and \"arguments\" (",
                 json.substr(0, 200), ")");
        calls.push_back({plain(call["name"]), dumpPythonJson(call["arguments"])});
    }
    return calls;
}

std::optional<std::vector<ToolCall>> extractToolCalls(ToolFormat format, const std::string& text)
{
    switch (format) {
    case ToolFormat::Default:
        return extractDefault(text);
    case ToolFormat::Qwen:
        return extractQwen(text);
    case ToolFormat::Llama3:
        return extractJson(text, "parameters");
    case ToolFormat::Glm4:
        return extractGlm4(text);
    case ToolFormat::Mistral:
        return extractJson(text, "arguments");
    }
    return std::nullopt;
}

ParsedReply parseReply(const ChatTemplate& tpl, const std::string& generated)
{
    ParsedReply reply;
    if (auto calls = extractToolCalls(tpl.toolFormat, generated))
        reply.calls = std::move(*calls);
    else
        reply.content = generated;
    return reply;
}

std::string llama3ToolDate()
{
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%02d %s %04d", local.tm_mday, months[local.tm_mon],
                  local.tm_year + 1900);
    return buffer;
}

} // namespace lathe
