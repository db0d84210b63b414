// socklab: runs XML experiments against the lab programs and reports what happened, in the programs' output
// and in the kernel. See docs/harness.md (command line) and docs/experiments.md (the file format).
// Each sub-command is a Command in a file of its own (cli/command.h); this file only puts them together.
#include <iostream>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/text.h"

using namespace socklab::harness;

int main(int argc, char* argv[]) {
  CLI::App app{cli_text::kApp};
  app.require_subcommand(1);
  std::vector<std::unique_ptr<Command>> commands;  // in the order `socklab --help` lists them
  commands.push_back(make_run_command());
  commands.push_back(make_validate_command());
  commands.push_back(make_list_command());
  commands.push_back(make_snapshot_command());
  commands.push_back(make_grade_command());
  commands.push_back(make_watch_command());
  commands.push_back(make_gradebook_command());
  for (auto& c : commands) c->declare(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2, as documented
  }
  try {
    for (auto& c : commands) {
      if (c->chosen()) return c->execute();
    }
  } catch (const std::exception& e) {
    complain(e.what());
    return 2;
  }
  return 2;
}
