#include "cli/train_command.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "hub/hub_arguments.h"
#include "config/argument_schema.h"
#include "plot/loss_plot.h"
#include "runtime/device.h"
#include "train/trainer.h"
#include "util/error.h"

namespace lathe {

namespace {

std::atomic<bool> g_abort{false};

void onInterrupt(int)
{
    // The first Ctrl-C stops after the current step and saves; a second one ends the process at once.
    if (g_abort.exchange(true))
        std::_Exit(130);
}

bool isConfigFile(const std::string& arg)
{
    for (const char* ext : {".yaml", ".yml", ".json"}) {
        const std::string e(ext);
        if (arg.size() > e.size() && arg.compare(arg.size() - e.size(), e.size(), e) == 0)
            return true;
    }
    return false;
}

} // namespace

HubOptions consoleHubOptions()
{
    HubOptions options;
    options.log = [](const std::string& line) { std::cerr << "[INFO] " << line << "\n"; };
    const bool tty = isatty(fileno(stderr));
    options.progress = [tty](const HubProgress& p) {
        if (tty) {
            std::cerr << "\r" << formatHubProgress(p) << "   " << (p.bytesDone >= p.bytesTotal && p.fileIndex == p.fileCount ? "\n" : "")
                      << std::flush;
        }
    };
    return options;
}

ConfigCommandLine parseConfigCommandLine(const std::vector<std::string>& argv)
{
    ConfigCommandLine line;
    std::size_t i = 0;
    if (!argv.empty() && isConfigFile(argv[0]))
        line.args = ArgumentSet::fromYamlFile(argv[i++]);
    for (; i < argv.size(); ++i) {
        std::string arg = argv[i], key, value;
        const bool dashed = arg.rfind("--", 0) == 0;
        if (dashed)
            arg = arg.substr(2);
        const auto eq = arg.find('=');
        if (eq != std::string::npos) {
            key = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        } else if (dashed) {
            key = arg;
            if (i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0 && argv[i + 1].find('=') == std::string::npos)
                value = argv[++i];
            else
                value = "true";
        } else {
            fail("unexpected argument \"", argv[i], "\" (give the config file first, then key=value overrides)");
        }
        // Lathe's own options, not LLaMA-Factory keys.
        if (key == "threads") {
            line.threads = std::stoi(value);
            continue;
        }
        if (key == "dry_run") {
            line.dryRun = value != "false";
            continue;
        }
        line.args.set(key, value);
    }
    for (const auto& [key, reason] : line.args.ignored())
        std::cerr << "[WARNING] " << key << " is ignored: " << reason << "\n";
    setThreads(line.threads);
    if (!line.dryRun)
        resolveHubArguments(line.args, consoleHubOptions());
    return line;
}

TrainResult runWithConsole(const std::function<TrainResult(const TrainCallbacks&)>& run,
                           const std::function<std::string(const TrainProgress&)>& progressLine)
{
    TrainCallbacks callbacks;
    callbacks.log = [](const std::string& line) { std::cout << "[INFO] " << line << std::endl; };
    const bool tty = isatty(STDOUT_FILENO);
    if (tty)
        callbacks.progress = [&](const TrainProgress& p) {
            std::printf("\r%s", progressLine(p).c_str());
            std::fflush(stdout);
        };
    callbacks.abort = &g_abort;
    g_abort = false;
    // Ctrl-C and SIGTERM (what schedulers and systemctl send first) stop after the current step and save.
    auto previous = std::signal(SIGINT, onInterrupt);
    auto previousTerm = std::signal(SIGTERM, onInterrupt);
    TrainResult result;
    try {
        result = run(callbacks);
    } catch (...) {
        std::signal(SIGINT, previous);
        std::signal(SIGTERM, previousTerm);
        throw;
    }
    std::signal(SIGINT, previous);
    std::signal(SIGTERM, previousTerm);
    if (tty)
        std::printf("\n");
    return result;
}

int runTrainCommand(const std::vector<std::string>& argv)
{
    auto line = parseConfigCommandLine(argv);
    const ArgumentSet& args = line.args;
    const bool dryRun = line.dryRun;
    if (dryRun) {
        // What would run: the arguments as YAML and as one command, and what is wrong with them.
        std::cout << args.toYaml() << "\n" << args.toCommandLine() << "\n";
        const auto problems = args.validate();
        for (const auto& p : problems)
            std::cerr << "[ERROR] " << p << "\n";
        return problems.empty() ? 0 : 2;
    }

    const TrainResult result = runWithConsole(
        [&](const TrainCallbacks& callbacks) { return runTraining(args, callbacks); },
        [](const TrainProgress& p) {
            char line[256];
            std::snprintf(line, sizeof line, "%lld/%lld  loss %.4f  lr %.3g  %.0f tok/s  %s < %s   ",
                          (long long)p.step, (long long)p.totalSteps, p.loss.value_or(0), p.learningRate,
                          p.tokensPerSecond, formatElapsed(p.elapsedSeconds).c_str(),
                          formatElapsed(p.remainingSeconds).c_str());
            return std::string(line);
        });
    if (result.rank != 0)
        return 0; // a worker of a data-parallel run: rank 0 reports, writes and says whether the job was stopped
    std::cout << "***** train metrics *****\n";
    for (auto it = result.metrics.begin(); it != result.metrics.end(); ++it)
        std::cout << "  " << it.key() << " = " << it.value().dump() << "\n";
    if (args.getBool("plot_loss")) {
        const auto plotted = plotLoss(QString::fromStdString(result.outputDir), {"loss", "eval_loss"});
        for (const auto& w : plotted.warnings)
            std::cerr << "[WARNING] " << w.toStdString() << "\n";
        for (const auto& f : plotted.written)
            std::cout << "[INFO] Figure saved at: " << f.toStdString() << "\n";
    }
    return result.aborted ? 130 : 0;
}

} // namespace lathe
