// The actions of an experiment, one function per kind, and the harness's own raw TCP connections and UDP sockets.
#include <netinet/in.h>
#include <signal.h>
#include <string.h>  // sigabbrev_np
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <regex>

#include "run/experiment_run.h"

namespace socklab::harness {

using boost::system::error_code;

namespace {

// A filled-in port ("8888"): 1-65535, or the step cannot be carried out.
std::uint16_t port_number(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 5 && std::all_of(text.begin(), text.end(), ::isdigit);
  int value = digits ? std::stoi(text) : 0;
  if (value < 1 || value > 65535) throw Aborted{"bad port \"" + text + "\" (1-65535)"};
  return static_cast<std::uint16_t>(value);
}

}  // namespace

void ExperimentRun::perform(const Action& action) {
  check_limits();
  action_began_ = elapsed();  // its step's time: a timeline shows the action before what it caused
  struct Ended {
    std::optional<double>& began;
    ~Ended() { began.reset(); }
  } ended{action_began_};
  std::visit([this](const auto& step) { act(step); }, action);  // one act() per kind: a missing one does not compile
}

// --- processes ---------------------------------------------------------------------------------------------

void ExperimentRun::act(const StartStep& step) {
  ProcessSpec spec;
  spec.name = step.id;
  spec.path = program_path(step.program);
  for (const Template& a : step.args) spec.args.push_back(placeholders_.fill(a));
  for (const auto& [k, v] : step.env) spec.env[k] = placeholders_.fill(v);
  spec.stdout_pty = step.stdout_pty;
  spec.working_dir = placeholders_.fill(step.working_dir);
  std::string command = step.program;
  for (const std::string& a : spec.args) command += " " + a;
  ProcState& p = launch(step, spec, command);
  int pid = p.process->pid();
  std::string ready;
  bool ok = wait_ready(step, p, ready);
  std::string text = "start " + step.id + ": " + command + " (pid " + std::to_string(pid) + ")";
  if (!ok) {
    record_step(step, text + " — not ready", false);
    std::string reason = step.id + " did not become ready: expected " + ready + " within " +
                         seconds(scaled(step.timeout)) + exit_note(p);
    throw Aborted{reason + "\n" + output_detail(p)};
  }
  p.fd_baseline = open_fd_count(pid);
  record_step(step, text + (ready.empty() ? "" : ", ready: " + ready));
}

// Starts the program, or says why it cannot be (missing from a submission, not there, not startable) and stops.
ProcState& ExperimentRun::launch(const StartStep& step, const ProcessSpec& spec, const std::string& command) {
  if (auto gone = options_.missing.find(step.program); gone != options_.missing.end()) {
    record_step(step, "start " + step.id + ": " + command + " — " + gone->second, false);
    throw Aborted{step.program + " " + gone->second};
  }
  if (access(spec.path.c_str(), X_OK) != 0) {
    record_step(step, "start " + step.id + ": " + command + " — program not found", false);
    throw Aborted{"program " + step.program + " not found (" + spec.path + ")"};
  }
  ProcState state;
  try {
    state.process = launcher_.start(spec);
  } catch (const std::exception& e) {
    record_step(step, "start " + step.id + ": " + command + " — " + e.what(), false);
    throw Aborted{e.what()};
  }
  state.program = step.program;
  state.command_line = command;
  placeholders_.set_pid(step.id, state.process->pid());
  return processes_.emplace(step.id, std::move(state)).first->second;
}

// Waits for the start's ready condition (none: ready at once); `ready` says what it waited for.
bool ExperimentRun::wait_ready(const StartStep& step, ProcState& p, std::string& ready) {
  auto deadline = deadline_after(step.timeout);
  auto socket_ready = [&](Protocol protocol, const std::string& port) {  // kernel evidence: a socket it owns
    return wait_polling([&] {
      if (p.process->exit_status()) return true;
      for (const SocketInfo& s : capture()) {
        if (s.protocol == protocol && (protocol == Protocol::kUdp || s.state == "LISTEN") &&
            std::to_string(s.local_port) == port && owned_by(s, step.id)) {
          return true;
        }
      }
      return false;
    }, deadline) && !p.process->exit_status();
  };
  if (!step.ready_listen.empty()) {
    std::string port = placeholders_.fill(step.ready_listen);
    ready = "a LISTEN socket on port " + port;
    return socket_ready(Protocol::kTcp, port);
  }
  if (!step.ready_bound.empty()) {
    std::string port = placeholders_.fill(step.ready_bound);
    ready = "a UDP socket bound to port " + port;
    return socket_ready(Protocol::kUdp, port);
  }
  if (step.ready_output.empty()) return true;
  std::regex pattern(step.ready_output);
  ready = "a stdout line matching /" + step.ready_output + "/";
  bool matched = false;
  wait_event([&] {
    const auto& lines = p.process->out().lines;
    for (std::size_t i = p.cursor_out; i < lines.size() && !matched; ++i) {
      if (std::regex_search(lines[i], pattern)) {
        p.cursor_out = i + 1;
        matched = true;
      }
    }
    return matched || p.process->out().closed;
  }, deadline);
  return matched;
}

void ExperimentRun::act(const SendStep& step) {
  ProcState& p = proc(step.to);
  std::string line = repeated(placeholders_.fill(step.text), step.repeat);
  bool gone = p.process->exit_status().has_value() || p.process->stdin_write_failed();
  p.process->write_stdin(line + (step.newline ? "\n" : ""));
  record_step(step, "send to " + step.to + ": " + quoted(line) + (gone ? " (but it has exited)" : ""), !gone);
}

void ExperimentRun::act(const CloseStdinStep& step) {
  proc(step.process).process->close_stdin();
  record_step(step, "close stdin of " + step.process);
}

void ExperimentRun::act(const SignalStep& step) {
  ProcState& p = proc(step.process);
  bool gone = p.process->exit_status().has_value();
  p.process->send_signal(step.signal);
  record_step(step, std::string("signal ") + step.process + ": SIG" + sigabbrev_np(step.signal) +
                        (gone ? " (but it has exited)" : ""));
}

void ExperimentRun::act(const WaitStep& step) {
  record_step(step, "wait " + seconds(scaled(step.duration)) + (step.title.empty() ? "" : ": " + step.title));
  wait_event([] { return false; }, deadline_after(step.duration));
}

void ExperimentRun::act(const SnapshotStep& step) {
  SnapshotRecord s{step.title, step.line, elapsed(), capture()};
  result_.snapshots.push_back(s);
  reporter_.snapshot(s);
}

// --- raw TCP -----------------------------------------------------------------------------------------------

void ExperimentRun::act(const TcpConnectStep& step) {
  std::string port = placeholders_.fill(step.port);
  std::string from = step.from_port.empty() ? "" : placeholders_.fill(step.from_port);
  for (int i = 0; i < step.count; ++i) connect_tcp(step, port, from);
  record_step(step, "tcp-connect " + step.conn + ": " + std::to_string(step.count) + " connection(s) to port " + port +
                        (from.empty() ? "" : " from port " + from) + (step.read ? "" : ", never reading"));
}

// One more connection of step.conn, from port `from` if given. Not waited for: against a full listen queue the
// connection may stay in SYN-SENT (lab 3).
void ExperimentRun::connect_tcp(const TcpConnectStep& step, const std::string& port, const std::string& from) {
  auto c = std::make_unique<RawTcp>(loop_.context());
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw Aborted{std::string("socket: ") + std::strerror(errno)};
  int on = 1;
  if (step.reuseaddr) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (!from.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(port_number(from));
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      std::string e = std::strerror(errno);
      close(fd);
      record_step(step, "tcp-connect " + step.conn + ": bind port " + from + ": " + e, false);
      throw Aborted{"tcp-connect " + step.conn + ": bind port " + from + ": " + e};
    }
  }
  c->socket.assign(asio::ip::tcp::v4(), fd);
  RawTcp* raw = c.get();
  asio::ip::tcp::endpoint server(asio::ip::address_v4::loopback(), port_number(port));
  raw->socket.async_connect(server, [this, raw, reads = step.read](error_code ec) {
    if (ec) {
      if (ec != asio::error::operation_aborted) raw->error = "connect: " + ec.message();
      return;
    }
    raw->connected = true;
    error_code ignored;
    raw->local_port = raw->socket.local_endpoint(ignored).port();
    if (reads) read_tcp(raw);  // read="false": what arrives stays in the kernel's receive queue
    write_tcp(raw);
  });
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) raw->local_port = ntohs(bound.sin_port);
  tcp_[step.conn].push_back(std::move(c));
}

