// Timelines: the exact tracepoint path end to end (real connections, as root), the polling fallback and the text
// renderer on synthetic observations.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "child.h"
#include "capture/packets.h"
#include "capture/timeline.h"
#include "tracefs.h"

using namespace socklab::harness;
using namespace std::chrono_literals;

namespace {

nlohmann::json run_json(const std::string& experiment) {
  std::string out = testing::TempDir() + "timeline_" + std::to_string(getpid()) + ".json";
  testing_support::Child socklab("socklab", {"run", std::string(SOCKLAB_SOURCE_DIR) + "/" + experiment, "--report",
                                             "json", "--out", out});
  auto status = socklab.wait_exit(60s);
  EXPECT_TRUE(status.has_value());
  // Its tracefs instance (and the ring buffer it holds) is gone with it.
  for (const std::string& left : testing_support::tracefs_instances_of(socklab.pid())) ADD_FAILURE() << "left behind: " << left;
  std::ifstream f(out);
  return nlohmann::json::parse(f)["experiments"][0];
}

std::vector<std::string> states_of(const nlohmann::json& lane) {
  std::vector<std::string> s;
  for (const auto& x : lane["states"]) s.push_back(x["state"]);
  return s;
}

// true if `wanted` appears in `states` in this order (other states may come between)
bool in_order(const std::vector<std::string>& states, const std::vector<std::string>& wanted) {
  std::size_t i = 0;
  for (const auto& s : states) {
    if (i < wanted.size() && s == wanted[i]) ++i;
  }
  return i == wanted.size();
}

std::string dump(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + " ";
  return out;
}

SocketInfo tcp(std::uint16_t local, std::uint16_t peer, const std::string& state) {
  SocketInfo s;
  s.family = AF_INET;
  s.local_address = "127.0.0.1";
  s.peer_address = peer ? "127.0.0.1" : "*";
  s.local_port = local;
  s.peer_port = peer;
  s.state = state;
  return s;
}

}  // namespace

