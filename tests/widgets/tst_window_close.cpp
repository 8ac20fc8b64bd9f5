// Closing the workbench while it trains asks first; "no" keeps the window and the run, "yes" aborts the run
// (which saves its adapter) and closes. What the window shows is saved on close and restored on the next start.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QtTest/QtTest>

#include "argument_form.h"
#include "main_window.h"
#include "test_support.h"
#include "tiny_model.h"
#include "top_bar.h"
#include "train_runner.h"
#include "train_tab.h"

class TestWindowClose : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // settings go to a test location, not the user's
        QSettings().clear();
    }

    void closingWhileTrainingAsks()
    {
        const QString root = lathe::test::scratchDir("window_close");
        const QString model = QString::fromStdString(lathe::test::makeTinyModel(root.toStdString()).string());
        std::vector<std::pair<std::string, std::string>> qa;
        for (int i = 0; i < 8; ++i)
            qa.emplace_back("Say " + std::to_string(i) + ".", std::to_string(i));
        lathe::test::writeAlpacaDataset((root + "/data").toStdString(), "qa", qa);

        lathe::MainWindow window;
        window.topBar()->modelNameCombo()->setCurrentText("Custom");
        window.topBar()->modelPathEdit()->setText(model);
        window.topBar()->templateCombo()->setCurrentText("qwen");
        auto* train = qobject_cast<lathe::TrainTab*>(window.tabs()->widget(lathe::MainWindow::TrainPage));
        QVERIFY(train);
        train->datasetDirEdit()->setText(root + "/data");
        train->refreshDatasets();
        train->setDatasets({"qa"});
        train->outputDirEdit()->setText(root + "/run");
        lathe::ArgumentSet a;
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"cutoff_len", "32"}, {"max_steps", "100000"}, {"logging_steps", "1"}, {"save_steps", "100000"},
                 {"per_device_train_batch_size", "1"}, {"gradient_accumulation_steps", "1"},
                 {"lora_rank", "2"}, {"overwrite_output_dir", "true"}, {"plot_loss", "false"}})
            a.set(k, v);
        train->form()->load(a);
        window.show();

        QSignalSpy progress(train->runner(), &lathe::TrainRunner::progress);
        QSignalSpy finished(train, &lathe::TrainTab::runFinished);
        train->startButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 2, 60000);
        QVERIFY(window.isBusy());
        window.topBar()->ropeScalingCombo()->setCurrentText("linear");
        window.topBar()->hubCombo()->setCurrentText("modelscope");
        window.topBar()->deviceCombo()->setCurrentIndex(1); // cpu

        int asked = 0;
        window.setCloseConfirmation([&] { return ++asked > 1; }); // "no", then "yes"
        QVERIFY(!window.close());
        QCOMPARE(asked, 1);
        QVERIFY(window.isVisible());
        QVERIFY(train->isRunning());
        QVERIFY(window.close());
        QCOMPARE(asked, 2);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(finished.first().at(1).toBool(), true); // aborted
        QVERIFY(QFile::exists(root + "/run/adapter_model.safetensors"));

        // The settings of that window come back in a new one.
        lathe::MainWindow again;
        QCOMPARE(again.topBar()->modelPathEdit()->text(), model);
        QCOMPARE(again.topBar()->templateCombo()->currentText(), QString("qwen"));
        QCOMPARE(again.topBar()->ropeScaling(), QString("linear"));
        QCOMPARE(again.topBar()->hubName(), QString("modelscope"));
        QCOMPARE(again.topBar()->computeDevice(), QString("cpu"));
        auto* train2 = qobject_cast<lathe::TrainTab*>(again.tabs()->widget(lathe::MainWindow::TrainPage));
        QCOMPARE(train2->datasetDirEdit()->text(), root + "/data");
    }

    // `lathe workbench --config ... --dataset_dir ... --dataset ...` (the README's demo command).
    void preselectFillsTheWindow()
    {
        const QString source = qEnvironmentVariable("LATHE_SOURCE_DIR");
        if (source.isEmpty())
            QSKIP("LATHE_SOURCE_DIR is not set: run through ctest");
        lathe::MainWindow window;
        lathe::WorkbenchSelection s;
        s.config = source + "/resources/demo/demo_lora_sft.yaml";
        s.modelPath = "/models/demo";
        s.templateName = "qwen3_nothink";
        s.datasetDir = source + "/resources/demo";
        s.datasets = {"lathe_identity"};
        window.preselect(s);
        auto* train = qobject_cast<lathe::TrainTab*>(window.tabs()->widget(lathe::MainWindow::TrainPage));
        const lathe::ArgumentSet args = train->arguments();
        QCOMPARE(args.getString("model_name_or_path"), std::string("/models/demo"));
        QCOMPARE(args.getString("template"), std::string("qwen3_nothink"));
        QCOMPARE(args.getString("dataset"), std::string("lathe_identity"));
        QCOMPARE(args.getFloat("learning_rate"), 1e-2); // from the demo YAML
        QCOMPARE(window.tabs()->currentIndex(), int(lathe::MainWindow::TrainPage));
    }
};

QTEST_MAIN(TestWindowClose)
#include "tst_window_close.moc"
