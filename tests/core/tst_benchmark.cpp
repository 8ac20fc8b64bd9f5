// Benchmark evaluation (lathe eval with a task): task folders in MMLU's, C-Eval's and CMMLU's layouts written here,
// the prompt ids against LLaMA-Factory's evaluation template strings (eval/template.py, written out below as
// literal text), and the predictions against the choices computed directly from the model's own logits (a plain
// forward of each unpadded prompt, no batching) on a tiny model with a byte tokenizer (ids are UTF-8 bytes).
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "eval/benchmark_runner.h"
#include "eval/benchmark_task.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "template/chat_template.h"
#include "test_support.h"
#include "tiny_model.h"
#include "util/file_util.h"

using namespace lathe;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

void write(const fs::path& path, const std::string& text)
{
    fs::create_directories(path.parent_path());
    writeTextFileAtomic(path.string(), text);
}

// Two subjects in MMLU's layout: data/{dev,test}/<subject>_{dev,test}.csv without a header.
fs::path writeMmluTask(const fs::path& root)
{
    const fs::path dir = root / "mmlu";
    write(dir / "mapping.json", json{{"abstract_algebra", {{"name", "abstract algebra"}, {"category", "STEM"}}},
                                     {"world_religions", {{"name", "world religions"}, {"category", "Humanities"}}}}
                                    .dump());
    write(dir / "data/dev/abstract_algebra_dev.csv", "1+1?,1,2,3,4,B\n2+2?,4,3,2,1,A\n\"x, y\",a,b,c,d,D\n");
    write(dir / "data/test/abstract_algebra_test.csv",
          "3*1?,3,1,0,9,A\n\"He said \"\"no\"\"\",yes,no,maybe,ok,B\n0+0?,1,2,0,3,C\n\"two\nlines\",p,q,r,s,D\n5-5?,0,5,1,2,A\n");
    write(dir / "data/dev/world_religions_dev.csv", "Sun?,Ra,Zeus,Thor,Odin,A\nSea?,Ra,Poseidon,Thor,Odin,B\n");
    write(dir / "data/test/world_religions_test.csv", "Sky?,Ra,Zeus,Thor,Odin,B\nWar?,Ares,Zeus,Thor,Odin,A\n");
    return root;
}

// One subject in C-Eval's layout: {dev,val}/<subject>_{dev,val}.csv with a header (and columns LF ignores).
fs::path writeCevalTask(const fs::path& root)
{
    const fs::path dir = root / "ceval";
    write(dir / "mapping.json", json{{"computer_network", {{"name", "计算机网络"}, {"category", "STEM"}}}}.dump());
    write(dir / "dev/computer_network_dev.csv",
          "id,question,A,B,C,D,answer,explanation\n0,TCP是哪一层？,网络层,传输层,应用层,物理层,B,解释\n1,IP是哪一层？,网络层,传输层,应用层,物理层,A,\n");
    write(dir / "val/computer_network_val.csv",
          "id,question,A,B,C,D,answer\n0,HTTP是哪一层？,网络层,传输层,应用层,物理层,C\n1,以太网？,网络层,传输层,应用层,物理层,D\n2,UDP？,网络层,传输层,应用层,物理层,B\n");
    write(dir / "test/computer_network_test.csv", "id,question,A,B,C,D,answer\n0,DNS？,网络层,传输层,应用层,物理层,\n");
    return root;
}

std::vector<TokenId> bytesOf(const std::string& text)
{
    std::vector<TokenId> ids;
    for (unsigned char c : text)
        ids.push_back(TokenId(c));
    return ids;
}

struct Tiny
{
    CausalLM model{nullptr};
    std::shared_ptr<const Tokenizer> tokenizer;
};

// The tests' tiny model with larger weights, so that the letter it prefers changes from question to question
// (with initializer_range 0.1 it answers almost every question with the same letter, and a test of which
// position the logits are read at could not fail).
fs::path makeOpinionatedModel(const fs::path& root)
{
    lathe::test::makeTinyModel(root);
    NewModelOptions o;
    o.arch = "qwen3";
    o.config = json{{"vocab_size", 300},        {"hidden_size", 32},          {"intermediate_size", 64},
                    {"num_hidden_layers", 2},   {"num_attention_heads", 4},   {"num_key_value_heads", 2},
                    {"head_dim", 8},            {"tie_word_embeddings", false}, {"max_position_embeddings", 1024},
                    {"initializer_range", 1.0}}
                   .dump();
    o.tokenizerDir = (root / "tokenizer").string();
    o.outDir = (root / "model").string();
    o.dtype = "float32";
    o.seed = 11;
    fs::remove_all(o.outDir);
    writeNewModel(o);
    return root / "model";
}

