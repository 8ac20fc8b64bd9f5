// The Evaluate & Predict tab (LLaMA-Board's eval.*): scores a model on a dataset and saves its predictions.
// For now a placeholder page saying so.
#pragma once

#include "placeholder_page.h"

namespace lathe {

class EvalTab : public PlaceholderPage
{
    Q_OBJECT
public:
    explicit EvalTab(QWidget* parent = nullptr);

protected:
    void retranslateUi() override;
};

} // namespace lathe
