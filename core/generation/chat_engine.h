// The chat engine behind `lathe chat`, `lathe api` and the Chat tab: a base model with its LoRA adapters, its
// tokenizer and chat template, answering conversations (LLaMA-Factory's HuggingfaceEngine).
//
// A reply is generated until a stop token (the template's stop words and EOS), a caller's stop string,
// max_new_tokens or a cancel; it is streamed as text deltas (incremental detokenization), split into the
// reasoning (<think>...</think> of reasoning templates) and the answer, and parsed for tool calls in the
// template's tool format. One model answers one request at a time: chat() calls from several threads are
// served in arrival order (a ticket lock), never concurrently, and every generation runs on the engine's own
// thread, so one OpenMP team does all the work (a team per calling thread - an HTTP server's 32 workers - would
// leave idle teams spinning against the active one and re-warm a team on each new caller).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "generation/generation_options.h"
#include "generation/sampler.h"
#include "model/causal_lm.h"
#include "template/chat_format.h"
#include "template/conversation.h"
#include "template/template_encoder.h"
#include "template/hf_chat_template.h"
#include "template/tool_format.h"
#include "tokenizer/tokenizer.h"

namespace lathe {

struct ChatModelOptions
{
    std::string modelDir;              ///< model_name_or_path
    std::vector<std::string> adapters; ///< adapter_name_or_path, in order
    std::string templateName;          ///< template; empty or "auto": parsed from the model's Jinja; "jinja": prompts
                                       ///< rendered by the model's own Jinja chat template
    std::string dtype = "auto";        ///< infer_dtype
    std::string device = "auto";
    std::string ropeScaling;           ///< rope_scaling (factor 2 for inference, as LLaMA-Factory)
    bool mergeAdapters = false;        ///< merge the last adapter into the weights too (faster decoding)
};

struct ChatReply
{
    std::string text;      ///< the whole decoded reply (stop token excluded)
    std::string reasoning; ///< the thought of a reasoning template, without its tags
    std::string content;   ///< the answer after the thought (the whole text for other templates)
    std::vector<ToolCall> toolCalls;
    std::int64_t promptTokens = 0, completionTokens = 0;
    std::string finishReason; ///< "stop", "length", "tool_calls" or "cancelled"
    /// The reply ended ("length") because prompt + reply filled the model's context (max_position_embeddings),
    /// not at max_new_tokens.
    bool contextFull = false;
    double queueSeconds = 0, prefillSeconds = 0, decodeSeconds = 0;
};

/// Streams a reply: reasoning and answer text as they complete. Returning false cancels the generation.
using ChatDeltaCallback = std::function<bool(const std::string& reasoningDelta, const std::string& contentDelta)>;

/// Splits streamed text into reasoning and answer at the template's thought tags ("<think>", "</think>"),
/// holding back text that may be the start of a tag; whitespace right inside the tags and at the start of the
/// answer is dropped, as the templates write "<think>\n...\n</think>\n\n".
class ReasoningSplitter
{
public:
    ReasoningSplitter(std::string open, std::string close);
    /// Feeds new text; appends what is certain to `reasoning` / `content`.
    void push(const std::string& text, std::string& reasoning, std::string& content);
    /// End of text: releases what was held back.
    void finish(std::string& reasoning, std::string& content);

private:
    enum class State { Start, Reasoning, Content };
    void drain(bool final, std::string& reasoning, std::string& content);
    std::string m_open, m_close, m_pending;
    State m_state = State::Start;
    bool m_contentStarted = false, m_reasoningStarted = false;
};

class ChatEngine
{
public:
    /// Loads the model, its adapters, tokenizer and template; throws lathe::Error naming what is wrong.
    explicit ChatEngine(const ChatModelOptions& options);
    ~ChatEngine();
    ChatEngine(const ChatEngine&) = delete;
    ChatEngine& operator=(const ChatEngine&) = delete;

    /// Answers `conversation` (ending with a user or observation turn). `onDelta` streams the text; `cancel`
    /// stops generation from another thread. Thread-safe; requests are served one at a time, in order.
    ChatReply chat(const Conversation& conversation, const ChatGenerationOptions& options,
                   const ChatDeltaCallback& onDelta = {}, const std::atomic<bool>* cancel = nullptr);

    /// The prompt ids chat() would feed the model (to check lengths before queueing).
    std::vector<TokenId> promptIds(const Conversation& conversation, const ChatGenerationOptions& options) const;

    const Tokenizer& tokenizer() const { return *m_tokenizer; }
    const TemplateEncoder& encoder() const { return *m_encoder; }
    const std::string& templateName() const { return m_templateName; }
    std::int64_t contextLength() const { return m_contextLength; }
    /// Requests waiting for the model (not counting the one being answered).
    int waiting() const;

private:
    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::unique_ptr<TemplateEncoder> m_encoder;
    std::string m_templateName;
    std::unique_ptr<HfChatTemplate> m_jinja; ///< template "jinja": the model's own chat template
    std::int64_t m_contextLength = 0;
    CausalLM m_model{nullptr};

    ChatReply generateReply(const std::vector<TokenId>& prompt, const Conversation& conversation,
                            const ChatGenerationOptions& options, const ChatDeltaCallback& onDelta,
                            const std::atomic<bool>* cancel);
    /// Runs `job` on the engine thread and waits for it (exceptions are rethrown here).
    void runOnEngineThread(const std::function<void()>& job);
    void engineLoop();

    // The ticket lock: request k waits until m_serving == k.
    mutable std::mutex m_mutex;
    std::condition_variable m_turn;
    std::uint64_t m_nextTicket = 0, m_serving = 0;

    // The engine thread and its one job slot (the ticket lock admits one request at a time).
    std::mutex m_jobMutex;
    std::condition_variable m_jobReady, m_jobDone;
    const std::function<void()>* m_job = nullptr;
    std::exception_ptr m_jobError;
    bool m_jobFinished = false, m_stop = false;
    int m_threads = 0;
    std::thread m_engineThread;
};

} // namespace lathe
