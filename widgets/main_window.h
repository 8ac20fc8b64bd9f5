// The workbench's main window, laid out like LLaMA-Board: a title, the top bar (language, model, method,
// checkpoint, template), then the tabs Train, Evaluate & Predict, Chat and Export.
//
// The window owns the language switch: picking a language in the top bar installs its translation and
// every widget re-reads its texts (see LanguageSwitcher).
#pragma once

#include <QMainWindow>

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

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();

    LanguageSwitcher* m_languageSwitcher = nullptr;
    QLabel* m_title = nullptr;
    TopBar* m_topBar = nullptr;
    QTabWidget* m_tabs = nullptr;
    TrainTab* m_trainTab = nullptr;
    EvalTab* m_evalTab = nullptr;
    ChatTab* m_chatTab = nullptr;
    ExportTab* m_exportTab = nullptr;
    RunsPanel* m_runsPanel = nullptr;
};

} // namespace lathe
