#include "capture/timeline.h"

#include "process/clock.h"
#include "capture/names.h"
#include "process/proc.h"
#include "model/durations.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <system_error>
#include <thread>

#include "timeline.bpf.h"
#include "timeline.bpf.o.h"  // kTimelineBpfObject: timeline.bpf.c compiled (build directory)

namespace socklab::harness {
namespace {


double seconds_since(Clock::time_point start, Clock::time_point t) {
  return std::chrono::duration<double>(t - start).count();
}

std::string fixed3(double s) { return seconds_text(s, 3); }

std::string trace_state(const std::string& kernel) {  // TCP_FIN_WAIT1 -> FIN-WAIT-1
  auto number = tcp_state_from_kernel_name(kernel);
  return number ? tcp_state_name(*number) : kernel;
}

// Lanes keyed by local|peer, with the roles derived from the experiment's (server) ports.
class Lanes {
 public:
  explicit Lanes(std::set<std::uint16_t> ports) : ports_(std::move(ports)) {}

  Lane& lane(const std::string& local, const std::string& peer, std::uint16_t local_port, std::uint16_t peer_port) {
    std::string key = local + "|" + peer;
    auto it = index_.find(key);
    if (it != index_.end()) return lanes_[it->second];
    Lane l;
    l.local = local;
    l.peer = peer;
    l.role = peer_port == 0 ? "listener" : ports_.count(local_port) && !ports_.count(peer_port) ? "server side" : "client side";
    index_[key] = lanes_.size();
    lanes_.push_back(l);
    return lanes_.back();
  }
  Lane* find(const std::string& local, const std::string& peer) {
    auto it = index_.find(local + "|" + peer);
    return it == index_.end() ? nullptr : &lanes_[it->second];
  }
  std::vector<Lane>& all() { return lanes_; }

 private:
  std::set<std::uint16_t> ports_;
  std::vector<Lane> lanes_;
  std::map<std::string, std::size_t> index_;
};

// The canonical paths, to say which states a polling observer must have missed between two it saw.
std::vector<std::string> missed_between(const std::string& a, const std::string& b) {
  static const std::map<std::pair<std::string, std::string>, std::vector<std::string>> gaps{
      {{"ESTAB", "FIN-WAIT-2"}, {"FIN-WAIT-1"}},
      {{"ESTAB", "TIME-WAIT"}, {"FIN-WAIT-1", "FIN-WAIT-2 (or CLOSING)"}},
      {{"FIN-WAIT-1", "TIME-WAIT"}, {"FIN-WAIT-2 (or CLOSING)"}},
      {{"ESTAB", "LAST-ACK"}, {"CLOSE-WAIT"}},
      {{"CLOSE-WAIT", "gone"}, {"LAST-ACK"}},
      {{"ESTAB", "gone"}, {"(its closing states)"}},
      {{"SYN-SENT", "gone"}, {}}};
  auto it = gaps.find({a, b});
  return it == gaps.end() ? std::vector<std::string>{} : it->second;
}

class PollingRecorder : public TimelineRecorder {
 public:
  PollingRecorder(Clock::time_point start, std::string why) : start_(start), why_(std::move(why)), lanes_({}) {}

  void observe(const std::vector<SocketInfo>& sockets, Clock::time_point when) override {
    for (const SocketInfo& s : sockets) {
      if (s.state == "LISTEN") ports_.insert(s.local_port);  // a listener's port makes its connections "server side"
    }
    double t = seconds_since(start_, when);
    std::set<std::string> seen;
    for (const SocketInfo& s : sockets) {
      if (s.protocol != Protocol::kTcp) continue;
      Lane& l = lanes_.lane(s.local(), s.peer(), s.local_port, s.peer_port);
      if (l.role == "server side" || l.role == "client side") {
        bool server = ports_.count(s.local_port) > 0 && s.peer_port != 0;
        l.role = server ? "server side" : "client side";
      }
      seen.insert(l.local + "|" + l.peer);
      if (l.states.empty() || l.states.back().state != s.state) add(l, {t, s.state, "sock_diag"});
    }
    for (Lane& l : lanes_.all()) {
      if (!seen.count(l.local + "|" + l.peer) && !l.states.empty() && l.states.back().state != "gone") {
        add(l, {t, "gone", "sock_diag"});
      }
    }
  }
  bool wants_polling() const override { return true; }
  Timeline finish() override {
    Timeline t;
    t.source = "sock_diag polling (every 100 ms and at every step)";
    t.note = why_ + "; states shorter than the time between two snapshots are missed";
    t.lanes = lanes_.all();
    return t;
  }

