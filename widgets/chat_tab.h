// The Chat tab (LLaMA-Board's infer.*): loads a model and chats with it. For now a placeholder page saying
// so.
#pragma once

#include "placeholder_page.h"

namespace lathe {

class ChatTab : public PlaceholderPage
{
    Q_OBJECT
public:
    explicit ChatTab(QWidget* parent = nullptr);

protected:
    void retranslateUi() override;
};

} // namespace lathe
