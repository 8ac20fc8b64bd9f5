#include "dataset_dialogs.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "data/dataset_loader.h"
#include "data/dataset_preview.h"
#include "template/chat_template.h"
#include "template/template_encoder.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace lathe {

// ===== preview =====

DatasetPreviewDialog::DatasetPreviewDialog(const QString& datasetDir, const QString& dataset, const QString& modelDir,
                                           const QString& templateName, QWidget* parent)
    : QDialog(parent), m_dir(datasetDir), m_dataset(dataset), m_model(new QStandardItemModel(this)),
      m_view(new QTableView(this)), m_training(new QTextBrowser(this)), m_pageSize(new QSpinBox(this)),
      m_prev(new QPushButton(tr("Previous"), this)), m_next(new QPushButton(tr("Next"), this)),
      m_status(new QLabel(this))
{
    setWindowTitle(tr("Preview of %1").arg(dataset));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->verticalHeader()->hide();
    m_view->setWordWrap(true);
    m_pageSize->setRange(1, 100);
    m_pageSize->setValue(2);
    m_status->setWordWrap(true);
    if (!modelDir.isEmpty() && !templateName.isEmpty()) {
        try {
            m_tokenizer = Tokenizer::fromDirectory(modelDir.toStdString());
            m_encoder = std::make_unique<TemplateEncoder>(chatTemplate(templateName.toStdString()), m_tokenizer);
        } catch (const Error& e) {
            m_trainingError = QString::fromUtf8(e.what());
        }
    } else {
        m_trainingError = tr("Choose a model and a template in the top bar to see the training view.");
    }

    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Records per page"), this));
    row->addWidget(m_pageSize);
    row->addStretch(1);
    row->addWidget(m_prev);
    row->addWidget(m_next);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_view);
    split->addWidget(m_training);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(row);
    layout->addWidget(m_status);
    layout->addWidget(split, 1);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_prev, &QPushButton::clicked, this, [this] { showPage(m_page - 1); });
    connect(m_next, &QPushButton::clicked, this, [this] { showPage(m_page + 1); });
    connect(m_pageSize, qOverload<int>(&QSpinBox::valueChanged), this, [this] { showPage(0); });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) { showTrainingView(current.row()); });
    resize(900, 640);
    showPage(0);
}

DatasetPreviewDialog::~DatasetPreviewDialog() = default;

qint64 DatasetPreviewDialog::pageCount() const
{
    return std::max<qint64>(1, (m_count + m_pageSize->value() - 1) / m_pageSize->value());
}

void DatasetPreviewDialog::showPage(qint64 page)
{
    m_model->clear();
    m_model->setHorizontalHeaderLabels({tr("Record"), tr("Content")});
    try {
        const auto registry = DatasetRegistry::load(m_dir.toStdString());
        page = std::max<qint64>(0, page);
        PreviewPage p = previewRecords(registry, m_dataset.toStdString(), page, m_pageSize->value());
        m_count = p.count;
        if (page >= pageCount() && page > 0) {
            page = pageCount() - 1;
            p = previewRecords(registry, m_dataset.toStdString(), page, m_pageSize->value());
        }
        m_page = page;
        m_first = p.firstIndex;
        for (std::size_t i = 0; i < p.records.size(); ++i) {
            auto* index = new QStandardItem(QString::number(p.firstIndex + qint64(i)));
            auto* content = new QStandardItem(QString::fromStdString(p.records[i].dump(2)));
            m_model->appendRow({index, content});
        }
        m_status->setText(tr("Page %1 of %2 (%3 records)").arg(m_page + 1).arg(pageCount()).arg(m_count));
    } catch (const Error& e) {
        m_status->setText(QString::fromUtf8(e.what()));
        m_count = 0;
    }
    m_prev->setEnabled(m_page > 0);
    m_next->setEnabled(m_page + 1 < pageCount());
    m_view->resizeRowsToContents();
    if (m_model->rowCount() > 0)
        m_view->selectRow(0);
    else
        m_training->clear();
}

void DatasetPreviewDialog::showTrainingView(int row)
{
    if (row < 0 || row >= m_model->rowCount())
        return;
    if (!m_encoder) {
        m_training->setPlainText(m_trainingError);
        return;
    }
    try {
        const auto registry = DatasetRegistry::load(m_dir.toStdString());
        const DatasetAttr attr = registry.get(m_dataset.toStdString());
        const auto record = nlohmann::json::parse(m_model->item(row, 1)->text().toStdString());
        const TrainingView view = lathe::trainingView(*m_encoder, *m_tokenizer, attr, record, m_first + row, ProcessOptions{});
        if (!view.error.empty()) {
            m_training->setPlainText(QString::fromStdString(view.error));
            return;
        }
        QString html = QStringLiteral("<p>") + tr("%1 tokens; learned text is highlighted.").arg(view.tokens);
        if (view.truncated)
            html += QLatin1Char(' ') + tr("Truncated to cutoff_len.");
        html += QStringLiteral("</p><pre style=\"white-space: pre-wrap\">");
        for (const LabeledSpan& span : view.spans) {
            const QString text = QString::fromStdString(span.text).toHtmlEscaped();
            html += span.learned ? QStringLiteral("<span style=\"background-color: #c8f0c8; color: #000\">") + text +
                                       QStringLiteral("</span>")
                                 : text;
        }
        html += QStringLiteral("</pre>");
        m_training->setHtml(html);
    } catch (const std::exception& e) {
        m_training->setPlainText(QString::fromUtf8(e.what()));
    }
}

