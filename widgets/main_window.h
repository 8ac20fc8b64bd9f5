// The workbench's main window: top bar and the four LLaMA-Board tabs.
#pragma once

#include <QMainWindow>

class QTabWidget;

namespace lathe {

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

    QTabWidget* tabs() const { return m_tabs; }

private:
    QTabWidget* m_tabs = nullptr;
};

} // namespace lathe
