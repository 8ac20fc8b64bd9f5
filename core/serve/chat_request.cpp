#include "serve/chat_request.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace lathe {

using json = nlohmann::ordered_json; // keeps the client's key order (the tool schemas go into the prompt as written)

void reject(const std::string& message, int status) { throw ApiError{status, message}; }

namespace {

// The text of a message's content: a string, or the text parts of a content list.
std::string contentText(const json& content, std::size_t index)
{
    if (content.is_null())
        return {};
    if (content.is_string())
        return content.get<std::string>();
    if (content.is_array()) {
        std::string text;
        for (const auto& part : content) {
            if (!part.is_object() || (part.contains("type") && !part["type"].is_string()))
                reject("messages[" + std::to_string(index) + "]: each content part must be an object with a type string");
            const std::string type = part.value("type", "");
            if (type == "text" && part.contains("text") && part["text"].is_string())
                text += part["text"].get<std::string>();
            else
                reject("messages[" + std::to_string(index) + "]: content part of type \"" + type +
                       "\" is not supported (text only)");
        }
        return text;
    }
    reject("messages[" + std::to_string(index) + "].content must be a string or a list of text parts");
}

constexpr std::size_t kMaxRequestNesting = 128;

/// Parses request JSON (the body, tool-call arguments) after checking its nesting depth.
json parseRequestJson(const std::string& text, const std::string& what)
{
    if (jsonNesting(text) > kMaxRequestNesting)
        reject(what + " nests JSON deeper than " + std::to_string(kMaxRequestNesting) + " levels");
    return json::parse(text, nullptr, false);
}

/// An optional boolean field; another type is a 400 naming it.
bool flag(const json& j, const char* key, const std::string& where = {})
{
    if (!j.contains(key) || j[key].is_null())
        return false;
    if (!j[key].is_boolean())
        reject(where + key + " must be true or false");
    return j[key].get<bool>();
}

// LLaMA-Factory's _process_request checks and conversion (api/chat.py), on top of the server's defaults.
ChatRequest parseUnchecked(const std::string& body, const ChatGenerationOptions& defaults)
{
    const json j = parseRequestJson(body, "The request body");
    if (j.is_discarded())
        reject("Invalid JSON in the request body");
    if (!j.is_object())
        reject("The request body must be a JSON object");
    ChatRequest r;
    r.generation = defaults;
    if (!j.contains("messages") || !j["messages"].is_array())
        reject("messages: a list of messages is required");
    json messages = j["messages"];
    if (messages.empty())
        reject("Invalid length");
    std::size_t offset = 0;
    if (messages[0].is_object() && messages[0].contains("role") && messages[0]["role"] == "system") {
        r.conversation.system = contentText(messages[0].value("content", json()), 0);
        offset = 1;
    }
    if ((messages.size() - offset) % 2 == 0)
        reject("Only supports u/a/u/a/u...");
    for (std::size_t i = offset; i < messages.size(); ++i) {
        const json& m = messages[i];
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            reject("messages[" + std::to_string(i) + "]: an object with a role is required");
        const std::string role = m["role"].get<std::string>();
        const bool userSide = (i - offset) % 2 == 0;
        if (userSide && role != "user" && role != "tool")
            reject("Invalid role");
        if (!userSide && role != "assistant" && role != "function")
            reject("Invalid role");
        if (role == "assistant" && m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty()) {
            json calls = json::array();
            const std::string where = "messages[" + std::to_string(i) + "].tool_calls";
            for (const auto& call : m["tool_calls"]) {
                if (!call.is_object() || (call.contains("function") && !call["function"].is_object()))
                    reject(where + ": each tool call must be an object with a function object");
                const json f = call.value("function", json::object());
                if (f.contains("name") && !f["name"].is_string())
                    reject(where + ": function.name must be a string");
                json arguments = f.contains("arguments") ? f["arguments"] : json("{}");
                if (arguments.is_string()) {
                    arguments = parseRequestJson(arguments.get<std::string>(), where + ": the arguments");
                    if (arguments.is_discarded())
                        reject("messages[" + std::to_string(i) + "]: tool call arguments are not valid JSON");
                }
                calls.push_back({{"name", f.contains("name") ? f["name"].get<std::string>() : std::string()},
                                 {"arguments", arguments}});
            }
            r.conversation.messages.push_back({Role::Function, calls.dump()});
            continue;
        }
        const std::string text = contentText(m.value("content", json()), i);
        const Role mapped = role == "user" ? Role::User : role == "tool" ? Role::Observation
                            : role == "function" ? Role::Function : Role::Assistant;
        r.conversation.messages.push_back({mapped, text});
    }
    if (j.contains("tools") && !j["tools"].is_null()) {
        if (!j["tools"].is_array())
            reject("Invalid tools");
        json functions = json::array();
        for (const auto& tool : j["tools"]) {
            if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object() ||
                !tool["function"].contains("name") || !tool["function"]["name"].is_string())
                reject("Invalid tools");
            functions.push_back(tool["function"]);
        }
        if (!functions.empty())
            r.conversation.tools = functions.dump();
    }
    auto number = [&](const char* key) -> std::optional<double> {
        if (!j.contains(key) || j[key].is_null())
            return std::nullopt;
        if (!j[key].is_number())
            reject(std::string(key) + " must be a number");
        return j[key].get<double>();
    };
    if (auto t = number("temperature")) {
        if (*t < 0 || *t > 2)
            reject("temperature must be between 0 and 2");
        r.generation.sampling.temperature = *t;
        r.generation.sampling.do_sample = *t > 0;
    }
    if (auto p = number("top_p")) {
        if (*p <= 0 || *p > 1)
            reject("top_p must be in (0, 1]");
        r.generation.sampling.top_p = *p;
    }
    if (j.contains("do_sample") && j["do_sample"].is_boolean())
        r.generation.sampling.do_sample = j["do_sample"].get<bool>() && r.generation.sampling.temperature > 0;
    for (const char* key : {"max_tokens", "max_completion_tokens"})
        if (auto m = number(key)) {
            if (*m < 1)
                reject(std::string(key) + " must be at least 1");
            if (*m > 1e9)
                reject(std::string(key) + " is too large");
            r.generation.max_new_tokens = static_cast<std::int64_t>(*m);
        }
    if (auto s = number("seed"))
        r.generation.sampling.seed = static_cast<std::uint64_t>(*s);
    if (auto n = number("n")) {
        if (*n < 1 || *n > 8)
            reject("n must be between 1 and 8");
        r.n = static_cast<int>(*n);
    }
    if (j.contains("stop") && !j["stop"].is_null()) {
        if (j["stop"].is_string())
            r.generation.stopStrings = {j["stop"].get<std::string>()};
        else if (j["stop"].is_array())
            for (const auto& s : j["stop"])
                if (s.is_string())
                    r.generation.stopStrings.push_back(s.get<std::string>());
    }
    r.stream = flag(j, "stream");
    if (j.contains("stream_options") && j["stream_options"].is_object())
        r.includeUsage = flag(j["stream_options"], "include_usage", "stream_options.");
    if (r.stream && !r.conversation.tools.empty())
        reject("Cannot stream function calls.");
    if (r.stream && r.n != 1)
        reject("Streaming supports n = 1 only");
    return r;
}

} // namespace

ChatRequest parseChatRequest(const std::string& body, const ChatGenerationOptions& defaults)
{
    try {
        return parseUnchecked(body, defaults);
    } catch (const nlohmann::json::exception&) {
        // A field of a type the checks above do not name: still the client's mistake.
        reject("A field of the request has the wrong type");
    } catch (const Error& e) {
        reject(e.what());
    }
}

} // namespace lathe
