// Generation (core/generation): greedy ids against the transformers + PEFT fixtures in plain, streaming and
// merged-adapter modes; the sampler's processors and warpers against hand-computed cases and frequencies; the
// reasoning splitter under every chunking; and the chat engine's stop strings, cancel and one-at-a-time
// serving on the tiny test model.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "generation/chat_engine.h"
#include "generation/generator.h"
#include "generation/sampler.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "test_support.h"
#include "tiny_model.h"
#include "util/file_util.h"

using json = nlohmann::json;
using namespace lathe;

namespace {

using Ids = std::vector<std::int64_t>;

torch::Tensor logitsOf(const std::vector<float>& values) { return torch::tensor(values, torch::kFloat32); }

std::map<std::int64_t, double> frequencies(Sampler& sampler, const torch::Tensor& logits, int draws)
{
    std::map<std::int64_t, double> out;
    for (int i = 0; i < draws; ++i)
        out[sampler.next(logits, Ids{})] += 1.0 / draws;
    return out;
}

struct Split
{
    std::string reasoning, content;
};

Split splitInChunks(const std::string& text, std::size_t chunk)
{
    ReasoningSplitter splitter("<think>", "</think>");
    Split out;
    for (std::size_t i = 0; i < text.size(); i += chunk)
        splitter.push(text.substr(i, chunk), out.reasoning, out.content);
    splitter.finish(out.reasoning, out.content);
    return out;
}

} // namespace

