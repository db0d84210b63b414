#include "cli/watch.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <map>
#include <sstream>

#include "process/clock.h"
#include "capture/sockets.h"
#include "model/durations.h"

namespace socklab::harness {
namespace {


std::string key_of(const SocketInfo& s) { return s.protocol_name() + " " + s.local() + " " + s.peer(); }

// Both ends of a loopback connection belong together: group by the unordered pair of endpoints.
std::string connection_of(const SocketInfo& s) {
  if (s.peer_port == 0) return "listener " + s.local();
  std::string a = s.local(), b = s.peer();
  if (b < a) std::swap(a, b);
  return s.protocol_name() + " " + a + " ↔ " + b;
}

std::string owners_of(const SocketInfo& s) {
  std::string out;
  for (const SocketOwner& o : s.owners) out += (out.empty() ? "" : ", ") + o.command + " (pid " + std::to_string(o.pid) + ")";
  return out.empty() ? "no process (orphaned, TIME-WAIT or not yet accepted)" : out;
}

std::string age(double seconds) { return seconds_text(seconds, 1); }

void sleep_ms(int ms, const volatile std::sig_atomic_t* stop) {
  timespec t{ms / 1000, (ms % 1000) * 1000000L};
  while (!*stop && nanosleep(&t, &t) != 0) {  // EINTR: Ctrl-C (checked), or another signal: sleep the rest
  }
}

}  // namespace

int watch_sockets(const WatchOptions& options, std::ostream& out, const volatile std::sig_atomic_t* stop) {
  std::unique_ptr<SocketSource> source = make_best_source();
  std::map<std::string, std::pair<std::string, Clock::time_point>> since;  // socket -> (state, since when)
  std::map<std::string, SocketInfo> previous;
  auto start = Clock::now();
  SocketFilter filter;
  for (int p : options.ports) filter.ports.insert(static_cast<std::uint16_t>(p));
  for (int p : options.pids) filter.pids.insert(p);
  if (!options.tty) {
    out << "socklab watch: sockets via " << source->name() << ", every " << options.interval_ms
        << " ms; changes are printed as they are seen (Ctrl-C to stop)\n" << std::flush;
  }
  for (int refresh = 0; !*stop && refresh != options.max_refreshes; ++refresh) {
    auto now = Clock::now();
    auto all = source->snapshot();
    attribute_owners(all);
    std::vector<SocketInfo> sockets = filtered(all, filter);
    std::map<std::string, SocketInfo> current;
    for (const SocketInfo& s : sockets) {
      std::string k = key_of(s);
      current[k] = s;
      auto it = since.find(k);
      if (it == since.end() || it->second.first != s.state) since[k] = {s.state, now};
    }
    double t = std::chrono::duration<double>(now - start).count();
    if (options.tty) {
      std::ostringstream screen;
      screen << "\033[H\033[2J";  // home, clear: refresh in place
      screen << "socklab watch — sockets via " << source->name() << ", every " << options.interval_ms
             << " ms — Ctrl-C to quit\n\n";
      std::map<std::string, std::vector<SocketInfo>> groups;
      for (const SocketInfo& s : sockets) groups[connection_of(s)].push_back(s);
      if (groups.empty()) screen << "(no matching sockets)\n";
      for (const auto& [name, members] : groups) {
        screen << name << "\n";
        for (const SocketInfo& s : members) {
          double in_state = std::chrono::duration<double>(now - since[key_of(s)].second).count();
          screen << "  " << std::left << std::setw(22) << s.local() << std::setw(11) << s.state << " for "
                 << std::setw(7) << age(in_state) << " Recv-Q " << std::setw(5) << s.recv_q << " Send-Q " << std::setw(5)
                 << s.send_q;
          if (s.timer == "timewait") screen << " " << s.timer_ms / 1000 << " s of TIME-WAIT left";
          screen << "  " << owners_of(s) << "\n";
        }
      }
      out << screen.str() << std::flush;
    } else {
      for (const auto& [k, s] : current) {
        auto old = previous.find(k);
        if (old == previous.end()) {
          out << std::fixed << std::setprecision(3) << t << "s  new   " << k << "  " << s.state << "  " << owners_of(s) << "\n";
        } else if (old->second.state != s.state) {
          out << std::fixed << std::setprecision(3) << t << "s  " << k << "  " << old->second.state << " → " << s.state << "\n";
        }
      }
      for (const auto& [k, s] : previous) {
        if (!current.count(k)) out << std::fixed << std::setprecision(3) << t << "s  gone  " << k << "  (was " << s.state << ")\n";
      }
      out << std::flush;
    }
    previous = current;
    for (auto it = since.begin(); it != since.end();) it = current.count(it->first) ? std::next(it) : since.erase(it);
    if (refresh + 1 != options.max_refreshes) sleep_ms(options.interval_ms, stop);
  }
  return 0;
}

}  // namespace socklab::harness
