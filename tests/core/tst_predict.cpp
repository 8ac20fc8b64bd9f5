// Tests of core/train/predict: do_predict + predict_with_generate as LLaMA-Factory runs it. Predict-only
// (do_train false) and after a short training run, on the tiny float32 model with the byte tokenizer
// (tests/support/tiny_model.h): generated_predictions.jsonl has one {"prompt", "predict", "label"} per
// example in dataset order, labels are the dataset's answers, predict_results.json / all_results.json hold
// the metrics recomputed from the jsonl, and greedy predictions do not depend on the batch size.
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "error_check.h"
#include "eval/similarity_metrics.h"
#include "test_support.h"
#include "tiny_model.h"
#include "train/trainer.h"
#include "util/file_util.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace lathe;

namespace {

constexpr int kExamples = 7;

std::string answerOf(int i)
{
    return i % 2 ? "B" + std::to_string(i) + "." : "你好" + std::to_string(i);
}

// An alpaca dataset of kExamples question/answer pairs (ASCII and Chinese answers) and its dataset_info.json.
fs::path makeData(const fs::path& root)
{
    const fs::path dir = root / "data";
    fs::create_directories(dir);
    json records = json::array();
    for (int i = 0; i < kExamples; ++i)
        records.push_back({{"instruction", "Q" + std::to_string(i) + "?"}, {"input", ""}, {"output", answerOf(i)}});
    writeTextFileAtomic((dir / "qa.json").string(), records.dump(2));
    writeTextFileAtomic((dir / "dataset_info.json").string(), json{{"qa", {{"file_name", "qa.json"}}}}.dump());
    return dir;
}

ArgumentSet predictArgs(const fs::path& model, const fs::path& data, const fs::path& out, int batch)
{
    ArgumentSet a;
    a.set("model_name_or_path", model.string());
    a.set("stage", "sft");
    a.set("do_train", "false");
    a.set("do_predict", "true");
    a.set("predict_with_generate", "true");
    a.set("eval_dataset", "qa");
    a.set("dataset_dir", data.string());
    a.set("template", "qwen");
    a.set("cutoff_len", "512"); // the byte-level prompt with qwen's default system is ~150 tokens
    a.set("output_dir", out.string());
    a.set("per_device_eval_batch_size", std::to_string(batch));
    a.set("max_new_tokens", "6");
    a.set("do_sample", "false");
    return a;
}

std::vector<json> readJsonLines(const fs::path& path)
{
    std::vector<json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            out.push_back(json::parse(line));
    return out;
}

// The checks every prediction folder passes; returns the predictions.
std::vector<std::string> checkPredictionFolder(const fs::path& out)
{
    const auto lines = readJsonLines(out / "generated_predictions.jsonl");
    if (lines.size() != std::size_t(kExamples))
        return {};
    std::vector<std::string> predictions;
    SimilarityAccumulator recomputed;
    for (int i = 0; i < kExamples; ++i) {
        const auto& l = lines[std::size_t(i)];
        if (l.size() != 3 || !l.contains("prompt") || !l.contains("predict") || !l.contains("label"))
            return {};
        // qwen's assistant slot is "{{content}}<|im_end|>\n": the label decodes (special tokens skipped) to
        // the answer and the newline, as LLaMA-Factory's decoded label ids do.
        if (l["label"].get<std::string>() != answerOf(i) + "\n")
            return {};
        const std::string prompt = l["prompt"];
        if (prompt.find("Q" + std::to_string(i) + "?") == std::string::npos ||
            prompt.find("<|im_start|>assistant\n") == std::string::npos)
            return {};
        predictions.push_back(l["predict"]);
        recomputed.add(l["predict"].get<std::string>(), l["label"].get<std::string>());
    }
    const auto results = json::parse(readTextFile((out / "predict_results.json").string()));
    const auto all = json::parse(readTextFile((out / "all_results.json").string()));
    for (const auto& [key, value] : recomputed.means()) {
        const std::string name = "predict_" + key;
        if (!results.contains(name) || results[name].get<double>() != value || all[name] != results[name])
            return {};
    }
    for (const char* key : {"predict_runtime", "predict_samples_per_second", "predict_steps_per_second"})
        if (!results.contains(key) || !all.contains(key))
            return {};
    return predictions;
}

} // namespace