 private:
  void add(Lane& l, LaneState s) {
    if (!l.states.empty()) {
      for (const std::string& m : missed_between(l.states.back().state, s.state)) {
        l.missed.push_back(m + " between " + fixed3(l.states.back().at) + " and " + fixed3(s.at));
      }
    }
    l.states.push_back(s);
  }
  Clock::time_point start_;
  std::string why_;
  Lanes lanes_;
  std::set<std::uint16_t> ports_;
};

// One state change as the tracepoint reported it.
struct Transition {
  double mono = 0;           // when, in seconds of CLOCK_MONOTONIC (the harness's steady_clock)
  int family = AF_INET;
  std::string saddr, daddr;  // "127.0.0.1", "::1", "*"
  unsigned sport = 0, dport = 0;
  std::string from, to;  // ss names
};

// Where the tracepoint's transitions are read: a BPF program's ring buffer (binary) or a tracefs instance (text).
class TransitionSource {
 public:
  virtual ~TransitionSource() = default;
  virtual std::string name() const = 0;
  // Stops recording, hands every transition recorded to `each` in time order and returns how many were lost.
  virtual std::uint64_t stop(const std::function<void(const Transition&)>& each) = 0;
  virtual std::string why_lost() const = 0;  // what the note says about lost transitions
};

// The tracepoint's event in a private tracefs instance, read as text when the experiment ends.
class TracefsSource : public TransitionSource {
 public:
  explicit TracefsSource(std::string instance) : instance_(std::move(instance)) {}
  ~TracefsSource() override { remove(); }
  std::string name() const override { return "tracefs"; }
  std::string why_lost() const override { return "the ring buffer was full and overwritten"; }

  std::uint64_t stop(const std::function<void(const Transition&)>& each) override {
    write_proc_file(instance_ + "/events/sock/inet_sock_set_state/enable", "0");
    // An open file keeps the instance busy (rmdir fails with EBUSY): the stream must be closed before remove().
    std::ifstream trace(instance_ + "/trace");
    static const std::regex line_form(
        R"(\s([0-9]+\.[0-9]+): inet_sock_set_state: family=(\S+) protocol=IPPROTO_TCP sport=(\d+) dport=(\d+) saddr=(\S+) daddr=(\S+) saddrv6=(\S+) daddrv6=(\S+) oldstate=(\S+) newstate=(\S+))");
    for (std::string line; std::getline(trace, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, line_form)) continue;
      bool v6 = m[2] == "AF_INET6";
      Transition x;
      x.mono = std::stod(m[1]);
      x.sport = std::stoul(m[3]);
      x.dport = std::stoul(m[4]);
      x.family = v6 ? AF_INET6 : AF_INET;
      x.saddr = v6 ? m[7].str() : m[5].str();
      x.daddr = v6 ? m[8].str() : m[6].str();
      x.from = trace_state(m[9]);
      x.to = trace_state(m[10]);
      each(x);
    }
    trace.close();
    std::uint64_t lost = lost_events();
    remove();
    return lost;
  }

 private:
  // Events overwritten because the ring buffer was full: the "overrun:" line of each CPU's stats.
  std::uint64_t lost_events() const {
    std::uint64_t lost = 0;
    std::error_code ec;
    for (const auto& cpu : std::filesystem::directory_iterator(instance_ + "/per_cpu", ec)) {
      std::ifstream stats(cpu.path() / "stats");
      for (std::string line; std::getline(stats, line);) {
        if (line.rfind("overrun: ", 0) == 0) lost += std::stoull(line.substr(9));
      }
    }
    return lost;
  }

