// Tests of core/data: dataset_info.json, the file readers, record conversion, the processors (label masks,
// truncation, packing) and registration.
//
// Label masks are checked with a byte-level test tokenizer (one id per byte, the template's special tokens as
// extra ids), so every expected string below is exact text and the test needs no model files. The demo
// datasets come from shared/data/llamafactory through their real dataset_info.json entries.
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <QtTest/QtTest>

#include "data/dataset_loader.h"
#include "data/dataset_preview.h"
#include "data/format_detect.h"
#include "data/processor.h"
#include "data/record_reader.h"
#include "data/token_cache.h"
#include "error_check.h"
#include "template/chat_template.h"
#include "template/template_encoder.h"
#include "byte_tokenizer.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "util/file_util.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace lathe;

namespace {

using lathe::test::ByteTokenizer;

std::shared_ptr<const Tokenizer> qwenTokenizer()
{
    return std::make_shared<ByteTokenizer>(
        std::vector<std::string>{"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"}, "",
        "<|endoftext|>");
}

Example makeExample(std::vector<std::pair<Role, std::string>> turns, std::string system = "")
{
    Example ex;
    ex.system = std::move(system);
    for (std::size_t i = 0; i + 1 < turns.size(); ++i)
        ex.prompt.push_back({turns[i].first, turns[i].second});
    ex.response.push_back({turns.back().first, turns.back().second});
    return ex;
}

// The learned text and the whole text of an encoded example.
std::pair<std::string, std::string> learnedAndAll(const Tokenizer& tok, const TokenizedExample& t)
{
    std::string learned, all;
    for (std::size_t i = 0; i < t.inputIds.size(); ++i) {
        const std::string piece = tok.idToToken(t.inputIds[i]);
        all += piece;
        if (t.labels[i] != kIgnoreIndex) {
            learned += piece;
            if (t.labels[i] != t.inputIds[i])
                learned += "[label " + std::to_string(t.labels[i]) + "]";
        } else {
            learned += "|";
        }
    }
    // Collapse runs of masked markers: "|||x" -> "|x".
    std::string collapsed;
    for (char c : learned)
        if (!(c == '|' && !collapsed.empty() && collapsed.back() == '|'))
            collapsed.push_back(c);
    return {collapsed, all};
}

void writeFile(const fs::path& path, const std::string& text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

class TestDataset : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // The cache key's hash: the same bytes give the same value however they are fed; any other bytes (even a
    // trailing zero, or a change in the last byte of a long input) another.
    void contentHashIgnoresSplits()
    {
        std::string data;
        for (int i = 0; i < 1000; ++i)
            data += char(i * 7 + (i >> 3));
        lathe::ContentHash whole;
        whole.add(data.data(), data.size());
        for (const std::size_t step : {1u, 3u, 31u, 32u, 33u, 100u}) {
            lathe::ContentHash pieces;
            for (std::size_t at = 0; at < data.size(); at += step)
                pieces.add(data.data() + at, std::min(step, data.size() - at));
            QCOMPARE(pieces.hex(), whole.hex());
        }
        std::set<std::string> seen{whole.hex()};
        for (std::size_t n : {0u, 1u, 2u, 31u, 32u, 33u, 999u}) {
            lathe::ContentHash prefix;
            prefix.add(data.data(), n);
            QVERIFY2(seen.insert(prefix.hex()).second, qPrintable(QString::number(n)));
        }
        std::string changed = data;
        changed.back() ^= 1;
        lathe::ContentHash other;
        other.add(changed.data(), changed.size());
        QVERIFY(other.hex() != whole.hex());
        lathe::ContentHash zero;
        zero.add(std::string(1, '\0'));
        lathe::ContentHash empty;
        empty.add(std::string());
        QVERIFY(zero.hex() != empty.hex());
        QCOMPARE(whole.hex().size(), std::size_t(16));
    }
    // ---- the demo datasets through their real dataset_info.json ---------------------------------------
    void demoDatasetsLoad_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("stage");
        QTest::addColumn<int>("records");
        QTest::newRow("identity") << "identity"
                                  << "sft" << 91;
        QTest::newRow("alpaca_en_demo") << "alpaca_en_demo"
                                        << "sft" << 999;
        QTest::newRow("alpaca_zh_demo") << "alpaca_zh_demo"
                                        << "sft" << 1000;
        QTest::newRow("glaive_toolcall_en_demo") << "glaive_toolcall_en_demo"
                                                 << "sft" << 300;
        QTest::newRow("glaive_toolcall_zh_demo") << "glaive_toolcall_zh_demo"
                                                 << "sft" << 300;
        QTest::newRow("dpo_en_demo") << "dpo_en_demo"
                                     << "dpo" << 300;
        QTest::newRow("dpo_zh_demo") << "dpo_zh_demo"
                                     << "dpo" << 300;
        QTest::newRow("kto_en_demo") << "kto_en_demo"
                                     << "kto" << 300;
        QTest::newRow("wiki_demo (txt)") << "wiki_demo"
                                         << "pt" << 30;
        QTest::newRow("c4_demo (jsonl)") << "c4_demo"
                                         << "pt" << 300;
    }
    void demoDatasetsLoad()
    {
        LATHE_REQUIRE_SHARED();
        QFETCH(QString, name);
        QFETCH(QString, stage);
        QFETCH(int, records);
        const auto registry = DatasetRegistry::load((test::sharedDir() + "/data/llamafactory").toStdString());
        DatasetLoadOptions options;
        options.stage = stage.toStdString();
        const auto d = loadDataset(registry, name.toStdString(), options);
        QCOMPARE(d.records, std::int64_t(records));
        QCOMPARE(std::int64_t(d.examples.size()), std::int64_t(records));
        QCOMPARE(d.dropped(), std::int64_t(0));
        for (const auto& issue : d.issues)
            QVERIFY2(!issue.dropped, issue.text().c_str());
    }

