// hive-run bundle init --template python|busybox [--force] DIR
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "cli/commands.h"
#include "cli/run_options.h"
#include "hive/state_dir.h"

namespace hive::cli {
namespace {

namespace fs = std::filesystem;

nlohmann::json BaseConfig(std::vector<std::string> args) {
  using nlohmann::json;
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"}},
        {"cwd", "/"},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "hive"},
      {"mounts", json::array()},
      {"linux",
       {{"namespaces",
         {{{"type", "user"}}, {{"type", "mount"}}, {{"type", "pid"}}, {{"type", "network"}},
          {{"type", "uts"}}, {{"type", "ipc"}}, {{"type", "cgroup"}}}}}}};
}

Status WriteEtc(const std::string& rootfs) {
  HIVE_TRY(EnsureDir(rootfs + "/etc", 0755));
  HIVE_TRY(WriteFileAtomic(rootfs + "/etc/passwd",
                           "root:x:0:0:root:/root:/bin/sh\n"
                           "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
  HIVE_TRY(WriteFileAtomic(rootfs + "/etc/group", "root:x:0:\nnogroup:x:65534:\n"));
  HIVE_TRY(WriteFileAtomic(rootfs + "/etc/hosts", "127.0.0.1 localhost hive\n::1 localhost\n"));
  // Empty: a run whose policy allows domains binds its resolver's over it.
  HIVE_TRY(WriteFileAtomic(rootfs + "/etc/resolv.conf", ""));
  return Ok();
}

Status Symlink(const std::string& target, const std::string& link) {
  std::error_code ec;
  fs::remove(link, ec);
  if (symlink(target.c_str(), link.c_str()) != 0) return Errno(fmt::format("symlink `{}`", link));
  return Ok();
}

Status PythonTemplate(const std::string& dir) {
  const std::string rootfs = dir + "/rootfs";
  HIVE_TRY(WriteEtc(rootfs));
  // The host's /usr is bound read-only; the usr-merge links point into it.
  HIVE_TRY(EnsureDir(rootfs + "/usr", 0755));
  for (const char* d : {"bin", "sbin", "lib", "lib64"}) {
    HIVE_TRY(Symlink(std::string("usr/") + d, rootfs + "/" + d));
  }
  HIVE_TRY(EnsureDir(rootfs + "/etc/alternatives", 0755));
  HIVE_TRY(WriteFileAtomic(rootfs + "/etc/ld.so.cache", ""));
  nlohmann::json c = BaseConfig({"python3"});
  c["process"]["env"].push_back("PYTHONDONTWRITEBYTECODE=1");
  c["mounts"] = {
      {{"destination", "/usr"}, {"type", "bind"}, {"source", "/usr"},
       {"options", {"rbind", "ro", "nosuid", "nodev"}}},
      {{"destination", "/etc/alternatives"}, {"type", "bind"}, {"source", "/etc/alternatives"},
       {"options", {"rbind", "ro"}}},
      {{"destination", "/etc/ld.so.cache"}, {"type", "bind"}, {"source", "/etc/ld.so.cache"},
       {"options", {"bind", "ro"}}}};
  return WriteFileAtomic(dir + "/config.json", c.dump(2) + "\n");
}

Status BusyboxTemplate(const std::string& dir) {
  const char* busybox = "/bin/busybox";
  if (access(busybox, X_OK) != 0) {
    return Error(Code::kNotFound,
                 "the busybox template needs /bin/busybox: apt-get install busybox-static");
  }
  const std::string rootfs = dir + "/rootfs";
  HIVE_TRY(WriteEtc(rootfs));
  HIVE_TRY(EnsureDir(rootfs + "/bin", 0755));
  std::error_code ec;
  fs::copy_file(busybox, rootfs + "/bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return Error(Code::kInternal, fmt::format("copy `{}`: {}", busybox, ec.message()));
  chmod((rootfs + "/bin/busybox").c_str(), 0755);
  // One link per applet, as `busybox --install -s` would make, without running it as root.
  FILE* list = popen("/bin/busybox --list", "r");
  if (!list) return Errno("busybox --list");
  char name[128];
  while (fgets(name, sizeof name, list)) {
    std::string n(name);
    while (!n.empty() && n.back() == '\n') n.pop_back();
    if (n.empty() || n == "busybox" || n.find('/') != std::string::npos) continue;
    HIVE_TRY(Symlink("busybox", rootfs + "/bin/" + n));
  }
  pclose(list);
  return WriteFileAtomic(dir + "/config.json", BaseConfig({"sh"}).dump(2) + "\n");
}

}  // namespace

int BundleCommand(int argc, char** argv) {
  constexpr const char* kUsage =
      "bundle: usage: hive-run bundle init --template python|busybox [--force] DIR";
  if (argc < 2 || std::string_view(argv[1]) != "init") return Fail(kUsage);
  std::string tmpl, dir;
  bool force = false;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--template" && i + 1 < argc) tmpl = argv[++i];
    else if (a.substr(0, 11) == "--template=") tmpl = std::string(a.substr(11));
    else if (a == "--force") force = true;
    else if (a[0] != '-' && dir.empty()) dir = a;
    else return Fail(kUsage);
  }
  if (dir.empty() || tmpl.empty()) return Fail(kUsage);
  if (tmpl != "python" && tmpl != "busybox") {
    return Fail(fmt::format("bundle init: --template: unknown template `{}` (python, busybox)", tmpl));
  }
  dir = AbsolutePath(dir, "");
  if (!force && access((dir + "/config.json").c_str(), F_OK) == 0) {
    return Fail(fmt::format("bundle init: `{}/config.json` exists (use --force to replace it)", dir));
  }
  if (Status s = EnsureDir(dir, 0755); !s.ok()) return Fail("bundle init: " + s.message());
  Status s = tmpl == "python" ? PythonTemplate(dir) : BusyboxTemplate(dir);
  if (!s.ok()) return Fail("bundle init: " + s.message());
  std::printf("%s: %s bundle ready (hive-run %s)\n", dir.c_str(), tmpl.c_str(), dir.c_str());
  return 0;
}

}  // namespace hive::cli
