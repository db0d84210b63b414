#include "utf8.h"

namespace socklab {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

}  // namespace

std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char min2 = 0x80, max2 = 0xBF;  // allowed range of the second byte (excludes overlongs etc.)
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min2 = 0xA0;  // below: overlong
    if (lead == 0xED) max2 = 0x9F;  // above: UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min2 = 0x90;  // below: overlong
    if (lead == 0xF4) max2 = 0x8F;  // above: beyond U+10FFFF
  } else {
    return 0;  // 0x80-0xC1 and 0xF5-0xFF never start a character
  }
  if (pos + length > text.size()) return 0;
  if (byte(1) < min2 || byte(1) > max2) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
  }
  return length;
}

std::string reverse_utf8(std::string_view text) {
  std::string reversed(text.size(), '\0');
  std::size_t out = text.size();  // fill from the back: each character keeps its bytes in order
  for (std::size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {  // ASCII, the common case: one byte, one character
      reversed[--out] = text[pos++];
      continue;
    }
    std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) length = 1;  // an invalid byte counts as a character of its own
    out -= length;
    // Byte by byte, not reversed.replace(): this loop runs once per character, and lab 7 times it.
    for (std::size_t i = 0; i < length; ++i) reversed[out + i] = text[pos + i];
    pos += length;
  }
  return reversed;
}

}  // namespace socklab
