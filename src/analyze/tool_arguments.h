// Arguments that turn a well-known program into a way to run something else: `git -c`
// (configuration runs commands), `find -exec`, `python -c`, `sh -c`, `env CMD`, `tar
// --to-command`, `ssh -o ProxyCommand`, ... An allowlist of programs means little if an
// allowed program will run any other one on request.
//
//   ToolIdentity("python3.11");                        // "python"
//   DangerousArguments("git", {"git", "-c", "core.pager=sh", "log"});
//   // {"git -c sets configuration, and configuration can run commands (...)"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hive::analyze {

// The family a program belongs to, from its file name: "python3.11" and "pypy3" are
// "python", "bash" and "dash" are "sh", "gawk" is "awk", "nodejs" is "node".
std::string ToolIdentity(std::string_view file_name);

// Why `argv` (argv[0] is the program) is refused for a program of family `tool`; empty when
// nothing in it runs other code.
std::vector<std::string> DangerousArguments(const std::string& tool,
                                            const std::vector<std::string>& argv);

}  // namespace hive::analyze
