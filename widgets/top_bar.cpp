// The bar above the tabs (see top_bar.h).
#include "top_bar.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QComboBox>
#include <QSpinBox>
#include <QCompleter>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QAbstractItemView>
#include <QKeyEvent>
#include <QLineEdit>
#include <QMouseEvent>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardItemModel>
#include <QStyle>
#include <QToolButton>

#include "checkpoint_lister.h"
#include "language_switcher.h"
#include "hub/hub.h"
#include "hub_download.h"
#include "template/template_detect.h"
#include "train/trainer.h"
#include "model_catalog.h"
#include "runtime/env_info.h"

namespace lathe {

namespace {

// "Custom" is LLaMA-Board's entry for a model that is not in the catalogue; like the catalogue names it is
// an identifier (it names the saves/ folder), so it is not translated.
const QString customModel = QStringLiteral("Custom");

QLabel* fieldLabel(QWidget* buddy, QWidget* parent)
{
    auto* label = new QLabel(parent);
    label->setBuddy(buddy);
    return label;
}

} // namespace

TopBar::TopBar(QWidget* parent)
    : QWidget(parent), m_savesRoot(QDir::current().filePath(QStringLiteral("saves")))
{
    const ModelCatalog& catalog = ModelCatalog::builtIn();

    // Languages are listed by their own names (an endonym stays the same whatever the interface language).
    m_language = new QComboBox(this);
    m_language->addItem(QStringLiteral("English"), QStringLiteral("en"));
    m_language->addItem(QStringLiteral("中文"), QStringLiteral("zh"));

    m_modelName = new QComboBox(this);
    m_modelName->setEditable(true);
    m_modelName->setInsertPolicy(QComboBox::NoInsert);
    m_modelName->setMaxVisibleItems(20);
    m_modelName->addItems(catalog.modelNames());
    m_modelName->addItem(customModel);
    m_modelName->setCurrentIndex(-1);
    m_modelName->completer()->setFilterMode(Qt::MatchContains);
    m_modelName->completer()->setCaseSensitivity(Qt::CaseInsensitive);
    m_modelName->completer()->setCompletionMode(QCompleter::PopupCompletion);

    m_modelPath = new QLineEdit(this);
    m_modelPath->setClearButtonEnabled(true);
    m_modelSummary = new QLabel(this);
    m_modelSummary->setForegroundRole(QPalette::PlaceholderText);
    m_modelSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_templateNote = new QLabel(this);
    m_templateNote->setWordWrap(true);
    m_download = new QPushButton(this);
    m_download->setVisible(false);
    m_cancelDownload = new QPushButton(this);
    m_cancelDownload->setVisible(false);
    m_downloadProgress = new QProgressBar(this);
    m_downloadProgress->setVisible(false);
    m_downloadProgress->setTextVisible(true);
    m_hubDownload = new HubDownload(this);
    m_browse = new QPushButton(this);
    m_browse->setIcon(style()->standardIcon(QStyle::SP_DirOpenIcon));

    m_finetuningType = new QComboBox(this);
    m_finetuningType->addItems(finetuningTypes());
    m_finetuningType->setCurrentText(QStringLiteral("lora"));

    m_checkpoint = new QComboBox(this);
    m_checkpoint->setEditable(true);
    m_checkpoint->setInsertPolicy(QComboBox::NoInsert);
    m_checkpoint->setModel(new QStandardItemModel(m_checkpoint));
    // For LoRA the list ticks adapters on and off and stays open (filtered here), as LLaMA-Board's
    // multiselect dropdown does; for full/freeze picking one item replaces the text.
    m_checkpoint->view()->viewport()->installEventFilter(this);
    m_checkpoint->view()->installEventFilter(this);
    m_refreshCheckpoints = new QToolButton(this);
    m_refreshCheckpoints->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));

    m_template = new QComboBox(this);
    m_template->addItems(catalog.templates());
    m_template->setCurrentText(QStringLiteral("default"));

    m_hub = new QComboBox(this);
    m_hub->addItems(ModelCatalog::hubs());

    // LLaMA-Board's choices; "none" leaves the model's own config.json rope_scaling as it is.
    m_ropeScaling = new QComboBox(this);
    m_ropeScaling->addItems({QStringLiteral("none"), QStringLiteral("linear"), QStringLiteral("dynamic"),
                             QStringLiteral("yarn"), QStringLiteral("llama3")});

    m_device = new QComboBox(this);
    m_device->addItem(QStringLiteral("auto"), QStringLiteral("auto"));
    for (const std::string& d : deviceChoices())
        m_device->addItem(QString::fromStdString(d), QString::fromStdString(d));

    // Several devices train as one data-parallel job (docs/distributed.md): one worker per GPU/NPU, or CPU
    // processes sharing the cores.
    m_workers = new QSpinBox(this);
    m_workers->setRange(0, 64);
    m_workers->setValue(0);

    m_languageLabel = fieldLabel(m_language, this);
    m_modelNameLabel = fieldLabel(m_modelName, this);
    m_modelPathLabel = fieldLabel(m_modelPath, this);
    m_finetuningTypeLabel = fieldLabel(m_finetuningType, this);
    m_checkpointLabel = fieldLabel(m_checkpoint, this);
    m_templateLabel = fieldLabel(m_template, this);
    m_hubLabel = fieldLabel(m_hub, this);
    m_ropeScalingLabel = fieldLabel(m_ropeScaling, this);
    m_deviceLabel = fieldLabel(m_device, this);

    // Labels above their fields, as in LLaMA-Board; the columns keep its width ratios
    // (language 1 : model name 2 : model path 2 : hub 2, and method 1 : checkpoint 4 : template, RoPE scaling,
    // device 1 each).
    auto* pathRow = new QHBoxLayout;
    pathRow->setSpacing(4);
    pathRow->addWidget(m_modelPath, 1);
    pathRow->addWidget(m_browse);
    pathRow->addWidget(m_download);
    auto* checkpointRow = new QHBoxLayout;
    checkpointRow->setSpacing(4);
    checkpointRow->addWidget(m_checkpoint, 1);
    checkpointRow->addWidget(m_refreshCheckpoints);

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(12);
    grid->setVerticalSpacing(2);
    grid->addWidget(m_languageLabel, 0, 0);
    grid->addWidget(m_language, 1, 0);
    grid->addWidget(m_modelNameLabel, 0, 1, 1, 2);
    grid->addWidget(m_modelName, 1, 1, 1, 2);
    grid->addWidget(m_modelPathLabel, 0, 3, 1, 2);
    grid->addLayout(pathRow, 1, 3, 1, 2);
    grid->addWidget(m_hubLabel, 0, 5);
    grid->addWidget(m_hub, 1, 5);
    auto* summaryRow = new QHBoxLayout;
    summaryRow->setSpacing(4);
    summaryRow->addWidget(m_modelSummary, 1);
    summaryRow->addWidget(m_downloadProgress, 1);
    summaryRow->addWidget(m_cancelDownload);
    grid->addLayout(summaryRow, 2, 3, 1, 3);
    grid->setRowMinimumHeight(2, 8);
    grid->addWidget(m_finetuningTypeLabel, 3, 0);
    grid->addWidget(m_finetuningType, 4, 0);
    grid->addWidget(m_checkpointLabel, 3, 1, 1, 2);
    grid->addLayout(checkpointRow, 4, 1, 1, 2);
    grid->addWidget(m_templateLabel, 3, 3);
    grid->addWidget(m_template, 4, 3);
    grid->addWidget(m_templateNote, 5, 3, 1, 3);
    grid->addWidget(m_ropeScalingLabel, 3, 4);
    grid->addWidget(m_ropeScaling, 4, 4);
    grid->addWidget(m_deviceLabel, 3, 5);
    auto* deviceRow = new QHBoxLayout;
    deviceRow->setContentsMargins(0, 0, 0, 0);
    deviceRow->addWidget(m_device, 3);
    deviceRow->addWidget(m_workers, 2);
    grid->addLayout(deviceRow, 4, 5);
    for (int column = 0; column < 6; ++column)
        grid->setColumnStretch(column, 1);

    connect(m_language, &QComboBox::currentIndexChanged, this,
            [this](int index) { Q_EMIT languageRequested(m_language->itemData(index).toString()); });
    connect(m_modelName, &QComboBox::currentTextChanged, this, [this](const QString& name) {
        applyCatalogModel(name);
        refreshCheckpoints();
    });
    connect(m_finetuningType, &QComboBox::currentTextChanged, this, &TopBar::refreshCheckpoints);
    connect(m_checkpoint, &QComboBox::editTextChanged, this, &TopBar::syncCheckpointChecks);
    connect(m_hub, &QComboBox::currentTextChanged, this, [this](const QString& hub) {
        // As LLaMA-Board: the hub choice is the environment's USE_MODELSCOPE_HUB / USE_OPENMIND_HUB, which every
        // download (and LLaMA-Factory's dataset choice of ms_hub_url / om_hub_url) reads.
        qputenv("USE_MODELSCOPE_HUB", hub == QLatin1String("modelscope") ? "1" : "0");
        qputenv("USE_OPENMIND_HUB", hub == QLatin1String("openmind") ? "1" : "0");
        applyCatalogModel(modelName());
        refreshModelPath();
    });
    connect(m_download, &QPushButton::clicked, this, [this] {
        m_download->setEnabled(false);
        m_downloadProgress->setRange(0, 0);
        m_downloadProgress->setFormat(tr("Connecting..."));
        m_downloadProgress->setVisible(true);
        m_cancelDownload->setVisible(true);
        m_modelSummary->setVisible(false);
        m_hubDownload->start(modelPath());
    });
    connect(m_cancelDownload, &QPushButton::clicked, m_hubDownload, &HubDownload::cancel);
    connect(m_hubDownload, &HubDownload::progress, this,
            [this](qint64 done, qint64 total, const QString& file, double speed) {
                const double mb = 1024.0 * 1024.0;
                m_downloadProgress->setRange(0, 1000);
                m_downloadProgress->setValue(total > 0 ? int(1000.0 * double(done) / double(total)) : 0);
                const qint64 left = speed > 0 ? qint64(double(total - done) / speed) : 0;
                m_downloadProgress->setFormat(tr("%1  %2 / %3 MB  %4 MB/s  %5 left")
                                                  .arg(file)
                                                  .arg(double(done) / mb, 0, 'f', 1)
                                                  .arg(double(total) / mb, 0, 'f', 1)
                                                  .arg(speed / mb, 0, 'f', 1)
                                                  .arg(QString::fromStdString(formatElapsed(double(left)))));
            });
    connect(m_hubDownload, &HubDownload::finished, this, [this](const QString&, const QString&) {
        m_downloadProgress->setVisible(false);
        m_cancelDownload->setVisible(false);
        m_modelSummary->setVisible(true);
        m_download->setEnabled(true);
        refreshModelPath();
    });
    connect(m_hubDownload, &HubDownload::failed, this, [this](const QString&, const QString& message) {
        m_downloadProgress->setVisible(false);
        m_cancelDownload->setVisible(false);
        m_modelSummary->setVisible(true);
        m_download->setEnabled(true);
        refreshModelPath();
        m_modelSummary->setText(message.contains(QLatin1String("cancelled"))
                                    ? tr("Download cancelled; the part already fetched is kept and the next download resumes it.")
                                    : tr("Download failed: %1").arg(message));
    });
    connect(m_refreshCheckpoints, &QToolButton::clicked, this, &TopBar::refreshCheckpoints);
    connect(m_browse, &QPushButton::clicked, this, &TopBar::browseModelFolder);
    connect(m_modelPath, &QLineEdit::textChanged, this, &TopBar::refreshModelPath);
    connect(m_template, &QComboBox::currentTextChanged, this, [this] {
        if (!m_settingTemplate)
            m_templateSource.clear(); // the user's choice
        updateTemplateNote();
    });

    retranslateUi();
}

