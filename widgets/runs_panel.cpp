#include "runs_panel.h"

#include <cmath>

#include <QChart>
#include <QFileDialog>
#include <QSettings>
#include <QTimer>
#include <QChartView>
#include <QDir>
#include <QEvent>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <QValueAxis>

#include "runs_model.h"
#include "series_downsample.h"
#include "top_bar.h"
#include "train_charts.h"

namespace lathe {

RunsPanel::RunsPanel(QWidget* parent)
    : QWidget(parent), m_model(new RunsModel(this)), m_view(new QTableView(this)), m_chart(new QChart),
      m_refresh(new QPushButton(this)), m_chooseRoot(new QPushButton(this)), m_hint(new QLabel(this)),
      m_watch(new QTimer(this))
{
    m_root = QSettings().value(QStringLiteral("runs/root")).toString(); // the user's own choice, if any
    m_watch->setInterval(kWatchSeconds * 1000);
    connect(m_watch, &QTimer::timeout, this, &RunsPanel::refresh);
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents); // headers never cut
    m_view->horizontalHeader()->setSectionResizeMode(RunsModel::Name, QHeaderView::Stretch);
    m_view->verticalHeader()->hide();
    m_hint->setWordWrap(true);
    auto* chartView = new QChartView(m_chart, this);
    chartView->setRenderHint(QPainter::Antialiasing);
    chartView->setMinimumHeight(240); // never squeezed to a strip by the table (1024x700 windows)
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_split = new QSplitter(Qt::Vertical, this);
    m_split->addWidget(m_view);
    m_split->addWidget(chartView);
    m_split->setStretchFactor(0, 2);
    m_split->setStretchFactor(1, 3); // the chart gets the larger part
    m_split->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    auto* row = new QHBoxLayout;
    row->addWidget(m_hint, 1);
    row->addWidget(m_chooseRoot);
    row->addWidget(m_refresh);
    layout->addLayout(row);
    layout->addWidget(m_split, 1);
    connect(m_refresh, &QPushButton::clicked, this, &RunsPanel::refresh);
    connect(m_chooseRoot, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder to list runs from"), root());
        if (!dir.isEmpty())
            setRoot(dir, true);
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &RunsPanel::drawSelected);
    retranslateUi();
}

void RunsPanel::setTopBar(TopBar* topBar)
{
    m_topBar = topBar;
    retranslateUi();
    refresh();
}

void RunsPanel::setRoot(const QString& root, bool remember)
{
    m_root = root;
    if (remember)
        QSettings().setValue(QStringLiteral("runs/root"), root);
    retranslateUi();
    refresh();
}

QString RunsPanel::root() const
{
    return !m_root.isEmpty() ? m_root : m_topBar ? m_topBar->savesRoot() : QStringLiteral("saves");
}

void RunsPanel::refresh()
{
    // The selection survives a rescan (the rows are matched by folder).
    QStringList selected;
    for (const QModelIndex& index : m_view->selectionModel()->selectedRows())
        selected << m_model->run(index.row()).path;
    m_model->scan(root());
    const QSignalBlocker blocker(m_view->selectionModel());
    for (int r = 0; r < m_model->rowCount(); ++r)
        if (selected.contains(m_model->run(r).path))
            m_view->selectionModel()->select(m_model->index(r, 0),
                                             QItemSelectionModel::Select | QItemSelectionModel::Rows);
    drawSelected();
}

void RunsPanel::showEvent(QShowEvent* event)
{
    refresh();
    m_watch->start();
    QWidget::showEvent(event);
}

void RunsPanel::hideEvent(QHideEvent* event)
{
    m_watch->stop();
    QWidget::hideEvent(event);
}

void RunsPanel::drawSelected()
{
    m_chart->removeAllSeries();
    for (QAbstractAxis* axis : m_chart->axes())
        m_chart->removeAxis(axis);
    auto* x = new QValueAxis;
    auto* y = new QValueAxis;
    x->setTitleText(tr("step"));
    y->setTitleText(tr("loss"));
    m_chart->addAxis(x, Qt::AlignBottom);
    m_chart->addAxis(y, Qt::AlignLeft);
    double maxX = 1, minY = 0, maxY = 1;
    bool first = true;
    for (const QModelIndex& index : m_view->selectionModel()->selectedRows()) {
        const RunInfo& run = m_model->run(index.row());
        if (run.loss.isEmpty())
            continue;
        auto* series = new QLineSeries;
        series->setName(run.name);
        series->replace(downsampleMinMax(std::vector<QPointF>(run.loss.begin(), run.loss.end()), 600));
        m_chart->addSeries(series);
        series->attachAxis(x);
        series->attachAxis(y);
        for (const QPointF& p : run.loss) {
            maxX = std::max(maxX, p.x());
            minY = first ? p.y() : std::min(minY, p.y());
            maxY = first ? p.y() : std::max(maxY, p.y());
            first = false;
        }
    }
    setStepAxis(x, first ? 0.0 : maxX); // whole-number step ticks (train_charts.h)
    // The loss axis starts at 0 and ends at a round value.
    y->setRange(std::min(0.0, minY), maxY > minY ? maxY : minY + 1);
    y->applyNiceNumbers();
    if (y->min() < 0 && minY >= 0)
        y->setMin(0);
    followPalette(m_chart, palette());
}

void RunsPanel::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange)
        followPalette(m_chart, palette());
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void RunsPanel::retranslateUi()
{
    m_refresh->setText(tr("Refresh"));
    m_chooseRoot->setText(tr("Folder..."));
    m_chooseRoot->setToolTip(tr("List the runs of another folder (remembered)"));
    m_hint->setText(tr("Runs under %1, however they were started (the list follows the folder); select several to "
                       "compare their loss curves.")
                        .arg(QDir::toNativeSeparators(root())));
    m_chart->setTitle(tr("Training loss"));
}

} // namespace lathe
