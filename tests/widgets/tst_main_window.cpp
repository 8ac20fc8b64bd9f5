// Tests of the main window: the LLaMA-Board layout (four tabs in order, top bar), the icon and translation
// compiled in, and switching the interface language while the window is open.
#include <QAbstractAxis>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QListWidget>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QSettings>
#include <QStandardPaths>
#include <QtTest/QtTest>

#include "chat_tab.h"
#include "eval_tab.h"
#include "export_tab.h"
#include "main_window.h"
#include "placeholder_page.h"
#include "test_support.h"
#include "widget_input.h"
#include "top_bar.h"
#include "train_charts.h"
#include "train_tab.h"

using lathe::MainWindow;

namespace {

// Tab titles as shown (QTabWidget keeps "&&" for a literal "&").
QStringList tabTitles(const QTabWidget* tabs)
{
    QStringList titles;
    for (int i = 0; i < tabs->count(); ++i)
        titles << tabs->tabText(i).replace(QStringLiteral("&&"), QStringLiteral("&"));
    return titles;
}

// The label whose buddy is `field` (the top bar labels every field that way).
QString labelOf(const QWidget* root, const QWidget* field)
{
    for (const QLabel* label : root->findChildren<QLabel*>()) {
        if (label->buddy() == field)
            return label->text();
    }
    return {};
}

void pickLanguage(MainWindow& window, const QString& code)
{
    QComboBox* combo = window.topBar()->languageCombo();
    const int index = combo->findData(code);
    QVERIFY2(index >= 0, qPrintable(code));
    lathe::test::chooseIndex(combo, index); // as if the user picked it
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    // The window restores saved settings: keep the user's out of the tests.
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
    }
    void resourcesAreCompiledIn();
    void opensWithItsTabsInOrder();
    void tabsDescribeWhatTheyWillDo();
    void trainTabUsesTheTopBar();
    void switchingToChineseTranslatesTheWindow();
    void topBarLabelsMatchLlamaBoard_data();
    void topBarLabelsMatchLlamaBoard();
    void unknownLanguageIsRefused();
    void keyboardReachesEveryField();
    void chartsFollowThePalette();
    void demoNeverTrainsOverItsAdapter();
    void oneSavesFolderShownAndDataDirShared();
};

// Every field of the top bar and the Train tab's main row can be reached with Tab, has a focus frame, and a
// label that names it (its buddy, which screen readers announce and mnemonics jump to).
void TestMainWindow::keyboardReachesEveryField()
{
    MainWindow window;
    window.show();
    QVERIFY(window.minimumSize().width() >= 900 && window.minimumSize().height() >= 600);
    lathe::TopBar* bar = window.topBar();
    QSet<QWidget*> chain;
    QWidget* w = &window;
    do {
        if ((w->focusPolicy() & Qt::TabFocus) && w->isEnabled())
            chain.insert(w);
        w = w->nextInFocusChain();
    } while (w != &window);
    const QList<QWidget*> fields = {bar->languageCombo(),     bar->modelNameCombo(),   bar->modelPathEdit(),
                                    bar->hubCombo(),          bar->finetuningTypeCombo(), bar->checkpointCombo(),
                                    bar->templateCombo(),     bar->ropeScalingCombo(), bar->deviceCombo()};
    for (QWidget* field : fields) {
        QWidget* focusTarget = field->focusProxy() ? field->focusProxy() : field;
        QVERIFY2(chain.contains(field) || chain.contains(focusTarget), qPrintable(field->objectName() + labelOf(bar, field)));
        QVERIFY2(!labelOf(bar, field).isEmpty(), qPrintable(field->metaObject()->className()));
    }
    QVERIFY(chain.contains(bar->browseButton()));
    lathe::TrainTab* train = window.findChild<lathe::TrainTab*>();
    QVERIFY(train);
    for (QWidget* control : std::initializer_list<QWidget*>{train->startButton(), train->previewButton(),
                                                            train->outputDirEdit(), train->datasetList()})
        QVERIFY(chain.contains(control));
}

