// The Export tab (see export_tab.h).
#include "export_tab.h"

#include <QEvent>
#include <QLabel>
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

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_heading);
    layout->addWidget(m_description);
    layout->addWidget(m_openWizard, 0, Qt::AlignLeft);
    layout->addSpacing(12);
    layout->addWidget(m_lastExportLabel);
    layout->addWidget(m_lastExport, 1);
    layout->addStretch(0);

    connect(m_openWizard, &QPushButton::clicked, this, &ExportTab::openWizard);
    retranslateUi();
}

void ExportTab::setTopBar(TopBar* topBar)
{
    m_topBar = topBar;
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
}

} // namespace lathe
