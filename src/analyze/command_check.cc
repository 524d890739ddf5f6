// hive::CheckCommand: program resolution, the allowlist and the argument checks together.
#include "hive/command_check.h"

#include <fmt/format.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "analyze/command_line.h"
#include "analyze/tool_arguments.h"
#include "hive/state_dir.h"

namespace hive {
namespace {

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (dir == "/" || path[dir.size()] == '/');
}

bool HasControlChars(const std::string& s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Writable by someone other than its owner, or owned by someone other than root and us: a
// place or file another user could swap under the check.
std::string UnsafeOwnership(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fmt::format("`{}` cannot be examined", path);
  if (st.st_mode & S_IWOTH) return fmt::format("`{}` is writable by every user", path);
  if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
    return fmt::format("`{}` is writable by its group", path);
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return fmt::format("`{}` belongs to another user (uid {})", path, st.st_uid);
  }
  return "";
}

class Checker {
 public:
  Checker(const CommandCheckOptions& o, CommandVerdict& v) : opt_(o), v_(v) {
    for (const std::string& d : o.search_dirs.empty() ? TrustedProgramDirs() : o.search_dirs) {
      std::string r = RealPath(d);
      if (!r.empty() &&
          std::find(system_dirs_.begin(), system_dirs_.end(), r) == system_dirs_.end()) {
        system_dirs_.push_back(r);
      }
    }
    for (const std::string& d : o.tools_dirs) {
      std::string r = RealPath(d);
      if (r.empty()) continue;
      if (std::string bad = UnsafeOwnership(r); !bad.empty()) {
        v_.notes.push_back(fmt::format("tools directory `{}` is ignored: {}", d, bad));
        continue;
      }
      tools_dirs_.push_back(r);
    }
  }

  // Finds the program, checks where it really lives, and whether it is allowed.
  void Program(const std::string& name) {
    if (name.empty()) return Refuse("the program name is empty");
    if (HasControlChars(name)) return Refuse("the program name contains control characters");
    std::string path;
    if (name.find('/') != std::string::npos) {
      // `./tools/bin/x` is fine; `..` or `/./` inside a path only serves to disguise it.
      std::string wrapped = "/" + (name.substr(0, 2) == "./" ? name.substr(2) : name) + "/";
      if (wrapped.find("/../") != std::string::npos || wrapped.find("/./") != std::string::npos) {
        return Refuse(
            fmt::format("`{}` uses `.` or `..`: name the program by its real path", name));
      }
      std::string lexical = AbsolutePath(name, "");
      path = lexical;
      std::string dir = RealPath(Dirname(path));
      if (!Trusted(dir)) {
        return Refuse(fmt::format("`{}` is not in a trusted directory ({}{})", name,
                                  Join(system_dirs_),
                                  tools_dirs_.empty() ? "" : " or a tools directory"));
      }
    } else {
      for (const std::string& d : system_dirs_) {
        if (::access((d + "/" + name).c_str(), F_OK) == 0) {
          path = d + "/" + name;
          break;
        }
      }
      for (size_t i = 0; path.empty() && i < tools_dirs_.size(); ++i) {
        if (::access((tools_dirs_[i] + "/" + name).c_str(), F_OK) == 0) {
          path = tools_dirs_[i] + "/" + name;
        }
      }
      if (path.empty()) {
        return Refuse(fmt::format("`{}` is not found in {}{}", name, Join(system_dirs_),
                                  tools_dirs_.empty() ? "" : " or " + Join(tools_dirs_)));
      }
    }
    std::string real = RealPath(path);
    if (real.empty()) return Refuse(fmt::format("`{}` does not exist", name));
    struct stat st;
    if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Refuse(fmt::format("`{}` is not a regular file", real));
    }
    if (::access(real.c_str(), X_OK) != 0)
      return Refuse(fmt::format("`{}` is not executable", real));
    for (const std::string& p : {real, Dirname(real)}) {
      if (std::string bad = UnsafeOwnership(p); !bad.empty()) {
        return Refuse(bad + ": someone else could replace the program");
      }
    }
    v_.program = real;
    std::string link_dir = RealPath(Dirname(path));
    bool in_tools = std::any_of(tools_dirs_.begin(), tools_dirs_.end(),
                                [&](const std::string& d) { return IsUnder(real, d); });
    if (in_tools) {
      v_.notes.push_back(fmt::format("`{}` is in a tools directory", real));
      identity_ = analyze::ToolIdentity(Basename(real));
      return;
    }
    bool linked_from_tools =
        std::find(tools_dirs_.begin(), tools_dirs_.end(), link_dir) != tools_dirs_.end();
    if (!Trusted(Dirname(real))) {
      return Refuse(fmt::format("`{}` leads to `{}`, outside the trusted directories", name, real));
    }
    // A system program is allowed by the name it was asked for (python3 -> python3.11) and,
    // when reached through a tools-directory symlink, by its own name: a link called `ls`
    // pointing at /bin/sh is sh.
    std::string asked = linked_from_tools ? Basename(real) : Basename(path);
    std::string why_allowed;
    for (const std::string& a : opt_.allowed.empty() ? DefaultAllowedPrograms() : opt_.allowed) {
      if (a.find('/') != std::string::npos ? RealPath(a) == real
                                           : a == asked || a == Basename(real)) {
        why_allowed = a;
        break;
      }
    }
    identity_ = analyze::ToolIdentity(asked);
    if (why_allowed.empty()) {
      return Refuse(fmt::format(
          "`{}` ({}) is not in the allowlist{}", asked, real,
          linked_from_tools ? ", and the tools-directory symlink to it does not make it one" : ""));
    }
    v_.notes.push_back(fmt::format("`{}` is allowed as `{}`{}", real, why_allowed,
                                   opt_.allowed.empty() ? " (built-in allowlist)" : ""));
  }

