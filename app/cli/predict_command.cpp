#include "cli/predict_command.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "cli/train_command.h"
#include "train/predict.h"
#include "train/trainer.h"

namespace lathe {

namespace {

std::atomic<bool> g_abort{false};

void onInterrupt(int)
{
    // The first Ctrl-C stops after the current batch (nothing is written); a second one ends at once.
    if (g_abort.exchange(true))
        std::_Exit(130);
}

} // namespace

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

    TrainCallbacks callbacks;
    callbacks.log = [](const std::string& text) { std::cout << "[INFO] " << text << std::endl; };
    const bool tty = isatty(STDOUT_FILENO);
    if (tty)
        callbacks.progress = [](const TrainProgress& p) {
            std::printf("\r%lld/%lld  %.1f tok/s  %s < %s   ", (long long)p.step, (long long)p.totalSteps,
                        p.tokensPerSecond, formatElapsed(p.elapsedSeconds).c_str(),
                        formatElapsed(p.remainingSeconds).c_str());
            std::fflush(stdout);
        };
    callbacks.abort = &g_abort;
    g_abort = false;
    auto previous = std::signal(SIGINT, onInterrupt);
    TrainResult result;
    try {
        result = runPredictOnly(args, callbacks);
    } catch (...) {
        std::signal(SIGINT, previous);
        throw;
    }
    std::signal(SIGINT, previous);
    if (tty)
        std::printf("\n");
    return result.aborted ? 130 : 0;
}

} // namespace lathe
