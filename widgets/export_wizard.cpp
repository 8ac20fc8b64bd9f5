// The Export wizard (see export_wizard.h).
#include "export_wizard.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QVBoxLayout>

#include "export_runner.h"

namespace lathe {

namespace {

QLabel* errorLabel(QWidget* parent)
{
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setStyleSheet(QStringLiteral("color: #c0392b;"));
    label->hide();
    return label;
}

void showError(QLabel* label, const QString& text)
{
    label->setText(text);
    label->setVisible(!text.isEmpty());
}

QPlainTextEdit* readOnlyText(QWidget* parent)
{
    auto* edit = new QPlainTextEdit(parent);
    edit->setReadOnly(true);
    edit->setLineWrapMode(QPlainTextEdit::NoWrap);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    edit->setFont(mono);
    return edit;
}

QStringList adapterList(const QString& text)
{
    QStringList out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!part.trimmed().isEmpty())
            out << part.trimmed();
    }
    return out;
}

} // namespace

ExportWizard::ExportWizard(const ModelSelection& selection, QWidget* parent)
    : QWizard(parent), m_runner(new ExportRunner(this))
{
    setWizardStyle(QWizard::ClassicStyle);
    setOption(QWizard::NoBackButtonOnLastPage);
    setOption(QWizard::NoCancelButtonOnLastPage);

    // Source.
    m_sourcePage = new ExportWizardPage(this);
    m_modelLabel = new QLabel(m_sourcePage);
    m_model = new QLineEdit(selection.modelPath, m_sourcePage);
    m_adaptersLabel = new QLabel(m_sourcePage);
    m_adapters = new QLineEdit(selection.adapters.join(QStringLiteral(",")), m_sourcePage);
    m_templateLabel = new QLabel(m_sourcePage);
    m_template = new QLineEdit(selection.templateName, m_sourcePage);
    m_templateNote = new QLabel(m_sourcePage);
    m_templateNote->setWordWrap(true);
    m_templateNote->setObjectName(QStringLiteral("templateNote"));
    m_sourceError = errorLabel(m_sourcePage);
    auto* sourceForm = new QFormLayout(m_sourcePage);
    sourceForm->addRow(m_modelLabel, m_model);
    sourceForm->addRow(m_adaptersLabel, m_adapters);
    sourceForm->addRow(m_templateLabel, m_template);
    sourceForm->addRow(m_templateNote);
    sourceForm->addRow(m_sourceError);
    m_sourcePage->complete = [this] { return !m_model->text().trimmed().isEmpty(); };
    m_sourcePage->validate = [this] {
        const QString model = m_model->text().trimmed();
        if (!QFileInfo(QDir(model).filePath(QStringLiteral("config.json"))).exists()) {
            showError(m_sourceError, tr("Model not found.") + QStringLiteral(" (") + model + QStringLiteral(")"));
            return false;
        }
        for (const QString& adapter : adapterList(m_adapters->text())) {
            if (!QFileInfo(adapter).isDir()) {
                showError(m_sourceError, tr("Adapter not found: %1").arg(adapter));
                return false;
            }
        }
        showError(m_sourceError, {});
        return true;
    };
    connect(m_model, &QLineEdit::textChanged, m_sourcePage, &ExportWizardPage::refresh);
    connect(m_model, &QLineEdit::editingFinished, this, &ExportWizard::updateTemplateNote);
    connect(m_template, &QLineEdit::editingFinished, this, &ExportWizard::updateTemplateNote);
    setPage(SourcePage, m_sourcePage);

    // Format.
    m_formatPage = new ExportWizardPage(this);
    m_hf = new QRadioButton(m_formatPage);
    m_gguf = new QRadioButton(m_formatPage);
    m_lora = new QRadioButton(m_formatPage);
    auto* formats = new QButtonGroup(m_formatPage);
    formats->addButton(m_hf);
    formats->addButton(m_gguf);
    formats->addButton(m_lora);
    m_hf->setChecked(true);
    m_shardSizeLabel = new QLabel(m_formatPage);
    m_shardSize = new QDoubleSpinBox(m_formatPage);
    m_shardSize->setRange(0.01, 100);
    m_shardSize->setDecimals(2);
    m_shardSize->setValue(5);
    m_shardSize->setSuffix(QStringLiteral(" GB"));
    m_dtypeLabel = new QLabel(m_formatPage);
    m_dtype = new QComboBox(m_formatPage);
    m_dtype->addItems({QStringLiteral("auto"), QStringLiteral("float16"), QStringLiteral("bfloat16"),
                       QStringLiteral("float32")});
    m_deviceLabel = new QLabel(m_formatPage);
    m_device = new QComboBox(m_formatPage);
    m_device->addItems({QStringLiteral("cpu"), QStringLiteral("auto")});
    m_quantizationLabel = new QLabel(m_formatPage);
    m_quantization = new QComboBox(m_formatPage);
    for (const auto& type : exportQuantizationTypes())
        m_quantization->addItem(QString::fromStdString(type));
    m_quantization->setCurrentText(QStringLiteral("q8_0"));
    m_preTokenizerLabel = new QLabel(m_formatPage);
    m_preTokenizer = new QComboBox(m_formatPage);
    m_preTokenizer->setEditable(true);
    m_preTokenizer->addItems({QString(), QStringLiteral("qwen2"), QStringLiteral("llama-bpe")});
    m_formatError = errorLabel(m_formatPage);
    auto* formatLayout = new QVBoxLayout(m_formatPage);
    formatLayout->addWidget(m_hf);
    auto* hfForm = new QFormLayout;
    hfForm->setContentsMargins(24, 0, 0, 8);
    hfForm->addRow(m_shardSizeLabel, m_shardSize);
    hfForm->addRow(m_dtypeLabel, m_dtype);
    hfForm->addRow(m_deviceLabel, m_device);
    formatLayout->addLayout(hfForm);
    formatLayout->addWidget(m_gguf);
    formatLayout->addWidget(m_lora);
    auto* ggufForm = new QFormLayout;
    ggufForm->setContentsMargins(24, 0, 0, 8);
    ggufForm->addRow(m_quantizationLabel, m_quantization);
    ggufForm->addRow(m_preTokenizerLabel, m_preTokenizer);
    formatLayout->addLayout(ggufForm);
    formatLayout->addWidget(m_formatError);
    formatLayout->addStretch(1);
    m_formatPage->initialize = [this] { updateFormatControls(); };
    m_formatPage->validate = [this] {
        const int adapters = int(adapterList(m_adapters->text()).size());
        const QString q = m_quantization->currentText();
        if (m_lora->isChecked() && adapters != 1) {
            showError(m_formatError, tr("A LoRA-only GGUF needs exactly one adapter (checkpoint)."));
            return false;
        }
        if (m_lora->isChecked() && !QStringList{"f32", "f16", "bf16", "q8_0"}.contains(q)) {
            showError(m_formatError, tr("A LoRA adapter GGUF is written as f32, f16, bf16 or q8_0."));
            return false;
        }
        showError(m_formatError, {});
        return true;
    };
    for (QRadioButton* b : {m_hf, m_gguf, m_lora})
        connect(b, &QRadioButton::toggled, this, &ExportWizard::updateFormatControls);
    setPage(FormatPage, m_formatPage);

    // Destination.
    m_destinationPage = new ExportWizardPage(this);
    m_dirLabel = new QLabel(m_destinationPage);
    m_dir = new QLineEdit(m_destinationPage);
    m_browse = new QPushButton(m_destinationPage);
    m_nonEmpty = new QLabel(m_destinationPage);
    m_nonEmpty->setWordWrap(true);
    m_nonEmpty->setStyleSheet(QStringLiteral("color: #b9770e;"));
    m_nonEmpty->hide();
    m_overwrite = new QCheckBox(m_destinationPage);
    m_overwrite->hide();
    auto* dirRow = new QHBoxLayout;
    dirRow->addWidget(m_dir, 1);
    dirRow->addWidget(m_browse);
    auto* destLayout = new QVBoxLayout(m_destinationPage);
    destLayout->addWidget(m_dirLabel);
    destLayout->addLayout(dirRow);
    destLayout->addWidget(m_nonEmpty);
    destLayout->addWidget(m_overwrite);
    destLayout->addStretch(1);
    m_destinationPage->setCommitPage(true);
    m_destinationPage->initialize = [this] { updateDestination(); };
    m_destinationPage->complete = [this] {
        const QString dir = m_dir->text().trimmed();
        return !dir.isEmpty() && (!exportDirIsNonEmpty(dir.toStdString()) || m_overwrite->isChecked());
    };
    m_destinationPage->validate = m_destinationPage->complete; // next() is refused too, not only its button
    connect(m_dir, &QLineEdit::textChanged, this, &ExportWizard::updateDestination);
    connect(m_overwrite, &QCheckBox::toggled, m_destinationPage, &ExportWizardPage::refresh);
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export dir"), m_dir->text());
        if (!dir.isEmpty())
            m_dir->setText(dir);
    });
    setPage(DestinationPage, m_destinationPage);

    // Run.
    m_runPage = new ExportWizardPage(this);
    m_progress = new QProgressBar(m_runPage);
    m_progress->setRange(0, 0);
    m_runStatus = new QLabel(m_runPage);
    m_runStatus->setWordWrap(true);
    m_cancelExport = new QPushButton(m_runPage);
    auto* runLayout = new QVBoxLayout(m_runPage);
    runLayout->addWidget(m_progress);
    runLayout->addWidget(m_runStatus);
    runLayout->addWidget(m_cancelExport, 0, Qt::AlignLeft);
    m_retry = new QPushButton(m_runPage);
    m_retry->setVisible(false);
    runLayout->addWidget(m_retry, 0, Qt::AlignLeft);
    // A failed export is not a dead end (issue 23, item 8): the destination page is a commit page, so there is no
    // Back; this goes there again with every setting kept.
    connect(m_retry, &QPushButton::clicked, this, [this] {
        m_state = State::Idle;
        m_retry->setVisible(false);
        m_runStatus->setStyleSheet(QString());
        m_runStatus->clear();
        m_cancelExport->setEnabled(true);
        restart();
        while (currentId() != DestinationPage) {
            const int before = currentId();
            next();
            if (currentId() == before)
                break; // a page refuses (its settings changed meanwhile): the user is shown why there
        }
    });
    runLayout->addStretch(1);
    m_runPage->initialize = [this] { startExport(); };
    m_runPage->complete = [this] { return m_state == State::Done; };
    connect(m_cancelExport, &QPushButton::clicked, m_runner, &ExportRunner::cancel);
    connect(m_runner, &ExportRunner::progress, this, [this](qint64 done, qint64 total, const QString& what) {
        m_progress->setRange(0, int(std::max<qint64>(total, 1)));
        m_progress->setValue(int(std::min(done, total)));
        m_runStatus->setText(tr("Writing %1 (%2 of %3)").arg(what).arg(done + 1).arg(total));
    });
    connect(m_runner, &ExportRunner::succeeded, this, [this](const ExportJobSummary& summary) {
        m_summary = summary;
        m_state = State::Done;
        m_progress->setRange(0, 1);
        m_progress->setValue(1);
        m_runStatus->setText(tr("Model exported.") + QLatin1Char(' ') +
                             tr("%1 in %2 s").arg(QLocale().formattedDataSize(qint64(summary.totalBytes)))
                                 .arg(summary.seconds, 0, 'f', 1));
        m_cancelExport->setEnabled(false);
        showSummary();
        m_runPage->refresh();
        Q_EMIT exportFinished(true);
    });
    connect(m_runner, &ExportRunner::failed, this, [this](const QString& message, bool cancelled) {
        m_state = State::Failed;
        m_error = message;
        m_progress->setRange(0, 1);
        m_progress->setValue(0);
        m_runStatus->setText(cancelled ? tr("Export cancelled.") : tr("Failed.") + QLatin1Char(' ') + message);
        m_runStatus->setStyleSheet(QStringLiteral("color: #c0392b;"));
        m_cancelExport->setEnabled(false);
        m_retry->setVisible(true);
        m_runPage->refresh();
        Q_EMIT exportFinished(false);
    });
    setPage(RunPage, m_runPage);

    // Summary.
    m_summaryPage = new ExportWizardPage(this);
    m_filesLabel = new QLabel(m_summaryPage);
    m_files = readOnlyText(m_summaryPage);
    m_modelfileLabel = new QLabel(m_summaryPage);
    m_modelfile = readOnlyText(m_summaryPage);
    m_commandsLabel = new QLabel(m_summaryPage);
    m_commands = readOnlyText(m_summaryPage);
    auto* summaryLayout = new QVBoxLayout(m_summaryPage);
    summaryLayout->addWidget(m_filesLabel);
    summaryLayout->addWidget(m_files, 2);
    summaryLayout->addWidget(m_modelfileLabel);
    summaryLayout->addWidget(m_modelfile, 2);
    summaryLayout->addWidget(m_commandsLabel);
    summaryLayout->addWidget(m_commands, 1);
    setPage(SummaryPage, m_summaryPage);

    setStartId(SourcePage);
    retranslateUi();
    resize(720, 560);
}