  void Arguments(const std::vector<std::string>& argv) {
    if (identity_.empty()) identity_ = analyze::ToolIdentity(Basename(argv[0]));
    // A path argument that climbs with `..` leaves the directory it seems to name (the
    // seeds' path-traversal rule); `--out=../x` is a path too.
    for (size_t i = 1; i < argv.size(); ++i) {
      std::string value = argv[i];
      if (value.size() > 1 && value[0] == '-' && value.find('=') != std::string::npos) {
        value = value.substr(value.find('=') + 1);
      }
      if (("/" + value + "/").find("/../") != std::string::npos) {
        Refuse(fmt::format("argument `{}` climbs out of its directory with `..`: name the path "
                           "without it",
                           argv[i]));
      }
    }
    for (std::string& why : analyze::DangerousArguments(identity_, argv)) Refuse(std::move(why));
  }

  void Refuse(std::string why) {
    if (std::find(v_.reasons.begin(), v_.reasons.end(), why) == v_.reasons.end()) {
      v_.reasons.push_back(std::move(why));
    }
  }

 private:
  bool Trusted(const std::string& real_dir) const {
    return std::find(system_dirs_.begin(), system_dirs_.end(), real_dir) != system_dirs_.end() ||
           std::any_of(tools_dirs_.begin(), tools_dirs_.end(),
                       [&](const std::string& d) { return real_dir == d || IsUnder(real_dir, d); });
  }

  static std::string Join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
  }

  const CommandCheckOptions& opt_;
  CommandVerdict& v_;
  std::vector<std::string> system_dirs_;
  std::vector<std::string> tools_dirs_;
  std::string identity_;
};

}  // namespace

CommandVerdict CheckCommand(const std::vector<std::string>& command,
                            const CommandCheckOptions& options) {
  CommandVerdict v;
  Checker check(options, v);
  if (command.empty()) {
    check.Refuse("no command given");
    return v;
  }
  // One string: the caller wrote a command line. Split it, refusing shell syntax.
  if (command.size() == 1) {
    std::vector<std::string> problems;
    v.argv = analyze::SplitShellWords(command[0], &problems);
    for (std::string& p : problems) {
      check.Refuse(p + "; hive-run runs no shell, pass the arguments separately");
    }
  } else {
    v.argv = command;
  }
  if (v.argv.empty()) {
    check.Refuse("no command given");
    return v;
  }
  check.Program(v.argv[0]);
  check.Arguments(v.argv);
  v.allowed = v.reasons.empty();
  return v;
}

const std::vector<std::string>& DefaultAllowedPrograms() {
  static const std::vector<std::string> kPrograms = {
      "ls",      "cat",       "grep",     "egrep",   "fgrep",    "head",   "tail",  "wc",
      "sort",    "uniq",      "cut",      "tr",      "diff",     "cmp",    "echo",  "printf",
      "true",    "false",     "basename", "dirname", "realpath", "stat",   "file",  "md5sum",
      "sha1sum", "sha256sum", "date",     "pwd",     "id",       "whoami", "uname", "find",
      "git",     "python3",   "python",   "java",    "javac",    "node",   "tar",   "gzip",
      "gunzip",  "zcat",      "xz",       "bzip2",   "make",     "gcc",    "g++",   "cc",
      "c++",     "clang",     "clang++",  "jq",      "sed",      "awk",    "seq",   "sleep",
      "test"};
  return kPrograms;
}

const std::vector<std::string>& TrustedProgramDirs() {
  static const std::vector<std::string> kDirs = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                                 "/usr/bin",        "/sbin",          "/bin"};
  return kDirs;
}

}  // namespace hive
