// Durations and times as socklab reads and writes them, in one place: "250ms", "2s", "1.5s", "1min" in experiment
// files and deadlines; "0.099s" for a moment of an experiment, "0.098712s" where microseconds tell events apart, and
// "12 µs", "1.3 ms", "0.50 s" for the span between two events (timelines).
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

// A moment of an experiment to the microsecond, for timelines (a loopback connection lives well under a
// millisecond): moment_text(0.0987123) == "0.098712s".
std::string moment_text(double seconds);

// A span between two events in the unit that suits it, for people: "0 µs", "12 µs", "999 µs", "1.3 ms", "12 ms",
// "99 ms", then seconds: "0.10 s", "0.50 s", "61.50 s" (span_text(0.000012) == "12 µs"; negative spans count as 0).
std::string span_text(double seconds);

}  // namespace socklab::harness
