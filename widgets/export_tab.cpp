// The Export tab (LLaMA-Board's export.*): merges adapters and writes the model out. For now a placeholder
// page saying so.
#include "export_tab.h"

namespace lathe {

ExportTab::ExportTab(QWidget* parent) : PlaceholderPage(parent)
{
    retranslateUi();
}

void ExportTab::retranslateUi()
{
    setTexts(
        tr("Export"),
        tr("Merge the LoRA adapters of the chosen checkpoint into the base model and write the result as "
           "safetensors shards of a chosen size, or as a GGUF file for llama.cpp, optionally quantized."));
}

} // namespace lathe
