// The Train tab (see train_tab.h).
#include "train_tab.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QJsonObject>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonArray>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QStandardItemModel>
#include <QStyle>
#include <QTextCursor>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "argument_form.h"
#include "checkpoint_lister.h"
#include "hub/hub.h"
#include "dataset_dialogs.h"
#include "model_arguments.h"
#include "model_selection.h"
#include "data/dataset_attr.h"
#include "runtime/env_info.h"
#include "top_bar.h"
#include "train/trainer.h"
#include "train/trainer_log.h"
#include "train_charts.h"
#include "config/stages.h"
#include "train_runner.h"
#include "util/error.h"

namespace lathe {

namespace {

// What the trainer logs once it has loaded the model (core/train/trainer.cpp).

QLabel* fieldLabel(QWidget* buddy, QWidget* parent)
{
    auto* label = new QLabel(parent);
    label->setBuddy(buddy);
    return label;
}

QString gib(std::int64_t bytes)
{
    return QString::number(double(bytes) / double(1 << 30), 'f', 2) + QStringLiteral(" GiB");
}

QStringList splitNames(const std::string& text)
{
    QStringList names;
    for (const QString& n : QString::fromStdString(text).split(QLatin1Char(','), Qt::SkipEmptyParts))
        names << n.trimmed();
    return names;
}

} // namespace

TrainTab::TrainTab(QWidget* parent) : QWidget(parent)
{
    m_runner = new TrainRunner(this);
    auto* page = new QWidget;

    // ---- data row: stage, data folder, datasets
    m_stage = new QComboBox(page);
    auto* stageModel = new QStandardItemModel(m_stage);
    for (const QString& code : stages()) {
        auto* item = new QStandardItem;
        item->setData(code, Qt::UserRole);
        if (!isStageSupported(code))
            item->setFlags(item->flags() & ~Qt::ItemIsEnabled);
        stageModel->appendRow(item);
    }
    m_stage->setModel(stageModel);
    m_datasetDir = new QLineEdit(QStringLiteral("data"), page);
    m_datasetList = new QListWidget(page);
    m_datasetList->setMaximumHeight(110);
    m_datasetList->setFlow(QListView::LeftToRight);
    m_datasetList->setWrapping(true);
    m_datasetList->setSpacing(2);
    m_refreshDatasets = new QToolButton(page);
    m_refreshDatasets->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
    m_datasetNote = new QLabel(page);
    m_datasetNote->setForegroundRole(QPalette::PlaceholderText);
    m_previewDataset = new QPushButton(page);
    m_registerDataset = new QPushButton(page);
    m_stageLabel = fieldLabel(m_stage, page);
    m_datasetDirLabel = fieldLabel(m_datasetDir, page);
    m_datasetLabel = fieldLabel(m_datasetList, page);

    auto* dataGrid = new QGridLayout;
    dataGrid->setHorizontalSpacing(12);
    dataGrid->setVerticalSpacing(2);
    dataGrid->addWidget(m_stageLabel, 0, 0);
    dataGrid->addWidget(m_stage, 1, 0, Qt::AlignTop);
    dataGrid->addWidget(m_datasetDirLabel, 0, 1);
    dataGrid->addWidget(m_datasetDir, 1, 1, Qt::AlignTop);
    dataGrid->addWidget(m_datasetLabel, 0, 2);
    auto* datasetRow = new QHBoxLayout;
    datasetRow->addWidget(m_datasetList, 1);
    datasetRow->addWidget(m_refreshDatasets, 0, Qt::AlignTop);
    dataGrid->addLayout(datasetRow, 1, 2);
    auto* datasetButtons = new QHBoxLayout;
    datasetButtons->addWidget(m_datasetNote, 1);
    datasetButtons->addWidget(m_previewDataset);
    datasetButtons->addWidget(m_registerDataset);
    dataGrid->addLayout(datasetButtons, 2, 2);
    dataGrid->setColumnStretch(0, 1);
    dataGrid->setColumnStretch(1, 1);
    dataGrid->setColumnStretch(2, 4);

    // ---- the form and the buttons
    m_form = new ArgumentForm(page);
    // LLaMA-Board's extra_args: more YAML keys as JSON, applied over the form.
    m_extraArgs = new QLineEdit(QStringLiteral("{\"optim\": \"adamw_torch\"}"), page);
    m_extraArgsLabel = fieldLabel(m_extraArgs, page);
    m_preview = new QPushButton(page);
    m_save = new QPushButton(page);
    m_load = new QPushButton(page);
    m_start = new QPushButton(page);
    m_start->setDefault(true);
    m_abort = new QPushButton(page);
    m_abort->setEnabled(false);
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {m_preview, m_save, m_load, m_start, m_abort})
        buttons->addWidget(b, 1);

