// One socklab sub-command: it declares its options on the command line parser, and runs once they are parsed.
// main.cc knows only this interface and the list of commands; each command lives in a file of its own.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace socklab::harness {

class Command {
 public:
  virtual ~Command() = default;
  // Adds the sub-command and its options to the parser (the values land in the command's own members).
  virtual void declare(CLI::App& app) = 0;
  // Runs it after parsing; returns the exit status. Called only for the sub-command the user chose.
  virtual int execute() = 0;
  bool chosen() const { return sub_ != nullptr && sub_->parsed(); }

 protected:
  CLI::App* sub_ = nullptr;
};

std::unique_ptr<Command> make_run_command();        // run_command.cc
std::unique_ptr<Command> make_validate_command();   // lab_commands.cc
std::unique_ptr<Command> make_list_command();       // lab_commands.cc
std::unique_ptr<Command> make_snapshot_command();   // socket_commands.cc
std::unique_ptr<Command> make_watch_command();      // socket_commands.cc
std::unique_ptr<Command> make_grade_command();      // grade_command.cc
std::unique_ptr<Command> make_gradebook_command();  // gradebook_command.cc

}  // namespace socklab::harness
