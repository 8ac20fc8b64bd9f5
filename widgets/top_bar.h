// The bar above the tabs, mirroring LLaMA-Board's top row (llamaboard-reference.md §1.1): interface language,
// the model (catalogue name and local folder or hub id, the hub it would come from), the fine-tuning method,
// checkpoints of earlier runs (several LoRA adapters stack), the chat template, RoPE scaling and the compute
// device. Every tab reads these.
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QSpinBox;
class QLabel;
class QProgressBar;
class QLineEdit;
class QPushButton;
class QToolButton;

namespace lathe {

class HubDownload;

class TopBar : public QWidget
{
    Q_OBJECT
public:
    explicit TopBar(QWidget* parent = nullptr);

    /// Fine-tuning methods offered, in LLaMA-Board's order (it also has "oft", which Lathe does not).
    static QStringList finetuningTypes();

    QString language() const;
    /// Shows `code` in the language picker without emitting languageRequested().
    void setLanguage(const QString& code);

    QString modelName() const;
    QString modelPath() const;
    QString finetuningType() const;
    /// The checkpoint field as typed or picked: names under the saves folder or paths, comma-separated.
    QString checkpointPath() const;
    /// checkpointPath() split at the commas, trimmed.
    QStringList checkpoints() const;
    /// Puts these in the checkpoint field (and ticks them in its list).
    void setCheckpoints(const QStringList& checkpoints);
    QString chatTemplate() const;
    /// LLaMA-Board's hub name: huggingface, modelscope or openmind (where a catalogue model's id comes from).
    QString hubName() const;
    /// The rope_scaling argument: "" for none, else linear, dynamic, yarn or llama3.
    QString ropeScaling() const;
    /// The device argument: auto, cpu, cuda:N or npu:N.
    QString computeDevice() const;
    /// Data-parallel training workers (nproc_per_node): 0 for auto (one per visible GPU or NPU, one on CPU).
    int workers() const;

    /// Where runs are saved (LLaMA-Board: saves/ in the working folder); checkpoints are listed from here.
    QString savesRoot() const { return m_savesRoot; }
    void setSavesRoot(const QString& dir);

    QComboBox* languageCombo() const { return m_language; }
    QComboBox* modelNameCombo() const { return m_modelName; }
    QLineEdit* modelPathEdit() const { return m_modelPath; }
    /// One line under the model path once a local folder is read: architecture, parameters, dtype, size on
    /// disk, context length, or why it is not a model folder.
    QLabel* modelSummaryLabel() const { return m_modelSummary; }
    /// That line for `dir` (empty for an empty path or a hub id that is not a local folder).
    static QString describeModelFolder(const QString& dir);
    QPushButton* browseButton() const { return m_browse; }
    /// Shown while the model path is a hub id that is not in the cache: fetches it (with progress and Cancel).
    QPushButton* downloadButton() const { return m_download; }
    QPushButton* cancelDownloadButton() const { return m_cancelDownload; }
    QProgressBar* downloadProgress() const { return m_downloadProgress; }
    HubDownload* hubDownload() const { return m_hubDownload; }
    /// Re-reads the model path: the summary line and whether Download is offered.
    void refreshModelPath();
    QComboBox* finetuningTypeCombo() const { return m_finetuningType; }
    /// Editable; for LoRA its list items are check boxes, and ticking several stacks those adapters.
    QComboBox* checkpointCombo() const { return m_checkpoint; }
    QToolButton* refreshCheckpointsButton() const { return m_refreshCheckpoints; }
    QComboBox* templateCombo() const { return m_template; }
    /// Under the template: where it came from (the catalogue, the model's own files), or a warning when the chosen
    /// template differs from the one the model's tokenizer speaks.
    QLabel* templateNote() const { return m_templateNote; }
    QComboBox* hubCombo() const { return m_hub; }
    QComboBox* ropeScalingCombo() const { return m_ropeScaling; }
    QComboBox* deviceCombo() const { return m_device; }
    /// Beside the device: how many workers train (several GPUs/NPUs, or CPU processes); "auto" is 0.
    QSpinBox* workersSpin() const { return m_workers; }

public Q_SLOTS:
    /// Lists the checkpoints of the current model and method again, keeping the choice if it still exists.
    void refreshCheckpoints();
    /// Asks for a local model folder and puts it in the model path.
    void browseModelFolder();

Q_SIGNALS:
    /// The user picked another interface language.
    void languageRequested(const QString& code);

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void retranslateUi();
    void applyCatalogModel(const QString& name);
    /// Ticks the listed checkpoints that the field names (LoRA), so list and text agree.
    void syncCheckpointChecks();
    /// Ticks or unticks one listed checkpoint and rewrites the field from the ticked ones.
    void toggleCheckpoint(int row);
    bool multiSelect() const;

    QString m_savesRoot;

    QLabel* m_languageLabel = nullptr;
    QComboBox* m_language = nullptr;
    QLabel* m_modelNameLabel = nullptr;
    QComboBox* m_modelName = nullptr;
    QLabel* m_modelPathLabel = nullptr;
    QLineEdit* m_modelPath = nullptr;
    QLabel* m_modelSummary = nullptr;
    QPushButton* m_browse = nullptr;
    QLabel* m_finetuningTypeLabel = nullptr;
    QComboBox* m_finetuningType = nullptr;
    QLabel* m_checkpointLabel = nullptr;
    QComboBox* m_checkpoint = nullptr;
    QToolButton* m_refreshCheckpoints = nullptr;
    QLabel* m_templateLabel = nullptr;
    QComboBox* m_template = nullptr;
    QLabel* m_hubLabel = nullptr;
    QLabel* m_templateNote = nullptr;
    QString m_templateSource;   ///< how the shown template was picked ("catalogue", a file name), "" by the user
    QString m_detectedTemplate; ///< what the model folder's own chat template is, "" when unknown
    QString m_detectedFrom;     ///< the file it was read from
    bool m_settingTemplate = false;
    void detectTemplate();
    void updateTemplateNote();
    QPushButton* m_download = nullptr;
    QPushButton* m_cancelDownload = nullptr;
    QProgressBar* m_downloadProgress = nullptr;
    HubDownload* m_hubDownload = nullptr;
    QComboBox* m_hub = nullptr;
    QLabel* m_ropeScalingLabel = nullptr;
    QComboBox* m_ropeScaling = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QComboBox* m_device = nullptr;
    QSpinBox* m_workers = nullptr;
    bool m_syncingChecks = false;
};

} // namespace lathe
