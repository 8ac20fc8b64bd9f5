// Tests of `lathe train`: the real executable on a LLaMA-Factory-style YAML with key=value and --key value
// overrides, the run folder it leaves (loss plot included), and the messages for mistakes in a config.
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include <QFile>
#include <QImage>
#include <QtTest/QtTest>

#include "test_support.h"
#include "tiny_model.h"
#include "util/file_util.h"

namespace fs = std::filesystem;
using lathe::test::runLathe;
using nlohmann::json;

namespace {

QString describe(const lathe::test::ProcessResult& r)
{
    return QString("exit %1\nstdout: %2\nstderr: %3").arg(r.exitCode).arg(r.out.right(3000), r.err.right(3000));
}

} // namespace

class TestCliTrain : public QObject
{
    Q_OBJECT

    fs::path m_root, m_model, m_config;

private Q_SLOTS:
    void initTestCase()
    {
        m_root = lathe::test::scratchDir("cli_train").toStdString();
        m_model = lathe::test::makeTinyModel(m_root);
        fs::create_directories(m_root / "data");
        json records = json::array();
        for (int i = 0; i < 6; ++i)
            records.push_back({{"instruction", "Q" + std::to_string(i)}, {"input", ""}, {"output", "A."}});
        lathe::writeTextFileAtomic((m_root / "data/qa.json").string(), records.dump());
        lathe::writeTextFileAtomic((m_root / "data/dataset_info.json").string(),
                                   json{{"qa", {{"file_name", "qa.json"}}}}.dump());
        m_config = m_root / "lora_sft.yaml";
        const std::string yaml = "### model\nmodel_name_or_path: " + m_model.string() +
                                 "\ntrust_remote_code: true\n\n### method\nstage: sft\ndo_train: true\n"
                                 "finetuning_type: lora\nlora_rank: 4\nlora_target: all\n\n### dataset\n"
                                 "dataset: qa\ndataset_dir: " + (m_root / "data").string() +
                                 "\ntemplate: qwen\ncutoff_len: 64\n\n### output\noutput_dir: " +
                                 (m_root / "out").string() +
                                 "\nlogging_steps: 1\nsave_steps: 2\nplot_loss: true\noverwrite_output_dir: true\n\n"
                                 "### train\nper_device_train_batch_size: 2\nlearning_rate: 1.0e-2\n"
                                 "num_train_epochs: 1.0\nlr_scheduler_type: cosine\nddp_timeout: 180000000\n";
        lathe::writeTextFileAtomic(m_config.string(), yaml);
        // A model folder with everything but config.json.
        fs::copy(m_model, m_root / "noconfig", fs::copy_options::recursive);
        fs::remove(m_root / "noconfig" / "config.json");
    }

    void trainsWithOverrides()
    {
        const auto r = runLathe({"train", QString::fromStdString(m_config.string()), "max_steps=4", "--seed", "5",
                                 "--tokenized_path", QString::fromStdString((m_root / "cache").string()),
                                 "--threads", "1"});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        // LLaMA-Factory keys Lathe does not act on are named with the reason.
        QVERIFY2(r.err.contains("trust_remote_code is ignored"), qPrintable(describe(r)));
        QVERIFY2(!r.err.contains("ddp_timeout is ignored"), qPrintable(describe(r))); // it bounds the workers' waits
        QVERIFY2(r.out.contains("train_loss"), qPrintable(describe(r)));
        const fs::path out = m_root / "out";
        const auto state = json::parse(lathe::readTextFile((out / "trainer_state.json").string()));
        QCOMPARE(state["global_step"].get<int>(), 4);
        QVERIFY(fs::exists(out / "checkpoint-2") && fs::exists(out / "checkpoint-4"));
        const QImage plot(QString::fromStdString((out / "training_loss.png").string()));
        QCOMPARE(plot.size(), QSize(640, 480));
        // The overrides are what training_args.yaml records.
        const QString args = QString::fromStdString(lathe::readTextFile((out / "training_args.yaml").string()));
        QVERIFY2(args.contains("max_steps: 4"), qPrintable(args));
        QVERIFY2(args.contains("seed: 5"), qPrintable(args));
    }

