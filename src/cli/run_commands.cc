// Placeholder until the core sandbox lands; it refuses rather than pretending to work.
#include <cstdio>

#include "cli/commands.h"

namespace hive::cli {

static int NotYet(char** argv) {
  std::fprintf(stderr, "hive-run: %s: not implemented yet\n", argv[0]);
  return 125;
}
int RunBundleCommand(int, char** argv) { return NotYet(argv); }
int ScriptCommand(int, char** argv) { return NotYet(argv); }
int ExecCommand(int, char** argv) { return NotYet(argv); }
int PolicyCommand(int, char** argv) { return NotYet(argv); }
int BundleCommand(int, char** argv) { return NotYet(argv); }
int RunsCommand(int, char** argv) { return NotYet(argv); }

}  // namespace hive::cli
