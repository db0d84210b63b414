#include "capture/packets.h"

#include "process/clock.h"
#include "capture/names.h"
#include "model/durations.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

namespace socklab::harness {
namespace {


std::int64_t realtime_minus_monotonic_ns() {
  timespec real{}, mono{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (static_cast<std::int64_t>(real.tv_sec) - mono.tv_sec) * 1000000000 + (real.tv_nsec - mono.tv_nsec);
}

double realtime_minus_monotonic() {
  timespec real{}, mono{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (real.tv_sec - mono.tv_sec) + (real.tv_nsec - mono.tv_nsec) / 1e9;
}

class LoopbackCapture : public PacketCapture {
 public:
  LoopbackCapture(boost::asio::io_context& context, int fd, std::set<std::uint16_t> ports, Clock::time_point start)
      : descriptor_(context, fd), ports_(std::move(ports)), start_(start), wall_offset_(realtime_minus_monotonic()) {
    wait();
  }
  ~LoopbackCapture() override { stop(); }

  void stop() override {
    if (!descriptor_.is_open()) return;
    drain();
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
    descriptor_.close(ignored);
  }
  const std::vector<Packet>& packets() const override { return packets_; }

  bool write_pcap(const std::string& path, std::string& why) const override {
    std::ofstream out(path, std::ios::binary);
    if (!out) {
      why = "cannot write " + path;
      return false;
    }
    struct {
      std::uint32_t magic = 0xa1b2c3d4;
      std::uint16_t major = 2, minor = 4;
      std::int32_t zone = 0;
      std::uint32_t sigfigs = 0, snaplen = 65535, linktype = 1;  // Ethernet: what lo presents
    } header;
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    double start_mono = std::chrono::duration<double>(start_.time_since_epoch()).count();
    for (std::size_t i = 0; i < packets_.size(); ++i) {
      double wall = start_mono + packets_[i].at + wall_offset_;
      std::uint32_t record[4] = {static_cast<std::uint32_t>(wall),
                                 static_cast<std::uint32_t>((wall - static_cast<std::uint32_t>(wall)) * 1e6),
                                 static_cast<std::uint32_t>(frames_[i].size()), static_cast<std::uint32_t>(frames_[i].size())};
      out.write(reinterpret_cast<const char*>(record), sizeof record);
      out.write(frames_[i].data(), static_cast<std::streamsize>(frames_[i].size()));
    }
    return static_cast<bool>(out);
  }

 private:
  void wait() {
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
      if (ec) return;
      drain();
      wait();
    });
  }

  // Reads every frame queued now. On lo each segment passes twice (sent, then received): keep the received copy.
  // Its time is the kernel's (SO_TIMESTAMPNS: when lo received it, CLOCK_REALTIME), moved to the harness's clock,
  // not the moment this reads it: frames are read in batches, and a timeline orders a segment among state changes
  // microseconds apart (the client's FIN-WAIT-1, its FIN, the server's CLOSE-WAIT).
  void drain() {
    unsigned char frame[65600];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    const std::int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count();
    const std::int64_t real_minus_mono_ns = realtime_minus_monotonic_ns();  // now: the clocks part by NTP's slewing only
    for (;;) {
      sockaddr_ll from{};
      iovec data{frame, sizeof frame};
      msghdr message{};
      message.msg_name = &from;
      message.msg_namelen = sizeof from;
      message.msg_iov = &data;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      ssize_t n = recvmsg(descriptor_.native_handle(), &message, MSG_DONTWAIT);
      if (n <= 0) return;
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      Packet p;
      if (!decode_frame(frame, static_cast<std::size_t>(n), p)) continue;
      if (!ports_.count(p.sport) && !ports_.count(p.dport)) continue;
      p.at = std::chrono::duration<double>(Clock::now() - start_).count();  // unless the kernel says when
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec when{};
        std::memcpy(&when, CMSG_DATA(c), sizeof when);
        std::int64_t when_ns = static_cast<std::int64_t>(when.tv_sec) * 1000000000 + when.tv_nsec;  // (integers: a
        p.at = static_cast<double>(when_ns - real_minus_mono_ns - start_ns) / 1e9;  // double of epoch ns loses the µs)
      }
      std::string key = p.src + ">" + p.dst + "#" + std::to_string(p.seq);
      bool carries = p.payload > 0 || p.syn || p.fin;
      if (carries && !seen_.insert(key + (p.syn ? "S" : "") + (p.fin ? "F" : "")).second) p.retransmission = true;
      packets_.push_back(p);
      frames_.emplace_back(reinterpret_cast<const char*>(frame), static_cast<std::size_t>(n));
    }
  }

  boost::asio::posix::stream_descriptor descriptor_;
  std::set<std::uint16_t> ports_;
  Clock::time_point start_;
  double wall_offset_;
  std::vector<Packet> packets_;
  std::vector<std::string> frames_;
  std::set<std::string> seen_;
};

}  // namespace

std::string Packet::flags() const {
  std::string f;
  auto add = [&](bool on, const char* name) {
    if (on) f += (f.empty() ? "" : ",") + std::string(name);
  };
  add(syn, "SYN");
  add(fin, "FIN");
  add(rst, "RST");
  add(psh, "PSH");
  add(ack, "ACK");
  return f;
}

