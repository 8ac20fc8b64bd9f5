#include "cli/api_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli/chat_command.h"
#include "cli/train_command.h"
#include "runtime/device.h"
#include "serve/chat_request.h"
#include "template/python_json.h"
#include "util/error.h"

namespace lathe {

namespace {

using json = nlohmann::ordered_json; // keeps the client's key order (the tool schemas go into the prompt as written)
using ojson = nlohmann::ordered_json;

std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop = true; }

constexpr std::size_t kMaxBodyBytes = 8u << 20;
constexpr int kMaxConnections = 128;
constexpr int kReadTimeoutSeconds = 10;

/// httplib's task queue with a thread per connection, at most `limit` at once. A thread blocked on a slow
/// client costs a stack, not a core, so 40 clients that send half a request and wait hold 40 threads while
/// /v1/models keeps answering (a fixed pool of 32 made them wait 60 s). At the limit, accepting waits until a
/// connection ends (the kernel's backlog holds the newcomers) instead of queueing without bound.
class ConnectionThreads : public httplib::TaskQueue
{
public:
    explicit ConnectionThreads(int limit) : m_limit(limit) {}

    void enqueue(std::function<void()> fn) override
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_changed.wait(lock, [&] { return m_active < m_limit; });
        ++m_active;
        std::thread([this, fn = std::move(fn)]() mutable {
            fn();
            fn = nullptr;
            std::lock_guard<std::mutex> done(m_mutex);
            --m_active;
            m_changed.notify_all();
        }).detach();
    }

    void shutdown() override
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_changed.wait(lock, [&] { return m_active == 0; });
    }

private:
    const int m_limit;
    int m_active = 0;
    std::mutex m_mutex;
    std::condition_variable m_changed;
};

std::string envOr(const char* name, const std::string& fallback)
{
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

std::string randomHex(std::size_t n)
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
        s += digits[rng() % 16];
    return s;
}

std::int64_t now() { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string errorBody(const ApiError& e)
{
    ojson err;
    err["message"] = e.message;
    err["type"] = e.type;
    err["param"] = nullptr;
    err["code"] = e.code.empty() ? json(nullptr) : json(e.code);
    return ojson{{"error", err}}.dump();
}

void sendError(httplib::Response& res, const ApiError& e)
{
    res.status = e.status;
    res.set_content(errorBody(e), "application/json");
}

ojson usageJson(std::int64_t prompt, std::int64_t completion)
{
    return ojson{{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

ojson messageJson(const ChatReply& reply)
{
    ojson m;
    m["role"] = "assistant";
    if (!reply.toolCalls.empty()) {
        m["content"] = nullptr;
        ojson calls = ojson::array();
        for (const auto& call : reply.toolCalls)
            calls.push_back({{"id", "call_" + randomHex(24)},
                             {"type", "function"},
                             {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
        m["tool_calls"] = calls;
    } else {
        m["content"] = reply.content;
    }
    if (!reply.reasoning.empty())
        m["reasoning_content"] = reply.reasoning;
    return m;
}

std::string finishReason(const ChatReply& reply)
{
    return reply.finishReason == "cancelled" ? std::string("stop") : reply.finishReason;
}

class ApiServer
{
public:
    ApiServer(ChatEngine& engine, ChatGenerationOptions defaults, std::string modelName, std::string apiKey)
        : m_engine(engine), m_defaults(std::move(defaults)), m_modelName(std::move(modelName)),
          m_apiKey(std::move(apiKey))
    {
        m_server.new_task_queue = [] { return new ConnectionThreads(kMaxConnections); };
        m_server.set_payload_max_length(kMaxBodyBytes);
        // httplib's timeouts apply to each read and write: a client silent for this long is dropped. Each
        // connection has a thread of its own, so a slow client holds one thread, never the others' answers.
        m_server.set_read_timeout(kReadTimeoutSeconds, 0);
        m_server.set_write_timeout(60, 0);
        m_server.set_keep_alive_timeout(5);
        m_server.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            const ojson model = {{"id", m_modelName}, {"object", "model"}, {"created", now()}, {"owned_by", "owner"}};
            res.set_content(ojson{{"object", "list"}, {"data", ojson::array({model})}}.dump(), "application/json");
        });
        // The body is read here, after the checks of the head, and only up to the limit: httplib's own reading
        // bounds Content-Length bodies but reads chunked or compressed ones whole.
        m_server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res,
                                                     const httplib::ContentReader& reader) {
            if (!authorized(req, res))
                return;
            std::string body;
            bool tooLarge = false;
            const bool read = reader([&](const char* data, std::size_t size) {
                if (body.size() + size > kMaxBodyBytes) {
                    tooLarge = true;
                    return false;
                }
                body.append(data, size);
                return true;
            });
            if (tooLarge || res.status == 413) {
                sendError(res, {413, "Request body too large (limit " + std::to_string(kMaxBodyBytes) + " bytes)"});
                return;
            }
            if (!read) {
                sendError(res, {400, "The request body could not be read"});
                return;
            }
            try {
                completions(body, res);
            } catch (const ApiError& e) {
                sendError(res, e);
            } catch (const Error& e) {
                sendError(res, {400, e.what()});
            }
        });
        m_server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty())
                return;
            if (res.status == 404)
                sendError(res, {404, "Unknown endpoint " + req.method + " " + req.path, "invalid_request_error",
                                "not_found"});
            else if (res.status == 413)
                sendError(res, {413, "Request body too large (limit " + std::to_string(kMaxBodyBytes) + " bytes)"});
            else
                sendError(res, {res.status, "HTTP error " + std::to_string(res.status)});
        });
        m_server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "internal error";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            sendError(res, {500, what, "server_error"});
        });
    }

    httplib::Server& server() { return m_server; }
    /// Bound to a loopback address: requests must name a loopback host (DNS rebinding can make a browser
    /// send a page's requests to 127.0.0.1 under another name).
    void setLoopbackOnly(bool loopback) { m_loopbackOnly = loopback; }

