// Tests of the Train tab: datasets listed by stage from dataset_info.json, the arguments it builds from the
// top bar, the tab and the form (preview, save and load), refusing to start without what a run needs, and
// real runs of a tiny model started from the tab: progress, log, charts and run folder; abort; an error.
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QApplication>
#include <QTimer>
#include <QFileDialog>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardItemModel>
#include <cmath>

#include <QValueAxis>
#include <QtTest/QtTest>

#include <QLineSeries>

#include "argument_form.h"
#include "test_support.h"
#include "widget_input.h"
#include "tiny_model.h"
#include "top_bar.h"
#include "train/trainer.h"
#include "train_charts.h"
#include "train_runner.h"
#include "train_tab.h"

using lathe::ArgumentSet;
using lathe::TopBar;
using lathe::TrainTab;

namespace {

void writeFile(const QString& path, const QByteArray& data)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(data), qint64(data.size()));
}

int lineCount(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    return int(file.readAll().trimmed().split('\n').size());
}

} // namespace

class TestTrainTab : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void datasetsAreListedByStage();
    void argumentsComeFromTopBarTabAndForm();
    void previewSaveAndLoadRoundTrip();
    void startRefusesWhatCannotRun();
    void runFromTheTab();
    void dpoRunFromTheTab();
    void abortStopsAndSaves();
    void twoWorkersFromTheTab();
    void trainerErrorIsShown();
    void memoryEstimateBeforeStart();
    void existingOutputDirOffersResume();

private:
    // A tab on a top bar set up for a short LoRA run of the tiny model on `qa`, writing to `out`.
    void setUp(TopBar& bar, TrainTab& tab, const QString& out, int maxSteps);

    QString m_root, m_model, m_data;
};

void TestTrainTab::initTestCase()
{
    m_root = lathe::test::scratchDir("train_tab");
    m_model = QString::fromStdString(lathe::test::makeTinyModel(m_root.toStdString()).string());
    m_data = m_root + "/data";
    QDir().mkpath(m_data);
    QJsonArray qa;
    for (int i = 0; i < 12; ++i)
        qa.append(QJsonObject{{"instruction", QString("What is %1 plus %1?").arg(i)},
                              {"input", ""},
                              {"output", QString("It is %1.").arg(2 * i)}});
    writeFile(m_data + "/qa.json", QJsonDocument(qa).toJson());
    QJsonArray pairs;
    for (int i = 0; i < 8; ++i)
        pairs.append(QJsonObject{{"instruction", QString("What is %1 plus %1?").arg(i)},
                                 {"chosen", QString("It is %1.").arg(2 * i)},
                                 {"rejected", QString("It is %1.").arg(2 * i + 1)}});
    writeFile(m_data + "/pairs.json", QJsonDocument(pairs).toJson());
    const QJsonObject pairsColumns{{"prompt", "instruction"}, {"chosen", "chosen"}, {"rejected", "rejected"}};
    const QJsonObject info{
        {"qa", QJsonObject{{"file_name", "qa.json"}}},
        {"pairs", QJsonObject{{"file_name", "pairs.json"}, {"ranking", true}, {"columns", pairsColumns}}}};
    writeFile(m_data + "/dataset_info.json", QJsonDocument(info).toJson());
}

