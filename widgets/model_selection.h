// What the top bar selects, resolved as LLaMA-Board resolves it for the Chat and Export tabs: the model folder,
// the adapters (LoRA checkpoints, several separated by commas) and the template. A checkpoint name is a run
// under saves/<model>/<method>/; a full or freeze checkpoint replaces the model instead of being an adapter.
#pragma once

#include <QString>
#include <QStringList>

namespace lathe {

class TopBar;

struct ModelSelection
{
    QString modelPath;
    QStringList adapters;
    QString templateName;
    QString finetuningType;
};

/// The selection of `bar`; empty when `bar` is null.
ModelSelection modelSelection(const TopBar* bar);

} // namespace lathe
