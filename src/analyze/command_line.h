// Splitting a command given as one string, the way a POSIX shell splits words, while naming
// every piece of shell syntax in it: hive-run runs programs directly, never through a shell,
// so `;`, `&&`, `|`, `$()` and friends in a command string are refused, not interpreted.
//
//   std::vector<std::string> problems;
//   auto words = SplitShellWords("ls -l 'my file'; rm x", &problems);
//   // words = {"ls", "-l", "my file", "rm", "x"}; problems = {"`;` runs another command"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hive::analyze {

std::vector<std::string> SplitShellWords(std::string_view line, std::vector<std::string>* problems);

}  // namespace hive::analyze
