// Test support: the tracefs instances a socklab process made, to prove it removed them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace testing_support {

// socklab names its instances socklab-PIDNS-PID-N (PIDNS: the inode of its pid namespace, which it shares with
// the test). The prefix for `pid`, "socklab-PIDNS-PID-".
std::string tracefs_instance_prefix(pid_t pid);
// The instance directories with that prefix (empty when tracefs is not mounted or not readable).
std::vector<std::string> tracefs_instances_of(pid_t pid);

}  // namespace testing_support
