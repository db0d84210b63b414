// The HTML report: well-formed, with a lane per connection and a band per state, the packet ladder — and it renders
// in a real browser (Debian's headless Chromium, installed here when missing and possible, else skipped).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "child.h"
#include "chromium.h"

using namespace std::chrono_literals;
using testing_support::chromium;
using testing_support::run_chromium;

namespace {

const char* kSection = "lab4.server-closes-first";

// Lab 4's report (all four experiments: a client that closes first, two clients, a server that closes first and
// the RST, a usage error), once per test run, with its JSON record beside it.
std::string html_report() {
  static std::string path;
  if (!path.empty()) return path;
  path = testing::TempDir() + "report_" + std::to_string(getpid()) + ".html";
  testing_support::Child socklab("socklab", {"run", std::string(SOCKLAB_SOURCE_DIR) + "/experiments/lab4/", "--html", path,
                                             "--report", "json", "--out", path + ".json"});
  auto status = socklab.wait_exit(90s);
  EXPECT_TRUE(status.has_value() && status->exited && status->code == 0) << socklab.stderr_text();
  return path;
}

nlohmann::json json_report() {
  html_report();
  std::ifstream f(html_report() + ".json");
  return nlohmann::json::parse(f);
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The section of one experiment in a page (as written, or as Chromium dumps it).
std::string section_of(const std::string& page, const std::string& id) {
  auto begin = page.find(" id=\"" + id + "\"");  // (the script may have added classes before it)
  if (begin == std::string::npos) return "";
  begin = page.rfind("<section", begin);
  return page.substr(begin, page.find("</section>", begin) - begin);
}

// The step numbers of a connection's transitions, by their words in its path list: "ESTAB → CLOSE-WAIT" -> 20.
int step_of(const pugi::xml_node& section, const std::string& transition) {
  for (auto li : section.select_nodes(".//ol[contains(@class,'path-list')]/li")) {
    if (std::string(li.node().child("b").text().get()) == transition) return li.node().attribute("data-e").as_int();
  }
  ADD_FAILURE() << "no transition " << transition << " in any path list";
  return 0;
}

}  // namespace

// The structure, parsed as XML: an experiment section, its checks, timeline lanes with state bands, the ladder.
TEST(HtmlReport, IsWellFormedWithLanesStatesAndLadder) {
  pugi::xml_document doc;
  auto parsed = doc.load_file(html_report().c_str());
  ASSERT_TRUE(parsed) << parsed.description() << " at offset " << parsed.offset;
  auto section = doc.select_node((std::string("//section[@id='") + kSection + "']").c_str()).node();
  ASSERT_TRUE(section);
  EXPECT_EQ(section.select_nodes(".//tr[@class='check passed']").size(), 7u);
  EXPECT_GE(section.select_nodes(".//svg[@class='timeline']//g[@class='lane']").size(), 3u);
  std::set<std::string> states;
  for (auto band : section.select_nodes(".//rect[@data-state]")) states.insert(band.node().attribute("data-state").value());
  for (const char* s : {"LISTEN", "ESTAB", "CLOSE-WAIT", "FIN-WAIT-2"}) EXPECT_TRUE(states.count(s)) << s;
  EXPECT_FALSE(section.select_nodes(".//svg[@class='timeline']//circle[contains(@class,'event')]").empty());
  EXPECT_FALSE(section.select_nodes(".//rect[@data-state]/title").empty()) << "exact times in tooltips";
  bool rst = false;
  for (auto seg : section.select_nodes(".//svg[@class='ladder']//g[@data-flags]")) rst = rst || std::string(seg.node().attribute("data-flags").value()) == "RST";
  EXPECT_TRUE(rst) << "the ladder shows the RST from the restarted server";
  // The same segments on the timeline: arrows between the lanes of the two ends of each connection, each in a column
  // of its own whose words say what it was.
  std::set<std::string> on_axis;
  for (auto seg : section.select_nodes(".//svg[@class='timeline']//g[@class='packets']/line[@data-flags]")) {
    std::string flags = seg.node().attribute("data-flags").value(), e = seg.node().attribute("data-e").value();
    on_axis.insert(flags);
    auto words = section.select_node((".//text[contains(@class,'what')][@data-e='" + e + "']").c_str()).node();
    EXPECT_NE(std::string(words.text().get()).find(flags), std::string::npos) << "column " << e << " says " << words.text().get();
  }
  for (const char* f : {"SYN", "SYN,ACK", "FIN,ACK", "RST"}) EXPECT_TRUE(on_axis.count(f)) << f << " not drawn on the timeline";
  // self-contained: nothing is fetched
  std::string text = read(html_report());
  EXPECT_EQ(text.find("src=\"http"), std::string::npos);
  EXPECT_EQ(text.find("href=\"http"), std::string::npos);
  EXPECT_EQ(text.find("url(http"), std::string::npos);
}

// One lane per connection (as the JSON record has them), in every experiment, and every event numbered once.
TEST(HtmlReport, OneLanePerConnectionAndEveryEventOnce) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(html_report().c_str()));
  auto record = json_report();
  ASSERT_EQ(record["experiments"].size(), 4u);
  for (const auto& e : record["experiments"]) {
    std::string id = e["id"];
    auto section = doc.select_node(("//section[@id='" + id + "']").c_str()).node();
    ASSERT_TRUE(section) << id;
    EXPECT_EQ(section.select_nodes(".//svg[@class='timeline']//g[@class='lane']").size(), e["timeline"]["lanes"].size()) << id;
    std::size_t events = section.select_node(".//div[@class='stepper']").node().attribute("data-events").as_ullong();
    EXPECT_EQ(section.select_nodes(".//details[@class='event-list']//li").size(), events) << id;
    EXPECT_EQ(section.select_nodes(".//text[contains(@class,'what')]").size(), events) << id << ": a column per event";
    std::size_t segments = 0;
    for (const auto& p : e["packets"]) segments += p.is_object();
    EXPECT_EQ(section.select_nodes(".//svg[@class='ladder']//g[@data-e]").size(), segments) << id;
  }
}

