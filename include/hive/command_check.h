// hive::CheckCommand: is this the command the caller meant? A dry run, nothing executes
// (`hive-run check`, the seeds' SecureRunner dry_run).
//
// A command passes when
//  - its program is allowed: named in the allowlist, or placed in a tools directory;
//  - the program resolves to a real file in a trusted directory (the system's binary
//    directories or a tools directory), with no `..` in the path, no symlink leading out of
//    the tools directory, nothing writable by others on the way;
//  - given as one string, it contains no shell syntax (`;`, `&&`, `||`, `|`, redirections,
//    backticks, `$()`, `$VAR`, newlines): hive-run never runs a shell, so such a string is
//    either a mistake or an injection;
//  - no argument makes a common tool run other code: `git -c`, `--upload-pack`,
//    `find -exec`, `python -c`, `perl -e`, `sh -c`, `env CMD`, `xargs CMD`, `tar
//    --to-command`, `ssh -o ProxyCommand`, ...
//
//   hive::CommandCheckOptions o;
//   o.allowed = {"git"};
//   hive::CommandVerdict v = hive::CheckCommand({"git", "-c", "core.pager=sh", "log"}, o);
//   // v.allowed == false; v.reasons[0] == "git -c sets configuration, and configuration can
//   //   run commands (core.pager, core.sshCommand, alias.*)"
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hive/status.h"

namespace hive {

struct CommandCheckOptions {
  // Program names ("ls") or absolute paths; empty means DefaultAllowedPrograms().
  std::vector<std::string> allowed;
  // Every executable inside these directories is allowed (the seeds' ./tools/bin).
  std::vector<std::string> tools_dirs;
  // Where bare program names are looked up; empty means TrustedProgramDirs(). The caller's
  // $PATH is never used: a writable directory early in it is the oldest trick there is.
  std::vector<std::string> search_dirs;
};

struct CommandVerdict {
  bool allowed = false;
  std::vector<std::string> argv;     // the command as it would run (split if given as a string)
  std::string program;               // real path of the program, "" when not found
  std::vector<std::string> reasons;  // why it is refused; empty when allowed
  std::vector<std::string> notes;    // how it was allowed (which directory, which list)
};

CommandVerdict CheckCommand(const std::vector<std::string>& command,
                            const CommandCheckOptions& options);

// Word splitting with POSIX quoting (' " \); anything else a shell would act on is an error
// naming it: "`&&` chains another command".
Result<std::vector<std::string>> SplitCommandLine(std::string_view line);

// The seeds' system binaries: ls, cat, grep, python3, java, ...
const std::vector<std::string>& DefaultAllowedPrograms();
// /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin
const std::vector<std::string>& TrustedProgramDirs();

}  // namespace hive