ExportWizard::~ExportWizard() = default;

ExportJobFormat ExportWizard::format() const
{
    if (m_gguf->isChecked())
        return ExportJobFormat::Gguf;
    if (m_lora->isChecked())
        return ExportJobFormat::GgufLora;
    return ExportJobFormat::Hf;
}

ExportJobOptions ExportWizard::options() const
{
    ExportJobOptions o;
    o.modelDir = m_model->text().trimmed().toStdString();
    for (const QString& a : adapterList(m_adapters->text()))
        o.adapters.push_back(a.toStdString());
    o.templateName = m_template->text().trimmed().toStdString();
    o.exportDir = m_dir->text().trimmed().toStdString();
    o.format = format();
    o.shardGb = m_shardSize->value();
    o.dtype = m_dtype->currentText().toStdString();
    o.device = m_device->currentText().toStdString();
    o.quantization = m_quantization->currentText().toStdString();
    o.ggufPreTokenizer = m_preTokenizer->currentText().trimmed().toStdString();
    o.overwrite = m_overwrite->isChecked();
    return o;
}

bool ExportWizard::isExporting() const
{
    return m_runner->isRunning();
}

void ExportWizard::updateFormatControls()
{
    const bool hf = m_hf->isChecked();
    m_shardSize->setEnabled(hf);
    m_dtype->setEnabled(hf);
    m_device->setEnabled(hf);
    m_quantization->setEnabled(!hf);
    m_preTokenizer->setEnabled(m_gguf->isChecked());
    m_lora->setEnabled(adapterList(m_adapters->text()).size() == 1);
    if (!m_lora->isEnabled() && m_lora->isChecked())
        m_hf->setChecked(true);
}

