// Parsing of the options every run subcommand shares (DESIGN §4).
#pragma once

#include <string>
#include <vector>

#include "hive/run.h"

namespace hive::cli {

struct ParsedRun {
  RunRequest request;
  bool quiet = false;
  bool help = false;                    // --help: print the subcommand's help, run nothing
  std::vector<std::string> positional;  // what follows the options
  std::string error;                    // usage error, when not empty
};

// Parses argv[1..]: options until the first positional argument or `--`. With
// `stop_at_positional`, everything after the first positional is positional too (script args).
ParsedRun ParseRunOptions(int argc, char** argv, bool stop_at_positional);

// The options every run subcommand takes, for --help.
extern const char* const kRunOptionsHelp;

// Runs the request and prints what a person needs: setup errors and warnings on stderr.
int ExecuteRun(const ParsedRun& parsed);

// `hive-run: message` on stderr; returns 125.
int Fail(const std::string& message);

}  // namespace hive::cli
