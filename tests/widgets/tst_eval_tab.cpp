// The Evaluate & Predict tab: its arguments come from the top bar and its fields, and a predict run of the tiny
// model started from the tab fills the results line and the predictions table from the files the run writes.
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFileInfo>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QtTest/QtTest>

#include "eval_tab.h"
#include "test_support.h"
#include "widget_input.h"
#include "tiny_model.h"
#include "top_bar.h"
#include "train/trainer.h"

class TestEvalTab : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void predictFromTheTab()
    {
        const QString root = lathe::test::scratchDir("eval_tab");
        const QString model = QString::fromStdString(lathe::test::makeTinyModel(root.toStdString()).string());
        std::vector<std::pair<std::string, std::string>> qa;
        for (int i = 0; i < 5; ++i)
            qa.emplace_back("Count to " + std::to_string(i) + ".", std::to_string(i));
        lathe::test::writeAlpacaDataset((root + "/data").toStdString(), "qa", qa);

        lathe::TopBar bar;
        lathe::test::chooseIn(bar.modelNameCombo(), "Custom");
        lathe::test::typeInto(bar.modelPathEdit(), model);
        lathe::test::chooseIn(bar.templateCombo(), "qwen");
        lathe::EvalTab tab;
        tab.setTopBar(&bar);
        lathe::test::typeInto(tab.datasetDirEdit(), root + "/data");
        QTest::keyClick(tab.datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
        QCOMPARE(tab.datasetCombo()->count(), 1);
        QVERIFY(tab.datasetCombo()->minimumSizeHint().width() > 150); // not a 70 px box (issue 23, item 10)
        lathe::test::typeInto(tab.batchSizeSpin(), QString::number(2));
        lathe::test::typeInto(tab.maxNewTokensSpin(), QString::number(8));
        lathe::test::typeInto(tab.outputDirEdit(), root + "/out");
        const lathe::ArgumentSet args = tab.arguments();
        QCOMPARE(args.getString("model_name_or_path"), model.toStdString());
        QCOMPARE(args.getString("eval_dataset"), std::string("qa"));
        QCOMPARE(args.getInt("per_device_eval_batch_size"), 2LL);
        QVERIFY(args.getBool("do_predict") && args.getBool("predict_with_generate") && !args.getBool("do_train"));

        QSignalSpy finished(&tab, &lathe::EvalTab::runFinished);
        lathe::test::clickOn(tab.startButton());
        QVERIFY(!tab.startButton()->isEnabled());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));
        QVERIFY(tab.startButton()->isEnabled());
        QVERIFY2(tab.resultsLabel()->text().contains("BLEU-4"), qPrintable(tab.resultsLabel()->text()));
        QVERIFY(QFile::exists(root + "/out/generated_predictions.jsonl"));
        QCOMPARE(tab.predictionsTable()->rowCount(), 5);
        for (int i = 0; i < 5; ++i)
            QCOMPARE(tab.predictionsTable()->item(i, 2)->text().trimmed(), QString::number(i));
    }

    void dpoEvaluationFromTheTab()
    {
        // A preference stage evaluated from the tab: a DPO adapter trained on pairs, then its loss and reward
        // metrics on those pairs (the reference is the model without the adapter), shown in the results line
        // and the table under LLaMA-Factory's names.
        const QString root = lathe::test::scratchDir("eval_tab_dpo");
        const QString model = QString::fromStdString(lathe::test::makeTinyModel(root.toStdString()).string());
        QDir().mkpath(root + "/data");
        QJsonArray pairs;
        for (int i = 0; i < 6; ++i)
            pairs.append(QJsonObject{{"instruction", QString("What is %1 plus %1?").arg(i)},
                                     {"chosen", QString("It is %1.").arg(2 * i)},
                                     {"rejected", QString("It is %1.").arg(2 * i + 1)}});
        QFile data(root + "/data/pairs.json");
        QVERIFY(data.open(QIODevice::WriteOnly));
        data.write(QJsonDocument(pairs).toJson());
        data.close();
        const QJsonObject columns{{"prompt", "instruction"}, {"chosen", "chosen"}, {"rejected", "rejected"}};
        QFile info(root + "/data/dataset_info.json");
        QVERIFY(info.open(QIODevice::WriteOnly));
        info.write(QJsonDocument(QJsonObject{{"pairs", QJsonObject{{"file_name", "pairs.json"}, {"ranking", true},
                                                                    {"columns", columns}}}})
                       .toJson());
        info.close();

        lathe::ArgumentSet train;
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"model_name_or_path", model.toStdString()}, {"stage", "dpo"}, {"do_train", "true"},
                 {"finetuning_type", "lora"}, {"lora_rank", "4"}, {"dataset", "pairs"},
                 {"dataset_dir", (root + "/data").toStdString()}, {"template", "qwen"}, {"cutoff_len", "64"},
                 {"output_dir", (root + "/adapter").toStdString()}, {"per_device_train_batch_size", "2"},
                 {"learning_rate", "5e-3"}, {"max_steps", "4"}, {"logging_steps", "1"}})
            train.set(k, v);
        lathe::runTraining(train);

        lathe::TopBar bar;
        lathe::test::chooseIn(bar.modelNameCombo(), "Custom");
        lathe::test::typeInto(bar.modelPathEdit(), model);
        lathe::test::chooseIn(bar.templateCombo(), "qwen");
        lathe::test::chooseIn(bar.finetuningTypeCombo(), "lora");
        lathe::test::chooseIn(bar.checkpointCombo(), root + "/adapter");
        lathe::EvalTab tab;
        tab.setTopBar(&bar);
        lathe::test::typeInto(tab.datasetDirEdit(), root + "/data");
        QTest::keyClick(tab.datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
        QCOMPARE(tab.datasetCombo()->count(), 0); // sft lists no ranking dataset
        lathe::test::chooseIndex(tab.stageCombo(), tab.stageCombo()->findData("dpo"));
        QCOMPARE(tab.datasetCombo()->count(), 1);
        lathe::test::typeInto(tab.outputDirEdit(), root + "/eval");
        const lathe::ArgumentSet args = tab.arguments();
        QCOMPARE(args.getString("stage"), std::string("dpo"));
        QVERIFY(args.getBool("do_eval") && !args.getBool("do_predict") && !args.getBool("do_train"));
        QCOMPARE(args.getString("adapter_name_or_path"), (root + "/adapter").toStdString());

        QSignalSpy finished(&tab, &lathe::EvalTab::runFinished);
        lathe::test::clickOn(tab.startButton());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));
        QVERIFY2(tab.resultsLabel()->text().contains("reward margin"), qPrintable(tab.resultsLabel()->text()));
        QVERIFY(QFile::exists(root + "/eval/eval_results.json"));
        bool found = false;
        for (int r = 0; r < tab.predictionsTable()->rowCount(); ++r)
            if (tab.predictionsTable()->item(r, 0)->text() == "eval_rewards/margins") {
                found = true;
                // The trained adapter prefers the chosen answers it was trained on: a positive margin.
                QVERIFY2(tab.predictionsTable()->item(r, 1)->text().toDouble() > 0,
                         qPrintable(tab.predictionsTable()->item(r, 1)->text()));
            }
        QVERIFY(found);
    }

    void benchmarkFromTheTab()
    {
        // The Benchmark stage: a C-Eval-layout task written here, run from the tab; the bars and the subject rows
        // show what results_summary.json and results.json hold.
        const QString root = lathe::test::scratchDir("eval_tab_benchmark");
        const QString model = QString::fromStdString(lathe::test::makeTinyModel(root.toStdString()).string());
        auto write = [](const QString& path, const QByteArray& text) {
            QDir().mkpath(QFileInfo(path).absolutePath());
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(text);
        };
        write(root + "/evaluation/ceval/mapping.json",
              R"({"law": {"name": "法学", "category": "Humanities"}, "physics": {"name": "物理", "category": "STEM"}})");
        write(root + "/evaluation/ceval/dev/law_dev.csv", "id,question,A,B,C,D,answer\n0,甲？,一,二,三,四,A\n");
        write(root + "/evaluation/ceval/val/law_val.csv", "id,question,A,B,C,D,answer\n0,乙？,一,二,三,四,B\n1,丙？,一,二,三,四,C\n");
        write(root + "/evaluation/ceval/dev/physics_dev.csv", "id,question,A,B,C,D,answer\n0,力？,一,二,三,四,D\n");
        write(root + "/evaluation/ceval/val/physics_val.csv", "id,question,A,B,C,D,answer\n0,光？,一,二,三,四,A\n");

        lathe::TopBar bar;
        lathe::test::chooseIn(bar.modelNameCombo(), "Custom");
        lathe::test::typeInto(bar.modelPathEdit(), model);
        lathe::test::chooseIn(bar.templateCombo(), "fewshot");
        lathe::EvalTab tab;
        tab.setTopBar(&bar);
        lathe::test::chooseIndex(tab.stageCombo(), tab.stageCombo()->findData("benchmark"));
        QVERIFY(!tab.taskCombo()->isHidden() && tab.datasetCombo()->isHidden());
        lathe::test::chooseIn(tab.taskCombo(), "ceval_validation");
        QCOMPARE(tab.langCombo()->currentText(), QString("zh")); // C-Eval prompts in Chinese
        lathe::test::typeInto(tab.taskDirEdit(), root + "/evaluation");
        lathe::test::typeInto(tab.nShotSpin(), QString::number(1));
        lathe::test::typeInto(tab.outputDirEdit(), root + "/bench");
        const lathe::ArgumentSet args = tab.arguments();
        QCOMPARE(args.getString("task"), std::string("ceval_validation"));
        QCOMPARE(args.getInt("n_shot"), 1LL);
        QCOMPARE(args.getString("save_dir"), (root + "/bench").toStdString());
        QCOMPARE(args.getString("template"), std::string("fewshot"));

        QSignalSpy finished(&tab, &lathe::EvalTab::runFinished);
        lathe::test::clickOn(tab.startButton());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));
        QVERIFY2(tab.resultsLabel()->text().contains("ceval_validation"), qPrintable(tab.resultsLabel()->text()));

        QFile summaryFile(root + "/bench/results_summary.json");
        QVERIFY(summaryFile.open(QIODevice::ReadOnly));
        const QJsonObject categories = QJsonDocument::fromJson(summaryFile.readAll()).object().value("categories").toObject();
        QVERIFY(!tab.categoryChart()->isHidden());
        const auto series = tab.categoryChart()->chart()->series();
        QCOMPARE(series.size(), 1);
        auto* bars = qobject_cast<QBarSeries*>(series.first());
        QVERIFY(bars && bars->count() == 1);
        // Average, STEM, Humanities (no Social Sciences or Other subject): as results.log lists them.
        const QStringList order = {"Average", "STEM", "Humanities"};
        QCOMPARE(bars->barSets().first()->count(), order.size());
        for (int i = 0; i < order.size(); ++i)
            QCOMPARE(bars->barSets().first()->at(i), categories.value(order[i]).toDouble());
        QCOMPARE(tab.predictionsTable()->rowCount(), 2);
        QCOMPARE(tab.predictionsTable()->item(0, 0)->text(), QString("法学"));
        QVERIFY(tab.predictionsTable()->item(0, 2)->text().endsWith("/2)"));

        // The same folder again is refused before anything runs.
        lathe::test::clickOn(tab.startButton());
        QVERIFY2(tab.resultsLabel()->text().contains("already exists"), qPrintable(tab.resultsLabel()->text()));
        QVERIFY(tab.startButton()->isEnabled());
    }
};

QTEST_MAIN(TestEvalTab)
#include "tst_eval_tab.moc"
