// Tests of the loss plots (app/plot/loss_plot.h): LLaMA-Factory's smoothing weights and recurrence, the tick
// values, which files plotLoss writes and what it warns about, and that the drawn lines are where the data
// puts them. Runs with a QGuiApplication on the offscreen platform, what a headless command needs; one test
// re-runs this executable with only a QCoreApplication, as the CLI has today, to show that this warns
// instead of aborting.
#include <cmath>
#include <cstdio>

#include <QtTest/QtTest>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QGuiApplication>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include "plot/loss_plot.h"
#include "test_support.h"

namespace {

// The environment variable that turns this executable into the QCoreApplication-only child (see main()).
constexpr char kCoreOnlyVariable[] = "TST_LOSS_PLOT_CORE_ONLY";

void writeFile(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
    file.write(bytes);
}

// A trainer_state.json as the HF Trainer writes it: a falling training loss every 5 steps up to 100, an
// eval_loss every 25 steps, and the closing summary entry (train_loss, no loss).
QByteArray trainerState()
{
    QJsonArray history;
    for (int step = 5; step <= 100; step += 5) {
        history.append(QJsonObject{{"epoch", step / 50.0},
                                   {"grad_norm", 1.5},
                                   {"learning_rate", 5e-5},
                                   {"loss", 3.0 - 0.025 * step},
                                   {"step", step}});
        if (step % 25 == 0)
            history.append(
                QJsonObject{{"epoch", step / 50.0}, {"eval_loss", 2.0 - 0.01 * step}, {"step", step}});
    }
    history.append(QJsonObject{{"epoch", 2.0}, {"step", 100}, {"total_flos", 1e12}, {"train_loss", 1.7}});
    return QJsonDocument(QJsonObject{{"global_step", 100}, {"log_history", history}}).toJson();
}

// Pixels of `image` inside `region` whose colour is within `tolerance` of `color` on every channel.
int countColor(const QImage& image, const QRect& region, QColor color, int tolerance)
{
    int count = 0;
    for (int y = region.top(); y <= region.bottom(); ++y)
        for (int x = region.left(); x <= region.right(); ++x) {
            const QRgb p = image.pixel(x, y);
            if (std::abs(qRed(p) - color.red()) <= tolerance &&
                std::abs(qGreen(p) - color.green()) <= tolerance &&
                std::abs(qBlue(p) - color.blue()) <= tolerance)
                ++count;
        }
    return count;
}

const QColor kLine(0x1f, 0x77, 0xb4);
// #1f77b4 at alpha 0.4 over white.
const QColor kRawLine(165, 201, 225);

} // namespace