    // The trained adapter merged and exported (hf, float32) generates what base + adapter generate.
    void exportsTheTrainedAdapter()
    {
        const QString out = QString::fromStdString((m_root / "out").string());
        const QString exported = QString::fromStdString((m_root / "exported").string());
        auto r = runLathe({"export", "model_name_or_path=" + QString::fromStdString(m_model.string()),
                           "adapter_name_or_path=" + out, "export_dir=" + exported, "template=qwen",
                           "infer_dtype=float32", "export_size=1"});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY(QFile::exists(exported + "/model.safetensors"));
        QVERIFY(QFile::exists(exported + "/Modelfile"));
        QVERIFY(QFile::exists(exported + "/tokenizer.json"));
        const QStringList ids{"--input_ids", "257,81,49,258,10,257,97,115", "--max_new_tokens", "6", "--json"};
        r = runLathe(QStringList{"generate", "--model_name_or_path", exported} + ids);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const auto merged = json::parse(r.out.toStdString());
        r = runLathe(QStringList{"generate", "--model_name_or_path", QString::fromStdString(m_model.string()),
                                 "--adapter_name_or_path", out} + ids);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const auto unmerged = json::parse(r.out.toStdString());
        QCOMPARE(merged["output_ids"], unmerged["output_ids"]);
        const auto a = merged["logits_last"].get<std::vector<double>>();
        const auto b = unmerged["logits_last"].get<std::vector<double>>();
        QCOMPARE(a.size(), b.size());
        double diff = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            diff = std::max(diff, std::abs(a[i] - b[i]));
        QVERIFY2(diff < 1e-4, qPrintable(QString("merged and unmerged logits differ by %1").arg(diff)));
        // A second export into the same folder is refused unless asked.
        r = runLathe({"export", "model_name_or_path=" + QString::fromStdString(m_model.string()),
                      "export_dir=" + exported});
        QVERIFY2(r.exitCode != 0 && r.err.contains("not empty"), qPrintable(describe(r)));
    }

    void dryRunPrintsTheCommand()
    {
        const auto r = runLathe({"train", QString::fromStdString(m_config.string()), "lora_rank=16", "--dry_run"});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY2(r.out.contains("### lora\nlora_rank: 16"), qPrintable(describe(r)));
        QVERIFY2(r.out.contains("lathe train model_name_or_path="), qPrintable(describe(r)));
        QVERIFY2(r.out.contains(" lora_rank=16 "), qPrintable(describe(r)));
        QVERIFY(!fs::exists(m_root / "dry"));
    }

    void mistakesAreExplained_data()
    {
        QTest::addColumn<QStringList>("overrides");
        QTest::addColumn<QString>("expected");
        QTest::newRow("misspelled key") << QStringList{"learning_rat=1e-3"} << "learning_rate";
        QTest::newRow("bad choice") << QStringList{"lr_scheduler_type=cosin"} << "cosin";
        QTest::newRow("bad number") << QStringList{"--lora_rank", "eight"} << "lora_rank";
        QTest::newRow("unsupported stage") << QStringList{"stage=ppo"} << "ppo";
        QTest::newRow("missing model") << QStringList{"model_name_or_path=/nonexistent/model"} << "/nonexistent/model";
        QTest::newRow("no config.json") << QStringList{"model_name_or_path=" + QString::fromStdString((m_root / "noconfig").string())}
                                        << "not a model folder (no config.json)";
    }
    void mistakesAreExplained()
    {
        QFETCH(QStringList, overrides);
        QFETCH(QString, expected);
        QStringList args{"train", QString::fromStdString(m_config.string())};
        args << overrides << "output_dir=" + QString::fromStdString((m_root / "bad").string());
        const auto r = runLathe(args);
        QVERIFY2(r.exitCode != 0 && r.exitCode < 128, qPrintable(describe(r)));
        QVERIFY2(r.err.contains(expected), qPrintable(describe(r)));
    }

    // Issue 20, item 12: nine anchors of nine aliases each stand for 9^9 values; the config is refused in a
    // moment instead of growing to gigabytes and aborting with std::bad_alloc.
    void yamlAliasBombIsRefused()
    {
        std::string yaml = "dataset:\n  - &a0 [x, x, x, x, x, x, x, x, x]\n";
        for (int i = 1; i <= 9; ++i) {
            yaml += "  - &a" + std::to_string(i) + " [";
            for (int k = 0; k < 9; ++k)
                yaml += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
            yaml += "]\n";
        }
        const fs::path bomb = m_root / "bomb.yaml";
        lathe::writeTextFileAtomic(bomb.string(), yaml);
        QElapsedTimer t;
        t.start();
        const auto r = runLathe({"train", QString::fromStdString(bomb.string())}, 60000);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
        QVERIFY2(r.err.contains("expands to more than"), qPrintable(describe(r)));
        QVERIFY2(t.elapsed() < 30000, qPrintable(QString("%1 ms").arg(t.elapsed())));
    }

    // Issue 20, item 13: under an address-space limit (ulimit -v) too small for the estimate, training stops
    // before it starts, naming the limit (it spun for minutes inside OpenBLAS after mmap failed).
    void addressSpaceLimitIsChecked()
    {
        const QString command =
            "ulimit -v 6000000 && exec \"$0\" train \"$1\" per_device_train_batch_size=64 cutoff_len=65536 "
            "gradient_checkpointing=false output_dir=\"$2\" --threads 1";
        QProcess p;
        p.start("sh", {"-c", command, lathe::test::latheBinary(), QString::fromStdString(m_config.string()),
                       QString::fromStdString((m_root / "ulimit").string())});
        QVERIFY(p.waitForFinished(120000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(p.exitCode() == 2, qPrintable(err));
        QVERIFY2(err.contains("address-space limit (ulimit -v)"), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestCliTrain)
#include "tst_cli_train.moc"
