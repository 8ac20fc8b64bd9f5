// The Train tab's live charts (LLaMA-Board's loss_viewer, plus what it only draws at the end): training loss
// raw and smoothed with LLaMA-Factory's smoothing (app/plot/loss_plot.h smoothCurve), evaluation loss, and
// the learning rate; for the preference stages, reward accuracy and margin.
//
// Every reported point is kept; the series shown are rebuilt at most a few times a second, thinned by
// min-max bucketing (series_downsample.h), so a run of 100k steps stays responsive.
#pragma once

#include <vector>

#include <QPointF>
#include <QWidget>

#include "train/trainer.h"

class QChart;
class QPalette;
class QLineSeries;
class QScatterSeries;
class QTimer;
class QValueAxis;

namespace lathe {

/// Colours `chart` (background, titles, legend, every axis' labels and grid) from `palette`, so charts follow
/// the desktop's light or dark theme instead of QtCharts' fixed light one. Call again after adding axes and on
/// QEvent::PaletteChange.
void followPalette(QChart* chart, const QPalette& palette);

/// A step axis from 0 to at least `maxStep`: ticks at a round whole interval (1, 2, 5, 10, ... steps) and integer
/// labels, never fractional steps; with no data (`maxStep` <= 0) the labels are hidden instead of "0 0 0 0 1".
void setStepAxis(QValueAxis* axis, double maxStep);

class TrainCharts : public QWidget
{
    Q_OBJECT
public:
    /// Buckets of the thinned series (each gives at most two points).
    static constexpr int kDisplayBuckets = 600;

    explicit TrainCharts(QWidget* parent = nullptr);

    /// Forgets every point (a new run).
    void clear();
    /// Records a step's loss and learning rate, or an evaluation's loss; the series follow shortly.
    void addProgress(const TrainProgress& progress);
    /// Rebuilds the shown series from every point now (addProgress schedules this itself).
    void refresh();

    /// Points recorded (not thinned).
    const std::vector<QPointF>& lossPoints() const { return m_loss; }
    const std::vector<QPointF>& evalLossPoints() const { return m_evalLoss; }
    const std::vector<QPointF>& learningRatePoints() const { return m_lr; }
    /// Preference stages: reward accuracy (rewards/accuracies, or the reward model's accuracy) and margin.
    const std::vector<QPointF>& accuracyPoints() const { return m_accuracy; }
    const std::vector<QPointF>& marginPoints() const { return m_margin; }
    /// The rewards chart, shown once a run reports reward metrics.
    QWidget* rewardView() const { return m_rewardView; }

    QLineSeries* lossSeries() const { return m_lossSeries; }
    QLineSeries* smoothedLossSeries() const { return m_smoothedSeries; }
    QLineSeries* evalLossSeries() const { return m_evalSeries; }
    QLineSeries* learningRateSeries() const { return m_lrSeries; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();

    std::vector<QPointF> m_loss, m_evalLoss, m_lr, m_accuracy, m_margin, m_evalMargin;
    QChart* m_rewardChart = nullptr;
    QWidget* m_rewardView = nullptr;
    QLineSeries* m_accuracySeries = nullptr;
    QLineSeries* m_marginSeries = nullptr;
    QLineSeries* m_evalMarginSeries = nullptr;
    QValueAxis* m_rewardX = nullptr;
    QValueAxis* m_rewardY = nullptr;
    QChart* m_lossChart = nullptr;
    QChart* m_lrChart = nullptr;
    QLineSeries* m_lossSeries = nullptr;
    QLineSeries* m_smoothedSeries = nullptr;
    QLineSeries* m_evalSeries = nullptr;
    QLineSeries* m_lrSeries = nullptr;
    QValueAxis* m_lossX = nullptr;
    QValueAxis* m_lossY = nullptr;
    QValueAxis* m_lrX = nullptr;
    QValueAxis* m_lrY = nullptr;
    QTimer* m_refreshTimer = nullptr;
};

} // namespace lathe
