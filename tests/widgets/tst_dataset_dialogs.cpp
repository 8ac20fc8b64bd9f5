// The Train tab's dataset dialogs: the preview pages through raw records (model checked by
// QAbstractItemModelTester) and shows the training view with the learned answer marked; the registration dialog
// detects a file's format, checks it, refuses to replace an existing entry unless asked, and writes an entry that
// loads and previews.
#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTextBrowser>
#include <QtTest/QtTest>

#include "data/dataset_loader.h"
#include "dataset_dialogs.h"
#include "test_support.h"
#include "tiny_model.h"

namespace {

void write(const QString& path, const QByteArray& text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

} // namespace

class TestDatasetDialogs : public QObject
{
    Q_OBJECT
    QString m_root, m_model;

private Q_SLOTS:
    void initTestCase()
    {
        m_root = lathe::test::scratchDir("dataset_dialogs");
        m_model = QString::fromStdString(lathe::test::makeTinyModel(m_root.toStdString()).string());
        QDir().mkpath(m_root + "/data");
        QJsonArray qa;
        for (int i = 0; i < 5; ++i)
            qa.append(QJsonObject{{"instruction", QString("Question %1?").arg(i)}, {"input", ""},
                                  {"output", QString("Answer %1.").arg(i)}});
        write(m_root + "/data/qa.json", QJsonDocument(qa).toJson());
        write(m_root + "/data/dataset_info.json",
              QJsonDocument(QJsonObject{{"qa", QJsonObject{{"file_name", "qa.json"}}}}).toJson());
        // A ShareGPT file to register.
        QJsonArray chats;
        for (int i = 0; i < 3; ++i)
            chats.append(QJsonObject{{"conversations", QJsonArray{QJsonObject{{"from", "human"}, {"value", "hi"}},
                                                                   QJsonObject{{"from", "gpt"}, {"value", QString("hello %1").arg(i)}}}}});
        write(m_root + "/data/chats.json", QJsonDocument(chats).toJson());
    }

    void previewPagesAndTrainingView()
    {
        lathe::DatasetPreviewDialog dialog(m_root + "/data", "qa", m_model, "qwen");
        QAbstractItemModelTester tester(dialog.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(dialog.pageCount(), 3); // 5 records, 2 per page
        QCOMPARE(dialog.model()->rowCount(), 2);
        QCOMPARE(dialog.model()->item(0, 0)->text(), QString("0"));
        QVERIFY(dialog.model()->item(1, 1)->text().contains("Question 1?"));
        QVERIFY2(dialog.statusLabel()->text().contains("5"), qPrintable(dialog.statusLabel()->text()));
        // The training view of record 0: the prompt and the learned answer, marked.
        const QString html = dialog.trainingView()->toHtml();
        QVERIFY2(dialog.trainingView()->toPlainText().contains("Question 0?"), qPrintable(dialog.trainingView()->toPlainText()));
        QVERIFY2(html.contains("#c8f0c8"), "no learned span marked");
        dialog.showPage(2);
        QCOMPARE(dialog.model()->rowCount(), 1);
        QCOMPARE(dialog.model()->item(0, 0)->text(), QString("4"));
        dialog.pageSizeSpin()->setValue(10);
        QCOMPARE(dialog.page(), 0);
        QCOMPARE(dialog.model()->rowCount(), 5);
        // Without a model: the records, and a note instead of the training view.
        lathe::DatasetPreviewDialog bare(m_root + "/data", "qa", QString(), QString());
        QCOMPARE(bare.model()->rowCount(), 2);
        QVERIFY(bare.trainingView()->toPlainText().contains("top bar"));
        lathe::DatasetPreviewDialog missing(m_root + "/data", "nope", QString(), QString());
        QCOMPARE(missing.model()->rowCount(), 0);
        QVERIFY(missing.statusLabel()->text().contains("nope"));
    }

    void registerDetectsChecksAndWrites()
    {
        const QString dir = m_root + "/data";
        lathe::RegisterDatasetDialog dialog(dir);
        QVERIFY(!dialog.detect(m_root + "/elsewhere.json")); // outside the folder (and missing)
        QVERIFY(!dialog.registerButton()->isEnabled());
        QVERIFY(dialog.detect(dir + "/chats.json"));
        QCOMPARE(dialog.formattingCombo()->currentText(), QString("sharegpt"));
        QCOMPARE(dialog.nameEdit()->text(), QString("chats"));
        QCOMPARE(dialog.proposal().usable, 3);
        QVERIFY(dialog.entryText()->toPlainText().contains("\"file_name\": \"chats.json\""));
        QVERIFY(dialog.registerButton()->isEnabled());
        // A corrected format is checked again and shown in the entry.
        dialog.formattingCombo()->setCurrentText("openai");
        QVERIFY(dialog.entryText()->toPlainText().contains("\"formatting\": \"openai\""));
        QCOMPARE(dialog.proposal().checked, 3);
        dialog.formattingCombo()->setCurrentText("sharegpt");
        QVERIFY(dialog.entryText()->toPlainText().contains("\"formatting\": \"sharegpt\""));
        QCOMPARE(dialog.proposal().usable, 3);
        // An existing name is not replaced unless asked.
        dialog.nameEdit()->setText("qa");
        QVERIFY(!dialog.registerEntry());
        QVERIFY(dialog.statusLabel()->text().contains("qa"));
        QSignalSpy registered(&dialog, &lathe::RegisterDatasetDialog::registered);
        dialog.nameEdit()->setText("chats");
        QVERIFY(dialog.registerEntry());
        QCOMPARE(registered.count(), 1);
        const auto registry = lathe::DatasetRegistry::load(dir.toStdString());
        QCOMPARE(registry.names(), (std::vector<std::string>{"qa", "chats"})); // order kept, appended
        lathe::DatasetPreviewDialog preview(dir, "chats", m_model, "qwen");
        QCOMPARE(preview.model()->rowCount(), 2);
        QVERIFY(preview.trainingView()->toPlainText().contains("hello 0"));
    }
};

QTEST_MAIN(TestDatasetDialogs)
#include "tst_dataset_dialogs.moc"