void TopBar::refreshModelPath()
{
    detectTemplate();
    const QString path = modelPath();
    const std::string text = path.trimmed().toStdString();
    if (!looksLikeRepoId(text)) {
        m_download->setVisible(false);
        m_modelSummary->setText(describeModelFolder(path.trimmed()));
        return;
    }
    // A hub id: the cached snapshot's summary, or an offer to download it.
    const HubSettings settings = HubSettings::fromEnvironment();
    const auto snapshot = cachedSnapshot(settings, text, "main");
    m_download->setVisible(!snapshot && !m_hubDownload->isRunning());
    if (snapshot) {
        m_modelSummary->setText(tr("From the %1 cache: %2").arg(hubName(), describeModelFolder(QString::fromStdString(snapshot->string()))));
        return;
    }
    const QString cache = QString::fromStdString(
        (settings.hub == HubKind::ModelScope ? settings.msCacheDir : settings.hub == HubKind::Modelers ? settings.omCacheDir : settings.cacheDir)
            .string());
    m_modelSummary->setText(settings.offline ? tr("%1 is not in the cache %2 and HF_HUB_OFFLINE is set.").arg(path.trimmed(), cache)
                                             : tr("Not downloaded yet: Download (or Start) fetches it into %1.").arg(cache));
}

void TopBar::detectTemplate()
{
    // The model folder (or the cached snapshot of a hub id) and the chat template its tokenizer speaks.
    const std::string text = modelPath().trimmed().toStdString();
    std::string dir = text;
    if (looksLikeRepoId(text)) {
        const auto snapshot = cachedSnapshot(HubSettings::fromEnvironment(), text, "main");
        dir = snapshot ? snapshot->string() : std::string();
    }
    const auto guess = detectChatTemplate(dir);
    m_detectedTemplate = guess ? QString::fromStdString(guess->name) : QString();
    m_detectedFrom = guess ? QString::fromStdString(guess->source) : QString();
    // As LLaMA-Board: the catalogue first; where it says "default" (base models, typed paths), the folder's own.
    const bool catalogueChose = m_templateSource == QLatin1String("catalogue") && chatTemplate() != QLatin1String("default");
    const bool userChose = m_templateSource.isEmpty() && chatTemplate() != QLatin1String("default");
    if (guess && !catalogueChose && !userChose && m_template->findText(m_detectedTemplate) >= 0) {
        m_settingTemplate = true;
        m_template->setCurrentText(m_detectedTemplate);
        m_settingTemplate = false;
        m_templateSource = m_detectedFrom;
    }
    updateTemplateNote();
}

