// A torch-free face of ChatEngine for the desktop window (widgets/ must not see torch headers): a model with
// its adapters and template, loaded and unloaded on request, answering a conversation with its reply streamed
// through plain callbacks. Plain structs in, plain structs out; the engine lives behind a pimpl.
//
// Threading: load() and chat() block and are meant for a worker thread. One session answers one request at a
// time (ChatEngine serves calls in order); unload() must not run while a chat() is in progress.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lathe {

struct ChatSessionOptions
{
    std::string modelDir;              ///< model_name_or_path
    std::vector<std::string> adapters; ///< adapter_name_or_path, in order
    std::string templateName;          ///< template
    std::string dtype = "auto";        ///< infer_dtype: auto, float16, bfloat16, float32
    std::string device = "auto";
    std::string ropeScaling;           ///< rope_scaling: "" none, linear, dynamic, yarn, llama3
};

enum class ChatTurnRole
{
    User,
    Assistant,
    Observation, ///< a tool result
    Function,    ///< a tool call written by the assistant (JSON)
};

struct ChatTurn
{
    ChatTurnRole role = ChatTurnRole::User;
    std::string content;
};

struct ChatSessionRequest
{
    std::string system;           ///< empty: the template's default
    std::string tools;            ///< JSON list of tool schemas, or empty
    std::vector<ChatTurn> turns;  ///< ends with a user or observation turn
    std::int64_t maxNewTokens = 1024;
    double topP = 0.7;
    double temperature = 0.95;    ///< 0: greedy decoding
    bool enableThinking = true;
    bool skipSpecialTokens = true; ///< decode the reply without special tokens
    std::optional<std::uint64_t> seed;
};

struct ChatSessionToolCall
{
    std::string name;
    std::string arguments; ///< JSON text
};

struct ChatSessionReply
{
    std::string text;      ///< the whole reply as written (kept in the history)
    std::string reasoning; ///< the thought, without its tags
    std::string content;   ///< the answer
    std::vector<ChatSessionToolCall> toolCalls;
    std::int64_t promptTokens = 0, completionTokens = 0;
    std::string finishReason; ///< "stop", "length", "tool_calls" or "cancelled"
    double prefillSeconds = 0, decodeSeconds = 0;

    /// Decoding speed as `lathe chat` reports it (tokens after the first over the decode time); 0 if unknown.
    double tokensPerSecond() const;
    /// The tool calls as a JSON list [{"name": ..., "arguments": {...}}] (pretty-printed), or "" for none.
    std::string toolCallsJson() const;
};

/// Streams a reply: (reasoning delta, answer delta). Returning false stops the generation.
using ChatSessionDelta = std::function<bool(const std::string& reasoning, const std::string& content)>;

class ChatSession
{
public:
    ChatSession();
    ~ChatSession();
    ChatSession(const ChatSession&) = delete;
    ChatSession& operator=(const ChatSession&) = delete;

    /// Loads the model (replacing one loaded before); throws std::runtime_error with a message for the user.
    void load(const ChatSessionOptions& options);
    void unload();
    bool isLoaded() const;
    /// The template the loaded model uses ("" when none is loaded).
    std::string templateName() const;

    /// Answers the request; throws std::runtime_error with a message for the user (also when not loaded).
    ChatSessionReply chat(const ChatSessionRequest& request, const ChatSessionDelta& onDelta = {},
                          const std::atomic<bool>* cancel = nullptr);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace lathe