void ExportWizard::updateDestination()
{
    const QString dir = m_dir->text().trimmed();
    const bool nonEmpty = exportDirIsNonEmpty(dir.toStdString());
    m_nonEmpty->setVisible(nonEmpty);
    m_overwrite->setVisible(nonEmpty);
    if (!nonEmpty)
        m_overwrite->setChecked(false);
    m_destinationPage->refresh();
}

void ExportWizard::startExport()
{
    if (m_runner->isRunning())
        return;
    m_state = State::Running;
    m_error.clear();
    m_runStatus->setStyleSheet(QString());
    m_runStatus->setText(tr("Exporting model..."));
    m_progress->setRange(0, 0);
    m_cancelExport->setEnabled(true);
    m_runner->start(options());
    m_runPage->refresh();
}

QString ExportWizard::summaryText() const
{
    QString text;
    for (const auto& f : m_summary.files) {
        const QString path = QDir(QString::fromStdString(m_summary.exportDir)).relativeFilePath(QString::fromStdString(f.path));
        text += QStringLiteral("%1  %2\n").arg(QLocale().formattedDataSize(qint64(f.bytes)), 10).arg(path);
    }
    text += tr("Total: %1 in %2").arg(QLocale().formattedDataSize(qint64(m_summary.totalBytes)),
                                      QDir::toNativeSeparators(QString::fromStdString(m_summary.exportDir)));
    if (!m_templateNote->text().isEmpty() && !m_summary.templateNote.empty())
        text += QStringLiteral("\n") + m_templateNote->text();
    return text;
}

