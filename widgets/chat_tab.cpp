// The Chat tab (LLaMA-Board's infer.*): loads a model and chats with it. For now a placeholder page saying
// so.
#include "chat_tab.h"

namespace lathe {

ChatTab::ChatTab(QWidget* parent) : PlaceholderPage(parent)
{
    retranslateUi();
}

void ChatTab::retranslateUi()
{
    setTexts(tr("Chat"), tr("Load the model and checkpoint chosen above and chat with it through its chat "
                            "template: a system prompt, tools, replies streamed as they are generated with "
                            "the model's thinking shown apart, and sampling settings."));
}

} // namespace lathe
