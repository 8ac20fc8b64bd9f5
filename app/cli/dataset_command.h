// `lathe dataset list|preview|check|stats|register`: the dataset registry from the command line, on the same
// core API the window's dataset dialogs use.
#pragma once

namespace lathe {

class Arguments;

/// Runs `lathe dataset <subcommand>`; returns the exit code (1 when `check` finds nothing usable).
int cmdDataset(const Arguments& args);

} // namespace lathe