  // Each instance holds its own ring buffer (buffer_size_kb per CPU) until it is removed: a leaked one is kernel
  // memory lost until reboot, so a failure to remove it is said, never ignored.
  void remove() {
    if (instance_.empty()) return;
    write_proc_file(instance_ + "/events/sock/inet_sock_set_state/enable", "0");
    if (rmdir(instance_.c_str()) != 0) {
      std::cerr << "socklab: warning: cannot remove the tracefs instance " << instance_ << ": " << std::strerror(errno)
                << " (remove it with: rmdir " << instance_ << ")\n";
    }
    instance_.clear();
  }
  std::string instance_;
};

// libbpf reports failures through return values and errno, and by default also prints them (a failed load's whole
// verifier log) on stderr; the timeline's note says why the BPF source was not used, once.
int quiet_libbpf(enum libbpf_print_level, const char*, va_list) { return 0; }

// The tracepoint's calls as a BPF program (timeline.bpf.c) records them: only the experiment's ports, binary, in
// batches per CPU that go into a ring buffer, which a reader thread empties whenever it is a quarter full, so a busy
// experiment loses nothing (and the reader wakes once per thousands of changes, not per change). The program, its
// maps and its buffer belong to socklab's descriptors: the kernel frees them however socklab ends.
class BpfSource : public TransitionSource {
 public:
  static constexpr std::uint32_t kWakeupBytes = 1 << 20;  // of the 4 MiB ring buffer

  // The source, recording, or nullptr and why not.
  static std::unique_ptr<BpfSource> start(const std::set<std::uint16_t>& ports, std::string& why) {
    if (ports.size() > TIMELINE_MAX_PORTS) {
      why = "more than " + std::to_string(TIMELINE_MAX_PORTS) + " ports for the BPF program";
      return nullptr;
    }
    std::unique_ptr<BpfSource> s(new BpfSource);
    if (!s->load(ports, why)) return nullptr;
    return s;
  }
  ~BpfSource() override { halt(); }
  std::string name() const override { return "BPF"; }
  std::string why_lost() const override {
    return "the kernel could not record them: its buffer was full, or an interrupt changed a state while the "
           "program ran on that CPU";
  }

  std::uint64_t stop(const std::function<void(const Transition&)>& each) override {
    halt();
    // The ring buffer keeps the order in which changes reserved their place; CPUs may take their times a little
    // out of that order.
    std::stable_sort(events_.begin(), events_.end(), [](auto& a, auto& b) { return a.at_ns < b.at_ns; });
    for (const timeline_event& e : events_) {
      Transition x;
      x.mono = static_cast<double>(e.at_ns) / 1e9;
      x.family = e.family == AF_INET6 ? AF_INET6 : AF_INET;
      x.saddr = address_text(x.family, e.saddr);
      x.daddr = address_text(x.family, e.daddr);
      x.sport = e.sport;
      x.dport = e.dport;
      x.from = tcp_state_name(e.oldstate);
      x.to = tcp_state_name(e.newstate);
      each(x);
    }
    events_.clear();
    return lost_;
  }

 private:
  BpfSource() = default;

  bool load(const std::set<std::uint16_t>& ports, std::string& why) {
    static std::once_flag quiet;
    std::call_once(quiet, [] { libbpf_set_print(quiet_libbpf); });
    auto failed = [&](const std::string& what, int error) {
      why = what + " (" + std::strerror(error) + ")";
      return false;
    };
    LIBBPF_OPTS(bpf_object_open_opts, options, .object_name = "socklab_timeline");
    object_ = bpf_object__open_mem(kTimelineBpfObject, sizeof kTimelineBpfObject, &options);
    if (!object_) return failed("cannot open the BPF program", errno);
    if (int e = bpf_object__load(object_)) {
      return failed("cannot load the BPF program; it needs root and a kernel with BTF", -e);
    }
    timeline_config config{};
    for (std::uint16_t p : ports) config.ports[config.port_count++] = p;
    config.wakeup_bytes = kWakeupBytes;
    std::uint32_t zero = 0;
    if (int e = bpf_map__update_elem(bpf_object__find_map_by_name(object_, "config"), &zero, sizeof zero, &config,
                                     sizeof config, BPF_ANY)) {
      return failed("cannot configure the BPF program", -e);
    }
    woken_ = bpf_object__find_map_by_name(object_, "woken");
    int events = bpf_map__fd(bpf_object__find_map_by_name(object_, "events"));
    ring_ = ring_buffer__new(events, on_batch, this, nullptr);
    if (!ring_) return failed("cannot read the BPF ring buffer", errno);
    wake_ = eventfd(0, EFD_CLOEXEC);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (wake_ < 0 || epoll_ < 0) return failed("eventfd/epoll_create1", errno);
    for (int fd : {events, wake_}) {
      epoll_event ev{};
      // edge-triggered: the program's wake-ups only (level-triggered would report the ring whenever it holds data)
      ev.events = EPOLLIN | EPOLLET;
      ev.data.fd = fd;
      if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) return failed("epoll_ctl", errno);
    }
    try {
      reader_ = std::thread([this] { read_until_stopped(); });
    } catch (const std::system_error& e) {
      return failed("cannot start the timeline's reader thread", e.code().value());
    }
    program_ = bpf_object__find_program_by_name(object_, "on_state_change");
    link_ = bpf_program__attach(program_);
    if (!link_) return failed("cannot attach the BPF program to sock:inet_sock_set_state", errno);
    return true;
  }