void TopBar::updateTemplateNote()
{
    const QString chosen = chatTemplate();
    QString text;
    bool warn = false;
    if (m_detectedTemplate == QLatin1String("auto") && chosen != QLatin1String("auto")) {
        text = tr("The model's own chat template (%1) matches no registered template; auto builds the template "
                  "from it, %2 prompts it differently.")
                   .arg(m_detectedFrom, chosen);
        warn = true;
    } else if (m_detectedTemplate == QLatin1String("auto")) {
        text = tr("Template built from the model's %1 (auto).").arg(m_detectedFrom);
    } else if (!m_detectedTemplate.isEmpty() &&
               templateFamily(chosen.toStdString()) != templateFamily(m_detectedTemplate.toStdString())) {
        text = tr("The model's own chat template (%1) is %2; %3 prompts it differently.")
                   .arg(m_detectedFrom, m_detectedTemplate, chosen);
        warn = true;
    } else if (m_templateSource == QLatin1String("catalogue")) {
        text = tr("Template from the model list.");
    } else if (!m_templateSource.isEmpty()) {
        text = tr("Template detected from the model's %1.").arg(m_templateSource);
    }
    m_templateNote->setText(text);
    m_templateNote->setStyleSheet(warn ? QStringLiteral("color: #b36b00;") : QString());
    m_templateNote->setVisible(!text.isEmpty());
}

