#include "grade/build.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "process/process.h"

namespace socklab::harness {

namespace fs = std::filesystem;

const char* build_status_name(BuildStatus b) {
  switch (b) {
    case BuildStatus::kNotRun:
      return "not run";
    case BuildStatus::kOk:
      return "ok";
    case BuildStatus::kFailed:
      return "failed";
    case BuildStatus::kTimedOut:
      return "timed out";
    case BuildStatus::kNoSources:
      return "no sources";  // nothing to build: scripts and executables are run as they are
  }
  return "?";
}

namespace {

// A Python syntax error as FILE:LINE: message (py_compile's own text spreads it over several lines). No single
// quotes inside: it goes into sh -c '...'.
const char* kPyCompile =
    "import py_compile, sys\n"
    "f = sys.argv[1]\n"
    "try:\n"
    "    py_compile.compile(f, doraise=True)\n"
    "except py_compile.PyCompileError as e:\n"
    "    v = e.exc_value\n"
    "    print(\"%s:%s: %s: %s\" % (f, getattr(v, \"lineno\", \"?\"), e.exc_type_name, getattr(v, \"msg\", v)))\n"
    "    sys.exit(1)\n";

// The program a Python source becomes: a two-line launcher that runs it unbuffered, whatever its name or mode.
const char* kPythonLauncher = "#!/bin/sh\\nexec python3 -u \"$0.py\" \"$@\"\\n";

bool python3_installed() {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    if (access((std::string(dir) + "/python3").c_str(), X_OK) == 0) return true;
  }
  return false;
}

class Builder {
 public:
  Builder(const BuildRequest& request, const fs::path& work, sandbox::Sandbox& box)
      : request_(request), work_(work), plain_(make_boost_launcher(loop_)), launcher_(box.build_launcher(loop_, *plain_)),
        deadline_(Clock::now() + request.timeout) {
    if (request.sanitize) {
      env_["CFLAGS"] = "-O1" + sanitize_flags();
      env_["CXXFLAGS"] = "-O1" + sanitize_flags();
      env_["LDFLAGS"] = sanitize_flags();
    }
  }

  BuildOutcome build() {
    bool ok = true;
    if (has("Makefile") || has("makefile") || has("GNUmakefile")) {
      out_.method = "make";
      ok = run("make");
    } else if (has("CMakeLists.txt")) {
      out_.method = "cmake";
      std::string flags = request_.sanitize ? " -DCMAKE_C_FLAGS='" + sanitize_flags() + "' -DCMAKE_CXX_FLAGS='" + sanitize_flags() + "'" : "";
      ok = run("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release" + flags) && run("cmake --build build -j 2");
    }
    if (ok && !timed_out_) ok = build_each_program();
    out_.status = timed_out_ ? BuildStatus::kTimedOut : ok ? BuildStatus::kOk : BuildStatus::kFailed;
    if (out_.method.empty() && out_.how.empty()) {  // scripts and executables are run as they are
      out_.status = BuildStatus::kNoSources;
      out_.log += "nothing to build: no Makefile, no CMakeLists.txt, and none of ";
      for (const std::string& p : request_.programs) out_.log += p + ".c/.cpp/.py ";
      out_.log += "\n";
    } else if (out_.method.empty()) {
      bool only_c = std::all_of(out_.how.begin(), out_.how.end(), [](const auto& h) { return h.second.rfind("py_compile", 0) != 0; });
      out_.method = only_c ? "cc/c++ per program" : "per program";
    }
    return std::move(out_);
  }

 private:
  std::string sanitize_flags() const { return " -g -fsanitize=address,undefined -fno-omit-frame-pointer"; }
  bool has(const std::string& file) const { return fs::exists(work_ / file); }

  // Every program still missing is made from its own source, if it has one.
  bool build_each_program() {
    bool ok = true;
    for (const std::string& p : request_.programs) {
      if (!find_program(work_, p).empty()) continue;
      std::string sanitize = request_.sanitize ? sanitize_flags() : "";
      if (has(p + ".c")) {
        out_.how[p] = "cc -O2 -Wall";
        ok = run("cc -O2 -Wall" + sanitize + " -o " + p + " " + p + ".c") && ok;
      } else if (std::string ext = cxx_extension(p); !ext.empty()) {
        out_.how[p] = "c++ -std=c++20 -O2 -Wall";
        ok = run("c++ -std=c++20 -O2 -Wall" + sanitize + " -o " + p + " " + p + ext) && ok;
      } else if (has(p + ".py")) {
        out_.how[p] = "py_compile; run with python3 -u";
        ok = build_python(p) && ok;
      }
    }
    return ok;
  }

  std::string cxx_extension(const std::string& program) const {
    for (const char* ext : {".cpp", ".cc", ".cxx"}) {
      if (has(program + ext)) return ext;
    }
    return "";
  }

