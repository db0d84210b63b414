// Private to run/: one experiment being run. Shared by the files that each hold one room of it:
//   runner.cc   the sequence (run, abort, cleanup), time and waiting, isolation, kernel snapshots
//   actions.cc  one function per action, and the harness's own raw TCP/UDP sockets
//   checks.cc   one function per check
// Each kind of step has its own overload of act() or evaluate(), chosen by std::visit: no default anywhere, so a
// kind added to the model does not compile until it is handled here.
#pragma once

#include <array>
#include <boost/asio.hpp>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "capture/packets.h"
#include "capture/timeline.h"
#include "run/link.h"
#include "run/runner.h"

namespace socklab::harness {

namespace asio = boost::asio;

// An action that cannot be carried out, a deadline of the whole experiment, Ctrl-C: the experiment stops and its
// remaining checks are reported as not run, with the reason.
struct Aborted {
  std::string reason;
};

// Text for reports.
std::string quoted(const std::string& text, std::size_t max = 80);  // "a\nb" with escapes, cut at max
std::string seconds(Millis d);                                      // "2s", "250ms"
std::string repeated(const std::string& text, std::size_t n);

// A raw TCP connection of the harness (tcp-connect, or accepted by a tcp-listen).
struct RawTcp {
  explicit RawTcp(asio::io_context& context) : socket(context) {}
  asio::ip::tcp::socket socket;
  bool connected = false, eof = false, closed = false;
  bool shutdown_wanted = false, shut_down = false;  // tcp-shutdown: once the pending data has gone out
  std::string error;  // connect or read error
  std::vector<std::string> lines;
  std::string partial;
  std::size_t cursor = 0;
  std::deque<std::string> pending;  // texts to send; of the first, `sent` bytes are sent
  std::size_t sent = 0;
  std::array<char, 65536> buffer{};
  std::uint16_t local_port = 0;
};

// The harness as a TCP server (tcp-listen): its accepted connections join tcp_ under the listener's id.
struct RawListener {
  explicit RawListener(asio::io_context& context) : acceptor(context) {}
  asio::ip::tcp::acceptor acceptor;
  int wanted = 1;     // how many connections it accepts
  int accepted = 0;
  Millis timeout{0};  // how long an action on its connections waits for them
  std::string port;   // as filled in, for messages
  std::string error;  // accept failed
};

// A raw UDP socket of the harness (udp-send / expect-datagram).
struct RawUdp {
  explicit RawUdp(asio::io_context& context) : socket(context) {}
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint sender;
  std::vector<std::string> datagrams;
  std::size_t cursor = 0;
  std::vector<char> buffer = std::vector<char>(65536);
  std::uint16_t local_port = 0;
};

struct ProcState {
  std::unique_ptr<Process> process;
  std::string program;
  std::string command_line;
  int fd_baseline = -1;
  std::size_t cursor_out = 0, cursor_err = 0;
};

class ExperimentRun {
 public:
  ExperimentRun(EventLoop& loop, Launcher& launcher, const RunOptions& options, Reporter& reporter,
                const Experiment& experiment, const bool& interrupted)
      : loop_(loop), launcher_(launcher), options_(options), reporter_(reporter), experiment_(experiment),
        interrupted_(interrupted), placeholders_([] { return free_port(); }) {}

  ~ExperimentRun() { cleanup(); }

  ExperimentResult run();

 private:
  // --- the sequence (runner.cc) ----------------------------------------------------------------------------
  void begin_result();
  void start_capture();
  void run_check(const Check& check, std::size_t& next_check, bool& in_check);
  void abort_with(const std::string& reason, bool began, std::size_t next_check, bool fail_current);
  void finish_capture();
  void cleanup();
  ProcessRecord process_record(const std::string& id, ProcState& p);
  void finish_packets();

  // --- time ------------------------------------------------------------------------------------------------
  Millis scaled(Millis d) const { return Millis(static_cast<long>(static_cast<double>(d.count()) * options_.time_scale)); }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  Clock::time_point deadline_after(Millis d) const { return std::min(Clock::now() + scaled(d), deadline_); }
  void check_limits();
  bool wait_event(const std::function<bool()>& done, Clock::time_point deadline);
  bool wait_polling(const std::function<bool()>& done, Clock::time_point deadline);

