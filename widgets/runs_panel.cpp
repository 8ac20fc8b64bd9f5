#include "runs_panel.h"

#include <QChart>
#include <QChartView>
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
      m_refresh(new QPushButton(this)), m_hint(new QLabel(this))
{
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->horizontalHeader()->setSectionResizeMode(RunsModel::Name, QHeaderView::Stretch);
    m_view->verticalHeader()->hide();
    m_hint->setWordWrap(true);
    auto* chartView = new QChartView(m_chart, this);
    chartView->setRenderHint(QPainter::Antialiasing);
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_view);
    split->addWidget(chartView);
    auto* layout = new QVBoxLayout(this);
    auto* row = new QHBoxLayout;
    row->addWidget(m_hint, 1);
    row->addWidget(m_refresh);
    layout->addLayout(row);
    layout->addWidget(split, 1);
    connect(m_refresh, &QPushButton::clicked, this, &RunsPanel::refresh);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &RunsPanel::drawSelected);
    retranslateUi();
}

void RunsPanel::setTopBar(TopBar* topBar)
{
    m_topBar = topBar;
    refresh();
}

void RunsPanel::setRoot(const QString& root)
{
    m_root = root;
    refresh();
}

void RunsPanel::refresh()
{
    const QString root = !m_root.isEmpty() ? m_root : m_topBar ? m_topBar->savesRoot() : QStringLiteral("saves");
    m_model->scan(root);
    drawSelected();
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
    x->setRange(0, maxX);
    y->setRange(std::min(0.0, minY), maxY > minY ? maxY : minY + 1);
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
    m_hint->setText(tr("Runs under the saves folder, however they were started; select several to compare their "
                       "loss curves."));
    m_chart->setTitle(tr("Training loss"));
}

} // namespace lathe
