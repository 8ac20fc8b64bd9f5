// Runs the Chat tab's model work in a worker thread (see chat_runner.h).
#include "chat_runner.h"

#include <exception>

namespace lathe {

ChatRunner::ChatRunner(QObject* parent) : QObject(parent), m_session(std::make_shared<ChatSession>())
{
    qRegisterMetaType<lathe::ChatSessionReply>();
}

ChatRunner::~ChatRunner()
{
    m_cancel = true;
    if (m_thread.joinable())
        m_thread.join();
}

template <typename Work> void ChatRunner::startWorker(Work work)
{
    if (m_thread.joinable())
        m_thread.join();
    m_cancel = false;
    m_busy = true;
    m_thread = std::thread(std::move(work));
}

void ChatRunner::finish()
{
    // In the GUI thread, after the worker posted its last event: the join is immediate.
    if (m_thread.joinable())
        m_thread.join();
    m_busy = false;
    Q_EMIT idle();
}

bool ChatRunner::load(const ChatSessionOptions& options)
{
    if (m_busy)
        return false;
    m_loaded = false;
    startWorker([this, options, session = m_session] {
        QString error;
        try {
            session->load(options);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, error] {
                m_loaded = error.isEmpty();
                Q_EMIT loadFinished(error.isEmpty(), error);
                finish();
            },
            Qt::QueuedConnection);
    });
    return true;
}

bool ChatRunner::unload()
{
    if (m_busy)
        return false;
    m_session->unload();
    m_loaded = false;
    return true;
}

bool ChatRunner::chat(const ChatSessionRequest& request)
{
    if (m_busy || !m_loaded)
        return false;
    startWorker([this, request, session = m_session] {
        auto onDelta = [this](const std::string& reasoning, const std::string& content) {
            QMetaObject::invokeMethod(
                this,
                [this, r = QByteArray::fromStdString(reasoning), c = QByteArray::fromStdString(content)] {
                    Q_EMIT delta(r, c);
                },
                Qt::QueuedConnection);
            return !m_cancel.load();
        };
        try {
            const ChatSessionReply reply = session->chat(request, onDelta, &m_cancel);
            QMetaObject::invokeMethod(
                this,
                [this, reply] {
                    Q_EMIT replyFinished(reply);
                    finish();
                },
                Qt::QueuedConnection);
        } catch (const std::exception& e) {
            QMetaObject::invokeMethod(
                this,
                [this, message = QString::fromUtf8(e.what())] {
                    Q_EMIT replyFailed(message);
                    finish();
                },
                Qt::QueuedConnection);
        }
    });
    return true;
}

void ChatRunner::stop()
{
    if (m_busy)
        m_cancel = true;
}

} // namespace lathe
