// hive-run runs list | show ID | clean [--keep-logs]
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "cli/commands.h"
#include "cli/run_options.h"
#include "hive/run.h"
#include "hive/state_dir.h"

namespace hive::cli {
namespace {

std::vector<std::string> RunIds(const std::string& runs) {
  std::vector<std::string> ids;
  if (DIR* d = opendir(runs.c_str())) {
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

int RunsCommand(int argc, char** argv) {
  constexpr const char* kUsage =
      "runs: usage: hive-run runs list | show ID | clean [ID...] [--keep-logs] "
      "[--state-dir DIR]";
  std::string state_flag, verb;
  std::vector<std::string> ids;
  bool keep_logs = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--state-dir" && i + 1 < argc) state_flag = argv[++i];
    else if (a.substr(0, 12) == "--state-dir=") state_flag = std::string(a.substr(12));
    else if (a == "--keep-logs") keep_logs = true;
    else if (!a.empty() && a[0] == '-') return Fail(fmt::format("runs: unknown option `{}`", a));
    else if (verb.empty()) verb = a;
    else ids.emplace_back(a);
  }
  auto valid_id = [](const std::string& id) {
    return !id.empty() && id.find('/') == std::string::npos && id[0] != '.';
  };
  const std::string state_dir = ResolveStateDir(state_flag);
  const std::string runs = state_dir + "/runs";
  if (verb == "list") {
    if (!ids.empty()) return Fail(kUsage);
    for (const std::string& rid : RunIds(runs)) {
      auto text = ReadFile(runs + "/" + rid + "/logs/execution.json");
      std::string outcome = RunUnderWay(state_dir, rid) ? "running" : "-";
      std::string exit_status = "-", command;
      if (text.ok()) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (!j.is_discarded()) {
          if (auto o = j.find("outcome"); o != j.end() && o->is_string()) outcome = *o;
          if (auto e = j.find("exit_status"); e != j.end() && e->is_number_integer()) {
            exit_status = std::to_string(e->get<int>());
          }
          for (const auto& a : j.value("command", nlohmann::json::array())) {
            if (a.is_string()) command += (command.empty() ? "" : " ") + a.get<std::string>();
          }
        }
      }
      std::printf("%-28s %-16s %4s  %s\n", rid.c_str(), outcome.c_str(), exit_status.c_str(),
                  command.c_str());
    }
    return 0;
  }
  if (verb == "show") {
    if (ids.size() != 1 || !valid_id(ids[0])) return Fail(kUsage);
    const std::string& id = ids[0];
    auto text = ReadFile(runs + "/" + id + "/logs/execution.json");
    if (!text.ok()) {
      if (RunUnderWay(state_dir, id)) {
        return Fail(fmt::format("runs show: run `{}` is under way", id));
      }
      return Fail(fmt::format("runs show: no run `{}`: {}", id, text.status().message()));
    }
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  if (verb == "clean") {
    // Runs whose supervisor died are recorded before anything of theirs is removed.
    std::vector<std::string> recorded;
    if (Status s = RecordLostRuns(state_dir, nullptr, &recorded); !s.ok()) {
      std::fprintf(stderr, "hive-run: warning: %s\n", s.message().c_str());
    }
    for (const std::string& rid : recorded) {
      std::printf("recorded run %s as supervisor_lost\n", rid.c_str());
    }
    std::vector<std::string> targets = ids.empty() ? RunIds(runs) : ids;
    std::error_code ec;
    int n = 0, skipped = 0;
    for (const std::string& rid : targets) {
      if (!valid_id(rid)) return Fail(fmt::format("runs clean: `{}` is not a run id", rid));
      const std::string dir = runs + "/" + rid;
      if (!ids.empty() && !std::filesystem::is_directory(dir, ec)) {
        return Fail(fmt::format("runs clean: no run `{}` in `{}`", rid, runs));
      }
      // A run under way keeps its directory: its sandbox reads and writes there.
      if (RunUnderWay(state_dir, rid)) {
        std::printf("skipped run %s: under way\n", rid.c_str());
        ++skipped;
        continue;
      }
      if (keep_logs) {
        std::filesystem::remove_all(dir + "/input", ec);
        if (!ec) std::filesystem::remove_all(dir + "/output", ec);
      } else {
        std::filesystem::remove_all(dir, ec);
      }
      if (ec) return Fail(fmt::format("runs clean: remove `{}`: {}", dir, ec.message()));
      ++n;
    }
    std::printf("cleaned %d run%s%s\n", n, n == 1 ? "" : "s", keep_logs ? " (logs kept)" : "");
    return 0;
  }
  return Fail(kUsage);
}

}  // namespace hive::cli
