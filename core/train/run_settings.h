// The arguments a training run reads: the schema-bound TrainingArguments (config/training_arguments.h), checked
// once for what this run can do (the stage is one Lathe trains, do_train or do_eval, no neat packing yet), plus
// what the trainer derives from them (the stage's kind of data, the LoRA config).
#pragma once

#include <string>

#include "config/argument_schema.h"
#include "config/stages.h"
#include "config/training_arguments.h"
#include "lora/lora_adapter.h"

namespace lathe {

/// What a `deepspeed:` config asks of Lathe: the ZeRO stage (docs/distributed.md).
struct DeepSpeedSettings
{
    int zeroStage = 0;
    std::string note; ///< how the stage was found, for the log ("" without a config)
};

/// Reads `path` (a DeepSpeed JSON config) for zero_optimization.stage; a path that does not exist but is
/// named as LLaMA-Factory's examples are (ds_z0_config.json, ds_z2_offload_config.json, ...) gives the
/// stage its name says. Throws lathe::Error for stage 3 (parameters partitioned: not built) and for an
/// unreadable config.
DeepSpeedSettings readDeepSpeedConfig(const std::string& path);

struct RunSettings : TrainingArguments
{
    StageData data = StageData::Supervised; ///< the stage's kind of data
    LoraConfig lora;                        ///< lora_* as the adapter code takes them
    DeepSpeedSettings deepSpeed;            ///< from `deepspeed`
};

/// Validates `args` with the schema and binds them; throws lathe::Error listing every problem.
RunSettings runSettingsOf(const ArgumentSet& args);

} // namespace lathe
