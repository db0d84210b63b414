// The HTML report: well-formed, with a lane per connection and a band per state, the packet ladder — and it renders
// in a real browser (Debian's headless Chromium, installed here when missing and possible, else skipped).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <set>

#include "child.h"
#include "chromium.h"

using namespace std::chrono_literals;
using testing_support::chromium;
using testing_support::run_chromium;

namespace {

std::string html_report() {
  static std::string path;
  if (!path.empty()) return path;
  path = testing::TempDir() + "report_" + std::to_string(getpid()) + ".html";
  testing_support::Child socklab("socklab", {"run", std::string(SOCKLAB_SOURCE_DIR) + "/experiments/lab4/03-server-closes-first.xml",
                                             "--html", path});
  auto status = socklab.wait_exit(60s);
  EXPECT_TRUE(status.has_value() && status->exited && status->code == 0) << socklab.stderr_text();
  return path;
}

}  // namespace

// The structure, parsed as XML: an experiment section, its checks, timeline lanes with state bands, the ladder.
TEST(HtmlReport, IsWellFormedWithLanesStatesAndLadder) {
  pugi::xml_document doc;
  auto parsed = doc.load_file(html_report().c_str());
  ASSERT_TRUE(parsed) << parsed.description() << " at offset " << parsed.offset;
  auto section = doc.select_node("//section[@class='experiment']").node();
  ASSERT_TRUE(section);
  EXPECT_STREQ(section.attribute("id").value(), "lab4.server-closes-first");
  EXPECT_EQ(doc.select_nodes("//tr[@class='check passed']").size(), 7u);
  EXPECT_GE(doc.select_nodes("//svg[@class='timeline']//g[@class='lane']").size(), 3u);
  std::set<std::string> states;
  for (auto band : doc.select_nodes("//rect[@data-state]")) states.insert(band.node().attribute("data-state").value());
  for (const char* s : {"LISTEN", "ESTAB", "CLOSE-WAIT", "FIN-WAIT-2"}) EXPECT_TRUE(states.count(s)) << s;
  EXPECT_FALSE(doc.select_nodes("//svg[@class='timeline']//g[@class='event']").empty());
  EXPECT_FALSE(doc.select_nodes("//rect[@data-state]/title").empty()) << "exact times in tooltips";
  bool rst = false;
  for (auto seg : doc.select_nodes("//svg[@class='ladder']//g[@data-flags]")) rst = rst || std::string(seg.node().attribute("data-flags").value()) == "RST";
  EXPECT_TRUE(rst) << "the ladder shows the RST from the restarted server";
  // The same segments on the timeline's clock: arrows between the lanes of the two ends of each connection.
  std::set<std::string> on_axis;
  for (auto seg : doc.select_nodes("//svg[@class='timeline']//g[@class='packets']/g[@data-flags]")) {
    on_axis.insert(seg.node().attribute("data-flags").value());
    EXPECT_FALSE(seg.node().child("title").empty()) << "exact time and endpoints in a tooltip";
  }
  for (const char* f : {"SYN", "SYN,ACK", "FIN,ACK", "RST"}) EXPECT_TRUE(on_axis.count(f)) << f << " not drawn on the timeline";
  // self-contained: nothing is fetched
  std::ifstream f(html_report());
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("src=\"http"), std::string::npos);
  EXPECT_EQ(text.find("href=\"http"), std::string::npos);
}

// In a real browser: the DOM has the lanes, and the page is not blank (its screenshot is far larger than a blank
// page's, which compresses to almost nothing).
TEST(HtmlReport, RendersInHeadlessChromium) {
  std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium is not installed and cannot be installed here (apt-get install chromium)";
  std::string dom = testing::TempDir() + "dom_" + std::to_string(getpid()) + ".html";
  ASSERT_EQ(run_chromium(browser, "--dump-dom file://" + html_report(), dom), 0);
  std::ifstream f(dom);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("class=\"lane\""), std::string::npos);
  EXPECT_NE(text.find("data-state=\"CLOSE-WAIT\""), std::string::npos);
  std::string shot = testing::TempDir() + "report_" + std::to_string(getpid()) + ".png";
  std::string blank_html = testing::TempDir() + "blank_" + std::to_string(getpid()) + ".html";
  std::string blank = testing::TempDir() + "blank_" + std::to_string(getpid()) + ".png";
  std::ofstream(blank_html) << "<!DOCTYPE html><html><body></body></html>";
  ASSERT_EQ(run_chromium(browser, "--window-size=1200,1400 --screenshot=" + shot + " file://" + html_report(), "/dev/null"), 0);
  ASSERT_EQ(run_chromium(browser, "--window-size=1200,1400 --screenshot=" + blank + " file://" + blank_html, "/dev/null"), 0);
  auto report_size = std::filesystem::file_size(shot), blank_size = std::filesystem::file_size(blank);
  EXPECT_GT(report_size, 10 * blank_size) << "report " << report_size << " bytes, blank page " << blank_size << " bytes";
}