void ExportWizard::updateTemplateNote()
{
    const QString name = m_template->text().trimmed();
    const QString model = m_model->text().trimmed();
    if (name.isEmpty()) {
        m_templateNote->setText(tr("No chat template is written and no Modelfile: the tokenizer files are copied as "
                                   "they are. Give the template the model was trained with."));
        return;
    }
    if (!QFileInfo(QDir(model).filePath(QStringLiteral("tokenizer_config.json"))).exists() &&
        !QFileInfo(QDir(model).filePath(QStringLiteral("tokenizer.json"))).exists()) {
        m_templateNote->clear();
        return;
    }
    try {
        const ExportChatTemplate chat = previewExportTemplate(name.toStdString(), model.toStdString());
        const QString tpl = name;
        switch (chat.why) {
        case ExportChatTemplate::Why::TokenizerHasNone:
            m_templateNote->setText(tr("The export will prompt with the %1 template: the model has no chat template "
                                       "of its own, so %1 is written as Jinja.").arg(tpl));
            break;
        case ExportChatTemplate::Why::TemplateReplaces:
            m_templateNote->setText(tr("The export will prompt with the %1 template, written as Jinja in place of "
                                       "the model's own (as LLaMA-Factory does for %1).").arg(tpl));
            break;
        case ExportChatTemplate::Why::ParsedFromTokenizer:
            m_templateNote->setText(tr("The export keeps the model's own chat template (the auto template was "
                                       "built from it)."));
            break;
        case ExportChatTemplate::Why::TokenizerAgrees:
            m_templateNote->setText(tr("The export keeps the model's own chat template: it writes the same prompts "
                                       "as the %1 template used in training.").arg(tpl));
            break;
        case ExportChatTemplate::Why::TokenizerDiffers:
            m_templateNote->setText(tr("The export will prompt with the %1 template, written as Jinja: the model's "
                                       "own chat template writes other prompts (%2).")
                                        .arg(tpl, QString::fromStdString(chat.detail)));
            break;
        }
    } catch (const std::exception& e) {
        m_templateNote->setText(tr("Chat template: %1").arg(QString::fromStdString(e.what())));
    }
}

