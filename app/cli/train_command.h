// `lathe train config.yaml [key=value | --key value ...]`: llamafactory-cli train's twin.
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// Runs training from the command line; returns the exit code (0 done, 1 failed, 130 aborted by Ctrl-C).
int runTrainCommand(const std::vector<std::string>& args);

} // namespace lathe