private:
    bool authorized(const httplib::Request& req, httplib::Response& res)
    {
        if (m_loopbackOnly) {
            std::string host = req.get_header_value("Host");
            if (!host.empty() && host.front() == '[')
                host = host.substr(0, host.find(']') + 1);
            else
                host = host.substr(0, host.find(':'));
            if (!host.empty() && host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
                sendError(res, {403, "Host \"" + host + "\" is not this machine's loopback name",
                                "invalid_request_error"});
                return false;
            }
        }
        // A web page can POST text/plain or a form to 127.0.0.1 without the browser asking first; JSON cannot.
        if (req.method == "POST" && req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
            sendError(res, {415, "Content-Type must be application/json", "invalid_request_error"});
            return false;
        }
        if (m_apiKey.empty())
            return true;
        if (req.get_header_value("Authorization") == "Bearer " + m_apiKey)
            return true;
        sendError(res, {401, "Invalid API key", "invalid_request_error", "invalid_api_key"});
        return false;
    }

    void completions(const std::string& body, httplib::Response& res)
    {
        ChatRequest r = parseChatRequest(body, m_defaults);
        const auto prompt = m_engine.promptIds(r.conversation, r.generation);
        if (static_cast<std::int64_t>(prompt.size()) >= m_engine.contextLength())
            reject("The prompt is " + std::to_string(prompt.size()) + " tokens; the model's context is " +
                   std::to_string(m_engine.contextLength()));
        r.generation.max_new_tokens =
            std::min<std::int64_t>(r.generation.max_new_tokens, m_engine.contextLength() - std::int64_t(prompt.size()));
        const std::string id = "chatcmpl-" + randomHex(32);
        const std::int64_t created = now();
        if (!r.stream) {
            ojson choices = ojson::array();
            std::int64_t promptTokens = 0, completionTokens = 0;
            for (int i = 0; i < r.n; ++i) {
                const ChatReply reply = m_engine.chat(r.conversation, r.generation);
                promptTokens = reply.promptTokens;
                completionTokens += reply.completionTokens;
                choices.push_back({{"index", i}, {"message", messageJson(reply)}, {"finish_reason", finishReason(reply)}});
            }
            ojson out = {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", m_modelName},
                         {"choices", choices}, {"usage", usageJson(promptTokens, completionTokens)}};
            res.set_content(out.dump(-1, ' ', false, ojson::error_handler_t::replace), "application/json");
            return;
        }
        // Streaming: the generation runs inside the content provider, writing each delta as it comes; a failed
        // write (the client went away) cancels it.
        auto chunk = [id, created, model = m_modelName](const ojson& delta, const json& finish) {
            ojson c = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                       {"choices", ojson::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
            return "data: " + c.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n\n";
        };
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream", [this, r, chunk, id, created](std::size_t, httplib::DataSink& sink) {
                auto write = [&](const std::string& s) { return sink.is_writable() && sink.write(s.data(), s.size()); };
                if (!write(chunk({{"role", "assistant"}, {"content", ""}}, nullptr)))
                    return false;
                bool gone = false;
                const ChatReply reply = m_engine.chat(
                    r.conversation, r.generation, [&](const std::string& reasoning, const std::string& content) {
                        if (!reasoning.empty() && !write(chunk({{"reasoning_content", reasoning}}, nullptr)))
                            gone = true;
                        if (!gone && !content.empty() && !write(chunk({{"content", content}}, nullptr)))
                            gone = true;
                        return !gone;
                    });
                if (gone)
                    return false;
                write(chunk(ojson::object(), finishReason(reply)));
                if (r.includeUsage) {
                    ojson u = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                               {"model", m_modelName}, {"choices", ojson::array()},
                               {"usage", usageJson(reply.promptTokens, reply.completionTokens)}};
                    write("data: " + u.dump() + "\n\n");
                }
                write("data: [DONE]\n\n");
                sink.done();
                return true;
            });
    }

    ChatEngine& m_engine;
    ChatGenerationOptions m_defaults;
    std::string m_modelName, m_apiKey;
    bool m_loopbackOnly = false;
    httplib::Server m_server;
};

} // namespace

