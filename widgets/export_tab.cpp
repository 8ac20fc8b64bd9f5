// The Export tab (see export_tab.h).
#include "export_tab.h"

#include <algorithm>

#include <QDateTime>
#include <QDesktopServices>
#include <QDir>
#include <QEvent>
#include <QLabel>
#include <QListWidget>
#include <QSettings>
#include <QUrl>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "export_wizard.h"
#include "model_selection.h"

namespace lathe {

ExportTab::ExportTab(QWidget* parent) : QWidget(parent)
{
    m_heading = new QLabel(this);
    QFont font = m_heading->font();
    font.setPointSizeF(font.pointSizeF() * 1.25);
    font.setBold(true);
    m_heading->setFont(font);
    m_description = new QLabel(this);
    m_description->setWordWrap(true);
    m_openWizard = new QPushButton(this);
    m_lastExportLabel = new QLabel(this);
    m_lastExport = new QPlainTextEdit(this);
    m_lastExport->setReadOnly(true);
    m_lastExportLabel->hide();
    m_lastExport->hide();
    m_source = new QLabel(this);
    m_source->setWordWrap(true);
    m_source->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_recentLabel = new QLabel(this);
    m_recent = new QListWidget(this);
    connect(m_recent, &QListWidget::itemDoubleClicked, this, [](QListWidgetItem* item) {
        QDesktopServices::openUrl(QUrl::fromLocalFile(item->data(Qt::UserRole).toString()));
    });
    loadRecent();

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_heading);
    layout->addWidget(m_description);
    layout->addWidget(m_source);
    layout->addWidget(m_openWizard, 0, Qt::AlignLeft);
    layout->addSpacing(12);
    layout->addWidget(m_lastExportLabel);
    layout->addWidget(m_lastExport, 1);
    layout->addWidget(m_recentLabel);
    layout->addWidget(m_recent, 1);
    layout->addStretch(0);

    connect(m_openWizard, &QPushButton::clicked, this, &ExportTab::openWizard);
    retranslateUi();
}

void ExportTab::setTopBar(TopBar* topBar)
{
    m_topBar = topBar;
    refreshSource();
}

void ExportTab::refreshSource()
{
    const ModelSelection s = modelSelection(m_topBar);
    if (s.modelPath.isEmpty()) {
        m_source->setText(tr("Choose a model (and the checkpoints to merge) in the bar above."));
        return;
    }
    m_source->setText(tr("Would export %1 with %2, chat template %3.")
                          .arg(QDir::toNativeSeparators(s.modelPath),
                               s.adapters.isEmpty() ? tr("no adapter") : s.adapters.join(QStringLiteral(", ")),
                               s.templateName.isEmpty() ? tr("none") : s.templateName));
}

void ExportTab::showEvent(QShowEvent* event)
{
    refreshSource();
    QWidget::showEvent(event);
}

void ExportTab::recordExport(const QString& dir, const QString& format)
{
    QSettings settings;
    QStringList recent = settings.value(QStringLiteral("exports/recent")).toStringList();
    const QString entry = QDateTime::currentDateTime().toString(Qt::ISODate) + QLatin1Char('\t') + format +
                          QLatin1Char('\t') + QDir(dir).absolutePath();
    recent.erase(std::remove_if(recent.begin(), recent.end(),
                                [&](const QString& e) { return e.section(QLatin1Char('\t'), 2) == QDir(dir).absolutePath(); }),
                 recent.end());
    recent.prepend(entry);
    while (recent.size() > 10)
        recent.removeLast();
    settings.setValue(QStringLiteral("exports/recent"), recent);
    loadRecent();
}

void ExportTab::loadRecent()
{
    m_recent->clear();
    for (const QString& e : QSettings().value(QStringLiteral("exports/recent")).toStringList()) {
        const QString when = e.section(QLatin1Char('\t'), 0, 0), format = e.section(QLatin1Char('\t'), 1, 1),
                      dir = e.section(QLatin1Char('\t'), 2);
        auto* item = new QListWidgetItem(QStringLiteral("%1  %2  %3").arg(when.left(16).replace(QLatin1Char('T'), QLatin1Char(' ')),
                                                                          format, QDir::toNativeSeparators(dir)),
                                         m_recent);
        item->setData(Qt::UserRole, dir);
        item->setToolTip(tr("Double-click to open the folder"));
    }
    m_recentLabel->setVisible(m_recent->count() > 0);
    m_recent->setVisible(m_recent->count() > 0);
}

ExportWizard* ExportTab::openWizard()
{
    if (m_wizard) {
        m_wizard->raise();
        return m_wizard;
    }
    m_wizard = new ExportWizard(modelSelection(m_topBar), this);
    m_wizard->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_wizard, &ExportWizard::exportFinished, this, [this](bool ok) {
        if (!ok || !m_wizard)
            return;
        m_lastExport->setPlainText(m_wizard->summaryText() + QStringLiteral("\n\n") +
                                   m_wizard->commandsView()->toPlainText());
        const ExportJobOptions o = m_wizard->options();
        recordExport(QString::fromStdString(o.exportDir),
                     o.format == ExportJobFormat::Hf ? QStringLiteral("hf")
                     : o.format == ExportJobFormat::Gguf ? QStringLiteral("gguf ") + QString::fromStdString(o.quantization)
                                                         : QStringLiteral("gguf_lora ") + QString::fromStdString(o.quantization));
        m_lastExportLabel->show();
        m_lastExport->show();
    });
    m_wizard->open();
    return m_wizard;
}

void ExportTab::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ExportTab::retranslateUi()
{
    m_heading->setText(tr("Export"));
    m_description->setText(
        tr("Merge the LoRA adapters of the chosen checkpoint into the base model and write the result as "
           "safetensors shards of a chosen size, or as a GGUF file for llama.cpp, optionally quantized."));
    m_openWizard->setText(tr("Export wizard…"));
    m_lastExportLabel->setText(tr("Last export"));
    m_recentLabel->setText(tr("Recent exports"));
    refreshSource();
}

} // namespace lathe
