// `lathe api` end to end: the real executable serving the tiny test model, exercised by the official OpenAI
// JavaScript client (tests/api_client/api_check.mjs: models, non-streaming and streaming chat, tools and the
// tool-call round trip, 20 concurrent requests, a client abandoning a stream, a wrong key) and by curl for
// requests no client would send (malformed JSON, bad roles, non-alternating turns, an over-long prompt, an
// oversized body, no key), and with auth off.
//
// So that a tool call can be checked for real, the model is first taught (full fine-tuning, a few seconds) to
// answer the test's weather question, asked with the test's tool list, with a get_weather call: the training
// prompt is built by the same template code the server uses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest/QtTest>

#include "../core/error_check.h"
#include "generation/chat_engine.h"
#include "test_support.h"
#include "tiny_model.h"
#include "train/trainer.h"
#include "util/file_util.h"

using json = nlohmann::ordered_json;
using namespace lathe;

namespace {

const char* const kQuestion = "What is the weather in Paris?";

// The tool list exactly as api_check.mjs sends it (function part, in its key order).
json weatherTool()
{
    return json{{"name", "get_weather"},
                {"description", "Current weather of a city"},
                {"parameters",
                 {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}, {"required", {"city"}}}}};
}

struct Server
{
    QProcess process;
    QString url;
};

} // namespace

class TestApi : public QObject
{
    Q_OBJECT

    QString m_root, m_model, m_client, m_clientWhy;

    // Starts `lathe api` on a free port with `env` added; waits for its "listening on" line.
    bool start(Server& s, const QStringList& env, const QString& model = {}, const QString& templateName = "qwen")
    {
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert("API_PORT", "0");
        for (const QString& kv : env)
            e.insert(kv.section('=', 0, 0), kv.section('=', 1));
        s.process.setProcessEnvironment(e);
        s.process.start(lathe::test::latheBinary(),
                        {"api", "model_name_or_path=" + (model.isEmpty() ? m_model : model), "template=" + templateName,
                         "infer_dtype=float32",
                         "max_new_tokens=48", "--threads", "2"});
        QString out;
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 60000 && s.process.state() != QProcess::NotRunning) {
            s.process.waitForReadyRead(200);
            out += QString::fromUtf8(s.process.readAllStandardOutput());
            const auto m = QRegularExpression("listening on (http://[0-9.]+:[0-9]+/v1)").match(out);
            if (m.hasMatch()) {
                s.url = m.captured(1);
                return true;
            }
        }
        qWarning("lathe api did not start:\n%s\n%s", qPrintable(out), s.process.readAllStandardError().constData());
        return false;
    }

    static void stop(Server& s)
    {
        s.process.terminate();
        if (!s.process.waitForFinished(10000))
            s.process.kill();
    }

    // curl -s -w status; returns (status, body JSON or null).
    static std::pair<int, json> curl(const QString& url, const QStringList& extra, const QByteArray& body = {})
    {
        QProcess p;
        QStringList args = {"-s", "-o", "-", "-w", "\n%{http_code}", url};
        args << extra;
        if (!body.isNull())
            args << "-H" << "Content-Type: application/json" << "--data-binary" << "@-";
        p.start("curl", args);
        if (!body.isNull()) {
            p.write(body);
            p.closeWriteChannel();
        }
        p.waitForFinished(60000);
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        const int cut = out.lastIndexOf('\n');
        const int status = out.mid(cut + 1).toInt();
        const json j = json::parse(out.left(cut).toStdString(), nullptr, false);
        return {status, j.is_discarded() ? json() : j};
    }

    static QString message(const json& j)
    {
        return j.is_object() && j.contains("error") ? QString::fromStdString(j["error"].value("message", "")) : QString();
    }