void TestTrainTab::setUp(TopBar& bar, TrainTab& tab, const QString& out, int maxSteps)
{
    lathe::test::chooseIn(bar.modelNameCombo(), "Custom");
    lathe::test::typeInto(bar.modelPathEdit(), m_model);
    lathe::test::chooseIn(bar.templateCombo(), "qwen");
    lathe::test::chooseIn(bar.finetuningTypeCombo(), "lora");
    tab.setTopBar(&bar);
    lathe::test::typeInto(tab.datasetDirEdit(), m_data);
    QTest::keyClick(tab.datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
    lathe::test::tickOnly(tab.datasetList(), {"qa"});
    lathe::test::typeInto(tab.outputDirEdit(), out);
    ArgumentSet a;
    a.set("cutoff_len", "64");
    a.set("max_steps", QByteArray::number(maxSteps).toStdString());
    a.set("logging_steps", "1");
    a.set("save_steps", "1000");
    a.set("per_device_train_batch_size", "2");
    a.set("gradient_accumulation_steps", "1");
    a.set("learning_rate", "5e-3");
    a.set("lr_scheduler_type", "cosine");
    a.set("lora_rank", "4");
    a.set("plot_loss", "true");
    a.set("overwrite_output_dir", "true");
    a.set("tokenized_path", (m_root + "/cache").toStdString());
    tab.form()->load(a);
}

void TestTrainTab::datasetsAreListedByStage()
{
    TrainTab tab;
    // LLaMA-Board's stages in order; only the ones Lathe trains can be picked (PPO is listed, with its reason).
    QCOMPARE(TrainTab::stages(), QStringList({"sft", "rm", "ppo", "dpo", "kto", "pt"}));
    auto* model = qobject_cast<QStandardItemModel*>(tab.stageCombo()->model());
    QVERIFY(model);
    for (int i = 0; i < model->rowCount(); ++i) {
        const QString code = model->item(i)->data(Qt::UserRole).toString();
        QCOMPARE(model->item(i)->isEnabled(), code != "ppo");
        QCOMPARE(model->item(i)->toolTip().isEmpty(), code != "ppo");
    }
    QCOMPARE(tab.stage(), QStringLiteral("sft"));

    lathe::test::typeInto(tab.datasetDirEdit(), m_data);
    QTest::keyClick(tab.datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
    QCOMPARE(tab.availableDatasets(), QStringList({"qa"})); // "pairs" is a ranking dataset
    lathe::test::chooseIndex(tab.stageCombo(), int(TrainTab::stages().indexOf("pt")));
    QCOMPARE(tab.stage(), QStringLiteral("pt"));
    QCOMPARE(tab.availableDatasets(), QStringList({"qa"}));
    lathe::test::chooseIndex(tab.stageCombo(), int(TrainTab::stages().indexOf("dpo")));
    QCOMPARE(tab.availableDatasets(), QStringList({"pairs"}));
    QCOMPARE(tab.form()->stage(), QStringLiteral("dpo")); // the RLHF section follows the stage
    lathe::test::chooseIndex(tab.stageCombo(), int(TrainTab::stages().indexOf("pt")));

    // Ticking items chooses datasets in the order they were ticked.
    tab.datasetList()->item(0)->setCheckState(Qt::Checked);
    QCOMPARE(tab.datasets(), QStringList({"qa"}));
    tab.datasetList()->item(0)->setCheckState(Qt::Unchecked);
    QVERIFY(tab.datasets().isEmpty());

    lathe::test::typeInto(tab.datasetDirEdit(), m_root + "/nowhere");
    QTest::keyClick(tab.datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
    QVERIFY(tab.availableDatasets().isEmpty());
    QVERIFY2(tab.datasetNoteLabel()->text().contains("No dataset_info.json"), qPrintable(tab.datasetNoteLabel()->text()));

    // A broken dataset_info.json is not "missing": the reader's line and column are shown (issue 23, item 8).
    QDir().mkpath(m_root + "/broken_info");
    writeFile(m_root + "/broken_info/dataset_info.json", "{\n  \"a\": {\"file_name\": \"a.json\"},\n  \"b\": \n}\n");
    lathe::test::typeInto(tab.datasetDirEdit(), m_root + "/broken_info");
    QTest::keyClick(tab.datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
    QVERIFY2(tab.datasetNoteLabel()->text().contains("cannot be read") &&
                 tab.datasetNoteLabel()->text().contains("line 4, column 1"),
             qPrintable(tab.datasetNoteLabel()->text()));
}

void TestTrainTab::argumentsComeFromTopBarTabAndForm()
{
    TopBar bar;
    TrainTab tab;
    setUp(bar, tab, "run1", 3);
    const ArgumentSet a = tab.arguments();
    QCOMPARE(a.getString("stage"), std::string("sft"));
    QVERIFY(a.getBool("do_train"));
    QCOMPARE(QString::fromStdString(a.getString("model_name_or_path")), m_model);
    QCOMPARE(a.getString("finetuning_type"), std::string("lora"));
    QCOMPARE(a.getString("template"), std::string("qwen"));
    QCOMPARE(a.getString("dataset"), std::string("qa"));
    QCOMPARE(QString::fromStdString(a.getString("dataset_dir")), m_data);
    // A bare output name is a run under saves/<model>/<method>/, as in LLaMA-Board.
    QCOMPARE(QString::fromStdString(a.getString("output_dir")),
             QDir(bar.savesRoot()).filePath("Custom/lora/run1"));
    QCOMPARE(a.getInt("lora_rank"), 4LL);
    QCOMPARE(a.getInt("max_steps"), 3LL);
    QVERIFY(!a.isSet("adapter_name_or_path"));

    // A checkpoint of the top bar: an adapter for LoRA, the model itself for full fine-tuning.
    lathe::test::chooseIn(bar.checkpointCombo(), "train_old");
    QCOMPARE(QString::fromStdString(tab.arguments().getString("adapter_name_or_path")),
             QDir(bar.savesRoot()).filePath("Custom/lora/train_old"));
    lathe::test::chooseIn(bar.finetuningTypeCombo(), "full");
    lathe::test::chooseIn(bar.checkpointCombo(), "train_old");
    QCOMPARE(QString::fromStdString(tab.arguments().getString("model_name_or_path")),
             QDir(bar.savesRoot()).filePath("Custom/full/train_old"));
    QVERIFY(!tab.arguments().isSet("adapter_name_or_path"));

    // LLaMA-Board's Extra arguments: YAML keys as JSON over the form; mistakes stop Start (issue 23, item 12).
    QCOMPARE(tab.arguments().getString("optim"), std::string("adamw_torch"));
    auto* extra = tab.findChild<QLineEdit*>();
    QLineEdit* extraEdit = nullptr;
    for (QLineEdit* e : tab.findChildren<QLineEdit*>())
        if (e->text().contains("optim"))
            extraEdit = e;
    QVERIFY(extra && extraEdit);
    lathe::test::typeInto(extraEdit, R"({"max_grad_norm": 0.5, "lora_target": ["q_proj", "v_proj"], "plot_loss": false})");
    QCOMPARE(tab.arguments().getFloat("max_grad_norm"), 0.5);
    QCOMPARE(tab.arguments().getString("lora_target"), std::string("q_proj,v_proj"));
    QVERIFY(tab.problems().isEmpty());
    lathe::test::typeInto(extraEdit, R"({"learning_rat": 1e-4})");
    QVERIFY2(tab.problems().join(" ").contains("learning_rate"), qPrintable(tab.problems().join(" "))); // the closest key
    lathe::test::typeInto(extraEdit, "{not json");
    QVERIFY(tab.problems().join(" ").contains("Extra arguments: not a JSON object"));
    lathe::test::typeInto(extraEdit, R"({"optim": "adamw_torch"})");

    // A *_nothink template: "Enable thinking" off and not offered (issue 23, item 10).
    auto* thinking = qobject_cast<QCheckBox*>(tab.form()->editor("enable_thinking"));
    QVERIFY(thinking);
    lathe::test::clickTo(thinking, true);
    lathe::test::chooseIn(bar.templateCombo(), "qwen3_nothink");
    QVERIFY(!thinking->isChecked() && !thinking->isEnabled());
    QVERIFY(!tab.arguments().getBool("enable_thinking"));
    lathe::test::chooseIn(bar.templateCombo(), "qwen3");
    QVERIFY(thinking->isEnabled());
}

void TestTrainTab::previewSaveAndLoadRoundTrip()
{
    TopBar bar;
    TrainTab tab;
    const QString out = m_root + "/preview_run";
    setUp(bar, tab, out, 5);
    static_cast<QLineEdit*>(tab.form()->editor("lora_dropout"))->setText("0.1");

    lathe::test::clickOn(tab.previewButton());
    const QString preview = tab.outputBox()->toPlainText();
    QVERIFY(preview.contains("### method"));
    QVERIFY(preview.contains("lathe train "));
    QVERIFY(preview.contains("stage=sft"));
    QVERIFY(preview.contains("dataset=qa"));
    QVERIFY(preview.contains("lora_dropout=0.1"));
    QVERIFY(preview.contains("output_dir=" + out));
    QCOMPARE(preview, tab.previewCommand());
    // The command first (seen without scrolling), then the YAML, exactly what `lathe train` would read.
    const ArgumentSet expected = tab.arguments();
    QVERIFY(preview.startsWith("lathe train "));
    QVERIFY(preview.endsWith(QString::fromStdString(expected.toYaml())));

    // LLaMA-Board's config path: Save and Load use the file it names, no dialog (issue 23, item 12).
    const QString viaField = m_root + "/configs/via_field.yaml";
    lathe::test::chooseIn(tab.configPathCombo(), viaField);
    lathe::test::clickOn(tab.saveButton());
    QVERIFY(QFile::exists(viaField));
    lathe::test::typeInto(static_cast<QLineEdit*>(tab.form()->editor("lora_dropout")), "0.3");
    lathe::test::clickOn(tab.loadButton());
    QCOMPARE(static_cast<QLineEdit*>(tab.form()->editor("lora_dropout"))->text(), QString("0.1"));
    lathe::test::chooseIn(tab.configPathCombo(), "bare.yaml");
    QCOMPARE(tab.configPath(), QDir(lathe::TrainTab::configDir()).filePath("bare.yaml"));

    const QString yaml = m_root + "/saved.yaml";
    lathe::test::chooseIn(tab.configPathCombo(), yaml);
    lathe::test::clickOn(tab.saveButton());
    QVERIFY(tab.statusLabel()->text().contains(yaml));

    TopBar otherBar;
    TrainTab other;
    other.setTopBar(&otherBar);
    lathe::test::chooseIn(other.configPathCombo(), yaml);
    lathe::test::clickOn(other.loadButton());
    QCOMPARE(other.statusLabel()->text(), QStringLiteral("Arguments have been restored."));
    QCOMPARE(otherBar.modelPath(), m_model);
    QCOMPARE(otherBar.chatTemplate(), QStringLiteral("qwen"));
    QCOMPARE(other.datasets(), QStringList({"qa"}));
    QCOMPARE(other.arguments().toYaml(), expected.toYaml());

    // A path naming no file: Load asks for one in the file dialog (closed here with Escape, nothing loaded).
    bool asked = false;
    QTimer::singleShot(0, &other, [&] {
        auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
        asked = dialog != nullptr;
        if (dialog)
            QTest::keyClick(dialog, Qt::Key_Escape);
    });
    lathe::test::chooseIn(other.configPathCombo(), m_root + "/missing.yaml");
    lathe::test::clickOn(other.loadButton());
    QVERIFY(asked);
    QVERIFY(!other.loadArgumentsFile(m_root + "/missing.yaml"));
    QVERIFY(other.statusLabel()->text().contains("cannot read"));
}

void TestTrainTab::startRefusesWhatCannotRun()
{
    TopBar bar;
    TrainTab tab;
    setUp(bar, tab, m_root + "/refused", 3);
    lathe::test::tickOnly(tab.datasetList(), {});
    lathe::test::clickOn(tab.startButton());
    QVERIFY(!tab.isRunning());
    QVERIFY(!tab.isRunning());
    QVERIFY(tab.statusLabel()->text().contains("Please choose a dataset."));

    lathe::test::tickOnly(tab.datasetList(), {"qa"});
    lathe::test::typeInto(static_cast<QLineEdit*>(tab.form()->editor("learning_rate")), "much");
    lathe::test::clickOn(tab.startButton());
    QVERIFY(!tab.isRunning());
    QVERIFY(tab.statusLabel()->text().contains("learning_rate"));
    QVERIFY(tab.form()->editor("learning_rate")->property("invalid").toBool());

    // Typing a valid value clears the red message (issue 23, item 7).
    auto* lr = static_cast<QLineEdit*>(tab.form()->editor("learning_rate"));
    lr->selectAll();
    QTest::keyClicks(lr, "1e-3");
    QCOMPARE(tab.statusLabel()->text(), QString("Ready."));
    QVERIFY(tab.statusLabel()->styleSheet().isEmpty());
    lathe::test::clickTo(qobject_cast<QCheckBox*>(tab.form()->editor("bf16")), true);
    lathe::test::clickTo(qobject_cast<QCheckBox*>(tab.form()->editor("fp16")), true);
    lathe::test::clickOn(tab.startButton());
    QVERIFY(!tab.isRunning()); // the schema's cross-field check
    QVERIFY(tab.statusLabel()->text().contains("bf16 and fp16"));
    QVERIFY(!QDir(m_root + "/refused").exists());

    // A model path that is no model is said before Start, and nothing is created (issue 23, item 8).
    lathe::test::clickTo(qobject_cast<QCheckBox*>(tab.form()->editor("fp16")), false);
    lathe::test::typeInto(bar.modelPathEdit(), m_root + "/no_such_model");
    lathe::test::clickOn(tab.startButton());
    QVERIFY(!tab.isRunning());
    QVERIFY2(tab.statusLabel()->text().contains("does not exist"), qPrintable(tab.statusLabel()->text()));
    lathe::test::typeInto(bar.modelPathEdit(), m_data);
    lathe::test::clickOn(tab.startButton());
    QVERIFY(!tab.isRunning());
    QVERIFY2(tab.statusLabel()->text().contains("no config.json"), qPrintable(tab.statusLabel()->text()));
    QVERIFY(!QDir(m_root + "/refused").exists());
}

void TestTrainTab::memoryEstimateBeforeStart()
{
    TopBar bar;
    TrainTab tab;
    setUp(bar, tab, m_root + "/estimate", 3);
    tab.updateMemoryEstimate(); // setUp fills the form from code, which is not an edit
    // Shown before anything runs, the engine's own figure for these arguments.
    const lathe::MemoryEstimate engine = lathe::estimateTrainingMemory(tab.arguments());
    const QString shown = tab.memoryLabel()->text();
    QVERIFY2(shown.startsWith("Memory estimate: ") && shown.contains(QLocale().formattedDataSize(
                 engine.total(), 2, QLocale::DataSizeTraditionalFormat)),
             qPrintable(shown));
    QVERIFY(!tab.isRunning());

    // It follows the form: a longer cutoff needs more activations.
    static_cast<QSpinBox*>(tab.form()->editor("cutoff_len"))->setValue(4096);
    QTRY_VERIFY(tab.memoryLabel()->text() != shown);
    const lathe::MemoryEstimate longer = lathe::estimateTrainingMemory(tab.arguments());
    QVERIFY(longer.activations > engine.activations);
    QVERIFY(tab.memoryLabel()->text().contains(
        QLocale().formattedDataSize(longer.total(), 2, QLocale::DataSizeTraditionalFormat)));

    // And the method: full fine-tuning trains every weight.
    lathe::test::chooseIn(bar.finetuningTypeCombo(), "full");
    QTRY_VERIFY(tab.memoryLabel()->text().contains(QLocale().formattedDataSize(
        lathe::estimateTrainingMemory(tab.arguments()).total(), 2, QLocale::DataSizeTraditionalFormat)));

    // A path that is no model says why.
    lathe::test::typeInto(bar.modelPathEdit(), m_root + "/nothing-here");
    QTRY_VERIFY2(tab.memoryLabel()->text().contains("not available"), qPrintable(tab.memoryLabel()->text()));
}

void TestTrainTab::existingOutputDirOffersResume()
{
    TopBar bar;
    TrainTab tab;
    const QString out = m_root + "/existing";
    setUp(bar, tab, out, 4);
    // A run made elsewhere (the CLI), with a checkpoint at step 2 and 4.
    ArgumentSet earlier = tab.arguments();
    earlier.set("save_steps", "2");
    earlier.set("learning_rate", "7e-4");
    earlier.set("overwrite_output_dir", "false");
    QDir(out).removeRecursively();
    lathe::runTraining(earlier);
    QVERIFY(QFile::exists(out + "/checkpoint-4/trainer_state.json"));

    QVERIFY(tab.existingRunBar()->isHidden());
    lathe::test::clickTo(qobject_cast<QCheckBox*>(tab.form()->editor("overwrite_output_dir")), false);
    lathe::test::typeInto(tab.outputDirEdit(), out);
    tab.checkOutputDir();
    QVERIFY(!tab.existingRunBar()->isHidden());
    QVERIFY2(tab.existingRunLabel()->text().contains("checkpoint-4"), qPrintable(tab.existingRunLabel()->text()));
    QVERIFY(tab.resumeButton()->isEnabled());

    // Resume: that run's arguments come back (its learning rate), into its own folder, not overwritten.
    lathe::test::clickOn(tab.resumeButton());
    QVERIFY(qFuzzyCompare(tab.arguments().getFloat("learning_rate"), 7e-4));
    QCOMPARE(tab.arguments().getBool("overwrite_output_dir"), false);
    QCOMPARE(tab.outputDir(), out);
    QVERIFY(tab.statusLabel()->text().contains("resumes"));
    // ... and Start continues it: 4 more steps on top of the 4 done.
    lathe::test::typeInto(static_cast<QSpinBox*>(tab.form()->editor("max_steps")), "6");
    QSignalSpy finished(&tab, &TrainTab::runFinished);
    lathe::test::clickOn(tab.startButton());
    QVERIFY(tab.isRunning() || finished.count() > 0);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(2).toString()));
    QVERIFY(tab.outputBox()->toPlainText().contains("checkpoint-4"));
    QVERIFY(QFile::exists(out + "/trainer_state.json"));
    // The resumed run is drawn from step 1 and its log goes on from the first part (issue 23, items 4 and 6).
    QVERIFY(!tab.charts()->lossPoints().empty());
    QCOMPARE(tab.charts()->lossPoints().front().x(), 1.0);
    QCOMPARE(tab.charts()->lossPoints().back().x(), 6.0);
    QCOMPARE(int(tab.charts()->lossPoints().size()), 6);
    QStringList logged;
    QFile log(out + "/trainer_log.jsonl");
    QVERIFY(log.open(QIODevice::ReadOnly));
    while (!log.atEnd()) {
        const QJsonObject r = QJsonDocument::fromJson(log.readLine()).object();
        if (r.contains("loss"))
            logged << QString::number(r.value("current_steps").toInt());
    }
    QCOMPARE(logged, QStringList({"1", "2", "3", "4", "5", "6"}));

    // Overwrite: the arguments stay, the flag is set and said.
    lathe::test::clickOn(tab.overwriteButton());
    QVERIFY(tab.arguments().getBool("overwrite_output_dir"));
    QVERIFY(tab.existingRunLabel()->text().contains("overwrite_output_dir"));

    // New run: a fresh folder name, the bar goes away.
    lathe::test::clickOn(tab.newRunButton());
    QVERIFY(tab.outputDirEdit()->text().startsWith("train_"));
    QVERIFY(tab.existingRunBar()->isHidden());
    QVERIFY(!tab.arguments().getBool("overwrite_output_dir"));
}

void TestTrainTab::dpoRunFromTheTab()
{
    // A preference stage from the window: DPO on the ranking dataset, with the reward accuracy and margin
    // charted next to the loss and written to trainer_log.jsonl under LLaMA-Factory's names.
    TopBar bar;
    TrainTab tab;
    const QString out = m_root + "/dpo";
    const int steps = 3;
    setUp(bar, tab, out, steps);
    lathe::test::chooseIndex(tab.stageCombo(), int(TrainTab::stages().indexOf("dpo")));
    lathe::test::tickOnly(tab.datasetList(), {"pairs"});
    QCOMPARE(tab.arguments().getString("stage"), std::string("dpo"));
    QVERIFY(tab.charts()->rewardView()->isHidden());
    QSignalSpy finished(&tab, &TrainTab::runFinished);
    lathe::test::clickOn(tab.startButton());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    const QList<QVariant> result = finished.takeFirst();
    QVERIFY2(result.at(0).toBool(), qPrintable(result.at(2).toString()));
    lathe::TrainCharts* charts = tab.charts();
    QCOMPARE(int(charts->lossPoints().size()), steps);
    QCOMPARE(int(charts->accuracyPoints().size()), steps);
    QCOMPARE(int(charts->marginPoints().size()), steps);
    QCOMPARE(charts->marginPoints().front().y(), 0.0); // the first step: the policy is still its reference
    QVERIFY(!charts->rewardView()->isHidden());
    QFile log(out + "/trainer_log.jsonl");
    QVERIFY(log.open(QIODevice::ReadOnly));
    const QJsonObject first = QJsonDocument::fromJson(log.readLine()).object();
    QVERIFY(first.contains("rewards/margins"));
    QVERIFY(first.contains("rewards/accuracies"));
    // A new run clears the rewards chart until it reports rewards itself.
    lathe::test::chooseIndex(tab.stageCombo(), int(TrainTab::stages().indexOf("sft")));
    lathe::test::tickOnly(tab.datasetList(), {"qa"});
    lathe::test::clickOn(tab.startButton());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QVERIFY(charts->rewardView()->isHidden());
    QVERIFY(charts->accuracyPoints().empty());
}

void TestTrainTab::runFromTheTab()
{
    TopBar bar;
    TrainTab tab;
    const QString out = m_root + "/run";
    const int steps = 6;
    setUp(bar, tab, out, steps);
    QSignalSpy progress(tab.runner(), &lathe::TrainRunner::progress);
    QSignalSpy finished(&tab, &TrainTab::runFinished);
    QVERIFY(progress.isValid());

    QElapsedTimer timer;
    timer.start();
    lathe::test::clickOn(tab.startButton());
    QVERIFY(tab.isRunning());
    QVERIFY(!tab.startButton()->isEnabled());
    QVERIFY(tab.abortButton()->isEnabled());
    QVERIFY(!tab.form()->isEnabled());
    // The click returned at once: training runs in the worker while this thread spins the event loop.
    QVERIFY(timer.elapsed() < 2000);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    const QList<QVariant> result = finished.takeFirst();
    QVERIFY2(result.at(0).toBool(), qPrintable(result.at(2).toString()));
    QCOMPARE(result.at(1).toBool(), false);
    QVERIFY(!tab.isRunning());
    QVERIFY(tab.startButton()->isEnabled());
    QCOMPARE(tab.statusLabel()->text(), QStringLiteral("Finished."));

    // One report per step; the last one is the last step.
    QVERIFY(progress.count() >= steps);
    const auto last = progress.last().at(0).value<lathe::TrainProgress>();
    QCOMPARE(last.step, qint64(steps));
    QCOMPARE(last.totalSteps, qint64(steps));
    QVERIFY(last.loss.has_value());
    QCOMPARE(tab.progressBar()->value(), steps);
    // The bar says the run is over, not "Running..." (issue 23, item 7).
    QVERIFY2(tab.progressBar()->format().startsWith(QString("Finished %1/%1 in ").arg(steps)),
             qPrintable(tab.progressBar()->format()));
    QVERIFY(tab.statsLabel()->text().contains("tokens/s"));
    QVERIFY2(tab.memoryLabel()->text().contains("weights"), qPrintable(tab.memoryLabel()->text()));
    QVERIFY(!tab.outputBox()->toPlainText().isEmpty());

    // The run folder, as `lathe train` writes it.
    QVERIFY(QFile::exists(out + "/adapter_model.safetensors"));
    QVERIFY(QFile::exists(out + "/adapter_config.json"));
    QVERIFY(lineCount(out + "/trainer_log.jsonl") >= steps);
    QVERIFY(QFile::exists(out + "/training_loss.png")); // plot_loss, as the CLI does

    // The charts got every step (the shown series follow within a refresh).
    lathe::TrainCharts* charts = tab.charts();
    QCOMPARE(int(charts->lossPoints().size()), steps);
    QCOMPARE(int(charts->learningRatePoints().size()), steps);
    QTRY_COMPARE(charts->lossSeries()->count(), steps);
    QCOMPARE(charts->smoothedLossSeries()->count(), steps);
    QCOMPARE(charts->learningRateSeries()->count(), steps);
    QCOMPARE(charts->lossSeries()->at(0).x(), 1.0);
    // Axes (issue 23, item 6): whole-number step ticks from 0, the loss axis never below 0, on round values.
    auto* x = qobject_cast<QValueAxis*>(charts->lossSeries()->attachedAxes().at(0));
    auto* y = qobject_cast<QValueAxis*>(charts->lossSeries()->attachedAxes().at(1));
    QVERIFY(x && y && x->orientation() == Qt::Horizontal);
    QCOMPARE(x->labelFormat(), QString("%d"));
    QCOMPARE(x->min(), 0.0);
    QVERIFY(x->tickInterval() >= 1 && x->tickInterval() == std::floor(x->tickInterval()));
    QVERIFY(y->min() >= 0.0);
    QVERIFY2(std::abs(y->min() * 10 - std::round(y->min() * 10)) < 1e-9, qPrintable(QString::number(y->min())));
    QVERIFY(y->labelsVisible());

    QCOMPARE(charts->lossSeries()->at(0).y(), *progress.first().at(0).value<lathe::TrainProgress>().loss);
    // An empty chart shows no "0 0 0 0 1".
    charts->clear();
    QVERIFY(!x->labelsVisible());
}

// Two CPU workers chosen beside the device: the estimate is per device, the run starts a second `lathe` process
// (Gloo), the log names the job and the charts get the loss of every step, reduced over the workers.
void TestTrainTab::twoWorkersFromTheTab()
{
    qputenv("LATHE_WORKER_BINARY", lathe::test::latheBinary().toUtf8());
    TopBar bar;
    TrainTab tab;
    const QString out = m_root + "/two-workers";
    const int steps = 3;
    setUp(bar, tab, out, steps);
    lathe::test::chooseIn(bar.deviceCombo(), "cpu");
    lathe::test::typeInto(bar.workersSpin(), "2");
    QCOMPARE(bar.workersSpin()->value(), 2);
    QCOMPARE(tab.arguments().getInt("nproc_per_node"), 2LL);
    QTRY_VERIFY2(tab.memoryLabel()->text().contains("per device, 2 workers"), qPrintable(tab.memoryLabel()->text()));
    QSignalSpy progress(tab.runner(), &lathe::TrainRunner::progress);
    QSignalSpy finished(&tab, &TrainTab::runFinished);
    lathe::test::clickOn(tab.startButton());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    const QList<QVariant> result = finished.takeFirst();
    QVERIFY2(result.at(0).toBool(), qPrintable(result.at(2).toString()));
    const QString log = tab.outputBox()->toPlainText();
    QVERIFY2(log.contains("Data-parallel training: 2 workers through gloo"), qPrintable(log));
    QVERIFY(log.contains("Total train batch size (w. parallel, distributed & accumulation) = 4"));
    QCOMPARE(int(tab.charts()->lossPoints().size()), steps);
    QVERIFY(QFile::exists(out + "/adapter_model.safetensors"));

    // Abort reaches the other worker too: both stop after the same step, the run saves, no process is left.
    TrainTab again;
    const QString aborted = m_root + "/two-workers-aborted";
    setUp(bar, again, aborted, 100000);
    QSignalSpy progressed(again.runner(), &lathe::TrainRunner::progress);
    QSignalSpy ended(&again, &TrainTab::runFinished);
    lathe::test::clickOn(again.startButton());
    QTRY_VERIFY_WITH_TIMEOUT(progressed.count() >= 3, 120000);
    QDir children(QStringLiteral("/proc/%1/task").arg(QCoreApplication::applicationPid()));
    QList<qint64> workers;
    for (const QString& task : children.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile list(children.filePath(task + "/children"));
        if (list.open(QIODevice::ReadOnly))
            for (const QByteArray& pid : list.readAll().split(' '))
                if (pid.trimmed().toLongLong() > 0)
                    workers << pid.trimmed().toLongLong();
    }
    QCOMPARE(workers.size(), 1);
    lathe::test::clickOn(again.abortButton());
    QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 1, 60000);
    const QList<QVariant> stopped = ended.takeFirst();
    QVERIFY2(stopped.at(0).toBool(), qPrintable(stopped.at(2).toString()));
    QCOMPARE(stopped.at(1).toBool(), true);
    QVERIFY(QFile::exists(aborted + "/adapter_model.safetensors"));
    QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(QStringLiteral("/proc/%1").arg(workers.front())), 20000); // reaped
    qunsetenv("LATHE_WORKER_BINARY");
}

