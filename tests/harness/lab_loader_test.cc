// Lab manifests: a course's labs are folders with a lab.xml; the loader is as strict as the experiment loader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "load/lab_loader.h"

using namespace socklab::harness;
namespace fs = std::filesystem;

namespace {

const std::string kSource = SOCKLAB_SOURCE_DIR;

// A fresh course tree in the test's temporary directory.
class Course {
 public:
  Course() {
    static int counter = 0;
    root_ = testing::TempDir() + "course_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~Course() { fs::remove_all(root_); }
  void write(const std::string& file, const std::string& text) {
    fs::create_directories(fs::path(root_ / file).parent_path());
    std::ofstream(root_ / file) << text;
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

const char* kEchoExperiment = R"(<experiment id="echo.one" lab="echo" title="one">
  <start id="server" program="server" args="{port}" ready-listen="{port}"/>
  <expect-running name="server runs" process="server" points="100"/>
</experiment>
)";

// The errors of a course tree, without the root: "echo/lab.xml:3: ...".
std::vector<std::string> errors_of(const Course& course, std::vector<Lab>* labs = nullptr) {
  std::vector<LoadError> errors;
  std::vector<Lab> found = find_labs(course.root().string(), errors);
  for (const Lab& lab : found) load_lab_experiments(lab, true, errors);
  if (labs) *labs = found;
  std::vector<std::string> texts;
  for (const LoadError& e : errors) texts.push_back(e.text().substr(course.root().string().size() + 1));
  return texts;
}

}  // namespace

// The project's labs 1-5 are manifests, in order, each taking from the submission exactly the programs the
// grading guide's table lists.
TEST(LabManifest, TheProjectsLabsAreManifests) {
  std::vector<LoadError> errors;
  std::vector<Lab> labs = find_labs(kSource + "/experiments", errors);
  ASSERT_TRUE(errors.empty()) << errors.front().text();
  std::vector<std::string> ids, handed_in;
  for (const Lab& lab : labs) {
    ids.push_back(lab.id);
    std::string programs;
    for (const std::string& p : lab.submission_programs()) programs += (programs.empty() ? "" : " ") + p;
    handed_in.push_back(programs);
    EXPECT_TRUE(load_lab_experiments(lab, true, errors).size() > 0) << lab.id;
    EXPECT_EQ(lab.handout, kSource + "/docs/labs/lab" + lab.id + ".md");
  }
  EXPECT_TRUE(errors.empty()) << errors.front().text();
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3", "4", "5", "6"}));
  EXPECT_EQ(handed_in, (std::vector<std::string>{"echo_server echo_client", "fork_server", "echo_server", "echo_client",
                                                 "udp_chat_server udp_chat_client", "tcp_chat_server tcp_chat_client"}));
}

// Adding a folder adds a lab, with no C++ change: its programs, points and limits come from its manifest, and
// it is found by its id or its folder's name.
TEST(LabManifest, AFolderWithAManifestIsALab) {
  Course course;
  course.write("echo-lab/lab.xml", R"(<lab id="echo" title="Echo, course style" handout="handout.md" points="100">
  <program name="server" from="submission"/>
  <program name="client" from="reference" path="ref/client.py"/>
  <limits build="30s" cpu="5s"/>
</lab>
)");
  course.write("echo-lab/ref/client.py", "print('hi')\n");
  course.write("echo-lab/handout.md", "# Echo\n");
  course.write("echo-lab/one.xml", kEchoExperiment);
  std::vector<Lab> labs;
  EXPECT_EQ(errors_of(course, &labs), std::vector<std::string>{});
  ASSERT_EQ(labs.size(), 1u);
  const Lab& lab = labs[0];
  EXPECT_EQ(lab.title, "Echo, course style");
  EXPECT_EQ(lab.handout, (course.root() / "echo-lab/handout.md").string());
  EXPECT_EQ(lab.submission_programs(), std::vector<std::string>{"server"});
  ASSERT_EQ(lab.programs.size(), 2u);
  EXPECT_EQ(lab.programs[1].source, ProgramSource::kReference);
  EXPECT_EQ(lab.programs[1].path, (course.root() / "echo-lab/ref/client.py").string());
  EXPECT_EQ(lab.build_timeout, Millis(30000));
  EXPECT_EQ(lab.cpu_time, Millis(5000));
  EXPECT_EQ(choose_lab(labs, "echo"), &labs[0]);
  EXPECT_EQ(choose_lab(labs, "echo-lab"), &labs[0]);
  EXPECT_EQ(choose_lab(labs, "lab1"), nullptr);
}

// Numbered labs sort by value (2 before 10), named ones after them.
TEST(LabManifest, LabsAreOrderedByNumberThenName) {
  Course course;
  for (std::string id : {"10", "2", "extra"}) {
    course.write("l" + id + "/lab.xml", "<lab id=\"" + id + "\" title=\"t\" points=\"100\"><program name=\"server\" from=\"submission\"/></lab>\n");
  }
  std::vector<LoadError> errors;
  std::vector<std::string> ids;
  for (const Lab& lab : find_labs(course.root().string(), errors)) ids.push_back(lab.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"2", "10", "extra"}));
}

