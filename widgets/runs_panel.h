// The Runs tab: the runs found under the saves folder (RunsModel), refreshed on demand, with the loss curves of the
// selected runs overlaid in one chart (select several to compare).
#pragma once

#include <QWidget>

class QChart;
class QLabel;
class QPushButton;
class QTableView;

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
    /// Scans `root` instead (tests, or no top bar).
    void setRoot(const QString& root);
    void refresh();

    RunsModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QChart* chart() const { return m_chart; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void drawSelected();

    TopBar* m_topBar = nullptr;
    QString m_root;
    RunsModel* m_model;
    QTableView* m_view;
    QChart* m_chart;
    QPushButton* m_refresh;
    QLabel* m_hint;
};

} // namespace lathe
