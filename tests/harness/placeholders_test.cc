// Placeholders: the same name is the same port all through an experiment; different names, different ports.
#include <gtest/gtest.h>

#include "model/placeholders.h"
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

// One grammar for loader and runner: a placeholder is "{", no braces, "}"; "\{" is a literal brace.
TEST(PlaceholderGrammar, SplitsTextIntoLiteralsAndPlaceholders) {
  auto pieces = split_placeholders("a {port2}\\{b} {pid:s}{a{port:x}{json}");
  ASSERT_EQ(pieces.size(), 7u);
  EXPECT_EQ(pieces[0].literal, "a ");
  EXPECT_EQ(pieces[1].placeholder->kind, Placeholder::Kind::kPort);
  EXPECT_EQ(pieces[1].placeholder->port_key(), "port2");
  EXPECT_EQ(pieces[2].literal, "{b} ");
  EXPECT_EQ(pieces[3].placeholder->kind, Placeholder::Kind::kPid);
  EXPECT_EQ(pieces[3].placeholder->pid_id(), "s");
  EXPECT_EQ(pieces[4].literal, "{a") << "a brace with another before its closing one is text";
  EXPECT_EQ(pieces[5].placeholder->port_key(), "port:x");
  EXPECT_EQ(pieces[6].placeholder->kind, Placeholder::Kind::kUnknown);
  EXPECT_EQ(pieces[6].placeholder->text(), "{json}");
  EXPECT_EQ((Placeholder{Placeholder::Kind::kPort, "port"}.port_key()), "port1") << "{port} is {port1}";
  EXPECT_TRUE(is_port_placeholder("{port:web}"));
  EXPECT_FALSE(is_port_placeholder("{port}1"));
  EXPECT_FALSE(is_port_placeholder("{portal}"));
}
