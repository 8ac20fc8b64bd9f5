#include "cli/api_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli/chat_command.h"
#include "cli/train_command.h"
#include "runtime/device.h"
#include "template/python_json.h"
#include "util/error.h"

namespace lathe {

namespace {

using json = nlohmann::ordered_json; // keeps the client's key order (the tool schemas go into the prompt as written)
using ojson = nlohmann::ordered_json;

std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop = true; }

constexpr std::size_t kMaxBodyBytes = 8u << 20;

/// A request the server refuses: HTTP status and OpenAI's error object.
struct ApiError
{
    int status;
    std::string message;
    std::string type = "invalid_request_error";
    std::string code;
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

[[noreturn]] void reject(const std::string& message, int status = 400) { throw ApiError{status, message}; }

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

/// What a chat completion request asks for.
struct ChatRequest
{
    Conversation conversation;
    ChatGenerationOptions generation;
    bool stream = false;
    bool includeUsage = false;
    int n = 1;
};

// The deepest nesting of arrays and objects in JSON text (strings skipped), counted without recursion: a
// body nested 300,000 levels deep would overflow the parser's stack.
std::size_t jsonNesting(const std::string& text)
{
    std::size_t depth = 0, deepest = 0;
    bool inString = false, escaped = false;
    for (const char c : text) {
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"')
            inString = true;
        else if (c == '[' || c == '{')
            deepest = std::max(deepest, ++depth);
        else if ((c == ']' || c == '}') && depth > 0)
            --depth;
    }
    return deepest;
}

constexpr std::size_t kMaxJsonNesting = 128;

/// Parses request JSON (the body, tool-call arguments) after checking its nesting depth.
json parseRequestJson(const std::string& text, const std::string& what)
{
    if (jsonNesting(text) > kMaxJsonNesting)
        reject(what + " nests JSON deeper than " + std::to_string(kMaxJsonNesting) + " levels");
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
ChatRequest parseRequest(const std::string& body, const ChatGenerationOptions& defaults)
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
        m_server.new_task_queue = [] { return new httplib::ThreadPool(32); };
        m_server.set_payload_max_length(kMaxBodyBytes);
        m_server.set_read_timeout(60, 0);
        m_server.set_write_timeout(60, 0);
        m_server.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            const ojson model = {{"id", m_modelName}, {"object", "model"}, {"created", now()}, {"owned_by", "owner"}};
            res.set_content(ojson{{"object", "list"}, {"data", ojson::array({model})}}.dump(), "application/json");
        });
        m_server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
            if (!authorized(req, res))
                return;
            try {
                completions(req, res);
            } catch (const ApiError& e) {
                sendError(res, e);
            } catch (const Error& e) {
                sendError(res, {400, e.what()});
            } catch (const json::type_error&) {
                // A field of the wrong type the checks above do not name: still the client's mistake.
                sendError(res, {400, "A field of the request has the wrong type"});
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

    void completions(const httplib::Request& req, httplib::Response& res)
    {
        ChatRequest r = parseRequest(req.body, m_defaults);
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