  static int on_batch(void* self, void* data, std::size_t size) {
    auto* first = static_cast<const timeline_event*>(data);
    auto& events = static_cast<BpfSource*>(self)->events_;
    events.insert(events.end(), first, first + size / sizeof(timeline_event));
    return 0;
  }

  // The batches still gathering on each CPU (the program is detached).
  void take_partial_batches() {
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return;
    std::size_t stride = (sizeof(timeline_batch) + 7) / 8 * 8;  // per-CPU values come 8-byte aligned
    std::vector<std::uint64_t> values(stride / 8 * static_cast<std::size_t>(cpus));
    std::uint32_t zero = 0;
    if (bpf_map__lookup_elem(bpf_object__find_map_by_name(object_, "batch"), &zero, sizeof zero, values.data(),
                             values.size() * 8, 0) != 0) {
      return;
    }
    for (int cpu = 0; cpu < cpus; ++cpu) {
      timeline_batch b;
      std::memcpy(&b, reinterpret_cast<const char*>(values.data()) + stride * static_cast<std::size_t>(cpu), sizeof b);
      events_.insert(events_.end(), b.events, b.events + std::min<std::uint32_t>(b.count, TIMELINE_BATCH));
    }
  }

  // The reader: sleeps until the program says the buffer is filling up or halt() says it is over.
  void read_until_stopped() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals are the runner's (Ctrl-C), on its own thread
    for (;;) {
      epoll_event ev[2];
      int n = epoll_wait(epoll_, ev, 2, -1);
      if (n < 0 && errno != EINTR) break;
      ring_buffer__consume(ring_);
      std::uint32_t zero = 0, no = 0;  // caught up: the program may wake the reader again
      bpf_map__update_elem(woken_, &zero, sizeof zero, &no, sizeof no, BPF_ANY);
      for (int i = 0; i < n; ++i) {
        if (ev[i].data.fd == wake_) return;  // halt() detached the program first: that was the last of them
      }
    }
  }

  // Detaches the program (no more changes), lets the reader take what is left, and frees everything; the lost count
  // is read first. Safe to call twice.
  void halt() {
    if (link_) bpf_link__destroy(link_);
    link_ = nullptr;
    if (reader_.joinable()) {
      std::uint64_t one = 1;
      if (write(wake_, &one, sizeof one) != sizeof one) std::cerr << "socklab: cannot stop the timeline's reader\n";
      reader_.join();
    }
    if (ring_) ring_buffer__consume(ring_);  // (what the reader left, had it ended early)
    if (object_) {
      take_partial_batches();
      std::uint32_t zero = 0;
      std::uint64_t lost = 0;
      bpf_map* lost_map = bpf_object__find_map_by_name(object_, "lost");
      if (bpf_map__lookup_elem(lost_map, &zero, sizeof zero, &lost, sizeof lost, 0) == 0) lost_ = lost;
      // The kernel does not run the program inside itself: a change made by an interrupt that came while the program
      // ran on that CPU is not recorded, only counted ("recursion misses").
      bpf_prog_info info{};
      std::uint32_t length = sizeof info;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(program_), &info, &length) == 0) lost_ += info.recursion_misses;
    }
    if (ring_) ring_buffer__free(ring_);
    ring_ = nullptr;
    for (int* fd : {&wake_, &epoll_}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
    if (object_) bpf_object__close(object_);
    object_ = nullptr;
  }

  bpf_object* object_ = nullptr;
  bpf_program* program_ = nullptr;
  bpf_link* link_ = nullptr;
  bpf_map* woken_ = nullptr;
  ring_buffer* ring_ = nullptr;
  int wake_ = -1, epoll_ = -1;
  std::thread reader_;
  std::vector<timeline_event> events_;  // the reader's until it has been joined
  std::uint64_t lost_ = 0;
};

