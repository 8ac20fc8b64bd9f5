// The Evaluate & Predict tab (LLaMA-Board's eval.*): scores a model on a dataset and saves its predictions.
// For now a placeholder page saying so.
#include "eval_tab.h"

namespace lathe {

EvalTab::EvalTab(QWidget* parent) : PlaceholderPage(parent)
{
    retranslateUi();
}

void EvalTab::retranslateUi()
{
    setTexts(tr("Evaluate & Predict"),
             tr("Score the model and checkpoint chosen above on a dataset and save its predictions, with "
                "BLEU and ROUGE metrics. Generation is controlled by the maximum number of new tokens, top-p "
                "and temperature."));
}

} // namespace lathe
