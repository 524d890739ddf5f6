#include "sandbox/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/files.h"

namespace hive::ns {
namespace {

std::string MapText(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const IdMapping& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

}  // namespace

std::vector<IdMapping> DefaultMappings() { return {{0, kHostIdBase, kHostIdCount}}; }

Status WriteIdMaps(pid_t pid, const std::vector<IdMapping>& uid_maps,
                   const std::vector<IdMapping>& gid_maps) {
  const std::string dir = fmt::format("/proc/{}/", pid);
  HIVE_TRY(WriteControlFile(dir + "uid_map", MapText(uid_maps)));
  HIVE_TRY(WriteControlFile(dir + "gid_map", MapText(gid_maps)));
  return Ok();
}

Result<UniqueFd> IdmapUserns(uid_t owner_uid, gid_t owner_gid, uint32_t sandbox_root_host_uid,
                             uint32_t sandbox_root_host_gid) {
  return MappingUserns({{owner_uid, sandbox_root_host_uid, 1}},
                       {{owner_gid, sandbox_root_host_gid, 1}});
}

Result<UniqueFd> MappingUserns(const std::vector<IdMapping>& uid_maps,
                               const std::vector<IdMapping>& gid_maps) {
  // A user namespace only exists while something is in it (or holds its fd): a short-lived
  // child unshares, we map it and take its namespace fd, then it exits.
  int ready[2], done[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return Errno("pipe2");
  if (pipe2(done, O_CLOEXEC) != 0) {
    close(ready[0]);
    close(ready[1]);
    return Errno("pipe2");
  }
  pid_t pid = fork();
  if (pid < 0) return Errno("fork idmap helper");
  if (pid == 0) {
    // Only our ends stay open here: with the parent's write end of `done` open, the read
    // below would never see EOF and the parent would wait for us forever.
    close(ready[0]);
    close(done[1]);
    char c = unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
    if (write(ready[1], &c, 1) != 1) _exit(1);
    if (read(done[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  close(ready[1]);
  close(done[0]);
  UniqueFd done_w(done[1]);
  char c = 0;
  ssize_t n = read(ready[0], &c, 1);
  close(ready[0]);
  Status st;
  UniqueFd fd;
  if (n != 1 || c != 1) {
    st = Error(Code::kUnsupported, "idmap helper: unshare(CLONE_NEWUSER) failed");
  } else {
    st = WriteIdMaps(pid, uid_maps, gid_maps);
    if (st.ok()) {
      fd.Reset(open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) st = Errno("open idmap helper's user namespace");
    }
  }
  done_w.Reset();
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!st.ok()) return st;
  return fd;
}

}  // namespace hive::ns
