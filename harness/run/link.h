// A lossy, slow link: <link loss="10%" delay="20ms" rate="1mbit"/> impairs the loopback of the experiment's own
// network namespace (the only interface it has), with what this kernel offers and nothing faked:
//   - the netem qdisc where the kernel has it (sch_netem): loss, delay and rate in one qdisc on lo;
//   - else loss by an nf_tables rule (`nft`, Debian's nftables) that drops that share of the packets as they
//     arrive (prerouting, numgen random), TCP and UDP alike, the sender none the wiser, and rate by the tbf qdisc (`tc`, iproute2); a delay cannot be made
//     without netem, and asking for one is an error that says so.
// Both live in the namespace and vanish with it: nothing is set outside it, nothing is left behind.
#pragma once

#include <stdexcept>
#include <string>

#include "model/experiment.h"

namespace socklab::harness {

// Why a link cannot be made here (no netem for a delay, no `nft`, a tool that failed, with its message).
struct LinkError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The loopback of the current network namespace, as the experiment's <link> steps have set it.
class Link {
 public:
  // Makes lo what `step` asks for, replacing what an earlier call made (a <link/> without attributes: a clean
  // link again). Returns what it made and how, for the report ("loss 10% (nftables, numgen random), rate 1mbit
  // (tbf)"); throws LinkError. Call it only inside the experiment's own network namespace.
  std::string apply(const LinkStep& step);

 private:
  void clear();
  bool kernel_has_netem();

  bool qdisc_ = false;  // a root qdisc of ours on lo
  bool table_ = false;  // our nf_tables table
  int netem_ = -1;      // does the kernel have netem? -1: not asked yet
};

// "10%", "0.5%": a loss in hundredths of a percent, as LinkStep keeps it.
std::string loss_text(int hundredths);
// "1mbit", "1500kbit", "64bit": a rate in bits per second, as tc reads it.
std::string rate_text(std::uint64_t bits_per_second);

}  // namespace socklab::harness
