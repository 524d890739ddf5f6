// hive-run check [--policy P] [--allow NAME]... [--tools-dir DIR]... [--json] -- CMD [ARG...]
// A dry run: says whether hive-run would run the command, and why not. Nothing executes.
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "hive/command_check.h"
#include "hive/policy.h"

namespace hive::cli {
namespace {

constexpr const char* kUsage =
    "check: usage: hive-run check [--policy FILE] [--allow PROGRAM]... [--tools-dir DIR]... "
    "[--json] -- CMD [ARG...]";

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Quoted(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>()*?#~") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? a : nlohmann::json(a).dump());
  }
  return out;
}

// Programs that need the network to do their job, for a note when the policy has none.
bool NeedsNetwork(const std::vector<std::string>& argv) {
  std::string prog = argv[0].substr(argv[0].rfind('/') + 1);
  if (prog == "curl" || prog == "wget" || prog == "ssh" || prog == "scp" || prog == "rsync" ||
      prog == "sftp" || prog == "ftp" || prog == "nc" || prog == "ping") {
    return true;
  }
  for (const std::string& a : argv) {
    if (prog == "git" &&
        (a == "clone" || a == "fetch" || a == "pull" || a == "push" || a == "ls-remote")) {
      return true;
    }
    if ((prog == "pip" || prog == "pip3") && a == "install") return true;
  }
  return false;
}

}  // namespace

int CheckCommand(int argc, char** argv) {
  CommandCheckOptions options;
  std::string policy_path;
  bool json = false, tools_given = false;
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name, std::string* out) {
      if (a == name && i + 1 < argc) {
        *out = argv[++i];
        return true;
      }
      if (a.substr(0, name.size() + 1) == std::string(name) + "=") {
        *out = std::string(a.substr(name.size() + 1));
        return true;
      }
      return false;
    };
    std::string v;
    if (a == "--") {
      command.assign(argv + i + 1, argv + argc);
      break;
    }
    if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      std::puts(kUsage + 7);
      return 0;
    } else if (value("--policy", &policy_path) || value("--state-dir", &v) || a == "--quiet") {
      continue;
    } else if (value("--allow", &v)) {
      options.allowed.push_back(v);
    } else if (value("--tools-dir", &v)) {
      options.tools_dirs.push_back(v);
      tools_given = true;
    } else if (!a.empty() && a[0] == '-') {
      return Fail(fmt::format("check: unknown option `{}`\n{}", a, kUsage));
    } else {
      command.assign(argv + i, argv + argc);  // `--` is optional before the command
      break;
    }
  }
  if (command.empty()) return Fail(kUsage);

  std::optional<Policy> policy;
  std::string base = ".";
  if (!policy_path.empty()) {
    Result<Policy> p = LoadPolicyFile(policy_path);
    if (!p.ok()) return Fail(p.status().message());
    policy = std::move(*p);
    size_t slash = policy_path.rfind('/');
    base = slash == std::string::npos ? "." : policy_path.substr(0, slash);
  }
  // The policy's own allowlist, as `exec` enforces it; --allow and --tools-dir add to it.
  if (policy && policy->process.allowed_binaries) {
    if (options.allowed.empty() && !policy->process.allowed_binaries->empty()) {
      options.allowed = *policy->process.allowed_binaries;
    }
    if (!tools_given && !policy->process.tools_dirs.empty()) {
      options.tools_dirs = policy->process.tools_dirs;
      tools_given = true;
    }
  }
  // The seeds' convention: custom tools live in tools/bin beside the policy (or here).
  if (!tools_given && IsDir(base + "/tools/bin")) options.tools_dirs.push_back(base + "/tools/bin");

  CommandVerdict verdict = hive::CheckCommand(command, options);
  if (verdict.allowed && policy && policy->network.allowed_domains.empty() &&
      NeedsNetwork(verdict.argv)) {
    verdict.notes.push_back(fmt::format(
        "{} gives the sandbox no network: this command will not reach anything outside it "
        "(security.network.allowed_domains)",
        policy->source));
  }
  if (json) {
    nlohmann::json j = {{"verdict", verdict.allowed ? "allowed" : "refused"},
                        {"argv", verdict.argv},
                        {"program", verdict.program},
                        {"reasons", verdict.reasons},
                        {"notes", verdict.notes}};
    std::cout << j.dump(2) << "\n";
  } else {
    fmt::print("{}: {}\n", verdict.allowed ? "allowed" : "refused", Quoted(verdict.argv));
    if (!verdict.program.empty()) fmt::print("  program: {}\n", verdict.program);
    for (const std::string& r : verdict.reasons) fmt::print("  - {}\n", r);
    for (const std::string& n : verdict.notes) fmt::print("  note: {}\n", n);
  }
  return verdict.allowed ? 0 : 1;
}

}  // namespace hive::cli