    void demoConversions()
    {
        LATHE_REQUIRE_SHARED();
        const auto registry = DatasetRegistry::load((test::sharedDir() + "/data/llamafactory").toStdString());
        // glaive: tools JSON, function calls, observations, at alternating positions.
        const auto glaive = loadDataset(registry, "glaive_toolcall_en_demo");
        const auto& g = glaive.examples[0];
        QVERIFY(!g.tools.empty());
        QVERIFY(json::parse(g.tools).is_array());
        QCOMPARE(g.prompt.size() % 2, std::size_t(1));
        bool sawFunction = false, sawObservation = false;
        for (const auto& ex : glaive.examples)
            for (const auto& m : ex.prompt) {
                sawFunction |= m.role == Role::Function;
                sawObservation |= m.role == Role::Observation;
            }
        QVERIFY(sawFunction && sawObservation);
        // kto: the label column decides which side the empty answer goes.
        DatasetLoadOptions kto;
        kto.stage = "kto";
        const auto k = loadDataset(registry, "kto_en_demo", kto);
        for (const auto& ex : k.examples) {
            QVERIFY(ex.ktoTag.has_value());
            QCOMPARE(ex.response.size(), std::size_t(2));
            QCOMPARE(ex.response[*ex.ktoTag ? 1 : 0].content, std::string());
        }
        // alpaca: instruction and input joined by a newline.
        const auto alpaca = loadDataset(registry, "alpaca_en_demo");
        bool sawInput = false;
        for (const auto& ex : alpaca.examples)
            sawInput |= ex.prompt[0].content.find('\n') != std::string::npos;
        QVERIFY(sawInput);
        // max_samples keeps the first N; num_samples (seeded) is reproducible.
        DatasetLoadOptions first3;
        first3.maxSamples = 3;
        QCOMPARE(loadDataset(registry, "alpaca_en_demo", first3).examples.size(), std::size_t(3));
    }

    // ---- infer_seqlen and the supervised processor -----------------------------------------------------
    void inferSeqlen_data()
    {
        QTest::addColumn<int>("source");
        QTest::addColumn<int>("target");
        QTest::addColumn<int>("cutoff");
        QTest::addColumn<int>("newSource");
        QTest::addColumn<int>("newTarget");
        // The reference's examples (section 3.6), plus the boundaries of each branch.
        QTest::newRow("3000/500") << 3000 << 500 << 2048 << 1548 << 500;
        QTest::newRow("500/3000") << 500 << 3000 << 2048 << 500 << 1548;
        QTest::newRow("1500/1500") << 1500 << 1500 << 2048 << 1024 << 1024;
        QTest::newRow("100/200 fits") << 100 << 200 << 2048 << 100 << 200;
        QTest::newRow("target exactly half: proportional") << 2000 << 1024 << 2048 << 1355 << 693;
        QTest::newRow("proportional, int() truncates") << 1000 << 2000 << 1000 << 334 << 666;
        QTest::newRow("no budget") << 10 << 10 << 0 << 0 << 0;
    }
    void inferSeqlen()
    {
        QFETCH(int, source);
        QFETCH(int, target);
        QFETCH(int, cutoff);
        QFETCH(int, newSource);
        QFETCH(int, newTarget);
        const auto [s, t] = lathe::inferSeqlen(source, target, cutoff);
        QCOMPARE(s, std::int64_t(newSource));
        QCOMPARE(t, std::int64_t(newTarget));
    }

