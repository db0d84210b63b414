// The class report (socklab gradebook DIR --html FILE) with real numbers: a small lab-1 class graded in a batch —
// correct, failing (a server that does not reverse) and broken (does not compile) submissions, student-style C
// from tests/mutants/ — then its structure parsed as XML and the page rendered in headless Chromium.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pugixml.hpp>

#include "child.h"
#include "chromium.h"
#include "grade_support.h"

using namespace testing_support;
using namespace grade_support;
using namespace std::chrono_literals;

namespace {

// The class, graded once for every test here: OUT_DIR with NAME.json per student, and the class report.
struct GradedClass {
  fs::path out, html;
};

const GradedClass& graded_class() {
  static GradedClass c;
  if (!c.html.empty()) return c;
  fs::path root = fs::path(testing::TempDir()) / ("class_report_" + std::to_string(getpid()));
  fs::remove_all(root);
  std::string server = student_c("echo_server"), client = student_c("echo_client");
  std::map<std::string, std::string> servers{{"ada", server},
                                             {"bob", server},
                                             {"cyd", "#define MUTANT_NO_REVERSE 1\n" + server},
                                             {"dee", "int main(void) { return 0 }\n"}};
  for (const auto& [name, text] : servers) {
    fs::create_directories(root / "class" / name);
    std::ofstream(root / "class" / name / "echo_server.c") << text;
    std::ofstream(root / "class" / name / "echo_client.c") << client;
  }
  c.out = root / "grades";
  Child batch("socklab", {"grade", "--lab", "1", "--batch", (root / "class").string(), "-j", "2", "--out-dir", c.out.string()});
  auto status = batch.wait_exit(300s);
  EXPECT_TRUE(status.has_value() && status->describe() == "exit 0") << batch.stderr_text();
  c.html = root / "class.html";
  Child report("socklab", {"gradebook", c.out.string(), "--html", c.html.string()});
  status = report.wait_exit(30s);
  EXPECT_TRUE(status.has_value() && status->describe() == "exit 0") << report.stderr_text();
  return c;
}

}  // namespace

// The numbers are the class's: 4 students, 1 build failure, 2 at full marks in the histogram, the reversal checks
// passed by 2 of the 3 that built (and at the top: least passed first), the broken one listed with its compiler
// error, every grading in the slowest table.
TEST(ClassReport, ShowsTheClassesRealNumbers) {
  const GradedClass& c = graded_class();
  pugi::xml_document doc;
  auto parsed = doc.load_file(c.html.c_str());
  ASSERT_TRUE(parsed) << parsed.description() << " at offset " << parsed.offset;
  auto summary = doc.select_node("//p[@id='summary']").node();
  EXPECT_STREQ(summary.attribute("data-students").value(), "4");
  EXPECT_STREQ(summary.attribute("data-build-failures").value(), "1");
  EXPECT_STREQ(doc.select_node("//svg[@class='histogram']/g[@data-from='100']").node().attribute("data-count").value(), "2");
  EXPECT_STREQ(doc.select_node("//svg[@class='histogram']/g[@data-from='0']").node().attribute("data-count").value(), "1")
      << "the build failure scores 0";
  auto reverse = doc.select_node("//svg[@class='pass-rates']/g[@data-check='lab1.reverse/ASCII line reversed']").node();
  ASSERT_TRUE(reverse);
  EXPECT_STREQ(reverse.attribute("data-passed").value(), "2");
  EXPECT_STREQ(reverse.attribute("data-of").value(), "3");
  auto first = doc.select_node("//svg[@class='pass-rates']/g[1]").node();
  EXPECT_STREQ(first.attribute("data-passed").value(), "2") << "least passed first: " << first.attribute("data-check").value();
  auto failure = doc.select_node("//tr[@class='build-failure']").node();
  ASSERT_TRUE(failure);
  EXPECT_STREQ(failure.child("td").text().get(), "dee");
  EXPECT_NE(std::string(failure.select_node("td/pre").node().text().get()).find("error: expected"), std::string::npos);
  EXPECT_EQ(doc.select_nodes("//table[@class='slowest']/tr[@class='grading']").size(), 4u);
  std::ifstream f(c.html);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("src=\"http"), std::string::npos) << "self-contained: nothing fetched";
}

// In a real browser: the charts are in the DOM and the page is not blank. The screenshot stays in the test's
// temporary directory (its path is printed) for a person to look at.
TEST(ClassReport, RendersInHeadlessChromium) {
  std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium is not installed and cannot be installed here (apt-get install chromium)";
  const GradedClass& c = graded_class();
  std::string dom = testing::TempDir() + "class_dom_" + std::to_string(getpid()) + ".html";
  ASSERT_EQ(run_chromium(browser, "--dump-dom file://" + c.html.string(), dom), 0);
  std::string text = read_file(dom);
  EXPECT_NE(text.find("class=\"histogram\""), std::string::npos);
  EXPECT_NE(text.find("class=\"pass-rates\""), std::string::npos);
  std::string shot = testing::TempDir() + "class_report_" + std::to_string(getpid()) + ".png";
  std::string blank_html = testing::TempDir() + "class_blank_" + std::to_string(getpid()) + ".html";
  std::string blank = testing::TempDir() + "class_blank_" + std::to_string(getpid()) + ".png";
  std::ofstream(blank_html) << "<!DOCTYPE html><html><body></body></html>";
  ASSERT_EQ(run_chromium(browser, "--window-size=1100,1400 --screenshot=" + shot + " file://" + c.html.string(), "/dev/null"), 0);
  ASSERT_EQ(run_chromium(browser, "--window-size=1100,1400 --screenshot=" + blank + " file://" + blank_html, "/dev/null"), 0);
  auto report_size = fs::file_size(shot), blank_size = fs::file_size(blank);
  EXPECT_GT(report_size, 10 * blank_size) << "report " << report_size << " bytes, blank page " << blank_size << " bytes";
  std::cout << "class report: " << c.html << "\nscreenshot: " << shot << "\n";
}
