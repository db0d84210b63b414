#include "load/lab_loader.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "load/loader.h"

namespace socklab::harness {

namespace fs = std::filesystem;

namespace {

// A program name is a file name the submission holds and an experiment starts: no path, no spaces.
bool good_program_name(const std::string& name) {
  static const std::regex pattern("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
  return std::regex_match(name, pattern);
}

void read_program(XmlFile& xml, const pugi::xml_node& node, Lab& lab) {
  if (!xml.check_attributes(node, {"name", "from"}, {"path"})) return;
  LabProgram program;
  program.line = xml.line(node);
  program.name = node.attribute("name").value();
  if (!good_program_name(program.name)) {
    xml.error(node, "bad program name \"" + program.name + "\" (letters, digits, _ . -; no path)");
  }
  std::string from = node.attribute("from").value();
  if (from == "submission") {
    program.source = ProgramSource::kSubmission;
    if (node.attribute("path")) xml.error(node, "path=\"...\" is for reference programs (from=\"reference\")");
  } else if (from == "reference") {
    program.source = ProgramSource::kReference;
  } else {
    xml.error(node, "bad from=\"" + from + "\" (submission or reference)");
  }
  if (node.attribute("path")) {
    fs::path path = fs::path(lab.dir) / node.attribute("path").value();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) xml.error(node, "path=\"" + std::string(node.attribute("path").value()) + "\": no such file in the lab folder");
    program.path = fs::absolute(path, ec).lexically_normal().string();
  }
  for (const LabProgram& other : lab.programs) {
    if (other.name == program.name) xml.error(node, "program \"" + program.name + "\" is already listed (line " + std::to_string(other.line) + ")");
  }
  lab.programs.push_back(program);
}

void read_limits(XmlFile& xml, const pugi::xml_node& node, Lab& lab) {
  if (!xml.check_attributes(node, {}, {"build", "cpu"})) return;
  if (node.attribute("build")) {
    if (auto d = xml.duration(node, "build")) lab.build_timeout = *d;
  }
  if (node.attribute("cpu")) {
    if (auto d = xml.duration(node, "cpu")) lab.cpu_time = *d;
  }
}

// Lab ids in order: numbers by value, then the others by name.
bool id_before(const Lab& a, const Lab& b) {
  auto number = [](const std::string& id) {
    return !id.empty() && id.size() < 9 && std::all_of(id.begin(), id.end(), ::isdigit) ? std::stoi(id) : -1;
  };
  int na = number(a.id), nb = number(b.id);
  if ((na < 0) != (nb < 0)) return na >= 0;
  return na >= 0 ? na < nb : a.id < b.id;
}

}  // namespace

std::optional<Lab> load_lab(const std::string& manifest, std::vector<LoadError>& errors) {
  XmlFile xml(manifest, errors);
  if (!xml.parse()) return std::nullopt;
  std::size_t errors_before = xml.error_count();
  pugi::xml_node root = xml.root();
  if (std::string(root.name()) != "lab") {
    xml.error(root, "the root element must be <lab>, not <" + std::string(root.name()) + ">");
    return std::nullopt;
  }
  Lab lab;
  lab.file = manifest;
  lab.dir = fs::path(manifest).parent_path().string();
  if (lab.dir.empty()) lab.dir = ".";
  xml.check_attributes(root, {"id", "title"}, {"handout", "points"});
  lab.id = root.attribute("id").value();
  if (!std::regex_match(lab.id, std::regex("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"))) {
    xml.error(root, "bad id=\"" + lab.id + "\" (letters, digits, _ . -; it is what `socklab grade --lab` takes)");
  }
  lab.title = root.attribute("title").value();
  lab.handout = root.attribute("handout").value();
  if (!lab.handout.empty() && lab.handout.find("://") == std::string::npos) {  // a file, relative to the lab folder
    std::error_code ec;
    fs::path handout = fs::path(lab.dir) / lab.handout;
    if (!fs::is_regular_file(handout, ec)) xml.error(root, "handout=\"" + lab.handout + "\": no such file (a path is relative to the lab folder)");
    lab.handout = fs::absolute(handout, ec).lexically_normal().string();
  }
  if (root.attribute("points")) lab.points = static_cast<int>(xml.integer(root, "points", 1, 10000).value_or(100));
  for (const pugi::xml_node& child : xml.elements(root)) {
    std::string name = child.name();
    if (name == "program") {
      read_program(xml, child, lab);
    } else if (name == "limits") {
      read_limits(xml, child, lab);
    } else {
      xml.error(child, "unknown element <" + name + "> (a lab has <program> and <limits>)");
    }
  }
  if (lab.submission_programs().empty()) xml.error(root, "the lab takes no program from the submission (from=\"submission\")");
  if (xml.error_count() != errors_before) return std::nullopt;
  return lab;
}

std::vector<Lab> find_labs(const std::string& root, std::vector<LoadError>& errors) {
  std::vector<Lab> labs;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    errors.push_back({root, 0, "no such directory (a course's labs: one folder per lab, each with a lab.xml)"});
    return labs;
  }
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    fs::path manifest = entry.path() / kLabManifest;
    if (entry.is_directory() && fs::is_regular_file(manifest, ec)) {
      if (auto lab = load_lab(manifest.string(), errors)) labs.push_back(std::move(*lab));
    }
  }
  std::sort(labs.begin(), labs.end(), id_before);
  for (std::size_t i = 1; i < labs.size(); ++i) {
    if (labs[i].id == labs[i - 1].id) errors.push_back({labs[i].file, 1, "lab id \"" + labs[i].id + "\" is also the id of " + labs[i - 1].file});
  }
  if (labs.empty() && errors.empty()) errors.push_back({root, 0, "no labs here (no folder with a lab.xml)"});
  return labs;
}

const Lab* choose_lab(const std::vector<Lab>& labs, const std::string& wanted) {
  for (const Lab& lab : labs) {
    if (lab.id == wanted) return &lab;
  }
  for (const Lab& lab : labs) {
    if (fs::path(lab.dir).filename() == wanted) return &lab;
  }
  return nullptr;
}

std::vector<Experiment> load_lab_experiments(const Lab& lab, bool graded_only, std::vector<LoadError>& errors) {
  std::vector<Experiment> experiments;
  int points = 0;
  std::size_t errors_before = errors.size();
  for (const std::string& file : experiment_files({lab.dir}, errors)) {
    auto e = load_experiment(file, errors);
    if (!e) continue;
    if (!e->lab.empty() && e->lab != lab.id) {
      errors.push_back({file, 1, "lab=\"" + e->lab + "\", but it lies in lab " + lab.id + "'s folder (" + lab.file + ")"});
    }
    e->lab = lab.id;
    for (const Step& step : e->steps) {  // every program it starts must be one the manifest says where to find
      const StartStep* start = step_as<StartStep>(step);
      if (!start) continue;
      bool listed = std::any_of(lab.programs.begin(), lab.programs.end(), [&](const LabProgram& p) { return p.name == start->program; });
      if (!listed) {
        errors.push_back({file, start->line, "program \"" + start->program + "\" is not one of lab " + lab.id +
                                                 "'s programs (add <program name=\"" + start->program + "\" from=\"...\"/> to " + lab.file + ")"});
      }
    }
    if (e->graded) points += e->max_points();
    if (e->graded || !graded_only) experiments.push_back(std::move(*e));
  }
  if (errors.size() == errors_before && points != lab.points) {
    errors.push_back({lab.file, 1, "points=\"" + std::to_string(lab.points) + "\", but the lab's graded experiments add up to " +
                                       std::to_string(points)});
  }
  return experiments;
}

}  // namespace socklab::harness