class TestPredict : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(2); }

    void predictOnlyAndBatchSizes()
    {
        const fs::path root = lathe::test::scratchDir("predict_only").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root);

        const auto one = runTraining(predictArgs(modelDir, dataDir, root / "b1", 1));
        QVERIFY(!one.aborted);
        QCOMPARE(one.totalSteps, std::int64_t(kExamples));
        const auto p1 = checkPredictionFolder(root / "b1");
        QCOMPARE(p1.size(), std::size_t(kExamples));
        QVERIFY(one.metrics.contains("predict_bleu-4"));
        QVERIFY(!fs::exists(root / "b1/adapter_model.safetensors")); // nothing trained, nothing saved

        const auto three = runTraining(predictArgs(modelDir, dataDir, root / "b3", 3));
        QCOMPARE(three.totalSteps, std::int64_t(3)); // 7 examples in batches of 3
        const auto p3 = checkPredictionFolder(root / "b3");
        QCOMPARE(p3.size(), std::size_t(kExamples));
        for (int i = 0; i < kExamples; ++i)
            QCOMPARE(QString::fromStdString(p3[std::size_t(i)]), QString::fromStdString(p1[std::size_t(i)]));
        // trainer_log.jsonl: a record every 5 prediction steps when not training (LogCallback).
        const auto records = readJsonLines(root / "b1/trainer_log.jsonl");
        QCOMPARE(records.size(), std::size_t(1));
        QCOMPARE(records[0]["current_steps"].get<int>(), 5);
        QCOMPARE(records[0]["total_steps"].get<int>(), kExamples);
    }

    void predictAfterTraining()
    {
        const fs::path root = lathe::test::scratchDir("predict_after_train").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root);
        auto a = predictArgs(modelDir, dataDir, root / "run", 4);
        a.set("do_train", "true");
        a.set("dataset", "qa");
        a.set("finetuning_type", "lora");
        a.set("lora_rank", "4");
        a.set("learning_rate", "5e-3");
        a.set("max_steps", "3");
        a.set("per_device_train_batch_size", "2");
        a.set("tokenized_path", (root / "cache").string());
        const auto result = runTraining(a);
        QCOMPARE(result.globalStep, std::int64_t(3));
        QVERIFY(result.metrics.contains("train_loss") && result.metrics.contains("predict_rouge-l"));
        QCOMPARE(checkPredictionFolder(root / "run").size(), std::size_t(kExamples));
        const auto all = json::parse(readTextFile((root / "run/all_results.json").string()));
        QVERIFY(all.contains("train_loss") && all.contains("predict_bleu-4"));

        // The adapter it saved, predicted on its own (do_train false, adapter_name_or_path), gives the
        // same predictions as the in-memory model did.
        auto b = predictArgs(modelDir, dataDir, root / "again", 4);
        b.set("finetuning_type", "lora");
        b.set("adapter_name_or_path", (root / "run").string());
        runTraining(b);
        const auto before = readJsonLines(root / "run/generated_predictions.jsonl");
        const auto after = readJsonLines(root / "again/generated_predictions.jsonl");
        QCOMPARE(after.size(), before.size());
        for (std::size_t i = 0; i < after.size(); ++i)
            QCOMPARE(QString::fromStdString(after[i]["predict"].get<std::string>()),
                     QString::fromStdString(before[i]["predict"].get<std::string>()));
    }

    void refusals()
    {
        const fs::path root = lathe::test::scratchDir("predict_refusals").toStdString();
        const auto modelDir = lathe::test::makeTinyModel(root);
        const auto dataDir = makeData(root);
        QString message;
        auto a = predictArgs(modelDir, dataDir, root / "x", 2);
        a.set("predict_with_generate", "false");
        LATHE_VERIFY_ERROR(runTraining(a), message);
        QVERIFY(message.contains("predict_with_generate"));
        auto b = predictArgs(modelDir, dataDir, root / "y", 2);
        b.set("eval_dataset", "missing");
        LATHE_VERIFY_ERROR(runTraining(b), message);
        QVERIFY(message.contains("missing"));
    }
};

QTEST_GUILESS_MAIN(TestPredict)
#include "tst_predict.moc"
