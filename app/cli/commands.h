// The headless commands of `lathe <command>` (the twin of llamafactory-cli).
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// Whether `name` is a headless command (so main() starts without a display).
bool isCommand(const std::string& name);

/// Runs command `name` with the arguments after it; returns the process exit code. Errors are printed
/// to stderr as "lathe <command>: <message>".
int runCommand(const std::string& name, const std::vector<std::string>& args);

/// The usage text listing every command.
std::string usageText();

} // namespace lathe
