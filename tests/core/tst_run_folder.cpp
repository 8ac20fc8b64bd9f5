// Hardening of the run folder and of file reading (issue 20, items 7-10 and 14): an overwriting run retires the
// checkpoints of the run it overwrites (a later resume continues the new run), leftovers of an interrupted save
// are removed when the next run starts, the final model is written whole before it replaces the previous one
// (no temporary folder or half-copied tokenizer left behind), `lathe train` treats SIGTERM like Ctrl-C (stops
// after the step, saves, and the same command resumes), and a FIFO named like a model file is refused at once
// instead of hanging.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QtTest/QtTest>

#include "error_check.h"
#include "io/safetensors.h"
#include "model/model_config.h"
#include "test_support.h"
#include "tiny_model.h"
#include "train/trainer.h"
#include "util/file_util.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

lathe::ArgumentSet args(const fs::path& model, const fs::path& data, const fs::path& out, int steps)
{
    lathe::ArgumentSet a;
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"model_name_or_path", model.string()}, {"stage", "sft"}, {"do_train", "true"},
             {"finetuning_type", "lora"}, {"lora_rank", "4"}, {"dataset", "qa"}, {"dataset_dir", data.string()},
             {"template", "qwen"}, {"cutoff_len", "64"}, {"output_dir", out.string()},
             {"per_device_train_batch_size", "2"}, {"learning_rate", "5e-3"}, {"max_steps", std::to_string(steps)},
             {"save_steps", "2"}, {"logging_steps", "1"}})
        a.set(k, v);
    return a;
}

fs::path makeData(const fs::path& root)
{
    std::vector<std::pair<std::string, std::string>> qa;
    for (int i = 0; i < 8; ++i)
        qa.emplace_back("Q" + std::to_string(i) + "?", "A" + std::to_string(i % 3) + ".");
    lathe::test::writeAlpacaDataset(root / "data", "qa", qa);
    return root / "data";
}

} // namespace

