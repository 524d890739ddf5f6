// A private directory for one unit test, removed with everything in it when dropped.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace hive::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hive-unit-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
    ::chmod(path_.c_str(), 0755);  // mkdtemp's 0700 would hide it from other users
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `text` to path()/rel with `mode`; returns the full path.
  std::string Write(const std::string& rel, const std::string& text, mode_t mode = 0644) const {
    std::string p = path_ + "/" + rel;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
  std::string Dir(const std::string& rel, mode_t mode) const {
    std::string p = path_ + "/" + rel;
    ::mkdir(p.c_str(), mode);
    ::chmod(p.c_str(), mode);  // mkdir's mode passes through the umask
    return p;
  }

 private:
  std::string path_;
};

}  // namespace hive::testing
