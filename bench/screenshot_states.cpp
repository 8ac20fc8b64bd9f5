// The README's screenshots of real states (issue 23): the workbench driven as a user drives it, in one language.
//
//   screenshot_states MODEL_DIR DATASET_DIR DATASET OUT_DIR LANG     (tools/screenshots.sh runs it for en and zh)
//
// train_<lang>.png   a LoRA run training, its curves half drawn
// runs_<lang>.png    two runs compared in the Runs tab
// chat_<lang>.png    a streamed answer of the trained adapter, with Compare (base model vs adapter) open
// export_<lang>.png  the export wizard finishing a merged export
// Everything is written under a scratch folder next to OUT_DIR; nothing of the user's is touched.
#include <cstdio>
#include <functional>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>

#include "argument_form.h"
#include "chat_runner.h"
#include "chat_tab.h"
#include "compare_panel.h"
#include "export_tab.h"
#include "export_wizard.h"
#include "main_window.h"
#include "runs_model.h"
#include "runs_panel.h"
#include "top_bar.h"
#include "train/trainer.h"
#include "train_runner.h"
#include "train_charts.h"
#include "train_tab.h"

namespace {

void waitFor(const std::function<bool()>& done, int timeoutMs = 600000)
{
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
}

void save(QWidget* w, const QString& file)
{
    QCoreApplication::processEvents();
    w->grab().save(file);
    std::printf("wrote %s\n", qPrintable(file));
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName("LatheScreenshots"); // its own settings, not the user's
    if (argc < 6) {
        std::fprintf(stderr, "usage: screenshot_states MODEL_DIR DATASET_DIR DATASET OUT_DIR LANG\n");
        return 2;
    }
    const QString model = argv[1], datasetDir = argv[2], dataset = argv[3], out = argv[4], lang = argv[5];
    const QString scratch = QDir(out).filePath(".screenshot-runs-" + lang);
    QDir(scratch).removeRecursively();
    QDir().mkpath(scratch);

    lathe::MainWindow window;
    lathe::TopBar* bar = window.topBar();
    bar->setSavesRoot(scratch + "/saves");
    window.setLanguage(lang); // after the saves folder, which the status bar names
    window.resize(1400, 900);
    window.show();
    lathe::WorkbenchSelection selection;
    selection.modelPath = model;
    selection.templateName = "qwen3_nothink";
    selection.datasetDir = datasetDir;
    selection.datasets = {dataset};
    window.preselect(selection);
    auto* train = window.findChild<lathe::TrainTab*>();
    auto set = [&](const char* key, int v) {
        if (auto* spin = qobject_cast<QSpinBox*>(train->form()->editor(key)))
            spin->setValue(v);
    };
    auto text = [&](const char* key, const QString& v) {
        if (auto* edit = qobject_cast<QLineEdit*>(train->form()->editor(key)))
            edit->setText(v);
    };

    // Two runs; the first photographed halfway.
    const QString runs[2] = {"train_demo_a", "train_demo_b"};
    for (int r = 0; r < 2; ++r) {
        train->outputDirEdit()->setText(runs[r]);
        set("max_steps", r == 0 ? 60 : 30);
        set("logging_steps", 1);
        set("save_steps", 1000);
        text("learning_rate", r == 0 ? "5e-3" : "2e-3");
        set("lora_rank", 16);
        QSignalSpy progress(train->runner(), &lathe::TrainRunner::progress);
        QSignalSpy finished(train, &lathe::TrainTab::runFinished);
        window.tabs()->setCurrentWidget(train);
        if (!train->start()) {
            std::fprintf(stderr, "the run did not start: %s\n", qPrintable(train->statusLabel()->text()));
            return 1;
        }
        if (r == 0) {
            waitFor([&] {
                return !progress.isEmpty() && progress.last().at(0).value<lathe::TrainProgress>().step >= 30;
            });
            // The charts, not the form, in view.
            if (auto* scroll = train->findChild<QScrollArea*>())
                scroll->ensureWidgetVisible(train->charts(), 0, 0);
            QCoreApplication::processEvents(QEventLoop::AllEvents, 300);
            save(&window, QDir(out).filePath("train_" + lang + ".png"));
        }
        waitFor([&] { return !finished.isEmpty(); });
    }

    // The Runs tab: both runs selected.
    auto* runsPanel = window.findChild<lathe::RunsPanel*>();
    window.tabs()->setCurrentWidget(runsPanel);
    runsPanel->setRoot(scratch + "/saves");
    runsPanel->view()->selectAll();
    save(&window, QDir(out).filePath("runs_" + lang + ".png"));

    // Chat with the first run's adapter, then Compare.
    bar->finetuningTypeCombo()->setCurrentText("lora");
    bar->checkpointCombo()->setCurrentText(QDir(scratch + "/saves/Custom/lora").filePath(runs[0]));
    auto* chat = window.findChild<lathe::ChatTab*>();
    window.tabs()->setCurrentWidget(chat);
    QSignalSpy loaded(chat->runner(), &lathe::ChatRunner::loadFinished);
    chat->loadModel();
    waitFor([&] { return !loaded.isEmpty(); });
    chat->temperatureSpin()->setValue(0);
    chat->maxNewTokensSpin()->setValue(48);
    chat->queryEdit()->setPlainText(lang == "zh" ? QStringLiteral("你是谁？") : QStringLiteral("Who are you?"));
    QSignalSpy replied(chat, &lathe::ChatTab::replyDone);
    chat->submit();
    waitFor([&] { return !replied.isEmpty(); });
    chat->queryEdit()->setPlainText(lang == "zh" ? QStringLiteral("你是谁？") : QStringLiteral("Who are you?"));
    QSignalSpy compared(chat->comparePanel(), &lathe::ComparePanel::finished);
    chat->compare();
    waitFor([&] { return !compared.isEmpty(); });
    save(&window, QDir(out).filePath("chat_" + lang + ".png"));

    // The export wizard, finishing a merged export.
    auto* exportTab = window.findChild<lathe::ExportTab*>();
    window.tabs()->setCurrentWidget(exportTab);
    lathe::ExportWizard* wizard = exportTab->openWizard();
    wizard->resize(900, 700);
    wizard->restart();
    wizard->next(); // the format page
    wizard->hfRadio()->setChecked(true);
    wizard->next(); // the destination
    wizard->directoryEdit()->setText(scratch + "/exported");
    QSignalSpy exported(wizard, &lathe::ExportWizard::exportFinished);
    wizard->next();
    waitFor([&] { return !exported.isEmpty(); });
    wizard->next(); // its summary: the files written and how to try them
    QCoreApplication::processEvents(QEventLoop::AllEvents, 200);
    save(wizard, QDir(out).filePath("export_" + lang + ".png"));
    wizard->accept();

    QDir(scratch).removeRecursively();
    return 0;
}