  bool build_python(const std::string& program) {
    if (!python3_installed()) {
      out_.log += "python3 is not installed on this machine, so " + program + ".py cannot be checked or run "
                  "(Debian: apt install python3; socklab's make installs it)\n";
      return false;
    }
    return run("python3 -c '" + std::string(kPyCompile) + "' " + program + ".py", "python3 -m py_compile " + program + ".py") &&
           run("printf '" + std::string(kPythonLauncher) + "' > " + program + " && chmod +x " + program, "");
  }

  // Runs one build command (sh -c "... 2>&1") with the limits and the deadline; its output goes to the log, after
  // `shown` (the command itself unless given; "" shows nothing).
  bool run(const std::string& command, std::optional<std::string> shown = std::nullopt) {
    ProcessSpec spec;
    spec.name = "build";
    spec.path = "/bin/sh";
    spec.args = {"-c", command + " 2>&1"};
    spec.working_dir = work_.string();
    spec.stdout_pty = false;
    spec.env = env_;
    spec.output_cap = 4u << 20;
    std::string title = shown.value_or(command);
    if (!title.empty()) out_.log += "$ " + title + "\n";
    std::unique_ptr<Process> p;
    try {
      p = launcher_->start(spec);
    } catch (const std::exception& e) {
      out_.log += std::string(e.what()) + "\n";
      return false;
    }
    bool ended = loop_.run_until([&] { return p->exit_status().has_value(); }, deadline_);
    loop_.run_until([&] { return p->out().closed; }, Clock::now() + std::chrono::milliseconds(500));
    for (const std::string& l : p->out().lines) out_.log += l + "\n";
    if (!p->out().partial.empty()) out_.log += p->out().partial + "\n";
    if (!ended) {
      timed_out_ = true;
      p->terminate_group(std::chrono::milliseconds(500));
      out_.log += "(stopped: the build took too long)\n";
      return false;
    }
    auto status = p->exit_status();
    if (!status->exited || status->code != 0) out_.log += "(" + status->describe() + ")\n";
    return status->exited && status->code == 0;
  }

  const BuildRequest& request_;
  fs::path work_;
  EventLoop loop_;
  std::unique_ptr<Launcher> plain_, launcher_;
  Clock::time_point deadline_;
  std::map<std::string, std::string> env_;
  BuildOutcome out_;
  bool timed_out_ = false;
};

// The first line of a file, if it is a #! line.
std::string shebang(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string first;
  std::getline(in, first);
  return first.rfind("#!", 0) == 0 ? first.substr(2) : "";
}

// "Python 3" for #!/usr/bin/env python3, "shell script" for #!/bin/sh, else the interpreter as written.
std::string script_language(const std::string& interpreter_line) {
  std::istringstream words(interpreter_line);
  std::string program;
  for (std::string word; words >> word;) {
    std::string base = word.substr(word.find_last_of('/') == std::string::npos ? 0 : word.find_last_of('/') + 1);
    if (base == "env" || word[0] == '-') continue;  // #!/usr/bin/env python3, #!/usr/bin/env -S python3 -u
    program = base;
    break;
  }
  if (program.rfind("python3", 0) == 0) return "Python 3";
  if (program.rfind("python", 0) == 0) return "Python";
  if (program == "sh" || program == "bash" || program == "dash") return "shell script";
  return "script (#!" + interpreter_line + ")";
}

bool cxx_source_exists(const fs::path& work, const std::string& name) {
  for (const char* ext : {".cpp", ".cc", ".cxx"}) {
    if (fs::exists(work / (name + ext))) return true;
  }
  return false;
}

}  // namespace

BuildOutcome build_submission(const BuildRequest& request, const fs::path& work, sandbox::Sandbox& box) {
  return Builder(request, work, box).build();
}

std::string find_program(const fs::path& dir, const std::string& name) {
  for (const char* sub : {"", "build", "bin", "build/bin"}) {
    fs::path p = dir / sub / name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

SubmittedProgram describe_program(const fs::path& work, const std::string& name, const BuildOutcome& build) {
  SubmittedProgram d;
  std::string found = find_program(work, name);
  if (found.empty()) return d;
  d.path = fs::path(found).lexically_relative(work).string();
  auto how = build.how.find(name);
  if (how != build.how.end()) {
    d.built = how->second;
    d.language = how->second.rfind("py_compile", 0) == 0 ? "Python 3" : how->second.rfind("cc ", 0) == 0 ? "C" : "C++";
    return d;
  }
  if (std::string line = shebang(found); !line.empty()) {
    d.language = script_language(line);
    d.built = "none (run as it is)";
    return d;
  }
  // A native program from make or cmake (or handed in built): its language from the sources beside it.
  d.built = build.method == "make" || build.method == "cmake" ? build.method : "none (handed in built)";
  d.language = fs::exists(work / (name + ".c")) ? "C" : cxx_source_exists(work, name) ? "C++" : "native executable";
  return d;
}

}  // namespace socklab::harness
