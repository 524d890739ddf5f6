// hive-run script | exec | BUNDLE: argument handling only; the pipeline is hive::Run.
#include <cstdio>

#include "cli/commands.h"
#include "cli/run_options.h"

namespace hive::cli {

int ScriptCommand(int argc, char** argv) {
  ParsedRun p = ParseRunOptions(argc, argv, /*stop_at_positional=*/true);
  if (!p.error.empty()) return Fail("script: " + p.error);
  if (p.positional.empty()) return Fail("script: usage: hive-run script [OPTIONS] FILE [ARG...]");
  p.request.mode = RunMode::kScript;
  p.request.command = p.positional;
  return ExecuteRun(p);
}

int ExecCommand(int argc, char** argv) {
  ParsedRun p = ParseRunOptions(argc, argv, /*stop_at_positional=*/true);
  if (!p.error.empty()) return Fail("exec: " + p.error);
  if (p.positional.empty()) return Fail("exec: usage: hive-run exec [OPTIONS] -- CMD [ARG...]");
  p.request.mode = RunMode::kExec;
  p.request.command = p.positional;
  return ExecuteRun(p);
}

int RunBundleCommand(int argc, char** argv) {
  ParsedRun p = ParseRunOptions(argc, argv, /*stop_at_positional=*/false);
  if (!p.error.empty()) return Fail(p.error);
  if (p.positional.empty()) return Fail("usage: hive-run [OPTIONS] BUNDLE [-- CMD [ARG...]]");
  p.request.mode = RunMode::kBundle;
  p.request.bundle_dir = p.positional[0];
  p.request.command.assign(p.positional.begin() + 1, p.positional.end());
  return ExecuteRun(p);
}

}  // namespace hive::cli