class TracepointRecorder : public TimelineRecorder {
 public:
  // `aside`: a remark for the note (why the BPF source was not used, say)
  TracepointRecorder(std::unique_ptr<TransitionSource> source, std::set<std::uint16_t> ports, Clock::time_point start,
                     std::string aside = "")
      : source_(std::move(source)), ports_(ports), start_(start), lanes_(ports), aside_(std::move(aside)) {}

  void observe(const std::vector<SocketInfo>& sockets, Clock::time_point when) override {
    // Kept for the states the tracepoint cannot report: those of timewait mini-sockets (see follow_timewait_sockets).
    Observation o{seconds_since(start_, when), {}};
    for (const SocketInfo& s : sockets) {
      if (s.protocol == Protocol::kTcp && s.state != "LISTEN") o.tcp.emplace(s.local() + "|" + s.peer(), s);
    }
    observations_.push_back(std::move(o));
  }
  bool wants_polling() const override { return false; }

  Timeline finish() override {
    double start_mono = std::chrono::duration<double>(start_.time_since_epoch()).count();
    std::size_t transitions = 0;
    std::string how = source_->name(), why_lost = source_->why_lost();
    std::uint64_t lost = source_->stop([&](const Transition& x) {
      ++transitions;
      add(x, x.mono - start_mono);
    });
    source_.reset();
    for (Lane& l : lanes_.all()) {
      std::stable_sort(l.states.begin(), l.states.end(), [](auto& a, auto& b) { return a.at < b.at; });
      l.states.erase(std::remove_if(l.states.begin(), l.states.end(), [](const LaneState& s) { return s.state == "LISTEN (request)"; }),
                     l.states.end());
      follow_timewait_sockets(l);
    }
    // A TIME-WAIT the tracepoint gave no handover for (its events lost, say): shown from when sock_diag first saw it.
    for (const Observation& o : observations_) {
      for (const auto& [key, socket] : o.tcp) {
        if (socket.state != "TIME-WAIT") continue;
        Lane& l = lanes_.lane(socket.local(), socket.peer(), socket.local_port, socket.peer_port);
        if (std::any_of(l.states.begin(), l.states.end(), [](const LaneState& s) { return s.state == "TIME-WAIT"; })) continue;
        auto at = std::find_if(l.states.begin(), l.states.end(), [&](const LaneState& s) { return s.at > o.at; });
        l.states.insert(at, {o.at, "TIME-WAIT", "sock_diag"});
      }
    }
    for (Lane& l : lanes_.all()) {
      // A state reported twice in a row (a SYN retransmitted while SYN-SENT; a FIN-WAIT-2 socket handed over to a
      // FIN-WAIT-2 mini-socket) is one stretch of time.
      l.states.erase(std::unique(l.states.begin(), l.states.end(), [](const LaneState& a, const LaneState& b) { return a.state == b.state; }),
                     l.states.end());
    }
    Timeline t;
    t.source = "tracepoint sock:inet_sock_set_state (" + how + ")";
    t.note = "every transition is exact; TIME-WAIT (and an orphaned FIN-WAIT-2) is the kernel's timewait "
             "mini-socket, which is not traced: it starts at the exact handover, its state and end as sock_diag saw them";
    if (lost) t.note += "; " + std::to_string(lost) + " transitions were lost (" + why_lost + ")";
    if (!aside_.empty()) t.note += "; " + aside_;
    // Roles from what listened: the side of a connection on a port that had a listener is its server side. (Its
    // being an experiment port is not enough: lab 4's client binds one, {port:local}.)
    auto port_of = [](const std::string& endpoint) { return endpoint.substr(endpoint.rfind(':') + 1); };
    std::set<std::string> listening;
    for (const Lane& l : lanes_.all()) {
      if (l.role == "listener") listening.insert(port_of(l.local));
    }
    for (Lane& l : lanes_.all()) {
      if (l.role == "listener" || listening.empty()) continue;
      bool server = listening.count(port_of(l.local)) && !listening.count(port_of(l.peer));
      l.role = server ? "server side" : "client side";
    }
    t.lanes = lanes_.all();
    t.transitions = transitions;
    t.lost = lost;
    return t;
  }

