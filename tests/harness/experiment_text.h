// For harness tests: an experiment from XML text (written to a temporary file and loaded strictly, as socklab does),
// and which network namespace this process is in.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "load/loader.h"

inline socklab::harness::Experiment load_text(const std::string& name, const std::string& xml) {
  std::string path = testing::TempDir() + name + std::to_string(getpid()) + ".xml";
  std::ofstream(path) << xml;
  std::vector<socklab::harness::LoadError> errors;
  auto e = socklab::harness::load_experiment(path, errors);
  EXPECT_TRUE(errors.empty()) << errors.front().text();
  return *e;
}

// The inode of this process's network namespace (/proc/self/ns/net): equal inodes, the same namespace.
inline ino_t network_namespace() {
  struct stat st {};
  stat("/proc/self/ns/net", &st);
  return st.st_ino;
}