Tiny tinyModel()
{
    const fs::path root = lathe::test::scratchDir("benchmark-model").toStdString();
    const fs::path dir = makeOpinionatedModel(root);
    Tiny t;
    t.model = loadModel(dir.string(), {torch::kCPU, torch::kFloat32});
    t.model->eval();
    // Attention and MLP outputs well above the embedding of the last token (always ':' after "Answer"), so the
    // answer depends on the question.
    torch::NoGradGuard noGrad;
    for (auto& item : t.model->named_parameters())
        if (item.key().find("o_proj") != std::string::npos || item.key().find("down_proj") != std::string::npos)
            item.value().mul_(8.0);

    t.tokenizer = Tokenizer::fromDirectory(dir.string());
    return t;
}

} // namespace

class TestBenchmark : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void csvRows()
    {
        const fs::path root = lathe::test::scratchDir("benchmark-csv").toStdString();
        write(root / "q.csv", "\xEF\xBB\xBF\"a, \"\"quoted\"\"\nline\",1,2,3,4,C\r\n\r\nplain,x,y,z,w, D \n");
        const auto rows = readBenchmarkCsv(root / "q.csv", false, true);
        QCOMPARE(rows.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(rows[0].question), QString("a, \"quoted\"\nline"));
        QCOMPARE(rows[0].answer, 'C');
        QCOMPARE(rows[1].line, std::size_t(4));
        QCOMPARE(QString::fromStdString(rows[1].choices[3]), QString("w"));
        QCOMPARE(rows[1].answer, 'D');

        // A header names the columns, in any order and case; other columns are ignored.
        write(root / "h.csv", ",Question,A,B,C,D,Answer\n0,q?,1,2,3,4,A\n");
        const auto headed = readBenchmarkCsv(root / "h.csv", true, true);
        QCOMPARE(headed.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(headed[0].question), QString("q?"));

        // Mistakes name the file and the line.
        struct Bad
        {
            std::string text;
            bool header;
            QStringList mentions;
        };
        const Bad bad[] = {
            {"q,1,2,3,4,A\nq,1,2,3,A\n", false, {"bad.csv:2", "5 columns, expected 6"}},
            {"q,1,2,3,4,A\n\"open,1,2,3,4,A\n", false, {"bad.csv:2", "never closed"}},
            {"q,1,2,3,4,A\nq,1,2,3,4,E\n", false, {"bad.csv:2", "answer \"E\"", "A, B, C, D"}},
            {"id,question,A,B,C,D\n0,q,1,2,3,4\n", true, {"bad.csv:1", "no column \"answer\""}},
        };
        for (const auto& b : bad) {
            write(root / "bad.csv", b.text);
            QString message;
            LATHE_VERIFY_ERROR(readBenchmarkCsv(root / "bad.csv", b.header, true), message);
            LATHE_VERIFY_MENTIONS(message, b.mentions);
        }
    }

    void taskLayouts()
    {
        const fs::path root = lathe::test::scratchDir("benchmark-layouts").toStdString();
        writeMmluTask(root);
        writeCevalTask(root);
        const auto mmlu = loadBenchmarkTask(root, "mmlu_test", true);
        QCOMPARE(mmlu.subjects.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(mmlu.subjects[0].key), QString("abstract_algebra")); // mapping order
        QCOMPARE(mmlu.subjects[0].rows.size(), std::size_t(5));
        QCOMPARE(mmlu.subjects[0].dev.size(), std::size_t(3));
        QCOMPARE(QString::fromStdString(mmlu.subjects[0].rows[3].question), QString("two\nlines"));
        QCOMPARE(mmlu.rowCount(), std::size_t(7));

        const auto ceval = loadBenchmarkTask(root, "ceval_validation", true);
        QCOMPARE(ceval.subjects[0].rows.size(), std::size_t(3));
        QCOMPARE(ceval.subjects[0].rows[2].answer, 'B');
        QCOMPARE(QString::fromStdString(ceval.subjects[0].name), QString("计算机网络"));

        // CMMLU's layout: {dev,test}/<subject>.csv with ",Question,...,Answer".
        write(root / "cmmlu/mapping.json", json{{"law", {{"name", "法律"}, {"category", "Humanities"}}}}.dump());
        write(root / "cmmlu/dev/law.csv", ",Question,A,B,C,D,Answer\n0,法？,甲,乙,丙,丁,A\n");
        write(root / "cmmlu/test/law.csv", ",Question,A,B,C,D,Answer\n0,律？,甲,乙,丙,丁,D\n");
        QCOMPARE(loadBenchmarkTask(root, "cmmlu_test", true).subjects[0].rows[0].answer, 'D');

        // Mistakes: every message names the file or the key.
        QString message;
        LATHE_VERIFY_ERROR(loadBenchmarkTask(root, "ceval_test", true), message); // C-Eval's test has no answers
        LATHE_VERIFY_MENTIONS(message, (QStringList{"computer_network_test.csv", "no answers", "ceval_validation"}));
        LATHE_VERIFY_ERROR(loadBenchmarkTask(root, "nosuch_test", true), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"nosuch", "mapping.json", "not found"}));
        LATHE_VERIFY_ERROR(loadBenchmarkTask(root, "mmlu", true), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"<name>_<split>"}));
        LATHE_VERIFY_ERROR(loadBenchmarkTask(root, "mmlu_validation", true), message); // no val files
        LATHE_VERIFY_MENTIONS(message, (QStringList{"abstract_algebra", "no validation split", "abstract_algebra_val.csv"}));
        write(root / "bad/mapping.json", json{{"x", {{"name", "x"}, {"category", "Science"}}}}.dump());
        LATHE_VERIFY_ERROR(loadBenchmarkTask(root, "bad_test", true), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"mapping.json", "\"x\"", "Science", "STEM"}));
        write(root / "nodev/mapping.json", json{{"x", {{"name", "x"}, {"category", "Other"}}}}.dump());
        write(root / "nodev/test/x.csv", ",Question,A,B,C,D,Answer\n0,q,1,2,3,4,A\n");
        LATHE_VERIFY_ERROR(loadBenchmarkTask(root, "nodev_test", true), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"\"x\"", "no dev split", "n_shot: 0"}));
        QCOMPARE(loadBenchmarkTask(root, "nodev_test", false).subjects[0].rows.size(), std::size_t(1)); // 0-shot
    }

    // LLaMA-Factory's eval/template.py strings and format_example, written out: the prompt is the system text
    // (subject substituted) before the first question, each example "question\nA. a\nB. b\nC. c\nD. d\nAnswer:"
    // followed by its letter, the target's letter left for the model.
    void promptIdsMatchLlamaFactory()
    {
        const fs::path root = lathe::test::scratchDir("benchmark-prompts").toStdString();
        writeMmluTask(root);
        writeCevalTask(root);
        const Tiny tiny = tinyModel();
        const auto mmlu = loadBenchmarkTask(root, "mmlu_test", true);
        const auto& algebra = mmlu.subjects[0];
        const auto supports = benchmarkSupportSets(algebra, 2, 42);
        QCOMPARE(supports.size(), algebra.rows.size());
        for (const auto& s : supports)
            QCOMPARE(s.size(), std::size_t(2));
        QVERIFY(supports != benchmarkSupportSets(algebra, 2, 43) || supports != benchmarkSupportSets(algebra, 2, 44)); // seeded
        QCOMPARE(benchmarkSupportSets(algebra, 2, 42), supports);                                                    // repeatable

        auto example = [](const BenchmarkRow& r) {
            return r.question + "\nA. " + r.choices[0] + "\nB. " + r.choices[1] + "\nC. " + r.choices[2] + "\nD. " +
                   r.choices[3] + "\nAnswer:";
        };
        // fewshot: user "{{content}}", assistant "{{content}}\n\n" (efficient EOS).
        {
            const TemplateEncoder encoder(chatTemplate("fewshot"), tiny.tokenizer);
            const auto& target = algebra.rows[1];
            const auto turns = formatBenchmarkExample(target, supports[1], algebra.name, evalTemplate("en"));
            std::string expected = "The following are multiple choice questions (with answers) about abstract algebra.\n\n";
            for (const BenchmarkRow* s : supports[1])
                expected += example(*s) + std::string(1, s->answer) + "\n\n";
            expected += example(target);
            QCOMPARE(benchmarkPromptIds(encoder, turns), bytesOf(expected));
            QCOMPARE(QString::fromStdString(target.question), QString("He said \"no\""));
        }
        // chatml, zh: the system text goes into the first user turn, not a system message.
        {
            const auto ceval = loadBenchmarkTask(root, "ceval_validation", true);
            const auto& subject = ceval.subjects[0];
            const auto sets = benchmarkSupportSets(subject, 1, 42);
            const TemplateEncoder encoder(chatTemplate("chatml"), tiny.tokenizer);
            const auto& target = subject.rows[0];
            const auto turns = formatBenchmarkExample(target, sets[0], subject.name, evalTemplate("zh"));
            auto zh = [](const BenchmarkRow& r) {
                return r.question + "\nA. " + r.choices[0] + "\nB. " + r.choices[1] + "\nC. " + r.choices[2] + "\nD. " +
                       r.choices[3] + "\n答案：";
            };
            std::vector<TokenId> expected;
            auto add = [&](const std::vector<TokenId>& ids) { expected.insert(expected.end(), ids.begin(), ids.end()); };
            const TokenId imStart = 257, imEnd = 258;
            add({imStart});
            add(bytesOf("user\n以下是中国关于计算机网络考试的单项选择题，请选出其中的正确答案。\n\n" + zh(*sets[0][0])));
            add({imEnd});
            add(bytesOf("\n"));
            add({imStart});
            add(bytesOf("assistant\n" + std::string(1, sets[0][0]->answer)));
            add({imEnd});
            add(bytesOf("\n"));
            add({imStart});
            add(bytesOf("user\n" + zh(target)));
            add({imEnd});
            add(bytesOf("\n"));
            add({imStart});
            add(bytesOf("assistant\n"));
            QCOMPARE(benchmarkPromptIds(encoder, turns), expected);
        }
        QCOMPARE(benchmarkChoiceIds(*tiny.tokenizer), (std::vector<TokenId>{'A', 'B', 'C', 'D'}));
    }

    // Batched, right-padded runs against each prompt's own unpadded forward pass.
    void predictionsFollowTheLogits()
    {
        const fs::path root = lathe::test::scratchDir("benchmark-logits").toStdString();
        writeMmluTask(root);
        Tiny tiny = tinyModel();
        const auto task = loadBenchmarkTask(root, "mmlu_test", true);
        const TemplateEncoder encoder(chatTemplate("fewshot"), tiny.tokenizer);
        torch::NoGradGuard noGrad;
        {
            // The head's rows for "A".."D": random, but orthogonal to the mean final hidden state of the prompts,
            // so that the letter chosen follows what differs between questions (a random head picks one letter
            // for every question, and a test of where the logits are read could not fail).
            std::vector<torch::Tensor> last;
            for (const auto& subject : task.subjects) {
                const auto supports = benchmarkSupportSets(subject, 2, 42);
                for (std::size_t r = 0; r < subject.rows.size(); ++r) {
                    const auto ids = benchmarkPromptIds(encoder, formatBenchmarkExample(subject.rows[r], supports[r], subject.name, evalTemplate("en")));
                    const auto h = tiny.model->hiddenStates(torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end())).unsqueeze(0));
                    last.push_back(h[0][std::int64_t(ids.size()) - 1]);
                }
            }
            const auto mean = torch::stack(last).mean(0);
            const auto unit = mean / mean.norm();
            torch::manual_seed(3);
            auto rows = torch::randn({4, mean.size(0)});
            rows = rows - rows.matmul(unit).unsqueeze(1) * unit.unsqueeze(0);
            tiny.model->lm_head->weight.narrow(0, 'A', 4).copy_(rows * 4.0);
        }
        for (const BenchmarkMode mode : {BenchmarkMode::Logits, BenchmarkMode::Perplexity}) {
            BenchmarkRunOptions options;
            options.nShot = 2;
            options.batchSize = 3; // 5 rows: a full batch and a ragged one of different lengths
            options.mode = mode;
            const BenchmarkRun run = runBenchmark(tiny.model, *tiny.tokenizer, encoder, task, options, {});
            QCOMPARE(run.predictions.size(), task.subjects.size());
            std::size_t correct = 0, total = 0;
            for (std::size_t s = 0; s < task.subjects.size(); ++s) {
                const auto& subject = task.subjects[s];
                const auto supports = benchmarkSupportSets(subject, 2, 42);
                for (std::size_t r = 0; r < subject.rows.size(); ++r) {
                    auto turns = formatBenchmarkExample(subject.rows[r], supports[r], subject.name, evalTemplate("en"), mode);
                    char expected = 'A';
                    if (mode == BenchmarkMode::Logits) {
                        const auto ids = benchmarkPromptIds(encoder, turns);
                        const auto logits = tiny.model->forward(torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end())).unsqueeze(0));
                        const auto last = logits[0][std::int64_t(ids.size()) - 1];
                        float best = -1e30f;
                        for (int k = 0; k < 4; ++k) {
                            const float v = last['A' + k].item<float>();
                            if (v > best) {
                                best = v;
                                expected = char('A' + k);
                            }
                        }
                    } else {
                        double bestLoss = 1e30;
                        for (int k = 0; k < 4; ++k) {
                            turns.back() = benchmarkAnswer(subject.rows[r], k, mode);
                            Conversation c;
                            for (std::size_t i = 0; i < turns.size(); ++i)
                                c.messages.push_back({i % 2 ? Role::Assistant : Role::User, turns[i]});
                            const TurnIds t = encoder.encodeOneturn(c);
                            std::vector<std::int64_t> seq(t.prompt.begin(), t.prompt.end());
                            seq.insert(seq.end(), t.response.begin(), t.response.end());
                            const auto logp = torch::log_softmax(tiny.model->forward(torch::tensor(seq).unsqueeze(0))[0], -1);
                            double loss = 0;
                            for (std::size_t j = t.prompt.size(); j < seq.size(); ++j)
                                loss -= logp[std::int64_t(j) - 1][seq[j]].item<double>();
                            loss /= double(t.response.size());
                            if (loss < bestLoss) {
                                bestLoss = loss;
                                expected = char('A' + k);
                            }
                        }
                    }
                    QCOMPARE(run.predictions[s][r], expected);
                    correct += expected == subject.rows[r].answer;
                    ++total;
                }
            }
            std::set<char> letters;
            for (const auto& subject : run.predictions)
                letters.insert(subject.begin(), subject.end());
            QVERIFY2(letters.size() >= 2, "the model answers every question alike: the comparison above proves little");
            // The Average line is the accuracy of those predictions; each category has its own line.
            const auto& average = run.scores.category.at("Average");
            QCOMPARE(average.first, correct);
            QCOMPARE(average.second, total);
            char line[64];
            std::snprintf(line, sizeof line, "        Average: %.2f\n", 100.0 * (double(correct) / double(total)));
            QVERIFY2(QString::fromStdString(run.resultsLog).startsWith(line), run.resultsLog.c_str());
            QVERIFY(QString::fromStdString(run.resultsLog).contains("\n           STEM: "));
            QVERIFY(QString::fromStdString(run.resultsLog).contains("\n     Humanities: "));
            QVERIFY(!QString::fromStdString(run.resultsLog).contains("Other"));
            QVERIFY(!QString::fromStdString(run.resultsLog).endsWith("\n"));
        }
    }

    // lathe eval config.yaml: the files LLaMA-Factory writes, Lathe's summary, and the refusals.
    void commandLine()
    {
        const QString root = lathe::test::scratchDir("benchmark-cli");
        writeCevalTask(root.toStdString());
        const fs::path model = makeOpinionatedModel(root.toStdString());
        const QString config = root + "/eval.yaml";
        write(config.toStdString(), "model_name_or_path: " + model.string() + "\ntemplate: fewshot\ntask: ceval_validation\n"
                                    "task_dir: " + root.toStdString() + "\nlang: zh\nn_shot: 1\nbatch_size: 2\nsave_dir: " +
                                    root.toStdString() + "/results\n");
        const auto r = lathe::test::runLathe({"eval", config});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("Average: ") || r.out.contains("Average: "), qPrintable(r.out + r.err));
        const json results = json::parse(readTextFile((root + "/results/results.json").toStdString()));
        QCOMPARE(results.size(), std::size_t(1));
        QCOMPARE(results.at("computer_network").size(), std::size_t(3));
        const std::string log = readTextFile((root + "/results/results.log").toStdString());
        const json summary = json::parse(readTextFile((root + "/results/results_summary.json").toStdString()));
        std::size_t correct = 0;
        const char answers[] = {'C', 'D', 'B'};
        for (int i = 0; i < 3; ++i)
            correct += results["computer_network"][std::to_string(i)].get<std::string>()[0] == answers[i];
        char expected[64];
        std::snprintf(expected, sizeof expected, "        Average: %.2f\n           STEM: %.2f", 100.0 * (double(correct) / 3),
                      100.0 * (double(correct) / 3));
        QCOMPARE(QString::fromStdString(log), QString(expected));
        QCOMPARE(summary["subjects"]["computer_network"]["correct"].get<std::size_t>(), correct);
        QCOMPARE(summary["n_shot"].get<int>(), 1);

        // The same save_dir again is refused before the model loads; a missing subject file names the path.
        const auto again = lathe::test::runLathe({"eval", config});
        QVERIFY2(again.exitCode != 0 && again.err.contains("already exists"), qPrintable(again.err));
        fs::remove(root.toStdString() + "/ceval/val/computer_network_val.csv");
        const auto missing = lathe::test::runLathe({"eval", config, "save_dir=" + root + "/results2"});
        QVERIFY2(missing.exitCode != 0 && missing.err.contains("computer_network_val.csv"), qPrintable(missing.err));
        QVERIFY(!fs::exists(root.toStdString() + "/results2"));
    }
};

QTEST_GUILESS_MAIN(TestBenchmark)
#include "tst_benchmark.moc"
