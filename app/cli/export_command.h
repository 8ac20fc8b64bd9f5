// `lathe export config.yaml [key=value ...]`: llamafactory-cli export's twin, plus GGUF.
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// Runs the export from the command line; returns the exit code.
int runExportCommand(const std::vector<std::string>& args);

} // namespace lathe
