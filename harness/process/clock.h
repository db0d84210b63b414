// The one clock of socklab: every deadline, every moment of an experiment (monotonic: never jumps with the wall
// clock).
#pragma once

#include <chrono>

namespace socklab::harness {

using Clock = std::chrono::steady_clock;

}  // namespace socklab::harness