    // ---- the run
    m_outputDir = new QLineEdit(
        QStringLiteral("train_") + QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd-HH-mm-ss")), page);
    m_outputDirLabel = fieldLabel(m_outputDir, page);
    m_configPath = new QComboBox(page);
    m_configPath->setEditable(true);
    m_configPathLabel = fieldLabel(m_configPath, page);
    refreshConfigPaths();
    m_memory = new QLabel(page);
    m_memory->setWordWrap(true);
    m_existingRun = new QFrame(page);
    static_cast<QFrame*>(m_existingRun)->setFrameShape(QFrame::StyledPanel);
    m_existingRun->setAutoFillBackground(true);
    m_existingRun->setBackgroundRole(QPalette::AlternateBase);
    m_existingRunLabel = new QLabel(m_existingRun);
    m_existingRunLabel->setWordWrap(true);
    m_resume = new QPushButton(m_existingRun);
    m_overwrite = new QPushButton(m_existingRun);
    m_newRun = new QPushButton(m_existingRun);
    auto* existingLayout = new QHBoxLayout(m_existingRun);
    existingLayout->addWidget(m_existingRunLabel, 1);
    existingLayout->addWidget(m_resume);
    existingLayout->addWidget(m_overwrite);
    existingLayout->addWidget(m_newRun);
    m_existingRun->setVisible(false);
    m_progress = new QProgressBar(page);
    m_progress->setVisible(false);
    m_stats = new QLabel(page);
    m_status = new QLabel(page);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_output = new QPlainTextEdit(page);
    m_output->setReadOnly(true);
    m_output->setMaximumBlockCount(5000);
    m_output->setMinimumHeight(200);
    m_output->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_charts = new TrainCharts(page);

    auto* layout = new QVBoxLayout(page);
    layout->addLayout(dataGrid);
    layout->addWidget(m_form);
    auto* extraRow = new QVBoxLayout;
    extraRow->setSpacing(2);
    extraRow->addWidget(m_extraArgsLabel);
    extraRow->addWidget(m_extraArgs);
    layout->addLayout(extraRow);
    layout->addLayout(buttons);
    auto* outputRow = new QGridLayout;
    outputRow->addWidget(m_outputDirLabel, 0, 0);
    outputRow->addWidget(m_outputDir, 1, 0);
    outputRow->addWidget(m_configPathLabel, 0, 1);
    outputRow->addWidget(m_configPath, 1, 1);
    outputRow->addWidget(m_memory, 1, 2);
    outputRow->setColumnStretch(0, 1);
    outputRow->setColumnStretch(1, 1);
    outputRow->setColumnStretch(2, 1);
    layout->addLayout(outputRow);
    layout->addWidget(m_existingRun);
    layout->addWidget(m_progress);
    layout->addWidget(m_stats);
    layout->addWidget(m_status);
    layout->addWidget(m_output);
    layout->addWidget(m_charts);
    layout->addStretch(1);

    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(page);
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(scroll);

    connect(m_stage, &QComboBox::currentIndexChanged, this, &TrainTab::refreshDatasets);
    connect(m_stage, &QComboBox::currentIndexChanged, this, [this] { m_form->setStage(stage()); });
    connect(m_datasetDir, &QLineEdit::editingFinished, this, &TrainTab::refreshDatasets);
    connect(m_refreshDatasets, &QToolButton::clicked, this, &TrainTab::refreshDatasets);
    connect(m_previewDataset, &QPushButton::clicked, this, &TrainTab::previewDataset);
    connect(m_registerDataset, &QPushButton::clicked, this, &TrainTab::registerDataset);
    connect(m_datasetList, &QListWidget::itemChanged, this, &TrainTab::onDatasetItemChanged);
    connect(m_preview, &QPushButton::clicked, this, &TrainTab::previewCommand);
    // LLaMA-Board's config path: Save and Load use the file it names (a bare name is in llamaboard_config/ of the
    // working folder, as LLaMA-Board keeps them); an empty field asks with a file dialog.
    connect(m_save, &QPushButton::clicked, this, [this] {
        QString path = configPath();
        if (path.isEmpty())
            path = QFileDialog::getSaveFileName(this, tr("Save arguments"), QString(), tr("YAML files (*.yaml *.yml)"));
        if (path.isEmpty())
            return;
        QDir().mkpath(QFileInfo(path).absolutePath());
        if (saveArguments(path))
            refreshConfigPaths();
    });
    connect(m_load, &QPushButton::clicked, this, [this] {
        QString path = configPath();
        if (path.isEmpty() || !QFileInfo::exists(path))
            path = QFileDialog::getOpenFileName(this, tr("Load arguments"), QString(), tr("YAML files (*.yaml *.yml *.json)"));
        if (!path.isEmpty())
            loadArgumentsFile(path);
    });
    m_estimateTimer = new QTimer(this);
    m_estimateTimer->setSingleShot(true);
    m_estimateTimer->setInterval(200);
    connect(m_estimateTimer, &QTimer::timeout, this, &TrainTab::updateMemoryEstimate);
    connect(m_form, &ArgumentForm::edited, m_estimateTimer, qOverload<>(&QTimer::start));
    connect(m_form, &ArgumentForm::edited, this, [this] {
        if (!m_existingRun->isHidden())
            checkOutputDir(); // overwrite_output_dir may have changed what Start does
        clearFixedProblem();
    });
    connect(m_outputDir, &QLineEdit::editingFinished, this, &TrainTab::checkOutputDir);
    connect(m_resume, &QPushButton::clicked, this, &TrainTab::resumeExistingRun);
    connect(m_overwrite, &QPushButton::clicked, this, &TrainTab::overwriteExistingRun);
    connect(m_newRun, &QPushButton::clicked, this, &TrainTab::startNewRun);
    connect(m_start, &QPushButton::clicked, this, &TrainTab::start);
    connect(m_abort, &QPushButton::clicked, this, &TrainTab::abort);
    connect(m_runner, &TrainRunner::logLine, this, &TrainTab::onLogLine);
    connect(m_runner, &TrainRunner::progress, this, &TrainTab::onProgress);
    connect(m_runner, &TrainRunner::succeeded, this, [this](const QString& dir, bool aborted, qint64 step) {
        // The bar says how the run ended, not "Running..." (it keeps the last step's position).
        if (m_progress->maximum() == 0)
            m_progress->setRange(0, 1);
        m_progress->setFormat(aborted ? tr("Aborted at %1/%2 after %3").arg(step).arg(m_lastTotalSteps).arg(m_lastElapsed)
                                      : tr("Finished %1/%2 in %3").arg(step).arg(m_lastTotalSteps).arg(m_lastElapsed));
        if (!aborted)
            m_progress->setValue(m_progress->maximum());
        m_status->setStyleSheet(QString());
        m_status->setText(aborted ? tr("Aborted at step %1; what was trained is saved in %2.")
                                        .arg(step)
                                        .arg(QDir::toNativeSeparators(dir))
                                  : tr("Finished."));
        if (m_topBar)
            m_topBar->refreshCheckpoints();
        Q_EMIT runFinished(true, aborted, QString());
    });
    connect(m_runner, &TrainRunner::failed, this, [this](const QString& message) {
        if (m_progress->maximum() == 0) { // failed before the first step
            m_progress->setRange(0, 1);
            m_progress->setValue(0);
            m_progress->setFormat(tr("Failed before the first step"));
        } else {
            m_progress->setFormat(tr("Failed at %1/%2").arg(m_progress->value()).arg(m_lastTotalSteps));
        }
        showProblem(tr("Failed.") + QLatin1Char('\n') + message, true);
        Q_EMIT runFinished(false, false, message);
    });
    connect(m_runner, &TrainRunner::finished, this, [this] { setRunning(false); });

    applyLlamaBoardDefaults();
    retranslateUi();
    m_status->setText(tr("Ready."));
    refreshDatasets();
}

TrainTab::~TrainTab() = default; // the runner (a child) aborts and waits for its run

QStringList TrainTab::stages()
{
    QStringList names;
    for (const StageInfo& stage : trainingStages()) // config/stages.h: the one list of stages
        names << QString::fromStdString(stage.name);
    return names;
}

bool TrainTab::isStageSupported(const QString& stage)
{
    const StageInfo* info = findStage(stage.toStdString());
    return info && info->available;
}

void TrainTab::applyLlamaBoardDefaults()
{
    // The Train tab's own defaults where they differ from the CLI's (llamaboard-reference.md §1.3).
    ArgumentSet defaults;
    defaults.setValue("per_device_train_batch_size", 2);
    defaults.setValue("gradient_accumulation_steps", 8);
    defaults.setValue("lr_scheduler_type", "cosine");
    defaults.setValue("save_steps", 100);
    defaults.setValue("max_samples", 100000);
    defaults.setValue("plot_loss", true);
    m_form->load(defaults);
}

void TrainTab::setTopBar(TopBar* topBar)
{
    m_topBar = topBar;
    if (m_topBar) {
        connect(m_topBar->modelPathEdit(), &QLineEdit::textChanged, m_estimateTimer, qOverload<>(&QTimer::start));
        connect(m_topBar->finetuningTypeCombo(), &QComboBox::currentTextChanged, m_estimateTimer,
                qOverload<>(&QTimer::start));
        connect(m_topBar->workersSpin(), &QSpinBox::valueChanged, m_estimateTimer, qOverload<>(&QTimer::start));
        // A *_nothink template never thinks: "Enable thinking" is off and not offered (issue 23, item 10).
        auto follow = [this](const QString& tpl) {
            auto* box = qobject_cast<QCheckBox*>(m_form->editor(QStringLiteral("enable_thinking")));
            if (!box)
                return;
            const bool nothink = tpl.endsWith(QLatin1String("_nothink"));
            if (nothink)
                box->setChecked(false);
            box->setEnabled(!nothink);
            box->setToolTip(nothink ? tr("The %1 template has no thinking mode.").arg(tpl) : QString());
        };
        connect(m_topBar->templateCombo(), &QComboBox::currentTextChanged, this, follow);
        follow(m_topBar->chatTemplate());
    }
    updateMemoryEstimate();
}

QString TrainTab::stage() const
{
    return m_stage->currentData(Qt::UserRole).toString();
}

QString TrainTab::datasetDir() const
{
    return m_datasetDir->text().trimmed();
}

QStringList TrainTab::datasets() const
{
    return m_chosenDatasets;
}

void TrainTab::setDatasets(const QStringList& names)
{
    m_chosenDatasets = names;
    const QSignalBlocker blocker(m_datasetList);
    for (const QString& name : names) {
        if (m_datasetList->findItems(name, Qt::MatchExactly).isEmpty()) {
            auto* item = new QListWidgetItem(name, m_datasetList); // not in dataset_info.json, as typed
            item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        }
    }
    for (int i = 0; i < m_datasetList->count(); ++i) {
        QListWidgetItem* item = m_datasetList->item(i);
        item->setCheckState(names.contains(item->text()) ? Qt::Checked : Qt::Unchecked);
    }
}

QStringList TrainTab::availableDatasets() const
{
    QStringList names;
    for (int i = 0; i < m_datasetList->count(); ++i)
        names << m_datasetList->item(i)->text();
    return names;
}

void TrainTab::refreshDatasets()
{
    // LLaMA-Board's list_datasets: the entries whose "ranking" matches the stage (rm and dpo need pairs).
    const bool ranking = stageUsesRanking(stage().toStdString());
    QStringList offered;
    QString note;
    try {
        const DatasetRegistry registry = DatasetRegistry::load(datasetDir().toStdString());
        for (const std::string& name : registry.names())
            if (registry.get(name).ranking == ranking)
                offered << QString::fromStdString(name);
        if (offered.isEmpty())
            note = tr("No dataset of %1 suits this stage.").arg(QDir::toNativeSeparators(registry.infoPath().c_str()));
    } catch (const Error& e) {
        // Missing, or there and broken: a broken file is said with the reader's line and column (issue 23, item 8).
        note = QFile::exists(QDir(datasetDir()).filePath(QStringLiteral("dataset_info.json")))
                   ? tr("dataset_info.json cannot be read: %1").arg(QString::fromUtf8(e.what()))
                   : tr("No dataset_info.json in %1.").arg(QDir::toNativeSeparators(datasetDir()));
    }
    QStringList chosen;
    for (const QString& name : m_chosenDatasets)
        if (offered.contains(name))
            chosen << name;
    {
        const QSignalBlocker blocker(m_datasetList);
        m_datasetList->clear();
        for (const QString& name : offered) {
            auto* item = new QListWidgetItem(name, m_datasetList);
            item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        }
    }
    setDatasets(chosen);
    m_datasetNote->setText(note);
    m_datasetNote->setVisible(!note.isEmpty());
}

void TrainTab::onDatasetItemChanged(QListWidgetItem* item)
{
    const QString name = item->text();
    if (item->checkState() == Qt::Checked && !m_chosenDatasets.contains(name))
        m_chosenDatasets << name;
    else if (item->checkState() != Qt::Checked)
        m_chosenDatasets.removeAll(name);
}

QString TrainTab::configDir()
{
    return QDir::current().filePath(QStringLiteral("llamaboard_config"));
}

QString TrainTab::configPath() const
{
    const QString text = m_configPath->currentText().trimmed();
    if (text.isEmpty() || QDir::isAbsolutePath(text) || text.contains(QLatin1Char('/')))
        return text;
    return QDir(configDir()).filePath(text);
}

void TrainTab::refreshConfigPaths()
{
    // "<time>.yaml" for a new one, then every *.yaml of the folder (LLaMA-Board's list_config_paths).
    const QString current = m_configPath->currentText();
    const QSignalBlocker blocker(m_configPath);
    m_configPath->clear();
    m_configPath->addItem(QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd-HH-mm-ss")) + QStringLiteral(".yaml"));
    m_configPath->addItems(QDir(configDir()).entryList({QStringLiteral("*.yaml")}, QDir::Files, QDir::Name));
    if (!current.isEmpty())
        m_configPath->setCurrentText(current);
}

QString TrainTab::outputDir() const
{
    const QString text = m_outputDir->text().trimmed();
    // A bare name is a run of the current model and method, as in LLaMA-Board's get_save_dir.
    if (text.isEmpty() || !m_topBar || text.contains(QLatin1Char('/')) || text.contains(QDir::separator()))
        return text;
    const QString model = m_topBar->modelName().isEmpty() ? QStringLiteral("Custom") : m_topBar->modelName();
    return QDir(CheckpointLister::saveDir(m_topBar->savesRoot(), model, m_topBar->finetuningType())).filePath(text);
}

ArgumentSet TrainTab::arguments() const
{
    ArgumentSet args;
    args.setValue("stage", stage().toStdString(), "form");
    args.setValue("do_train", true, "form");
    addModelArguments(m_topBar, args);
    args.setValue("dataset_dir", datasetDir().toStdString(), "form");
    if (!m_chosenDatasets.isEmpty())
        args.setValue("dataset", m_chosenDatasets.join(QLatin1Char(',')).toStdString(), "form");
    if (!outputDir().isEmpty())
        args.setValue("output_dir", outputDir().toStdString(), "form");
    m_form->writeTo(args);
    applyExtraArguments(args); // a problem in them is reported by problems(), which stops Start
    return args;
}

QString TrainTab::applyExtraArguments(ArgumentSet& args) const
{
    const QString text = m_extraArgs->text().trimmed();
    if (text.isEmpty())
        return {};
    try {
        applyJsonArguments(args, text.toStdString(), "extra arguments");
    } catch (const Error& e) {
        return tr("Extra arguments: %1").arg(QString::fromUtf8(e.what()));
    }
    return {};
}

void TrainTab::loadArguments(const ArgumentSet& args)
{
    const int stageIndex = m_stage->findData(QString::fromStdString(args.getString("stage")), Qt::UserRole);
    if (stageIndex >= 0)
        m_stage->setCurrentIndex(stageIndex);
    m_datasetDir->setText(QString::fromStdString(args.getString("dataset_dir")));
    refreshDatasets();
    setDatasets(splitNames(args.getString("dataset")));
    if (args.isSet("output_dir"))
        m_outputDir->setText(QString::fromStdString(args.getString("output_dir")));
    m_form->load(args);
    m_estimateTimer->start();
    if (m_topBar) {
        if (args.isSet("model_name_or_path"))
            m_topBar->modelPathEdit()->setText(QString::fromStdString(args.getString("model_name_or_path")));
        m_topBar->finetuningTypeCombo()->setCurrentText(QString::fromStdString(args.getString("finetuning_type")));
        m_topBar->templateCombo()->setCurrentText(QString::fromStdString(args.getString("template")));
        const QString rope = QString::fromStdString(args.getString("rope_scaling"));
        m_topBar->ropeScalingCombo()->setCurrentText(rope.isEmpty() ? QStringLiteral("none") : rope);
        const int device = m_topBar->deviceCombo()->findData(QString::fromStdString(args.getString("device")));
        if (device >= 0)
            m_topBar->deviceCombo()->setCurrentIndex(device);
        m_topBar->workersSpin()->setValue(args.isSet("nproc_per_node") ? int(args.getInt("nproc_per_node")) : 0);
        // After the method, whose change lists the checkpoints again.
        m_topBar->checkpointCombo()->setCurrentText(QString::fromStdString(args.getString("adapter_name_or_path")));
    }
    // A loaded config never overwrites an existing run without asking (LLaMA-Factory's examples all say
    // overwrite_output_dir: true): the flag is cleared when the folder holds something, and the bar below the
    // form offers Resume, Overwrite or New run.
    auto* overwrite = qobject_cast<QCheckBox*>(m_form->editor(QStringLiteral("overwrite_output_dir")));
    const QDir run(outputDir());
    if (overwrite->isChecked() && !outputDir().isEmpty() && run.exists() && !run.isEmpty()) {
        overwrite->setChecked(false);
        m_status->setStyleSheet(QString());
        m_status->setText(tr("%1 already holds a run: the config's overwrite_output_dir was not applied. Choose "
                             "Resume, Overwrite or New run.")
                              .arg(QDir::toNativeSeparators(outputDir())));
    }
    checkOutputDir();
}

QStringList TrainTab::problems()
{
    // LLaMA-Board's alerts (llamaboard-reference.md §1.9), then the schema's own checks.
    QStringList found = m_form->validate();
    if (!m_topBar || m_topBar->modelPath().isEmpty()) {
        found << tr("Please select a model.");
    } else {
        // Said before Start, not found out by the trainer after it made the output folder (issue 23, item 8).
        const QString model = m_topBar->modelPath().trimmed();
        if (!looksLikeRepoId(model.toStdString()) && !QFile::exists(QDir(model).filePath(QStringLiteral("config.json"))))
            found << (QFileInfo::exists(model) ? tr("%1 is not a model folder: it has no config.json.").arg(model)
                                               : tr("The model path %1 does not exist.").arg(model));
    }
    if (m_chosenDatasets.isEmpty())
        found << tr("Please choose a dataset.");
    {
        ArgumentSet scratch;
        const QString extra = applyExtraArguments(scratch);
        if (!extra.isEmpty())
            found << extra;
    }
    if (outputDir().isEmpty())
        found << tr("Please provide output dir.");
    if (!isStageSupported(stage()))
        found << tr("Lathe does not train the stage %1 yet.").arg(stage());
    if (!found.isEmpty())
        return found;
    try {
        for (const std::string& p : arguments().validate())
            found << QString::fromStdString(p);
    } catch (const Error& e) {
        found << QString::fromUtf8(e.what());
    }
    return found;
}

bool TrainTab::saveArguments(const QString& path)
{
    try {
        const std::string yaml = arguments().toYaml();
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            file.write(yaml.data(), qint64(yaml.size())) != qint64(yaml.size()))
            fail(path.toStdString(), ": cannot write");
    } catch (const Error& e) {
        showProblem(QString::fromUtf8(e.what()), false);
        return false;
    }
    m_status->setStyleSheet(QString());
    m_status->setText(tr("Arguments have been saved at: %1").arg(QDir::toNativeSeparators(path)));
    return true;
}

void TrainTab::checkOutputDir()
{
    const QString dir = outputDir();
    const QDir run(dir);
    if (dir.isEmpty() || !run.exists() || run.isEmpty() || isRunning()) {
        m_existingRun->setVisible(false);
        return;
    }
    const QString last = QString::fromStdString(lastCheckpoint(dir.toStdString()));
    const bool overwrite = qobject_cast<QCheckBox*>(m_form->editor(QStringLiteral("overwrite_output_dir")))->isChecked();
    QString text = last.isEmpty()
                       ? tr("Output dir already exists and holds no checkpoint: %1.").arg(QDir::toNativeSeparators(dir))
                       : tr("Output dir already exists: %1. Start resumes it from %2.")
                             .arg(QDir::toNativeSeparators(dir), QFileInfo(last).fileName());
    if (overwrite)
        text = tr("Output dir already exists: %1. Start trains from scratch and replaces it (overwrite_output_dir).")
                   .arg(QDir::toNativeSeparators(dir));
    m_existingRunLabel->setText(text);
    m_resume->setEnabled(!last.isEmpty() && QFile::exists(run.filePath(QStringLiteral("training_args.yaml"))));
    m_existingRun->setVisible(true);
}

void TrainTab::resumeExistingRun()
{
    const QString dir = outputDir();
    const QString field = m_outputDir->text();
    if (!loadArgumentsFile(QDir(dir).filePath(QStringLiteral("training_args.yaml"))))
        return;
    // Its own folder, resumed from the last checkpoint (the trainer finds it), not overwritten.
    m_outputDir->setText(field);
    qobject_cast<QCheckBox*>(m_form->editor(QStringLiteral("overwrite_output_dir")))->setChecked(false);
    checkOutputDir();
    m_status->setText(tr("Arguments have been restored.") + QLatin1Char(' ') +
                      tr("Start resumes the run from its last checkpoint."));
}

void TrainTab::overwriteExistingRun()
{
    qobject_cast<QCheckBox*>(m_form->editor(QStringLiteral("overwrite_output_dir")))->setChecked(true);
    checkOutputDir();
}

void TrainTab::startNewRun()
{
    m_outputDir->setText(QStringLiteral("train_") +
                         QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd-HH-mm-ss")));
    qobject_cast<QCheckBox*>(m_form->editor(QStringLiteral("overwrite_output_dir")))->setChecked(false);
    checkOutputDir();
}

bool TrainTab::loadArgumentsFile(const QString& path)
{
    try {
        loadArguments(ArgumentSet::fromYamlFile(path.toStdString()));
    } catch (const Error& e) {
        showProblem(QString::fromUtf8(e.what()), false);
        return false;
    }
    m_status->setStyleSheet(QString());
    const QString note = m_status->text(); // what loadArguments said about the output folder, if anything
    m_status->setText(tr("Arguments have been restored.") +
                      (note.contains(QLatin1String("overwrite_output_dir")) ? QLatin1Char(' ') + note : QString()));
    return true;
}

QString TrainTab::previewCommand()
{
    QString text;
    try {
        const ArgumentSet args = arguments();
        // The command first, where it is seen without scrolling (issue 23, item 10); then the YAML it equals.
        text = QString::fromStdString(args.toCommandLine("lathe train")) + QStringLiteral("\n\n") +
               QString::fromStdString(args.toYaml());
    } catch (const Error& e) {
        showProblem(QString::fromUtf8(e.what()), false);
        return {};
    }
    m_output->setPlainText(text);
    m_output->moveCursor(QTextCursor::Start);
    return text;
}

bool TrainTab::isRunning() const
{
    return m_runner->isRunning();
}

bool TrainTab::start()
{
    if (isRunning()) {
        showProblem(tr("A process is in running, please abort it first."), true);
        return false;
    }
    const QStringList found = problems();
    if (!found.isEmpty()) {
        showProblem(found.join(QLatin1Char('\n')), true);
        return false;
    }
    const ArgumentSet args = arguments();
    m_runOutputDir = outputDir();
    m_output->clear();
    m_charts->clear();
    drawEarlierSteps(args);
    m_progress->setRange(0, 0); // busy until the first step
    m_progress->setFormat(QString());
    m_lastTotalSteps = 0;
    m_lastElapsed = QStringLiteral("0:00:00");
    m_stats->clear();
    m_status->setStyleSheet(QString());
    m_status->setText(tr("Loading model..."));
    m_aborting = false;
    m_runner->start(args);
    setRunning(true);
    Q_EMIT runStarted(m_runOutputDir);
    return true;
}

void TrainTab::drawEarlierSteps(const ArgumentSet& args)
{
    // A run that resumes is drawn from its first step: the records of trainer_log.jsonl up to the checkpoint it
    // continues from (the trainer keeps those and appends).
    if (args.getBool("overwrite_output_dir"))
        return;
    std::string checkpoint = args.getString("resume_from_checkpoint");
    if (checkpoint.empty())
        checkpoint = lastCheckpoint(m_runOutputDir.toStdString());
    const QString name = QFileInfo(QString::fromStdString(checkpoint)).fileName();
    if (!name.startsWith(QLatin1String("checkpoint-")))
        return;
    // The records the trainer keeps on resume (train/trainer_log), drawn as its progress reports were.
    for (const auto& r : trainerLogUpTo((m_runOutputDir + "/trainer_log.jsonl").toStdString(), name.mid(11).toLongLong())) {
        TrainProgress p;
        p.step = r.value("current_steps", std::int64_t(0));
        p.totalSteps = r.value("total_steps", std::int64_t(0));
        p.epoch = r.value("epoch", 0.0);
        if (r.contains("loss") && r["loss"].is_number())
            p.loss = r["loss"].get<double>();
        if (r.contains("eval_loss") && r["eval_loss"].is_number())
            p.evalLoss = r["eval_loss"].get<double>();
        p.learningRate = r.value("lr", 0.0);
        for (auto it = r.begin(); it != r.end(); ++it)
            if (it.key().find('/') != std::string::npos && it.value().is_number())
                p.metrics.emplace_back(it.key(), it.value().get<double>());
        m_charts->addProgress(p);
    }
}

void TrainTab::abort()
{
    if (!isRunning())
        return;
    m_aborting = true;
    m_runner->abort();
    m_status->setText(tr("Aborted, wait for terminating..."));
}

void TrainTab::setRunning(bool running)
{
    m_start->setEnabled(!running);
    m_abort->setEnabled(running);
    for (QWidget* w : std::initializer_list<QWidget*>{m_form, m_stage, m_datasetDir, m_datasetList,
                                                      m_refreshDatasets, m_outputDir, m_load})
        w->setEnabled(!running);
    if (running) {
        m_progress->setVisible(true);
        m_existingRun->setVisible(false);
    } else {
        checkOutputDir();
    }
}

void TrainTab::showProblem(const QString& message, bool dialog)
{
    m_lastError = message;
    m_status->setStyleSheet(QStringLiteral("color: #d93025;"));
    m_status->setText(message);
    if (!dialog)
        return;
    // Window-modal and asynchronous: the event loop (and a run's progress) goes on while it is shown.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Train"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void TrainTab::onProgress(const TrainProgress& p)
{
    m_charts->addProgress(p);
    if (p.totalSteps > 0) {
        m_progress->setRange(0, int(p.totalSteps));
        m_progress->setValue(int(std::min(p.step, p.totalSteps)));
    }
    m_lastTotalSteps = p.totalSteps;
    m_lastElapsed = QString::fromStdString(formatElapsed(p.elapsedSeconds));
    // LLaMA-Board's progress label.
    m_progress->setFormat(tr("Running %1/%2: %3 < %4")
                              .arg(p.step)
                              .arg(p.totalSteps)
                              .arg(QString::fromStdString(formatElapsed(p.elapsedSeconds)))
                              .arg(QString::fromStdString(formatElapsed(p.remainingSeconds))));
    m_stats->setText(tr("%1 tokens/s, peak memory %2")
                         .arg(QString::number(p.tokensPerSecond, 'f', 0))
                         .arg(gib(p.peakMemoryBytes)));
    if (!m_aborting && m_status->text() == tr("Loading model..."))
        m_status->setText(tr("Training..."));
}

void TrainTab::onLogLine(const QString& line)
{
    m_output->appendPlainText(line);
    // The status follows what the run is doing (issue 23, item 7), not only the first finished step.
    if (m_aborting || !isRunning())
        return;
    if (line.contains(QLatin1String("***** Running training *****")) || line.contains(QLatin1String("Resuming training from")))
        m_status->setText(tr("Training..."));
    else if (line.contains(QLatin1String("Downloading ")))
        m_status->setText(tr("Downloading the model..."));
}

void TrainTab::clearFixedProblem()
{
    // A red message about the form goes once the form is right again (issue 23, item 7).
    if (m_lastError.isEmpty() || isRunning() || !problems().isEmpty())
        return;
    m_lastError.clear();
    m_status->setStyleSheet(QString());
    m_status->setText(tr("Ready."));
}

void TrainTab::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange) {
        retranslateUi();
        // Texts composed from the state: worded again in the new language.
        refreshDatasets();
        updateMemoryEstimate();
        if (!m_existingRun->isHidden())
            checkOutputDir();
    }
    QWidget::changeEvent(event);
}

void TrainTab::previewDataset()
{
    QString name = m_chosenDatasets.isEmpty() ? QString() : m_chosenDatasets.front();
    if (QListWidgetItem* item = m_datasetList->currentItem(); name.isEmpty() && item)
        name = item->text();
    if (name.isEmpty()) {
        showProblem(tr("Choose a dataset to preview."), false);
        return;
    }
    const ModelSelection model = modelSelection(m_topBar);
    auto* dialog = new DatasetPreviewDialog(datasetDir(), name, model.modelPath, model.templateName, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

void TrainTab::registerDataset()
{
    auto* dialog = new RegisterDatasetDialog(datasetDir(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &RegisterDatasetDialog::registered, this, [this](const QString& name) {
        refreshDatasets();
        QStringList chosen = m_chosenDatasets;
        if (!chosen.contains(name))
            chosen << name;
        setDatasets(chosen);
    });
    dialog->show();
}

void TrainTab::retranslateUi()
{
    // Labels and hints are LLaMA-Board's (llamaboard_locales.json).
    // The titles and reasons of config/stages.cpp, marked here for translation.
    static const char* const stageTexts[] = {
        QT_TR_NOOP("Supervised Fine-Tuning"), QT_TR_NOOP("Reward Modeling"), QT_TR_NOOP("PPO"),
        QT_TR_NOOP("DPO"), QT_TR_NOOP("KTO"), QT_TR_NOOP("Pre-Training"),
        QT_TR_NOOP("PPO needs a reward model and generation inside the training loop; Lathe does not train it yet.")};
    (void)stageTexts;
    auto* stageModel = static_cast<QStandardItemModel*>(m_stage->model());
    for (int i = 0; i < stageModel->rowCount(); ++i) {
        QStandardItem* item = stageModel->item(i);
        const StageInfo* info = findStage(item->data(Qt::UserRole).toString().toStdString());
        if (!info)
            continue;
        item->setText(tr(info->title.c_str()));
        item->setToolTip(info->available ? QString() : tr(info->unavailableWhy.c_str()));
    }
    m_stageLabel->setText(tr("Stage"));
    m_stage->setToolTip(tr("The stage to perform in training."));
    m_datasetDirLabel->setText(tr("Data dir"));
    m_datasetDir->setToolTip(tr("Path to the data directory."));
    m_datasetLabel->setText(tr("Dataset"));
    m_refreshDatasets->setToolTip(tr("Read dataset_info.json of the data dir again."));
    m_previewDataset->setText(tr("Preview dataset"));
    m_previewDataset->setToolTip(tr("Pages of raw records and the exact training text with the learned part marked."));
    m_registerDataset->setText(tr("Register dataset..."));
    m_registerDataset->setToolTip(tr("Add a data file of the data dir to dataset_info.json."));
    m_preview->setText(tr("Preview command"));
    m_save->setText(tr("Save arguments"));
    m_load->setText(tr("Load arguments"));
    m_start->setText(tr("Start"));
    m_abort->setText(tr("Abort"));
    m_outputDirLabel->setText(tr("Output dir"));
    m_configPathLabel->setText(tr("Config path"));
    m_configPath->setToolTip(tr("Where Save and Load keep the arguments (a bare name is in %1).")
                                 .arg(QDir::toNativeSeparators(configDir())));
    m_extraArgsLabel->setText(tr("Extra arguments"));
    m_extraArgs->setToolTip(tr("Extra arguments passed to the trainer in JSON format."));
    m_resume->setText(tr("Resume"));
    m_resume->setToolTip(tr("Load this run's arguments and continue it from its last checkpoint."));
    m_overwrite->setText(tr("Overwrite"));
    m_overwrite->setToolTip(tr("Keep these arguments and train from scratch into this folder."));
    m_newRun->setText(tr("New run"));
    m_newRun->setToolTip(tr("Use a new output folder."));
    m_outputDir->setToolTip(tr("Directory for saving results."));
    showMemoryEstimate();
}

void TrainTab::updateMemoryEstimate()
{
    // The same estimate the trainer logs once the model is loaded (a test holds them equal), but from
    // config.json alone: cheap enough to redo on every change.
    m_memoryWarning = false;
    if (!m_topBar || m_topBar->modelPath().isEmpty()) {
        m_memoryEstimate.clear();
        showMemoryEstimate();
        return;
    }
    try {
        const MemoryEstimate m = estimateTrainingMemory(arguments());
        const QLocale locale;
        auto size = [&](std::int64_t bytes) { return locale.formattedDataSize(bytes, 2, QLocale::DataSizeTraditionalFormat); };
        m_memoryEstimate = tr("%1 (weights %2, trainable %3, gradients and AdamW %4, activations %5)")
                               .arg(size(m.total()), size(m.weights), size(m.trainable), size(m.optimizer),
                                    size(m.activations));
        if (m.workers > 1)
            m_memoryEstimate += QLatin1Char(' ') + tr("per device, %1 workers").arg(m.workers);
        const std::int64_t available = availableHostBytes();
        const QString device = m_topBar->computeDevice();
        // CPU workers share this machine's memory: all of them count against it.
        if (available > 0 && m.total() * m.workers > available &&
            (device == QLatin1String("cpu") || (device == QLatin1String("auto") && deviceChoices().size() == 1))) {
            m_memoryWarning = true;
            m_memoryEstimate += QLatin1Char(' ') + tr("exceeds the %1 available: lower the batch size or cutoff "
                                                      "length, or keep gradient checkpointing on.")
                                                       .arg(size(available));
        }
    } catch (const std::exception& e) {
        m_memoryEstimate = tr("not available (%1)").arg(QString::fromUtf8(e.what()));
    }
    showMemoryEstimate();
}

void TrainTab::showMemoryEstimate()
{
    m_memory->setText(m_memoryEstimate.isEmpty() ? tr("Memory estimate: choose a model to see it.")
                                                 : tr("Memory estimate: %1").arg(m_memoryEstimate));
    m_memory->setStyleSheet(m_memoryWarning ? QStringLiteral("color: #c0392b;") : QString());
}

} // namespace lathe