// ===== registration =====

RegisterDatasetDialog::RegisterDatasetDialog(const QString& datasetDir, QWidget* parent)
    : QDialog(parent), m_dir(datasetDir), m_file(new QLineEdit(this)), m_name(new QLineEdit(this)),
      m_formatting(new QComboBox(this)), m_overwrite(new QCheckBox(tr("Replace an entry of that name"), this)),
      m_entry(new QPlainTextEdit(this)), m_status(new QLabel(this)), m_browse(new QPushButton(tr("Browse..."), this)),
      m_register(new QPushButton(tr("Register"), this))
{
    setWindowTitle(tr("Register a dataset in %1").arg(QDir(datasetDir).filePath("dataset_info.json")));
    m_formatting->addItems({"alpaca", "sharegpt", "openai"});
    m_entry->setReadOnly(true);
    m_status->setWordWrap(true);
    m_register->setEnabled(false);
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(m_file, 1);
    fileRow->addWidget(m_browse);
    auto* form = new QFormLayout;
    form->addRow(tr("Data file"), fileRow);
    form->addRow(tr("Name"), m_name);
    form->addRow(tr("Format"), m_formatting);
    form->addRow(QString(), m_overwrite);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_register, QDialogButtonBox::ActionRole);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(new QLabel(tr("Proposed entry"), this));
    layout->addWidget(m_entry, 1);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Data file"), m_dir,
                                                          tr("Data (*.json *.jsonl *.csv *.txt)"));
        if (!file.isEmpty()) {
            m_file->setText(file);
            detect(file);
        }
    });
    connect(m_file, &QLineEdit::editingFinished, this, [this] { detect(m_file->text()); });
    connect(m_formatting, &QComboBox::currentTextChanged, this, [this] { recheck(); });
    connect(m_name, &QLineEdit::editingFinished, this, [this] {
        m_proposal.attr.name = m_name->text().trimmed().toStdString();
        showProposal();
    });
    connect(m_register, &QPushButton::clicked, this, [this] {
        if (registerEntry())
            accept();
    });
    resize(700, 560);
}

bool RegisterDatasetDialog::detect(const QString& file)
{
    m_haveProposal = false;
    m_register->setEnabled(false);
    try {
        m_proposal = proposeRegistration(m_dir.toStdString(), file.toStdString());
    } catch (const Error& e) {
        m_entry->clear();
        m_status->setText(QString::fromUtf8(e.what()));
        return false;
    }
    m_haveProposal = true;
    m_name->setText(QString::fromStdString(m_proposal.attr.name));
    const QString format = m_proposal.attr.formatting == DataFormat::ShareGpt ? "sharegpt"
                           : m_proposal.attr.formatting == DataFormat::OpenAi ? "openai"
                                                                              : "alpaca";
    const QSignalBlocker block(m_formatting);
    m_formatting->setCurrentText(format);
    showProposal();
    return true;
}

void RegisterDatasetDialog::recheck()
{
    if (!m_haveProposal)
        return;
    const QString f = m_formatting->currentText();
    m_proposal.attr.formatting = f == "sharegpt" ? DataFormat::ShareGpt : f == "openai" ? DataFormat::OpenAi : DataFormat::Alpaca;
    try {
        checkRegistration(m_dir.toStdString(), m_proposal);
    } catch (const Error& e) {
        m_status->setText(QString::fromUtf8(e.what()));
        return;
    }
    showProposal();
}

void RegisterDatasetDialog::showProposal()
{
    nlohmann::ordered_json entry;
    entry[m_proposal.attr.name] = m_proposal.attr.toJson();
    m_entry->setPlainText(QString::fromStdString(entry.dump(2)));
    QStringList lines;
    for (const auto& note : m_proposal.notes)
        lines << tr("Detected: %1").arg(QString::fromStdString(note));
    lines << tr("%1 of the first %2 records convert cleanly.").arg(m_proposal.usable).arg(m_proposal.checked);
    for (const auto& problem : m_proposal.problems)
        lines << QString::fromStdString(problem);
    m_status->setText(lines.join('\n'));
    m_register->setEnabled(m_proposal.usable > 0 && !m_proposal.attr.name.empty());
}

bool RegisterDatasetDialog::registerEntry()
{
    if (!m_haveProposal || m_proposal.usable == 0) {
        m_status->setText(tr("Nothing to register: no record of the file converts with this entry."));
        return false;
    }
    m_proposal.attr.name = m_name->text().trimmed().toStdString();
    try {
        auto registry = DatasetRegistry::load(m_dir.toStdString());
        registry.add(m_proposal.attr, m_overwrite->isChecked());
    } catch (const Error& e) {
        m_status->setText(QString::fromUtf8(e.what()));
        return false;
    }
    Q_EMIT registered(QString::fromStdString(m_proposal.attr.name));
    return true;
}

} // namespace lathe