class TestLossPlot : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void smoothingWeight_data()
    {
        QTest::addColumn<int>("n");
        QTest::addColumn<double>("weight");
        // Values of LLaMA-Factory's 1.8 * (sigmoid(0.05 n) - 0.5) (llamaboard-reference.md 4.4).
        QTest::newRow("5") << 5 << 0.1119;
        QTest::newRow("10") << 10 << 0.2204;
        QTest::newRow("20") << 20 << 0.4159;
        QTest::newRow("50") << 50 << 0.7635;
        QTest::newRow("100") << 100 << 0.8880;
    }

    void smoothingWeight()
    {
        QFETCH(int, n);
        QFETCH(double, weight);
        QVERIFY2(std::abs(lathe::smoothingWeight(std::size_t(n)) - weight) < 1e-4,
                 qPrintable(QString::number(lathe::smoothingWeight(std::size_t(n)), 'f', 6)));
    }

    void smoothCurveRecurrence()
    {
        QVERIFY(lathe::smoothCurve({}).empty());
        QCOMPARE(lathe::smoothCurve({2.5}), std::vector<double>{2.5});

        const std::vector<double> x = {4.0, 1.0, 3.0, 0.5, 2.0, 2.0, 1.0, 0.0, 5.0, 1.5};
        const double w = lathe::smoothingWeight(x.size());
        const auto s = lathe::smoothCurve(x);
        QCOMPARE(s.size(), x.size());
        QCOMPARE(s[0], x[0]); // s0 = w * x0 + (1 - w) * x0
        for (std::size_t i = 1; i < x.size(); ++i)
            QVERIFY(std::abs(s[i] - (w * s[i - 1] + (1 - w) * x[i])) < 1e-12);
        // The weight belongs to the whole curve: the same first points smooth differently in a longer one.
        auto longer = x;
        longer.resize(60, 1.0);
        QVERIFY(std::abs(lathe::smoothCurve(longer)[1] - s[1]) > 0.1);
    }

    void niceTicks_data()
    {
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::addColumn<std::vector<double>>("ticks");
        // View intervals of data with matplotlib's 5% margins, and the ticks matplotlib shows on them.
        QTest::newRow("steps 1..100") << -3.95 << 104.95 << std::vector<double>{0, 20, 40, 60, 80, 100};
        QTest::newRow("steps 100..500")
            << 80.0 << 520.0 << std::vector<double>{100, 150, 200, 250, 300, 350, 400, 450, 500};
        QTest::newRow("loss 0.3..2.7") << 0.18 << 2.82 << std::vector<double>{0.5, 1.0, 1.5, 2.0, 2.5};
        QTest::newRow("-1..1") << -1.0 << 1.0
                               << std::vector<double>{-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1};
        QTest::newRow("accuracy 0.61..0.64")
            << 0.6085 << 0.6415 << std::vector<double>{0.61, 0.615, 0.62, 0.625, 0.63, 0.635, 0.64};
    }

    void niceTicks()
    {
        QFETCH(double, lo);
        QFETCH(double, hi);
        QFETCH(std::vector<double>, ticks);
        const auto got = lathe::niceTicks(lo, hi, 9);
        QCOMPARE(got.size(), ticks.size());
        for (std::size_t i = 0; i < ticks.size(); ++i)
            QVERIFY2(std::abs(got[i] - ticks[i]) < 1e-9, qPrintable(QString::number(got[i])));
    }

    void plotLossWritesFiguresAndWarns()
    {
        const QString dir = lathe::test::scratchDir("loss-plot");
        writeFile(dir + "/trainer_state.json", trainerState());

        const auto result = lathe::plotLoss(dir, {"loss", "eval_loss", "eval_accuracy"});
        QCOMPARE(result.written, QStringList({dir + "/training_loss.png", dir + "/training_eval_loss.png"}));
        QCOMPARE(result.warnings, QStringList{"No metric eval_accuracy to plot."});
        // Atomic writes leave no temporary files behind.
        QCOMPARE(QDir(dir).entryList(QDir::Files, QDir::Name),
                 QStringList({"trainer_state.json", "training_eval_loss.png", "training_loss.png"}));
        for (const auto& path : result.written) {
            const QImage image(path);
            QCOMPARE(image.size(), QSize(640, 480)); // matplotlib's 6.4 x 4.8 in at 100 dpi
        }
    }

    void linesWhereTheDataIs()
    {
        const QString dir = lathe::test::scratchDir("loss-plot-pixels");
        writeFile(dir + "/trainer_state.json", trainerState());
        QCOMPARE(lathe::plotLoss(dir, {"loss"}).written.size(), 1);
        const QImage image(dir + "/training_loss.png");
        QVERIFY(!image.isNull());

        // The axes span 12.5%..90% of the width and 12%..89% of the height from the top; the loss falls
        // in a straight line from the upper left to the lower right corner of the data area.
        const QRect axes(QPoint(80, 58), QPoint(575, 426));
        const int qw = axes.width() / 4, qh = axes.height() * 3 / 10;
        const QRect upperLeft(axes.left() + 2, axes.top() + 2, qw, qh);
        const QRect lowerRight(axes.right() - qw - 2, axes.bottom() - qh - 2, qw, qh);
        const QRect lowerLeft(axes.left() + 2, axes.bottom() - qh - 2, qw, qh);
        const QRect upperRight(axes.right() - qw - 2, axes.top() + 2, qw, qh);
        QVERIFY(countColor(image, upperLeft, kLine, 8) > 20);
        QVERIFY(countColor(image, lowerRight, kLine, 8) > 20);
        QVERIFY(countColor(image, upperLeft, kRawLine, 8) > 20);
        QCOMPARE(countColor(image, lowerLeft, kLine, 40), 0);
        // The corner the lines leave free holds the legend: its two sample lines and dark label text.
        QVERIFY(countColor(image, upperRight, kLine, 8) > 10);
        QVERIFY(countColor(image, upperRight, kRawLine, 8) > 10);
        QVERIFY(countColor(image, upperRight, Qt::black, 60) > 20);
        // Text was drawn: the title above the axes, tick labels below them.
        QVERIFY(countColor(image, QRect(0, 0, 640, axes.top() - 2), Qt::black, 60) > 50);
        QVERIFY(countColor(image, QRect(0, axes.bottom() + 8, 640, 480 - axes.bottom() - 8), Qt::black, 60) >
                50);
        // White background outside the axes.
        QCOMPARE(image.pixel(5, 5), qRgb(255, 255, 255));
    }

    void keyWithSlash()
    {
        const QString dir = lathe::test::scratchDir("loss-plot-dpo");
        writeFile(dir + "/trainer_state.json",
                  R"({"log_history": [{"rewards/accuracies": 0.5, "step": 1}, {"rewards/accuracies": 0.75,
                      "step": 2}, {"rewards/accuracies": 0.625, "step": 3}]})");
        const auto result = lathe::plotLoss(dir, {"rewards/accuracies"});
        QCOMPARE(result.written, QStringList{dir + "/training_rewards_accuracies.png"});
        QVERIFY(result.warnings.isEmpty());
    }

    void unreadableTrainerState()
    {
        const QString dir = lathe::test::scratchDir("loss-plot-bad");
        auto result = lathe::plotLoss(dir, {"loss"});
        QCOMPARE(result.warnings.size(), 1);
        QVERIFY2(result.warnings[0].contains(dir + "/trainer_state.json"), qPrintable(result.warnings[0]));

        writeFile(dir + "/trainer_state.json", R"({"log_history": [{"loss": 1.0, "step": 1},)");
        result = lathe::plotLoss(dir, {"loss", "eval_loss"});
        QVERIFY(result.written.isEmpty());
        QCOMPARE(result.warnings.size(), 1);
        QVERIFY2(result.warnings[0].contains(dir + "/trainer_state.json"), qPrintable(result.warnings[0]));

        writeFile(dir + "/trainer_state.json", R"({"global_step": 3})");
        result = lathe::plotLoss(dir, {"loss"});
        QCOMPARE(result.warnings.size(), 1);
        QVERIFY2(result.warnings[0].contains("log_history"), qPrintable(result.warnings[0]));
        QVERIFY(QDir(dir).entryList({"*.png"}, QDir::Files).isEmpty());
    }

    void renderAtOtherSizes()
    {
        const std::vector<std::pair<double, double>> points = {{1, 2.0}, {2, 1.5}, {3, 1.25}};
        const QImage small = lathe::renderMetricPlot(points, "training loss of x", "loss", {320, 240});
        QCOMPARE(small.size(), QSize(320, 240));
        QVERIFY(countColor(small, small.rect(), kLine, 8) > 20);
        // One point, a flat curve, or NaNs still give a figure.
        const double nan = std::nan("");
        QCOMPARE(lathe::renderMetricPlot({{7, 1.0}}, "one", "loss").size(), QSize(640, 480));
        QCOMPARE(lathe::renderMetricPlot({{1, 1.0}, {2, 1.0}}, "flat", "loss").size(), QSize(640, 480));
        QCOMPARE(lathe::renderMetricPlot({{1, nan}, {2, 1.0}, {3, 0.5}}, "nan", "loss").size(),
                 QSize(640, 480));
    }

    void coreApplicationOnly()
    {
        // The CLI's situation: no QGuiApplication, so no fonts. plotLoss must warn, not abort the process.
        const QString dir = lathe::test::scratchDir("loss-plot-core");
        writeFile(dir + "/trainer_state.json", trainerState());
        QProcess child;
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(kCoreOnlyVariable, dir);
        child.setProcessEnvironment(env);
        child.start(QCoreApplication::applicationFilePath(), {});
        QVERIFY(child.waitForFinished(60000));
        const QString out = QString::fromUtf8(child.readAllStandardOutput());
        QCOMPARE(child.exitStatus(), QProcess::NormalExit);
        QCOMPARE(child.exitCode(), 0);
        QVERIFY2(out.contains("needs a QGuiApplication"), qPrintable(out));
        QVERIFY(QDir(dir).entryList({"*.png"}, QDir::Files).isEmpty());
    }
};

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsSet(kCoreOnlyVariable)) {
        QCoreApplication app(argc, argv);
        const auto result = lathe::plotLoss(qEnvironmentVariable(kCoreOnlyVariable), {"loss"});
        std::fputs(qPrintable(result.warnings.join('\n')), stdout);
        return result.written.isEmpty() ? 0 : 1;
    }
    // A QGuiApplication rather than QTEST_MAIN's QApplication: the least a headless process needs.
    QGuiApplication app(argc, argv);
    TestLossPlot test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_loss_plot.moc"