    void labelMasks_data()
    {
        QTest::addColumn<QString>("templateName");
        QTest::addColumn<bool>("multiTurn");
        QTest::addColumn<QString>("mode"); // "", "train_on_prompt", "mask_history"
        QTest::addColumn<QString>("expectedAll");
        QTest::addColumn<QString>("expectedLearned");
        const QString qwenSys =
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n";
        QTest::newRow("qwen alpaca")
            << "qwen" << false << ""
            << qwenSys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            << "|Hello!<|im_end|>\n";
        QTest::newRow("qwen multi-turn")
            << "qwen" << true << ""
            << qwenSys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                         "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
            << "|Hello!<|im_end|>\n|4<|im_end|>\n";
        QTest::newRow("qwen mask_history")
            << "qwen" << true << "mask_history"
            << qwenSys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                         "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
            << "|4<|im_end|>\n";
        QTest::newRow("qwen train_on_prompt")
            << "qwen" << false << "train_on_prompt"
            << qwenSys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            << qwenSys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n";
        QTest::newRow("llama2 multi-turn (system in first user turn, bos per turn)")
            << "llama2" << true << ""
            << "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]Hello!</s><s>[INST] 2+2? [/INST]4</s>"
            << "|Hello!</s>|4</s>";
        QTest::newRow("glm4 multi-turn (efficient eos: EOS learned in the next prompt)")
            << "glm4" << true << ""
            << "[gMASK]<sop><|system|>\nBe "
               "brief.<|user|>\nHi<|assistant|>\nHello!<|user|>\n2+2?<|assistant|>\n4"
               "<|endoftext|>"
            << "|\nHello!<|user|>[label EOS]|\n4<|endoftext|>";
    }
    void labelMasks()
    {
        QFETCH(QString, templateName);
        QFETCH(bool, multiTurn);
        QFETCH(QString, mode);
        QFETCH(QString, expectedAll);
        QFETCH(QString, expectedLearned);
        std::shared_ptr<const Tokenizer> tok;
        std::string system;
        if (templateName == "llama2") {
            tok = std::make_shared<ByteTokenizer>(std::vector<std::string>{"<s>", "</s>"}, "<s>", "</s>");
            system = "Be brief.";
        } else if (templateName == "glm4") {
            tok = std::make_shared<ByteTokenizer>(
                std::vector<std::string>{"[gMASK]", "<sop>", "<|endoftext|>", "<|user|>", "<|assistant|>",
                                         "<|system|>", "<|observation|>"},
                "", "<|endoftext|>");
            system = "Be brief.";
        } else {
            tok = qwenTokenizer();
        }
        TemplateEncoder encoder(chatTemplate(templateName.toStdString()), tok);
        std::vector<std::pair<Role, std::string>> turns = {{Role::User, "Hi"}, {Role::Assistant, "Hello!"}};
        if (multiTurn) {
            turns.push_back({Role::User, "2+2?"});
            turns.push_back({Role::Assistant, "4"});
        }
        ProcessOptions options;
        options.trainOnPrompt = mode == "train_on_prompt";
        options.maskHistory = mode == "mask_history";
        const auto t = encodeSupervised(encoder, makeExample(turns, system), options);
        QCOMPARE(t.inputIds.size(), t.labels.size());
        auto [learned, all] = learnedAndAll(*tok, t);
        // glm4's EOS-in-next-prompt label is the tokenizer's EOS id: name it in the expectation.
        QCOMPARE(QString::fromStdString(all), expectedAll);
        if (templateName == "glm4")
            expectedLearned.replace("[label EOS]", QString("[label %1]").arg(*tok->eosId));
        QCOMPARE(QString::fromStdString(learned), expectedLearned);
        QVERIFY(!t.truncated);
    }

    void truncation()
    {
        // The `empty` template adds nothing, so lengths are the byte counts: 3000/500 at cutoff 2048 keeps
        // the first 1548 prompt bytes and the whole response, as LLaMA-Factory's infer_seqlen says.
        auto tok = std::make_shared<ByteTokenizer>(std::vector<std::string>{"</s>"}, "", "</s>");
        TemplateEncoder encoder(chatTemplate("empty"), tok);
        ProcessOptions options;
        options.cutoffLen = 2048;
        const auto t = encodeSupervised(
            encoder,
            makeExample({{Role::User, std::string(3000, 'p')}, {Role::Assistant, std::string(500, 'r')}}),
            options);
        QVERIFY(t.truncated);
        QCOMPARE(t.inputIds.size(), std::size_t(2048));
        QCOMPARE(std::count(t.labels.begin(), t.labels.end(), kIgnoreIndex), std::ptrdiff_t(1548));
        const auto even = encodeSupervised(
            encoder,
            makeExample({{Role::User, std::string(1500, 'p')}, {Role::Assistant, std::string(1500, 'r')}}),
            options);
        QCOMPARE(std::count(even.labels.begin(), even.labels.end(), kIgnoreIndex), std::ptrdiff_t(1024));
        QCOMPARE(even.inputIds.size(), std::size_t(2048));
    }

