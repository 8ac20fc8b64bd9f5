// The body of an OpenAI chat completion request (POST /v1/chat/completions), checked and converted as
// LLaMA-Factory's api/chat.py does. Plain C++ with no torch and no HTTP, so that it is tested and fuzzed on its
// own; the server (app/cli/api_command.cpp) turns ApiError into the HTTP status and OpenAI's error object.
#pragma once

#include <string>

#include "generation/generation_options.h"
#include "template/conversation.h"

namespace lathe {

/// A request the server refuses: HTTP status and OpenAI's error object.
struct ApiError
{
    int status;
    std::string message;
    std::string type = "invalid_request_error";
    std::string code;
};

/// What a chat completion request asks for.
struct ChatRequest
{
    Conversation conversation;
    ChatGenerationOptions generation;
    bool stream = false;
    bool includeUsage = false;
    int n = 1;
};

/// Parses and checks a request body on top of the server's defaults. Every client mistake (invalid JSON, JSON
/// nested over 128 levels, a missing or mistyped field, a value out of range) throws ApiError 400 naming the
/// field; nothing else is thrown for any input.
ChatRequest parseChatRequest(const std::string& body, const ChatGenerationOptions& defaults);

/// Throws ApiError{status, message}.
[[noreturn]] void reject(const std::string& message, int status = 400);

} // namespace lathe
