// The interpreter a script runs with: by its extension, else its #! line.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/run.h"

namespace hive {

Result<std::vector<std::string>> InterpreterFor(const std::string& script_path) {
  auto ends = [&](const char* ext) {
    std::string e = ext;
    return script_path.size() > e.size() &&
           script_path.compare(script_path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".py")) return std::vector<std::string>{"python3"};
  if (ends(".sh")) return std::vector<std::string>{"/bin/sh"};
  if (ends(".pl")) return std::vector<std::string>{"perl"};
  if (ends(".rb")) return std::vector<std::string>{"ruby"};
  if (ends(".js")) return std::vector<std::string>{"node"};
  // Only the first line is read, but the file is opened like every input: a FIFO must not
  // block hive-run.
  HIVE_ASSIGN_OR_RETURN(UniqueFd fd, OpenInputFile(script_path, kScriptInput));
  char line[512] = {};
  ssize_t got = 0;
  do {
    got = ::read(fd.get(), line, sizeof line - 1);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return Errno(fmt::format("read script `{}`", script_path));
  line[got] = '\0';
  if (char* nl = std::strchr(line, '\n')) *nl = '\0';
  if (got >= 2 && line[0] == '#' && line[1] == '!') {
    std::string s(line + 2);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    std::vector<std::string> words;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      size_t j = i;
      while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
      if (j > i) words.push_back(s.substr(i, j - i));
      i = j;
    }
    if (!words.empty() && words[0] == "/usr/bin/env" && words.size() > 1) {
      words.erase(words.begin());
    }
    if (!words.empty()) return words;
  }
  return Error(Code::kInvalidArgument,
               fmt::format("script `{}`: no interpreter known for its extension and no #! line",
                           script_path));
}

}  // namespace hive