void TestMainWindow::chartsFollowThePalette()
{
    lathe::TrainCharts charts;
    QPalette dark;
    dark.setColor(QPalette::Base, QColor(20, 20, 20));
    dark.setColor(QPalette::Text, QColor(230, 230, 230));
    dark.setColor(QPalette::Window, QColor(30, 30, 30));
    charts.setPalette(dark);
    QCoreApplication::processEvents();
    const QList<QChartView*> views = charts.findChildren<QChartView*>();
    QVERIFY(!views.isEmpty());
    for (QChartView* view : views) {
        QCOMPARE(view->chart()->backgroundBrush().color(), QColor(20, 20, 20));
        QCOMPARE(view->chart()->titleBrush().color(), QColor(230, 230, 230));
        for (QAbstractAxis* axis : view->chart()->axes())
            QCOMPARE(axis->labelsBrush().color(), QColor(230, 230, 230));
    }
}

void TestMainWindow::resourcesAreCompiledIn()
{
    MainWindow window;
    QVERIFY(QFile::exists(QStringLiteral(":/icons/lathe.svg")));
    QVERIFY(QFile::exists(QStringLiteral(":/icons/lathe-256.png")));
    QVERIFY(QFile::exists(QStringLiteral(":/data/supported_models.json")));
    QVERIFY(QFile::exists(QStringLiteral(":/i18n/lathe_zh_CN.qm")));
    QVERIFY(!window.windowIcon().isNull());
    QVERIFY(!window.windowIcon().pixmap(QSize(32, 32)).isNull());
}