// Client closes first (lab 1, bye): the client's connection goes through every closing state to TIME-WAIT.
TEST(Timeline, RecordsAClientClosesFirstConnection) {
  auto e = run_json("experiments/lab1/03-session-end.xml");
  bool exact = e["timeline"]["source"].get<std::string>().rfind("tracepoint", 0) == 0;
  if (getuid() == 0) {
    EXPECT_TRUE(exact) << "as root the exact tracepoint source is expected: " << e["timeline"]["note"];
  }
  bool client_seen = false, server_seen = false;
  for (const auto& lane : e["timeline"]["lanes"]) {
    auto s = states_of(lane);
    if (lane["role"] == "client side" && !client_seen) {
      client_seen = true;
      std::vector<std::string> want = exact ? std::vector<std::string>{"SYN-SENT", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"}
                                            : std::vector<std::string>{"ESTAB", "TIME-WAIT"};
      EXPECT_TRUE(in_order(s, want)) << dump(s);
      if (exact) {
        // The tracepoint's FIN-WAIT-2 -> CLOSE is the handover to the TIME-WAIT mini-socket: never shown as CLOSED.
        EXPECT_EQ(std::count(s.begin(), s.end(), "CLOSED"), 0) << dump(s);
        EXPECT_EQ(lane["states"].back()["source"], "timewait socket") << lane.dump();
      }
    }
    if (lane["role"] == "server side" && !server_seen && exact) {
      server_seen = true;
      EXPECT_TRUE(in_order(s, {"SYN-RECV", "ESTAB", "CLOSE-WAIT", "LAST-ACK", "CLOSED"})) << dump(s);
    }
  }
  EXPECT_TRUE(client_seen);
}

// Server closes first (lab 4): the client's side sits in CLOSE-WAIT, the server's in FIN-WAIT-2.
TEST(Timeline, RecordsAServerClosesFirstConnection) {
  auto e = run_json("experiments/lab4/03-server-closes-first.xml");
  bool client_close_wait = false, server_fin_wait2 = false;
  for (const auto& lane : e["timeline"]["lanes"]) {
    auto s = states_of(lane);
    if (lane["role"] == "client side" && in_order(s, {"ESTAB", "CLOSE-WAIT"})) client_close_wait = true;
    if (lane["role"] == "server side" && in_order(s, {"ESTAB", "FIN-WAIT-2"})) {
      server_fin_wait2 = true;
      // Its FIN-WAIT-2 outlives the server (an orphaned mini-socket) until the client's data draws the RST: the lane
      // must not say CLOSED while sock_diag (and the experiment's check) still sees FIN-WAIT-2.
      auto fw2 = std::find(s.begin(), s.end(), "FIN-WAIT-2");
      EXPECT_TRUE(std::next(fw2) == s.end() || *std::next(fw2) == "gone") << dump(s);
    }
  }
  EXPECT_TRUE(client_close_wait) << e["timeline"].dump(1);
  EXPECT_TRUE(server_fin_wait2) << e["timeline"].dump(1);
}

// Lab 3: two clients wait at once, their SYNs dropped by the full accept queue, and get in at a retransmission about
// a second later. connect() reports SYN-SENT before it has a port, so the timeline must tell the two apart: each
// client's lane shows its own SYN-SENT stretch of about a second.
TEST(Timeline, TellsApartClientsWaitingInSynSentAtOnce) {
  auto e = run_json("experiments/lab3/01-backlog.xml");
  if (e["timeline"]["source"].get<std::string>().rfind("tracepoint", 0) != 0) GTEST_SKIP() << "needs the tracepoint (root)";
  int waited = 0;
  for (const auto& lane : e["timeline"]["lanes"]) {
    if (lane["role"] != "client side") continue;
    const auto& states = lane["states"];
    double syn_sent = -1, estab = -1;
    for (const auto& st : states) {
      if (st["state"] == "SYN-SENT" && syn_sent < 0) syn_sent = st["at_s"];
      if (st["state"] == "ESTAB" && estab < 0) estab = st["at_s"];
    }
    EXPECT_GE(syn_sent, 0) << "every client lane starts in SYN-SENT: " << lane.dump();
    if (estab - syn_sent > 0.8) ++waited;
  }
  EXPECT_EQ(waited, 2) << "two clients wait for a SYN retransmission: " << e["timeline"].dump(1);
}

namespace {

// A loopback listener on a port of the kernel's choosing, and connections to it closed with RST (no TIME-WAIT).
struct Loopback {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  Loopback() {
    sockaddr_in a = address(0);
    socklen_t n = sizeof a;
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    EXPECT_EQ(listen(listener, 128), 0) << std::strerror(errno);
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  ~Loopback() { close(listener); }
  static sockaddr_in address(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
  }
  // One connection: connect, accept, close both ends with RST. Returns the client's port.
  std::uint16_t connect_and_reset() {
    sockaddr_in a = address(port);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    int s = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    sockaddr_in local{};
    socklen_t n = sizeof local;
    getsockname(c, reinterpret_cast<sockaddr*>(&local), &n);
    linger reset{1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(c);
    close(s);
    return ntohs(local.sin_port);
  }
};

const Lane* find_lane(const Timeline& t, const std::string& local, const std::string& peer) {
  for (const Lane& l : t.lanes) {
    if (l.local == local && l.peer == peer) return &l;
  }
  return nullptr;
}

// Both ways of reading the tracepoint (the BPF program, and the tracefs instance it falls back to) must give the
// same timeline: every transition, at times on the harness's steady_clock, the instance (if any) removed.
void expect_exact_connection(std::unique_ptr<TimelineRecorder> (*start_recorder)(const std::set<std::uint16_t>&,
                                                                                 std::chrono::steady_clock::time_point),
                             const std::string& how) {
  Loopback server;
  auto start = std::chrono::steady_clock::now();
  auto recorder = start_recorder({server.port}, start);
  if (recorder->wants_polling()) GTEST_SKIP() << "needs root: " << recorder->finish().note;
  double before = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::uint16_t client = server.connect_and_reset();
  double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Timeline t = recorder->finish();
  EXPECT_EQ(t.source, "tracepoint sock:inet_sock_set_state (" + how + ")") << t.note;
  EXPECT_EQ(t.lost, 0u);
  EXPECT_EQ(t.transitions, 6u) << "3 changes per side (SYN-SENT, ESTAB, CLOSED; SYN-RECV, ESTAB, CLOSED)";
  std::string c = "127.0.0.1:" + std::to_string(client), s = "127.0.0.1:" + std::to_string(server.port);
  const Lane* client_lane = find_lane(t, c, s);
  const Lane* server_lane = find_lane(t, s, c);
  ASSERT_TRUE(client_lane && server_lane) << t.lanes.size() << " lanes, none of " << c << " ↔ " << s;
  std::vector<std::string> client_states, server_states;
  for (const LaneState& st : client_lane->states) client_states.push_back(st.state);
  for (const LaneState& st : server_lane->states) server_states.push_back(st.state);
  EXPECT_EQ(client_states, (std::vector<std::string>{"SYN-SENT", "ESTAB", "CLOSED"})) << dump(client_states);
  EXPECT_EQ(server_states, (std::vector<std::string>{"SYN-RECV", "ESTAB", "CLOSED"})) << dump(server_states);
  for (const Lane* l : {client_lane, server_lane}) {
    for (const LaneState& st : l->states) {
      EXPECT_TRUE(st.at >= before && st.at <= after)
          << l->role << " " << st.state << " at " << st.at << " s, expected between " << before << " and " << after
          << " (the kernel's timestamps must be on the harness's clock)";
    }
  }
  for (const std::string& left : testing_support::tracefs_instances_of(getpid())) ADD_FAILURE() << "left behind: " << left;
}

}  // namespace

// The exact source (the BPF program): every change of one connection, on the harness's clock.
TEST(Timeline, BpfSourceRecordsEveryChangeOnTheHarnessClock) {
  expect_exact_connection(start_timeline, "BPF");
}

// The fallback where BPF is not available (a kernel without BTF): the tracefs instance gives the same timeline and is
// removed at the end.
TEST(Timeline, TracefsSourceRecordsEveryChangeOnTheHarnessClock) {
  expect_exact_connection(start_tracefs_timeline, "tracefs");
}

// A busy experiment: 20,000 connections make 120,000 changes, twice what the ring buffer holds. Its reader empties it
// while the experiment runs, so nothing is lost (the tracefs instance's 256 KiB per CPU kept the last ~4,000).
TEST(Timeline, KeepsEveryChangeOfABusyExperiment) {
  Loopback server;
  auto start = std::chrono::steady_clock::now();
  auto recorder = start_timeline({server.port}, start);
  if (recorder->wants_polling()) GTEST_SKIP() << "needs root: " << recorder->finish().note;
  constexpr std::size_t kConnections = 20000;
  for (std::size_t i = 0; i < kConnections; ++i) server.connect_and_reset();
  Timeline t = recorder->finish();
  EXPECT_EQ(t.lost, 0u) << t.note;
  EXPECT_EQ(t.transitions, 6 * kConnections) << t.note;
}

// A socklab killed mid-run (SIGKILL, the OOM killer) cannot remove its instance: the next socklab that records a
// timeline removes instances whose socklab has ended, and leaves a running one's alone.
TEST(Timeline, RemovesInstancesLeftByAKilledSocklab) {
  const std::string instances = "/sys/kernel/tracing/instances/";
  pid_t ended = fork();
  ASSERT_GE(ended, 0);
  if (ended == 0) _exit(0);
  ASSERT_EQ(waitpid(ended, nullptr, 0), ended);
  std::string stale = instances + testing_support::tracefs_instance_prefix(ended) + "0";
  std::string running = instances + testing_support::tracefs_instance_prefix(getpid()) + "0";
  // A pid we cannot see may run in another pid namespace (a container sharing tracefs): never taken for ended.
  std::string other_namespace = instances + "socklab-1-" + std::to_string(ended) + "-0";
  if (mkdir(stale.c_str(), 0700) != 0 || mkdir(running.c_str(), 0700) != 0 || mkdir(other_namespace.c_str(), 0700) != 0) {
    for (const std::string& d : {stale, running, other_namespace}) rmdir(d.c_str());
    GTEST_SKIP() << "cannot create tracefs instances here (needs root and tracefs): " << std::strerror(errno);
  }
  run_json("experiments/lab1/03-session-end.xml");
  struct stat st;
  EXPECT_NE(stat(stale.c_str(), &st), 0) << stale << " (pid " << ended << " has ended) was not removed";
  EXPECT_EQ(stat(running.c_str(), &st), 0) << running << " belongs to a running process and was removed";
  EXPECT_EQ(stat(other_namespace.c_str(), &st), 0) << other_namespace << " belongs to another pid namespace and was removed";
  for (const std::string& d : {stale, running, other_namespace}) rmdir(d.c_str());
}

// In its own namespace an experiment keeps the sockets it saw there (either direction of the 4-tuple; listeners as
// its snapshots saw them); lanes from another namespace that used the same port number are left out, and the note
// says so.
TEST(Timeline, KeepsOnlyConnectionsSeenInItsOwnNamespace) {
  auto lane = [](std::string role, std::string local, std::string peer) {
    Lane l;
    l.role = std::move(role);
    l.local = std::move(local);
    l.peer = std::move(peer);
    l.states.push_back({0.1, "ESTAB", "tracepoint"});
    return l;
  };
  Timeline t;
  t.note = "exact";
  t.lanes = {lane("listener", "*:8888", "*:*"), lane("listener", "127.0.0.1:8888", "*:*"),
             lane("client side", "127.0.0.1:40000", "127.0.0.1:8888"), lane("server side", "127.0.0.1:8888", "127.0.0.1:40000"),
             lane("client side", "127.0.0.1:40001", "127.0.0.1:8888")};
  // Ours: the listener on *:8888 and the connection from 40000, seen once from the client's side (a packet).
  // Another namespace's: a listener on 127.0.0.1:8888 and the connection from 40001.
  std::set<std::string> seen{"*:8888|*:*", "127.0.0.1:40000|127.0.0.1:8888"};
  EXPECT_EQ(keep_own_connections(t, seen), 2u);
  ASSERT_EQ(t.lanes.size(), 3u);
  EXPECT_EQ(t.lanes[0].local, "*:8888");
  EXPECT_EQ(t.lanes[1].local, "127.0.0.1:40000");
  EXPECT_EQ(t.lanes[2].local, "127.0.0.1:8888");
  EXPECT_EQ(t.note, "exact; 2 lanes of another network namespace using the same port numbers left out");
  EXPECT_EQ(keep_own_connections(t, seen), 0u);
  EXPECT_EQ(t.note, "exact; 2 lanes of another network namespace using the same port numbers left out");
}

// The fallback records what it sees, roles from the listener's port, "gone" for vanished sockets, and says which
// transient states it must have missed — it never invents them.
TEST(Timeline, PollingFallbackRecordsChangesAndNamesWhatItMissed) {
  auto start = std::chrono::steady_clock::now();
  auto recorder = start_polling_timeline(start, "test");
  recorder->observe({tcp(8888, 0, "LISTEN"), tcp(40000, 8888, "ESTAB"), tcp(8888, 40000, "ESTAB")}, start + 10ms);
  recorder->observe({tcp(8888, 0, "LISTEN"), tcp(40000, 8888, "TIME-WAIT")}, start + 110ms);
  Timeline t = recorder->finish();
  ASSERT_EQ(t.lanes.size(), 3u);
  const Lane& client = t.lanes[1];
  EXPECT_EQ(client.role, "client side");
  ASSERT_EQ(client.states.size(), 2u);
  EXPECT_EQ(client.states[1].state, "TIME-WAIT");
  ASSERT_EQ(client.missed.size(), 2u);
  EXPECT_EQ(client.missed[0], "FIN-WAIT-1 between 0.010s and 0.110s");
  const Lane& server = t.lanes[2];
  EXPECT_EQ(server.role, "server side");
  EXPECT_EQ(server.states.back().state, "gone");
}

namespace {

// Runs one experiment with --pcap into a fresh directory and returns its JSON record.
nlohmann::json run_with_pcap(const std::string& experiment, const std::string& pcap_dir) {
  std::string out = testing::TempDir() + "packets_" + std::to_string(getpid()) + ".json";
  testing_support::Child socklab("socklab", {"run", std::string(SOCKLAB_SOURCE_DIR) + "/" + experiment, "--report",
                                             "json", "--out", out, "--pcap", pcap_dir});
  auto status = socklab.wait_exit(60s);
  EXPECT_TRUE(status.has_value());
  // Its tracefs instance (and the ring buffer it holds) is gone with it.
  for (const std::string& left : testing_support::tracefs_instances_of(socklab.pid())) ADD_FAILURE() << "left behind: " << left;
  std::ifstream f(out);
  return nlohmann::json::parse(f)["experiments"][0];
}

}  // namespace

// Inside the experiment's namespace every segment is captured: the first connection of the bye session decodes
// into handshake, data both ways, and the teardown — in that order.
TEST(Packets, DecodeAHandshakeDataAndTeardown) {
  std::string dir = testing::TempDir() + "pcap_" + std::to_string(getpid());
  auto e = run_with_pcap("experiments/lab1/03-session-end.xml", dir);
  if (e["isolation"] != "netns") GTEST_SKIP() << "no network namespace here: no capture";
  ASSERT_FALSE(e["packets"].empty()) << e["notes"].dump();
  // the first connection: the client's port is the source of the very first SYN
  std::string client = e["packets"][0]["src"];
  std::vector<std::string> sequence;
  for (const auto& p : e["packets"]) {
    bool from_client = p["src"] == client, to_client = p["dst"] == client;
    if (!from_client && !to_client) continue;
    std::string flags = p["flags"];
    if (flags == "ACK" && p["payload"] == 0) continue;  // bare ACKs are timing-dependent (delayed ACK): skip them
    sequence.push_back(std::string(from_client ? "c>" : "s>") + flags + (p["payload"].get<int>() ? " " + p["preview"].get<std::string>() : ""));
  }
  std::vector<std::string> expected{"c>SYN", "s>SYN,ACK", "c>PSH,ACK bye\\n", "s>PSH,ACK eyb\\n", "c>FIN,ACK", "s>FIN,ACK"};
  std::string seen;
  for (const auto& s : sequence) seen += s + " | ";
  EXPECT_EQ(sequence, expected) << seen;
  // the three-way handshake's final ACK is there too (it was skipped above with the other bare ACKs)
  EXPECT_EQ(e["packets"][2]["flags"], "ACK");
  EXPECT_EQ(e["packets"][2]["src"], client);
}

// The .pcap is a real capture file: libpcap (tcpdump) reads it back.
TEST(Packets, WritesAPcapThatLibpcapReadsBack) {
  if (system("command -v tcpdump > /dev/null 2>&1") != 0) GTEST_SKIP() << "tcpdump not installed (make installs it)";
  std::string dir = testing::TempDir() + "pcap2_" + std::to_string(getpid());
  auto e = run_with_pcap("experiments/lab1/03-session-end.xml", dir);
  if (e["isolation"] != "netns") GTEST_SKIP() << "no network namespace here: no capture";
  std::string pcap = e["pcap"];
  ASSERT_FALSE(pcap.empty()) << e["notes"].dump();
  std::string text = testing::TempDir() + "tcpdump_" + std::to_string(getpid()) + ".txt";
  ASSERT_EQ(system(("tcpdump -nn -r " + pcap + " > " + text + " 2>&1").c_str()), 0);
  std::ifstream f(text);
  std::string out((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(out.find("Flags [S],"), std::string::npos) << out;
  EXPECT_NE(out.find("Flags [S.],"), std::string::npos) << out;
  EXPECT_NE(out.find("Flags [F.],"), std::string::npos) << out;
  std::size_t lines = 0;  // one " IP " line per packet (the banner "reading from file …" is not one)
  for (std::size_t at = out.find(" IP "); at != std::string::npos; at = out.find(" IP ", at + 1)) ++lines;
  EXPECT_EQ(lines, e["packets"].size()) << out;
}

// The ladder: client on the left, server on the right, one arrow per segment.
TEST(Packets, RendersALadder) {
  Packet syn;
  syn.src = "127.0.0.1:40000";
  syn.dst = "127.0.0.1:8888";
  syn.sport = 40000;
  syn.dport = 8888;
  syn.syn = true;
  Packet synack = syn;
  std::swap(synack.src, synack.dst);
  std::swap(synack.sport, synack.dport);
  synack.ack = true;
  synack.at = 0.001;
  std::string ladder = render_ladder({syn, synack}, {8888});
  EXPECT_NE(ladder.find("client 127.0.0.1:40000"), std::string::npos) << ladder;
  EXPECT_NE(ladder.find("--SYN -"), std::string::npos) << ladder;
  EXPECT_NE(ladder.find("- SYN,ACK--"), std::string::npos) << ladder;
}

// Two clients connect to one server at once (lab 3): the recorder matched their connect()s by time and got them
// crosswise; their first SYNs on the wire put them in order.
TEST(Timeline, ConnectsOrderedByTheirFirstSyns) {
  Timeline t;
  t.lanes.push_back({"127.0.0.1:40001", "127.0.0.1:8888", "client side",
                     {{0.139, "SYN-SENT", "tracepoint"}, {1.138, "ESTAB", "tracepoint"}}, {}});
  t.lanes.push_back({"127.0.0.1:40002", "127.0.0.1:8888", "client side",
                     {{0.111, "SYN-SENT", "tracepoint"}, {1.170, "ESTAB", "tracepoint"}}, {}});
  Packet first, second;
  first.src = "127.0.0.1:40001";
  first.dst = second.dst = "127.0.0.1:8888";
  second.src = "127.0.0.1:40002";
  first.syn = second.syn = true;
  first.at = 0.1112;
  second.at = 0.1393;
  order_connects_by_syn(t, {first, second});
  EXPECT_DOUBLE_EQ(t.lanes[0].states[0].at, 0.111) << "40001 sent its SYN first: its connect() was the first";
  EXPECT_DOUBLE_EQ(t.lanes[1].states[0].at, 0.139);
}
