// The Train tab's dataset dialogs, on core/data's preview and registration API (the same as `lathe dataset
// preview` and `lathe dataset register`):
//   - DatasetPreviewDialog: pages of raw records (any page size; LLaMA-Board shows 2), and for the selected
//     record the training view: the exact text the model sees under the chosen template, learned spans marked.
//   - RegisterDatasetDialog: pick a file in the dataset folder, see the detected format, columns and tags and a
//     check on its first records, correct the name/format, and add the entry to dataset_info.json atomically
//     (an existing name is replaced only when asked).
#pragma once

#include <memory>

#include <QDialog>

#include "data/format_detect.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QStandardItemModel;
class QTableView;
class QTextBrowser;

namespace lathe {

class TemplateEncoder;
class Tokenizer;

class DatasetPreviewDialog : public QDialog
{
    Q_OBJECT
public:
    /// `modelDir` and `templateName` (either may be empty) give the training view.
    DatasetPreviewDialog(const QString& datasetDir, const QString& dataset, const QString& modelDir,
                         const QString& templateName, QWidget* parent = nullptr);
    ~DatasetPreviewDialog() override;

    void showPage(qint64 page);
    qint64 page() const { return m_page; }
    qint64 pageCount() const;
    QStandardItemModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QTextBrowser* trainingView() const { return m_training; }
    QSpinBox* pageSizeSpin() const { return m_pageSize; }
    QLabel* statusLabel() const { return m_status; }

private:
    void showTrainingView(int row);

    QString m_dir, m_dataset;
    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::unique_ptr<TemplateEncoder> m_encoder;
    QString m_trainingError;
    qint64 m_page = 0, m_count = 0, m_first = 0;
    QStandardItemModel* m_model;
    QTableView* m_view;
    QTextBrowser* m_training;
    QSpinBox* m_pageSize;
    QPushButton *m_prev, *m_next;
    QLabel* m_status;
};

class RegisterDatasetDialog : public QDialog
{
    Q_OBJECT
public:
    explicit RegisterDatasetDialog(const QString& datasetDir, QWidget* parent = nullptr);

    /// Detects `file` (inside the dataset folder) and shows the proposal.
    bool detect(const QString& file);
    /// Writes the entry; false (with the reason shown) when nothing usable or the name exists without overwrite.
    bool registerEntry();

    QLineEdit* fileEdit() const { return m_file; }
    QLineEdit* nameEdit() const { return m_name; }
    QComboBox* formattingCombo() const { return m_formatting; }
    QCheckBox* overwriteCheck() const { return m_overwrite; }
    QPlainTextEdit* entryText() const { return m_entry; }
    QLabel* statusLabel() const { return m_status; }
    QPushButton* registerButton() const { return m_register; }
    const RegistrationProposal& proposal() const { return m_proposal; }

Q_SIGNALS:
    void registered(const QString& name);

private:
    void showProposal();
    void recheck();

    QString m_dir;
    RegistrationProposal m_proposal;
    bool m_haveProposal = false;
    QLineEdit *m_file, *m_name;
    QComboBox* m_formatting;
    QCheckBox* m_overwrite;
    QPlainTextEdit* m_entry;
    QLabel* m_status;
    QPushButton *m_browse, *m_register;
};

} // namespace lathe
