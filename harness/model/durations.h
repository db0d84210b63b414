// Durations and times as socklab reads and writes them, in one place: "250ms", "2s", "1.5s", "1min" in experiment
// files and deadlines; "0.099s" for a moment of an experiment. Issue 14 (readable timelines) builds on these.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace socklab::harness {

using Millis = std::chrono::milliseconds;

// "250ms", "2s", "1.5s", "1min" (no other units, no sign, no space); nullopt if malformed.
std::optional<Millis> parse_duration(const std::string& text);

// A deadline or a length of time, as an experiment file would say it: "2s", "250ms", "1500ms".
std::string duration_text(Millis d);

// A moment or a span in seconds with `decimals` places: seconds_text(0.0987) == "0.099s".
std::string seconds_text(double seconds, int decimals = 3);

}  // namespace socklab::harness