 private:
  void add(const Transition& x, double t) {
    std::string local = endpoint_text(x.family, x.saddr, x.sport), peer = endpoint_text(x.family, x.daddr, x.dport);
    if (x.to == "SYN-SENT" && x.sport == 0) {  // a connect(), reported before its port is chosen: claimed below
      connects_[peer].insert(t);
      return;
    }
    Lane& l = lanes_.lane(local, peer, static_cast<std::uint16_t>(x.sport), static_cast<std::uint16_t>(x.dport));
    if (l.states.empty() && x.from == "SYN-SENT") {
      l.states.push_back({connect_time(local, peer, t), x.from, "tracepoint"});
    } else if (l.states.empty() && x.from != "CLOSED" && x.from != "LISTEN") {
      l.states.push_back({t, x.from, "tracepoint"});
    }
    if (l.role == "server side" && x.from == "LISTEN") l.states.push_back({t, "LISTEN (request)", "tracepoint"});
    l.states.push_back({t, x.to, "tracepoint"});
  }

  // When a client's SYN-SENT began. connect() reports CLOSE -> SYN-SENT before it chooses the local port (sport=0),
  // so with several clients waiting at once (lab 3) the event does not say whose it was. Each is matched by time:
  // the latest unclaimed connect() to that peer before sock_diag first saw this socket in SYN-SENT (with 5 ms for
  // the snapshot itself), else the earliest unclaimed one; with none, the first event that names the port.
  double connect_time(const std::string& local, const std::string& peer, double first_named) {
    std::multiset<double>& times = connects_[peer];  // claimed ones removed
    if (times.empty()) return first_named;
    auto pick = times.begin();
    for (const Observation& o : observations_) {
      auto seen = o.tcp.find(local + "|" + peer);
      if (seen == o.tcp.end() || seen->second.state != "SYN-SENT") continue;
      auto after = times.upper_bound(o.at + 0.005);
      if (after != times.begin()) pick = std::prev(after);
      break;
    }
    double at = *pick;
    times.erase(pick);
    return at;
  }

  // The kernel hands a closing connection over to a "timewait" mini-socket — in TIME-WAIT, or in FIN-WAIT-2 when
  // its process has closed before the peer's FIN — and the tracepoint reports the full socket's FIN-WAIT-2 or
  // CLOSING -> CLOSE at that instant; the mini-socket's own states are no tracepoint transitions. So a CLOSED after
  // which sock_diag still sees the connection in TIME-WAIT or FIN-WAIT-2 is that handover: exact in time, named by
  // what sock_diag saw, followed by the mini-socket's later states and its end ("gone") as later snapshots saw them.
  // Without such a sighting the CLOSED stays as reported: a state is never invented.
  void follow_timewait_sockets(Lane& l) const {
    std::string key = l.local + "|" + l.peer;
    for (std::size_t i = 1; i < l.states.size(); ++i) {
      const std::string& before = l.states[i - 1].state;
      if (l.states[i].state != "CLOSED" || (before != "FIN-WAIT-2" && before != "CLOSING")) continue;
      double handover = l.states[i].at;
      // until the same 4-tuple's next connection, if there is one
      double until = i + 1 < l.states.size() ? l.states[i + 1].at : std::numeric_limits<double>::infinity();
      std::vector<LaneState> mini;
      for (const Observation& o : observations_) {
        if (o.at < handover || o.at >= until) continue;
        auto seen = o.tcp.find(key);
        if (seen == o.tcp.end()) {
          if (!mini.empty()) mini.push_back({o.at, "gone", "sock_diag"});
          break;
        }
        const std::string& state = seen->second.state;
        if (state != "TIME-WAIT" && state != "FIN-WAIT-2") break;
        if (mini.empty()) {
          mini.push_back({handover, state, "timewait socket"});
        } else if (mini.back().state != state) {
          mini.push_back({o.at, state, "sock_diag"});
        }
      }
      if (mini.empty()) continue;
      l.states.erase(l.states.begin() + static_cast<long>(i));
      l.states.insert(l.states.begin() + static_cast<long>(i), mini.begin(), mini.end());
      i += mini.size() - 1;
    }
  }