void ExperimentRun::act(const TcpListenStep& step) {
  std::string port = placeholders_.fill(step.port);
  std::string text = "tcp-listen " + step.conn + ": on 127.0.0.1:" + port + ", accepting " + std::to_string(step.count) +
                     " connection(s)";
  auto l = std::make_unique<RawListener>(loop_.context());
  l->wanted = step.count;
  l->timeout = step.timeout;
  l->port = port;
  asio::ip::tcp::endpoint here(asio::ip::address_v4::loopback(), port_number(port));
  error_code ec;
  l->acceptor.open(here.protocol(), ec);
  if (!ec) l->acceptor.bind(here, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    record_step(step, text + " — " + ec.message(), false);
    throw Aborted{"tcp-listen " + step.conn + ": 127.0.0.1:" + port + ": " + ec.message()};
  }
  RawListener* raw = l.get();
  tcp_[step.conn];  // its connections: none yet
  listeners_.emplace(step.conn, std::move(l));
  accept_tcp(step.conn, raw);
  record_step(step, text);
}

// Accepts the listener's next connection, until it has as many as it takes; each reads at once, like a
// tcp-connect's.
void ExperimentRun::accept_tcp(const std::string& id, RawListener* l) {
  if (l->accepted >= l->wanted) return;
  auto c = std::make_shared<std::unique_ptr<RawTcp>>(std::make_unique<RawTcp>(loop_.context()));
  l->acceptor.async_accept((*c)->socket, [this, id, l, c](error_code ec) {
    if (ec) {
      if (ec != asio::error::operation_aborted) l->error = "accept: " + ec.message();
      return;
    }
    RawTcp* raw = c->get();
    raw->connected = true;
    raw->local_port = port_number(l->port);
    tcp_[id].push_back(std::move(*c));
    ++l->accepted;
    read_tcp(raw);
    write_tcp(raw);
    accept_tcp(id, l);
  });
}

