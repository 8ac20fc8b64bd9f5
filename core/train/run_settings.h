// The arguments a training run reads: the schema-bound TrainingArguments (config/training_arguments.h), checked
// once for what this run can do (the stage is one Lathe trains, do_train or do_eval, no neat packing yet), plus
// what the trainer derives from them (the stage's kind of data, the LoRA config).
#pragma once

#include "config/argument_schema.h"
#include "config/stages.h"
#include "config/training_arguments.h"
#include "lora/lora_adapter.h"

namespace lathe {

struct RunSettings : TrainingArguments
{
    StageData data = StageData::Supervised; ///< the stage's kind of data
    LoraConfig lora;                        ///< lora_* as the adapter code takes them
};

/// Validates `args` with the schema and binds them; throws lathe::Error listing every problem.
RunSettings runSettingsOf(const ArgumentSet& args);

} // namespace lathe
