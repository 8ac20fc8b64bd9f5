// The Evaluate & Predict tab: its arguments come from the top bar and its fields, and a predict run of the tiny
// model started from the tab fills the results line and the predictions table from the files the run writes.
#include <QComboBox>
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
#include "tiny_model.h"
#include "top_bar.h"

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
        bar.modelNameCombo()->setCurrentText("Custom");
        bar.modelPathEdit()->setText(model);
        bar.templateCombo()->setCurrentText("qwen");
        lathe::EvalTab tab;
        tab.setTopBar(&bar);
        tab.datasetDirEdit()->setText(root + "/data");
        tab.refreshDatasets();
        QCOMPARE(tab.datasetCombo()->count(), 1);
        tab.batchSizeSpin()->setValue(2);
        tab.maxNewTokensSpin()->setValue(8);
        tab.outputDirEdit()->setText(root + "/out");
        const lathe::ArgumentSet args = tab.arguments();
        QCOMPARE(args.getString("model_name_or_path"), model.toStdString());
        QCOMPARE(args.getString("eval_dataset"), std::string("qa"));
        QCOMPARE(args.getInt("per_device_eval_batch_size"), 2LL);
        QVERIFY(args.getBool("do_predict") && args.getBool("predict_with_generate") && !args.getBool("do_train"));

        QSignalSpy finished(&tab, &lathe::EvalTab::runFinished);
        tab.startButton()->click();
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
};

QTEST_MAIN(TestEvalTab)
#include "tst_eval_tab.moc"
