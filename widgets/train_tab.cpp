// The Train tab (LLaMA-Board's train.*): stage, datasets, hyperparameters, and the run with its loss curve.
// For now a placeholder page saying so.
#include "train_tab.h"

namespace lathe {

TrainTab::TrainTab(QWidget* parent) : PlaceholderPage(parent)
{
    retranslateUi();
}

void TrainTab::retranslateUi()
{
    setTexts(tr("Train"),
             tr("Fine-tune the model chosen above on your datasets: pick the training stage and the "
                "datasets, set the learning rate, epochs, batch size and LoRA rank, preview the equivalent "
                "command, then start a run and follow its progress and loss curve. Runs are saved under "
                "saves/<model>/<method>/, and their checkpoints appear in the checkpoint picker."));
}

} // namespace lathe
