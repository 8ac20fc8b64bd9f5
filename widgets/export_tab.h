// The Export tab (LLaMA-Board's export.*): what an export does, what it would export now (the top bar's model,
// checkpoints and template), a button opening the Export wizard on them, the last export's summary, and the recent
// exports (kept in the settings; double-click opens the folder).
#pragma once

#include <QPointer>
#include <QWidget>

#include "export_wizard.h"

class QLabel;
class QListWidget;
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
    /// "Model ..., adapters ..., template ..." of the top bar, as the wizard would start.
    QLabel* sourceLabel() const { return m_source; }
    QListWidget* recentExports() const { return m_recent; }
    /// Adds an export to the recent ones (newest first, at most 10, in the settings).
    void recordExport(const QString& dir, const QString& format);
    /// Re-reads the top bar's selection into sourceLabel().
    void refreshSource();
    /// The wizard opened last, while it is open.
    ExportWizard* wizard() const { return m_wizard; }

public Q_SLOTS:
    /// Opens the wizard (window-modal) on the top bar's selection; returns it.
    ExportWizard* openWizard();

protected:
    void changeEvent(QEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    void retranslateUi();

    TopBar* m_topBar = nullptr;
    QPointer<ExportWizard> m_wizard;
    QLabel* m_heading = nullptr;
    QLabel* m_description = nullptr;
    QPushButton* m_openWizard = nullptr;
    QLabel* m_lastExportLabel = nullptr;
    QPlainTextEdit* m_lastExport = nullptr;
    QLabel* m_source = nullptr;
    QLabel* m_recentLabel = nullptr;
    QListWidget* m_recent = nullptr;
    void loadRecent();
};

} // namespace lathe
