#include "cli/predict_command.h"

#include <cstdio>
#include <iostream>

#include "cli/train_command.h"
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

} // namespace lathe