void TestTrainTab::abortStopsAndSaves()
{
    TopBar bar;
    TrainTab tab;
    const QString out = m_root + "/aborted";
    const int steps = 100000;
    setUp(bar, tab, out, steps);
    QSignalSpy progress(tab.runner(), &lathe::TrainRunner::progress);
    QSignalSpy finished(&tab, &TrainTab::runFinished);
    lathe::test::clickOn(tab.startButton());
    QVERIFY(tab.isRunning() || finished.count() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 2, 60000);
    lathe::test::clickOn(tab.abortButton());
    QVERIFY(tab.runner()->abortRequested());
    QCOMPARE(tab.statusLabel()->text(), QStringLiteral("Aborted, wait for terminating..."));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    const QList<QVariant> result = finished.takeFirst();
    QVERIFY2(result.at(0).toBool(), qPrintable(result.at(2).toString()));
    QCOMPARE(result.at(1).toBool(), true);
    QVERIFY(tab.statusLabel()->text().startsWith("Aborted at step"));
    QVERIFY2(tab.progressBar()->format().startsWith("Aborted at "), qPrintable(tab.progressBar()->format()));
    QVERIFY(!tab.progressBar()->format().contains("Running"));
    const auto last = progress.last().at(0).value<lathe::TrainProgress>();
    QVERIFY(last.step < steps);
    QCOMPARE(last.totalSteps, qint64(steps));
    // An aborted run still saves what it trained.
    QVERIFY(QFile::exists(out + "/adapter_model.safetensors"));
    QVERIFY(tab.startButton()->isEnabled());
    QVERIFY(!tab.abortButton()->isEnabled());
}

