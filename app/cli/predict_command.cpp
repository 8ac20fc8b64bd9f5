#include "cli/predict_command.h"

#include <cstdio>
#include <iostream>

#include "cli/train_command.h"
#include "config/stages.h"
#include "eval/benchmark_runner.h"
#include "train/predict.h"
#include "train/trainer.h"

namespace lathe {

int runPredictCommand(const std::vector<std::string>& argv)
{
    auto line = parseConfigCommandLine(argv);
    ArgumentSet& args = line.args;
    args.set("do_train", "false");
    args.set("do_predict", "true");
    args.set("predict_with_generate", "true");
    if (line.dryRun) {
        std::cout << args.toYaml() << "\n" << args.toCommandLine() << "\n";
        return 0;
    }

    const TrainResult result = runWithConsole(
        [&](const TrainCallbacks& callbacks) { return runPredictOnly(args, callbacks); },
        [](const TrainProgress& p) {
            char line[160];
            std::snprintf(line, sizeof line, "%lld/%lld  %.1f tok/s  %s < %s   ", (long long)p.step,
                          (long long)p.totalSteps, p.tokensPerSecond, formatElapsed(p.elapsedSeconds).c_str(),
                          formatElapsed(p.remainingSeconds).c_str());
            return std::string(line);
        });
    return result.aborted ? 130 : 0;
}

int runEvalCommand(const std::vector<std::string>& argv)
{
    // A `task` (mmlu_test, cmmlu_test, ceval_validation) is a benchmark, as llamafactory-cli eval. Otherwise the
    // preference stages (rm, dpo, kto) evaluate their loss and metrics; the others predict as `lathe predict` does.
    auto line = parseConfigCommandLine(argv);
    if (!line.args.getString("task").empty()) {
        if (line.dryRun) {
            std::cout << line.args.toYaml() << "\n" << line.args.toCommandLine("lathe eval") << "\n";
            return 0;
        }
        const TrainResult result = runWithConsole(
            [&](const TrainCallbacks& callbacks) { return runBenchmarkEvaluation(line.args, callbacks); },
            [](const TrainProgress& p) {
                char text[160];
                std::snprintf(text, sizeof text, "%lld/%lld questions  %s < %s   ", (long long)p.step,
                              (long long)p.totalSteps, formatElapsed(p.elapsedSeconds).c_str(),
                              formatElapsed(p.remainingSeconds).c_str());
                return std::string(text);
            });
        return result.aborted ? 130 : 0;
    }
    const std::string stage = line.args.getString("stage");
    const StageInfo* info = findStage(stage);
    if (!info || info->data == StageData::Supervised || info->data == StageData::Unsupervised)
        return runPredictCommand(argv);
    ArgumentSet& args = line.args;
    args.set("do_train", "false");
    args.set("do_eval", "true");
    if (line.dryRun) {
        std::cout << args.toYaml() << "\n" << args.toCommandLine("lathe eval") << "\n";
        return 0;
    }
    const TrainResult result = runWithConsole(
        [&](const TrainCallbacks& callbacks) { return runTraining(args, callbacks); },
        [](const TrainProgress&) { return std::string(); });
    std::cout << "***** eval metrics *****\n";
    for (const auto& [key, value] : result.metrics.items())
        std::cout << "  " << key << " = " << value.dump() << "\n";
    return result.aborted ? 130 : 0;
}

} // namespace lathe
