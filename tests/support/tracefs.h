// Test support: the tracefs instances a socklab process made (socklab-PID-N), to prove it removed them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace testing_support {

// The instance directories named socklab-PID-* (empty when tracefs is not mounted or not readable).
std::vector<std::string> tracefs_instances_of(pid_t pid);

}  // namespace testing_support
