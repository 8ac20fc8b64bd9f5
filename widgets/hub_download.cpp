#include "hub_download.h"

#include <QMetaObject>
#include <QPointer>

#include "hub/hub.h"

namespace lathe {

HubDownload::HubDownload(QObject* parent) : QObject(parent) {}

HubDownload::~HubDownload()
{
    m_cancel = true;
    if (m_thread.joinable())
        m_thread.join();
}

void HubDownload::start(const QString& repoId)
{
    if (m_running)
        return;
    if (m_thread.joinable())
        m_thread.join();
    m_running = true;
    m_cancel = false;
    const std::string id = repoId.trimmed().toStdString();
    m_thread = std::thread([this, id] {
        HubOptions options;
        options.cancel = &m_cancel;
        options.progress = [this](const HubProgress& p) {
            QMetaObject::invokeMethod(this, [this, p] {
                Q_EMIT progress(p.bytesDone, p.bytesTotal, QString::fromStdString(p.file), p.bytesPerSecond);
            }, Qt::QueuedConnection);
        };
        QString folder, error;
        try {
            folder = QString::fromStdString(resolveModelPath(id, options).string());
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(this, [this, id, folder, error] {
            m_running = false;
            if (error.isEmpty())
                Q_EMIT finished(QString::fromStdString(id), folder);
            else
                Q_EMIT failed(QString::fromStdString(id), error);
        }, Qt::QueuedConnection);
    });
}

void HubDownload::cancel()
{
    m_cancel = true;
}

} // namespace lathe