bool decode_frame(const unsigned char* frame, std::size_t length, Packet& out) {
  if (length < 14) return false;
  std::uint16_t ethertype = static_cast<std::uint16_t>(frame[12] << 8 | frame[13]);
  const unsigned char* ip = frame + 14;
  std::size_t left = length - 14;
  const unsigned char* tcp_start = nullptr;
  std::size_t tcp_length = 0;
  int family = AF_INET;
  const unsigned char *src = nullptr, *dst = nullptr;
  if (ethertype == ETH_P_IP) {
    if (left < 20 || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP) return false;
    std::size_t header = (ip[0] & 0x0f) * 4u, total = static_cast<std::size_t>(ip[2] << 8 | ip[3]);
    if (header < 20 || total > left || total < header) return false;
    tcp_start = ip + header;
    tcp_length = total - header;
    src = ip + 12;
    dst = ip + 16;
  } else if (ethertype == ETH_P_IPV6) {
    if (left < 40 || ip[6] != IPPROTO_TCP) return false;  // (no extension headers on loopback TCP)
    std::size_t payload = static_cast<std::size_t>(ip[4] << 8 | ip[5]);
    if (40 + payload > left) return false;
    tcp_start = ip + 40;
    tcp_length = payload;
    family = AF_INET6;
    src = ip + 8;
    dst = ip + 24;
  } else {
    return false;
  }
  if (tcp_length < 20) return false;
  std::size_t offset = (tcp_start[12] >> 4) * 4u;
  if (offset < 20 || offset > tcp_length) return false;
  out.sport = static_cast<std::uint16_t>(tcp_start[0] << 8 | tcp_start[1]);
  out.dport = static_cast<std::uint16_t>(tcp_start[2] << 8 | tcp_start[3]);
  out.src = endpoint_text(family, address_text(family, src), out.sport);
  out.dst = endpoint_text(family, address_text(family, dst), out.dport);
  out.seq = ntohl(*reinterpret_cast<const std::uint32_t*>(tcp_start + 4));
  out.ack_number = ntohl(*reinterpret_cast<const std::uint32_t*>(tcp_start + 8));
  unsigned char flags = tcp_start[13];
  out.fin = flags & 0x01;
  out.syn = flags & 0x02;
  out.rst = flags & 0x04;
  out.psh = flags & 0x08;
  out.ack = flags & 0x10;
  out.payload = tcp_length - offset;
  const unsigned char* data = tcp_start + offset;
  for (std::size_t i = 0; i < out.payload && out.preview.size() < 16; ++i) {
    unsigned char c = data[i];
    out.preview += c == '\n' ? std::string("\\n") : (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : std::string(".");
  }
  return true;
}

std::unique_ptr<PacketCapture> start_packet_capture(boost::asio::io_context& context, const std::set<std::uint16_t>& ports,
                                                    std::chrono::steady_clock::time_point start, std::string& why_not) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
  if (fd < 0) {
    why_not = std::string("packet capture not permitted (socket AF_PACKET: ") + std::strerror(errno) + ")";
    return nullptr;
  }
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(if_nametoindex("lo"));
  if (address.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    why_not = std::string("packet capture: bind to lo: ") + std::strerror(errno);
    close(fd);
    return nullptr;
  }
  int on = 1;  // the kernel's time of each frame (see drain()); without it, the time it is read
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  return std::make_unique<LoopbackCapture>(context, fd, ports, start);
}

std::string render_ladder(const std::vector<Packet>& packets, const std::set<std::uint16_t>& server_ports) {
  // Connections in order of their first segment; the client is the side whose port is not a server port.
  std::vector<std::pair<std::string, std::string>> order;  // client, server
  std::map<std::pair<std::string, std::string>, std::vector<const Packet*>> by_connection;
  for (const Packet& p : packets) {
    bool from_server = server_ports.count(p.sport) && !server_ports.count(p.dport);
    std::pair<std::string, std::string> key = from_server ? std::pair{p.dst, p.src} : std::pair{p.src, p.dst};
    if (!by_connection.count(key)) order.push_back(key);
    by_connection[key].push_back(&p);
  }
  std::ostringstream out;
  const int width = 44;
  for (const auto& key : order) {
    out << "  client " << key.first << std::string(std::max(1, width - 8 - static_cast<int>(key.first.size())), ' ')
        << "server " << key.second << "\n";
    for (const Packet* p : by_connection[key]) {
      std::string label = p->flags();
      if (p->payload > 0) label += " " + std::to_string(p->payload) + " B \"" + p->preview + (p->payload > 16 ? "…" : "") + "\"";
      if (p->retransmission) label += " (retransmission)";
      bool to_server = p->src == key.first;
      int dashes = std::max(2, width - 4 - static_cast<int>(label.size()));
      out << "  " << std::setw(9) << moment_text(p->at) << "  "
          << (to_server ? "--" + label + " " + std::string(dashes, '-') + ">" : "<" + std::string(dashes, '-') + " " + label + "--")
          << "\n";
    }
  }
  return out.str();
}

}  // namespace socklab::harness