  // --- ports, isolation, kernel state (runner.cc) ----------------------------------------------------------
  void allocate_ports();
  void poll_states();
  // Its time is when the action began (action_began_), not when it was recorded: a start step is recorded once its
  // program is ready, a signal once it was sent, and a timeline must show them before what they caused.
  void record_step(const StepBase& step, const std::string& text, bool ok = true);
  void isolate();
  void apply_sysctls();
  std::vector<SocketInfo> capture();
  bool owned_by(const SocketInfo& s, const std::string& process_id);

  // --- processes (runner.cc) -------------------------------------------------------------------------------
  ProcState& proc(const std::string& id);
  std::string program_path(const std::string& program);
  std::string exit_note(ProcState& p);
  std::string output_detail(ProcState& p);

  // --- actions (actions.cc) --------------------------------------------------------------------------------
  void perform(const Action& action);
  void act(const StartStep& step);
  void act(const SendStep& step);
  void act(const CloseStdinStep& step);
  void act(const SignalStep& step);
  void act(const WaitStep& step);
  void act(const SnapshotStep& step);
  void act(const TcpConnectStep& step);
  void act(const TcpListenStep& step);
  void act(const TcpSendStep& step);
  void act(const TcpShutdownStep& step);
  void act(const TcpCloseStep& step);
  void act(const UdpSendStep& step);
  void act(const LinkStep& step);
  ProcState& launch(const StartStep& step, const ProcessSpec& spec, const std::string& command);
  bool wait_ready(const StartStep& step, ProcState& p, std::string& ready);
  void connect_tcp(const TcpConnectStep& step, const std::string& port, const std::string& from);
  void accept_tcp(const std::string& id, RawListener* listener);
  void read_tcp(RawTcp* c);
  void write_tcp(RawTcp* c);
  // The connections of `id`. A listener's are all there once it has accepted as many as it takes: this waits for
  // them until `deadline` (an action: the listener's timeout; a check: its own) and else stops the experiment.
  std::vector<std::unique_ptr<RawTcp>>& connections(const std::string& id, Clock::time_point deadline);
  std::vector<std::unique_ptr<RawTcp>>& connections(const std::string& id);  // an action's: the listener's timeout
  RawUdp& udp_socket(const std::string& id);
  void receive_udp(RawUdp* u);

  // --- checks (checks.cc) ----------------------------------------------------------------------------------
  void evaluate_check(const Check& check, CheckResult& c);
  void evaluate(const ExpectOutputStep& step, CheckResult& c);
  void evaluate(const ExpectNoOutputStep& step, CheckResult& c);
  void evaluate(const ExpectExitStep& step, CheckResult& c);
  void evaluate(const ExpectRunningStep& step, CheckResult& c);
  void evaluate(const ExpectSocketStep& step, CheckResult& c);
  void evaluate(const ExpectFdCountStep& step, CheckResult& c);
  void evaluate(const ExpectNoZombiesStep& step, CheckResult& c);
  void evaluate(const ExpectTcpLineStep& step, CheckResult& c);
  void evaluate(const ExpectTcpEofStep& step, CheckResult& c);
  void evaluate(const ExpectDatagramStep& step, CheckResult& c);
  void evaluate(const MeasureStep& step, CheckResult& c);
  void evaluate(const ExpectOutputCountStep& step, CheckResult& c);
  bool socket_matches(const ExpectSocketStep& step, const SocketInfo& s, const std::string& local, const std::string& peer);

  EventLoop& loop_;
  Launcher& launcher_;
  const RunOptions& options_;
  Reporter& reporter_;
  const Experiment& experiment_;
  std::optional<double> action_began_;  // while an action runs: when it began (its step's time)
  const bool& interrupted_;
  Placeholders placeholders_;
  std::set<std::string> seen_connections_;  // "local|peer" of every TCP socket this experiment's snapshots saw
  std::unique_ptr<SocketSource> source_;
  std::map<std::string, ProcState> processes_;
  std::map<std::string, std::vector<std::unique_ptr<RawTcp>>> tcp_;
  std::map<std::string, std::unique_ptr<RawListener>> listeners_;
  std::map<std::string, std::unique_ptr<RawUdp>> udp_;
  std::vector<CheckResult> pending_checks_;
  ExperimentResult result_;
  Clock::time_point start_, deadline_;
  bool cleaned_ = false;
  std::unique_ptr<TimelineRecorder> timeline_;
  std::unique_ptr<PacketCapture> packets_;
  std::unique_ptr<asio::steady_timer> poll_timer_;
  Link link_;  // the loopback's impairments (<link>), in the experiment's namespace
};

}  // namespace socklab::harness
