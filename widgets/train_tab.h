// The Train tab (LLaMA-Board's train.*): stage, datasets, hyperparameters, and the run with its loss curve.
// For now a placeholder page saying so.
#pragma once

#include "placeholder_page.h"

namespace lathe {

class TrainTab : public PlaceholderPage
{
    Q_OBJECT
public:
    explicit TrainTab(QWidget* parent = nullptr);

protected:
    void retranslateUi() override;
};

} // namespace lathe