  std::unique_ptr<TransitionSource> source_;
  std::set<std::uint16_t> ports_;
  Clock::time_point start_;
  Lanes lanes_;
  std::string aside_;
  struct Observation {
    double at;                                // when the snapshot began
    std::map<std::string, SocketInfo> tcp;  // "local|peer" -> the socket (listeners left out)
  };
  std::vector<Observation> observations_;
  std::map<std::string, std::multiset<double>> connects_;  // peer -> times of connect()s not yet matched to a port
};

// /sys/kernel/tracing, mounted if needed (root only).
std::string tracefs_root(std::string& why) {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (access((std::string(dir) + "/instances").c_str(), W_OK) == 0) return dir;
  }
  if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) return "/sys/kernel/tracing";
  why = std::string("tracefs not available (") + std::strerror(errno) + "; it needs root)";
  return "";
}

// Instances are named socklab-PIDNS-PID-N: PIDNS is the inode of our pid namespace, because tracefs may be shared
// with containers whose pids we cannot see (and must not take for ended).
std::string pid_namespace() {
  struct stat st {};
  return stat("/proc/self/ns/pid", &st) == 0 ? std::to_string(st.st_ino) : "0";
}

// Instances left by a socklab that was killed (SIGKILL, OOM killer, power cut of a VM) are removed once their PID,
// in our pid namespace, no longer runs, so their ring buffers do not accumulate run after run.
void remove_stale_instances(const std::string& root) {
  std::error_code ec;
  std::string ours = "socklab-" + pid_namespace() + "-";
  for (const auto& entry : std::filesystem::directory_iterator(root + "/instances", ec)) {
    std::string name = entry.path().filename();
    if (name.rfind(ours, 0) != 0) continue;
    unsigned long pid = 0;
    char dash = 0;
    int counter = 0;
    if (std::sscanf(name.c_str() + ours.size(), "%lu%c%d", &pid, &dash, &counter) != 3 || dash != '-') continue;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) rmdir(entry.path().c_str());
  }
}

}  // namespace

std::unique_ptr<TimelineRecorder> start_polling_timeline(Clock::time_point start, const std::string& why) {
  return std::make_unique<PollingRecorder>(start, why);
}

namespace {

// The tracepoint through a private tracefs instance (the fallback where BPF is not available); `why_not_bpf` goes
// into the note.
std::unique_ptr<TimelineRecorder> start_tracefs(const std::set<std::uint16_t>& ports, Clock::time_point start,
                                                const std::string& why_not_bpf) {
  std::string why;
  std::string root = tracefs_root(why);
  std::string also = why_not_bpf.empty() ? "" : "; " + why_not_bpf;
  if (root.empty()) return start_polling_timeline(start, why + also);
  static int counter = 0;
  std::string instance = root + "/instances/socklab-" + pid_namespace() + "-" + std::to_string(getpid()) + "-" +
                         std::to_string(counter++);
  if (mkdir(instance.c_str(), 0700) != 0) {
    std::string reason = std::string("cannot create a tracefs instance (") + std::strerror(errno) + ")";
    return start_polling_timeline(start, reason + also);
  }
  std::string filter;
  for (std::uint16_t p : ports) filter += (filter.empty() ? "" : " || ") + ("sport == " + std::to_string(p) + " || dport == " + std::to_string(p));
  std::string event = instance + "/events/sock/inet_sock_set_state";
  // A lab's run makes a few hundred transitions at most: 256 KiB per CPU holds thousands, and is a fraction of
  // the default (1410 KiB per CPU), which matters when a class is graded in parallel on a many-core machine.
  if (!write_proc_file(instance + "/buffer_size_kb", "256") || !write_proc_file(instance + "/trace_clock", "mono") ||
      !write_proc_file(event + "/filter", filter) || !write_proc_file(event + "/enable", "1")) {
    std::string reason = std::string("cannot set up the tracepoint (") + std::strerror(errno) + ")";
    rmdir(instance.c_str());
    return start_polling_timeline(start, reason + also);
  }
  std::string aside = why_not_bpf.empty() ? "" : "read from a tracefs instance: " + why_not_bpf;
  return std::make_unique<TracepointRecorder>(std::make_unique<TracefsSource>(instance), ports, start, aside);
}

}  // namespace

