// Tests of the `lathe` command line: the real executable, run as a user runs it.
//
// Commands must print what they promise (JSON that parses, HF-exact outputs on the shared fixtures) and
// every user mistake must end with a clear message on stderr and a nonzero exit code, never a crash.
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QtTest/QtTest>

#include "io/safetensors.h"
#include "test_support.h"
#include "tokenizer/unicode_util.h"
#include "util/file_util.h"

using lathe::test::ProcessResult;
using lathe::test::runLathe;
using nlohmann::json;

namespace {

QString describe(const ProcessResult& r)
{
    return QString("exit %1\nstdout: %2\nstderr: %3").arg(r.exitCode).arg(r.out.left(2000), r.err.left(2000));
}

/// Parses stdout as JSON; fails the calling test (via the returned flag) when it is not.
bool parseJson(const ProcessResult& r, json& out)
{
    try {
        out = json::parse(r.out.toStdString());
        return true;
    } catch (const json::exception&) {
        return false;
    }
}

QString idsArg(const std::vector<std::int64_t>& ids)
{
    QStringList parts;
    for (auto id : ids)
        parts << QString::number(id);
    return parts.join(',');
}

json expectedFor(const QString& fixture)
{
    return json::parse(
        lathe::readTextFile((lathe::test::hfFixture(fixture) + "/expected.json").toStdString()));
}

} // namespace

class TestCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void version();
    void help();
    void envJson();
    void generateMatchesHf_data();
    void generateMatchesHf();
    void perplexityMatchesHf_data();
    void perplexityMatchesHf();
    void newModelThenGenerate();
    void trainThenGeneratePrompt();
    void tokenize();
    void userErrors_data();
    void userErrors();
    void unknownCommand();
    void scorePredictions();
};

void TestCli::initTestCase()
{
    const QString binary = lathe::test::latheBinary();
    QVERIFY2(
        !binary.isEmpty() && QFileInfo(binary).isExecutable(),
        qPrintable("the lathe executable was not found (LATHE_BINARY=" + binary + "); run through ctest"));
}

