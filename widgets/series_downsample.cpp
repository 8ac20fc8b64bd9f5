// Min-max thinning of a curve for display (see series_downsample.h).
#include "series_downsample.h"

#include <algorithm>

namespace lathe {

QList<QPointF> downsampleMinMax(const std::vector<QPointF>& points, int buckets)
{
    const std::size_t n = points.size();
    QList<QPointF> out;
    if (buckets < 1 || n <= std::size_t(2 * buckets)) {
        out.reserve(qsizetype(n));
        for (const QPointF& p : points)
            out.append(p);
        return out;
    }
    out.reserve(2 * buckets + 2);
    out.append(points.front());
    // Buckets by index, not by x: steps are evenly spaced, and this needs no search.
    for (int b = 0; b < buckets; ++b) {
        const std::size_t begin = n * std::size_t(b) / std::size_t(buckets);
        const std::size_t end = std::max(begin + 1, n * std::size_t(b + 1) / std::size_t(buckets));
        std::size_t lo = begin, hi = begin;
        for (std::size_t i = begin; i < end; ++i) {
            if (points[i].y() < points[lo].y())
                lo = i;
            if (points[i].y() > points[hi].y())
                hi = i;
        }
        const std::size_t first = std::min(lo, hi), second = std::max(lo, hi);
        if (first != 0 && first != n - 1)
            out.append(points[first]);
        if (second != first && second != n - 1)
            out.append(points[second]);
    }
    out.append(points.back());
    return out;
}

} // namespace lathe
