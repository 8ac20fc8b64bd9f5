// A hub download from the window (the top bar's Download button): core/hub's resolveModelPath on a thread of its
// own, its progress re-emitted as queued signals, Cancel through an atomic flag (the partial file is kept and a
// later download resumes it). The hub is the one of the environment, which the top bar's hub choice sets
// (USE_MODELSCOPE_HUB / USE_OPENMIND_HUB, as LLaMA-Board does).
#pragma once

#include <atomic>
#include <thread>

#include <QObject>
#include <QString>

namespace lathe {

class HubDownload : public QObject
{
    Q_OBJECT
public:
    explicit HubDownload(QObject* parent = nullptr);
    ~HubDownload() override; ///< cancels and waits

    bool isRunning() const { return m_running; }
    /// Starts fetching `repoId` (nothing when one is running).
    void start(const QString& repoId);
    void cancel();

Q_SIGNALS:
    void progress(qint64 bytesDone, qint64 bytesTotal, const QString& file, double bytesPerSecond);
    void finished(const QString& repoId, const QString& folder);
    void failed(const QString& repoId, const QString& message);

private:
    std::thread m_thread;
    std::atomic<bool> m_cancel{false};
    bool m_running = false;
};

} // namespace lathe