    void pairwiseFeedbackUnsupervised()
    {
        const auto tok = qwenTokenizer();
        TemplateEncoder encoder(chatTemplate("qwen"), tok);
        ProcessOptions options;
        Example ex = makeExample({{Role::User, "Hi"}, {Role::Assistant, "Good"}}, "S");
        ex.response.push_back({Role::Assistant, "Bad"});
        const auto pair = encodePairwise(encoder, ex, options);
        const std::string prompt =
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        QCOMPARE(learnedAndAll(*tok, pair.chosen).second, prompt + "Good<|im_end|>\n");
        QCOMPARE(learnedAndAll(*tok, pair.chosen).first, std::string("|Good<|im_end|>\n"));
        QCOMPARE(learnedAndAll(*tok, pair.rejected).first, std::string("|Bad<|im_end|>\n"));

        // KTO: example 0 is desirable, example 1 not; each KL answer is the previous example's.
        Example good = makeExample({{Role::User, "A"}, {Role::Assistant, "yes"}}, "S");
        good.response.push_back({Role::Assistant, ""});
        good.ktoTag = true;
        Example bad = makeExample({{Role::User, "B"}, {Role::Assistant, ""}}, "S");
        bad.response.push_back({Role::Assistant, "no"});
        bad.ktoTag = false;
        const auto fb = encodeFeedback(encoder, {good, bad}, options);
        QVERIFY(fb[0].desirable);
        QVERIFY(!fb[1].desirable);
        QCOMPARE(learnedAndAll(*tok, fb[0].example).first, std::string("|yes<|im_end|>\n"));
        QCOMPARE(learnedAndAll(*tok, fb[1].example).first, std::string("|no<|im_end|>\n"));
        QCOMPARE(learnedAndAll(*tok, fb[0].kl).first, std::string("|no<|im_end|>\n"));  // from example 1
        QCOMPARE(learnedAndAll(*tok, fb[1].kl).first, std::string("|yes<|im_end|>\n")); // from example 0
        QVERIFY(learnedAndAll(*tok, fb[1].kl).second.find("user\nB") != std::string::npos);

        // Unsupervised: the prompt as input, the answer as labels.
        const auto u = encodeUnsupervised(
            encoder, makeExample({{Role::User, "Hi"}, {Role::Assistant, "Hello"}}, "S"), options);
        QCOMPARE(tok->decode(u.inputIds, false), prompt);
        QCOMPARE(tok->decode(u.labels, false), std::string("Hello<|im_end|>\n"));
    }

    // ---- packing -----------------------------------------------------------------------------------------
    void greedyKnapsack()
    {
        // Sorted ascending: 1 2 3 4 5 7; capacity 8. Knapsack 1 takes 7 then 1; knapsack 2: 5 then 3; then
        // 4 2.
        const std::vector<std::int64_t> lengths = {5, 1, 7, 3, 4, 2};
        const auto groups = lathe::greedyKnapsack(lengths, 8);
        QCOMPARE(groups.size(), std::size_t(3));
        QCOMPARE(groups[0], (std::vector<std::size_t>{2, 1}));
        QCOMPARE(groups[1], (std::vector<std::size_t>{0, 3}));
        QCOMPARE(groups[2], (std::vector<std::size_t>{4, 5}));
    }
    void packing()
    {
        std::vector<TokenizedExample> examples(3);
        examples[0].inputIds = {1, 2, 3};
        examples[0].labels = {-100, 2, 3};
        examples[1].inputIds = {4, 5};
        examples[1].labels = {-100, 5};
        examples[2].inputIds = std::vector<TokenId>(9, 7); // longer than cutoff: dropped
        examples[2].labels = examples[2].inputIds;
        const auto neat = packExamples(examples, 8, true, 0);
        QCOMPARE(neat.size(), std::size_t(1));
        const auto& p = neat[0];
        QCOMPARE(p.inputIds, (std::vector<TokenId>{1, 2, 3, 4, 5, 0, 0, 0, 0}));
        QCOMPARE(p.labels, (std::vector<TokenId>{-100, 2, 3, -100, 5, -100, -100, -100, -100}));
        QCOMPARE(p.positionIds, (std::vector<std::int64_t>{0, 1, 2, 0, 1, 0, 0, 0, 0}));
        QCOMPARE(p.attentionMask, (std::vector<std::int64_t>{1, 1, 1, 2, 2, 0, 0, 0, 0}));
        const auto plain = packExamples(examples, 8, false, 0);
        QCOMPARE(plain[0].attentionMask, (std::vector<std::int64_t>(9, 1)));
    }
    void pretrainBlocks()
    {
        auto tok = std::make_shared<ByteTokenizer>(std::vector<std::string>{"</s>"}, "", "</s>");
        const auto blocks = encodePretrain(*tok, {"abc", "defgh", "ij"}, 4, true, *tok->eosId);
        // "abc</s>defgh</s>ij</s>" = 13 tokens -> 3 blocks of 4, the last token dropped.
        QCOMPARE(blocks.size(), std::size_t(3));
        QCOMPARE(tok->decode(blocks[1].inputIds, false), std::string("defg"));
        const auto single = encodePretrain(*tok, {"abcdef"}, 4, false, *tok->eosId);
        QCOMPARE(tok->decode(single[0].inputIds, false), std::string("abcd"));
        QVERIFY(single[0].truncated);
    }

