#include "chromium.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace testing_support {

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(c, X_OK) == 0) return c;
  }
  if (getuid() == 0 && system("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium > /dev/null 2>&1") == 0 &&
      access("/usr/bin/chromium", X_OK) == 0) {
    return "/usr/bin/chromium";
  }
  return "";
}

int run_chromium(const std::string& browser, const std::string& args, const std::string& output) {
  std::string profile = testing::TempDir() + "chromium_profile_" + std::to_string(getpid());
  std::string command = "timeout 60 " + browser +
                        " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
                        " --disable-component-update --disable-sync --user-data-dir=" + profile + " " + args + " > " + output +
                        " 2>/dev/null";
  return system(command.c_str());
}

}  // namespace testing_support
