#include "model_arguments.h"

#include "model_selection.h"

namespace lathe {

void addModelArguments(const TopBar* topBar, ArgumentSet& args)
{
    if (!topBar)
        return;
    const ModelSelection s = modelSelection(topBar);
    if (!s.modelPath.isEmpty())
        args.setValue("model_name_or_path", s.modelPath.toStdString(), "form");
    args.setValue("finetuning_type", s.finetuningType.toStdString(), "form");
    args.setValue("template", s.templateName.toStdString(), "form");
    if (!s.ropeScaling.isEmpty())
        args.setValue("rope_scaling", s.ropeScaling.toStdString(), "form");
    if (!s.device.isEmpty())
        args.setValue("device", s.device.toStdString(), "form");
    if (s.workers > 0)
        args.setValue("nproc_per_node", s.workers, "form");
    if (!s.adapters.isEmpty())
        args.setValue("adapter_name_or_path", s.adapters.join(QLatin1Char(',')).toStdString(), "form");
}

} // namespace lathe
