// For harness tests: an experiment from XML text (written to a temporary file and loaded strictly, as socklab does).
#pragma once

#include <gtest/gtest.h>
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
