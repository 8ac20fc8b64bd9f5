// The Runs tab: the runs found under a root folder (RunsModel), with the loss curves of the selected runs overlaid in
// one chart (select several to compare). The root is the top bar's saves folder unless the user picks another
// (remembered in the settings); the list follows the folder on its own (rescanned every few seconds while the tab is
// shown, the selection kept), so a run started from the CLI appears without Refresh.
#pragma once

#include <QWidget>

class QChart;
class QLabel;
class QPushButton;
class QSplitter;
class QTableView;
class QTimer;

namespace lathe {

class RunsModel;
class TopBar;

class RunsPanel : public QWidget
{
    Q_OBJECT
public:
    explicit RunsPanel(QWidget* parent = nullptr);

    /// The saves root comes from the top bar (its savesRoot()).
    void setTopBar(TopBar* topBar);
    /// Scans `root` instead (tests, or no top bar); remembered as the user's choice when `remember`.
    void setRoot(const QString& root, bool remember = false);
    /// The folder scanned now.
    QString root() const;
    void refresh();
    /// Seconds between rescans while the tab is shown.
    static constexpr int kWatchSeconds = 3;

    RunsModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QChart* chart() const { return m_chart; }
    QPushButton* chooseRootButton() const { return m_chooseRoot; }
    QSplitter* splitter() const { return m_split; }

protected:
    void changeEvent(QEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;

private:
    void retranslateUi();
    void drawSelected();

    TopBar* m_topBar = nullptr;
    QString m_root;
    RunsModel* m_model;
    QTableView* m_view;
    QChart* m_chart;
    QPushButton* m_refresh;
    QPushButton* m_chooseRoot;
    QLabel* m_hint;
    QSplitter* m_split;
    QTimer* m_watch;
};

} // namespace lathe
