// Thinning a long curve for display: the charts keep every point of a run, but a QLineSeries with 100k
// points makes every repaint slow. Min-max bucketing keeps the shape, spikes included: the points are cut
// into equal-width buckets and each bucket contributes its lowest and highest point, in step order.
#pragma once

#include <vector>

#include <QList>
#include <QPointF>

namespace lathe {

/// `points` (sorted by x) thinned to at most 2 * buckets + 2 points; returned as is when already that short.
/// The first and last point, and the lowest and highest value, are always kept.
QList<QPointF> downsampleMinMax(const std::vector<QPointF>& points, int buckets);

} // namespace lathe