// The state diagram lights each connection's path: the client of "server closes first" went CLOSED, SYN-SENT, ESTAB,
// CLOSE-WAIT and (by the RST, a dashed edge the figure does not have) CLOSED; the client that closed first went
// through FIN-WAIT-1 and FIN-WAIT-2 to TIME-WAIT. Nothing else of theirs is lit.
TEST(HtmlReport, StateDiagramLightsTheVisitedStates) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(html_report().c_str()));
  auto lit = [&](const std::string& id) {
    std::set<std::string> states;
    auto section = doc.select_node(("//section[@id='" + id + "']").c_str()).node();
    EXPECT_TRUE(section.select_node(".//svg[@class='state-diagram']/use").node()) << id << ": the figure";
    auto shown = section.select_nodes(".//g[@class='lane-path shown']");
    EXPECT_EQ(shown.size(), 1u) << id << ": one connection's path shown";
    for (auto r : section.select_nodes(".//g[@class='lane-path shown']/use[@class='visited']")) states.insert(r.node().attribute("data-state").value());
    return states;
  };
  EXPECT_EQ(lit(kSection), (std::set<std::string>{"CLOSED", "SYN-SENT", "ESTAB", "CLOSE-WAIT"}));
  EXPECT_EQ(lit("lab4.time-wait"), (std::set<std::string>{"CLOSED", "SYN-SENT", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"}));
  auto section = doc.select_node((std::string("//section[@id='") + kSection + "']").c_str()).node();
  EXPECT_EQ(section.select_nodes(".//g[@class='lane-path shown']/g[@class='taken extra']").size(), 1u) << "the RST, off the figure";
  auto rst = section.select_node(".//ol[@class='path-list shown']/li[4]").node();
  EXPECT_STREQ(rst.child("b").text().get(), "CLOSE-WAIT → CLOSED");
  EXPECT_NE(std::string(rst.child_value()).find("RST received"), std::string::npos) << rst.child_value();
}

// A lab's report stays small: one self-contained file to mail or upload.
TEST(HtmlReport, WithinItsSizeBudget) {
  auto size = std::filesystem::file_size(html_report());
  EXPECT_LE(size, 300u * 1024) << "lab 4's report is " << size << " bytes";
}

// In a real browser: the DOM has the lanes, and the page is not blank (its screenshot is far larger than a blank
// page's, which compresses to almost nothing).
TEST(HtmlReport, RendersInHeadlessChromium) {
  std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium is not installed and cannot be installed here (apt-get install chromium)";
  std::string dom = testing::TempDir() + "dom_" + std::to_string(getpid()) + ".html";
  ASSERT_EQ(run_chromium(browser, "--dump-dom file://" + html_report(), dom), 0);
  std::string text = read(dom);
  EXPECT_NE(text.find("class=\"lane\""), std::string::npos);
  EXPECT_NE(text.find("data-state=\"CLOSE-WAIT\""), std::string::npos);
  EXPECT_NE(text.find("step 38 of 38"), std::string::npos) << "the script ran: the cursor at the last event";
  std::string shot = testing::TempDir() + "report_" + std::to_string(getpid()) + ".png";
  std::string blank_html = testing::TempDir() + "blank_" + std::to_string(getpid()) + ".html";
  std::string blank = testing::TempDir() + "blank_" + std::to_string(getpid()) + ".png";
  std::ofstream(blank_html) << "<!DOCTYPE html><html><body></body></html>";
  ASSERT_EQ(run_chromium(browser, "--window-size=1200,1400 --screenshot=" + shot + " file://" + html_report(), "/dev/null"), 0);
  ASSERT_EQ(run_chromium(browser, "--window-size=1200,1400 --screenshot=" + blank + " file://" + blank_html, "/dev/null"), 0);
  auto report_size = std::filesystem::file_size(shot), blank_size = std::filesystem::file_size(blank);
  EXPECT_GT(report_size, 10 * blank_size) << "report " << report_size << " bytes, blank page " << blank_size << " bytes";
}

// The step-through, scripted by the address: at the client's ESTAB → CLOSE-WAIT, then at its CLOSE-WAIT → CLOSED (the
// RST), the cursor, the lit transition of the state diagram, the status line and the socket table all move; the
// pictures of the two steps differ from a blank page and from each other.
TEST(HtmlReport, StepThroughMovesEverythingTogether) {
  std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium is not installed and cannot be installed here (apt-get install chromium)";
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(html_report().c_str()));
  auto section = doc.select_node((std::string("//section[@id='") + kSection + "']").c_str()).node();
  int close_wait = step_of(section, "ESTAB → CLOSE-WAIT"), reset = step_of(section, "CLOSE-WAIT → CLOSED");
  ASSERT_TRUE(close_wait > 0 && reset > close_wait);
  std::string events = section.select_node(".//div[@class='stepper']").node().attribute("data-events").value();
  std::string client_lane;  // the socket table's row of the client side
  for (auto lane : section.select_nodes(".//svg[@class='timeline']//g[@class='lane']")) {
    if (std::string(lane.node().attribute("data-role").value()) == "client side") client_lane = lane.node().attribute("data-lane").value();
  }
  struct Seen {
    std::string status, lit, cursor, client_row;
  };
  auto at = [&](int step, const std::string& more) {
    std::string dom = testing::TempDir() + "dom_step_" + std::to_string(step) + std::to_string(more.size()) + "_" + std::to_string(getpid()) + ".html";
    std::string url = "'file://" + html_report() + "#exp=" + kSection + "&step=" + std::to_string(step) + more + "'";
    EXPECT_EQ(run_chromium(browser, "--dump-dom " + url, dom), 0);
    std::string page = section_of(read(dom), kSection);
    Seen seen;
    std::smatch m;
    if (std::regex_search(page, m, std::regex("<p class=\"status\"[^>]*>([^<]*)</p>"))) seen.status = m[1];
    if (std::regex_search(page, m, std::regex("<g class=\"taken[^\"]*\\bcurrent\\b[^\"]*\" data-e=\"(\\d+)\""))) seen.lit = m[1];
    if (std::regex_search(page, m, std::regex("<line class=\"cursor\" x1=\"([0-9.]+)\""))) seen.cursor = m[1];
    if (std::regex_search(page, m, std::regex("<tr data-lane=\"" + client_lane + "\"[^>]*>.*?</tr>"))) seen.client_row = m[0];
    return seen;
  };
  Seen first = at(close_wait, ""), second = at(reset, "");
  EXPECT_NE(first.status.find("step " + std::to_string(close_wait) + " of " + events), std::string::npos) << first.status;
  EXPECT_NE(first.status.find("ESTAB → CLOSE-WAIT"), std::string::npos) << first.status;
  EXPECT_EQ(first.lit, std::to_string(close_wait)) << "the diagram lights the transition under the cursor";
  EXPECT_EQ(second.lit, std::to_string(reset));
  EXPECT_NE(first.cursor, second.cursor) << "the cursor moved";
  EXPECT_NE(first.client_row.find("<td class=\"st\">CLOSE-WAIT</td>"), std::string::npos) << first.client_row;
  EXPECT_EQ(first.client_row.find("absent"), std::string::npos) << first.client_row;
  EXPECT_NE(second.client_row.find("absent"), std::string::npos) << "closed by the RST: gone from ss\n" << second.client_row;
  // The toggle to linear time moves what is placed on the axis.
  Seen linear = at(close_wait, "&view=linear");
  EXPECT_EQ(linear.lit, first.lit);
  EXPECT_NE(linear.cursor, first.cursor) << "the cursor on the linear axis";
  // Pictures: each step differs from a blank page and from the other step.
  std::string blank_html = testing::TempDir() + "blank2_" + std::to_string(getpid()) + ".html";
  std::ofstream(blank_html) << "<!DOCTYPE html><html><body></body></html>";
  std::vector<std::string> shots;
  for (const std::string& address : std::vector<std::string>{"blank", std::to_string(close_wait), std::to_string(reset)}) {
    std::string shot = testing::TempDir() + "step_" + address + "_" + std::to_string(getpid()) + ".png";
    std::string url = address == "blank" ? "file://" + blank_html
                                         : "'file://" + html_report() + "#exp=" + kSection + "&focus=1&step=" + address + "'";
    ASSERT_EQ(run_chromium(browser, "--window-size=1400,1000 --screenshot=" + shot + " " + url, "/dev/null"), 0);
    shots.push_back(read(shot));
  }
  EXPECT_GT(shots[1].size(), 10 * shots[0].size()) << "step " << close_wait << " looks blank";
  EXPECT_GT(shots[2].size(), 10 * shots[0].size()) << "step " << reset << " looks blank";
  EXPECT_NE(shots[1], shots[2]) << "two steps, one picture";
}
