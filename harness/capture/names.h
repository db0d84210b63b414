// How capture names what it sees, in one place: addresses and endpoints as ss prints them (and, from the model, the
// kernel's TCP states by the names ss uses). Snapshots, the timeline and the packets all use these.
#pragma once

#include <cstdint>
#include <string>

#include "model/tcp_states.h"

namespace socklab::harness {

// An address in its raw form (4 or 16 bytes, network order) as text: "127.0.0.1", "::1"; "*" for the unspecified
// address (0.0.0.0, ::).
std::string address_text(int family, const void* raw);

// "127.0.0.1:8888", "[::1]:8888", "*:8888", "*:*" (address "*" or port 0 mean any). `family` decides the brackets.
std::string endpoint_text(int family, const std::string& address, std::uint16_t port);

}  // namespace socklab::harness