int runApiCommand(const std::vector<std::string>& argv)
{
    const auto line = parseConfigCommandLine(argv);
    setThreads(line.threads);
    const ArgumentSet& args = line.args;
    if (line.dryRun) {
        std::cout << args.toYaml() << "\n" << args.toCommandLine("lathe api") << "\n";
        return 0;
    }
    const std::string host = envOr("API_HOST", "127.0.0.1");
    const std::string portText = envOr("API_PORT", "8000");
    int port = 0;
    try {
        port = std::stoi(portText);
    } catch (const std::exception&) {
        fail("API_PORT=", portText, " is not a port number");
    }
    if (port < 0 || port > 65535)
        fail("API_PORT=", portText, " is not a port number");
    const std::string modelName = envOr("API_MODEL_NAME", "gpt-3.5-turbo");

    ChatEngine engine(chatModelOptions(args, args.isSet("device") ? args.getString("device") : "auto"));
    ApiServer api(engine, chatGenerationOptions(args), modelName, envOr("API_KEY", ""));
    const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "::1";
    api.setLoopbackOnly(loopback);
    if (!loopback && envOr("API_KEY", "").empty())
        std::cerr << "[WARNING] API_HOST=" << host << " without API_KEY: anyone who can reach this machine can use "
                  << "the model. Set API_KEY, or keep the default API_HOST=127.0.0.1." << std::endl;
    httplib::Server& server = api.server();
    const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
    if (bound < 0)
        fail("cannot listen on ", host, ":", port, " (in use, or not an address of this machine?)");
    std::cout << "Lathe API for " << args.getString("model_name_or_path") << " (model name \"" << modelName
              << "\") listening on http://" << host << ":" << bound << "/v1" << std::endl;

    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::thread watcher([&] {
        while (!g_stop.load() && !server.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        while (!g_stop.load())
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        server.stop();
    });
    const bool ok = server.listen_after_bind();
    g_stop = true;
    watcher.join();
    return ok ? 0 : 1;
}

} // namespace lathe
