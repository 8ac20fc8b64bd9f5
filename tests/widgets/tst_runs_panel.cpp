// The Runs tab: run folders found under a saves root from their trainer_log.jsonl alone (status, steps, final
// loss, duration; checkpoints are not runs), the model checked by QAbstractItemModelTester, and the selected
// runs' loss curves overlaid.
#include <QAbstractItemModelTester>
#include <QChart>
#include <QDir>
#include <QFile>
#include <QItemSelectionModel>
#include <QLineSeries>
#include <QTableView>
#include <QSettings>
#include <QValueAxis>
#include <QSplitter>
#include <QFileDialog>
#include <QTimer>
#include <QLineEdit>
#include <QApplication>
#include <QPushButton>
#include <QDialogButtonBox>
#include <QClipboard>
#include <QGuiApplication>
#include <QtTest/QtTest>

#include "runs_model.h"
#include "runs_panel.h"
#include "test_support.h"
#include "widget_input.h"

namespace {

void write(const QString& path, const QByteArray& text)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

QByteArray record(int step, int total, double loss, const char* elapsed)
{
    return QStringLiteral("{\"current_steps\":%1,\"total_steps\":%2,\"loss\":%3,\"lr\":0.001,\"epoch\":1.0,"
                          "\"percentage\":50.0,\"elapsed_time\":\"%4\",\"remaining_time\":\"0:00:01\"}\n")
        .arg(step).arg(total).arg(loss).arg(elapsed).toUtf8();
}

} // namespace

