// The Export tab (LLaMA-Board's export.*): what an export does, and a button opening the Export wizard on the
// model and checkpoints chosen in the top bar; the last export's summary is shown below it.
#pragma once

#include <QPointer>
#include <QWidget>

#include "export_wizard.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace lathe {

class TopBar;

class ExportTab : public QWidget
{
    Q_OBJECT
public:
    explicit ExportTab(QWidget* parent = nullptr);

    void setTopBar(TopBar* topBar);

    QPushButton* wizardButton() const { return m_openWizard; }
    QPlainTextEdit* lastExportView() const { return m_lastExport; }
    /// The wizard opened last, while it is open.
    ExportWizard* wizard() const { return m_wizard; }

public Q_SLOTS:
    /// Opens the wizard (window-modal) on the top bar's selection; returns it.
    ExportWizard* openWizard();

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();

    TopBar* m_topBar = nullptr;
    QPointer<ExportWizard> m_wizard;
    QLabel* m_heading = nullptr;
    QLabel* m_description = nullptr;
    QPushButton* m_openWizard = nullptr;
    QLabel* m_lastExportLabel = nullptr;
    QPlainTextEdit* m_lastExport = nullptr;
};

} // namespace lathe