void ExperimentRun::act(const TcpSendStep& step) {
  std::string data = repeated(placeholders_.fill(step.text), step.repeat) + (step.newline ? "\n" : "");
  for (auto& c : connections(step.conn)) {
    c->pending.push_back(data);
    if (c->pending.size() == 1) write_tcp(c.get());
  }
  record_step(step, "tcp-send " + step.conn + ": " + quoted(data));
}

void ExperimentRun::act(const TcpShutdownStep& step) {
  for (auto& c : connections(step.conn)) {
    c->shutdown_wanted = true;
    if (c->pending.empty()) write_tcp(c.get());  // else write_tcp does it once the last pending data has gone out
  }
  record_step(step, "tcp-shutdown " + step.conn + ": shutdown(SHUT_WR) after what was sent (the peer reads EOF; " +
                        step.conn + " still reads)");
}

void ExperimentRun::act(const TcpCloseStep& step) {
  for (auto& c : connections(step.conn)) {
    error_code ignored;
    if (step.reset) c->socket.set_option(asio::socket_base::linger(true, 0), ignored);  // close sends RST
    c->closed = true;
    c->socket.close(ignored);
  }
  record_step(step, "tcp-close " + step.conn + (step.reset ? " with RST (SO_LINGER 0)" : ""));
}

void ExperimentRun::read_tcp(RawTcp* c) {
  c->socket.async_read_some(asio::buffer(c->buffer), [this, c](error_code ec, std::size_t n) {
    c->partial.append(c->buffer.data(), n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = c->partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      c->lines.emplace_back(c->partial, start, nl - start);
    }
    c->partial.erase(0, start);
    if (ec) {
      if (ec == asio::error::eof) c->eof = true;
      else if (ec != asio::error::operation_aborted) c->error = ec.message();
      return;
    }
    read_tcp(c);
  });
}

// Sends the queued texts a quarter of a read buffer (16 KiB) per turn of the event loop; then, if tcp-shutdown asked
// for it, shuts the sending side. Unbounded, one send() could push megabytes into the kernel while each read of
// another connection takes 64 KiB: a server relaying what is sent here (lab6.stuck: 9 MB) to other connections of
// the harness, with its IP:PORT: prefix, would then find them reading slower than their sender writes, and rightly
// drop them as members that do not read.
void ExperimentRun::write_tcp(RawTcp* c) {
  if (!c->connected || c->closed) return;
  if (c->pending.empty()) {
    if (c->shutdown_wanted && !c->shut_down) {
      c->shut_down = true;
      error_code ec;
      c->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
      if (ec) c->error = "shutdown: " + ec.message();
    }
    return;
  }
  const std::string& text = c->pending.front();
  std::size_t size = std::min(c->buffer.size() / 4, text.size() - c->sent);
  c->socket.async_write_some(asio::buffer(text.data() + c->sent, size), [this, c](error_code ec, std::size_t n) {
    if (ec) {
      if (ec != asio::error::operation_aborted) c->error = ec.message();
      c->pending.clear();
      return;
    }
    c->sent += n;
    if (c->sent == c->pending.front().size()) {
      c->pending.pop_front();
      c->sent = 0;
    }
    write_tcp(c);
  });
}