private Q_SLOTS:
    void initTestCase()
    {
        torch::set_num_threads(2);
        m_root = lathe::test::scratchDir("api");
        const auto root = std::filesystem::path(m_root.toStdString());
        const auto model = lathe::test::makeTinyModel(root);
        // Room for the tool prompt (byte tokens) and the reply.
        json config = json::parse(readTextFile((model / "config.json").string()));
        config["max_position_embeddings"] = 4096;
        writeTextFileAtomic((model / "config.json").string(), config.dump(2));

        // One ShareGPT record: the question asked with the tool list, answered by a get_weather call.
        const json call = {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}};
        const json record = {{"conversations", json::array({{{"from", "human"}, {"value", kQuestion}},
                                                            {{"from", "function_call"}, {"value", call.dump()}}})},
                             {"tools", json::array({weatherTool()}).dump()}};
        writeTextFileAtomic((root / "data/weather.json").string(), json::array({record}).dump());
        writeTextFileAtomic((root / "data/dataset_info.json").string(),
                            json{{"weather",
                                  {{"file_name", "weather.json"}, {"formatting", "sharegpt"},
                                   {"columns", {{"messages", "conversations"}, {"tools", "tools"}}}}}}
                                .dump());
        ArgumentSet args;
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"model_name_or_path", model.string()}, {"stage", "sft"}, {"do_train", "true"},
                 {"finetuning_type", "full"}, {"dataset", "weather"}, {"dataset_dir", (root / "data").string()},
                 {"template", "qwen"}, {"cutoff_len", "2048"}, {"output_dir", (root / "trained").string()},
                 {"per_device_train_batch_size", "1"}, {"learning_rate", "1e-2"}, {"max_steps", "150"},
                 {"lr_scheduler_type", "constant"}, {"logging_steps", "50"}, {"save_steps", "1000"},
                 {"seed", "1"}})
            args.set(k, v);
        TrainResult result;
        QElapsedTimer t;
        t.start();
        LATHE_VERIFY_NO_ERROR(result = runTraining(args));
        qInfo("taught the tool call in %.1f s (loss %.3f -> %.4f)", t.elapsed() / 1000.0, result.stepLosses.front(),
              result.stepLosses.back());
        m_model = QString::fromStdString(result.outputDir);

        const QString client = qEnvironmentVariable("LATHE_API_CLIENT");
        QFile status(client + "/status.txt");
        if (client.isEmpty())
            m_clientWhy = "LATHE_API_CLIENT is not set: run through ctest";
        else if (!status.open(QIODevice::ReadOnly) || status.readAll().trimmed() != "ok")
            m_clientWhy = "the api_client fixture is not ready (" + client + "/status.txt)";
        else
            m_client = client;
    }

    void openAiClient()
    {
        if (m_client.isEmpty())
            QSKIP(qPrintable(m_clientWhy));
        Server s;
        QVERIFY(start(s, {"API_KEY=sekrit", "API_MODEL_NAME=lathe-test"}));
        QProcess node;
        node.setProcessChannelMode(QProcess::MergedChannels);
        const QString result = m_root + "/client.json";
        node.start("node", {m_client + "/api_check.mjs", s.url, "sekrit", result});
        QVERIFY(node.waitForFinished(300000));
        qInfo("%s", node.readAll().trimmed().constData());
        QCOMPARE(node.exitCode(), 0);
        const json r = json::parse(readTextFile(result.toStdString()));
        // The server is still up after everything.
        QCOMPARE(s.process.state(), QProcess::Running);
        stop(s);

        QCOMPARE(r["models"]["ids"], json::array({"lathe-test"}));
        const json& chat = r["chat"];
        QVERIFY2(!chat.contains("error"), chat.dump().c_str());
        const std::string content = chat["content"].get<std::string>();
        QVERIFY(!content.empty());
        QCOMPARE(chat["object"].get<std::string>(), std::string("chat.completion"));
        QVERIFY(chat["finish_reason"] == "stop" || chat["finish_reason"] == "length");
        QVERIFY(chat["usage"]["prompt_tokens"].get<int>() > 20);
        QCOMPARE(chat["usage"]["total_tokens"].get<int>(),
                 chat["usage"]["prompt_tokens"].get<int>() + chat["usage"]["completion_tokens"].get<int>());

        const json& stream = r["stream"];
        QVERIFY2(!stream.contains("error"), stream.dump().c_str());
        QCOMPARE(stream["content"].get<std::string>(), content);
        QCOMPARE(stream["roles"], json::array({"assistant"}));
        QCOMPARE(stream["finish_reason"], chat["finish_reason"]);
        QCOMPARE(stream["usage"]["completion_tokens"], chat["usage"]["completion_tokens"]);
        QVERIFY(stream["chunks"].get<int>() >= 3);

        const json& tools = r["tools"];
        QVERIFY2(!tools.contains("error"), tools.dump().c_str());
        QCOMPARE(tools["finish_reason"].get<std::string>(), std::string("tool_calls"));
        QCOMPARE(tools["calls"].size(), std::size_t(1));
        QCOMPARE(tools["calls"][0]["name"].get<std::string>(), std::string("get_weather"));
        QCOMPARE(json::parse(tools["calls"][0]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
        QVERIFY(tools["calls"][0]["id"].get<std::string>().rfind("call_", 0) == 0);
        QVERIFY(tools["content"].is_null());
        QVERIFY2(tools["followUp"].is_object() && tools["followUp"]["prompt_tokens"] > 0, tools.dump().c_str());

        const json& many = r["concurrent"];
        QVERIFY2(!many.contains("error"), many.dump().c_str());
        QCOMPARE(many["contents"].size(), std::size_t(20));
        for (const auto& c : many["contents"])
            QCOMPARE(c.get<std::string>(), content);

        const json& gone = r["disconnect"];
        QVERIFY2(!gone.contains("error"), gone.dump().c_str());
        QCOMPARE(gone["next_content"].get<std::string>(), content);
        // The abandoned 400-token stream was cancelled rather than run to the end before the next request.
        qInfo("request after the abandoned stream took %d ms (the chat took %d ms)", gone["next_ms"].get<int>(),
              chat["ms"].get<int>());
        QVERIFY(gone["next_ms"].get<int>() < 20 * std::max(200, chat["ms"].get<int>()));

        QCOMPARE(r["wrong_key"]["accepted"].get<bool>(), false);
        QCOMPARE(r["wrong_key"]["status"].get<int>(), 401);
    }

    // `lathe chat`: the REPL on stdin, greedy, with `clear` and `exit`.
    void chatRepl()
    {
        QProcess chat;
        chat.start(lathe::test::latheBinary(), {"chat", "model_name_or_path=" + m_model, "template=qwen",
                                                "temperature=0", "max_new_tokens=120", "--threads", "2"});
        // An invalid UTF-8 line and a line longer than the context are refused, and the conversation goes on.
        chat.write(QByteArray("bad \xff\xfe bytes\n") + QByteArray(200000, 'x') + "\n" + QByteArray(kQuestion) +
                   "\nclear\nexit\n");
        chat.closeWriteChannel();
        QVERIFY(chat.waitForFinished(120000));
        const QString out = QString::fromUtf8(chat.readAllStandardOutput());
        const QString err = QString::fromUtf8(chat.readAllStandardError());
        QCOMPARE(chat.exitCode(), 0);
        QVERIFY2(out.startsWith("Welcome to the CLI application"), qPrintable(out));
        // The reply is the engine's greedy answer to the same turn.
        ChatModelOptions mo;
        mo.modelDir = m_model.toStdString();
        mo.templateName = "qwen";
        mo.dtype = "float32";
        mo.device = "cpu";
        ChatEngine engine(mo);
        Conversation c;
        c.messages.push_back({Role::User, kQuestion});
        ChatGenerationOptions go;
        go.max_new_tokens = 120;
        const std::string want = engine.chat(c, go).content;
        QVERIFY(!want.empty());
        QVERIFY2(out.contains("Assistant: " + QString::fromStdString(want) + "\n"), qPrintable(out));
        QVERIFY(out.contains("History has been removed."));
        QVERIFY2(err.contains("not valid UTF-8") && err.contains("the conversation goes on"), qPrintable(err));
        QVERIFY2(QRegularExpression("\\[\\d+ tokens, [0-9.]+ tokens/s").match(err).hasMatch(), qPrintable(err));
    }

    // `template: jinja`: the model's own Jinja chat template writes the prompts. Here it is Qwen2.5's real template,
    // whose text is LLaMA-Factory's `qwen` (the template the model was taught with), tools included: the engine
    // builds the same ids both ways, and the server answers the tool question with the taught call.
    void jinjaTemplate()
    {
        const auto root = std::filesystem::path(m_root.toStdString()) / "jinja-model";
        std::filesystem::remove_all(root);
        std::filesystem::copy(m_model.toStdString(), root, std::filesystem::copy_options::recursive);
        const std::string source = readTextFile(QFINDTESTDATA("../template_data/jinja/qwen2.5-7b-instruct.jinja").toStdString());
        json config = json::parse(readTextFile((root / "tokenizer_config.json").string()));
        config["chat_template"] = source;
        writeTextFileAtomic((root / "tokenizer_config.json").string(), config.dump(2));

        ChatModelOptions mo;
        mo.modelDir = root.string();
        mo.dtype = "float32";
        mo.device = "cpu";
        mo.templateName = "jinja";
        ChatEngine viaJinja(mo);
        mo.templateName = "qwen";
        ChatEngine viaQwen(mo);
        Conversation plain;
        plain.messages.push_back({Role::User, "Hello there"});
        Conversation tools;
        tools.tools = json::array({weatherTool()}).dump();
        tools.messages.push_back({Role::User, kQuestion});
        const ChatGenerationOptions go;
        QVERIFY(viaJinja.promptIds(plain, go) == viaQwen.promptIds(plain, go));
        QVERIFY(viaJinja.promptIds(tools, go) == viaQwen.promptIds(tools, go));

        Server s;
        QVERIFY(start(s, {"API_KEY="}, QString::fromStdString(root.string()), "jinja"));
        const json body = {{"model", "lathe"}, {"max_tokens", 120},
                           {"messages", json::array({{{"role", "user"}, {"content", kQuestion}}})},
                           {"tools", json::array({{{"type", "function"}, {"function", weatherTool()}}})}};
        const auto [status, reply] = curl(s.url + "/chat/completions", {}, QByteArray::fromStdString(body.dump()));
        stop(s);
        QCOMPARE(status, 200);
        const json& message = reply["choices"][0]["message"];
        QVERIFY2(message.contains("tool_calls"), reply.dump().c_str());
        QCOMPARE(QString::fromStdString(message["tool_calls"][0]["function"]["name"].get<std::string>()),
                 QString("get_weather"));
    }

    void badRequests()
    {
        Server s;
        QVERIFY(start(s, {"API_KEY=sekrit"}));
        const QString chat = s.url + "/chat/completions";
        const QStringList auth = {"-H", "Authorization: Bearer sekrit"};
        auto post = [&](const json& body) { return curl(chat, auth, QByteArray::fromStdString(body.dump())); };
        const json user = {{"role", "user"}, {"content", "hi"}};
        const json assistant = {{"role", "assistant"}, {"content", "hello"}};

        auto [status, body] = curl(chat, auth, "{\"messages\": [");
        QCOMPARE(status, 400);
        QVERIFY2(message(body).contains("Invalid JSON"), qPrintable(message(body)));
        QCOMPARE(QString::fromStdString(body["error"]["type"].get<std::string>()), QString("invalid_request_error"));
        std::tie(status, body) = post({{"messages", json::array()}});
        QCOMPARE(status, 400);
        QCOMPARE(message(body), QString("Invalid length"));
        std::tie(status, body) = post({{"messages", {user, assistant}}});
        QCOMPARE(status, 400);
        QCOMPARE(message(body), QString("Only supports u/a/u/a/u..."));
        std::tie(status, body) = post({{"messages", {assistant}}});
        QCOMPARE(status, 400);
        QCOMPARE(message(body), QString("Invalid role"));
        std::tie(status, body) = post({{"messages", {user, user, user}}});
        QCOMPARE(status, 400);
        QCOMPARE(message(body), QString("Invalid role"));
        std::tie(status, body) = post({{"messages", {user}}, {"tools", "not a list"}});
        QCOMPARE(status, 400);
        QCOMPARE(message(body), QString("Invalid tools"));
        std::tie(status, body) = post({{"messages", {user}}, {"temperature", 7}});
        QCOMPARE(status, 400);
        QVERIFY(message(body).contains("temperature"));
        std::tie(status, body) = post({{"messages", {{{"role", "user"}, {"content", std::string(5000, 'x')}}}}});
        QCOMPARE(status, 400);
        QVERIFY2(message(body).contains("context"), qPrintable(message(body)));
        std::tie(status, body) = curl(chat, auth, QByteArray(9 << 20, 'x'));
        QCOMPARE(status, 413);
        // Hostile bodies (issue 20): JSON nested 300,000 deep (it crashed the recursive parser), and fields of
        // the wrong type, each a 400 naming the field instead of a 500 with the library's text.
        std::tie(status, body) = curl(chat, auth, "{\"messages\": " + QByteArray(300000, '[') + QByteArray(300000, ']') + "}");
        QCOMPARE(status, 400);
        QVERIFY2(message(body).contains("deeper"), qPrintable(message(body)));
        const json wrongTypes[] = {
            {{"messages", {user}}, {"stream", "yes"}},
            {{"messages", {{{"role", 5}, {"content", "hi"}}}}},
            {{"messages", {{{"role", "user"}, {"content", {{{"type", 5}}}}}}}},
            {{"messages", {user, {{"role", "assistant"}, {"tool_calls", {5}}}, user}}},
            {{"messages", {user}}, {"tools", {{{"type", "function"}, {"function", {{"name", 5}}}}}}},
            {{"messages", {user}}, {"stream", true}, {"stream_options", {{"include_usage", "x"}}}},
            {{"messages", {user}}, {"max_tokens", 1e30}},
        };
        for (const auto& wrong : wrongTypes) {
            std::tie(status, body) = post(wrong);
            QVERIFY2(status == 400, qPrintable(QString::fromStdString(wrong.dump()) + QString(" -> %1 ").arg(status) + message(body)));
        }
        QCOMPARE(s.process.state(), QProcess::Running);
        std::tie(status, body) = post({{"messages", {user}}, {"max_tokens", 4}});
        QCOMPARE(status, 200);
        QCOMPARE(body["choices"][0]["finish_reason"].get<std::string>(), std::string("length"));
        QCOMPARE(body["usage"]["completion_tokens"].get<int>(), 4);
        // Without the key, or with a wrong one: 401, for every endpoint.
        std::tie(status, body) = curl(s.url + "/models", {});
        QCOMPARE(status, 401);
        QCOMPARE(QString::fromStdString(body["error"]["code"].get<std::string>()), QString("invalid_api_key"));
        std::tie(status, body) = curl(chat, {"-H", "Authorization: Bearer nope"}, QByteArray::fromStdString(json{{"messages", {user}}}.dump()));
        QCOMPARE(status, 401);
        std::tie(status, body) = curl(s.url + "/nothing", auth);
        QCOMPARE(status, 404);
        QCOMPARE(s.process.state(), QProcess::Running);
        // A browser page's simple request (text/plain) and a request under another host name (DNS rebinding).
        {
            QProcess p;
            p.start("curl", {"-s", "-o", "/dev/null", "-w", "%{http_code}", chat, "-H", "Authorization: Bearer sekrit",
                             "-H", "Content-Type: text/plain", "--data-binary", "{}"});
            QVERIFY(p.waitForFinished(60000));
            QCOMPARE(QString::fromUtf8(p.readAllStandardOutput()), QString("415"));
            p.start("curl", {"-s", "-o", "/dev/null", "-w", "%{http_code}", s.url + "/models", "-H",
                             "Authorization: Bearer sekrit", "-H", "Host: attacker.example"});
            QVERIFY(p.waitForFinished(60000));
            QCOMPARE(QString::fromUtf8(p.readAllStandardOutput()), QString("403"));
        }
        stop(s);

        // Auth off: no key needed. The server listens on 127.0.0.1 by default.
        Server open;
        QVERIFY(start(open, {}));
        QVERIFY(open.url.startsWith("http://127.0.0.1:"));
        std::tie(status, body) = curl(open.url + "/models", {});
        QCOMPARE(status, 200);
        QCOMPARE(body["data"][0]["id"].get<std::string>(), std::string("gpt-3.5-turbo"));
        stop(open);
    }
    // Issue 20, items 2, 3 and 5: clients that hold connections open with half a request, and bodies that skip
    // the Content-Length limit (chunked, compressed) or are form-encoded.
    void slowAndOversizedClients()
    {
        Server s;
        QVERIFY(start(s, {}));
        const int port = s.url.section(':', 2).section('/', 0, 0).toInt();
        // 40 connections that send half a request head and wait (they held all 32 workers for 60 s).
        std::vector<int> sockets;
        for (int i = 0; i < 40; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            QVERIFY(fd >= 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(static_cast<std::uint16_t>(port));
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            QVERIFY(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
            const std::string half = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty";
            QVERIFY(::send(fd, half.data(), half.size(), 0) == static_cast<ssize_t>(half.size()));
            sockets.push_back(fd);
        }
        QElapsedTimer t;
        t.start();
        auto [status, body] = curl(s.url + "/models", {"--max-time", "20"});
        QCOMPARE(status, 200);
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString("/v1/models took %1 ms behind slow clients").arg(t.elapsed())));
        for (const int fd : sockets)
            ::close(fd);

        const QString chat = s.url + "/chat/completions";
        const QString dir = lathe::test::scratchDir("api-bodies");
        // 50 MB sent chunked: refused at the limit, not read whole and tokenized.
        const QString big = dir + "/big.json";
        {
            QFile f(big);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"messages\": [{\"role\": \"user\", \"content\": \"");
            const QByteArray block(1 << 20, 'x');
            for (int i = 0; i < 50; ++i)
                f.write(block);
            f.write("\"}]}");
        }
        auto curlStatus = [](const QStringList& args) {
            QProcess p;
            p.start("curl", QStringList{"-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60"} + args);
            p.waitForFinished(90000);
            return QString::fromUtf8(p.readAllStandardOutput());
        };
        t.restart();
        QCOMPARE(curlStatus({chat, "-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked",
                             "--data-binary", "@" + big}),
                 QString("413"));
        QVERIFY2(t.elapsed() < 15000, qPrintable(QString("a chunked 50 MB body took %1 ms").arg(t.elapsed())));
        // 200 MB of zeros compressed to ~200 KB: the limit counts what it expands to.
        const QString zipped = dir + "/zeros.json.gz";
        QProcess gz;
        gz.setStandardOutputFile(zipped);
        gz.start("sh", {"-c", "head -c 200000000 /dev/zero | gzip -c"});
        QVERIFY(gz.waitForFinished(60000));
        QVERIFY(QFileInfo(zipped).size() < (1 << 20));
        t.restart();
        QCOMPARE(curlStatus({chat, "-H", "Content-Type: application/json", "-H", "Content-Encoding: gzip",
                             "--data-binary", "@" + zipped}),
                 QString("413"));
        QVERIFY2(t.elapsed() < 15000, qPrintable(QString("a gzip bomb took %1 ms").arg(t.elapsed())));
        // 9 KB form-encoded: refused for its type (a web page can send it without asking), with a true message.
        QProcess form;
        form.start("curl", {"-s", "-o", "-", "-w", "\n%{http_code}", chat, "-H",
                            "Content-Type: application/x-www-form-urlencoded", "--data-binary", "@-"});
        form.write(QByteArray(9 * 1024, 'a'));
        form.closeWriteChannel();
        QVERIFY(form.waitForFinished(60000));
        const QString out = QString::fromUtf8(form.readAllStandardOutput());
        QCOMPARE(out.section('\n', -1), QString("415"));
        QVERIFY2(out.contains("Content-Type") && !out.contains("limit"), qPrintable(out));
        // And it still answers.
        std::tie(status, body) = curl(s.url + "/models", {});
        QCOMPARE(status, 200);
        QCOMPARE(s.process.state(), QProcess::Running);
        stop(s);
    }
};

QTEST_GUILESS_MAIN(TestApi)
#include "tst_api.moc"