std::unique_ptr<TimelineRecorder> start_timeline(const std::set<std::uint16_t>& ports, Clock::time_point start) {
  if (ports.empty()) return start_polling_timeline(start, "no ports to filter on");
  std::string ignored;
  std::string root = tracefs_root(ignored);
  if (!root.empty()) remove_stale_instances(root);  // a killed socklab's, from the tracefs source
  std::string why_not_bpf;
  if (auto bpf = BpfSource::start(ports, why_not_bpf)) {
    return std::make_unique<TracepointRecorder>(std::move(bpf), ports, start);
  }
  return start_tracefs(ports, start, why_not_bpf);
}

std::unique_ptr<TimelineRecorder> start_tracefs_timeline(const std::set<std::uint16_t>& ports, Clock::time_point start) {
  if (ports.empty()) return start_polling_timeline(start, "no ports to filter on");
  std::string ignored;
  std::string root = tracefs_root(ignored);
  if (!root.empty()) remove_stale_instances(root);
  return start_tracefs(ports, start, "");
}

void order_connects_by_syn(Timeline& timeline, const std::vector<Packet>& packets) {
  std::map<std::string, double> first_syn;  // "local|peer" -> when its first SYN was on the wire
  for (const Packet& p : packets) {
    if (p.syn && !p.ack) first_syn.emplace(p.src + "|" + p.dst, p.at);
  }
  std::map<std::string, std::vector<Lane*>> clients;  // by peer
  for (Lane& l : timeline.lanes) {
    if (!l.states.empty() && l.states.front().state == "SYN-SENT" && l.states.front().source == "tracepoint" &&
        first_syn.count(l.local + "|" + l.peer)) {
      clients[l.peer].push_back(&l);
    }
  }
  for (auto& [peer, lanes] : clients) {
    if (lanes.size() < 2) continue;
    std::vector<double> starts;
    for (Lane* l : lanes) starts.push_back(l->states.front().at);
    std::sort(starts.begin(), starts.end());
    auto syn_of = [&](const Lane* l) { return first_syn[l->local + "|" + l->peer]; };
    std::stable_sort(lanes.begin(), lanes.end(), [&](const Lane* a, const Lane* b) { return syn_of(a) < syn_of(b); });
    bool fits = true;
    for (std::size_t i = 0; i < lanes.size(); ++i) {
      const auto& states = lanes[i]->states;
      fits = fits && starts[i] <= syn_of(lanes[i]) && (states.size() < 2 || starts[i] <= states[1].at);
    }
    if (!fits) continue;
    for (std::size_t i = 0; i < lanes.size(); ++i) lanes[i]->states.front().at = starts[i];
  }
}

std::size_t keep_own_connections(Timeline& timeline, const std::set<std::string>& seen) {
  auto foreign = [&](const Lane& l) {
    return !seen.count(l.local + "|" + l.peer) && !seen.count(l.peer + "|" + l.local);
  };
  std::size_t before = timeline.lanes.size();
  timeline.lanes.erase(std::remove_if(timeline.lanes.begin(), timeline.lanes.end(), foreign), timeline.lanes.end());
  std::size_t left_out = before - timeline.lanes.size();
  if (left_out) {
    timeline.note += (timeline.note.empty() ? "" : "; ") + std::to_string(left_out) + " lane" + (left_out == 1 ? "" : "s") +
                     " of another network namespace using the same port numbers left out";
  }
  return left_out;
}

}  // namespace socklab::harness
