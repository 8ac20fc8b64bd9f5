// Entry point of `lathe`: no arguments opens the workbench window; a command runs headless.
#include <string>
#include <vector>

#include <QApplication>
#include <QCoreApplication>

#include "cli/commands.h"
#include "main_window.h"

int main(int argc, char** argv)
{
    if (argc > 1 && lathe::isCommand(argv[1])) {
        QCoreApplication app(argc, argv); // no display needed
        QCoreApplication::setApplicationName("lathe");
        std::vector<std::string> args(argv + 2, argv + argc);
        return lathe::runCommand(argv[1], args);
    }
    if (argc > 1) {
        // Not a command: let runCommand print the usage and fail.
        return lathe::runCommand(argv[1], {});
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName("Lathe");
    QApplication::setOrganizationName("Lathe");
    lathe::MainWindow window;
    window.show();
    return app.exec();
}
