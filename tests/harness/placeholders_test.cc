// Placeholders: the same name is the same port all through an experiment; different names, different ports.
#include <gtest/gtest.h>

#include "run/runner.h"

using namespace socklab::harness;

namespace {

// A port source that hands out 5000, 5001, ... (and 5000 again once, to prove duplicates are skipped).
struct FakePorts {
  std::vector<std::uint16_t> sequence{5000, 5000, 5001, 5002, 5003};
  std::size_t next = 0;
  std::uint16_t operator()() { return sequence.at(next++); }
};

}  // namespace

TEST(Placeholders, FillsPortsConsistentlyAndPids) {
  FakePorts ports;
  Placeholders p([&] { return ports(); });
  EXPECT_EQ(p.fill("-p {port}"), "-p 5000");
  EXPECT_EQ(p.fill("{port} {port1}"), "5000 5000") << "{port} and {port1} are the same port";
  EXPECT_EQ(p.fill("{port2}"), "5001") << "the allocator's duplicate 5000 must be skipped";
  EXPECT_EQ(p.fill("{port:client}/{port2}"), "5002/5001");
  p.set_pid("server", 4242);
  EXPECT_EQ(p.fill("kill {pid:server}"), "kill 4242");
  EXPECT_THROW(p.fill("{pid:nobody}"), std::runtime_error);
  EXPECT_EQ(p.ports().size(), 3u);
}

TEST(Placeholders, KeepsEscapedAndForeignBraces) {
  Placeholders p([] { return std::uint16_t{6000}; });
  EXPECT_EQ(p.fill("\\{port}"), "{port}");
  EXPECT_EQ(p.fill("{json} {"), "{json} {");
}
