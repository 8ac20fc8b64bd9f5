#include "train/run_settings.h"

#include <filesystem>
#include <limits>
#include <regex>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

DeepSpeedSettings readDeepSpeedConfig(const std::string& path)
{
    DeepSpeedSettings d;
    if (path.empty())
        return d;
    std::error_code ec;
    bool offload = false;
    if (std::filesystem::is_regular_file(path, ec)) {
        const auto config = parseJson<nlohmann::json>(readTextFile(path), path);
        const auto zero = config.is_object() ? config.value("zero_optimization", nlohmann::json::object())
                                             : nlohmann::json::object();
        if (!zero.is_object())
            fail("deepspeed: ", path, ": zero_optimization is not an object");
        const auto stage = zero.value("stage", nlohmann::json(0));
        if (!stage.is_number_integer())
            fail("deepspeed: ", path, ": zero_optimization.stage is ", stage.dump(), ", not 0, 1, 2 or 3");
        d.zeroStage = stage.get<int>();
        for (const char* key : {"offload_optimizer", "offload_param"})
            if (zero.contains(key) && zero[key].is_object() && zero[key].value("device", "none") != "none")
                offload = true;
        d.note = "ZeRO stage " + std::to_string(d.zeroStage) + " from " + path;
    } else {
        // LLaMA-Factory's examples name examples/deepspeed/ds_z{0,2,3}[_offload]_config.json relative to its
        // own checkout: the stage is in the name.
        static const std::regex named(R"(ds_z([0-3])(_offload)?_config\.json$)");
        std::smatch m;
        const std::string file = std::filesystem::path(path).filename().string();
        if (!std::regex_search(file, m, named))
            fail("deepspeed: ", path, " does not exist (give a DeepSpeed JSON config, or one of LLaMA-Factory's "
                 "ds_z0_config.json / ds_z2_config.json)");
        d.zeroStage = std::stoi(m[1].str());
        offload = m[2].matched;
        d.note = "ZeRO stage " + std::to_string(d.zeroStage) + " (" + path +
                 " is not on this machine; LLaMA-Factory's config of that name)";
    }
    if (d.zeroStage == 3)
        fail("deepspeed: ", path, " asks for ZeRO stage 3 (parameters partitioned between workers and gathered layer "
             "by layer in every forward and backward pass), which Lathe does not build: use stage 2 "
             "(ds_z2_config.json), which partitions gradients and optimizer state, or LoRA");
    if (d.zeroStage < 0 || d.zeroStage > 3)
        fail("deepspeed: ", path, ": zero_optimization.stage ", d.zeroStage, " is not 0, 1, 2 or 3");
    if (offload)
        d.note += "; CPU offload is not done: the optimizer state stays on the device";
    return d;
}

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
    s.deepSpeed = readDeepSpeedConfig(s.deepspeed);
    if (s.saveSteps <= 0)
        s.saveSteps = std::numeric_limits<std::int64_t>::max();
    return s;
}

} // namespace lathe