class TestGeneration : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(2); }

    // ===== against the fixtures =====

    void fixtureGreedy_data()
    {
        QTest::addColumn<QString>("fixture");
        for (const char* name : {"qwen3-tied", "qwen2-untied-bias", "llama-sharded-bf16-rope3"})
            QTest::newRow(name) << QString(name);
    }

    void fixtureGreedy()
    {
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, fixture);
        const std::string dir = lathe::test::hfFixture(fixture).toStdString();
        const json expected = json::parse(readTextFile(dir + "/expected.json"));
        CausalLM base(nullptr), adapted(nullptr), merged(nullptr);
        LATHE_VERIFY_NO_ERROR(base = loadModel(dir + "/model", {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(adapted = loadModel(dir + "/model", {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(loadInferenceAdapters(adapted, {dir + "/adapter"}));
        LATHE_VERIFY_NO_ERROR(merged = loadModel(dir + "/model", {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(loadInferenceAdapters(merged, {dir + "/adapter"}, /*mergeAll=*/true));
        for (const auto& c : expected["cases"]) {
            const Ids prompt = c["input_ids"].get<Ids>();
            for (const auto& [which, model] :
                 {std::pair<const char*, CausalLM*>{"base", &base}, {"adapter", &adapted}, {"adapter", &merged}}) {
                const Ids want = c[which]["greedy"].get<Ids>();
                GenerationOptions options;
                options.max_new_tokens = static_cast<std::int64_t>(want.size());
                QCOMPARE(greedyGenerate(*model, prompt, options).output_ids, want);
                // Streaming: the callback sees exactly those tokens, one at a time, as they come.
                Ids streamed;
                options.on_token = [&](std::int64_t id) {
                    streamed.push_back(id);
                    return true;
                };
                const auto result = generate(*model, prompt, options);
                QCOMPARE(streamed, want);
                QCOMPARE(result.finish_reason, std::string("length"));
                // Sampling with top_k 1 is greedy too.
                options.on_token = {};
                options.sampling.do_sample = true;
                options.sampling.top_k = 1;
                options.sampling.seed = 1;
                QCOMPARE(generate(*model, prompt, options).output_ids, want);
            }
        }
    }

    // ===== the sampler =====

    void repetitionPenalty()
    {
        // CTRL: positive scores of earlier tokens divided, negative ones multiplied; each token once.
        SamplingOptions o;
        o.repetition_penalty = 2.0;
        Sampler sampler(o);
        // Token 0 (3.0 -> 1.5) loses to token 1 (2.0) once it has been seen; -1 -> -2 for token 2.
        QCOMPARE(sampler.next(logitsOf({3.0f, 2.0f, -1.0f}), Ids{}), std::int64_t(0));
        QCOMPARE(sampler.next(logitsOf({3.0f, 2.0f, -1.0f}), Ids{0, 0, 0}), std::int64_t(1));
        QCOMPARE(sampler.next(logitsOf({-3.0f, -2.5f, -1.0f}), Ids{2}), std::int64_t(2)); // -2 beats -2.5
        QCOMPARE(sampler.next(logitsOf({-3.0f, -1.9f, -1.0f}), Ids{2}), std::int64_t(1)); // -1.9 beats -2
    }

    void samplingFrequencies()
    {
        // p = (0.5, 0.3, 0.2): plain sampling follows it; top_p 0.6 drops token 2 (cumulative ascending 0.2
        // <= 0.4) leaving (0.625, 0.375); top_k 1 is argmax; temperature 0.5 squares the odds (25:9:4).
        const auto logits = logitsOf({std::log(0.5f), std::log(0.3f), std::log(0.2f)});
        const int draws = 20000; // standard error of a frequency <= 0.0035
        SamplingOptions o;
        o.do_sample = true;
        o.seed = 7;
        Sampler plain(o);
        auto f = frequencies(plain, logits, draws);
        QVERIFY(std::abs(f[0] - 0.5) < 0.015 && std::abs(f[1] - 0.3) < 0.015 && std::abs(f[2] - 0.2) < 0.015);
        o.top_p = 0.6;
        Sampler nucleus(o);
        f = frequencies(nucleus, logits, draws);
        QCOMPARE(f.count(2), std::size_t(0));
        QVERIFY2(std::abs(f[0] - 0.625) < 0.015, qPrintable(QString::number(f[0])));
        o.top_p = 1.0;
        o.top_k = 1;
        Sampler topK(o);
        f = frequencies(topK, logits, 200);
        QCOMPARE(f[0], 1.0);
        o.top_k = 0;
        o.temperature = 0.5;
        Sampler cold(o);
        f = frequencies(cold, logits, draws);
        QVERIFY2(std::abs(f[0] - 25.0 / 38) < 0.015 && std::abs(f[2] - 4.0 / 38) < 0.015,
                 qPrintable(QString("%1 %2").arg(f[0]).arg(f[2])));
        // A seed makes it reproducible; temperature 0 is greedy.
        o.temperature = 1.0;
        Sampler a(o), b(o);
        Ids ra, rb;
        for (int i = 0; i < 50; ++i) {
            ra.push_back(a.next(logits, Ids{}));
            rb.push_back(b.next(logits, Ids{}));
        }
        QCOMPARE(ra, rb);
        o.temperature = 0;
        QVERIFY(Sampler(o).greedy());
        QString message;
        o.top_p = 0;
        LATHE_VERIFY_ERROR(Sampler{o}, message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"top_p"}));
    }

    // ===== reasoning =====

    void reasoningSplitter_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("reasoning");
        QTest::addColumn<QString>("content");
        QTest::newRow("qwen3") << "<think>\nLet me add.\n2+2=4\n</think>\n\nIt is 4." << "Let me add.\n2+2=4"
                               << "It is 4.";
        QTest::newRow("empty thought") << "<think>\n\n</think>\n\nHello" << "" << "Hello";
        QTest::newRow("no thought") << "Just an answer <think> inside" << ""
                                    << "Just an answer <think> inside";
        QTest::newRow("unfinished thought") << "<think>\nstill thinking " << "still thinking" << "";
        QTest::newRow("leading newline") << "\n<think>a</think>b" << "a" << "b";
        QTest::newRow("lookalike") << "<thin>x" << "" << "<thin>x";
        QTest::newRow("CJK") << "<think>\n先想一想\n</think>\n\n答案是四。" << "先想一想" << "答案是四。";
    }

    void reasoningSplitter()
    {
        QFETCH(QString, text);
        QFETCH(QString, reasoning);
        QFETCH(QString, content);
        const std::string t = text.toStdString();
        for (std::size_t chunk = 1; chunk <= t.size(); ++chunk) {
            const Split s = splitInChunks(t, chunk);
            QVERIFY2(s.reasoning == reasoning.toStdString() && s.content == content.toStdString(),
                     qPrintable(QString("chunk %1: [%2] [%3]").arg(chunk).arg(QString::fromStdString(s.reasoning),
                                                                              QString::fromStdString(s.content))));
        }
    }

    // ===== the chat engine =====

    // A reply never runs past the model's context (max_position_embeddings, 512 for the tiny model): it stops
    // with finish_reason "length" and says the context was full.
    void chatEngineStopsAtTheContext()
    {
        const auto root = std::filesystem::path(lathe::test::scratchDir("chat_context").toStdString());
        const auto modelDir = lathe::test::makeTinyModel(root);
        ChatModelOptions mo;
        mo.modelDir = modelDir.string();
        mo.templateName = "qwen";
        mo.dtype = "float32";
        mo.device = "cpu";
        std::unique_ptr<ChatEngine> engine;
        LATHE_VERIFY_NO_ERROR(engine = std::make_unique<ChatEngine>(mo));
        QCOMPARE(engine->contextLength(), std::int64_t(512));
        Conversation c;
        c.messages.push_back({Role::User, std::string(380, 'a')}); // bytes: one token each; the prompt stays under 512
        ChatGenerationOptions go;
        go.max_new_tokens = 200;
        go.stopStrings.clear();
        const auto prompt = engine->promptIds(c, go);
        QVERIFY(prompt.size() < 512 && prompt.size() + 200 > 512);
        const ChatReply reply = engine->chat(c, go);
        QVERIFY2(reply.completionTokens <= 512 - std::int64_t(prompt.size()), qPrintable(QString("%1 tokens after a %2-token prompt, %3").arg(reply.completionTokens).arg(prompt.size()).arg(QString::fromStdString(reply.finishReason))));
        if (reply.finishReason == "length") {
            QCOMPARE(reply.completionTokens, 512 - std::int64_t(prompt.size()));
            QVERIFY(reply.contextFull);
        }
        go.max_new_tokens = 4; // a short reply is bounded by max_new_tokens, not the context
        const ChatReply shortReply = engine->chat(c, go);
        QVERIFY(!shortReply.contextFull);
    }

    void chatEngine()
    {
        const auto root = std::filesystem::path(lathe::test::scratchDir("chat_engine").toStdString());
        const auto modelDir = lathe::test::makeTinyModel(root);
        ChatModelOptions mo;
        mo.modelDir = modelDir.string();
        mo.templateName = "qwen";
        mo.dtype = "float32";
        mo.device = "cpu";
        std::unique_ptr<ChatEngine> engine;
        LATHE_VERIFY_NO_ERROR(engine = std::make_unique<ChatEngine>(mo));
        Conversation c;
        c.messages.push_back({Role::User, "hello"});
        ChatGenerationOptions go;
        go.max_new_tokens = 12;

        // Greedy reply equals greedy generation of the prompt, decoded; streamed deltas add up to it.
        std::string streamed;
        const ChatReply reply = engine->chat(c, go, [&](const std::string& r, const std::string& t) {
            streamed += r + t;
            return true;
        });
        CausalLM model(nullptr);
        LATHE_VERIFY_NO_ERROR(model = loadModel(mo.modelDir, {torch::kCPU, torch::kFloat32}));
        const auto prompt = engine->promptIds(c, go);
        GenerationOptions g;
        g.max_new_tokens = 12;
        const auto stops = engine->encoder().stopTokenIds();
        g.eos_token_ids.assign(stops.begin(), stops.end());
        auto ids = greedyGenerate(model, Ids(prompt.begin(), prompt.end()), g).output_ids;
        if (!ids.empty() && std::find(stops.begin(), stops.end(), ids.back()) != stops.end())
            ids.pop_back();
        const std::string want = engine->tokenizer().decode(std::vector<TokenId>(ids.begin(), ids.end()), true);
        QCOMPARE(QString::fromStdString(reply.text), QString::fromStdString(want));
        QCOMPARE(QString::fromStdString(streamed), QString::fromStdString(reply.content));
        QCOMPARE(reply.promptTokens, std::int64_t(prompt.size()));
        QVERIFY(reply.finishReason == "length" || reply.finishReason == "stop");

        // A stop string cuts the reply where it starts (here: the reply's second character onwards).
        QVERIFY(want.size() >= 3);
        go.stopStrings = {want.substr(1, 2)};
        const ChatReply cut = engine->chat(c, go);
        QCOMPARE(QString::fromStdString(cut.content), QString::fromStdString(want.substr(0, want.find(want.substr(1, 2)))));
        QCOMPARE(cut.finishReason, std::string("stop"));
        go.stopStrings.clear();

        // The callback returning false cancels; so does the flag.
        int calls = 0;
        const ChatReply stoppedEarly = engine->chat(c, go, [&](const std::string&, const std::string&) {
            return ++calls < 2;
        });
        QCOMPARE(stoppedEarly.finishReason, std::string("cancelled"));
        QVERIFY(stoppedEarly.completionTokens < reply.completionTokens || reply.completionTokens <= 2);
        std::atomic<bool> cancel{true};
        QCOMPARE(engine->chat(c, go, {}, &cancel).finishReason, std::string("cancelled"));

        // Several threads at once: served one at a time, every reply complete and equal.
        std::atomic<int> active{0}, most{0};
        std::vector<std::string> texts(6);
        std::vector<std::thread> threads;
        for (int i = 0; i < 6; ++i)
            threads.emplace_back([&, i] {
                texts[i] = engine->chat(c, go, [&](const std::string&, const std::string&) {
                               const int now = ++active;
                               most = std::max(most.load(), now);
                               std::this_thread::sleep_for(std::chrono::milliseconds(1));
                               --active;
                               return true;
                           }).text;
            });
        for (auto& t : threads)
            t.join();
        QCOMPARE(most.load(), 1);
        for (const auto& t : texts)
            QCOMPARE(QString::fromStdString(t), QString::fromStdString(want));
        QCOMPARE(engine->waiting(), 0);
    }
};

QTEST_GUILESS_MAIN(TestGeneration)
#include "tst_generation.moc"
