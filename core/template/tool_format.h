// Tool use in LLaMA-Factory's tool formats (data/tool_utils.py): the tool list written into the system
// prompt, function-call turns written as the model should produce them, and calls parsed back out of
// generated text.
//
// Formats: `qwen` (<tools> JSON lines, <tool_call> JSON calls; Qwen2.5/Qwen3), `default` (ReAct-style
// "Action:/Action Input:"), `llama3` (JSON with "parameters"), `glm4` and `mistral`. All JSON is written
// as Python's json.dumps does (python_json.h), since that is the text the model learns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "template/chat_template.h"

namespace lathe {

/// One tool call (LLaMA-Factory's FunctionCall).
struct ToolCall
{
    std::string name;      ///< the function name
    std::string arguments; ///< the arguments as JSON text, written as json.dumps(arguments)
    bool operator==(const ToolCall& other) const
    {
        return name == other.name && arguments == other.arguments;
    }
};

/// The text format_tools appends to the system prompt for the JSON tool list `toolsJson` ("" for an empty
/// list). `date` is the llama3 "Today Date" ("18 Aug 2026"); empty means today.
std::string formatToolPrompt(ToolFormat format, const std::string& toolsJson, const std::string& date = {});

/// The calls as the assistant writes them (function_formatter).
std::string formatToolCalls(ToolFormat format, const std::vector<ToolCall>& calls);

/// The calls in a function turn's JSON content: one {"name", "arguments"} object or a list of them.
/// Throws lathe::Error for invalid JSON or a call without name/arguments.
std::vector<ToolCall> parseFunctionMessage(const std::string& json);

/// The calls in generated text (tool_extractor), or nullopt when the text is a plain answer.
std::optional<std::vector<ToolCall>> extractToolCalls(ToolFormat format, const std::string& text);

/// A generated reply split into tool calls (Template.extract_tool).
struct ParsedReply
{
    std::string content;         ///< the reply itself when it holds no tool call, else empty
    std::vector<ToolCall> calls; ///< the calls, in order; empty for a plain answer
};

/// Parses a generated reply with the template's tool format: the calls, or the plain content.
ParsedReply parseReply(const ChatTemplate& tpl, const std::string& generated);

/// Today as "%d %b %Y" with English month names (what llama3's tool prompt shows).
std::string llama3ToolDate();

} // namespace lathe
