#include "generation/chat_engine.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <torch/torch.h>

#include "generation/generator.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "runtime/device.h"
#include "template/chat_template.h"
#include "template/template_jinja.h"
#include "util/error.h"

namespace lathe {

namespace {

std::string trim(const std::string& s)
{
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos)
        return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The length of the longest suffix of `text` that is a proper prefix of `tag` (text that may become the tag).
std::size_t partialTagSuffix(const std::string& text, const std::string& tag)
{
    for (std::size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
        if (text.compare(text.size() - n, n, tag, 0, n) == 0)
            return n;
    return 0;
}

// Bytes of `text` that end on a UTF-8 character boundary, at most `limit`.
std::size_t utf8Boundary(const std::string& text, std::size_t limit)
{
    std::size_t n = std::min(limit, text.size());
    while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
        --n;
    return n;
}

double secondsSince(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

// ===== ReasoningSplitter =====

ReasoningSplitter::ReasoningSplitter(std::string open, std::string close)
    : m_open(std::move(open)), m_close(std::move(close))
{
}

void ReasoningSplitter::push(const std::string& text, std::string& reasoning, std::string& content)
{
    m_pending += text;
    drain(false, reasoning, content);
}

void ReasoningSplitter::finish(std::string& reasoning, std::string& content)
{
    drain(true, reasoning, content);
}

void ReasoningSplitter::drain(bool final, std::string& reasoning, std::string& content)
{
    for (;;) {
        if (m_state == State::Start) {
            const auto first = m_pending.find_first_not_of(" \t\r\n");
            if (first == std::string::npos) {
                if (final)
                    m_pending.clear();
                return; // only whitespace so far
            }
            const std::string rest = m_pending.substr(first);
            if (!m_open.empty() && rest.compare(0, m_open.size(), m_open) == 0) {
                m_pending = rest.substr(m_open.size());
                m_state = State::Reasoning;
                continue;
            }
            if (!m_open.empty() && !final && rest.size() < m_open.size() && m_open.compare(0, rest.size(), rest) == 0)
                return; // may still become the open tag
            m_pending = rest;
            m_state = State::Content;
            continue;
        }
        if (m_state == State::Reasoning) {
            const auto close = m_pending.find(m_close);
            std::string out;
            if (close != std::string::npos) {
                out = m_pending.substr(0, close);
                m_pending = m_pending.substr(close + m_close.size());
            } else {
                // Hold back a possible partial close tag and trailing whitespace (it may precede the tag).
                std::size_t keep = final ? 0 : partialTagSuffix(m_pending, m_close);
                std::size_t end = m_pending.size() - keep;
                if (!final)
                    while (end > 0 && isSpace(m_pending[end - 1]))
                        --end;
                out = m_pending.substr(0, end);
                m_pending = m_pending.substr(end);
                if (final)
                    while (!out.empty() && isSpace(out.back()))
                        out.pop_back();
            }
            if (!m_reasoningStarted) {
                const auto first = out.find_first_not_of(" \t\r\n");
                out = first == std::string::npos ? std::string() : out.substr(first);
                m_reasoningStarted = !out.empty();
            }
            if (close != std::string::npos)
                while (!out.empty() && isSpace(out.back()))
                    out.pop_back();
            reasoning += out;
            if (close == std::string::npos)
                return;
            m_state = State::Content;
            continue;
        }
        // Content.
        if (!m_contentStarted) {
            const auto first = m_pending.find_first_not_of(" \t\r\n");
            if (first == std::string::npos) {
                m_pending.clear();
                return;
            }
            m_pending = m_pending.substr(first);
            m_contentStarted = true;
        }
        content += m_pending;
        m_pending.clear();
        return;
    }
}

// ===== ChatEngine =====

ChatEngine::ChatEngine(const ChatModelOptions& options)
{
    if (options.modelDir.empty())
        fail("model_name_or_path: required");
    m_templateName = options.templateName.empty() ? std::string("auto") : options.templateName;
    m_tokenizer = Tokenizer::fromDirectory(options.modelDir);
    m_encoder = std::make_unique<TemplateEncoder>(resolveChatTemplate(m_templateName, *m_tokenizer, options.modelDir),
                                                  m_tokenizer);
    // `template: jinja`: prompts written by the model's own Jinja (its stop words, thought tags and tool format
    // come from the template parsed out of it).
    if (m_templateName == "jinja" || m_templateName.rfind("jinja:", 0) == 0)
        m_jinja = std::make_unique<HfChatTemplate>(HfChatTemplate::fromTokenizer(
            *m_tokenizer, options.modelDir, m_templateName.size() > 6 ? m_templateName.substr(6) : std::string()));
    const torch::Device device = resolveDevice(options.device);
    const torch::ScalarType dtype = resolveDtype(options.dtype, device);
    LoadOptions load{device, dtype};
    load.ropeScaling = options.ropeScaling;
    m_model = loadModel(options.modelDir, load);
    loadInferenceAdapters(m_model, options.adapters, options.mergeAdapters);
    m_contextLength = m_model->config().max_position_embeddings;
    m_threads = at::get_num_threads();
    m_engineThread = std::thread([this] { engineLoop(); });
}

ChatEngine::~ChatEngine()
{
    {
        std::lock_guard<std::mutex> lock(m_jobMutex);
        m_stop = true;
    }
    m_jobReady.notify_all();
    if (m_engineThread.joinable())
        m_engineThread.join();
}

void ChatEngine::engineLoop()
{
    at::set_num_threads(m_threads); // the creating thread's setting (--threads), not the default
    std::unique_lock<std::mutex> lock(m_jobMutex);
    for (;;) {
        m_jobReady.wait(lock, [this] { return m_stop || m_job; });
        if (m_stop)
            return;
        const std::function<void()>* job = m_job;
        lock.unlock();
        std::exception_ptr error;
        try {
            (*job)();
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        m_job = nullptr;
        m_jobError = error;
        m_jobFinished = true;
        m_jobDone.notify_all();
    }
}

void ChatEngine::runOnEngineThread(const std::function<void()>& job)
{
    std::unique_lock<std::mutex> lock(m_jobMutex);
    m_job = &job;
    m_jobFinished = false;
    m_jobReady.notify_all();
    m_jobDone.wait(lock, [this] { return m_jobFinished; });
    if (m_jobError)
        std::rethrow_exception(std::exchange(m_jobError, nullptr));
}

std::vector<TokenId> ChatEngine::promptIds(const Conversation& conversation, const ChatGenerationOptions& options) const
{
    if (m_jinja) {
        HfChatOptions hf;
        hf.addGenerationPrompt = true;
        hf.tools = hfTools(conversation.tools);
        if (options.chat.enableThinking)
            hf.extra["enable_thinking"] = *options.chat.enableThinking;
        EncodeOptions encode;
        encode.addSpecialTokens = false; // apply_chat_template(tokenize=True): the template writes them
        return m_tokenizer->encode(m_jinja->render(hfMessages(conversation), hf), encode);
    }
    return m_encoder->encodeGenerationPrompt(conversation, options.chat);
}

int ChatEngine::waiting() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto queued = m_nextTicket - m_serving;
    return queued > 0 ? static_cast<int>(queued - 1) : 0;
}

ChatReply ChatEngine::chat(const Conversation& conversation, const ChatGenerationOptions& options,
                           const ChatDeltaCallback& onDelta, const std::atomic<bool>* cancel)
{
    const std::vector<TokenId> prompt = promptIds(conversation, options);
    const auto queued = std::chrono::steady_clock::now();

    // Wait for our turn; whatever happens below, the next request is let in afterwards.
    std::unique_lock<std::mutex> lock(m_mutex);
    const std::uint64_t ticket = m_nextTicket++;
    m_turn.wait(lock, [&] { return m_serving == ticket; });
    lock.unlock();
    struct Release
    {
        ChatEngine* self;
        ~Release()
        {
            std::lock_guard<std::mutex> l(self->m_mutex);
            ++self->m_serving;
            self->m_turn.notify_all();
        }
    } turnGuard{this};

    const double queueSeconds = secondsSince(queued);
    if (cancel && cancel->load()) {
        ChatReply reply;
        reply.queueSeconds = queueSeconds;
        reply.promptTokens = static_cast<std::int64_t>(prompt.size());
        reply.finishReason = "cancelled";
        return reply;
    }
    ChatReply reply;
    runOnEngineThread([&] { reply = generateReply(prompt, conversation, options, onDelta, cancel); });
    reply.queueSeconds = queueSeconds;
    return reply;
}

ChatReply ChatEngine::generateReply(const std::vector<TokenId>& prompt, const Conversation& conversation,
                                    const ChatGenerationOptions& options, const ChatDeltaCallback& onDelta,
                                    const std::atomic<bool>* cancel)
{
    ChatReply reply;
    reply.promptTokens = static_cast<std::int64_t>(prompt.size());

    const ChatTemplate& tpl = m_encoder->chatTemplate();
    ReasoningSplitter splitter(trim(tpl.thoughtWords.first), trim(tpl.thoughtWords.second));
    StreamDecoder decoder(m_tokenizer, options.skip_special_tokens);
    const auto stops = m_encoder->stopTokenIds();
    std::size_t holdBack = 0; // a stop string may be forming at the end of the text
    for (const auto& s : options.stopStrings)
        holdBack = std::max(holdBack, s.empty() ? 0 : s.size() - 1);
    std::string text;          // everything decoded
    std::size_t released = 0;  // bytes of `text` given to the splitter
    bool stopped = false, callerStopped = false;

    auto release = [&](std::size_t upTo) {
        if (upTo <= released)
            return true;
        std::string reasoning, content;
        splitter.push(text.substr(released, upTo - released), reasoning, content);
        released = upTo;
        reply.reasoning += reasoning;
        reply.content += content;
        if (onDelta && (!reasoning.empty() || !content.empty()) && !onDelta(reasoning, content))
            return false;
        return true;
    };

    GenerationOptions g;
    // Never past the model's context: RoPE and the trained positions end there.
    const std::int64_t room = std::max<std::int64_t>(0, m_contextLength - static_cast<std::int64_t>(prompt.size()));
    g.max_new_tokens = std::min<std::int64_t>(options.max_new_tokens, room);
    const bool contextBound = room < options.max_new_tokens;
    g.sampling = options.sampling;
    g.eos_token_ids.assign(stops.begin(), stops.end());
    g.cancel = cancel;
    g.on_token = [&](std::int64_t id) {
        if (std::find(stops.begin(), stops.end(), static_cast<TokenId>(id)) != stops.end())
            return true; // generate() stops on it; it is not part of the text
        text += decoder.push(static_cast<TokenId>(id));
        for (const auto& s : options.stopStrings) {
            const auto at = s.empty() ? std::string::npos : text.find(s, released > s.size() ? released - s.size() : 0);
            if (at != std::string::npos) {
                text.resize(at);
                stopped = true;
                callerStopped = !release(text.size());
                return false;
            }
        }
        if (!release(utf8Boundary(text, text.size() - std::min(holdBack, text.size())))) {
            callerStopped = true;
            return false;
        }
        return true;
    };
    std::vector<std::int64_t> ids(prompt.begin(), prompt.end());
    const GenerationResult result = generate(m_model, ids, g);
    if (!stopped)
        text += decoder.flush();
    if (!callerStopped) {
        release(text.size());
        std::string reasoning, content;
        splitter.finish(reasoning, content);
        reply.reasoning += reasoning;
        reply.content += content;
        if (onDelta && (!reasoning.empty() || !content.empty()))
            onDelta(reasoning, content);
    }

    reply.text = text;
    reply.completionTokens = static_cast<std::int64_t>(result.output_ids.size());
    reply.prefillSeconds = result.prefill_seconds;
    reply.decodeSeconds = result.decode_seconds;
    reply.finishReason = callerStopped ? "cancelled" : result.finish_reason;
    reply.contextFull = contextBound && reply.finishReason == "length";
    if (reply.finishReason == "stop" && !conversation.tools.empty()) {
        const ParsedReply parsed = parseReply(tpl, reply.content);
        if (!parsed.calls.empty()) {
            reply.toolCalls = parsed.calls;
            reply.finishReason = "tool_calls";
        }
    }
    return reply;
}

} // namespace lathe
