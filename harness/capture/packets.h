// Packets on the wire: inside an experiment's own network namespace, an AF_PACKET socket on `lo` sees every
// segment of the experiment (and nothing else). Decoded into a ladder diagram, written as a .pcap for Wireshark.
// Needs CAP_NET_RAW, which root has, and which an unprivileged user has inside its own user+net namespace.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace socklab::harness {

struct Packet {
  double at = 0;  // seconds since the experiment started
  std::string src, dst;  // "127.0.0.1:40712"
  std::uint16_t sport = 0, dport = 0;
  bool syn = false, ack = false, fin = false, rst = false, psh = false;
  std::uint32_t seq = 0, ack_number = 0;
  std::size_t payload = 0;
  std::string preview;  // the first bytes of the payload, printable
  bool retransmission = false;
  std::string flags() const;  // "SYN", "SYN,ACK", "PSH,ACK", "FIN,ACK", "RST"
  bool operator==(const Packet&) const = default;
};

// Decodes one Ethernet frame (lo's link type) carrying IPv4 or IPv6 TCP. False for anything else.
bool decode_frame(const unsigned char* frame, std::size_t length, Packet& out);

class PacketCapture {
 public:
  virtual ~PacketCapture() = default;
  virtual void stop() = 0;  // reads what is left, then closes the socket
  virtual const std::vector<Packet>& packets() const = 0;
  // libpcap format (magic a1b2c3d4, link type 1 = Ethernet), wall-clock timestamps. False + why on failure.
  virtual bool write_pcap(const std::string& path, std::string& why) const = 0;
};

// Starts capturing on `lo` (TCP segments with one of `ports` as source or destination port). nullptr, with the
// reason in why_not, where capture is not permitted.
std::unique_ptr<PacketCapture> start_packet_capture(boost::asio::io_context& context, const std::set<std::uint16_t>& ports,
                                                    std::chrono::steady_clock::time_point start, std::string& why_not);

// One ladder per connection: the client's column on the left, the server's on the right, an arrow per segment with
// its flags, payload length and a preview; retransmissions marked.
std::string render_ladder(const std::vector<Packet>& packets, const std::set<std::uint16_t>& server_ports);

}  // namespace socklab::harness
