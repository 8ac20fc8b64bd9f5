// End to end: `lathe train` runs LLaMA-Factory's own qwen3_lora_dpo.yaml, qwen3_lora_kto.yaml and
// qwen3_lora_reward.yaml (shared/examples/llamafactory/train_lora) with only the model, the data folder, the
// output folder and the run size overridden, on a small random model with the real Qwen3 tokenizer and
// LLaMA-Factory's demo datasets (dpo_en_demo, kto_en_demo). Each run must finish, write the run folder with
// the stage's metrics under LLaMA-Factory's names, and move the model the stage's way: with the saved
// adapter (and value head), the mean reward margin over the training examples is positive for dpo and kto
// (it is exactly 0 before the first step, when the policy equals its reference) and the reward model's mean
// score gap between chosen and rejected answers is larger than its untrained head's.
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QFileInfo>
#include <QtTest/QtTest>

#include "data/dataset_attr.h"
#include "error_check.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "template/chat_template.h"
#include "template/template_encoder.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "train/objective.h"
#include "train/train_data.h"
#include "util/file_util.h"

using json = nlohmann::json;
using namespace lathe;
namespace fs = std::filesystem;

namespace {


/// The training examples of `dataset` as the stage's data builder makes them, collated in batches of 4.
std::vector<TrainBatch> trainingBatches(const std::string& stage, StageData kind, const std::string& dataDir,
                                        const std::string& dataset, const std::string& modelDir)
{
    auto tokenizer = Tokenizer::fromDirectory(modelDir);
    TemplateEncoder encoder(chatTemplate("qwen3_nothink"), tokenizer);
    const auto registry = DatasetRegistry::load(dataDir);
    DataOptions options;
    options.stage = stage;
    options.modelPath = modelDir;
    options.templateName = "qwen3_nothink";
    options.cutoffLen = 192;
    options.maxSamples = 8;
    options.process.cutoffLen = 192;
    ExampleSet set;
    auto builder = makeDataBuilder(kind);
    builder->load(registry, {dataset}, *tokenizer, encoder, options, set);
    std::vector<TrainBatch> batches;
    for (std::size_t i = 0; i < set.size(); i += 4) {
        std::vector<TrainItem> items;
        for (std::size_t j = i; j < std::min(set.size(), i + 4); ++j)
            items.push_back(set.at(j));
        batches.push_back(builder->collate(items, *tokenizer->padId, torch::kCPU));
    }
    return batches;
}

/// The mean of `metric` over the batches, from the stage's objective on the model with `adapterDir`.
double meanMetric(const std::string& stage, const std::vector<TrainBatch>& batches, const std::string& modelDir,
                  const std::string& adapterDir, const std::string& metric)
{
    auto model = loadModel(modelDir, {torch::kCPU, torch::kFloat32});
    ObjectiveSetup setup;
    setup.modelPath = modelDir;
    if (!adapterDir.empty()) {
        attachLoraAdapter(model, adapterDir);
        setup.lora = true;
        setup.adapters = {adapterDir};
    }
    model->eval();
    ArgumentSet args;
    args.setValue("stage", stage);
    auto objective = makeObjective(stage, bindTrainingArguments(args));
    objective->prepare(model, setup);
    torch::NoGradGuard noGrad;
    MetricSums sums;
    for (const auto& batch : batches)
        sums.merge(objective->compute(model, batch).metrics);
    for (const auto& [name, value] : sums.means())
        if (name == metric)
            return value;
    return std::nan("");
}

} // namespace

class TestPreferenceTrain : public QObject
{
    Q_OBJECT

private:
    QString m_why, m_tokenizer, m_root, m_model;

private Q_SLOTS:
    void initTestCase()
    {
        if (lathe::test::sharedDir().isEmpty())
            return;
        m_tokenizer = lathe::test::qwen3TokenizerDir(m_why);
        if (m_tokenizer.isEmpty())
            return;
        m_root = lathe::test::scratchDir("preference_train");
        NewModelOptions model;
        model.arch = "qwen3";
        model.config = "demo";
        model.tokenizerDir = m_tokenizer.toStdString();
        model.outDir = (m_root + "/model").toStdString();
        model.dtype = "float32";
        model.seed = 42;
        LATHE_VERIFY_NO_ERROR(writeNewModel(model));
        m_model = m_root + "/model";
    }

