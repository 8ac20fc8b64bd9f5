#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace lathe {

const std::vector<std::string>& lrScheduleTypes()
{
    static const std::vector<std::string> types = {"linear",        "cosine",
                                                   "cosine_with_restarts", "polynomial",
                                                   "constant",      "constant_with_warmup",
                                                   "inverse_sqrt",  "cosine_with_min_lr"};
    return types;
}

std::int64_t warmupStepsFor(std::int64_t warmupSteps, double warmupRatio, std::int64_t totalSteps)
{
    if (warmupSteps > 0)
        return warmupSteps;
    return static_cast<std::int64_t>(std::ceil(warmupRatio * double(totalSteps)));
}

double LrSchedule::factor(std::int64_t step) const
{
    const double s = double(step), w = double(warmupSteps), total = double(totalSteps);
    const double pi = 3.14159265358979323846;
    if (type == "constant")
        return 1.0;
    // Every other schedule ramps up linearly over the warmup (inverse_sqrt too, with its own divisor).
    if (step < warmupSteps)
        return s / std::max(1.0, w);
    const double progress = (s - w) / std::max(1.0, total - w);
    if (type == "constant_with_warmup")
        return 1.0;
    if (type == "linear")
        return std::max(0.0, (total - s) / std::max(1.0, total - w));
    if (type == "cosine") {
        const double cycles = numCycles < 0 ? 0.5 : numCycles;
        return std::max(0.0, 0.5 * (1.0 + std::cos(pi * cycles * 2.0 * progress)));
    }
    if (type == "cosine_with_restarts") {
        const double cycles = numCycles < 0 ? 1.0 : numCycles;
        if (progress >= 1.0)
            return 0.0;
        return std::max(0.0, 0.5 * (1.0 + std::cos(pi * std::fmod(cycles * progress, 1.0))));
    }
    if (type == "cosine_with_min_lr") {
        const double cycles = numCycles < 0 ? 0.5 : numCycles;
        const double f = 0.5 * (1.0 + std::cos(pi * cycles * 2.0 * progress));
        return f * (1.0 - minLrRate) + minLrRate;
    }
    if (type == "polynomial") {
        if (lrEnd > initialLr)
            fail("polynomial schedule: lr_end (", lrEnd, ") must not exceed the learning rate (", initialLr, ")");
        if (s > total)
            return lrEnd / initialLr;
        const double remaining = 1.0 - (s - w) / std::max(1.0, total - w);
        return ((initialLr - lrEnd) * std::pow(remaining, power) + lrEnd) / initialLr;
    }
    if (type == "inverse_sqrt") {
        const double timescale = warmupSteps > 0 ? w : 10000.0;
        const double shift = timescale - w;
        return 1.0 / std::sqrt((s + shift) / timescale);
    }
    fail("lr_scheduler_type: unknown schedule \"", type, "\"");
}

} // namespace lathe