void TestCli::version()
{
    const auto r = runLathe({"version"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.startsWith("Lathe "), qPrintable(r.out));
    QVERIFY(r.out.contains("libtorch"));
    QVERIFY(r.out.contains("Qt"));
}

void TestCli::help()
{
    const auto r = runLathe({"help"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    for (const char* command : {"version", "env", "new-model", "generate", "perplexity", "tokenize"})
        QVERIFY2(r.out.contains(command), command);
}

void TestCli::envJson()
{
    const auto r = runLathe({"env", "--json", "--no_bench"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    json env;
    QVERIFY2(parseJson(r, env), qPrintable("not JSON: " + r.out));
    QVERIFY(env.is_object());
    for (const char* key : {"libtorch", "Qt", "BLAS", "threads", "devices"}) {
        QVERIFY2(env.contains(key), key);
        QVERIFY2(env[key].is_string() && !env[key].get<std::string>().empty(), key);
    }
    QVERIFY(QString::fromStdString(env["devices"].get<std::string>()).startsWith("cpu"));
    QVERIFY(QString::fromStdString(env["threads"].get<std::string>()).toInt() >= 1);
    // --threads reaches the engine.
    const auto two = runLathe({"env", "--json", "--no_bench", "--threads", "2"});
    QVERIFY2(two.exitCode == 0, qPrintable(describe(two)));
    json envTwo;
    QVERIFY(parseJson(two, envTwo));
    QCOMPARE(QString::fromStdString(envTwo["threads"].get<std::string>()), QString("2"));
}

void TestCli::generateMatchesHf_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<bool>("useCache");
    QTest::newRow("qwen3-tied") << "qwen3-tied" << true;
    QTest::newRow("qwen2-untied-bias") << "qwen2-untied-bias" << true;
    QTest::newRow("llama-sharded-bf16-rope3") << "llama-sharded-bf16-rope3" << true;
    QTest::newRow("llama-sharded-bf16-rope3 no cache") << "llama-sharded-bf16-rope3" << false;
}

void TestCli::generateMatchesHf()
{
    QFETCH(QString, fixture);
    QFETCH(bool, useCache);
    LATHE_REQUIRE_SHARED();
    const json expected = expectedFor(fixture);
    const auto& c = expected["cases"][0];
    const auto ids = c["input_ids"].get<std::vector<std::int64_t>>();
    const auto wantIds = c["base"]["greedy"].get<std::vector<std::int64_t>>();
    const auto wantLogits = c["base"]["logits_last"].get<std::vector<double>>();

    const auto r =
        runLathe({"generate", "--model_name_or_path", lathe::test::hfFixture(fixture) + "/model",
                  "--input_ids", idsArg(ids), "--max_new_tokens", QString::number(wantIds.size()), "--dtype",
                  "fp32", "--device", "cpu", "--use_cache", useCache ? "true" : "false", "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    json out;
    QVERIFY2(parseJson(r, out), qPrintable("not JSON: " + r.out.left(500)));
    QCOMPARE(out["input_ids"].get<std::vector<std::int64_t>>(), ids);
    const auto gotIds = out["output_ids"].get<std::vector<std::int64_t>>();
    QVERIFY2(gotIds == wantIds, qPrintable("output_ids " + idsArg(gotIds) + ", HF " + idsArg(wantIds)));
    const auto gotLogits = out["logits_last"].get<std::vector<double>>();
    QCOMPARE(gotLogits.size(), wantLogits.size());
    double worst = 0;
    for (std::size_t i = 0; i < gotLogits.size(); ++i)
        worst = std::max(worst, std::abs(gotLogits[i] - wantLogits[i]));
    QVERIFY2(worst <= 1e-4, qPrintable(QString("logits_last differ from HF by %1").arg(worst)));
    QVERIFY2(!r.err.contains("warning"), qPrintable(r.err)); // every option given was used
}

void TestCli::perplexityMatchesHf_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<int>("caseIndex");
    QTest::newRow("qwen3-tied/case1") << "qwen3-tied" << 1;
    QTest::newRow("qwen2-untied-bias/case0") << "qwen2-untied-bias" << 0;
    QTest::newRow("llama-sharded-bf16-rope3/case1") << "llama-sharded-bf16-rope3" << 1;
}

void TestCli::perplexityMatchesHf()
{
    QFETCH(QString, fixture);
    QFETCH(int, caseIndex);
    LATHE_REQUIRE_SHARED();
    const json expected = expectedFor(fixture);
    const auto& c = expected["cases"][caseIndex];
    const auto ids = c["input_ids"].get<std::vector<std::int64_t>>();
    const double wantLoss = c["base"]["loss"].get<double>();

    const auto r = runLathe({"perplexity", "--model_name_or_path", lathe::test::hfFixture(fixture) + "/model",
                             "--input_ids", idsArg(ids), "--dtype", "fp32", "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    json out;
    QVERIFY2(parseJson(r, out), qPrintable("not JSON: " + r.out));
    const double loss = out["loss"].get<double>();
    QVERIFY2(std::abs(loss - wantLoss) <= 1e-4,
             qPrintable(QString("loss %1, HF %2").arg(loss).arg(wantLoss)));
    QVERIFY(std::abs(out["perplexity"].get<double>() - std::exp(wantLoss)) <= 1e-3 * std::exp(wantLoss));
    QCOMPARE(out["tokens"].get<std::int64_t>(), std::int64_t(ids.size()) - 1);
}

void TestCli::newModelThenGenerate()
{
    const QString dir = lathe::test::scratchDir("cli/new-model") + "/tiny-llama";
    const auto made = runLathe(
        {"new-model", "--arch", "llama", "--config", "tiny", "--out", dir, "--seed", "5", "--dtype", "bf16"});
    QVERIFY2(made.exitCode == 0, qPrintable(describe(made)));
    QVERIFY(made.out.contains("LlamaForCausalLM"));
    QVERIFY(QFile::exists(dir + "/config.json"));
    QVERIFY(QFile::exists(dir + "/model.safetensors"));

    const QStringList args = {"generate",  "--model_name_or_path",
                              dir,         "--input_ids",
                              "1,2,3,4,5", "--max_new_tokens",
                              "6",         "--dtype",
                              "fp32",      "--json"};
    const auto first = runLathe(args);
    QVERIFY2(first.exitCode == 0, qPrintable(describe(first)));
    json out;
    QVERIFY2(parseJson(first, out), qPrintable("not JSON: " + first.out.left(500)));
    const auto ids = out["output_ids"].get<std::vector<std::int64_t>>();
    QCOMPARE(ids.size(), std::size_t(6));
    for (auto id : ids)
        QVERIFY(id >= 0 && id < 1000); // the tiny preset's vocabulary
    QCOMPARE(out["logits_last"].size(), std::size_t(1000));

    // Deterministic: the same command gives the same tokens; plain (non-JSON) output lists them.
    const auto plain = runLathe(args.mid(0, args.size() - 1));
    QVERIFY2(plain.exitCode == 0, qPrintable(describe(plain)));
    QCOMPARE(plain.out.trimmed(), idsArg(ids));
}

// `lathe train` with key=value arguments only, then `lathe generate --prompt`: the prompt is the chat
// template's user turn, the trained adapter answers a training question with its training answer, and
// several adapters are merged in order. A byte-level tokenizer (ids 0-255 are the bytes, Qwen's chat specials
// 256-258) makes the prompt ids exactly predictable; the model is tiny, so training takes seconds.
void TestCli::trainThenGeneratePrompt()
{
    const QString root = lathe::test::scratchDir("cli/generate-prompt");
    auto write = [&](const QString& path, const std::string& content) {
        QDir().mkpath(QFileInfo(path).absolutePath());
        lathe::writeTextFileAtomic(path.toStdString(), content);
    };
    json vocab = json::object();
    const auto& alphabet = lathe::unicode::byteLevelAlphabet();
    for (int b = 0; b < 256; ++b)
        vocab[alphabet[b]] = b;
    json added = json::object();
    const char* specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; ++i)
        added[std::to_string(256 + i)] = {{"content", specials[i]}, {"special", true}, {"normalized", false}};
    write(root + "/tokenizer/vocab.json", vocab.dump());
    write(root + "/tokenizer/merges.txt", "#version: 0.2\n");
    write(root + "/tokenizer/tokenizer_config.json", json{{"tokenizer_class", "Qwen2Tokenizer"},
                                                          {"eos_token", "<|im_end|>"},
                                                          {"pad_token", "<|endoftext|>"},
                                                          {"added_tokens_decoder", added}}
                                                         .dump());
    // (initializer_range 0.3: the tied embeddings bound the logits LoRA can reach, see new_model.cpp)
    const QString modelConfig = QString::fromStdString(
        json{{"preset", "tiny"}, {"vocab_size", 300}, {"initializer_range", 0.3}}.dump());
    const QString model = root + "/model";
    const auto made = runLathe({"new-model", "--arch", "qwen3", "--config", modelConfig, "--tokenizer",
                                root + "/tokenizer", "--out", model, "--dtype", "fp32"});
    QVERIFY2(made.exitCode == 0, qPrintable(describe(made)));

    const json records =
        json::array({{{"instruction", "Who are you?"}, {"input", ""}, {"output", "I am Lathe."}},
                     {{"instruction", "hi"}, {"input", ""}, {"output", "Hello!"}},
                     {{"instruction", "What is LoRA?"}, {"input", ""}, {"output", "An adapter."}}});
    write(root + "/data/qa.json", records.dump(2));
    write(root + "/data/dataset_info.json", json{{"qa", {{"file_name", "qa.json"}}}}.dump());
    const QStringList train = {"train",
                               "model_name_or_path=" + model,
                               "stage=sft",
                               "do_train=true",
                               "finetuning_type=lora",
                               "lora_rank=8",
                               "lora_target=all",
                               "dataset=qa",
                               "dataset_dir=" + root + "/data",
                               "template=qwen3_nothink",
                               "cutoff_len=64",
                               "output_dir=" + root + "/saves",
                               "tokenized_path=" + root + "/tokens",
                               "per_device_train_batch_size=3",
                               "learning_rate=2e-2",
                               "max_steps=60",
                               "logging_steps=10",
                               "threads=1"};
    const auto trained = runLathe(train);
    QVERIFY2(trained.exitCode == 0, qPrintable(describe(trained)));
    QVERIFY(QFile::exists(root + "/saves/adapter_model.safetensors"));

    auto bytes = [](const std::string& text) {
        std::vector<std::int64_t> ids;
        for (const char c : text)
            ids.push_back(static_cast<unsigned char>(c));
        return ids;
    };
    auto concat = [](std::initializer_list<std::vector<std::int64_t>> parts) {
        std::vector<std::int64_t> out;
        for (const auto& p : parts)
            out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    const std::int64_t imStart = 257, imEnd = 258, newline = 10;
    const QStringList generate = {
        "generate", "--model_name_or_path", model, "--template", "qwen3_nothink", "--threads", "1"};
    auto answer = [&](const QStringList& extra, json& out) {
        const auto r = runLathe(generate + extra + QStringList{"--json"});
        [&] {
            QVERIFY2(r.exitCode == 0 && !r.err.contains("warning"), qPrintable(describe(r)));
            QVERIFY2(parseJson(r, out), qPrintable("not JSON: " + r.out.left(500)));
        }();
        return out.is_object() && out.contains("text")
                   ? QString::fromStdString(out["text"].get<std::string>())
                   : QString("(no answer)");
    };

    json out;
    QCOMPARE(answer({"--prompt", "Who are you?", "--adapter_name_or_path", root + "/saves"}, out),
             QString("I am Lathe."));
    const auto userTurn =
        concat({{imStart}, bytes("user\nWho are you?"), {imEnd, newline, imStart}, bytes("assistant\n")});
    QCOMPARE(out["prompt_ids"].get<std::vector<std::int64_t>>(), userTurn);
    const auto outputIds = out["output_ids"].get<std::vector<std::int64_t>>();
    QCOMPARE(outputIds, concat({bytes("I am Lathe."), {imEnd}})); // ends at the stop token
    QCOMPARE(answer({"--prompt", "What is LoRA?", "--adapter_name_or_path", root + "/saves"}, out),
             QString("An adapter."));

    // A system prompt comes first, as its own turn.
    answer({"--prompt", "Who are you?", "--adapter_name_or_path", root + "/saves", "--system", "Be brief."},
           out);
    QCOMPARE(out["prompt_ids"].get<std::vector<std::int64_t>>(),
             concat({{imStart}, bytes("system\nBe brief."), {imEnd, newline}, userTurn}));

    // Several adapters: all but the last merged in order. An adapter whose lora_B is zero changes nothing,
    // before or after the trained one.
    QVERIFY(QDir().mkpath(root + "/zero"));
    QVERIFY(QFile::copy(root + "/saves/adapter_config.json", root + "/zero/adapter_config.json"));
    {
        const auto store = lathe::WeightStore::openDir((root + "/saves").toStdString(), "adapter_model");
        lathe::NamedTensors zeroed;
        for (const auto& name : store.names()) {
            auto t = store.get(name);
            zeroed.emplace_back(name, name.find("lora_B") != std::string::npos ? torch::zeros_like(t) : t);
        }
        lathe::saveSafetensors((root + "/zero/adapter_model.safetensors").toStdString(), zeroed);
    }
    for (const QString& adapters : {root + "/zero," + root + "/saves", root + "/saves," + root + "/zero"}) {
        QCOMPARE(answer({"--prompt", "Who are you?", "--adapter_name_or_path", adapters}, out),
                 QString("I am Lathe."));
        QCOMPARE(out["output_ids"].get<std::vector<std::int64_t>>(), outputIds);
    }

    // Plain output: the answer on stdout, the speed on stderr.
    const auto plain = runLathe(
        generate + QStringList{"--prompt", "Who are you?", "--adapter_name_or_path", root + "/saves"});
    QVERIFY2(plain.exitCode == 0, qPrintable(describe(plain)));
    QCOMPARE(plain.out, QString("I am Lathe.\n"));
    QVERIFY2(plain.err.contains("tokens/s"), qPrintable(describe(plain)));

    // Without the adapter the random model does not know the answer.
    QVERIFY(answer({"--prompt", "Who are you?", "--max_new_tokens", "12"}, out) != "I am Lathe.");
    QVERIFY(out["output_ids"].size() <= 12);

    // Mistakes: a prompt without a template, a prompt and ids together, an unknown template.
    for (const QStringList& bad : {QStringList{"generate", "--model_name_or_path", model, "--prompt", "hi"},
                                   QStringList{"generate", "--model_name_or_path", model, "--prompt", "hi",
                                               "--template", "qwen", "--input_ids", "1,2"},
                                   QStringList{"generate", "--model_name_or_path", model, "--prompt", "hi",
                                               "--template", "no_such"}}) {
        const auto e = runLathe(bad);
        QVERIFY2(e.exitCode == 2 && e.err.startsWith("lathe generate: "), qPrintable(describe(e)));
        QVERIFY2(e.err.contains("template") || e.err.contains("input_ids"), qPrintable(describe(e)));
        QVERIFY(e.out.isEmpty());
    }
}

// A tiny Qwen2-style tokenizer in the vocab.json + merges.txt form: the bytes, "he", "ll", "hell", one
// special token.
void TestCli::tokenize()
{
    const QString dir = lathe::test::scratchDir("cli/tokenize");
    json vocab = json::object();
    const auto& alphabet = lathe::unicode::byteLevelAlphabet();
    for (int b = 0; b < 256; ++b)
        vocab[alphabet[b]] = b;
    vocab["he"] = 256;
    vocab["ll"] = 257;
    vocab["hell"] = 258;
    auto write = [&](const QString& name, const std::string& content) {
        QFile f(dir + "/" + name);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(content.data(), static_cast<qint64>(content.size()));
    };
    write("vocab.json", vocab.dump());
    write("merges.txt", "#version: 0.2\nh e\nl l\nhe ll\n");
    write("tokenizer_config.json",
          json{{"tokenizer_class", "Qwen2Tokenizer"},
               {"added_tokens_decoder", {{"300", {{"content", "<|x|>"}, {"special", true}, {"normalized", false}}}}}}
              .dump());
    write("input.txt", "hello<|x|>");

    const QStringList base = {"tokenize", "--model_name_or_path", dir};
    auto ok = [&](const QStringList& extra) {
        const auto r = runLathe(base + extra);
        [&] { QVERIFY2(r.exitCode == 0 && !r.err.contains("warning"), qPrintable(describe(r))); }();
        return r.out.trimmed();
    };
    QCOMPARE(ok({"--text", "hello<|x|>"}), QString("258,111,300"));
    QCOMPARE(ok({"--text", "hello<|x|>", "--ids"}), QString("258,111,300"));
    QCOMPARE(ok({"--file", dir + "/input.txt"}), QString("258,111,300"));
    QCOMPARE(ok({"--text", "hello<|x|>", "--count"}), QString("3"));
    // Special-token text as plain text: "<|" "x" "|>" byte by byte.
    QCOMPARE(ok({"--text", "hello<|x|>", "--no_special"}), QString("258,111,60,124,120,124,62"));
    QCOMPARE(ok({"--text", "hello<|x|>", "--pieces"}), QString("258\t\"hell\"\n111\t\"o\"\n300\t\"<|x|>\""));
    const auto r = runLathe(base + QStringList{"--text", "hello<|x|>", "--pieces", "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    json out;
    QVERIFY2(parseJson(r, out), qPrintable("not JSON: " + r.out));
    QCOMPARE(out["count"].get<int>(), 3);
    QCOMPARE(out["ids"].get<std::vector<int>>(), (std::vector<int>{258, 111, 300}));
    QCOMPARE(out["pieces"].get<std::vector<std::string>>(), (std::vector<std::string>{"hell", "o", "<|x|>"}));

    for (const QStringList& bad : {QStringList{}, QStringList{"--text", "a", "--file", dir + "/input.txt"},
                                   QStringList{"--text", "a", "--ids", "--count"}}) {
        const auto e = runLathe(base + bad);
        QVERIFY2(e.exitCode == 2 && e.err.startsWith("lathe tokenize: "), qPrintable(describe(e)));
        QVERIFY(e.out.isEmpty());
    }
    const auto missing = runLathe({"tokenize", "--model_name_or_path", dir + "/missing", "--text", "a"});
    QVERIFY2(missing.exitCode == 2 && missing.err.contains(dir + "/missing"), qPrintable(describe(missing)));
}

void TestCli::userErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mentions"); // in stderr

    const QString fixture = lathe::test::sharedDir().isEmpty()
                                ? QString("/nonexistent")
                                : lathe::test::hfFixture("qwen3-tied") + "/model";
    const QString noConfig = lathe::test::scratchDir("cli/no-config");
    QFile::copy(fixture + "/model.safetensors", noConfig + "/model.safetensors");

    QTest::newRow("generate without --model_name_or_path")
        << QStringList({"generate", "--input_ids", "1,2,3"}) << QStringList({"model_name_or_path"});
    QTest::newRow("perplexity without --model_name_or_path")
        << QStringList({"perplexity", "--input_ids", "1,2,3"}) << QStringList({"model_name_or_path"});
    QTest::newRow("generate without --input_ids")
        << QStringList({"generate", "--model_name_or_path", fixture}) << QStringList({"input_ids"});
    QTest::newRow("bad --input_ids") << QStringList({"generate", "--model_name_or_path", fixture,
                                                     "--input_ids", "1,two,3"})
                                     << QStringList({"input_ids", "two"});
    QTest::newRow("empty --input_ids")
        << QStringList({"generate", "--model_name_or_path", fixture, "--input_ids", ","})
        << QStringList({"input_ids"});
    QTest::newRow("--input_ids outside the vocabulary")
        << QStringList(
               {"generate", "--model_name_or_path", fixture, "--input_ids", "1,5000", "--dtype", "fp32"})
        << QStringList({"5000", "vocabulary"});
    QTest::newRow("folder without config.json")
        << QStringList({"generate", "--model_name_or_path", noConfig, "--input_ids", "1,2,3"})
        << QStringList({noConfig, "config.json"});
    QTest::newRow("folder that does not exist")
        << QStringList({"perplexity", "--model_name_or_path", noConfig + "/missing", "--input_ids", "1,2,3"})
        << QStringList({noConfig + "/missing"});
    QTest::newRow("bad --max_new_tokens") << QStringList({"generate", "--model_name_or_path", fixture,
                                                          "--input_ids", "1,2", "--max_new_tokens", "lots"})
                                          << QStringList({"max_new_tokens", "lots"});
    QTest::newRow("bad --dtype") << QStringList({"generate", "--model_name_or_path", fixture, "--input_ids",
                                                 "1,2", "--dtype", "int8"})
                                 << QStringList({"int8"});
    QTest::newRow("bad --device") << QStringList({"generate", "--model_name_or_path", fixture, "--input_ids",
                                                  "1,2", "--device", "gpu:0"})
                                  << QStringList({"gpu:0"});
    QTest::newRow("perplexity of one token")
        << QStringList({"perplexity", "--model_name_or_path", fixture, "--input_ids", "7", "--dtype", "fp32"})
        << QStringList({"2 tokens"});
    QTest::newRow("new-model without --out")
        << QStringList({"new-model", "--config", "tiny"}) << QStringList({"--out"});
    QTest::newRow("new-model unknown preset")
        << QStringList({"new-model", "--config", "no-such-preset", "--out", noConfig + "/x"})
        << QStringList({"no-such-preset", "tiny"});
    QTest::newRow("new-model unknown arch")
        << QStringList({"new-model", "--arch", "gpt2", "--out", noConfig + "/y"}) << QStringList({"gpt2"});
}

void TestCli::userErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QStringList, mentions);
    if (args.join(' ').contains("/nonexistent"))
        LATHE_REQUIRE_SHARED();
    const auto r = runLathe(args);
    // lathe::Error is exit code 2 ("lathe <command>: <message>"); 3 would mean an unexpected exception and
    // -1 a crash.
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    QVERIFY2(r.err.startsWith("lathe " + args[0] + ": "), qPrintable(describe(r)));
    for (const QString& m : mentions)
        QVERIFY2(r.err.contains(m),
                 qPrintable(QString("stderr does not mention \"%1\"\n").arg(m) + describe(r)));
    QVERIFY2(r.out.isEmpty(), qPrintable(describe(r))); // nothing half-printed on stdout
}

void TestCli::unknownCommand()
{
    for (const QStringList& args : {QStringList({"frobnicate"}), QStringList({"frobnicate", "--json"}),
                                    QStringList({"--model_name_or_path", "x"})}) {
        const auto r = runLathe(args);
        QVERIFY2(r.exitCode != 0 && r.exitCode != -1, qPrintable(describe(r)));
        QVERIFY2(r.err.contains("unknown command"), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(args[0]), qPrintable(describe(r)));
        QVERIFY2(r.err.contains("generate"), qPrintable(describe(r))); // the usage lists the commands
    }
}


// `lathe score`: LLaMA-Factory's scripts/eval_bleu_rouge.py on a predictions file. With shared/ present, the
// fixture's cases as a generated_predictions.jsonl must give the script's own means and each case's scores;
// without it, a hand-checked pair. Then the mistakes a user makes with the file.
void TestCli::scorePredictions()
{
    const QString dir = lathe::test::scratchDir("score");
    json cases = json::array();
    json expectedMeans;
    const QString fixture = lathe::test::sharedDir() + "/fixtures/metrics/llamafactory_similarity.json";
    const bool oracle = !lathe::test::sharedDir().isEmpty() && QFile::exists(fixture) &&
                        QFile::exists("/usr/lib/python3/dist-packages/jieba/dict.txt");
    if (oracle) {
        const json f = json::parse(lathe::readTextFile(fixture.toStdString()));
        cases = f.at("cases");
        expectedMeans = f.at("eval_bleu_rouge_script");
    } else {
        // "abcd" vs "abcd": BLEU 100, one word -> ROUGE-1/L 100, no bigram -> ROUGE-2 0 (tst_metrics derives these).
        cases.push_back({{"pred", "abcd"}, {"label", "abcd"}, {"bleu-4", 100.0}, {"rouge-1", 100.0}, {"rouge-2", 0.0}, {"rouge-l", 100.0}});
        expectedMeans = {{"bleu-4", 100.0}, {"rouge-1", 100.0}, {"rouge-2", 0.0}, {"rouge-l", 100.0}};
    }
    std::string lines;
    for (const auto& c : cases) // extra fields, as Lathe's and LLaMA-Factory's files have
        lines += json{{"prompt", "p"}, {"predict", c.at("pred")}, {"label", c.at("label")}}.dump() + "\n";
    lathe::writeTextFileAtomic((dir + "/generated_predictions.jsonl").toStdString(), lines);

    const auto r = runLathe({"score", dir + "/generated_predictions.jsonl", "--per_example", dir + "/per.jsonl"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("bleu-4: ") && r.out.contains("predictions_score.json"), qPrintable(describe(r)));
    const json means = json::parse(lathe::readTextFile((dir + "/predictions_score.json").toStdString()));
    QCOMPARE(means.size(), std::size_t(4));
    for (const auto& [key, value] : expectedMeans.items())
        QVERIFY2(std::abs(means.at(key).get<double>() - value.get<double>()) <= 1e-9, qPrintable(QString::fromStdString(key)));
    const QStringList per = QString::fromStdString(lathe::readTextFile((dir + "/per.jsonl").toStdString())).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(per.size(), int(cases.size()));
    for (int i = 0; i < per.size(); ++i) {
        const json got = json::parse(per[i].toStdString());
        for (const char* key : {"bleu-4", "rouge-1", "rouge-2", "rouge-l"})
            QVERIFY2(std::abs(got.at(key).get<double>() - cases[std::size_t(i)].at(key).get<double>()) < 5e-5,
                     qPrintable(QString("line %1 %2").arg(i + 1).arg(key)));
    }

    // Mistakes: a line that is not JSON, a missing field, a field of the wrong type, an empty file, no file.
    struct Bad
    {
        std::string content;
        QString expected;
    };
    const Bad bad[] = {
        {"{\"predict\": \"a\", \"label\": \"b\"}\n\n{\"predict\": \"a\", ", "bad.jsonl:3: not valid JSON"},
        {"{\"predict\": \"a\", \"label\": \"b\"}\n{\"predict\": \"a\"}\n", "bad.jsonl:2: field \"label\" is missing"},
        {"{\"predict\": 3, \"label\": \"b\"}\n", "bad.jsonl:1: field \"predict\" must be a string"},
        {"[{\"predict\": \"a\", \"label\": \"b\"}, 7]", "bad.jsonl: record 1: a record must be a JSON object"},
        {"\n\n", "no records"},
    };
    for (const auto& b : bad) {
        lathe::writeTextFileAtomic((dir + "/bad.jsonl").toStdString(), b.content);
        const auto e = runLathe({"score", dir + "/bad.jsonl"});
        QVERIFY2(e.exitCode != 0 && e.err.contains(b.expected), qPrintable(describe(e)));
    }
    const auto missing = runLathe({"score", dir + "/no_such.jsonl"});
    QVERIFY2(missing.exitCode != 0 && missing.err.contains("no_such.jsonl"), qPrintable(describe(missing)));
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