QString TopBar::describeModelFolder(const QString& dir)
{
    if (dir.isEmpty())
        return {};
    const QFileInfo folder(dir);
    if (!folder.exists())
        return looksLikeRepoId(dir.toStdString()) ? QString() // a hub id: refreshModelPath describes it
                                                  : tr("%1 does not exist.").arg(dir);
    QFile configFile(QDir(dir).filePath(QStringLiteral("config.json")));
    if (!folder.isDir() || !configFile.open(QIODevice::ReadOnly))
        return tr("Not a model folder: no config.json in %1.").arg(dir);
    const QJsonObject config = QJsonDocument::fromJson(configFile.readAll()).object();
    if (config.isEmpty())
        return tr("%1 is not valid JSON.").arg(configFile.fileName());
    const QString arch = config.value("architectures").toArray().first().toString(config.value("model_type").toString());
    const QString dtype = config.value("torch_dtype").toString(QStringLiteral("float32"));
    qint64 bytes = 0;
    for (const QFileInfo& f : QDir(dir).entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files))
        bytes += f.size();
    if (bytes == 0)
        return tr("%1, but no .safetensors weights in %2.").arg(arch, dir);
    const int width = dtype == QLatin1String("float32") ? 4 : 2;
    const double params = double(bytes) / width;
    const QString count = params >= 1e9 ? QString::number(params / 1e9, 'f', 2) + QStringLiteral("B")
                                        : QString::number(params / 1e6, 'f', 0) + QStringLiteral("M");
    return tr("%1 · %2 parameters · %3 · %4 GB on disk · context %5")
        .arg(arch, count, dtype)
        .arg(double(bytes) / 1e9, 0, 'f', 2)
        .arg(config.value("max_position_embeddings").toInt());
}

