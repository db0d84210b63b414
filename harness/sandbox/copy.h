// Copying a submission into the grading's private build directory, refusing what a source hand-in has no need of:
// symbolic links (never followed), special files, files over a size limit (a 2 GiB sparse file is refused before a
// byte is copied), more files or bytes than the limits, directories nested too deep. What was left out is said.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace socklab::sandbox {

struct CopyLimits {
  std::uint64_t max_file_bytes = 16ull << 20;
  std::uint64_t max_total_bytes = 128ull << 20;
  std::size_t max_files = 2000;
  int max_depth = 16;
};

struct CopyReport {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  std::vector<std::string> left_out;  // what was not copied and why: "big.bin: 2 GiB, over the 16 MiB limit per file"
};

// Copies the tree at `from` into the existing directory `to`, files owned by uid/gid (-1: unchanged) and private
// (0700 directories; files keep their owner's execute bit). Throws std::runtime_error when `from` cannot be read.
CopyReport copy_submission(const std::string& from, const std::string& to, const CopyLimits& limits, int uid, int gid);

}  // namespace socklab::sandbox
