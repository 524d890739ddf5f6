// hive-run script | exec | BUNDLE: argument handling only; the pipeline is hive::Run.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/run_options.h"

namespace hive::cli {

namespace {

int Help(const char* usage) {
  std::printf("%s\n%s", usage, kRunOptionsHelp);
  return 0;
}

// Names `hive-run` takes before a bundle; a word that is none of them and no directory was
// most likely a mistyped subcommand, not a bundle.
constexpr std::string_view kCommandNames[] = {
    "script", "exec",    "policy", "bundle", "runs",     "audit",     "stats",
    "analyze", "check",  "selftest", "run-bundle", "create", "start", "state",
    "kill",   "delete",  "run",    "ps",     "list",     "spec",      "features"};

// Edit distance at most 2 between short words: enough to catch `exce`, `scirpt`, `polcy`.
bool Near(std::string_view a, std::string_view b) {
  if (a.size() > b.size() + 2 || b.size() > a.size() + 2) return false;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    prev.swap(cur);
  }
  return prev[b.size()] <= 2;
}

}  // namespace

int ScriptCommand(int argc, char** argv) {
  ParsedRun p = ParseRunOptions(argc, argv, /*stop_at_positional=*/true);
  if (p.help) return Help("usage: hive-run script [OPTIONS] FILE [ARG...]\n"
                          "Runs a script with its interpreter (by extension or shebang) in the "
                          "built-in sandbox.");
  if (!p.error.empty()) return Fail("script: " + p.error);
  if (p.positional.empty()) return Fail("script: usage: hive-run script [OPTIONS] FILE [ARG...]");
  p.request.mode = RunMode::kScript;
  p.request.command = p.positional;
  return ExecuteRun(p);
}

int ExecCommand(int argc, char** argv) {
  ParsedRun p = ParseRunOptions(argc, argv, /*stop_at_positional=*/true);
  if (p.help) return Help("usage: hive-run exec [OPTIONS] -- CMD [ARG...]\n"
                          "Runs a host command in the built-in sandbox: the host's /usr "
                          "read-only, a private /tmp, no network.");
  if (!p.error.empty()) return Fail("exec: " + p.error);
  if (p.positional.empty()) return Fail("exec: usage: hive-run exec [OPTIONS] -- CMD [ARG...]");
  p.request.mode = RunMode::kExec;
  p.request.command = p.positional;
  return ExecuteRun(p);
}

int RunBundleCommand(int argc, char** argv) {
  ParsedRun p = ParseRunOptions(argc, argv, /*stop_at_positional=*/false);
  if (p.help) return Help("usage: hive-run [OPTIONS] BUNDLE [-- CMD [ARG...]]\n"
                          "Runs an OCI bundle (config.json + rootfs/) under a policy.");
  if (!p.error.empty()) return Fail(p.error);
  if (p.positional.empty()) return Fail("usage: hive-run [OPTIONS] BUNDLE [-- CMD [ARG...]]");
  if (const std::string& word = p.positional[0]; word.find('/') == std::string::npos) {
    struct stat st;
    if (stat(word.c_str(), &st) != 0) {
      std::string hint;
      for (std::string_view name : kCommandNames) {
        if (Near(word, name)) {
          hint = fmt::format(" (did you mean `{}`?)", name);
          break;
        }
      }
      return Fail(fmt::format("`{}` is not a hive-run command{}, nor a bundle directory (see "
                              "hive-run --help)",
                              word, hint));
    }
  }
  p.request.mode = RunMode::kBundle;
  p.request.bundle_dir = p.positional[0];
  p.request.command.assign(p.positional.begin() + 1, p.positional.end());
  return ExecuteRun(p);
}

}  // namespace hive::cli