void ExportWizard::showSummary()
{
    m_files->setPlainText(summaryText());
    const QString modelfile = QString::fromStdString(m_summary.modelfile);
    m_modelfile->setPlainText(modelfile.isEmpty() ? tr("(no Modelfile: give a template to write one)") : modelfile);
    m_commands->setPlainText(QString::fromStdString(m_summary.tryCommands));
}

void ExportWizard::reject()
{
    if (m_runner->isRunning())
        m_runner->cancel(); // the runner's destructor waits for the worker
    QWizard::reject();
}

void ExportWizard::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWizard::changeEvent(event);
}

void ExportWizard::retranslateUi()
{
    setWindowTitle(tr("Export model"));
    setButtonText(QWizard::CommitButton, tr("Export"));
    m_sourcePage->setTitle(tr("Source"));
    m_sourcePage->setSubTitle(tr("The model and the checkpoints (adapters) chosen in the top bar; adapters are "
                                 "merged in order."));
    m_modelLabel->setText(tr("Model path"));
    m_adaptersLabel->setText(tr("Adapters"));
    m_adapters->setPlaceholderText(tr("none (comma-separated folders)"));
    m_templateLabel->setText(tr("Chat template"));
    updateTemplateNote();
    m_template->setPlaceholderText(tr("for the Ollama Modelfile (optional)"));

    m_formatPage->setTitle(tr("Format"));
    m_formatPage->setSubTitle(tr("How the model is written."));
    m_hf->setText(tr("Merged Hugging Face model (safetensors)"));
    m_gguf->setText(tr("GGUF file for llama.cpp and Ollama"));
    m_lora->setText(tr("LoRA adapter only, as a GGUF adapter"));
    m_shardSizeLabel->setText(tr("Max shard size (GB)"));
    m_shardSize->setToolTip(tr("The maximum size for a model file."));
    m_deviceLabel->setText(tr("Export device"));
    m_device->setToolTip(tr("Which device should be used to export model."));
    m_dtypeLabel->setText(tr("Data type"));
    m_quantizationLabel->setText(tr("GGUF type"));
    m_quantization->setToolTip(tr("f32/f16/bf16 keep full weights; q8_0 … q4_k_m quantize them."));
    m_preTokenizerLabel->setText(tr("Pre-tokenizer"));
    m_preTokenizer->lineEdit()->setPlaceholderText(tr("recognised from tokenizer.json"));
    m_preTokenizer->setToolTip(tr("tokenizer.ggml.pre of the GGUF file; leave empty unless the tokenizer's "
                                  "split pattern is not recognised."));

    m_destinationPage->setTitle(tr("Destination"));
    m_destinationPage->setSubTitle(tr("Directory to save exported model."));
    m_dirLabel->setText(tr("Export dir"));
    m_browse->setText(tr("Browse…"));
    m_nonEmpty->setText(tr("This folder is not empty. Its files may be replaced (a Hugging Face export "
                           "replaces the whole folder)."));
    m_overwrite->setText(tr("Overwrite the folder's contents"));

    m_runPage->setTitle(tr("Export"));
    m_runPage->setSubTitle(tr("Writing the model; this may take a while for large models."));
    m_cancelExport->setText(tr("Cancel export"));
    m_retry->setText(tr("Back to the settings"));

    m_summaryPage->setTitle(tr("Summary"));
    m_summaryPage->setSubTitle(tr("What was written and how to try it."));
    m_filesLabel->setText(tr("Files"));
    m_modelfileLabel->setText(tr("Ollama Modelfile"));
    m_commandsLabel->setText(tr("Try it"));
    if (m_state == State::Done)
        showSummary();
}

} // namespace lathe
