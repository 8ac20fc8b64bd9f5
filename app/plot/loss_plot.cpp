// Loss plots drawn like matplotlib's defaults (see loss_plot.h). The figure geometry, font sizes, line widths
// and legend spacing are matplotlib's rcParams converted at 100 dpi (1 pt = 100/72 px), so the PNGs sit
// beside LLaMA-Factory's without looking foreign.
#include "plot/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QDir>
#include <QFile>
#include <QFont>
#include <QFontMetricsF>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineF>
#include <QPainter>
#include <QPainterPath>
#include <QPolygonF>
#include <QSaveFile>

namespace lathe {

namespace {

// ---------------------------------------------------------------------------------------------------------
// matplotlib's defaults, in pixels at the figure's 100 dpi

constexpr double kDpi = 100.0;
constexpr double kPt = kDpi / 72.0;

constexpr double kFontPt = 10.0;          // font.size: tick labels, axis labels, legend
constexpr double kTitlePt = 12.0;         // axes.titlesize "large"
constexpr double kTitlePad = 6.0 * kPt;   // axes.titlepad
constexpr double kLabelPad = 4.0 * kPt;   // axes.labelpad
constexpr double kTickLength = 3.5 * kPt; // xtick.major.size
constexpr double kTickPad = 3.5 * kPt;    // xtick.major.pad
constexpr double kLineWidth = 1.5 * kPt;  // lines.linewidth
constexpr double kMargin = 0.05;          // axes.xmargin / axes.ymargin

// figure.subplot.left/right/bottom/top: where the axes sit, as fractions of the figure.
constexpr double kAxesLeft = 0.125, kAxesRight = 0.9, kAxesBottom = 0.11, kAxesTop = 0.88;

// legend.* in units of the legend font size.
constexpr double kLegendBorderPad = 0.4, kLegendLabelSpacing = 0.5, kLegendHandleLength = 2.0,
                 kLegendHandleTextPad = 0.8, kLegendBorderAxesPad = 0.5, kLegendRounding = 0.2;

const QColor kLineColor(0x1f, 0x77, 0xb4); // "C0", the first colour of matplotlib's cycle

// ---------------------------------------------------------------------------------------------------------
// axis scaling and tick labels

struct Range
{
    double lo = 0, hi = 1;
};

// The data range with matplotlib's 5% margins; a single value is first widened by 5% of itself (by 0.05
// when it is 0), as matplotlib's nonsingular() does, so a flat curve still has an axis.
Range viewRange(double lo, double hi)
{
    if (hi - lo <= std::abs(hi) * 1e-12) {
        const double pad = lo == 0 ? 0.05 : std::abs(lo) * 0.05;
        lo -= pad;
        hi += pad;
    }
    const double margin = (hi - lo) * kMargin;
    return {lo - margin, hi + margin};
}

// matplotlib's MaxNLocator with nbins="auto": one tick per 3 font sizes of width on x, per 2 font sizes of
// height on y, at most 9 intervals.
int autoBins(double lengthPx, double fontSizesPerTick)
{
    const double lengthPt = lengthPx / kPt;
    return std::clamp(int(std::floor(lengthPt / (kFontPt * fontSizesPerTick))), 1, 9);
}

// Digits after the decimal point that show every multiple of `step` exactly (0.25 -> 2, 2.5 -> 1, 20 -> 0).
int decimalsFor(double step)
{
    int decimals = 0;
    for (double scaled = step; decimals < 12; ++decimals, scaled *= 10) {
        if (std::abs(scaled - std::round(scaled)) <= 1e-9 * scaled)
            break;
    }
    return decimals;
}

// Decimals for the labels of evenly spaced ticks.
int tickDecimals(const std::vector<double>& ticks)
{
    return ticks.size() > 1 ? decimalsFor(ticks[1] - ticks[0]) : 0;
}

// Tick labels as matplotlib's ScalarFormatter writes them: the same number of decimals on every tick and
// a real minus sign.
QString tickLabel(double value, int decimals)
{
    QString text = QString::number(value, 'f', decimals);
    if (text.startsWith(QLatin1Char('-')))
        text.replace(0, 1, QChar(0x2212));
    return text;
}

// ---------------------------------------------------------------------------------------------------------
// the legend

// True when the polyline passes through `box` (a vertex inside or a segment crossing an edge).
bool crosses(const QPolygonF& line, const QRectF& box)
{
    const QLineF edges[] = {{box.topLeft(), box.topRight()},
                            {box.topRight(), box.bottomRight()},
                            {box.bottomRight(), box.bottomLeft()},
                            {box.bottomLeft(), box.topLeft()}};
    for (int i = 0; i < line.size(); ++i) {
        if (box.contains(line[i]))
            return true;
        if (i == 0)
            continue;
        const QLineF segment(line[i - 1], line[i]);
        for (const auto& edge : edges)
            if (segment.intersects(edge, nullptr) == QLineF::BoundedIntersection)
                return true;
    }
    return false;
}

// matplotlib's loc="best": the first of its ten standard places (upper right, upper left, lower left, ...)
// that covers the fewest data vertices plus lines.
QRectF bestLegendBox(QSizeF size, const QRectF& axes, double pad, const std::vector<QPolygonF>& lines)
{
    const double left = axes.left() + pad, right = axes.right() - pad - size.width();
    const double top = axes.top() + pad, bottom = axes.bottom() - pad - size.height();
    const double centerX = axes.center().x() - size.width() / 2;
    const double centerY = axes.center().y() - size.height() / 2;
    const QPointF places[] = {{right, top},     {left, top},       {left, bottom},   {right, bottom},
                              {right, centerY}, {left, centerY},   {right, centerY}, {centerX, bottom},
                              {centerX, top},   {centerX, centerY}};
    QRectF best;
    int bestBadness = std::numeric_limits<int>::max();
    for (const auto& place : places) {
        const QRectF box(place, size);
        int badness = 0;
        for (const auto& line : lines) {
            badness +=
                int(std::count_if(line.begin(), line.end(), [&](QPointF p) { return box.contains(p); }));
            badness += crosses(line, box);
        }
        if (badness < bestBadness) {
            bestBadness = badness;
            best = box;
        }
    }
    return best;
}

void drawLegend(QPainter& painter, const QRectF& axes, const std::vector<QPolygonF>& lines,
                const std::vector<QPen>& pens, const QStringList& labels)
{
    const QFontMetricsF fm(painter.font(), painter.device());
    const double em = kFontPt * kPt;
    const double rowHeight = fm.height();
    double textWidth = 0;
    for (const auto& label : labels)
        textWidth = std::max(textWidth, fm.horizontalAdvance(label));
    const QSizeF size((2 * kLegendBorderPad + kLegendHandleLength + kLegendHandleTextPad) * em + textWidth,
                      2 * kLegendBorderPad * em + labels.size() * rowHeight +
                          (labels.size() - 1) * kLegendLabelSpacing * em);
    const QRectF box = bestLegendBox(size, axes, kLegendBorderAxesPad * em, lines);

    // legend.framealpha 0.8 over the axes, edge colour "0.8" (light grey), rounded corners (fancybox).
    painter.setPen(QPen(QColor(204, 204, 204), 1.0 * kPt));
    painter.setBrush(QColor(255, 255, 255, 204));
    painter.drawRoundedRect(box, kLegendRounding * em, kLegendRounding * em);
    painter.setBrush(Qt::NoBrush);

    double y = box.top() + kLegendBorderPad * em;
    const double handleLeft = box.left() + kLegendBorderPad * em;
    const double textLeft = handleLeft + (kLegendHandleLength + kLegendHandleTextPad) * em;
    for (int i = 0; i < labels.size(); ++i) {
        const double middle = y + rowHeight / 2;
        painter.setPen(pens[std::size_t(i)]);
        painter.drawLine(QPointF(handleLeft, middle), QPointF(handleLeft + kLegendHandleLength * em, middle));
        painter.setPen(Qt::black);
        painter.drawText(QRectF(textLeft, y, textWidth + em, rowHeight), Qt::AlignLeft | Qt::AlignVCenter,
                         labels[i]);
        y += rowHeight + kLegendLabelSpacing * em;
    }
}

QFont plotFont(double pointSize)
{
    // matplotlib's default face; fontconfig falls back to another sans-serif face where it is missing.
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setStyleHint(QFont::SansSerif);
    font.setPointSizeF(pointSize);
    return font;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// public functions

double smoothingWeight(std::size_t n)
{
    return 1.8 * (1.0 / (1.0 + std::exp(-0.05 * double(n))) - 0.5);
}

std::vector<double> smoothCurve(const std::vector<double>& x)
{
    std::vector<double> out;
    if (x.empty())
        return out;
    const double w = smoothingWeight(x.size());
    double last = x.front();
    out.reserve(x.size());
    for (double v : x) {
        last = last * w + (1 - w) * v;
        out.push_back(last);
    }
    return out;
}

std::vector<double> niceTicks(double lo, double hi, int maxBins)
{
    std::vector<double> ticks;
    if (!(hi > lo) || !std::isfinite(hi - lo) || maxBins < 1)
        return ticks;
    // matplotlib's steps 1, 2, 2.5, 5 and their neighbours a decade down and up, times the decade of the
    // step that would give exactly maxBins intervals. The first step at least that large is taken; when it
    // leaves fewer than two ticks inside the interval, the next smaller one is, as matplotlib does.
    const double rawStep = (hi - lo) / maxBins;
    const double scale = std::pow(10.0, std::floor(std::log10(rawStep)));
    const double multiples[] = {0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20};
    int i = 0;
    while (i < 9 && multiples[i] * scale < rawStep * (1 - 1e-10))
        ++i;
    // Tolerances keep a tick that lands on the interval's edge up to rounding.
    const double eps = 1e-10;
    for (; i >= 0; --i) {
        const double step = multiples[i] * scale;
        ticks.clear();
        for (double k = std::ceil(lo / step - eps); k <= std::floor(hi / step + eps); ++k)
            ticks.push_back(k * step);
        if (ticks.size() >= 2)
            break;
    }
    return ticks;
}

QImage renderMetricPlot(const std::vector<std::pair<double, double>>& points, const QString& title,
                        const QString& yLabel, QSize size)
{
    // Without a QGuiApplication the font database does not exist and Qt aborts on the first text drawn.
    if (!qobject_cast<QGuiApplication*>(QCoreApplication::instance()) || size.isEmpty())
        return {};

    QImage image(size, QImage::Format_RGB32);
    image.setDotsPerMeterX(qRound(kDpi / 0.0254)); // so point sizes below are at 100 dpi, as matplotlib's
    image.setDotsPerMeterY(qRound(kDpi / 0.0254));
    image.fill(Qt::white);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setRenderHint(QPainter::TextAntialiasing);

    // Whole pixels for the axes box, so the 1 px spines and ticks land crisply on pixel centres.
    const int w = size.width(), h = size.height();
    const QRectF axes(QPointF(std::round(kAxesLeft * w), std::round((1 - kAxesTop) * h)),
                      QPointF(std::round(kAxesRight * w), std::round((1 - kAxesBottom) * h)));

    // NaN and infinite values are left out (matplotlib breaks the line there) and cannot spoil the limits.
    std::vector<std::pair<double, double>> finite;
    for (const auto& p : points)
        if (std::isfinite(p.first) && std::isfinite(p.second))
            finite.push_back(p);
    double xMin = 0, xMax = 0, yMin = 0, yMax = 0;
    if (!finite.empty()) {
        xMin = xMax = finite.front().first;
        yMin = yMax = finite.front().second;
    }
    std::vector<double> values;
    values.reserve(finite.size());
    for (const auto& [x, y] : finite) {
        xMin = std::min(xMin, x);
        xMax = std::max(xMax, x);
        yMin = std::min(yMin, y);
        yMax = std::max(yMax, y);
        values.push_back(y);
    }
    const Range xr = viewRange(xMin, xMax), yr = viewRange(yMin, yMax);
    const auto toX = [&](double x) { return axes.left() + (x - xr.lo) / (xr.hi - xr.lo) * axes.width(); };
    const auto toY = [&](double y) { return axes.bottom() - (y - yr.lo) / (yr.hi - yr.lo) * axes.height(); };

    // The lines, clipped to the axes as matplotlib clips them.
    const std::vector<double> smoothed = smoothCurve(values);
    std::vector<QPolygonF> lines(2);
    for (std::size_t i = 0; i < finite.size(); ++i) {
        lines[0] << QPointF(toX(finite[i].first), toY(finite[i].second));
        lines[1] << QPointF(toX(finite[i].first), toY(smoothed[i]));
    }
    QColor rawColor = kLineColor;
    rawColor.setAlphaF(0.4);
    const std::vector<QPen> pens = {
        QPen(rawColor, kLineWidth, Qt::SolidLine, Qt::SquareCap, Qt::RoundJoin),
        QPen(kLineColor, kLineWidth, Qt::SolidLine, Qt::SquareCap, Qt::RoundJoin)};
    painter.setClipRect(axes);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        painter.setPen(pens[i]);
        painter.drawPolyline(lines[i]);
    }
    painter.setClipping(false);

    // Spines over the lines, then outward ticks with their labels.
    const QPen thin(Qt::black, 1.0);
    painter.setPen(thin);
    painter.drawRect(axes.adjusted(0.5, 0.5, -0.5, -0.5));
    painter.setFont(plotFont(kFontPt));
    const QFontMetricsF fm(painter.font(), painter.device());
    const double labelOffset = kTickLength + kTickPad;

    const auto xTicks = niceTicks(xr.lo, xr.hi, autoBins(axes.width(), 3));
    const int xDecimals = tickDecimals(xTicks);
    for (double t : xTicks) {
        const double x = std::floor(toX(t)) + 0.5;
        painter.drawLine(QPointF(x, axes.bottom()), QPointF(x, axes.bottom() + kTickLength));
        painter.drawText(QRectF(x - w, axes.bottom() + labelOffset, 2 * w, fm.height()),
                         Qt::AlignHCenter | Qt::AlignTop, tickLabel(t, xDecimals));
    }
    const auto yTicks = niceTicks(yr.lo, yr.hi, autoBins(axes.height(), 2));
    const int yDecimals = tickDecimals(yTicks);
    double yLabelsWidth = 0;
    for (double t : yTicks) {
        const double y = std::floor(toY(t)) + 0.5;
        const QString text = tickLabel(t, yDecimals);
        yLabelsWidth = std::max(yLabelsWidth, fm.horizontalAdvance(text));
        painter.drawLine(QPointF(axes.left() - kTickLength, y), QPointF(axes.left(), y));
        painter.drawText(QRectF(axes.left() - labelOffset - w, y - fm.height() / 2, w, fm.height()),
                         Qt::AlignRight | Qt::AlignVCenter, text);
    }

    // Axis labels just outside the tick labels, the y label reading upwards.
    const double xLabelTop = axes.bottom() + labelOffset + fm.height() + kLabelPad;
    painter.drawText(QRectF(axes.left() - w, xLabelTop, axes.width() + 2 * w, fm.height()),
                     Qt::AlignHCenter | Qt::AlignTop, QStringLiteral("step"));
    painter.save();
    painter.translate(axes.left() - labelOffset - yLabelsWidth - kLabelPad, axes.center().y());
    painter.rotate(-90);
    painter.drawText(QRectF(-h, -fm.height(), 2 * h, fm.height()), Qt::AlignHCenter | Qt::AlignBottom,
                     yLabel);
    painter.restore();

    // The title sits on its baseline above the axes. Run folders can be long paths: matplotlib would cut
    // both ends off at the figure's edges, eliding the middle keeps the start and the run's name readable.
    painter.setFont(plotFont(kTitlePt));
    const QFontMetricsF titleFm(painter.font(), painter.device());
    const double titleRoom = 2 * std::min(axes.center().x(), w - axes.center().x()) - 2 * kTitlePad;
    const QString shown = titleFm.elidedText(title, Qt::ElideMiddle, titleRoom);
    painter.drawText(
        QPointF(axes.center().x() - titleFm.horizontalAdvance(shown) / 2, axes.top() - kTitlePad), shown);

    painter.setFont(plotFont(kFontPt));
    drawLegend(painter, axes, lines, pens, {QStringLiteral("original"), QStringLiteral("smoothed")});
    return image;
}

PlotResult plotLoss(const QString& outputDir, const QStringList& keys)
{
    PlotResult result;
    const QDir dir(outputDir);
    const QString statePath = dir.filePath(QStringLiteral("trainer_state.json"));
    QFile file(statePath);
    if (!file.open(QIODevice::ReadOnly)) {
        result.warnings << QStringLiteral("Cannot read %1: %2").arg(statePath, file.errorString());
        return result;
    }
    QJsonParseError error;
    const QJsonDocument state = QJsonDocument::fromJson(file.readAll(), &error);
    if (state.isNull()) {
        result.warnings << QStringLiteral("Cannot parse %1: %2 at offset %3")
                               .arg(statePath, error.errorString())
                               .arg(error.offset);
        return result;
    }
    const QJsonValue history = state.object().value(QStringLiteral("log_history"));
    if (!history.isArray()) {
        result.warnings << QStringLiteral("%1 has no log_history list").arg(statePath);
        return result;
    }

    const QJsonArray log = history.toArray();
    for (const QString& key : keys) {
        // Every entry that has the key, as plot_loss does; a NaN loss reaches JSON as null and is left out.
        std::vector<std::pair<double, double>> points;
        for (const QJsonValue& entry : log) {
            const QJsonObject record = entry.toObject();
            const QJsonValue step = record.value(QStringLiteral("step"));
            const QJsonValue value = record.value(key);
            if (step.isDouble() && value.isDouble())
                points.emplace_back(step.toDouble(), value.toDouble());
        }
        if (points.empty()) {
            result.warnings << QStringLiteral("No metric %1 to plot.").arg(key);
            continue;
        }

        const QString path = dir.filePath(
            QStringLiteral("training_%1.png").arg(QString(key).replace(QLatin1Char('/'), QLatin1Char('_'))));
        const QImage image =
            renderMetricPlot(points, QStringLiteral("training %1 of %2").arg(key, outputDir), key);
        if (image.isNull()) {
            result.warnings << QStringLiteral("Cannot draw %1: drawing text needs a QGuiApplication "
                                              "(the offscreen platform is enough)")
                                   .arg(path);
            continue;
        }
        // QSaveFile writes beside the target and renames, so a reader never sees half a PNG.
        QSaveFile out(path);
        if (!out.open(QIODevice::WriteOnly) || !image.save(&out, "PNG") || !out.commit()) {
            result.warnings << QStringLiteral("Cannot write %1: %2").arg(path, out.errorString());
            continue;
        }
        result.written << path;
    }
    return result;
}

} // namespace lathe