QStringList TopBar::finetuningTypes()
{
    return {QStringLiteral("full"), QStringLiteral("freeze"), QStringLiteral("lora")};
}

QString TopBar::language() const
{
    return m_language->currentData().toString();
}

void TopBar::setLanguage(const QString& code)
{
    const int index = m_language->findData(code);
    if (index < 0)
        return;
    const QSignalBlocker blocker(m_language);
    m_language->setCurrentIndex(index);
}

QString TopBar::modelName() const
{
    return m_modelName->currentText().trimmed();
}

QString TopBar::modelPath() const
{
    return m_modelPath->text().trimmed();
}

QString TopBar::finetuningType() const
{
    return m_finetuningType->currentText();
}

QString TopBar::checkpointPath() const
{
    return m_checkpoint->currentText().trimmed();
}

QStringList TopBar::checkpoints() const
{
    QStringList out;
    for (const QString& part : checkpointPath().split(QLatin1Char(','), Qt::SkipEmptyParts))
        if (!part.trimmed().isEmpty())
            out << part.trimmed();
    return out;
}

void TopBar::setCheckpoints(const QStringList& checkpoints)
{
    m_checkpoint->setEditText(checkpoints.join(QLatin1Char(',')));
}

QString TopBar::chatTemplate() const
{
    return m_template->currentText();
}

QString TopBar::hubName() const
{
    return m_hub->currentText();
}

QString TopBar::ropeScaling() const
{
    return m_ropeScaling->currentIndex() <= 0 ? QString() : m_ropeScaling->currentText();
}

QString TopBar::computeDevice() const
{
    return m_device->currentData().toString();
}

int TopBar::workers() const
{
    return m_workers->value();
}

bool TopBar::multiSelect() const
{
    return finetuningType() == QLatin1String("lora");
}

void TopBar::syncCheckpointChecks()
{
    if (m_syncingChecks)
        return;
    auto* model = static_cast<QStandardItemModel*>(m_checkpoint->model());
    const QStringList chosen = checkpoints();
    for (int row = 0; row < model->rowCount(); ++row) {
        QStandardItem* item = model->item(row);
        if (multiSelect())
            item->setCheckState(chosen.contains(item->text()) ? Qt::Checked : Qt::Unchecked);
        else
            item->setData(QVariant(), Qt::CheckStateRole);
    }
}

void TopBar::toggleCheckpoint(int row)
{
    auto* model = static_cast<QStandardItemModel*>(m_checkpoint->model());
    QStandardItem* item = model->item(row);
    if (!item)
        return;
    // The ticked ones in the order they were ticked; typed paths that are not listed are kept in front.
    QStringList chosen = checkpoints();
    if (chosen.contains(item->text()))
        chosen.removeAll(item->text());
    else
        chosen << item->text();
    setCheckpoints(chosen);
}

bool TopBar::eventFilter(QObject* watched, QEvent* event)
{
    QAbstractItemView* view = m_checkpoint->view();
    if (multiSelect() && (watched == view->viewport() || watched == view)) {
        if (event->type() == QEvent::MouseButtonRelease && watched == view->viewport()) {
            const QModelIndex index = view->indexAt(static_cast<QMouseEvent*>(event)->position().toPoint());
            if (index.isValid())
                toggleCheckpoint(index.row());
            return true; // the list stays open for the next tick
        }
        if (event->type() == QEvent::MouseButtonPress || event->type() == QEvent::MouseButtonDblClick)
            return watched == view->viewport();
        if (event->type() == QEvent::KeyPress && watched == view) {
            const int key = static_cast<QKeyEvent*>(event)->key();
            if (key == Qt::Key_Space || key == Qt::Key_Return || key == Qt::Key_Enter) {
                if (view->currentIndex().isValid())
                    toggleCheckpoint(view->currentIndex().row());
                if (key == Qt::Key_Space)
                    return true;
                m_checkpoint->hidePopup();
                return true;
            }
        }
    }
    return QWidget::eventFilter(watched, event);
}

void TopBar::setSavesRoot(const QString& dir)
{
    m_savesRoot = dir;
    refreshCheckpoints();
}

