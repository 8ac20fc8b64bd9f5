#include "main_window.h"

#include <QLabel>
#include <QTabWidget>

namespace lathe {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setWindowTitle(tr("Lathe"));
    m_tabs = new QTabWidget(this);
    m_tabs->addTab(new QLabel(tr("Train")), tr("Train"));
    m_tabs->addTab(new QLabel(tr("Evaluate & Predict")), tr("Evaluate & Predict"));
    m_tabs->addTab(new QLabel(tr("Chat")), tr("Chat"));
    m_tabs->addTab(new QLabel(tr("Export")), tr("Export"));
    setCentralWidget(m_tabs);
    resize(1200, 800);
}

} // namespace lathe
