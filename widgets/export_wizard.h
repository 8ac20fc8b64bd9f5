// The Export wizard of the Export tab: source (the model and checkpoints chosen in the top bar) -> format
// (merged Hugging Face safetensors with shard size and dtype, a GGUF file with its quantization type, or the
// LoRA adapter alone as a GGUF adapter) -> destination (a non-empty folder is only written into once the user
// allows it) -> the export with its progress, on a worker thread (ExportRunner) -> a summary: the files and
// their sizes, the Ollama Modelfile and the command lines to try the result with llama.cpp / Ollama.
//
// The pages report problems on the page itself (no message boxes), so the wizard can be driven from tests.
#pragma once

#include <functional>

#include <QWizard>
#include <QWizardPage>

#include "model_selection.h"
#include "session/export_job.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;

namespace lathe {

class ExportRunner;

/// A wizard page whose completeness, validation and set-up are given as functions.
class ExportWizardPage : public QWizardPage
{
    Q_OBJECT
public:
    using QWizardPage::QWizardPage;
    std::function<bool()> complete, validate;
    std::function<void()> initialize, cleanup;
    bool isComplete() const override { return complete ? complete() : QWizardPage::isComplete(); }
    bool validatePage() override { return validate ? validate() : true; }
    void initializePage() override
    {
        if (initialize)
            initialize();
    }
    void cleanupPage() override
    {
        if (cleanup)
            cleanup();
    }
    /// Re-evaluates isComplete() (the Next/Finish buttons).
    void refresh() { Q_EMIT completeChanged(); }
};

class ExportWizard : public QWizard
{
    Q_OBJECT
public:
    enum PageId
    {
        SourcePage,
        FormatPage,
        DestinationPage,
        RunPage,
        SummaryPage,
    };

    explicit ExportWizard(const ModelSelection& selection, QWidget* parent = nullptr);
    ~ExportWizard() override;

    /// The export the pages describe.
    ExportJobOptions options() const;
    ExportJobFormat format() const;

    bool isExporting() const;
    /// The export ended successfully.
    bool exported() const { return m_state == State::Done; }
    const ExportJobSummary& summary() const { return m_summary; }
    /// The summary as text (files and sizes, Modelfile, commands).
    QString summaryText() const;
    /// The line under the template field: which chat template the export will prompt with, and why.
    QLabel* templateNote() const { return m_templateNote; }
    /// Recomputes templateNote() from the model and template fields.
    void updateTemplateNote();

    QLineEdit* modelEdit() const { return m_model; }
    QLineEdit* adaptersEdit() const { return m_adapters; }
    QLineEdit* templateEdit() const { return m_template; }
    QRadioButton* hfRadio() const { return m_hf; }
    QRadioButton* ggufRadio() const { return m_gguf; }
    QRadioButton* loraRadio() const { return m_lora; }
    QDoubleSpinBox* shardSizeSpin() const { return m_shardSize; }
    QComboBox* dtypeCombo() const { return m_dtype; }
    /// LLaMA-Board's export device: cpu, or auto (a GPU or NPU when present).
    QComboBox* deviceCombo() const { return m_device; }
    /// Shown when an export failed or was cancelled: back to the destination page, the settings kept.
    QPushButton* retryButton() const { return m_retry; }
    QComboBox* quantizationCombo() const { return m_quantization; }
    QComboBox* preTokenizerCombo() const { return m_preTokenizer; }
    QLabel* formatError() const { return m_formatError; }
    QLineEdit* directoryEdit() const { return m_dir; }
    QLabel* nonEmptyWarning() const { return m_nonEmpty; }
    QCheckBox* overwriteCheck() const { return m_overwrite; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* runStatus() const { return m_runStatus; }
    QPlainTextEdit* filesView() const { return m_files; }
    QPlainTextEdit* modelfileView() const { return m_modelfile; }
    QPlainTextEdit* commandsView() const { return m_commands; }

Q_SIGNALS:
    /// The export ended (ok: it succeeded).
    void exportFinished(bool ok);

public Q_SLOTS:
    void reject() override;

protected:
    void changeEvent(QEvent* event) override;

private:
    enum class State { Idle, Running, Done, Failed };
    void retranslateUi();
    void updateFormatControls();
    void updateDestination();
    void startExport();
    void showSummary();

    ExportRunner* m_runner = nullptr;
    State m_state = State::Idle;
    ExportJobSummary m_summary;
    QString m_error;

    ExportWizardPage* m_sourcePage = nullptr;
    ExportWizardPage* m_formatPage = nullptr;
    ExportWizardPage* m_destinationPage = nullptr;
    ExportWizardPage* m_runPage = nullptr;
    ExportWizardPage* m_summaryPage = nullptr;

    QLabel* m_modelLabel = nullptr;
    QLineEdit* m_model = nullptr;
    QLabel* m_adaptersLabel = nullptr;
    QLineEdit* m_adapters = nullptr;
    QLabel* m_templateLabel = nullptr;
    QLabel* m_templateNote = nullptr; ///< which chat template the export will prompt with, and why
    QLineEdit* m_template = nullptr;
    QLabel* m_sourceError = nullptr;

    QRadioButton* m_hf = nullptr;
    QRadioButton* m_gguf = nullptr;
    QRadioButton* m_lora = nullptr;
    QLabel* m_shardSizeLabel = nullptr;
    QDoubleSpinBox* m_shardSize = nullptr;
    QLabel* m_dtypeLabel = nullptr;
    QComboBox* m_dtype = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QComboBox* m_device = nullptr;
    QLabel* m_quantizationLabel = nullptr;
    QComboBox* m_quantization = nullptr;
    QLabel* m_preTokenizerLabel = nullptr;
    QComboBox* m_preTokenizer = nullptr;
    QLabel* m_formatError = nullptr;

    QLabel* m_dirLabel = nullptr;
    QLineEdit* m_dir = nullptr;
    QPushButton* m_browse = nullptr;
    QLabel* m_nonEmpty = nullptr;
    QCheckBox* m_overwrite = nullptr;

    QProgressBar* m_progress = nullptr;
    QLabel* m_runStatus = nullptr;
    QPushButton* m_cancelExport = nullptr;
    QPushButton* m_retry = nullptr; ///< after a failed or cancelled export: back to the settings

    QLabel* m_filesLabel = nullptr;
    QPlainTextEdit* m_files = nullptr;
    QLabel* m_modelfileLabel = nullptr;
    QPlainTextEdit* m_modelfile = nullptr;
    QLabel* m_commandsLabel = nullptr;
    QPlainTextEdit* m_commands = nullptr;
};

} // namespace lathe