void TopBar::refreshCheckpoints()
{
    const QStringList current = checkpoints();
    const QStringList found = CheckpointLister::list(m_savesRoot, modelName(), finetuningType());
    // Kept: the chosen checkpoints still listed (the model or method may have changed) and typed absolute
    // paths; for full/freeze only one.
    QStringList kept;
    for (const QString& c : current)
        if (found.contains(c) || QDir::isAbsolutePath(c))
            kept << c;
    if (!multiSelect() && kept.size() > 1)
        kept = kept.mid(kept.size() - 1);
    {
        const QSignalBlocker blocker(m_checkpoint);
        m_checkpoint->clear();
        m_checkpoint->addItems(found);
        m_checkpoint->setCurrentIndex(kept.size() == 1 ? found.indexOf(kept.first()) : -1);
        m_checkpoint->setEditText(kept.join(QLatin1Char(',')));
    }
    syncCheckpointChecks();
    m_checkpoint->lineEdit()->setPlaceholderText(
        multiSelect() ? tr("None (tick several LoRA checkpoints to stack)")
                      : tr("None: start from the base model"));
    // retranslateUi() words the tooltip; the folder it names changes with the model and method.
    m_refreshCheckpoints->setToolTip(tr("Look for checkpoints again in %1")
                                         .arg(QDir::toNativeSeparators(CheckpointLister::saveDir(
                                             m_savesRoot, modelName(), finetuningType()))));
}

void TopBar::browseModelFolder()
{
    QString start = modelPath();
    if (start.isEmpty() || !QFileInfo(start).isDir())
        start = QDir::homePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a model folder"), start);
    if (dir.isEmpty())
        return;
    m_modelPath->setText(QDir::toNativeSeparators(dir));
    if (modelName().isEmpty())
        m_modelName->setCurrentText(customModel);
}

void TopBar::applyCatalogModel(const QString& name)
{
    // Like LLaMA-Board's get_model_info: a catalogue name fills in its hub id and default template;
    // "Custom" and names the user is still typing leave both as they are.
    const ModelCatalog& catalog = ModelCatalog::builtIn();
    if (!catalog.contains(name))
        return;
    {
        const QSignalBlocker pathBlocker(m_modelPath);
        m_modelPath->setText(catalog.hubPath(name, hubName()));
    }
    m_settingTemplate = true;
    m_template->setCurrentText(catalog.defaultTemplate(name));
    m_settingTemplate = false;
    m_templateSource = QStringLiteral("catalogue");
    refreshModelPath(); // the folder's own template may say more (a base model's catalogue entry is "default")
}

void TopBar::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void TopBar::retranslateUi()
{
    // Labels and hints are LLaMA-Board's (llamaboard_locales.json).
    m_languageLabel->setText(tr("Language"));
    m_modelNameLabel->setText(tr("Model name"));
    m_modelName->setToolTip(tr("Input the initial name to search for the model."));
    m_modelName->lineEdit()->setPlaceholderText(tr("Choose or type a model name"));
    m_modelPathLabel->setText(tr("Model path"));
    m_modelPath->setToolTip(tr("Path to pretrained model or model identifier from Hugging Face."));
    m_modelPath->setPlaceholderText(tr("Hugging Face id or local folder"));
    m_browse->setText(tr("Browse..."));
    m_download->setText(tr("Download"));
    m_download->setToolTip(tr("Fetch this hub model into the local cache (Hugging Face, ModelScope), where Python tools "
                              "find it too; an interrupted download resumes."));
    m_cancelDownload->setText(tr("Cancel"));
    m_browse->setToolTip(tr("Choose a model folder on this computer."));
    m_finetuningTypeLabel->setText(tr("Finetuning method"));
    m_checkpointLabel->setText(tr("Checkpoint path"));
    m_templateLabel->setText(tr("Chat template"));
    m_template->setToolTip(tr("The chat template used in constructing prompts."));
    m_hubLabel->setText(tr("Hub name"));
    m_hub->setToolTip(tr("Choose the model download source."));
    m_ropeScalingLabel->setText(tr("RoPE scaling"));
    m_ropeScaling->setToolTip(tr("RoPE scaling method to use."));
    m_deviceLabel->setText(tr("Device and workers"));
    m_workers->setSpecialValueText(tr("auto"));
    m_workers->setSuffix(tr(" workers"));
    m_workers->setToolTip(tr("Training workers (nproc_per_node): one per GPU or NPU, or several CPU processes that "
                             "share the cores. They train as one job: the batch size is per worker, the loss is "
                             "their mean. auto: one per visible GPU or NPU, one on the CPU."));
    m_device->setToolTip(tr("Where training, evaluation and chat compute: auto picks CUDA, then Ascend NPU, then the CPU."));

    refreshCheckpoints();
}

} // namespace lathe
