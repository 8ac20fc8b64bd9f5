#include "train/run_settings.h"

#include <limits>

#include "util/error.h"

namespace lathe {

RunSettings runSettingsOf(const ArgumentSet& args)
{
    const auto problems = args.validate();
    if (!problems.empty()) {
        std::string text;
        for (const auto& p : problems)
            text += "\n  " + p;
        fail("the training arguments have problems:", text);
    }
    RunSettings s;
    static_cast<TrainingArguments&>(s) = bindTrainingArguments(args);
    const StageInfo* stage = findStage(s.stage);
    if (!stage)
        fail("stage: \"", s.stage, "\" is not a training stage");
    if (!stage->available)
        fail("stage: ", s.stage, ": ", stage->unavailableWhy);
    s.data = stage->data;
    if (!s.doTrain && !s.doEval)
        fail("do_train: false, so there is nothing to train (set do_train: true, or do_eval: true to evaluate)");
    s.lora.r = s.loraRank;
    s.lora.alpha = s.loraAlphaValue();
    s.lora.dropout = s.loraDropout;
    s.lora.useRslora = s.useRslora;
    s.lora.useDora = s.useDora;
    s.lora.targetModules = s.loraTarget;

    // What Lathe does not do yet (the schema accepts these values).
    if (s.neatPacking)
        fail("neat_packing: not supported yet (needs the block-diagonal attention mask); use packing: true");
    if (!s.additionalTarget.empty())
        fail("additional_target (modules_to_save): not supported yet");
    if (s.saveSteps <= 0)
        s.saveSteps = std::numeric_limits<std::int64_t>::max();
    return s;
}

} // namespace lathe