class TestRunFolder : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    // Issue 23, item 8: a wrong model path fails before the output folder exists (a leftover folder would block
    // the next start), and an output folder that cannot be made says so in words.
    void badModelOrOutputFolderFailsBeforeWriting()
    {
        const fs::path root = lathe::test::scratchDir("run_folder_early").toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = makeData(root);
        QString message;
        LATHE_VERIFY_ERROR(lathe::runTraining(args(root / "no_such_model", data, root / "run", 2)), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"no_such_model", "not a model folder"}));
        QVERIFY(!fs::exists(root / "run"));
        QCOMPARE(lathe::runTraining(args(model, data, root / "run", 2)).globalStep, std::int64_t(2)); // the next start

        lathe::writeTextFileAtomic((root / "a_file").string(), "x");
        LATHE_VERIFY_ERROR(lathe::runTraining(args(model, data, root / "a_file" / "run", 2)), message);
        LATHE_VERIFY_MENTIONS(message, (QStringList{"output_dir: cannot create", "a_file/run", "choose a folder"}));
    }

    void overwriteRetiresTheOldRunAndLeftoversGo()
    {
        const fs::path root = lathe::test::scratchDir("run_folder_overwrite").toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = makeData(root);
        const fs::path out = root / "run";
        QCOMPARE(lathe::runTraining(args(model, data, out, 6)).globalStep, std::int64_t(6));
        QVERIFY(fs::exists(out / "checkpoint-6"));
        // An interrupted save left behind, as a kill would.
        fs::create_directories(out / ".checkpoint-8.tmp");
        fs::create_directories(out / ".final.tmp");

        auto again = args(model, data, out, 2);
        again.set("overwrite_output_dir", "true");
        QCOMPARE(lathe::runTraining(again).globalStep, std::int64_t(2));
        QVERIFY(!fs::exists(out / "checkpoint-6")); // the overwritten run's checkpoints are gone
        QVERIFY(!fs::exists(out / "checkpoint-4"));
        QVERIFY(fs::exists(out / "checkpoint-2"));
        QVERIFY(!fs::exists(out / ".checkpoint-8.tmp"));
        QVERIFY(!fs::exists(out / ".final.tmp"));
        // The final save: a complete adapter and the tokenizer, no temporary file.
        for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"})
            QVERIFY2(fs::exists(out / f), f);
        for (const auto& entry : fs::directory_iterator(out))
            QVERIFY2(entry.path().filename().string().find(".tmp") == std::string::npos, entry.path().c_str());

        // Resuming now (overwrite off) continues the new run from its own checkpoint.
        auto resume = args(model, data, out, 4);
        const auto r = lathe::runTraining(resume);
        QVERIFY(r.resumedFrom && QString::fromStdString(*r.resumedFrom).endsWith("checkpoint-2"));
        QCOMPARE(r.globalStep, std::int64_t(4));
    }

    void sigtermStopsAndSaves()
    {
        const fs::path root = lathe::test::scratchDir("run_folder_sigterm").toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = makeData(root);
        const fs::path out = root / "run";
        const QStringList command = {"train",
                                     QString::fromStdString((root / "train.yaml").string()),
                                     "max_steps=100000", "save_steps=100000", "threads=1"};
        lathe::writeTextFileAtomic((root / "train.yaml").string(), args(model, data, out, 100000).toYaml());
        QProcess p;
        p.start(lathe::test::latheBinary(), command);
        QVERIFY(p.waitForStarted());
        // Until the first step is logged.
        QElapsedTimer t;
        t.start();
        while (!fs::exists(out / "trainer_log.jsonl") && t.elapsed() < 60000)
            QTest::qWait(50);
        QVERIFY(fs::exists(out / "trainer_log.jsonl"));
        ::kill(p.processId(), SIGTERM);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        const auto checkpoint = lathe::lastCheckpoint(out.string());
        QVERIFY2(!checkpoint.empty(), qPrintable(QString::fromUtf8(p.readAll())));
        QVERIFY(fs::exists(out / "adapter_model.safetensors"));
    }

    void exportLeavesNothingBehind()
    {
        // Leftovers of a killed export are removed by the next one; a failing export removes its float32 merge.
        const fs::path root = lathe::test::scratchDir("run_folder_export").toStdString();
        const auto model = lathe::test::makeTinyModel(root);
        const auto data = makeData(root);
        QCOMPARE(lathe::runTraining(args(model, data, root / "run", 2)).globalStep, std::int64_t(2));
        const fs::path out = root / "gguf";
        fs::create_directories(out);
        fs::create_directories(root / ".gguf.merged");
        lathe::writeTextFileAtomic((out / "model-f32.gguf.tmp-123456").string(), "half a file");
        auto r = lathe::test::runLathe({"export", "model_name_or_path=" + QString::fromStdString(model.string()),
                                        "adapter_name_or_path=" + QString::fromStdString((root / "run").string()),
                                        "export_dir=" + QString::fromStdString(out.string()), "export_format=hf",
                                        "overwrite_output_dir=true"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(!fs::exists(root / ".gguf.merged"));
        QVERIFY(!fs::exists(out / "model-f32.gguf.tmp-123456"));
        QVERIFY(fs::exists(out / "config.json"));
        r = lathe::test::runLathe({"export", "model_name_or_path=" + QString::fromStdString(model.string()),
                                   "adapter_name_or_path=" + QString::fromStdString((root / "run").string()),
                                   "export_dir=" + QString::fromStdString((root / "bad").string()),
                                   "export_format=gguf", "export_quantization=q9_9"});
        QVERIFY(r.exitCode != 0);
        QVERIFY(!fs::exists(root / ".bad.merged"));
    }

    void fullDiskIsNamed()
    {
        // ENOSPC (and EIO on a nearly full file system) become "no space left ... (N MB free)", not strerror's
        // "Input/output error".
        const QString reason = QString::fromStdString(lathe::writeFailure("/tmp/some/file", ENOSPC));
        QVERIFY2(reason.contains("no space left") && reason.contains("MB free"), qPrintable(reason));
        QCOMPARE(QString::fromStdString(lathe::writeFailure("/tmp/some/file", EACCES)), QString(std::strerror(EACCES)));
    }

    void fifoIsRefusedAtOnce()
    {
        const fs::path root = lathe::test::scratchDir("run_folder_fifo").toStdString();
        fs::create_directories(root / "model");
        QCOMPARE(::mkfifo((root / "model/config.json").c_str(), 0600), 0);
        QCOMPARE(::mkfifo((root / "model/model.safetensors").c_str(), 0600), 0);
        QElapsedTimer t;
        t.start();
        QString message;
        LATHE_VERIFY_ERROR(lathe::ModelConfig::fromDir((root / "model").string()), message);
        QVERIFY2(message.contains("not a regular file"), qPrintable(message));
        LATHE_VERIFY_ERROR(lathe::WeightStore::openFile((root / "model/model.safetensors").string()), message);
        QVERIFY2(message.contains("not a regular file"), qPrintable(message));
        QVERIFY(t.elapsed() < 10000);
    }
};

QTEST_MAIN(TestRunFolder)
#include "tst_run_folder.moc"