void TestTrainTab::trainerErrorIsShown()
{
    TopBar bar;
    TrainTab tab;
    setUp(bar, tab, m_root + "/failed", 3);
    // A model folder whose weights are missing: the form cannot know, the trainer finds out.
    const QString broken = m_root + "/no_weights_model";
    QDir().mkpath(broken);
    for (const QString& f : QDir(m_model).entryList(QDir::Files))
        if (!f.endsWith(".safetensors"))
            QFile::copy(m_model + "/" + f, broken + "/" + f);
    lathe::test::typeInto(bar.modelPathEdit(), broken);
    QSignalSpy finished(&tab, &TrainTab::runFinished);
    lathe::test::clickOn(tab.startButton());
    QVERIFY(tab.isRunning() || finished.count() > 0); // the form is fine; the trainer finds out
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    const QList<QVariant> result = finished.takeFirst();
    QCOMPARE(result.at(0).toBool(), false);
    const QString error = result.at(2).toString();
    QVERIFY(!error.isEmpty());
    QVERIFY2(error.contains("no_weights_model"), qPrintable(error));
    QVERIFY(tab.statusLabel()->text().startsWith("Failed."));
    QVERIFY(tab.statusLabel()->text().contains(error));
    QCOMPARE(tab.progressBar()->format(), QString("Failed before the first step")); // not a busy bar
    QCOMPARE(tab.progressBar()->maximum(), 1);
    QMessageBox* box = tab.findChild<QMessageBox*>();
    QVERIFY(box);
    QVERIFY(box->text().contains(error));
    QVERIFY(tab.startButton()->isEnabled());
}

QTEST_MAIN(TestTrainTab)
#include "tst_train_tab.moc"
