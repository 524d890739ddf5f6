#include "hive/state_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include <fmt/format.h>

namespace hive {

std::string ResolveStateDir(const std::string& flag_value) {
  if (!flag_value.empty()) return AbsolutePath(flag_value, "");
  if (const char* env = std::getenv("HIVE_RUN_STATE_DIR"); env && *env) {
    return AbsolutePath(env, "");
  }
  if (::geteuid() == 0) return "/var/lib/hive-run";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/hive-run";
  }
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.local/state/hive-run";
}

Status EnsureDir(const std::string& path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return Errno(fmt::format("create directory `{}`", cur));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(fmt::format("stat `{}`", path));
  if (!S_ISDIR(st.st_mode)) {
    return Error(Code::kFailedPrecondition, fmt::format("`{}` is not a directory", path));
  }
  return Ok();
}

std::string AbsolutePath(const std::string& path, const std::string& base) {
  std::string full;
  if (!path.empty() && path[0] == '/') {
    full = path;
  } else {
    std::string b = base;
    if (b.empty()) {
      char buf[4096];
      b = ::getcwd(buf, sizeof buf) ? buf : "/";
    }
    full = b + "/" + path;
  }
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= full.size()) {
    size_t j = full.find('/', i);
    if (j == std::string::npos) j = full.size();
    std::string part = full.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string AuditLogPath(const std::string& log_setting, const std::string& state_dir) {
  return AbsolutePath(log_setting.empty() ? "audit.log" : log_setting, state_dir);
}

}  // namespace hive
