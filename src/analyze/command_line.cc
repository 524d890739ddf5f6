#include "analyze/command_line.h"

#include <algorithm>

#include "hive/command_check.h"

namespace hive::analyze {
namespace {

void Problem(std::vector<std::string>* problems, std::string what) {
  if (std::find(problems->begin(), problems->end(), what) == problems->end()) {
    problems->push_back(std::move(what));
  }
}

}  // namespace

std::vector<std::string> SplitShellWords(std::string_view line,
                                         std::vector<std::string>* problems) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  int substitutions = 0;  // open `$(`: their `)` is part of the same problem
  auto end_word = [&] {
    if (in_word) words.push_back(cur);
    cur.clear();
    in_word = false;
  };
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    char next = i + 1 < line.size() ? line[i + 1] : '\0';
    switch (c) {
      case '\'': {
        size_t close = line.find('\'', i + 1);
        if (close == std::string_view::npos) {
          Problem(problems, "unbalanced single quote");
          cur.append(line.substr(i + 1));
          i = line.size();
        } else {
          cur.append(line.substr(i + 1, close - i - 1));
          i = close;
        }
        in_word = true;
        break;
      }
      case '"': {
        in_word = true;
        size_t j = i + 1;
        for (; j < line.size() && line[j] != '"'; ++j) {
          char d = line[j];
          if (d == '\\' && j + 1 < line.size() &&
              std::string_view("$`\"\\").find(line[j + 1]) != std::string_view::npos) {
            cur += line[++j];
          } else if (d == '$') {
            Problem(problems, line.substr(j, 2) == "$(" ? "`$(` runs another command"
                                                        : "`$` expands a variable");
            cur += d;
          } else if (d == '`') {
            Problem(problems, "backticks run another command");
            cur += d;
          } else {
            cur += d;
          }
        }
        if (j >= line.size()) Problem(problems, "unbalanced double quote");
        i = j;
        break;
      }
      case '\\':
        if (next == '\n') {
          ++i;  // line continuation
        } else if (next != '\0') {
          cur += next;
          in_word = true;
          ++i;
        } else {
          Problem(problems, "trailing backslash");
        }
        break;
      case ' ':
      case '\t':
        end_word();
        break;
      case '\n':
      case '\r':
        Problem(problems, "a newline starts another command");
        end_word();
        break;
      case ';':
        Problem(problems, "`;` runs another command");
        end_word();
        break;
      case '&':
        Problem(problems, next == '&' ? "`&&` chains another command"
                                      : "`&` runs the command in the background");
        if (next == '&') ++i;
        end_word();
        break;
      case '|':
        Problem(problems,
                next == '|' ? "`||` chains another command" : "`|` pipes into another command");
        if (next == '|') ++i;
        end_word();
        break;
      case '<':
      case '>':
        Problem(problems, c == '>' ? "`>` redirects output to a file" : "`<` redirects input");
        end_word();
        break;
      case '`':
        Problem(problems, "backticks run another command");
        break;
      case '$':
        Problem(problems, next == '(' ? "`$(` runs another command" : "`$` expands a variable");
        if (next == '(') {
          ++substitutions;
          ++i;
        }
        cur += c;
        in_word = true;
        break;
      case ')':
        if (substitutions > 0) {
          --substitutions;
          break;
        }
        [[fallthrough]];
      case '(':
        Problem(problems, "`(` and `)` start a subshell");
        end_word();
        break;
      case '#':
        if (!in_word) {
          Problem(problems, "`#` starts a comment: the rest of the line would be dropped");
          i = line.size();
          break;
        }
        [[fallthrough]];
      default:
        cur += c;
        in_word = true;
    }
  }
  end_word();
  return words;
}

}  // namespace hive::analyze

namespace hive {

Result<std::vector<std::string>> SplitCommandLine(std::string_view line) {
  std::vector<std::string> problems;
  std::vector<std::string> words = analyze::SplitShellWords(line, &problems);
  if (problems.empty()) return words;
  std::string msg;
  for (const std::string& p : problems) msg += (msg.empty() ? "" : "; ") + p;
  return Error(Code::kInvalidArgument, "shell syntax in the command: " + msg);
}

}  // namespace hive
