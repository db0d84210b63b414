#include "line_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "net.h"

using socklab::LineReader;

namespace {

// A connected pair of stream sockets: what one end writes, the other reads, split as the test chooses.
struct SocketPair {
  int a = -1, b = -1;
  SocketPair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw std::runtime_error("socketpair");
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
  }
  void write(const std::string& s) { socklab::write_all(a, s); }
  void close_writer() {
    close(a);
    a = -1;
  }
};

}  // namespace

// A line split over several reads is returned whole, only once its '\n' has arrived.
TEST(LineReader, JoinsALineSplitAcrossSegments) {
  SocketPair pair;
  LineReader reader(pair.b);
  std::string line;
  pair.write("hel");
  reader.read_some();
  EXPECT_FALSE(reader.take_line(line)) << "a line without its '\\n' must not be returned yet";
  pair.write("lo wor");
  reader.read_some();
  EXPECT_FALSE(reader.take_line(line));
  pair.write("ld\nnext");
  reader.read_some();
  ASSERT_TRUE(reader.take_line(line));
  EXPECT_EQ(line, "hello world");
  EXPECT_FALSE(reader.take_line(line)) << "\"next\" has no '\\n' yet";
}

// Several lines arriving in one segment are handed out one by one, empty lines included.
TEST(LineReader, SplitsSeveralLinesFromOneSegment) {
  SocketPair pair;
  pair.write("one\n\nthree\n");
  pair.close_writer();
  LineReader reader(pair.b);
  std::string line;
  ASSERT_TRUE(reader.read_line(line));
  EXPECT_EQ(line, "one");
  ASSERT_TRUE(reader.read_line(line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(reader.read_line(line));
  EXPECT_EQ(line, "three");
  EXPECT_FALSE(reader.read_line(line));
  EXPECT_TRUE(reader.at_eof());
}

// A last line without '\n' is still delivered before end of stream.
TEST(LineReader, ReturnsAnUnterminatedLastLine) {
  SocketPair pair;
  pair.write("a\ntail");
  pair.close_writer();
  LineReader reader(pair.b);
  std::string line;
  ASSERT_TRUE(reader.read_line(line));
  ASSERT_TRUE(reader.read_line(line));
  EXPECT_EQ(line, "tail");
  EXPECT_FALSE(reader.read_line(line));
}

// A 1 MiB line written by another thread in small pieces arrives intact.
TEST(LineReader, ReadsAOneMebibyteLineWrittenInPieces) {
  SocketPair pair;
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  std::thread writer([&] {
    for (std::size_t i = 0; i < big.size(); i += 1000) pair.write(big.substr(i, 1000));
    pair.write("\n");
  });
  LineReader reader(pair.b);
  std::string line;
  bool ok = reader.read_line(line);
  writer.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(line.size(), big.size());
  EXPECT_TRUE(line == big) << "the line's bytes differ from what was written";
}

// A line beyond the limit is refused instead of eating memory without end.
TEST(LineReader, RefusesALineBeyondItsLimit) {
  SocketPair pair;
  pair.write(std::string(200, 'x'));
  LineReader reader(pair.b, "recv test", 100);
  std::string line;
  EXPECT_THROW(reader.read_line(line), std::length_error);
}

// The limit is exact: max_line bytes before the '\n' (a '\r' counts) are a line; one byte more is refused,
// even when the '\n' arrives in the same read as the rest.
TEST(LineReader, LimitCountsTheBytesBeforeTheNewline) {
  SocketPair pair;
  pair.write(std::string(99, 'x') + "\r\n" + std::string(101, 'y') + "\n");
  LineReader reader(pair.b, "recv test", 100);
  std::string line;
  ASSERT_TRUE(reader.read_line(line));
  EXPECT_EQ(line, std::string(99, 'x') + "\r");
  EXPECT_THROW(reader.read_line(line), std::length_error);
}

// A read error becomes a system_error naming the stream (here read(2) on a directory: EISDIR).
TEST(LineReader, ReportsReadErrorsWithTheirSubject) {
  int directory = open("/", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(directory, 0);
  LineReader reader(directory, "recv test");
  std::string line;
  try {
    reader.read_line(line);
    ADD_FAILURE() << "expected a std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()), "recv test: Is a directory");
  }
  close(directory);
}
