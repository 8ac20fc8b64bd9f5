// The Export tab (LLaMA-Board's export.*): merges adapters and writes the model out. For now a placeholder
// page saying so.
#pragma once

#include "placeholder_page.h"

namespace lathe {

class ExportTab : public PlaceholderPage
{
    Q_OBJECT
public:
    explicit ExportTab(QWidget* parent = nullptr);

protected:
    void retranslateUi() override;
};

} // namespace lathe
