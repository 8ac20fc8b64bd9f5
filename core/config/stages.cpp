#include "config/stages.h"

namespace lathe {

const std::vector<StageInfo>& trainingStages()
{
    static const std::vector<StageInfo> stages = {
        {"sft", "Supervised Fine-Tuning", StageData::Supervised, true, "", {}},
        {"rm", "Reward Modeling", StageData::Pairwise, true, "", {}},
        {"ppo", "PPO", StageData::Supervised, false,
         "PPO needs a reward model and generation inside the training loop; Lathe does not train it yet.",
         {"reward_model", "ppo_score_norm", "ppo_whiten_rewards"}},
        {"dpo", "DPO", StageData::Pairwise, true, "",
         {"pref_beta", "pref_ftx", "pref_loss", "dpo_label_smoothing", "simpo_gamma", "ld_alpha", "pref_bco_weight",
          "ref_model", "ref_model_adapters"}},
        {"kto", "KTO", StageData::Feedback, true, "",
         {"pref_beta", "pref_ftx", "kto_chosen_weight", "kto_rejected_weight", "ref_model", "ref_model_adapters"}},
        {"pt", "Pre-Training", StageData::Unsupervised, true, "", {}},
    };
    return stages;
}

const StageInfo* findStage(const std::string& name)
{
    for (const auto& stage : trainingStages())
        if (stage.name == name)
            return &stage;
    return nullptr;
}

bool stageUsesRanking(const std::string& name)
{
    const auto* stage = findStage(name);
    return stage && stage->data == StageData::Pairwise;
}

} // namespace lathe
