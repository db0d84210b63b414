#include "utf8.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "echo_session.h"

using socklab::echo_reply;
using socklab::reverse_utf8;
using socklab::utf8_sequence_length;

// ASCII is reversed byte by byte, as students expect.
TEST(Utf8, ReversesAscii) {
  EXPECT_EQ(reverse_utf8("hello"), "olleh");
  EXPECT_EQ(reverse_utf8(""), "");
  EXPECT_EQ(reverse_utf8("a"), "a");
}

// Multi-byte characters (2, 3 and 4 bytes) keep their bytes in order; only the characters move.
TEST(Utf8, ReversesByCharacterNotByByte) {
  EXPECT_EQ(reverse_utf8("h\xC3\xA9llo"), "oll\xC3\xA9h");                      // é
  EXPECT_EQ(reverse_utf8("\xE6\x97\xA5\xE6\x9C\xAC"), "\xE6\x9C\xAC\xE6\x97\xA5");  // 日本 -> 本日
  EXPECT_EQ(reverse_utf8("a\xF0\x9F\x98\x80" "b"), "b\xF0\x9F\x98\x80" "a");     // an emoji between a and b
}

// Invalid bytes count as one-byte characters: stray continuation bytes, 0xFF, overlong, surrogate, cut short.
TEST(Utf8, InvalidBytesAreReversedSingly) {
  EXPECT_EQ(reverse_utf8("a\xFF" "b"), "b\xFF" "a");
  EXPECT_EQ(reverse_utf8("\x80\x81"), "\x81\x80");
  EXPECT_EQ(reverse_utf8("\xC0\xAF"), "\xAF\xC0");          // overlong '/'
  EXPECT_EQ(reverse_utf8("\xED\xA0\x80"), "\x80\xA0\xED");  // UTF-16 surrogate half
  EXPECT_EQ(reverse_utf8("x\xE6\x97"), "\x97\xE6x");        // a 3-byte character cut after 2 bytes
  EXPECT_EQ(reverse_utf8("\xF4\x90\x80\x80"), "\x80\x80\x90\xF4");  // beyond U+10FFFF
}

TEST(Utf8, SequenceLengthBoundaries) {
  EXPECT_EQ(utf8_sequence_length("\x7F", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC2\x80", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xC1\xBF", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xE0\xA0\x80", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xE0\x9F\xBF", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xF4\x8F\xBF\xBF", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xF5\x80\x80\x80", 0), 0u);
}

namespace {

std::string encode(char32_t c) {  // one code point as UTF-8
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

}  // namespace

// On valid UTF-8, reversal reverses the sequence of code points exactly, so reversing twice is identity.
TEST(Utf8, ReversesRandomValidTextCodePointByCodePoint) {
  std::mt19937 random(12345);
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> characters(random() % 30);
    for (auto& c : characters) {
      char32_t code;
      do {
        code = static_cast<char32_t>(random() % 0x110000);
      } while (code >= 0xD800 && code <= 0xDFFF);  // surrogates are not characters
      c = encode(code);
    }
    std::string text, expected;
    for (const auto& c : characters) text += c;
    for (auto it = characters.rbegin(); it != characters.rend(); ++it) expected += *it;
    ASSERT_EQ(reverse_utf8(text), expected) << "round " << round;
    ASSERT_EQ(reverse_utf8(expected), text) << "round " << round;
  }
}

// On arbitrary bytes nothing is lost or invented: the reply is a rearrangement of the line's bytes.
TEST(Utf8, KeepsEveryByteOfArbitraryInput) {
  std::mt19937 random(54321);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 256);
    std::string reversed = reverse_utf8(bytes);
    std::string a = bytes, b = reversed;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    ASSERT_EQ(a, b) << "round " << round;
  }
}

// The echo reply ends in '\n'; a "\r\n" line (telnet, nc -C) keeps its '\r' at the end.
TEST(EchoReply, ReversesAndKeepsLineEnd) {
  EXPECT_EQ(echo_reply("abc"), "cba\n");
  EXPECT_EQ(echo_reply("abc\r"), "cba\r\n");
  EXPECT_EQ(echo_reply(""), "\n");
}
