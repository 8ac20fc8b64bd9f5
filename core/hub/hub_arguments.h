// Hub ids in a run's arguments: model_name_or_path and each adapter of adapter_name_or_path that names a repo
// ("Qwen/Qwen3-0.6B") rather than a folder becomes the local snapshot folder (hub/hub.h: the cache first, then a
// download), at model_revision. Called by every command that reads those keys (the CLI's config commands, and
// runTraining for the window), before anything else is opened.
#pragma once

#include "config/argument_schema.h"
#include "hub/hub.h"

namespace lathe {

/// Resolves in place; `options.revision` is taken from model_revision. Throws lathe::Error as resolveModelPath.
void resolveHubArguments(ArgumentSet& args, HubOptions options = {});

} // namespace lathe