void TestMainWindow::opensWithItsTabsInOrder()
{
    MainWindow window;
    QVERIFY(window.setLanguage(QStringLiteral("en")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    QCOMPARE(window.windowTitle(), QStringLiteral("Lathe"));
    QVERIFY(window.tabs() != nullptr);
    QTRY_COMPARE(tabTitles(window.tabs()), QStringList({"Train", "Evaluate & Predict", "Chat", "Export", "Runs"}));
    QCOMPARE(window.tabs()->currentIndex(), int(MainWindow::TrainPage));
    // The top bar sits above the tabs.
    QVERIFY(window.topBar()->isVisible());
    QVERIFY(window.topBar()->mapTo(&window, QPoint(0, 0)).y() <
            window.tabs()->mapTo(&window, QPoint(0, 0)).y());
}

void TestMainWindow::tabsDescribeWhatTheyWillDo()
{
    MainWindow window;
    QVERIFY(window.setLanguage(QStringLiteral("en")));
    QCoreApplication::processEvents();
    // The Train, Chat and Export tabs are built.
    auto* train = qobject_cast<lathe::TrainTab*>(window.tabs()->widget(MainWindow::TrainPage));
    QVERIFY(train);
    QCOMPARE(train->startButton()->text(), QStringLiteral("Start"));
    auto* chat = qobject_cast<lathe::ChatTab*>(window.tabs()->widget(MainWindow::ChatPage));
    QVERIFY(chat);
    QCOMPARE(chat->loadButton()->text(), QStringLiteral("Load model"));
    auto* exportTab = qobject_cast<lathe::ExportTab*>(window.tabs()->widget(MainWindow::ExportPage));
    QVERIFY(exportTab);
    QVERIFY(exportTab->wizardButton()->text().startsWith(QStringLiteral("Export wizard")));
}

void TestMainWindow::trainTabUsesTheTopBar()
{
    MainWindow window;
    auto* train = qobject_cast<lathe::TrainTab*>(window.tabs()->widget(MainWindow::TrainPage));
    QVERIFY(train);
    lathe::TopBar* bar = window.topBar();
    lathe::test::typeInto(bar->modelPathEdit(), QStringLiteral("/models/tiny"));
    lathe::test::chooseIn(bar->finetuningTypeCombo(), QStringLiteral("freeze"));
    lathe::test::chooseIn(bar->templateCombo(), QStringLiteral("qwen"));
    const lathe::ArgumentSet args = train->arguments();
    QCOMPARE(args.getString("model_name_or_path"), std::string("/models/tiny"));
    QCOMPARE(args.getString("finetuning_type"), std::string("freeze"));
    QCOMPARE(args.getString("template"), std::string("qwen"));
}

void TestMainWindow::switchingToChineseTranslatesTheWindow()
{
    MainWindow window;
    QVERIFY(window.setLanguage(QStringLiteral("en")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    lathe::TopBar* bar = window.topBar();

    pickLanguage(window, QStringLiteral("zh"));
    QCOMPARE(window.language(), QStringLiteral("zh"));
    QTRY_COMPARE(tabTitles(window.tabs()), QStringList({"训练", "评估与预测", "对话", "导出", "运行记录"}));
    QCOMPARE(labelOf(bar, bar->modelNameCombo()), QStringLiteral("模型名称"));
    QCOMPARE(bar->browseButton()->text(), QStringLiteral("浏览..."));
    auto* train = qobject_cast<lathe::TrainTab*>(window.tabs()->widget(MainWindow::TrainPage));
    QCOMPARE(train->startButton()->text(), QStringLiteral("开始"));
    QCOMPARE(train->abortButton()->text(), QStringLiteral("中断"));
    // Texts the tab composes from its state follow too.
    lathe::test::typeInto(train->datasetDirEdit(), QStringLiteral("no-such-folder"));
    QTest::keyClick(train->datasetDirEdit(), Qt::Key_Return); // editing done: the list is read
    QCOMPARE(train->datasetNoteLabel()->text(), QStringLiteral("no-such-folder 中没有 dataset_info.json。"));
    QVERIFY2(train->memoryLabel()->text().startsWith(QStringLiteral("内存估计")), qPrintable(train->memoryLabel()->text()));
    QCOMPARE(window.windowTitle(), QStringLiteral("Lathe")); // the product name is not translated

    pickLanguage(window, QStringLiteral("en"));
    QCOMPARE(window.language(), QStringLiteral("en"));
    QTRY_COMPARE(tabTitles(window.tabs()), QStringList({"Train", "Evaluate & Predict", "Chat", "Export", "Runs"}));
    QCOMPARE(labelOf(bar, bar->modelNameCombo()), QStringLiteral("Model name"));
    QCOMPARE(train->startButton()->text(), QStringLiteral("Start"));
    QCOMPARE(train->datasetNoteLabel()->text(), QStringLiteral("No dataset_info.json in no-such-folder."));
}

void TestMainWindow::topBarLabelsMatchLlamaBoard_data()
{
    QTest::addColumn<QString>("language");
    QTest::newRow("en") << QStringLiteral("en");
    QTest::newRow("zh") << QStringLiteral("zh");
}

void TestMainWindow::topBarLabelsMatchLlamaBoard()
{
    LATHE_REQUIRE_SHARED();
    QFETCH(QString, language);
    QFile file(lathe::test::sharedDir() + "/data/llamaboard_locales.json");
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject locales = QJsonDocument::fromJson(file.readAll()).object().value("LOCALES").toObject();
    auto locale = [&](const char* key, const char* field) {
        return locales.value(key).toObject().value(language).toObject().value(field).toString();
    };

    MainWindow window;
    QVERIFY(window.setLanguage(language));
    QCoreApplication::processEvents();
    lathe::TopBar* bar = window.topBar();

    const QList<QPair<const char*, QWidget*>> fields = {
        {"lang", bar->languageCombo()},
        {"model_name", bar->modelNameCombo()},
        {"model_path", bar->modelPathEdit()},
        {"finetuning_type", bar->finetuningTypeCombo()},
        {"checkpoint_path", bar->checkpointCombo()},
        {"template", bar->templateCombo()},
        {"hub_name", bar->hubCombo()},
        {"rope_scaling", bar->ropeScalingCombo()},
    };
    for (const auto& [key, widget] : fields) {
        QVERIFY2(!locale(key, "label").isEmpty(), key);
        QCOMPARE(labelOf(bar, widget), locale(key, "label"));
        // LLaMA-Board's "info" line under a field is the field's tooltip here.
        QCOMPARE(widget->toolTip(), locale(key, "info"));
    }
}

void TestMainWindow::unknownLanguageIsRefused()
{
    MainWindow window;
    QVERIFY(window.setLanguage(QStringLiteral("zh")));
    QVERIFY(!window.setLanguage(QStringLiteral("tlh")));
    QCOMPARE(window.language(), QStringLiteral("zh"));
    QCOMPARE(window.topBar()->language(), QStringLiteral("zh"));
    QVERIFY(window.setLanguage(QStringLiteral("en")));
}


// The README's demo window: `lathe workbench --config demo_lora_sft.yaml --adapter_name_or_path <its output_dir>`.
// The config says overwrite_output_dir: true and writes where the adapter is; Start must not train over it
// (issue 23, item 2): a fresh output folder, the flag not applied. A config loaded over an existing run asks.
void TestMainWindow::demoNeverTrainsOverItsAdapter()
{
    const QString root = lathe::test::scratchDir("demo_overwrite");
    const QString adapter = root + "/saves/lora_sft";
    QDir().mkpath(adapter);
    for (const char* f : {"adapter_model.safetensors", "adapter_config.json", "trainer_log.jsonl"}) {
        QFile file(adapter + "/" + f);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("{}");
    }
    const QString config = root + "/demo.yaml";
    {
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(("stage: sft\ndo_train: true\nfinetuning_type: lora\ndataset: identity\noutput_dir: " + adapter +
                    "\noverwrite_output_dir: true\n")
                       .toUtf8());
    }
    MainWindow window;
    auto* train = window.findChild<lathe::TrainTab*>();
    QVERIFY(train);
    lathe::WorkbenchSelection selection;
    selection.config = config;
    selection.checkpoint = adapter;
    window.preselect(selection);
    QVERIFY2(train->outputDirEdit()->text().startsWith("train_"), qPrintable(train->outputDirEdit()->text()));
    QVERIFY(!train->arguments().getBool("overwrite_output_dir"));
    QVERIFY(QFile::exists(adapter + "/adapter_model.safetensors"));

    // Loading the config over the existing run (its path, Load): the flag is not applied, the choice is offered.
    lathe::test::chooseIn(train->configPathCombo(), config);
    lathe::test::clickOn(train->loadButton());
    QCOMPARE(QDir(train->outputDir()).canonicalPath(), QDir(adapter).canonicalPath());
    QVERIFY(!train->arguments().getBool("overwrite_output_dir"));
    QVERIFY(!train->existingRunBar()->isHidden());
    QVERIFY2(train->statusLabel()->text().contains("not applied"), qPrintable(train->statusLabel()->text()));
}

// Issue 23, item 9: the saves folder is shown; Evaluate's data folder follows Train's.
void TestMainWindow::oneSavesFolderShownAndDataDirShared()
{
    MainWindow window;
    auto* bar = window.findChild<lathe::TopBar*>();
    auto* train = window.findChild<lathe::TrainTab*>();
    auto* eval = window.findChild<lathe::EvalTab*>();
    QVERIFY(bar && train && eval);
    QVERIFY2(window.savesLabel()->text().contains(QDir::toNativeSeparators(bar->savesRoot())),
             qPrintable(window.savesLabel()->text()));
    QTest::keyClicks(train->datasetDirEdit(), "/elsewhere");
    QCOMPARE(eval->datasetDirEdit()->text(), train->datasetDirEdit()->text());
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
