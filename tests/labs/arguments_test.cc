// Every program refuses bad arguments with a specific message, its usage, and exit 2 — and prints its usage
// on --help with exit 0.
#include "lab_fixture.h"

using namespace testing_support;

namespace {

struct BadArguments {
  std::string program;
  std::vector<std::string> args;
  std::string first_stderr_line;
};

void PrintTo(const BadArguments& c, std::ostream* os) {
  *os << c.program;
  for (const std::string& a : c.args) *os << " '" << a << "'";
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

class BadArgumentsTest : public ::testing::TestWithParam<BadArguments> {};

}  // namespace

TEST_P(BadArgumentsTest, PrintsAClearMessageAndUsageAndExitsTwo) {
  const BadArguments& c = GetParam();
  Child child(c.program, c.args);
  auto status = child.wait_exit();
  ASSERT_TRUE(status.has_value()) << c.program << " did not exit";
  EXPECT_EQ(status->describe(), "exit 2");
  const std::string& err = child.stderr_text();
  EXPECT_EQ(first_line(err), c.first_stderr_line);
  EXPECT_NE(err.find("usage: " + c.program), std::string::npos) << err;
  EXPECT_NE(err.find("example: " + c.program), std::string::npos) << err;
  EXPECT_TRUE(child.stdout_lines().empty()) << "stdout is for data and events only";
}

INSTANTIATE_TEST_SUITE_P(
    AllPrograms, BadArgumentsTest,
    ::testing::Values(
        BadArguments{"echo_server", {}, "echo_server: missing PORT"},
        BadArguments{"echo_server", {"70000"}, "echo_server: bad port \"70000\" (1-65535)"},
        BadArguments{"echo_server", {"0"}, "echo_server: bad port \"0\" (1-65535)"},
        BadArguments{"echo_server", {"8x"}, "echo_server: bad port \"8x\" (1-65535)"},
        BadArguments{"echo_server", {"8888", "--backlog"}, "echo_server: --backlog needs a value"},
        BadArguments{"echo_server", {"8888", "--backlog", "-1"}, "echo_server: bad backlog \"-1\" (0-65535)"},
        BadArguments{"echo_server", {"8888", "--bogus"}, "echo_server: unknown option \"--bogus\""},
        BadArguments{"echo_server", {"8888", "9999"}, "echo_server: unexpected argument \"9999\""},
        BadArguments{"echo_client", {}, "echo_client: missing -p PORT"},
        BadArguments{"echo_client", {"-p", "70000"}, "echo_client: bad port \"70000\" (1-65535)"},
        BadArguments{"echo_client", {"-p"}, "echo_client: -p needs a value"},
        BadArguments{"echo_client", {"-a", "nowhere", "-p", "1"},
                     "echo_client: bad address \"nowhere\" (IPv4 dotted quad or localhost)"},
        BadArguments{"echo_client", {"-p", "1", "--bind", "0"}, "echo_client: bad port \"0\" (1-65535)"},
        BadArguments{"echo_client", {"-p", "1", "--reuseaddr"}, "echo_client: --reuseaddr needs --bind LPORT"},
        BadArguments{"echo_client", {"-p", "1", "extra"}, "echo_client: unknown argument \"extra\""},
        BadArguments{"fork_server", {}, "fork_server: missing PORT"},
        BadArguments{"fork_server", {"65536"}, "fork_server: bad port \"65536\" (1-65535)"},
        BadArguments{"fork_server", {"1", "--no-parent-closed"}, "fork_server: unknown option \"--no-parent-closed\""},
        BadArguments{"udp_chat_server", {}, "udp_chat_server: missing PORT"},
        BadArguments{"udp_chat_server", {"1", "2"}, "udp_chat_server: too many arguments"},
        BadArguments{"udp_chat_server", {"-5"}, "udp_chat_server: bad port \"-5\" (1-65535)"},
        BadArguments{"udp_chat_client", {"-p", "1"}, "udp_chat_client: missing -n NICK"},
        BadArguments{"udp_chat_client", {"-n", "bob"}, "udp_chat_client: missing -p PORT"},
        BadArguments{"udp_chat_client", {"-p", "1", "-n", "bo b"},
                     "udp_chat_client: bad nickname \"bo b\" (1-32 printable characters, no spaces)"},
        BadArguments{"udp_chat_client", {"-p", "1", "-n", std::string(33, 'x')},
                     "udp_chat_client: bad nickname \"" + std::string(33, 'x') +
                         "\" (1-32 printable characters, no spaces)"},
        BadArguments{"tcp_chat_server", {"--mode", "hub"}, "tcp_chat_server: missing PORT"},
        BadArguments{"tcp_chat_server", {"9999"}, "tcp_chat_server: missing --mode p2p|hub"},
        BadArguments{"tcp_chat_server", {"9999", "--mode", "star"}, "tcp_chat_server: bad mode \"star\" (p2p or hub)"},
        BadArguments{"tcp_chat_server", {"9999", "--mode"}, "tcp_chat_server: --mode needs a value"},
        BadArguments{"tcp_chat_server", {"9999", "--mode", "hub", "--max-clients", "0"},
                     "tcp_chat_server: bad max-clients \"0\" (1-1000)"},
        BadArguments{"tcp_chat_server", {"9999", "--mode", "p2p", "--max-clients", "3"},
                     "tcp_chat_server: --max-clients is for --mode hub"},
        BadArguments{"tcp_chat_server", {"9999", "--mode", "hub", "--bogus"},
                     "tcp_chat_server: unknown option \"--bogus\""},
        BadArguments{"tcp_chat_client", {}, "tcp_chat_client: missing -p PORT"},
        BadArguments{"tcp_chat_client", {"-p", "0"}, "tcp_chat_client: bad port \"0\" (1-65535)"},
        BadArguments{"tcp_chat_client", {"-p", "1", "--full-duplex"},
                     "tcp_chat_client: unknown argument \"--full-duplex\""},
        BadArguments{"echo_server", {"8888", "--idle-timeout"}, "echo_server: --idle-timeout needs a value"},
        BadArguments{"echo_server", {"8888", "--idle-timeout", "0"},
                     "echo_server: bad idle-timeout \"0\" (seconds, 0.001-86400)"},
        BadArguments{"fork_server", {"8888", "--idle-timeout", "-1"},
                     "fork_server: bad idle-timeout \"-1\" (seconds, 0.001-86400)"},
        BadArguments{"thread_server", {}, "thread_server: missing PORT"},
        BadArguments{"thread_server", {"8888", "--idle-timeout", "soon"},
                     "thread_server: bad idle-timeout \"soon\" (seconds, 0.001-86400)"},
        BadArguments{"thread_server", {"8888", "--backlog", "3"}, "thread_server: unknown option \"--backlog\""},
        BadArguments{"epoll_server", {"99999"}, "epoll_server: bad port \"99999\" (1-65535)"},
        BadArguments{"epoll_server", {"8888", "--idle-timeout", "1e3"},
                     "epoll_server: bad idle-timeout \"1e3\" (seconds, 0.001-86400)"},
        BadArguments{"epoll_server", {"8888", "9999"}, "epoll_server: unexpected argument \"9999\""},
        BadArguments{"echo_bench", {}, "echo_bench: missing -p PORT"},
        BadArguments{"echo_bench", {"-p", "1", "--clients", "0"}, "echo_bench: bad clients \"0\" (1-10000)"},
        BadArguments{"echo_bench", {"-p", "1", "--size", "0"}, "echo_bench: bad size \"0\" (1-4194305)"},
        BadArguments{"echo_bench", {"-p", "1", "--udp", "--size", "70000"},
                     "echo_bench: bad size \"70000\" (with --udp 1-65507)"},
        BadArguments{"echo_bench", {"-p", "1", "--duration", "2", "--count", "5"},
                     "echo_bench: --duration and --count exclude each other"},
        BadArguments{"echo_bench", {"-p", "1", "--duration", "x"},
                     "echo_bench: bad duration \"x\" (seconds, 0.001-86400)"},
        BadArguments{"echo_bench", {"-p", "1", "--timeout", "60"}, "echo_bench: bad timeout \"60\" (seconds, 0.001-30)"},
        BadArguments{"echo_bench", {"-p", "1", "--count"}, "echo_bench: --count needs a value"},
        BadArguments{"echo_bench", {"-p", "1", "-a", "nowhere"},
                     "echo_bench: bad address \"nowhere\" (IPv4 dotted quad or localhost)"},
        BadArguments{"echo_bench", {"-p", "1", "--fast"}, "echo_bench: unknown option \"--fast\""},
        BadArguments{"echo_bench", {"-p", "1", "8888"}, "echo_bench: unexpected argument \"8888\""}),
    [](const ::testing::TestParamInfo<BadArguments>& param) {  // e.g. "echo_server_3"
      return param.param.program + "_" + std::to_string(param.index);
    });

// --help is not an error: usage on stdout, exit 0.
TEST(Help, PrintsUsageOnStdoutAndExitsZero) {
  for (std::string program : {"echo_server", "echo_client", "fork_server", "udp_chat_server", "udp_chat_client",
                              "tcp_chat_server", "tcp_chat_client", "thread_server", "epoll_server", "echo_bench"}) {
    Child child(program, {"--help"});
    auto line = child.next_line();
    EXPECT_EQ(line.value_or("").rfind("usage: " + program, 0), 0u) << program;
    auto status = child.wait_exit();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->describe(), "exit 0") << program;
  }
}