    void llamaFactoryConfigs_data()
    {
        QTest::addColumn<QString>("yaml");
        QTest::addColumn<QString>("stage");
        QTest::addColumn<QString>("dataset");
        QTest::newRow("dpo") << "qwen3_lora_dpo.yaml" << "dpo" << "dpo_en_demo";
        QTest::newRow("kto") << "qwen3_lora_kto.yaml" << "kto" << "kto_en_demo";
        QTest::newRow("rm") << "qwen3_lora_reward.yaml" << "rm" << "dpo_en_demo";
    }
    void llamaFactoryConfigs()
    {
        LATHE_REQUIRE_SHARED();
        if (m_model.isEmpty())
            QSKIP(qPrintable(m_why));
        QFETCH(QString, yaml);
        QFETCH(QString, stage);
        QFETCH(QString, dataset);
        const QString shared = lathe::test::sharedDir();
        const QString config = shared + "/examples/llamafactory/train_lora/" + yaml;
        const QString dataDir = shared + "/data/llamafactory";
        const QString out = m_root + "/" + stage;
        const auto run = lathe::test::runLathe({"train", config, "model_name_or_path=" + m_model, "output_dir=" + out,
                                                "dataset_dir=" + dataDir, "max_samples=8", "max_steps=4",
                                                "logging_steps=1", "cutoff_len=192", "threads=2"},
                                               400000);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err.right(3000)));
        QVERIFY(QFileInfo::exists(out + "/adapter_model.safetensors"));
        QVERIFY(QFileInfo::exists(out + "/adapter_config.json"));

        // trainer_log.jsonl carries the stage's metrics under LLaMA-Factory's names.
        const auto lines = QString::fromStdString(readTextFile((out + "/trainer_log.jsonl").toStdString()))
                               .split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 5); // four steps and the closing record
        const auto first = json::parse(lines.front().toStdString());
        if (stage == "rm") {
            QVERIFY(QFileInfo::exists(out + "/value_head.safetensors"));
            QVERIFY2(first.contains("accuracy"), first.dump().c_str());
        } else {
            for (const char* key : {"rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen",
                                    "logits/chosen"})
                QVERIFY2(first.contains(key), (std::string(key) + " missing in " + first.dump()).c_str());
            if (stage == "dpo")
                QVERIFY(first.contains("accuracy") && first.contains("rewards/accuracies"));
            else
                QVERIFY(first.contains("kl"));
        }
        const auto state = json::parse(readTextFile((out + "/trainer_state.json").toStdString()));
        QCOMPARE(state["global_step"].get<int>(), 4);

        // The model moved the stage's way on its training examples.
        const std::string s = stage.toStdString();
        const auto kind = s == "kto" ? StageData::Feedback : StageData::Pairwise;
        const auto batches = trainingBatches(s, kind, dataDir.toStdString(), dataset.toStdString(), m_model.toStdString());
        QVERIFY(!batches.empty());
        if (stage == "rm") {
            // The pairwise loss -log sigmoid(chosen score - rejected score) over the training pairs drops
            // from the untrained head's (the same seeded initialisation, LoRA off): the scores part.
            auto lossOf = [&](const std::string& adapter) {
                auto model = loadModel(m_model.toStdString(), {torch::kCPU, torch::kFloat32});
                ObjectiveSetup setup;
                setup.modelPath = m_model.toStdString();
                if (!adapter.empty()) {
                    attachLoraAdapter(model, adapter);
                    setup.lora = true;
                    setup.adapters = {adapter};
                }
                model->eval();
                ArgumentSet args;
                args.setValue("stage", "rm");
                auto objective = makeObjective("rm", bindTrainingArguments(args));
                objective->prepare(model, setup);
                torch::NoGradGuard noGrad;
                double sum = 0;
                for (const auto& b : batches)
                    sum += objective->compute(model, b).loss.item<double>();
                return sum / double(batches.size());
            };
            const double before = lossOf(""), after = lossOf(out.toStdString());
            qInfo("rm: mean pairwise loss over the training pairs %.5f before, %.5f after training", before, after);
            QVERIFY2(after < before, qPrintable(QString("rm loss %1 before, %2 after training").arg(before).arg(after)));
        } else {
            const double margin = meanMetric(s, batches, m_model.toStdString(), out.toStdString(), "rewards/margins");
            qInfo("%s: mean reward margin over the training examples after training %.5f", qPrintable(stage), margin);
            QVERIFY2(margin > 0, qPrintable(QString("%1: mean reward margin %2 after training").arg(stage).arg(margin)));
        }
    }
};

QTEST_APPLESS_MAIN(TestPreferenceTrain)
#include "tst_preference_train.moc"
