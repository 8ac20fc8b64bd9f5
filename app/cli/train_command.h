// `lathe train config.yaml [key=value | --key value ...]`: llamafactory-cli train's twin.
#pragma once

#include "hub/hub.h"

#include <functional>
#include <string>
#include <vector>

#include "config/argument_schema.h"
#include "train/trainer.h"

namespace lathe {

/// A command line in llamafactory-cli's form: an optional leading YAML/JSON config, then key=value,
/// --key=value or --key value overrides (a bare --flag is true), plus Lathe's own options.
struct ConfigCommandLine
{
    ArgumentSet args;
    int threads = 0;     ///< --threads N (0: one per core)
    bool dryRun = false; ///< --dry_run: print what would run
};
ConfigCommandLine parseConfigCommandLine(const std::vector<std::string>& argv);

/// Hub download settings for a terminal: log lines and a progress line on stderr.
HubOptions consoleHubOptions();

/// Runs `run` (runTraining or runPredictOnly) for a command: log lines as "[INFO] ...", `progressLine` printed
/// over itself on a terminal, and the first Ctrl-C asking the run to stop (a second one exits at once).
TrainResult runWithConsole(const std::function<TrainResult(const TrainCallbacks&)>& run,
                           const std::function<std::string(const TrainProgress&)>& progressLine);

/// Runs training from the command line; returns the exit code (0 done, 1 failed, 130 aborted by Ctrl-C).
int runTrainCommand(const std::vector<std::string>& args);

} // namespace lathe