    // ---- readers -----------------------------------------------------------------------------------------
    void readers()
    {
        const fs::path dir = test::scratchDir("readers").toStdString();
        writeFile(dir / "a.jsonl", "{\"text\": \"one\"}\n\n{\"text\": \"two, [with] \\\"brackets\\\"\"}\n");
        writeFile(dir / "b.csv", "instruction,output\n\"multi\nline, \"\"quoted\"\"\",yes\nplain,no\n");
        writeFile(dir / "c.json", " [ {\"x\": [1, {\"y\": \"]\"}]}, {\"x\": 2} ] ");
        writeFile(dir / "d.txt", "line one\r\nline two\n");
        auto readAll = [](const fs::path& p) {
            std::vector<json> out;
            RecordReader r(p.string());
            json rec;
            while (r.next(rec))
                out.push_back(rec);
            return out;
        };
        const auto jl = readAll(dir / "a.jsonl");
        QCOMPARE(jl.size(), std::size_t(2));
        QCOMPARE(jl[1]["text"].get<std::string>(), std::string("two, [with] \"brackets\""));
        const auto csv = readAll(dir / "b.csv");
        QCOMPARE(csv.size(), std::size_t(2));
        QCOMPARE(csv[0]["instruction"].get<std::string>(), std::string("multi\nline, \"quoted\""));
        QCOMPARE(csv[1]["output"].get<std::string>(), std::string("no"));
        const auto arr = readAll(dir / "c.json");
        QCOMPARE(arr.size(), std::size_t(2));
        QCOMPARE(arr[0]["x"][1]["y"].get<std::string>(), std::string("]"));
        const auto txt = readAll(dir / "d.txt");
        QCOMPARE(txt.size(), std::size_t(2));
        QCOMPARE(txt[0]["text"].get<std::string>(), std::string("line one"));
        // A folder: every file in name order.
        QCOMPARE(readAll(dir).size(), std::size_t(8));
    }