std::vector<std::unique_ptr<RawTcp>>& ExperimentRun::connections(const std::string& id, Clock::time_point deadline) {
  auto it = tcp_.find(id);
  if (it == tcp_.end()) throw Aborted{"connection \"" + id + "\" was not opened"};
  auto l = listeners_.find(id);
  if (l == listeners_.end()) return it->second;
  RawListener& listener = *l->second;
  wait_event([&] { return listener.accepted >= listener.wanted || !listener.error.empty(); }, deadline);
  if (listener.accepted < listener.wanted) {
    throw Aborted{"tcp-listen " + id + " (127.0.0.1:" + listener.port + "): " + std::to_string(listener.accepted) + " of " +
                  std::to_string(listener.wanted) + " connection(s) accepted in time" +
                  (listener.error.empty() ? "" : "; " + listener.error)};
  }
  return it->second;
}

std::vector<std::unique_ptr<RawTcp>>& ExperimentRun::connections(const std::string& id) {
  auto l = listeners_.find(id);
  return connections(id, deadline_after(l == listeners_.end() ? Millis(0) : l->second->timeout));
}

// --- raw UDP -----------------------------------------------------------------------------------------------

void ExperimentRun::act(const UdpSendStep& step) {
  RawUdp& u = udp_socket(step.socket);
  std::string data = repeated(placeholders_.fill(step.text), step.repeat) + (step.newline ? "\n" : "");
  std::string port = placeholders_.fill(step.port);
  error_code ec;
  u.socket.send_to(asio::buffer(data), asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), port_number(port)), 0,
                   ec);
  record_step(step, "udp-send from " + step.socket + " to port " + port + ": " + quoted(data) +
                        (ec ? " — " + ec.message() : ""), !ec);
}

// The socket of that id, created (bound to 127.0.0.1, receiving) on first use.
RawUdp& ExperimentRun::udp_socket(const std::string& id) {
  auto it = udp_.find(id);
  if (it != udp_.end()) return *it->second;
  auto u = std::make_unique<RawUdp>(loop_.context());
  u->socket.open(asio::ip::udp::v4());
  u->socket.bind(asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
  u->local_port = u->socket.local_endpoint().port();
  RawUdp* raw = u.get();
  receive_udp(raw);
  return *udp_.emplace(id, std::move(u)).first->second;
}

void ExperimentRun::receive_udp(RawUdp* u) {
  u->socket.async_receive_from(asio::buffer(u->buffer), u->sender, [this, u](error_code ec, std::size_t n) {
    if (!ec) {
      u->datagrams.emplace_back(u->buffer.data(), n);
    } else if (ec != asio::error::connection_refused) {
      return;  // closed (operation_aborted) or broken: stop; ECONNREFUSED (left by an earlier send) is transient
    }
    receive_udp(u);
  });
}

// --- the link ----------------------------------------------------------------------------------------------

// Impairs the loopback of the experiment's own namespace, and only there: on the host it would slow every program of
// the machine (the loader refuses <link> with isolation="host"; this is an "auto" experiment that got no namespace).
void ExperimentRun::act(const LinkStep& step) {
  if (result_.isolation != Isolation::kNetns) {
    record_step(step, "link: not made — no network namespace of its own", false);
    throw Aborted{"<link> impairs the experiment's own loopback, and this experiment has no network namespace of its "
                  "own (run it as root, or where user namespaces are allowed)"};
  }
  std::string made;
  try {
    made = link_.apply(step);
  } catch (const LinkError& e) {
    record_step(step, std::string("link: ") + e.what(), false);
    throw Aborted{std::string("link: ") + e.what()};
  }
  record_step(step, "link: " + made);
}

}  // namespace socklab::harness
