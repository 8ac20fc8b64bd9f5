#include "hub/hub_arguments.h"

namespace lathe {

void resolveHubArguments(ArgumentSet& args, HubOptions options)
{
    if (!args.getString("model_revision").empty())
        options.revision = args.getString("model_revision");
    const std::string model = args.getString("model_name_or_path");
    if (looksLikeRepoId(model))
        args.set("model_name_or_path", resolveModelPath(model, options).string(), "hub");
    const std::string adapters = args.getString("adapter_name_or_path");
    if (adapters.empty())
        return;
    std::string resolved;
    bool changed = false;
    std::size_t from = 0;
    while (from <= adapters.size()) {
        const std::size_t comma = std::min(adapters.find(',', from), adapters.size());
        std::string item = adapters.substr(from, comma - from);
        while (!item.empty() && item.front() == ' ')
            item.erase(item.begin());
        while (!item.empty() && item.back() == ' ')
            item.pop_back();
        if (looksLikeRepoId(item)) {
            HubOptions adapterOptions = options;
            adapterOptions.revision = "main"; // model_revision is the base model's
            item = resolveModelPath(item, adapterOptions).string();
            changed = true;
        }
        resolved += (resolved.empty() ? "" : ",") + item;
        from = comma + 1;
    }
    if (changed)
        args.set("adapter_name_or_path", resolved, "hub");
}

} // namespace lathe
