// Entry point of `lathe`: no arguments opens the workbench window; a command runs headless.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <QApplication>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QTabWidget>
#include <QTimer>

#include "cli/commands.h"
#include "hub/hub.h"
#include "main_window.h"
#include "model_catalog.h"

namespace {

// LLaMA-Board's catalogue of models: a hub id nobody has ("Qwen/Qwen3-0.6b") is answered with the closest of these.
void registerCatalogueIds()
{
    std::vector<std::string> ids;
    const lathe::ModelCatalog& catalog = lathe::ModelCatalog::builtIn();
    for (const QString& name : catalog.modelNames())
        for (const QString& hub : lathe::ModelCatalog::hubs())
            ids.push_back(catalog.hubPath(name, hub).toStdString());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    lathe::setKnownRepoIds(std::move(ids));
}

} // namespace

int main(int argc, char** argv)
{
    if (argc > 1 && lathe::isCommand(argv[1])) {
        std::vector<std::string> args(argv + 2, argv + argc);
        if (std::string(argv[1]) == "train") {
            // train draws training_loss.png: text needs a QGuiApplication, the offscreen platform needs no display.
            std::vector<char*> qtArgs(argv, argv + argc);
            static char platform[] = "-platform", offscreen[] = "offscreen";
            qtArgs.insert(qtArgs.begin() + 1, {platform, offscreen});
            int qtArgc = int(qtArgs.size());
            QGuiApplication app(qtArgc, qtArgs.data());
            QCoreApplication::setApplicationName("lathe");
            registerCatalogueIds();
            return lathe::runCommand(argv[1], args);
        }
        QCoreApplication app(argc, argv); // no display needed
        QCoreApplication::setApplicationName("lathe");
        registerCatalogueIds();
        return lathe::runCommand(argv[1], args);
    }
    // `lathe workbench [--config train.yaml] [--model_name_or_path M] [--template T] [--adapter_name_or_path A]
    // [--dataset_dir D] [--dataset N]`: the window with those arguments, model and data already chosen (the
    // README's demo opens it so).
    const bool workbench = argc > 1 && std::string(argv[1]) == "workbench";
    if (argc > 1 && !workbench) {
        // Not a command: let runCommand print the usage and fail.
        return lathe::runCommand(argv[1], {});
    }
    lathe::WorkbenchSelection selection;
    for (int i = 2; workbench && i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const QString value = QString::fromLocal8Bit(argv[i + 1]);
        if (key == "--model_name_or_path")
            selection.modelPath = value;
        else if (key == "--template")
            selection.templateName = value;
        else if (key == "--adapter_name_or_path")
            selection.checkpoint = value;
        else if (key == "--dataset_dir")
            selection.datasetDir = value;
        else if (key == "--dataset")
            selection.datasets = value.split(',', Qt::SkipEmptyParts);
        else if (key == "--config")
            selection.config = value;
        else {
            std::cerr << "lathe workbench: unknown option " << key
                      << " (--config, --model_name_or_path, --template, --adapter_name_or_path, --dataset_dir, --dataset)\n";
            return 2;
        }
    }
    QApplication app(argc, argv);
    registerCatalogueIds();
    QApplication::setApplicationName("Lathe");
    QApplication::setOrganizationName("Lathe");
    lathe::MainWindow window;
    if (workbench)
        window.preselect(selection);
    // For tools/screenshots.sh: LATHE_LANGUAGE (en, zh) and LATHE_TAB (0-3) pick what is shown, and
    // LATHE_SCREENSHOT=<file.png> saves the window there once it is drawn, then quits.
    if (qEnvironmentVariableIsSet("LATHE_LANGUAGE"))
        window.setLanguage(qEnvironmentVariable("LATHE_LANGUAGE"));
    if (qEnvironmentVariableIsSet("LATHE_TAB"))
        window.tabs()->setCurrentIndex(qEnvironmentVariableIntValue("LATHE_TAB"));
    window.show();
    const QString screenshot = qEnvironmentVariable("LATHE_SCREENSHOT");
    if (!screenshot.isEmpty()) {
        QTimer::singleShot(1500, &window, [&window, screenshot] {
            const bool saved = window.grab().save(screenshot);
            QCoreApplication::exit(saved ? 0 : 1);
        });
    }
    return app.exec();
}
