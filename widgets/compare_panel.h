// "Compare" in the Chat tab (beyond LLaMA-Board): one prompt answered side by side by the base model alone and
// by the base model with the chosen LoRA adapters, so the effect of a fine-tune is visible at a glance.
//
// Each side has its own ChatRunner (its own model, on its own worker thread); a side keeps its model loaded
// between comparisons while the options stay the same, and Close frees both.
#pragma once

#include <QByteArray>
#include <QString>
#include <QWidget>

#include "session/chat_session.h"

class QLabel;
class QPushButton;
class QTextBrowser;

namespace lathe {

class ChatRunner;

class ComparePanel : public QWidget
{
    Q_OBJECT
public:
    enum Side { Base = 0, Adapted = 1 };

    explicit ComparePanel(QWidget* parent = nullptr);
    ~ComparePanel() override;

    /// Answers `request` with `options` (model + adapters) and with the same options but no adapters, loading
    /// what is not loaded yet. False (nothing started) while busy or when `options` has no adapter.
    bool compare(const ChatSessionOptions& options, const ChatSessionRequest& request);
    void stop();
    /// Stops and frees both models, hides the panel.
    void closePanel();
    bool isBusy() const;

    /// The answer shown on a side (the thought apart), as UTF-8 text.
    QString answer(Side side) const;
    QTextBrowser* view(Side side) const { return m_sides[side].view; }
    QLabel* statsLabel(Side side) const { return m_sides[side].stats; }
    QLabel* titleLabel(Side side) const { return m_sides[side].title; }
    QPushButton* stopButton() const { return m_stop; }
    QPushButton* closeButton() const { return m_close; }

Q_SIGNALS:
    /// Both sides have answered (or failed, or were stopped).
    void finished();

protected:
    void changeEvent(QEvent* event) override;

private:
    struct SideState
    {
        ChatRunner* runner = nullptr;
        ChatSessionOptions loaded; ///< what the runner holds, when `hasModel`
        bool hasModel = false;
        bool running = false;
        bool asked = false; ///< the request went to the runner (else it waits for the load)
        ChatSessionRequest pending;
        QByteArray reasoning, content;
        QString error, statsText;
        QTextBrowser* view = nullptr;
        QLabel* title = nullptr;
        QLabel* stats = nullptr;
    };

    void startSide(Side side, const ChatSessionOptions& options);
    void render(Side side);
    void sideDone(Side side);
    void retranslateUi();

    SideState m_sides[2];
    QStringList m_adapterNames;
    QPushButton* m_stop = nullptr;
    QPushButton* m_close = nullptr;
    QLabel* m_heading = nullptr;
};

} // namespace lathe
