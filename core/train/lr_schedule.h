// Learning-rate schedules as transformers' get_scheduler builds them: a factor of the initial learning rate for
// each optimizer step, LambdaLR-style (step 0 is the first update, so warmup starts at 0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lathe {

struct LrSchedule
{
    std::string type = "linear"; ///< lr_scheduler_type
    std::int64_t warmupSteps = 0;
    std::int64_t totalSteps = 1;
    double minLrRate = 0.1;  ///< cosine_with_min_lr: the floor as a fraction of the initial rate
    double numCycles = -1;   ///< cosine: 0.5, cosine_with_restarts: 1 when negative (transformers' defaults)
    double lrEnd = 1e-7;     ///< polynomial: final learning rate
    double power = 1.0;      ///< polynomial
    double initialLr = 5e-5; ///< polynomial needs it (lr_end is absolute)

    /// The factor for the update with index `step` (0-based).
    double factor(std::int64_t step) const;
    double lr(std::int64_t step) const { return initialLr * factor(step); }
};

/// The names accepted for lr_scheduler_type.
const std::vector<std::string>& lrScheduleTypes();

/// warmup_steps when positive, else ceil(warmup_ratio * total) (TrainingArguments.get_warmup_steps).
std::int64_t warmupStepsFor(std::int64_t warmupSteps, double warmupRatio, std::int64_t totalSteps);

} // namespace lathe
