// The result and its parts as bytes and back (run/serialize.h): what the experiment's process hands to
// socklab's.
#include "run/serialize.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace socklab::harness;

namespace {

// Every field set, to values no default has; strings with bytes that are not UTF-8, and a NUL.
ExperimentResult full_result() {
  SocketInfo socket{Protocol::kUdp,
                    10,
                    "ESTAB",
                    "::1",
                    "*",
                    40712,
                    8888,
                    3,
                    4,
                    1234567890123ull,
                    "timewait",
                    59000,
                    {SocketOwner{4242, "echo_server", 7}},
                    3};
  Packet packet{0.1 + 1e-17, "127.0.0.1:40712", "127.0.0.1:8888", 40712, 8888,    true, true, true, true,
                true,        4000000000u,       123456789u,       5,     "hello", true};
  ExperimentResult r;
  r.file = "experiments/lab1/echo.xml";
  r.id = "lab1.echo";
  r.title = "echo";
  r.about = "about \xff\xfe bytes";
  r.lab = "1";
  r.graded = false;
  r.isolation = Isolation::kNetns;
  r.capture = "sock_diag";
  r.notes = {"a note", std::string("with a \0 inside", 15)};
  r.steps = {StepRecord{1.0 / 3, 12, "start server: echo_server 40001", false}};
  r.checks = {CheckResult{"reversed", 14, CheckResult::Status::kFailed, 2, 5, 2.5, "line \"olleh\"",
                          "\"hello\"", "reverse it", "client stdout:\n..."},
              CheckResult{"later", 15, CheckResult::Status::kNotRun, 0, 1, 2.75, "", "not run: x", "", ""}};
  r.snapshots = {SnapshotRecord{"after connect", 13, 1.25, {socket}}};
  r.processes = {ProcessRecord{"server",
                               "echo_server",
                               "echo_server 40001",
                               4242,
                               "killed by SIGKILL",
                               "out\n",
                               "err \x80\n",
                               123,
                               456,
                               true,
                               {"ERROR: AddressSanitizer: heap-use-after-free"}}};
  r.duration = 3.14159;
  r.error = "check \"reversed\" failed and is marked fatal";
  r.interrupted = true;
  r.timeline.source = "tracepoint sock:inet_sock_set_state (BPF)";
  r.timeline.note = "2 transitions lost";
  r.timeline.lanes = {Lane{"127.0.0.1:40712",
                           "127.0.0.1:8888",
                           "client side",
                           {LaneState{0.5, "SYN-SENT", "tracepoint"}},
                           {"FIN-WAIT-1"}}};
  r.timeline.transitions = 6;
  r.timeline.lost = 18446744073709551615ull;
  r.packets = {packet};
  r.listening_ports = {8888, 65535};
  r.pcap = "/tmp/lab1.echo.pcap";
  r.charts = {ChartSpec{12, "throughput", "Throughput against clients", "clients", "messages/s", true, "reference"}};
  r.measurements = {MeasurementRecord{"thread_server, 16 clients", 20, 7.25, "messages/s", "throughput", "yours",
                                      false, {{1, 1234.5}, {2, 1e-9}}}};
  return r;
}

}  // namespace

// The child hands its result over as bytes: every field must come back as it was, or a report would differ
// from what the experiment saw (and a default must not stand in for a value).
TEST(ResultSerialization, AFullResultRoundTripsExactly) {
  ExperimentResult original = full_result();
  ASSERT_NE(original, ExperimentResult{}) << "the sample leaves fields at their defaults";
  nlohmann::json written = original;
  ExperimentResult read = from_bytes(to_bytes(written)).get<ExperimentResult>();
  EXPECT_TRUE(read == original) << "expected the result read back to equal the one written, but it differed: "
                                << nlohmann::json(read).dump(-1, ' ', false,
                                                             nlohmann::json::error_handler_t::replace);
}

// A message that lacks a field, or has a value no enum has, is an error, never a default: the parent must not
// report what the child did not say.
TEST(ResultSerialization, AMissingFieldOrAnUnknownValueIsAnError) {
  nlohmann::json written = full_result();
  written["checks"][0].erase("status");
  EXPECT_THROW(written.get<ExperimentResult>(), nlohmann::json::exception);
  written = full_result();
  written["checks"][0]["status"] = 7;
  EXPECT_THROW(written.get<ExperimentResult>(), nlohmann::json::exception);
}
