// The model part of a run's arguments (model_selection.h turned into keys): model_name_or_path,
// finetuning_type, template, rope_scaling, device and the checkpoint (a LoRA checkpoint is an adapter on the model, a full/freeze one
// is the model itself; a bare checkpoint name lives under saves/<model>/<method>/). Shared by the Train and
// Evaluate tabs so both run exactly the model the top bar shows.
#pragma once

#include "config/argument_schema.h"

namespace lathe {

class TopBar;

/// Sets those keys on `args` (source "form"); nothing when `topBar` is null.
void addModelArguments(const TopBar* topBar, ArgumentSet& args);

} // namespace lathe
