// Placeholder until this subcommand lands; it refuses rather than pretending to work.
#include <cstdio>

#include "cli/commands.h"

namespace hive::cli {

int AnalyzeCommand(int, char** argv) {
  std::fprintf(stderr, "hive-run: %s: not implemented yet\n", argv[0]);
  return 125;
}

}  // namespace hive::cli
