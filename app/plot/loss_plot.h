// The loss plots a run leaves in its output folder (training_loss.png, training_eval_loss.png, ...), drawn
// as LLaMA-Factory's extras/ploting.py draws them with matplotlib: the raw metric at 40% opacity, its
// TensorBoard-style moving average on top, a legend, and a 640x480 figure at 100 dpi. QtGui only (QImage and
// QPainter, no widgets), so the headless `lathe train` can call it; the window can reuse renderMetricPlot.
//
// Drawing text needs Qt's font database, which exists only once a QGuiApplication does: a process with only
// a QCoreApplication (or none) gets no image and a warning instead of Qt's abort. A headless process creates
// a QGuiApplication on the offscreen platform (QT_QPA_PLATFORM=offscreen or `-platform offscreen`).
#pragma once

#include <utility>
#include <vector>

#include <QImage>
#include <QSize>
#include <QString>
#include <QStringList>

namespace lathe {

/// Weight of the moving average over n points: 1.8 * (sigmoid(0.05 * n) - 0.5), from 0.1 for a handful of
/// points up to 0.9, so short curves are barely smoothed.
double smoothingWeight(std::size_t n);

/// LLaMA-Factory's smooth(): s0 = x0, si = w * s(i-1) + (1 - w) * xi with w = smoothingWeight(x.size()).
std::vector<double> smoothCurve(const std::vector<double>& x);

/// Tick values matplotlib's default locator puts on the view interval [lo, hi]: multiples of a step of
/// 1, 2, 2.5 or 5 times a power of ten, at most maxBins intervals, only those inside the interval.
std::vector<double> niceTicks(double lo, double hi, int maxBins);

/// One metric as (step, value) points drawn as a figure of `size` pixels: the raw line ("original") and the
/// smoothed one ("smoothed"), title, x label "step", y label `yLabel`. A null image when there is no
/// QGuiApplication to draw text with.
QImage renderMetricPlot(const std::vector<std::pair<double, double>>& points, const QString& title,
                        const QString& yLabel, QSize size = {640, 480});

struct PlotResult
{
    QStringList written;  ///< paths of the PNG files written
    QStringList warnings; ///< one line per metric not plotted, or about trainer_state.json
};

/// LLaMA-Factory's plot_loss(output_dir, keys): for each key, the (step, value) of every log_history entry
/// of <outputDir>/trainer_state.json that has it, written as <outputDir>/training_<key, '/' -> '_'>.png.
/// Throws nothing: a missing or malformed trainer_state.json, a key never logged ("No metric {key} to
/// plot.") or a file that cannot be written is a warning.
PlotResult plotLoss(const QString& outputDir, const QStringList& keys);

} // namespace lathe
