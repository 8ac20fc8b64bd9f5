// The workbench's main window (see main_window.h).
#include "main_window.h"

#include <QCloseEvent>
#include <QComboBox>
#include <QEvent>
#include <QLineEdit>
#include <QFileInfo>
#include <QStatusBar>
#include <QDir>
#include <QMessageBox>
#include <QSettings>
#include <QFrame>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QTabWidget>
#include <QVBoxLayout>

#include "chat_tab.h"
#include "eval_tab.h"
#include "runs_panel.h"
#include "export_tab.h"
#include "chat_runner.h"
#include "language_switcher.h"
#include "train_runner.h"
#include "top_bar.h"
#include "train_tab.h"
#include "util/error.h"

// Q_INIT_RESOURCE must be called outside any namespace. Calling it makes every program built on
// lathe_widgets pull in lathe_resources' object (icon, model catalogue), even from a static archive.
static void initLatheResources()
{
    Q_INIT_RESOURCE(lathe);
}

namespace lathe {

namespace {

QIcon appIcon()
{
    // The SVG needs Qt's SVG plugin; the PNG renditions show without it.
    QIcon icon(QStringLiteral(":/icons/lathe.svg"));
    for (int size : {16, 32, 48, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/lathe-%1.png").arg(size), QSize(size, size));
    return icon;
}

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    initLatheResources();
    m_languageSwitcher = new LanguageSwitcher(this);

    auto* central = new QWidget(this);
    setCentralWidget(central);

    // Title row, like LLaMA-Board's header.
    auto* logo = new QLabel(central);
    logo->setPixmap(appIcon().pixmap(QSize(40, 40)));
    m_title = new QLabel(central);
    m_title->setTextFormat(Qt::PlainText);
    QFont titleFont = m_title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.5);
    titleFont.setBold(true);
    m_title->setFont(titleFont);
    auto* titleRow = new QHBoxLayout;
    titleRow->addStretch(1);
    titleRow->addWidget(logo);
    titleRow->addSpacing(8);
    titleRow->addWidget(m_title);
    titleRow->addStretch(1);

    m_topBar = new TopBar(central);
    auto* topFrame = new QFrame(central);
    topFrame->setFrameShape(QFrame::StyledPanel);
    auto* topFrameLayout = new QVBoxLayout(topFrame);
    topFrameLayout->setContentsMargins(12, 10, 12, 12);
    topFrameLayout->addWidget(m_topBar);

    m_tabs = new QTabWidget(central);
    m_tabs->setDocumentMode(true);
    m_trainTab = new TrainTab;
    m_evalTab = new EvalTab;
    m_chatTab = new ChatTab;
    m_exportTab = new ExportTab;
    m_tabs->insertTab(TrainPage, m_trainTab, QString());
    m_tabs->insertTab(EvaluatePage, m_evalTab, QString());
    m_tabs->insertTab(ChatPage, m_chatTab, QString());
    m_tabs->insertTab(ExportPage, m_exportTab, QString());
    m_runsPanel = new RunsPanel;
    m_tabs->insertTab(RunsPage, m_runsPanel, QString());

    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(16, 12, 16, 12);
    layout->setSpacing(12);
    layout->addLayout(titleRow);
    layout->addWidget(topFrame);
    layout->addWidget(m_tabs, 1);

    // The Train tab reads the model, method, checkpoint and template of its run from the top bar.
    m_trainTab->setTopBar(m_topBar);
    m_chatTab->setTopBar(m_topBar);
    m_exportTab->setTopBar(m_topBar);
    m_evalTab->setTopBar(m_topBar);
    m_runsPanel->setTopBar(m_topBar);
    // One saves folder for every tab, shown (issue 23, item 9); Evaluate reads its data where Train does.
    m_savesLabel = new QLabel(this);
    m_savesLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusBar()->addPermanentWidget(m_savesLabel);
    connect(m_trainTab->datasetDirEdit(), &QLineEdit::textChanged, this, [this](const QString& dir) {
        if (m_evalTab->datasetDirEdit()->text() == dir)
            return;
        m_evalTab->datasetDirEdit()->setText(dir);
        m_evalTab->refreshDatasets();
    });
    setWindowIcon(appIcon());
    connect(m_topBar, &TopBar::languageRequested, this, &MainWindow::setLanguage);
    retranslateUi();
    setLanguage(LanguageSwitcher::systemLanguage());
    resize(1280, 800);
    // Below this the top bar's six columns and the Train tab's form stop fitting (the tabs scroll).
    setMinimumSize(960, 640);
    m_confirmClose = [this] {
        return QMessageBox::question(this, tr("Lathe"),
                                     tr("A run is still going. Stop it and close? A training run saves a checkpoint "
                                        "and the model first."),
                                     QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
    };
    restoreSettings();
}

bool MainWindow::isBusy() const
{
    return m_trainTab->isRunning() || m_evalTab->runner()->isRunning() || m_chatTab->runner()->isBusy();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (isBusy()) {
        if (!m_confirmClose || !m_confirmClose()) {
            event->ignore();
            return;
        }
        // The runners abort here and their destructors wait for the workers (the trainer saves first).
        m_trainTab->runner()->abort();
        m_evalTab->runner()->abort();
    }
    saveSettings();
    QMainWindow::closeEvent(event);
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/tab", m_tabs->currentIndex());
    settings.setValue("ui/language", language());
    settings.setValue("model/name", m_topBar->modelNameCombo()->currentText());
    settings.setValue("model/path", m_topBar->modelPathEdit()->text());
    settings.setValue("model/finetuning_type", m_topBar->finetuningTypeCombo()->currentText());
    settings.setValue("model/template", m_topBar->templateCombo()->currentText());
    settings.setValue("model/hub", m_topBar->hubName());
    settings.setValue("model/rope_scaling", m_topBar->ropeScalingCombo()->currentText());
    settings.setValue("model/device", m_topBar->computeDevice());
    settings.setValue("train/dataset_dir", m_trainTab->datasetDirEdit()->text());
}

void MainWindow::preselect(const WorkbenchSelection& selection)
{
    if (!selection.config.isEmpty()) {
        try {
            m_trainTab->loadArguments(ArgumentSet::fromYamlFile(selection.config.toStdString()));
        } catch (const Error& e) {
            QMessageBox::warning(this, tr("Lathe"), QString::fromUtf8(e.what()));
        }
    }
    if (!selection.modelPath.isEmpty()) {
        m_topBar->modelNameCombo()->setCurrentText(QStringLiteral("Custom"));
        m_topBar->modelPathEdit()->setText(selection.modelPath);
    }
    if (!selection.templateName.isEmpty())
        m_topBar->templateCombo()->setCurrentText(selection.templateName);
    if (!selection.checkpoint.isEmpty()) {
        m_topBar->finetuningTypeCombo()->setCurrentText(QStringLiteral("lora"));
        m_topBar->checkpointCombo()->setCurrentText(selection.checkpoint);
        // The adapter chosen is where the config would write: Start must not train over it. A fresh folder.
        const QString adapter = QFileInfo(selection.checkpoint).canonicalFilePath();
        if (!adapter.isEmpty() && QFileInfo(m_trainTab->outputDir()).canonicalFilePath() == adapter)
            m_trainTab->startNewRun();
    }
    if (!selection.datasetDir.isEmpty()) {
        m_trainTab->datasetDirEdit()->setText(selection.datasetDir);
        m_trainTab->refreshDatasets();
        m_evalTab->datasetDirEdit()->setText(selection.datasetDir);
        m_evalTab->refreshDatasets();
    }
    if (!selection.datasets.isEmpty()) {
        m_trainTab->setDatasets(selection.datasets);
        m_evalTab->datasetCombo()->setCurrentText(selection.datasets.front());
    }
    m_tabs->setCurrentIndex(TrainPage);
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    if (settings.contains("window/geometry"))
        restoreGeometry(settings.value("window/geometry").toByteArray());
    if (settings.contains("ui/language"))
        setLanguage(settings.value("ui/language").toString());
    // The hub first: choosing a catalogue model fills in its id on that hub.
    if (settings.contains("model/hub"))
        m_topBar->hubCombo()->setCurrentText(settings.value("model/hub").toString());
    if (settings.contains("model/name"))
        m_topBar->modelNameCombo()->setCurrentText(settings.value("model/name").toString());
    if (settings.contains("model/path"))
        m_topBar->modelPathEdit()->setText(settings.value("model/path").toString());
    if (settings.contains("model/finetuning_type"))
        m_topBar->finetuningTypeCombo()->setCurrentText(settings.value("model/finetuning_type").toString());
    if (settings.contains("model/template"))
        m_topBar->templateCombo()->setCurrentText(settings.value("model/template").toString());
    if (settings.contains("model/rope_scaling"))
        m_topBar->ropeScalingCombo()->setCurrentText(settings.value("model/rope_scaling").toString());
    // A device this machine no longer has (a GPU taken out) leaves the choice at auto.
    if (const int device = m_topBar->deviceCombo()->findData(settings.value("model/device")); device >= 0)
        m_topBar->deviceCombo()->setCurrentIndex(device);
    if (settings.contains("train/dataset_dir")) {
        m_trainTab->datasetDirEdit()->setText(settings.value("train/dataset_dir").toString());
        m_trainTab->refreshDatasets();
    }
    if (settings.contains("window/tab"))
        m_tabs->setCurrentIndex(settings.value("window/tab").toInt());
}

QString MainWindow::language() const
{
    return m_languageSwitcher->language();
}

bool MainWindow::setLanguage(const QString& code)
{
    const bool ok = m_languageSwitcher->setLanguage(code);
    // On failure this puts the picker back on the language still shown.
    m_topBar->setLanguage(m_languageSwitcher->language());
    return ok;
}

void MainWindow::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QMainWindow::changeEvent(event);
}

void MainWindow::retranslateUi()
{
    // The product name stays "Lathe" in every language.
    setWindowTitle(tr("Lathe"));
    m_title->setText(tr("Lathe: fine-tuning workbench for large language models"));
    m_savesLabel->setText(tr("Runs are saved in %1").arg(QDir::toNativeSeparators(m_topBar->savesRoot())));
    // "&&" shows one "&"; a single one would mark a keyboard shortcut.
    m_tabs->setTabText(TrainPage, tr("Train"));
    m_tabs->setTabText(EvaluatePage, tr("Evaluate && Predict"));
    m_tabs->setTabText(ChatPage, tr("Chat"));
    m_tabs->setTabText(ExportPage, tr("Export"));
    m_tabs->setTabText(RunsPage, tr("Runs"));
}

} // namespace lathe