class TestRunsPanel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void findsRunsAndOverlaysCurves()
    {
        const QString root = lathe::test::scratchDir("runs_panel");
        // A finished run (train_results.json), a stopped one (old log, no results), a checkpoint inside the
        // first (not a run), a partly written last line, and a folder without a log.
        write(root + "/Qwen3-0.6B/lora/done/trainer_log.jsonl",
              record(5, 10, 2.5, "0:00:05") + record(10, 10, 1.25, "0:00:10") +
                  "{\"current_steps\":10,\"total_steps\":10,\"elapsed_time\":\"0:00:11\"}\n");
        write(root + "/Qwen3-0.6B/lora/done/train_results.json", "{}");
        write(root + "/Qwen3-0.6B/lora/done/checkpoint-5/trainer_log.jsonl", record(5, 10, 2.5, "0:00:05"));
        write(root + "/Custom/full/stopped/trainer_log.jsonl", record(1, 100, 3.0, "0:00:01") + "{\"current_ste");
        QFile old(root + "/Custom/full/stopped/trainer_log.jsonl");
        QVERIFY(old.open(QIODevice::ReadWrite));
        QVERIFY(old.setFileTime(QDateTime::currentDateTime().addSecs(-3600), QFileDevice::FileModificationTime));
        old.close();
        QDir().mkpath(root + "/Custom/lora/empty");

        lathe::RunsPanel panel;
        QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        panel.setRoot(root);
        lathe::RunsModel* model = panel.model();
        QCOMPARE(model->rowCount(), 2);
        QStringList names;
        for (int r = 0; r < model->rowCount(); ++r)
            names << model->run(r).name;
        QCOMPARE(names, QStringList({"Qwen3-0.6B/lora/done", "Custom/full/stopped"})); // newest first
        const lathe::RunInfo& done = model->run(0);
        QCOMPARE(done.status, QString("finished"));
        QCOMPARE(done.step, 10);
        QCOMPARE(done.finalLoss, 1.25);
        QCOMPARE(done.elapsed, QString("0:00:11"));
        QCOMPARE(done.loss.size(), 2);
        const lathe::RunInfo& stopped = model->run(1);
        QCOMPARE(stopped.status, QString("stopped"));
        QCOMPARE(stopped.totalSteps, 100);
        QCOMPARE(model->data(model->index(1, lathe::RunsModel::Steps)).toString(), QString("1/100"));
        QCOMPARE(model->data(model->index(0, lathe::RunsModel::FinalLoss)).toString(), QString("1.2500"));

        panel.view()->selectAll();
        const auto series = panel.chart()->series();
        QCOMPARE(series.size(), 2);
        int points = 0;
        for (auto* s : series)
            points += static_cast<QLineSeries*>(s)->count();
        QCOMPARE(points, 3);
        panel.view()->clearSelection();
        QCOMPARE(panel.chart()->series().size(), 0);

        // A new run appears on refresh.
        write(root + "/Custom/lora/new/trainer_log.jsonl", record(1, 2, 0.5, "0:00:01"));
        panel.refresh();
        QCOMPARE(model->rowCount(), 3);
        QCOMPARE(model->run(0).status, QString("running"));
        QVERIFY(model->data(model->index(0, lathe::RunsModel::RewardMargin)).isNull()); // sft runs

        // A DPO run: its stage, and the last reward accuracy and margin, to compare runs by.
        write(root + "/Custom/lora/dpo/training_args.yaml", "### method\nstage: dpo\ndo_train: true\n");
        write(root + "/Custom/lora/dpo/trainer_log.jsonl",
              "{\"current_steps\":1,\"total_steps\":2,\"loss\":0.69,\"accuracy\":0.5,\"rewards/accuracies\":0.5,"
              "\"rewards/margins\":0.01}\n"
              "{\"current_steps\":2,\"total_steps\":2,\"loss\":0.6,\"accuracy\":0.75,\"rewards/accuracies\":0.75,"
              "\"rewards/margins\":0.125}\n");
        panel.refresh();
        int dpo = -1; // found by name: runs written within the same second may sort either way
        for (int r = 0; r < model->rowCount(); ++r)
            if (model->run(r).name == "Custom/lora/dpo")
                dpo = r;
        QVERIFY(dpo >= 0);
        QCOMPARE(model->run(dpo).stage, QString("dpo"));
        QCOMPARE(model->data(model->index(dpo, lathe::RunsModel::Stage)).toString(), QString("dpo"));
        QCOMPARE(model->data(model->index(dpo, lathe::RunsModel::RewardAccuracy)).toString(), QString("0.750"));
        QCOMPARE(model->data(model->index(dpo, lathe::RunsModel::RewardMargin)).toString(), QString("0.1250"));
    }

    void benchmarksBesideTheirRuns()
    {
        // Two runs; a benchmark of the first run's adapter (in a folder of its own), one of the second run's
        // checkpoint saved inside that run, and one of a base model, which gets its own row.
        const QString root = lathe::test::scratchDir("runs_panel_benchmarks");
        write(root + "/Custom/lora/first/trainer_log.jsonl", record(10, 10, 1.5, "0:00:10"));
        write(root + "/Custom/lora/second/trainer_log.jsonl", record(4, 10, 2.0, "0:00:04"));
        auto summary = [](const QString& task, double average, const QString& adapter) {
            return QStringLiteral(R"({"task": "%1", "adapter_name_or_path": "%2", "model_name_or_path": "/m",
                                      "seconds": 75.0, "categories": {"Average": %3, "STEM": 10.0}})")
                .arg(task, adapter)
                .arg(average)
                .toUtf8();
        };
        write(root + "/Custom/lora/eval_a/results_summary.json", summary("mmlu_test", 41.25, root + "/Custom/lora/first"));
        write(root + "/Custom/lora/second/bench/results_summary.json",
              summary("ceval_validation", 66.5, root + "/Custom/lora/second/checkpoint-4"));
        write(root + "/Custom/lora/base_eval/results_summary.json", summary("cmmlu_test", 25.0, ""));

        lathe::RunsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.scan(root);
        QCOMPARE(model.rowCount(), 3);
        auto rowOf = [&](const QString& name) {
            for (int r = 0; r < model.rowCount(); ++r)
                if (model.run(r).name == name)
                    return r;
            return -1;
        };
        const int first = rowOf("Custom/lora/first"), second = rowOf("Custom/lora/second"), base = rowOf("Custom/lora/base_eval");
        QVERIFY(first >= 0 && second >= 0 && base >= 0);
        QCOMPARE(model.data(model.index(first, lathe::RunsModel::Benchmarks)).toString(), QString("mmlu_test 41.25"));
        QCOMPARE(model.data(model.index(second, lathe::RunsModel::Benchmarks)).toString(), QString("ceval_validation 66.50"));
        QCOMPARE(model.data(model.index(base, lathe::RunsModel::Benchmarks)).toString(), QString("cmmlu_test 25.00"));
        QCOMPARE(model.data(model.index(base, lathe::RunsModel::Stage)).toString(), QString("benchmark"));
        QCOMPARE(model.data(model.index(base, lathe::RunsModel::Duration)).toString(), QString("0:01:15"));
        QVERIFY(model.data(model.index(base, lathe::RunsModel::Steps)).isNull());
        QCOMPARE(model.headerData(lathe::RunsModel::Benchmarks, Qt::Horizontal).toString(), QString("Benchmarks (average %)"));
    }

    // Issue 23, item 5: the list follows the folder without Refresh (keeping the selection), the root can be another
    // folder and is remembered, the chart keeps room, and step ticks are whole numbers on a round interval.
    void followsTheFolderAndRemembersTheRoot()
    {
        const QString root = lathe::test::scratchDir("runs_panel_watch");
        write(root + "/Custom/lora/first/trainer_log.jsonl",
              record(1, 7, 3.0, "0:00:01") + record(4, 7, 2.0, "0:00:04") + record(7, 7, 1.0, "0:00:07"));
        lathe::RunsPanel panel;
        panel.resize(1024, 700);
        panel.setRoot(root);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QCOMPARE(panel.model()->rowCount(), 1);
        QTest::mouseClick(panel.view()->viewport(), Qt::LeftButton, Qt::NoModifier,
                          panel.view()->visualRect(panel.model()->index(0, 0)).center());
        QCOMPARE(panel.view()->selectionModel()->selectedRows().size(), 1);
        // A run started elsewhere appears on its own.
        write(root + "/Custom/lora/second/trainer_log.jsonl", record(1, 10, 4.0, "0:00:01"));
        QTRY_COMPARE_WITH_TIMEOUT(panel.model()->rowCount(), 2, (lathe::RunsPanel::kWatchSeconds + 5) * 1000);
        QCOMPARE(panel.view()->selectionModel()->selectedRows().size(), 1); // still selected after the rescan
        QCOMPARE(panel.model()->run(panel.view()->selectionModel()->selectedRows().first().row()).name,
                 QString("Custom/lora/first"));

        auto* x = qobject_cast<QValueAxis*>(panel.chart()->axes(Qt::Horizontal).first());
        auto* y = qobject_cast<QValueAxis*>(panel.chart()->axes(Qt::Vertical).first());
        QVERIFY(x && y);
        QCOMPARE(x->labelFormat(), QString("%d"));
        QCOMPARE(x->tickType(), QValueAxis::TicksDynamic);
        QCOMPARE(x->tickInterval(), 1.0); // 7 steps: a tick per step, never 0.875
        QCOMPARE(y->min(), 0.0);
        QVERIFY(panel.splitter()->sizes().at(1) >= 240); // the chart is not squeezed at 1024x700

        // Another folder, picked with Folder... in its dialog (the path pasted, Choose), remembered for the next window.
        const QString other = lathe::test::scratchDir("runs_panel_other");
        bool typed = false;
        QTimer::singleShot(0, &panel, [&] {
            auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
            QVERIFY(dialog);
            auto* name = dialog->findChild<QLineEdit*>("fileNameEdit");
            QVERIFY(name);
            // Pasted, as a path is: typed key by key, the dialog's completer quotes what it completes.
            QGuiApplication::clipboard()->setText(other);
            name->setFocus();
            QTest::keyClick(name, Qt::Key_A, Qt::ControlModifier);
            QTest::keyClick(name, Qt::Key_V, Qt::ControlModifier);
            // (the dialog goes to the parent folder and keeps the last part as the name)
            auto* box = dialog->findChild<QDialogButtonBox*>("buttonBox");
            QVERIFY(box);
            QAbstractButton* choose = box->button(QDialogButtonBox::Open);
            QVERIFY(choose && choose->isEnabled());
            lathe::test::clickOn(choose);
            typed = true;
        });
        lathe::test::clickOn(panel.chooseRootButton());
        QVERIFY(typed);
        QCOMPARE(panel.model()->rowCount(), 0);
        lathe::RunsPanel next;
        QCOMPARE(next.root(), other);
        QSettings().remove("runs/root");
    }
};

QTEST_MAIN(TestRunsPanel)
#include "tst_runs_panel.moc"
