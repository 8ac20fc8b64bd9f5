// The bar above the tabs, mirroring LLaMA-Board's top row (llamaboard-reference.md §1.1): interface language,
// the model (catalogue name and local folder or hub id), the fine-tuning method, a checkpoint of an earlier
// run to start from, and the chat template. Every tab reads these.
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QToolButton;

namespace lathe {

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
    QString checkpointPath() const;
    QString chatTemplate() const;

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
    QComboBox* finetuningTypeCombo() const { return m_finetuningType; }
    QComboBox* checkpointCombo() const { return m_checkpoint; }
    QToolButton* refreshCheckpointsButton() const { return m_refreshCheckpoints; }
    QComboBox* templateCombo() const { return m_template; }

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

private:
    void retranslateUi();
    void applyCatalogModel(const QString& name);

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
};

} // namespace lathe
