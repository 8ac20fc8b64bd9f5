// The Train tab's live charts (see train_charts.h).
#include "train_charts.h"

#include <algorithm>
#include <cmath>

#include <QAbstractAxis>
#include <QChart>
#include <QLegend>
#include <QPalette>
#include <QPen>
#include <QChartView>
#include <QEvent>
#include <QHBoxLayout>
#include <QLineSeries>
#include <QPen>
#include <QTimer>
#include <QValueAxis>

#include "plot/loss_plot.h"
#include "series_downsample.h"

namespace lathe {

namespace {

// matplotlib's first colour, as LLaMA-Board's plot draws the loss; the raw line at 40% opacity.
const QColor lossColor(0x1f, 0x77, 0xb4);

QLineSeries* addSeries(QChart* chart, const QColor& color, qreal alpha, QValueAxis* x, QValueAxis* y)
{
    auto* series = new QLineSeries(chart);
    QColor c = color;
    c.setAlphaF(alpha);
    QPen pen(c);
    pen.setWidthF(1.5);
    series->setPen(pen);
    chart->addSeries(series);
    series->attachAxis(x);
    series->attachAxis(y);
    return series;
}

QChart* makeChart(QValueAxis*& x, QValueAxis*& y)
{
    auto* chart = new QChart;
    chart->setMargins(QMargins(4, 4, 4, 4));
    x = new QValueAxis(chart);
    y = new QValueAxis(chart);
    x->setLabelFormat(QStringLiteral("%d"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    return chart;
}

QChartView* makeView(QChart* chart, QWidget* parent)
{
    auto* view = new QChartView(chart, parent);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(320, 240);
    return view;
}

// Padded [lo, hi] of the values, so a flat curve still gets a visible range.
std::pair<double, double> rangeOf(const std::vector<const std::vector<QPointF>*>& curves, bool ofX)
{
    double lo = INFINITY, hi = -INFINITY;
    for (const auto* c : curves)
        for (const QPointF& p : *c) {
            const double v = ofX ? p.x() : p.y();
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (!std::isfinite(lo))
        return {0, 1};
    if (ofX)
        return {lo, std::max(hi, lo + 1)};
    const double pad = hi > lo ? (hi - lo) * 0.05 : std::max(std::abs(hi) * 0.05, 1e-12);
    return {lo - pad, hi + pad};
}

/// A value axis over [lo, hi] on round numbers; from 0 when every value is >= 0 (a loss never shows negatives).
void setValueAxis(QValueAxis* axis, const std::vector<const std::vector<QPointF>*>& curves, bool fromZero)
{
    bool any = false;
    for (const auto* c : curves)
        any |= !c->empty();
    axis->setLabelsVisible(any);
    const auto [lo, hi] = rangeOf(curves, false);
    axis->setRange(fromZero ? std::max(0.0, lo) : lo, hi);
    axis->setTickType(QValueAxis::TicksFixed);
    axis->setTickCount(6);
    if (any)
        axis->applyNiceNumbers();
    if (fromZero && axis->min() < 0)
        axis->setMin(0);
}

} // namespace

void setStepAxis(QValueAxis* axis, double maxStep)
{
    axis->setLabelsVisible(maxStep > 0);
    const double top = std::max(1.0, maxStep);
    const double rough = std::max(1.0, top / 8);
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    const double interval = rough <= magnitude ? magnitude : rough <= 2 * magnitude ? 2 * magnitude
                            : rough <= 5 * magnitude ? 5 * magnitude : 10 * magnitude;
    axis->setRange(0, std::ceil(top / interval) * interval);
    axis->setTickType(QValueAxis::TicksDynamic);
    axis->setTickAnchor(0);
    axis->setTickInterval(interval);
    axis->setLabelFormat(QStringLiteral("%d"));
}

TrainCharts::TrainCharts(QWidget* parent) : QWidget(parent)
{
    m_lossChart = makeChart(m_lossX, m_lossY);
    m_lossSeries = addSeries(m_lossChart, lossColor, 0.4, m_lossX, m_lossY);
    m_smoothedSeries = addSeries(m_lossChart, lossColor, 1.0, m_lossX, m_lossY);
    m_evalSeries = addSeries(m_lossChart, QColor(0xff, 0x7f, 0x0e), 1.0, m_lossX, m_lossY);
    m_evalSeries->setPointsVisible(true);

    m_lrChart = makeChart(m_lrX, m_lrY);
    m_lrY->setLabelFormat(QStringLiteral("%.2g"));
    m_lrSeries = addSeries(m_lrChart, QColor(0x2c, 0xa0, 0x2c), 1.0, m_lrX, m_lrY);
    m_lrChart->legend()->hide();

    // Preference stages (dpo, kto, rm): reward accuracy and margin beside the loss.
    m_rewardChart = makeChart(m_rewardX, m_rewardY);
    m_accuracySeries = addSeries(m_rewardChart, QColor(0x94, 0x67, 0xbd), 1.0, m_rewardX, m_rewardY);
    m_marginSeries = addSeries(m_rewardChart, QColor(0xd6, 0x27, 0x28), 1.0, m_rewardX, m_rewardY);
    m_evalMarginSeries = addSeries(m_rewardChart, QColor(0xff, 0x7f, 0x0e), 1.0, m_rewardX, m_rewardY);
    m_evalMarginSeries->setPointsVisible(true);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(makeView(m_lossChart, this), 3);
    m_rewardView = makeView(m_rewardChart, this);
    m_rewardView->setVisible(false);
    layout->addWidget(m_rewardView, 3);
    layout->addWidget(makeView(m_lrChart, this), 2);

    // Progress arrives every step; the series are rebuilt at most five times a second.
    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setSingleShot(true);
    m_refreshTimer->setInterval(200);
    connect(m_refreshTimer, &QTimer::timeout, this, &TrainCharts::refresh);

    followPalette(m_lossChart, palette());
    followPalette(m_lrChart, palette());
    followPalette(m_rewardChart, palette());
    retranslateUi();
    refresh();
}

void TrainCharts::clear()
{
    m_loss.clear();
    m_evalLoss.clear();
    m_lr.clear();
    m_accuracy.clear();
    m_margin.clear();
    m_evalMargin.clear();
    m_rewardView->setVisible(false);
    refresh();
}

void TrainCharts::addProgress(const TrainProgress& p)
{
    const double step = double(p.step);
    if (p.evalLoss) {
        m_evalLoss.emplace_back(step, *p.evalLoss);
    } else {
        if (p.loss)
            m_loss.emplace_back(step, *p.loss);
        m_lr.emplace_back(step, p.learningRate);
    }
    for (const auto& [name, value] : p.metrics) {
        // LLaMA-Factory's names: rewards/* for dpo and kto, accuracy for the reward model.
        if (name == "rewards/accuracies" || name == "accuracy")
            m_accuracy.emplace_back(step, value);
        else if (name == "rewards/margins")
            m_margin.emplace_back(step, value);
        else if (name == "eval_rewards/margins")
            m_evalMargin.emplace_back(step, value);
        else
            continue;
        m_rewardView->setVisible(true);
    }
    if (!m_refreshTimer->isActive())
        m_refreshTimer->start();
}

void TrainCharts::refresh()
{
    m_refreshTimer->stop();
    // The smoothing weight depends on the number of points, so the whole smoothed curve is recomputed.
    std::vector<double> values;
    values.reserve(m_loss.size());
    for (const QPointF& p : m_loss)
        values.push_back(p.y());
    const std::vector<double> smoothed = smoothCurve(values);
    std::vector<QPointF> smoothedPoints(m_loss.size());
    for (std::size_t i = 0; i < m_loss.size(); ++i)
        smoothedPoints[i] = QPointF(m_loss[i].x(), smoothed[i]);

    m_lossSeries->replace(downsampleMinMax(m_loss, kDisplayBuckets));
    m_smoothedSeries->replace(downsampleMinMax(smoothedPoints, kDisplayBuckets));
    m_evalSeries->replace(downsampleMinMax(m_evalLoss, kDisplayBuckets));
    m_lrSeries->replace(downsampleMinMax(m_lr, kDisplayBuckets));

    // Steps from 0 (a resumed run is drawn from step 1), whole-number ticks; the loss and the learning rate from 0.
    auto lastStep = [](const std::vector<const std::vector<QPointF>*>& curves) {
        double m = 0;
        for (const auto* c : curves)
            for (const QPointF& p : *c)
                m = std::max(m, p.x());
        return m;
    };
    setStepAxis(m_lossX, lastStep({&m_loss, &m_evalLoss}));
    setValueAxis(m_lossY, {&m_loss, &m_evalLoss}, true);
    setStepAxis(m_lrX, lastStep({&m_lr}));
    const auto [ly0, ly1] = rangeOf({&m_lr}, false);
    m_lrY->setRange(std::max(0.0, ly0), ly1);
    m_lrY->setLabelsVisible(!m_lr.empty());

    m_accuracySeries->replace(downsampleMinMax(m_accuracy, kDisplayBuckets));
    m_marginSeries->replace(downsampleMinMax(m_margin, kDisplayBuckets));
    m_evalMarginSeries->replace(downsampleMinMax(m_evalMargin, kDisplayBuckets));
    setStepAxis(m_rewardX, lastStep({&m_accuracy, &m_margin, &m_evalMargin}));
    setValueAxis(m_rewardY, {&m_accuracy, &m_margin, &m_evalMargin}, false);
}

void followPalette(QChart* chart, const QPalette& palette)
{
    chart->setBackgroundBrush(palette.brush(QPalette::Base));
    chart->setBackgroundPen(QPen(palette.color(QPalette::Mid)));
    chart->setTitleBrush(palette.brush(QPalette::Text));
    chart->legend()->setLabelColor(palette.color(QPalette::Text));
    QColor grid = palette.color(QPalette::Mid);
    grid.setAlphaF(0.5);
    for (QAbstractAxis* axis : chart->axes()) {
        axis->setLabelsBrush(palette.brush(QPalette::Text));
        axis->setTitleBrush(palette.brush(QPalette::Text));
        axis->setLinePenColor(palette.color(QPalette::Mid));
        axis->setGridLineColor(grid);
    }
}

void TrainCharts::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange) {
        followPalette(m_lossChart, palette());
        followPalette(m_lrChart, palette());
        followPalette(m_rewardChart, palette());
    }
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void TrainCharts::retranslateUi()
{
    // LLaMA-Board's plot legend ("original", "smoothed") and axis names.
    m_lossChart->setTitle(tr("Loss"));
    m_lossSeries->setName(tr("original"));
    m_smoothedSeries->setName(tr("smoothed"));
    m_evalSeries->setName(tr("eval loss"));
    m_lossX->setTitleText(tr("step"));
    m_lrChart->setTitle(tr("Learning rate"));
    m_lrX->setTitleText(tr("step"));
    m_rewardChart->setTitle(tr("Rewards"));
    m_accuracySeries->setName(tr("accuracy"));
    m_marginSeries->setName(tr("margin"));
    m_evalMarginSeries->setName(tr("eval margin"));
    m_rewardX->setTitleText(tr("step"));
}

} // namespace lathe
