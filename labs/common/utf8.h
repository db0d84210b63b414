// Reversing a line by character, not by byte: "héllo" -> "olléh".
//
// In UTF-8 a character is 1 to 4 bytes; reversing the bytes would scramble every multi-byte character.
// Bytes that do not form a valid UTF-8 sequence are treated as one-byte characters, so any input has a
// well-defined reversal. Reversing valid UTF-8 twice gives the input back; for invalid input that need not
// hold (reversed stray bytes such as "\x9E\xE3" can happen to form a valid character).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace socklab {

// Length (1-4) of the valid UTF-8 sequence starting at text[pos], or 0 if the bytes there are not one
// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, or cut short).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

std::string reverse_utf8(std::string_view text);

}  // namespace socklab
