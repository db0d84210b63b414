// Debian's headless Chromium for the HTML reports' tests: found (installed as root when missing and possible), and
// run with a private profile and a deadline.
#pragma once

#include <string>

namespace testing_support {

// The browser's path, or "" when it is not installed and cannot be.
std::string chromium();

// Runs it headless with `args` (e.g. "--dump-dom file:///x.html"), its stdout into the file `output`; the exit
// status of system() (0: it ran). At most 60 s.
int run_chromium(const std::string& browser, const std::string& args, const std::string& output);

}  // namespace testing_support
