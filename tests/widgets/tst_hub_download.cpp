// The top bar's Download: a hub id typed as the model path is fetched from a local hub server (tests/support/
// fake_hub.h) with a progress bar; Cancel keeps the partial file, and the next Download resumes it and ends with
// the model's summary read from the cache.
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest/QtTest>

#include "fake_hub.h"
#include "hub_download.h"
#include "test_support.h"
#include "top_bar.h"

class TestHubDownload : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void downloadCancelResume()
    {
        const QString root = lathe::test::scratchDir("hub_download");
        lathe::test::FakeHub hub;
        hub.repos()["org/tiny"] = lathe::test::tinyRepo((root + "/src").toStdString(), 9);
        qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
        qputenv("HF_HUB_CACHE", (root + "/cache").toUtf8());
        qunsetenv("HF_HUB_OFFLINE");

        lathe::TopBar bar;
        bar.show();
        QTest::keyClicks(bar.modelPathEdit(), "org/tiny");
        QVERIFY(bar.downloadButton()->isVisible());
        QVERIFY2(bar.modelSummaryLabel()->text().contains("Not downloaded yet"), qPrintable(bar.modelSummaryLabel()->text()));

        QSignalSpy progress(bar.hubDownload(), &lathe::HubDownload::progress);
        QSignalSpy failed(bar.hubDownload(), &lathe::HubDownload::failed);
        QTest::mouseClick(bar.downloadButton(), Qt::LeftButton);
        QVERIFY(bar.downloadProgress()->isVisible() && bar.cancelDownloadButton()->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 30000);
        QTest::mouseClick(bar.cancelDownloadButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        QVERIFY2(bar.modelSummaryLabel()->text().contains("cancelled"), qPrintable(bar.modelSummaryLabel()->text()));
        QVERIFY(!bar.downloadProgress()->isVisible());
        QVERIFY(bar.downloadButton()->isVisible() && bar.downloadButton()->isEnabled());
        const std::string big = hub.repos()["org/tiny"].files["value_head.safetensors"].content;
        const std::filesystem::path partial = (root + "/cache/models--org--tiny/blobs/").toStdString() +
                                              lathe::test::sha256Hex(big) + ".incomplete";
        QVERIFY(std::filesystem::exists(partial));

        QSignalSpy finished(bar.hubDownload(), &lathe::HubDownload::finished);
        progress.clear();
        QTest::mouseClick(bar.downloadButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().at(0).toLongLong(), progress.last().at(1).toLongLong()); // ends at 100%
        QVERIFY2(bar.modelSummaryLabel()->text().contains("From the huggingface cache") &&
                     bar.modelSummaryLabel()->text().contains("Qwen3ForCausalLM"),
                 qPrintable(bar.modelSummaryLabel()->text()));
        QVERIFY(!bar.downloadButton()->isVisible());
        QVERIFY(!std::filesystem::exists(partial));
        qunsetenv("HF_ENDPOINT");
        qunsetenv("HF_HUB_CACHE");
    }
};

QTEST_MAIN(TestHubDownload)
#include "tst_hub_download.moc"