// Every mistake in a manifest is reported with its file and line.
TEST(LabManifest, MistakesAreFileLineErrors) {
  Course course;
  course.write("a/lab.xml", R"(<lab id="a" title="A" points="100" handout="gone.md">
  <program name="server" from="student"/>
  <program name="../x" from="submission"/>
  <program name="server" from="submission" path="x"/>
  <limit build="1s"/>
  <limits build="soon"/>
</lab>
)");
  EXPECT_EQ(errors_of(course),
            (std::vector<std::string>{"a/lab.xml:1: handout=\"gone.md\": no such file (a path is relative to the lab folder)",
                                      "a/lab.xml:2: bad from=\"student\" (submission or reference)",
                                      "a/lab.xml:3: bad program name \"../x\" (letters, digits, _ . -; no path)",
                                      "a/lab.xml:4: path=\"...\" is for reference programs (from=\"reference\")",
                                      "a/lab.xml:4: path=\"x\": no such file in the lab folder",
                                      "a/lab.xml:4: program \"server\" is already listed (line 2)",
                                      "a/lab.xml:5: unknown element <limit> (a lab has <program> and <limits>)",
                                      "a/lab.xml:6: bad duration build=\"soon\" (e.g. 500ms, 2s, 1.5s, 1min)"}));
}

// The graded experiments must add up to the manifest's points, and an experiment in a lab's folder must not
// claim another lab.
TEST(LabManifest, PointsAndLabsOfTheExperimentsAgree) {
  Course course;
  course.write("echo/lab.xml", "<lab id=\"echo\" title=\"t\" points=\"90\"><program name=\"server\" from=\"submission\"/></lab>\n");
  course.write("echo/one.xml", kEchoExperiment);
  course.write("echo/two.xml", std::string(kEchoExperiment).replace(std::string(kEchoExperiment).find("lab=\"echo\""), 10, "lab=\"7\""));
  EXPECT_EQ(errors_of(course), (std::vector<std::string>{
                                   "echo/two.xml:1: lab=\"7\", but it lies in lab echo's folder (" +
                                       (course.root() / "echo/lab.xml").string() + ")"}));
  course.write("echo/two.xml", "");
  fs::remove(course.root() / "echo/two.xml");
  EXPECT_EQ(errors_of(course), std::vector<std::string>{"echo/lab.xml:1: points=\"90\", but the lab's graded experiments add up to 100"});
}

// An experiment may start only programs the manifest says where to find (else grading could not choose them).
TEST(LabManifest, ExperimentsStartOnlyTheLabsPrograms) {
  Course course;
  course.write("echo/lab.xml", "<lab id=\"echo\" title=\"t\" points=\"100\"><program name=\"client\" from=\"submission\"/></lab>\n");
  course.write("echo/one.xml", kEchoExperiment);
  EXPECT_EQ(errors_of(course), std::vector<std::string>{"echo/one.xml:2: program \"server\" is not one of lab echo's programs "
                                                        "(add <program name=\"server\" from=\"...\"/> to " +
                                                        (course.root() / "echo/lab.xml").string() + ")"});
}

// A lab that takes nothing from the submission grades nothing: refused.
TEST(LabManifest, ALabMustTakeAProgramFromTheSubmission) {
  Course course;
  course.write("x/lab.xml", "<lab id=\"x\" title=\"t\">\n  <program name=\"server\" from=\"reference\"/>\n</lab>\n");
  EXPECT_EQ(errors_of(course), std::vector<std::string>{"x/lab.xml:1: the lab takes no program from the submission (from=\"submission\")"});
}
