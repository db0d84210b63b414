#include "grade/batch.h"

#include <signal.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>

#include "process/process.h"
#include "report/reports.h"

namespace socklab::harness {

std::vector<std::string> grade_arguments(const GradeOptions& o, const std::string& submission, const std::string& json_out) {
  std::vector<std::string> args{"grade", "--lab", o.lab, submission, "--report", "json",
                                "--out", json_out, "--time-scale", std::to_string(o.time_scale),
                                "--experiments", o.experiments_dir, "--reference-bin-dir", o.reference_bin_dir,
                                "--memory", std::to_string(o.memory_bytes), "--disk", std::to_string(o.disk_bytes),
                                "--pids", std::to_string(o.pids), "--sandbox-uids",
                                std::to_string(o.sandbox_uid_first) + "-" + std::to_string(o.sandbox_uid_last)};
  if (o.sanitize) args.push_back("--sanitize");
  if (!o.sandbox) args.push_back("--no-sandbox");
  return args;
}

int grade_batch(const GradeOptions& base, BatchOptions batch, std::ostream& out, std::ostream& err) {
  const std::string& root = batch.root;
  std::string& out_dir = batch.out_dir;
  std::string& csv_path = batch.csv_path;
  int jobs = batch.jobs;
  std::vector<std::filesystem::path> students;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (entry.is_directory()) students.push_back(entry.path());
  }
  if (ec) {
    err << "socklab: " << root << ": " << ec.message() << "\n";
    return 2;
  }
  std::sort(students.begin(), students.end());
  if (out_dir.empty()) out_dir = "grades";
  std::filesystem::create_directories(out_dir, ec);
  if (csv_path.empty()) csv_path = out_dir + "/gradebook.csv";

  EventLoop loop;
  auto launcher = make_boost_launcher(loop);
  bool interrupted = false;
  boost::asio::signal_set stop(loop.context(), SIGINT, SIGTERM);
  stop.async_wait([&](const boost::system::error_code& error, int) {
    if (!error) interrupted = true;
  });
  struct Job {
    std::string name;
    std::unique_ptr<Process> process;
  };
  std::vector<Job> running;
  std::vector<std::string> reports;
  std::size_t next = 0;
  auto started = Clock::now();
  out << "grading " << students.size() << " submissions of lab " << base.lab << " with " << jobs
            << " parallel job" << (jobs == 1 ? "" : "s") << "; reports in " << out_dir << "/\n";
  while ((next < students.size() || !running.empty()) && !interrupted) {
    while (running.size() < static_cast<std::size_t>(jobs) && next < students.size()) {
      std::string name = students[next].filename().string();
      ProcessSpec spec;
      spec.name = name;
      spec.path = batch.socklab;
      spec.args = grade_arguments(base, students[next].string(), out_dir + "/" + name + ".json");
      spec.stdout_pty = false;
      running.push_back({name, launcher->start(spec)});
      ++next;
    }
    loop.run_until([&] {
      return interrupted || std::any_of(running.begin(), running.end(), [](const Job& j) { return j.process->exit_status().has_value(); });
    }, Clock::now() + std::chrono::hours(1));
    for (auto it = running.begin(); it != running.end();) {
      if (!it->process->exit_status()) {
        ++it;
        continue;
      }
      loop.run_until([&] { return it->process->out().closed; }, Clock::now() + std::chrono::seconds(2));
      std::ofstream text(out_dir + "/" + it->name + ".txt");
      for (const std::string& line : it->process->out().lines) text << line << "\n";
      std::string json = out_dir + "/" + it->name + ".json";
      std::string line = it->name + ": ";
      std::ifstream report(json);
      try {
        auto j = nlohmann::json::parse(report);
        line += std::to_string(j["score"].get<int>()) + "/" + std::to_string(j["max_score"].get<int>()) +
                "  build " + j["build"].get<std::string>();
        reports.push_back(json);
      } catch (const std::exception&) {
        line += "no report (" + it->process->exit_status()->describe() + "): " + it->process->err().tail(3);
      }
      out << terminal_safe(line) << "\n" << std::flush;  // a directory name can hold escapes too
      it = running.erase(it);
    }
  }
  for (Job& j : running) j.process->terminate_group(std::chrono::seconds(2));  // interrupted
  running.clear();
  std::ofstream csv(csv_path);
  std::string error;
  if (!write_gradebook(reports, csv, error)) {
    err << "socklab: " << error << "\n";
    return 2;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  out << "gradebook: " << csv_path << " (" << reports.size() << " of " << students.size() << " graded, "
            << std::fixed << std::setprecision(1) << seconds << " s)\n";
  if (interrupted) {
    err << "socklab: interrupted; every grading it started has been stopped\n";
    return 130;
  }
  return 0;
}

}  // namespace socklab::harness