    // ---- malformed input: each its own error ------------------------------------------------------------
    void malformed_data()
    {
        QTest::addColumn<QString>("info");    // dataset_info.json text ("" = none)
        QTest::addColumn<QString>("file");    // data file name
        QTest::addColumn<QString>("content"); // data file text
        QTest::addColumn<QString>("expected");
        const QString alpaca = "{\"d\": {\"file_name\": \"d.json\"}}";
        const QString sharegpt = "{\"d\": {\"file_name\": \"d.json\", \"formatting\": \"sharegpt\", "
                                 "\"columns\": {\"messages\": \"conversations\", \"tools\": \"tools\"}}}";
        QTest::newRow("no dataset_info.json") << ""
                                              << "d.json"
                                              << "[]"
                                              << "dataset_info.json: not found";
        QTest::newRow("dataset_info.json not JSON") << "{\"d\": "
                                                    << "d.json"
                                                    << "[]"
                                                    << "dataset_info.json: not valid JSON";
        QTest::newRow("unknown dataset name") << "{\"alpaca_demo\": {\"file_name\": \"d.json\"}}"
                                              << "d.json"
                                              << "[]"
                                              << "no dataset named \"d\"";
        QTest::newRow("unknown entry key") << "{\"d\": {\"file_name\": \"d.json\", \"colums\": {}}}"
                                           << "d.json"
                                           << "[]"
                                           << "unknown key \"colums\"";
        QTest::newRow("bad formatting") << "{\"d\": {\"file_name\": \"d.json\", \"formatting\": \"chatml\"}}"
                                        << "d.json"
                                        << "[]"
                                        << "formatting \"chatml\" is not one of";
        QTest::newRow("unknown column key")
            << "{\"d\": {\"file_name\": \"d.json\", \"columns\": {\"instruction\": \"q\"}}}"
            << "d.json"
            << "[]"
            << "unknown columns key \"instruction\"";
        QTest::newRow("file not found") << alpaca << "other.json"
                                        << "[]"
                                        << "file_name \"d.json\" not found in dataset_dir";
        // Hub datasets are downloaded (tst_hub); a loading script is not run.
        QTest::newRow("script dataset") << "{\"d\": {\"script_url\": \"org/d\"}}"
                                        << "d.json"
                                        << "[]"
                                        << "only files and hub datasets are read";
        QTest::newRow("broken JSON record")
            << alpaca << "d.json"
            << "[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": }]"
            << "record 1 (bytes";
        QTest::newRow("record nested 300,000 deep")
            << alpaca << "d.json"
            << "[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": " + QString(300000, '[') +
                   QString(300000, ']') + "}]"
            << "record 1: JSON nests deeper than 256 levels";
        QTest::newRow("unsupported file type") << "{\"d\": {\"file_name\": \"d.parquet\"}}"
                                               << "d.parquet"
                                               << "x"
                                               << ".parquet files are not supported yet";
        QTest::newRow("CSV field count") << "{\"d\": {\"file_name\": \"d.csv\"}}"
                                         << "d.csv"
                                         << "instruction,output\na,b,c\n"
                                         << "CSV record 0 has 3 fields, the header has 2";
        // Found by the fuzzers: a number beyond double (nlohmann's out_of_range escaped), text that is not UTF-8
        // (it became a JSON string that could not be written back).
        QTest::newRow("number overflow in dataset_info.json") << "{\"d\": {\"file_name\": \"d.json\", \"num_samples\": 1e99999}}"
                                                             << "d.json"
                                                             << "[]"
                                                             << "dataset_info.json: not valid JSON";
        QTest::newRow("text line not UTF-8") << "{\"d\": {\"file_name\": \"d.txt\"}}"
                                             << "d.txt"
                                             << "fine\nbad <0xFF> byte\n"
                                             << "d.txt: line 2 is not valid UTF-8 (byte 0xff at offset 4)";
        QTest::newRow("CSV field not UTF-8") << "{\"d\": {\"file_name\": \"d.csv\"}}"
                                             << "d.csv"
                                             << "instruction,output\na,<0xFF>\n"
                                             << "CSV record 0, column \"output\" is not valid UTF-8";
        // Record-level problems: the record is dropped and the issue names it.
        QTest::newRow("instruction not a string")
            << alpaca << "d.json"
            << "[{\"instruction\": 5, \"output\": \"b\"}]"
            << "record 0: field \"instruction\": must be a string, not number";
        QTest::newRow("wrong column name")
            << "{\"d\": {\"file_name\": \"d.json\", \"columns\": {\"prompt\": \"instr\"}}}"
            << "d.json"
            << "[{\"instruction\": \"a\", \"output\": \"b\"}]"
            << "field \"instr\": no record has this column";
        QTest::newRow("unknown role tag") << sharegpt << "d.json"
                                          << "[{\"conversations\": [{\"from\": \"user\", \"value\": \"a\"}, "
                                             "{\"from\": \"gpt\", \"value\": \"b\"}]}]"
                                          << "field \"conversations[0].from\": unknown role \"user\"";
        QTest::newRow("missing role tag") << sharegpt << "d.json"
                                          << "[{\"conversations\": [{\"role\": \"human\", \"value\": \"a\"}, "
                                             "{\"from\": \"gpt\", \"value\": \"b\"}]}]"
                                          << "conversations[0]\": has no \"from\" role tag";
        QTest::newRow("non-alternating turns") << sharegpt << "d.json"
                                               << "[{\"conversations\": [{\"from\": \"human\", \"value\": "
                                                  "\"a\"}, {\"from\": \"human\", \"value\": \"b\"}]}]"
                                               << "conversations[1]\": turns must alternate";
        QTest::newRow("odd turn count") << sharegpt << "d.json"
                                        << "[{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]}]"
                                        << "must end with an assistant turn";
        QTest::newRow("tools not JSON") << sharegpt << "d.json"
                                        << "[{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, "
                                           "{\"from\": \"gpt\", \"value\": \"b\"}], \"tools\": \"[{oops\"}]"
                                        << "field \"tools\": is not valid JSON";
        QTest::newRow("function call not JSON")
            << sharegpt << "d.json"
            << "[{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"function_call\", "
               "\"value\": \"{bad\"}, {\"from\": \"observation\", \"value\": \"r\"}, {\"from\": \"gpt\", "
               "\"value\": \"b\"}]}]"
            << "conversations[1]\": function call is not valid JSON";
        QTest::newRow("empty response (warning)") << alpaca << "d.json"
                                                  << "[{\"instruction\": \"a\", \"output\": \"\"}]"
                                                  << "field \"output\": is empty";
    }
    void malformed()
    {
        QFETCH(QString, info);
        QFETCH(QString, file);
        QFETCH(QString, content);
        QFETCH(QString, expected);
        const fs::path dir =
            test::scratchDir(QStringLiteral("malformed-") + QTest::currentDataTag()).toStdString();
        if (!info.isEmpty())
            writeFile(dir / "dataset_info.json", info.toStdString());
        // "<0xFF>" in a row's content stands for that byte (QString cannot hold invalid UTF-8).
        std::string bytes = content.toStdString();
        for (std::size_t at; (at = bytes.find("<0xFF>")) != std::string::npos;)
            bytes.replace(at, 6, "\xFF");
        writeFile(dir / file.toStdString(), bytes);
        std::string all;
        try {
            const auto registry = DatasetRegistry::load(dir.string());
            const auto d = loadDataset(registry, "d");
            for (const auto& i : d.issues)
                all += i.text() + "\n";
        } catch (const Error& e) {
            all = e.what();
        }
        QVERIFY2(
            all.find(expected.toStdString()) != std::string::npos,
            qPrintable(QStringLiteral("expected \"%1\" in: %2").arg(expected, QString::fromStdString(all))));
    }

    // ---- preview, training view, statistics ---------------------------------------------------------------
    void previewAndStats()
    {
        const fs::path dir = test::scratchDir("preview").toStdString();
        writeFile(dir / "dataset_info.json", "{\"d\": {\"file_name\": \"d.jsonl\"}}");
        writeFile(dir / "d.jsonl",
                  "{\"instruction\": \"Hi\", \"output\": \"Hello!\"}\n{\"instruction\": \"x\"}\n"
                  "{\"instruction\": \"" +
                      std::string(100, 'q') + "\", \"output\": \"ok\"}\n");
        const auto registry = DatasetRegistry::load(dir.string());
        const auto page = previewRecords(registry, "d", 1, 2);
        QCOMPARE(page.count, std::int64_t(3));
        QCOMPARE(page.firstIndex, std::int64_t(2));
        QCOMPARE(page.records.size(), std::size_t(1));

        const auto tok = qwenTokenizer();
        TemplateEncoder encoder(chatTemplate("qwen"), tok);
        ProcessOptions options;
        const auto attr = registry.get("d");
        const auto view =
            trainingView(encoder, *tok, attr,
                         json::parse("{\"instruction\": \"Hi\", \"output\": \"Hello!\"}"), 0, options);
        QVERIFY(view.error.empty());
        QCOMPARE(view.spans.size(), std::size_t(2));
        QVERIFY(!view.spans[0].learned);
        QCOMPARE(view.spans[1].text, std::string("Hello!<|im_end|>\n"));
        QVERIFY(view.spans[1].learned);
        const auto noAnswer =
            trainingView(encoder, *tok, attr, json::parse("{\"instruction\": \"x\"}"), 1, options);
        QVERIFY(noAnswer.error.find("no response") != std::string::npos);

        options.cutoffLen = 150; // the first example (~110 tokens with qwen's default system prompt) fits
        const auto stats = datasetStats(registry, "d", encoder, options);
        QCOMPARE(stats.records, std::int64_t(3));
        QCOMPARE(stats.examples, std::int64_t(2));
        QCOMPARE(stats.dropped, std::int64_t(1));
        QCOMPARE(stats.truncated, std::int64_t(1));
        QCOMPARE(stats.percentile(1), std::int64_t(150));
        std::int64_t binned = 0;
        for (auto c : stats.histogram)
            binned += c;
        QCOMPARE(binned, std::int64_t(2));
    }

    // ---- the token cache
    // -----------------------------------------------------------------------------------
    void tokenCache()
    {
        const fs::path dir = test::scratchDir("cache").toStdString();
        std::string records = "[";
        for (int i = 0; i < 50; ++i)
            records += std::string(i ? "," : "") + "{\"instruction\": \"q" + std::to_string(i) +
                       "\", \"output\": \"a" + std::to_string(i) + "\"}";
        writeFile(dir / "d.json", records + "]");
        writeFile(dir / "dataset_info.json", "{\"d\": {\"file_name\": \"d.json\"}}");
        const auto registry = DatasetRegistry::load(dir.string());
        TemplateEncoder encoder(chatTemplate("qwen"), qwenTokenizer());
        PreprocessOptions o;
        o.cacheDir = (dir / "cache").string();
        o.workers = 2;
        o.batchSize = 7; // several batches, a partial last one
        const auto first = preprocessSupervised(registry, {"d"}, encoder, o);
        QVERIFY(!first.reused);
        QCOMPARE(first.examples, std::int64_t(50));
        const auto cache = TokenCache::open(first.cachePath);
        QCOMPARE(cache->size(), std::size_t(50));
        // Same order and content as encoding directly.
        const auto direct = loadDataset(registry, "d");
        std::int64_t tokens = 0;
        for (std::size_t i = 0; i < 50; ++i) {
            const auto expected = encodeSupervised(encoder, direct.examples[i], o.process);
            const auto got = cache->at(i);
            QCOMPARE(got.inputIds, expected.inputIds);
            QCOMPARE(got.labels, expected.labels);
            tokens += std::int64_t(got.inputIds.size());
        }
        QCOMPARE(cache->tokens(), tokens);
        // Any number of workers (this thread helps when there are several) writes the same bytes.
        const std::string bytes = lathe::readTextFile(first.cachePath);
        for (const int workers : {1, 3, 5}) {
            PreprocessOptions other = o;
            other.workers = workers;
            other.overwriteCache = true;
            const auto again = preprocessSupervised(registry, {"d"}, encoder, other);
            QCOMPARE(again.cachePath, first.cachePath);
            QVERIFY2(lathe::readTextFile(again.cachePath) == bytes, qPrintable(QString::number(workers)));
        }
        QVERIFY(preprocessSupervised(registry, {"d"}, encoder, o).reused);
        // A changed argument or changed data is a different cache.
        o.process.cutoffLen = 16;
        const auto shorter = preprocessSupervised(registry, {"d"}, encoder, o);
        QVERIFY(!shorter.reused);
        QVERIFY(shorter.cachePath != first.cachePath);
        o.process.cutoffLen = 2048;
        writeFile(dir / "d.json", records + " ]");
        QVERIFY(!preprocessSupervised(registry, {"d"}, encoder, o).reused);
        // A truncated cache file is refused, not read.
        fs::resize_file(first.cachePath, fs::file_size(first.cachePath) - 3);
        QString message;
        LATHE_VERIFY_ERROR(TokenCache::open(first.cachePath), message);
        QVERIFY(message.contains("not a complete Lathe token cache"));
    }

    // ---- registration ------------------------------------------------------------------------------------
    void registrationRoundTrip()
    {
        const fs::path dir = test::scratchDir("register").toStdString();
        // An existing registry whose order and entries must survive.
        writeFile(dir / "dataset_info.json",
                  "{\"zeta\": {\"file_name\": \"z.json\"}, \"alpha\": {\"file_name\": \"a.json\", "
                  "\"columns\": {\"prompt\": \"q\"}}}");
        writeFile(dir / "chats" / "mine.jsonl",
                  "{\"messages\": [{\"role\": \"system\", \"content\": \"Be nice.\"}, {\"role\": \"user\", "
                  "\"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}"
                  "\n"
                  "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", "
                  "\"content\": \"4\"}]}"
                  "\n");
        auto detected = detectFormat((dir / "chats" / "mine.jsonl").string());
        QCOMPARE(detected.attr.formatting, DataFormat::ShareGpt);
        QCOMPARE(detected.attr.messages, std::string("messages"));
        QCOMPARE(detected.attr.roleTag, std::string("role"));
        QCOMPARE(detected.attr.userTag, std::string("user"));
        QCOMPARE(detected.attr.assistantTag, std::string("assistant"));
        detected.attr.name = "mine";
        detected.attr.location = "chats/mine.jsonl";
        auto registry = DatasetRegistry::load(dir.string());
        registry.add(detected.attr);
        QString message;
        LATHE_VERIFY_ERROR(registry.add(detected.attr), message);
        QVERIFY(message.contains("already exists"));

        const auto reloaded = DatasetRegistry::load(dir.string());
        QCOMPARE(reloaded.names(), (std::vector<std::string>{"zeta", "alpha", "mine"}));
        QCOMPARE(reloaded.get("alpha").prompt, std::string("q"));
        const auto d = loadDataset(reloaded, "mine");
        QCOMPARE(d.examples.size(), std::size_t(2));
        QCOMPARE(d.examples[0].system, std::string("Be nice."));
        QCOMPARE(d.examples[1].response[0].content, std::string("4"));
        // The entry as written: only what differs from the defaults.
        const auto written = json::parse(std::ifstream(dir / "dataset_info.json"));
        QCOMPARE(written["mine"]["formatting"].get<std::string>(), std::string("sharegpt"));
        QCOMPARE(written["mine"]["tags"]["role_tag"].get<std::string>(), std::string("role"));
        QVERIFY(!written["mine"].contains("ranking"));
    }
};

QTEST_APPLESS_MAIN(TestDataset)
#include "tst_dataset.moc"
