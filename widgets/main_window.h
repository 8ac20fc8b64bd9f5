// The workbench's main window, laid out like LLaMA-Board: a title, the top bar (language, model, method,
// checkpoint, template), then the tabs Train, Evaluate & Predict, Chat and Export.
//
// The window owns the language switch: picking a language in the top bar installs its translation and
// every widget re-reads its texts (see LanguageSwitcher).
#pragma once

#include <functional>

#include <QMainWindow>
#include <QStringList>

class QLabel;
class QTabWidget;

namespace lathe {

class ChatTab;
class EvalTab;
class ExportTab;
class LanguageSwitcher;
class RunsPanel;
class TopBar;
class TrainTab;

/// What `lathe workbench --...` opens the window with; empty fields keep what the window had.
struct WorkbenchSelection
{
    QString config; ///< a `lathe train` YAML loaded into the Train tab first (as Load arguments does)
    QString modelPath, templateName, checkpoint, datasetDir;
    QStringList datasets;
};

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    /// The tabs, in LLaMA-Board's order.
    enum Tab
    {
        TrainPage,
        EvaluatePage,
        ChatPage,
        ExportPage,
        RunsPage,
    };

    explicit MainWindow(QWidget* parent = nullptr);

    QTabWidget* tabs() const { return m_tabs; }
    TopBar* topBar() const { return m_topBar; }

    /// The interface language ("en", "zh").
    QString language() const;
    /// Switches the interface language; false for a language Lathe has no translation for.
    bool setLanguage(const QString& code);

    /// Training, prediction or a chat reply is running.
    bool isBusy() const;
    /// Asked when the window closes while busy; true closes (the runs are aborted: a training saves a checkpoint
    /// and the model first). The default asks with a message box; tests replace it.
    void setCloseConfirmation(std::function<bool()> confirm) { m_confirmClose = std::move(confirm); }

    /// Window geometry, language, the top bar's model, method and template and the dataset folder are saved in
    /// QSettings on close and restored when the window opens.
    void saveSettings() const;
    void restoreSettings();

    /// Puts `selection` into the top bar and the Train and Evaluate tabs.
    void preselect(const WorkbenchSelection& selection);

    /// The status bar's line naming the saves folder every tab uses.
    QLabel* savesLabel() const { return m_savesLabel; }

protected:
    void changeEvent(QEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void retranslateUi();

    LanguageSwitcher* m_languageSwitcher = nullptr;
    QLabel* m_title = nullptr;
    QLabel* m_savesLabel = nullptr; ///< in the status bar: where every tab saves and looks for runs
    TopBar* m_topBar = nullptr;
    QTabWidget* m_tabs = nullptr;
    TrainTab* m_trainTab = nullptr;
    EvalTab* m_evalTab = nullptr;
    ChatTab* m_chatTab = nullptr;
    ExportTab* m_exportTab = nullptr;
    RunsPanel* m_runsPanel = nullptr;
    std::function<bool()> m_confirmClose;
};

} // namespace lathe
