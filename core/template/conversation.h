// A conversation as LLaMA-Factory's templates see it: a system prompt, a tool list and alternating turns.
//
// This is the aligned form that LLaMA-Factory's dataset converters produce (data/converter.py): even
// positions are user or observation turns, odd positions are assistant or function-call turns. Function
// turns hold the call as JSON ({"name": ..., "arguments": {...}} or a list of them); `tools` holds the
// JSON list of tool schemas, as the dataset's "tools" column does.
#pragma once

#include <string>
#include <vector>

namespace lathe {

enum class Role
{
    User,        ///< "user" (ShareGPT "human")
    Assistant,   ///< "assistant" (ShareGPT "gpt")
    Observation, ///< "observation": a tool result
    Function,    ///< "function": a tool call written by the assistant, JSON content
};

struct Message
{
    Role role = Role::User;
    std::string content;
};

struct Conversation
{
    std::string system; ///< empty: the template's default system prompt is used
    std::string tools;  ///< JSON list of tool schemas, or empty
    std::vector<Message> messages;
};

/// "user", "assistant", "observation", "function".
const char* roleName(Role role);

/// The Role of a name as above; throws lathe::Error for any other.
Role roleFromName(const std::string& name);

} // namespace lathe
