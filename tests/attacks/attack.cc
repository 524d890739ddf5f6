// attack: hostile probes run inside a hive-run sandbox, one per invocation.
//
//   attack list                 every probe as JSON: name, category, what it tries, the
//                               denials the report must record, the layers meant to stop it
//   attack PROBE [--dir D] [--pid N] [--port P] [--abstract NAME] [--secret FILE]
//                [--fd N] [--token T]
//
// A probe makes the attempt an attacker would make and, when that is stopped silently (a
// read-only mount, a missing file), the next step an attacker would take (remount, umount,
// setns, ...), which the policy denies and the supervisor records. It prints one JSON line
// {"probe", "contained", "steps": [{"call", "result"}], "note"?} and exits 0 when contained,
// 1 when something got through, 2 on usage errors.
//
// Every probe is harmless on the host if it gets through: arguments are chosen so that a
// call reaching the kernel fails (a nonexistent path, an invalid flag, fd -1), writes are
// never made to a file opened by mistake, signals are signal 0, keys go to the process
// keyring, and anything created is removed. The victims of the blocked-operation probes
// live in the --dir the test made for them.
//
// Static, and deliberately free of hive-run code: it must run in any rootfs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

// Syscalls and constants newer than some build hosts' headers.
constexpr long kSysFchmodat2 = 452;
constexpr unsigned kOpenTreeClone = 1;
constexpr unsigned kMoveMountFEmptyPath = 0x4;
constexpr unsigned kFsopenCloexec = 0x1;
constexpr unsigned long kX32Bit = 0x40000000;
constexpr int kRenameNoReplace = 1;
constexpr int kRenameExchange = 2;
constexpr int kFallocPunchHole = 0x02;
constexpr int kFallocKeepSize = 0x01;

struct Args {
  std::string dir;       // writable directory holding the victims
  long pid = -1;         // a process of the host (the test's sleeper)
  int port = 0;          // a TCP listener on the host's 127.0.0.1
  std::string abstract;  // an abstract unix socket of the host
  std::string secret;    // a host file the sandbox must not read
  int fd = -1;           // a descriptor the host passed to hive-run
  std::string token;     // a value in hive-run's environment
};

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string ErrnoName(int e) {
  switch (e) {
    case 0:
      return "ok";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EINTR:
      return "EINTR";
    case EIO:
      return "EIO";
    case EBADF:
      return "EBADF";
    case ECHILD:
      return "ECHILD";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case EINVAL:
      return "EINVAL";
    case ETXTBSY:
      return "ETXTBSY";
    case EROFS:
      return "EROFS";
    case ENOSYS:
      return "ENOSYS";
    case ENOTTY:
      return "ENOTTY";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case ENODATA:
      return "ENODATA";
    default:
      return "errno " + std::to_string(e);
  }
}

// The record of one probe: each step either failed (good) or got through.
class Run {
 public:
  explicit Run(const char* name) : name_(name) {}

  // `rc` is a syscall's return value: negative = refused (errno), else it got through.
  long Step(const std::string& call, long rc) {
    int err = rc < 0 ? errno : 0;
    Add(call, rc < 0 ? ErrnoName(err) : "succeeded", rc >= 0);
    errno = err;
    return rc;
  }
  // A preparatory call: its result is reported, but getting through is no escape by itself.
  long Attempt(const std::string& call, long rc) {
    int err = rc < 0 ? errno : 0;
    Add(call, rc < 0 ? ErrnoName(err) : "succeeded", false);
    errno = err;
    return rc;
  }
  // A condition that must hold for the sandbox to be intact.
  void Check(const std::string& what, bool intact, const std::string& detail) {
    Add(what, detail, !intact);
  }
  void Note(const std::string& note) { note_ = note; }
  bool contained() const { return escaped_.empty(); }

  int Finish() const {
    std::string out = "{\"probe\":" + Json(name_) +
                      ",\"contained\":" + (contained() ? "true" : "false") + ",\"steps\":[" +
                      steps_ + "]";
    if (!note_.empty()) out += ",\"note\":" + Json(note_);
    if (!escaped_.empty()) out += ",\"escaped\":" + Json(escaped_);
    std::printf("%s}\n", out.c_str());
    return contained() ? 0 : 1;
  }

 private:
  void Add(const std::string& call, const std::string& result, bool escaped) {
    if (!steps_.empty()) steps_ += ",";
    steps_ += "{\"call\":" + Json(call) + ",\"result\":" + Json(result) + "}";
    if (escaped && escaped_.empty()) escaped_ = call + ": " + result;
  }
  std::string name_, steps_, note_, escaped_;
};

// Opens `path` for writing; a descriptor that opens is closed without writing a byte.
void TryWriteOpen(Run& r, const std::string& path, int flags = O_WRONLY) {
  long fd = r.Step("open " + path + " for writing", open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (fd >= 0) {
    close(static_cast<int>(fd));
    if (flags & O_CREAT) unlink(path.c_str());
  }
}

void Remount(Run& r, const std::string& target) {
  r.Step("mount -o remount,bind,rw " + target,
         syscall(SYS_mount, nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr));
}

void Umount(Run& r, const std::string& target) {
  r.Step("umount2 " + target, syscall(SYS_umount2, target.c_str(), MNT_DETACH));
}

void SetnsInto(Run& r, const std::string& ns_file, int type) {
  int fd = open(ns_file.c_str(), O_RDONLY | O_CLOEXEC);
  r.Step("setns " + ns_file, syscall(SYS_setns, fd, type));
  if (fd >= 0) close(fd);
}

// Mounts `type` on a fresh directory under /tmp; whatever got mounted is taken down again.
void TryMount(Run& r, const char* type, const char* source, unsigned long flags = 0,
              const char* data = nullptr) {
  std::string target = std::string("/tmp/hive-attack-") + type;
  mkdir(target.c_str(), 0700);
  std::string what = std::string("mount ") + type + (data ? std::string(" (") + data + ")" : "");
  if (r.Step(what + " on " + target,
             syscall(SYS_mount, source, target.c_str(), type, flags, data)) == 0) {
    umount2(target.c_str(), MNT_DETACH);
  }
  rmdir(target.c_str());
}

std::string StatusField(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return "";
  char line[256];
  std::string out;
  size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      out = line + n + 1;
      while (!out.empty() && (out[0] == ' ' || out[0] == '\t')) out.erase(0, 1);
      while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    }
  }
  std::fclose(f);
  return out;
}

// ---------------------------------------------------------------------------------------
// The probes.

void HostSecretPath(Run& r, const Args& a) {
  std::string secret = a.secret.empty() ? "/etc/shadow" : a.secret;
  long fd = r.Step("open host file " + secret, open(secret.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd >= 0) close(static_cast<int>(fd));
  // The classic chroot break-out: chroot into a subdirectory, walk up, chroot again.
  mkdir("/tmp/hive-attack-chroot", 0700);
  r.Step("chroot /tmp/hive-attack-chroot", syscall(SYS_chroot, "/tmp/hive-attack-chroot"));
  rmdir("/tmp/hive-attack-chroot");
}

void OpenByHandle(Run& r, const Args&) {
  // "shocker": forge a handle for inode 2 (an ext4 root) and open it relative to any mount.
  alignas(file_handle) unsigned char buf[sizeof(file_handle) + 64] = {};
  auto* fh = reinterpret_cast<file_handle*>(buf);
  int mount_id = 0;
  fh->handle_bytes = 64;
  r.Attempt("name_to_handle_at /", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", fh, &mount_id, 0));
  fh->handle_bytes = 8;
  fh->handle_type = 1;
  uint32_t ino_gen[2] = {2, 0};
  std::memcpy(buf + sizeof(file_handle), ino_gen, sizeof ino_gen);
  int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  long fd = r.Step("open_by_handle_at inode 2", syscall(SYS_open_by_handle_at, root, fh, O_RDONLY));
  if (fd >= 0) close(static_cast<int>(fd));
  if (root >= 0) close(root);
}

void WriteSystemDir(Run& r, const std::string& dir) {
  std::string name = "hive-attack-" + std::to_string(getpid());
  TryWriteOpen(r, dir == "/" ? "/" + name : dir + "/" + name, O_WRONLY | O_CREAT | O_EXCL);
  Remount(r, dir);
}
void WriteEtc(Run& r, const Args&) { WriteSystemDir(r, "/etc"); }
void WriteUsr(Run& r, const Args&) { WriteSystemDir(r, "/usr/bin"); }
void WriteRoot(Run& r, const Args&) { WriteSystemDir(r, "/"); }

void MountTmpfs(Run& r, const Args&) { TryMount(r, "tmpfs", "tmpfs"); }

void UmountProbe(Run& r, const Args&) { Umount(r, "/hive-attack-not-a-mount"); }

void BindMountRoot(Run& r, const Args&) {
  // The type is ignored for a bind; it only names the target directory.
  TryMount(r, "bind", "/", MS_BIND | MS_REC);
}

void ChrootProbe(Run& r, const Args&) { r.Step("chroot /tmp", syscall(SYS_chroot, "/tmp")); }

void PivotRoot(Run& r, const Args&) {
  r.Step("pivot_root (nonexistent paths)",
         syscall(SYS_pivot_root, "/hive-attack-new-root", "/hive-attack-put-old"));
}

void Fsopen(Run& r, const Args&) {
  long fd = r.Step("fsopen tmpfs", syscall(SYS_fsopen, "tmpfs", kFsopenCloexec));
  if (fd >= 0) close(static_cast<int>(fd));
}

void OpenTree(Run& r, const Args&) {
  long fd = r.Step("open_tree / OPEN_TREE_CLONE",
                   syscall(SYS_open_tree, AT_FDCWD, "/", kOpenTreeClone | O_CLOEXEC));
  if (fd >= 0) close(static_cast<int>(fd));
}

void MoveMount(Run& r, const Args&) {
  r.Step(
      "move_mount fd -1 to /hive-attack-nonexistent",
      syscall(SYS_move_mount, -1, "", AT_FDCWD, "/hive-attack-nonexistent", kMoveMountFEmptyPath));
}

void UnshareProbe(Run& r, int flag, const char* what) {
  r.Step(std::string("unshare ") + what, syscall(SYS_unshare, flag));
}
void UnshareUser(Run& r, const Args&) { UnshareProbe(r, CLONE_NEWUSER, "CLONE_NEWUSER"); }
void UnshareMount(Run& r, const Args&) { UnshareProbe(r, CLONE_NEWNS, "CLONE_NEWNS"); }
void UnshareNet(Run& r, const Args&) { UnshareProbe(r, CLONE_NEWNET, "CLONE_NEWNET"); }

long RawClone(unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return pid;
}

void CloneNewUser(Run& r, const Args&) { r.Step("clone CLONE_NEWUSER", RawClone(CLONE_NEWUSER)); }

void Clone3NewPid(Run& r, const Args&) {
  // clone3's flags are in memory a filter cannot read: hive-run answers ENOSYS, and a caller
  // falls back to clone, whose flags it can read.
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args{};
  args.flags = CLONE_NEWPID;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  r.Step("clone3 CLONE_NEWPID", pid);
  r.Step("clone CLONE_NEWPID (fallback)", RawClone(CLONE_NEWPID));
}

void Setns(Run& r, const Args&) { SetnsInto(r, "/proc/self/ns/net", CLONE_NEWNET); }

void PtraceHost(Run& r, const Args& a) {
  if (r.Step("ptrace attach to host pid " + std::to_string(a.pid),
             syscall(SYS_ptrace, PTRACE_ATTACH, a.pid, nullptr, nullptr)) == 0) {
    syscall(SYS_ptrace, PTRACE_DETACH, a.pid, nullptr, nullptr);
  }
}

void ProcessVmRead(Run& r, const Args& a) {
  char buf[16];
  iovec local{buf, sizeof buf};
  iovec remote{reinterpret_cast<void*>(0x400000), sizeof buf};
  r.Step("process_vm_readv host pid " + std::to_string(a.pid),
         syscall(SYS_process_vm_readv, a.pid, &local, 1, &remote, 1, 0));
}

void ProcessVmWrite(Run& r, const Args&) {
  // Into our own buffer: harmless whether or not it is allowed.
  char src[8] = "hive", dst[8] = {};
  iovec local{src, sizeof src};
  iovec remote{dst, sizeof dst};
  r.Step("process_vm_writev", syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0));
}

void KillHost(Run& r, const Args& a) {
  r.Step("kill -0 host pid " + std::to_string(a.pid), kill(static_cast<pid_t>(a.pid), 0));
  long pidfd = r.Step("pidfd_open host pid", syscall(SYS_pidfd_open, a.pid, 0));
  if (pidfd >= 0) close(static_cast<int>(pidfd));
  SetnsInto(r, "/proc/1/ns/pid", CLONE_NEWPID);
}

void StealFd(Run& r, const Args&) {
  long pidfd = syscall(SYS_pidfd_open, 1, 0);
  for (int target = 0; target < 8; ++target) {
    long fd = syscall(SYS_pidfd_getfd, pidfd, target, 0);
    if (target == 0 || fd >= 0) {
      r.Step("pidfd_getfd pid 1 fd " + std::to_string(target), fd);
    }
    if (fd >= 0) close(static_cast<int>(fd));
  }
  if (pidfd >= 0) close(static_cast<int>(pidfd));
}

void TcpHostLoopback(Run& r, const Args& a) {
  long s = r.Attempt("socket AF_INET", socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s < 0) return;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(a.port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  r.Step("connect 127.0.0.1:" + std::to_string(a.port),
         connect(static_cast<int>(s), reinterpret_cast<sockaddr*>(&sin), sizeof sin));
  close(static_cast<int>(s));
}

void TcpListen(Run& r, const Args&) {
  long s = r.Attempt("socket AF_INET6", socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s < 0) return;
  sockaddr_in6 sin{};
  sin.sin6_family = AF_INET6;
  r.Step("bind [::]:0", bind(static_cast<int>(s), reinterpret_cast<sockaddr*>(&sin), sizeof sin));
  close(static_cast<int>(s));
}

void RawSocket(Run& r, const Args&) {
  long s = r.Step("socket AF_INET SOCK_RAW ICMP",
                  socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (s >= 0) close(static_cast<int>(s));
}

void PacketSocket(Run& r, const Args&) {
  long s = r.Step("socket AF_PACKET SOCK_RAW",
                  socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  if (s >= 0) close(static_cast<int>(s));
}

void AbstractHostSocket(Run& r, const Args& a) {
  long s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::string name = a.abstract.empty() ? "hive-attack-none" : a.abstract;
    std::memcpy(sun.sun_path + 1, name.data(), std::min(name.size(), sizeof sun.sun_path - 1));
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    r.Step("connect abstract @" + name,
           connect(static_cast<int>(s), reinterpret_cast<sockaddr*>(&sun), len));
    close(static_cast<int>(s));
  }
  SetnsInto(r, "/proc/1/ns/net", CLONE_NEWNET);
}

void Capabilities(Run& r, const Args&) {
  for (const char* f : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    std::string v = StatusField(f);
    r.Check(std::string(f) + " is empty", v == "0000000000000000", v);
  }
  struct {
    uint32_t version;
    int pid;
  } hdr{0x20080522, 0};
  struct {
    uint32_t effective, permitted, inheritable;
  } data[2];
  std::memset(data, 0xff, sizeof data);
  r.Step("capset all", syscall(SYS_capset, &hdr, data));
}

void NoNewPrivs(Run& r, const Args&) {
  std::string v = StatusField("NoNewPrivs");
  r.Check("NoNewPrivs is set", v == "1", v);
  // no_new_privs stops setuid binaries; a new user namespace is the other way to capabilities.
  UnshareProbe(r, CLONE_NEWUSER, "CLONE_NEWUSER for capabilities");
}

void SeccompStatus(Run& r, const Args&) {
  std::string mode = StatusField("Seccomp");
  r.Check("Seccomp mode is filter", mode == "2", mode);
  // Tracers could rewrite syscalls after the filter ran (before Linux 4.8): no ptrace.
  if (r.Step("ptrace TRACEME", syscall(SYS_ptrace, PTRACE_TRACEME, 0, nullptr, nullptr)) == 0) {
    r.Note("now traced by the parent");
  }
}

void Bpf(Run& r, const Args&) {
  bpf_attr attr{};
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = r.Step("bpf BPF_MAP_CREATE", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
  if (fd >= 0) close(static_cast<int>(fd));
}

void Perf(Run& r, const Args&) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  long fd = r.Step("perf_event_open cpu-clock on self",
                   syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  if (fd >= 0) close(static_cast<int>(fd));
}

void Keyctl(Run& r, const Args&) {
  constexpr long kGetKeyringId = 0, kSessionKeyring = -3;
  r.Step("keyctl GET_KEYRING_ID session", syscall(SYS_keyctl, kGetKeyringId, kSessionKeyring, 0));
}

void AddKey(Run& r, const Args&) {
  constexpr long kProcessKeyring = -2;
  r.Step("add_key user to the process keyring",
         syscall(SYS_add_key, "user", "hive-attack", "x", 1, kProcessKeyring));
  r.Step("request_key user hive-attack-none",
         syscall(SYS_request_key, "user", "hive-attack-none", nullptr, 0));
}

void IoUring(Run& r, const Args&) {
  io_uring_params p{};
  long fd = r.Step("io_uring_setup", syscall(SYS_io_uring_setup, 1, &p));
  if (fd >= 0) close(static_cast<int>(fd));
}

void Userfaultfd(Run& r, const Args&) {
  long fd = r.Step("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC));
  if (fd >= 0) close(static_cast<int>(fd));
}

void Kexec(Run& r, const Args&) {
  // Invalid flags: a call that reached the kernel would fail with EINVAL, loading nothing.
  r.Step("kexec_load (invalid flags)", syscall(SYS_kexec_load, 0, 0, nullptr, 0xdead0000UL));
  r.Step("kexec_file_load (invalid fds)",
         syscall(SYS_kexec_file_load, -1, -1, 0, "", 0xdead0000UL));
}

void KernelModule(Run& r, const Args&) {
  r.Step("init_module (empty image)", syscall(SYS_init_module, nullptr, 0, ""));
  r.Step("finit_module fd -1", syscall(SYS_finit_module, -1, "", 0));
  r.Step("delete_module hive_attack_none",
         syscall(SYS_delete_module, "hive_attack_none", O_NONBLOCK));
}

void Personality(Run& r, const Args&) {
  long old = personality(0xffffffff);
  if (r.Step("personality ADDR_NO_RANDOMIZE", syscall(SYS_personality, ADDR_NO_RANDOMIZE)) >= 0) {
    personality(static_cast<unsigned long>(old));
  }
}

void Reboot(Run& r, const Args&) {
  // Right magic, invalid command: EINVAL if it ever reached the kernel.
  r.Step("reboot (invalid command)",
         syscall(SYS_reboot, 0xfee1deadUL, 672274793UL, 0x12345678UL, nullptr));
}

void Swapon(Run& r, const Args&) {
  r.Step("swapon /hive-attack-none", syscall(SYS_swapon, "/hive-attack-none", 0));
}

void ClockSettime(Run& r, const Args&) {
  timespec ts{};
  r.Step("clock_settime (invalid clock)", syscall(SYS_clock_settime, -1, &ts));
}

void Iopl(Run& r, const Args&) {
#if defined(__x86_64__)
  r.Step("iopl 3", syscall(SYS_iopl, 3));
  r.Step("ioperm 0x80", syscall(SYS_ioperm, 0x80, 1, 1));
#else
  r.Note("no I/O ports on this architecture");
  r.Step("iopl (absent)", -1);
#endif
}

void Syslog(Run& r, const Args&) {
  constexpr int kSizeBuffer = 10;  // read-only: the size of the kernel log buffer
  r.Step("syslog SIZE_BUFFER", syscall(SYS_syslog, kSizeBuffer, nullptr, 0));
}

void Acct(Run& r, const Args&) {
  r.Step("acct /hive-attack-none", syscall(SYS_acct, "/hive-attack-none"));
}

void Sethostname(Run& r, const Args&) {
  // Longer than HOST_NAME_MAX: EINVAL if it reached the kernel.
  std::string name(100, 'h');
  r.Step("sethostname (too long)", syscall(SYS_sethostname, name.c_str(), name.size()));
}

void Tiocsti(Run& r, const Args&) {
  // fd -1: a call that got through would fail with EBADF, never type into a terminal.
  char c = '#';
  r.Step("ioctl TIOCSTI fd -1", syscall(SYS_ioctl, -1, TIOCSTI, &c));
  r.Step("ioctl TIOCSTI with high bits set", syscall(SYS_ioctl, -1, 0x100000000UL | TIOCSTI, &c));
}

void X32(Run& r, const Args&) { r.Step("x32 getpid", syscall(kX32Bit | SYS_getpid)); }

void I386(Run& r, const Args&) {
#if defined(__x86_64__)
  // In a child: a kernel without ia32 emulation kills int $0x80 with SIGSEGV before any filter.
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
    _exit(write(fds[1], &ret, sizeof ret) == sizeof ret ? 0 : 1);
  }
  close(fds[1]);
  long ret = 0;
  bool got = read(fds[0], &ret, sizeof ret) == sizeof ret;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!got && WIFSIGNALED(status)) {
    r.Check("i386 getpid (int $0x80)", true,
            "killed by signal " + std::to_string(WTERMSIG(status)));
    r.Note("unrecordable: this kernel has no i386 entry; int $0x80 faults before any filter runs");
    return;
  }
  if (ret < 0) errno = static_cast<int>(-ret);
  r.Step("i386 getpid (int $0x80)", ret);
#else
  r.Note("unrecordable: not an x86-64 machine");
  r.Check("i386 ABI", true, "absent");
#endif
}

void ProcSysWrite(Run& r, const Args&) {
  TryWriteOpen(r, "/proc/sys/kernel/printk_ratelimit");
  Umount(r, "/proc/sys");
}

void CorePattern(Run& r, const Args&) {
  TryWriteOpen(r, "/proc/sys/kernel/core_pattern");
  // A fresh procfs has a writable /proc/sys where the sandbox's is read-only.
  TryMount(r, "proc", "proc");
}

void SysrqTrigger(Run& r, const Args&) {
  int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    r.Step("open /proc/sysrq-trigger for writing", -1);
  } else {
    // Masked paths are bind mounts of /dev/null or an empty file: opening one is harmless.
    struct stat st {};
    fstat(fd, &st);
    bool masked =
        S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0 && major(st.st_dev) != 0);
    struct stat proc {};
    stat("/proc/self", &proc);
    masked = masked || st.st_dev != proc.st_dev;
    r.Check("open /proc/sysrq-trigger for writing", masked,
            masked ? "opened a mask" : "opened the real file");
    close(fd);
  }
  Umount(r, "/proc/sysrq-trigger");
}

void ProcKcore(Run& r, const Args&) {
  int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.Step("open /proc/kcore", -1);
  } else {
    char buf[16];
    ssize_t n = read(fd, buf, sizeof buf);
    r.Check("read /proc/kcore", n <= 0, n > 0 ? "read kernel memory" : "nothing to read (masked)");
    close(fd);
  }
  Umount(r, "/proc/kcore");
}

void SysWrite(Run& r, const Args&) {
  TryWriteOpen(r, "/sys/kernel/mm/ksm/run");
  TryMount(r, "sysfs", "sysfs");
}

void CgroupEscape(Run& r, const Args&) {
  TryWriteOpen(r, "/sys/fs/cgroup/cgroup.procs");
  TryMount(r, "cgroup2", "none");
}

void ReleaseAgent(Run& r, const Args&) {
  // The cgroup v1 release_agent escape starts with mounting a v1 hierarchy.
  TryMount(r, "cgroup", "cgroup", 0, "rdma");
}

void MknodDevice(Run& r, const Args&) {
  const char* path = "/tmp/hive-attack-sda";
  if (r.Step("mknod block 8:0", syscall(SYS_mknod, path, S_IFBLK | 0600, makedev(8, 0))) == 0) {
    unlink(path);
  }
}

void DevMem(Run& r, const Args&) {
  for (const char* dev : {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda"}) {
    long fd = r.Step(std::string("open ") + dev, open(dev, O_RDONLY | O_CLOEXEC));
    if (fd >= 0) close(static_cast<int>(fd));
  }
  const char* path = "/tmp/hive-attack-mem";
  if (r.Step("mknod char 1:1 (mem)", syscall(SYS_mknod, path, S_IFCHR | 0600, makedev(1, 1))) ==
      0) {
    unlink(path);
  }
}

void InheritedFds(Run& r, const Args& a) {
  std::string open_fds;
  for (int fd = 3; fd < 1024; ++fd) {
    struct stat st {};
    if (fstat(fd, &st) == 0) open_fds += (open_fds.empty() ? "" : ",") + std::to_string(fd);
  }
  r.Check("no descriptors beyond 0-2", open_fds.empty(), open_fds.empty() ? "none" : open_fds);
  if (a.fd >= 0) {
    struct stat st {};
    r.Check("host descriptor " + std::to_string(a.fd) + " closed", fstat(a.fd, &st) != 0,
            fstat(a.fd, &st) != 0 ? "EBADF" : "open");
  }
  // Steal one from another process instead.
  long pidfd = syscall(SYS_pidfd_open, 1, 0);
  long fd = r.Step("pidfd_getfd pid 1 fd 1", syscall(SYS_pidfd_getfd, pidfd, 1, 0));
  if (fd >= 0) close(static_cast<int>(fd));
  if (pidfd >= 0) close(static_cast<int>(pidfd));
}

void HostEnvironment(Run& r, const Args& a) {
  std::string found;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if ((!a.token.empty() && kv.find(a.token) != std::string::npos) ||
        kv.rfind("HIVE_ATTACK_", 0) == 0 || kv.rfind("SUDO_", 0) == 0 || kv.rfind("SSH_", 0) == 0) {
      found += (found.empty() ? "" : " ") + kv.substr(0, kv.find('='));
    }
  }
  r.Check("no host variables in the environment", found.empty(), found.empty() ? "clean" : found);
  // Read the supervisor's memory instead (its environment lives there).
  char buf[64];
  iovec local{buf, sizeof buf};
  iovec remote{reinterpret_cast<void*>(0x400000), sizeof buf};
  r.Step("process_vm_readv pid 1", syscall(SYS_process_vm_readv, 1, &local, 1, &remote, 1, 0));
}

void OverwriteSelfExe(Run& r, const Args&) {
  TryWriteOpen(r, "/proc/self/exe");
  char exe[4096] = {};
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string target = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "/proc/self/exe";
  Remount(r, target);
}

// ---- blocked operations, against victims in --dir ----

std::string In(const Args& a, const char* name) { return a.dir + "/" + name; }

void BlockedUnlink(Run& r, const Args& a) {
  r.Step("unlink victim", syscall(SYS_unlink, In(a, "victim").c_str()));
}
void BlockedUnlinkat(Run& r, const Args& a) {
  r.Step("unlinkat victim", syscall(SYS_unlinkat, AT_FDCWD, In(a, "victim").c_str(), 0));
}
void BlockedRmdir(Run& r, const Args& a) {
  r.Step("rmdir victim-dir", syscall(SYS_rmdir, In(a, "victim-dir").c_str()));
}
void BlockedChmod(Run& r, const Args& a) {
  r.Step("chmod victim 0777", syscall(SYS_chmod, In(a, "victim").c_str(), 0777));
  r.Step("fchmodat2 victim 0777",
         syscall(kSysFchmodat2, AT_FDCWD, In(a, "victim").c_str(), 0777, 0));
}
void BlockedChown(Run& r, const Args& a) {
  r.Step("chown victim 1:1", syscall(SYS_chown, In(a, "victim").c_str(), 1, 1));
}
void BlockedRename(Run& r, const Args& a) {
  r.Step("rename victim -> renamed",
         syscall(SYS_rename, In(a, "victim").c_str(), In(a, "renamed").c_str()));
}
void BlockedLink(Run& r, const Args& a) {
  r.Step("link victim -> hardlink",
         syscall(SYS_link, In(a, "victim").c_str(), In(a, "hardlink").c_str()));
}
void BlockedMknod(Run& r, const Args& a) {
  r.Step("mknod fifo", syscall(SYS_mknod, In(a, "fifo").c_str(), S_IFIFO | 0600, 0));
}
void BlockedTruncate(Run& r, const Args& a) {
  r.Step("truncate victim 0", syscall(SYS_truncate, In(a, "victim").c_str(), 0));
  long fd =
      r.Step("open victim O_TRUNC", open(In(a, "victim").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (fd >= 0) close(static_cast<int>(fd));
}
void BlockedFallocate(Run& r, const Args& a) {
  int fd = open(In(a, "victim").c_str(), O_WRONLY | O_CLOEXEC);
  r.Step("fallocate PUNCH_HOLE victim",
         syscall(SYS_fallocate, fd, kFallocPunchHole | kFallocKeepSize, 0, 4));
  if (fd >= 0) close(fd);
}
void BlockedXattr(Run& r, const Args& a) {
  r.Step("setxattr user.hive victim",
         syscall(SYS_setxattr, In(a, "victim").c_str(), "user.hive", "x", 1, 0));
  r.Step("removexattr user.hive victim",
         syscall(SYS_removexattr, In(a, "victim").c_str(), "user.hive"));
}
void RenameOver(Run& r, const Args& a) {
  // Replacing a file deletes its content as surely as unlink does.
  r.Step("rename decoy over victim",
         syscall(SYS_rename, In(a, "decoy").c_str(), In(a, "victim").c_str()));
  r.Step("renameat2 decoy over victim", syscall(SYS_renameat2, AT_FDCWD, In(a, "decoy").c_str(),
                                                AT_FDCWD, In(a, "victim").c_str(), 0));
  r.Step("renameat2 RENAME_EXCHANGE decoy victim",
         syscall(SYS_renameat2, AT_FDCWD, In(a, "decoy").c_str(), AT_FDCWD, In(a, "victim").c_str(),
                 kRenameExchange));
  // NOREPLACE cannot replace; it still moves the file out of its directory, which
  // Landlock counts as a removal.
  r.Step("renameat2 RENAME_NOREPLACE decoy -> moved",
         syscall(SYS_renameat2, AT_FDCWD, In(a, "decoy").c_str(), AT_FDCWD, In(a, "moved").c_str(),
                 kRenameNoReplace));
}

void Noop(Run& r, const Args&) { r.Check("nothing attempted", true, "baseline"); }

struct Probe {
  const char* name;
  const char* category;
  const char* what;
  const char* expect;      // space-separated violation details (prefix "name" or exact "name (x)")
  const char* stopped_by;  // the layers meant to stop it
  void (*run)(Run&, const Args&);
};

const Probe kProbes[] = {
    {"host-secret-path", "host files", "read a host file by its host path, then chroot out",
     "chroot", "mount namespace (file not there); seccomp: chroot", HostSecretPath},
    {"open-by-handle", "host files", "open a host inode by forged file handle (shocker)",
     "name_to_handle_at open_by_handle_at", "seccomp", OpenByHandle},
    {"write-etc", "system dirs", "create a file in /etc, then remount it read-write", "mount",
     "read-only mount, Landlock; seccomp: mount", WriteEtc},
    {"write-usr-bin", "system dirs", "create a file in /usr/bin, then remount it read-write",
     "mount", "read-only mount, Landlock; seccomp: mount", WriteUsr},
    {"write-root", "system dirs", "create a file in /, then remount it read-write", "mount",
     "read-only root, Landlock; seccomp: mount", WriteRoot},
    {"mount-tmpfs", "mount", "mount a tmpfs", "mount", "seccomp", MountTmpfs},
    {"umount", "mount", "unmount (a path that is no mount)", "umount2", "seccomp", UmountProbe},
    {"bind-mount-root", "mount", "recursively bind / somewhere writable", "mount", "seccomp",
     BindMountRoot},
    {"chroot", "mount", "chroot into /tmp", "chroot", "seccomp", ChrootProbe},
    {"pivot-root", "mount", "pivot_root", "pivot_root", "seccomp", PivotRoot},
    {"fsopen", "mount", "new mount API: fsopen tmpfs", "fsopen", "seccomp", Fsopen},
    {"open-tree", "mount", "new mount API: clone the root mount tree", "open_tree", "seccomp",
     OpenTree},
    {"move-mount", "mount", "new mount API: move_mount", "move_mount", "seccomp", MoveMount},
    {"unshare-user", "namespaces", "unshare a user namespace", "unshare", "seccomp", UnshareUser},
    {"unshare-mount", "namespaces", "unshare a mount namespace", "unshare", "seccomp",
     UnshareMount},
    {"unshare-net", "namespaces", "unshare a network namespace", "unshare", "seccomp", UnshareNet},
    {"clone-newuser", "namespaces", "clone into a new user namespace", "clone",
     "seccomp (clone flag check)", CloneNewUser},
    {"clone3-newpid", "namespaces", "clone3 into a new pid namespace, then clone", "clone",
     "seccomp (clone3 ENOSYS, clone flag check)", Clone3NewPid},
    {"setns", "namespaces", "join a namespace through /proc", "setns", "seccomp", Setns},
    {"ptrace-host", "processes", "ptrace a host process", "ptrace",
     "seccomp; pid namespace (not visible)", PtraceHost},
    {"process-vm-read", "processes", "read a host process's memory", "process_vm_readv",
     "seccomp; pid namespace", ProcessVmRead},
    {"process-vm-write", "processes", "write process memory with process_vm_writev",
     "process_vm_writev", "seccomp", ProcessVmWrite},
    {"kill-host", "processes", "signal a host process, then join the host's pid namespace", "setns",
     "pid namespace (not visible), Landlock signal scope; seccomp: setns", KillHost},
    {"steal-fd", "processes", "take descriptors from pid 1 with pidfd_getfd", "pidfd_getfd",
     "seccomp", StealFd},
    {"tcp-host-loopback", "network", "connect to a listener on the host's loopback", "socket",
     "seccomp (network off); network namespace; Landlock TCP", TcpHostLoopback},
    {"tcp-listen", "network", "listen on a TCP port", "socket",
     "seccomp (network off); Landlock TCP", TcpListen},
    {"raw-socket", "network", "open a raw IP socket", "socket", "seccomp; no CAP_NET_RAW",
     RawSocket},
    {"packet-socket", "network", "open a packet socket", "socket", "seccomp; no CAP_NET_RAW",
     PacketSocket},
    {"abstract-host-socket", "network",
     "connect to a host abstract unix socket, then join the host's network namespace", "setns",
     "network namespace, Landlock scope; seccomp: setns", AbstractHostSocket},
    {"capabilities", "privileges", "hold no capability, then capset them all back", "capset",
     "capabilities dropped; seccomp: capset", Capabilities},
    {"no-new-privs", "privileges", "no_new_privs is set; get capabilities from a user namespace",
     "unshare", "no_new_privs; seccomp: unshare", NoNewPrivs},
    {"seccomp-status", "privileges", "a filter is installed; get traced to bypass it", "ptrace",
     "seccomp", SeccompStatus},
    {"bpf", "kernel", "create a BPF map", "bpf", "seccomp", Bpf},
    {"perf", "kernel", "open a perf event", "perf_event_open", "seccomp", Perf},
    {"keyctl", "kernel", "read the session keyring", "keyctl", "seccomp", Keyctl},
    {"add-key", "kernel", "add and request keys", "add_key request_key", "seccomp", AddKey},
    {"io-uring", "kernel", "set up an io_uring", "io_uring_setup", "seccomp", IoUring},
    {"userfaultfd", "kernel", "create a userfaultfd", "userfaultfd", "seccomp", Userfaultfd},
    {"kexec", "kernel", "load a kernel to boot", "kexec_load kexec_file_load", "seccomp", Kexec},
    {"kernel-module", "kernel", "load and remove kernel modules",
     "init_module finit_module delete_module", "seccomp", KernelModule},
    {"personality", "kernel", "turn address-space randomisation off", "personality", "seccomp",
     Personality},
    {"reboot", "kernel", "reboot the machine", "reboot", "seccomp", Reboot},
    {"swapon", "kernel", "enable swap", "swapon", "seccomp", Swapon},
    {"clock-settime", "kernel", "set the clock", "clock_settime", "seccomp", ClockSettime},
    {"iopl", "kernel", "raise the I/O privilege level", "iopl ioperm", "seccomp", Iopl},
    {"syslog", "kernel", "read the kernel log", "syslog", "seccomp", Syslog},
    {"acct", "kernel", "switch process accounting", "acct", "seccomp", Acct},
    {"sethostname", "kernel", "set the host name", "sethostname", "seccomp", Sethostname},
    {"tiocsti", "kernel", "push characters into a terminal", "ioctl (TIOCSTI)",
     "seccomp (override rule)", Tiocsti},
    {"x32-syscall", "abi", "make an x32 system call", "getpid (x32 ABI)", "seccomp", X32},
    {"i386-syscall", "abi", "make an i386 system call (int $0x80)", "getpid (i386 ABI)",
     "seccomp, or the kernel when it has no ia32 entry", I386},
    {"proc-sys-write", "proc", "write /proc/sys, then unmount its read-only cover", "umount2",
     "read-only /proc/sys, Landlock; seccomp: umount2", ProcSysWrite},
    {"core-pattern", "proc", "write core_pattern, then mount a fresh procfs", "mount",
     "read-only /proc/sys, Landlock; seccomp: mount", CorePattern},
    {"sysrq-trigger", "proc", "open /proc/sysrq-trigger, then unmount its mask", "umount2",
     "masked path, Landlock; seccomp: umount2", SysrqTrigger},
    {"proc-kcore", "proc", "read /proc/kcore, then unmount its mask", "umount2",
     "masked path; seccomp: umount2", ProcKcore},
    {"sys-write", "sys", "write /sys, then mount a fresh sysfs", "mount",
     "no or read-only /sys, Landlock; seccomp: mount", SysWrite},
    {"cgroup-escape", "sys", "join the host's root cgroup, then mount cgroup2", "mount",
     "no host cgroupfs, Landlock; seccomp: mount", CgroupEscape},
    {"release-agent", "sys", "mount a cgroup v1 hierarchy (release_agent escape)", "mount",
     "seccomp", ReleaseAgent},
    {"mknod-device", "devices", "create a block device node", "mknod",
     "seccomp (device nodes); Landlock (no MAKE_BLOCK)", MknodDevice},
    {"dev-mem", "devices", "open raw memory and disks, then create /dev/mem", "mknod",
     "minimal /dev; seccomp: mknod", DevMem},
    {"inherited-fds", "descriptors",
     "find descriptors hive-run inherited, then steal one with pidfd_getfd", "pidfd_getfd",
     "close_range before exec; seccomp: pidfd_getfd", InheritedFds},
    {"host-environment", "environment", "find hive-run's environment, then read pid 1's memory",
     "process_vm_readv", "clean environment; seccomp: process_vm_readv", HostEnvironment},
    {"overwrite-self-exe", "self", "open /proc/self/exe for writing, then remount it", "mount",
     "read-only bind, ETXTBSY; seccomp: mount", OverwriteSelfExe},
    {"blocked-unlink", "blocked operations", "unlink a file (delete)", "unlink (delete)",
     "seccomp; Landlock (no REMOVE_FILE)", BlockedUnlink},
    {"blocked-unlinkat", "blocked operations", "unlinkat a file (delete)", "unlinkat (delete)",
     "seccomp; Landlock (no REMOVE_FILE)", BlockedUnlinkat},
    {"blocked-rmdir", "blocked operations", "remove a directory (delete)", "rmdir (delete)",
     "seccomp; Landlock (no REMOVE_DIR)", BlockedRmdir},
    {"blocked-chmod", "blocked operations", "chmod and fchmodat2 a file",
     "chmod (chmod) fchmodat2 (chmod)", "seccomp", BlockedChmod},
    {"blocked-chown", "blocked operations", "chown a file", "chown (chown)", "seccomp",
     BlockedChown},
    {"blocked-rename", "blocked operations", "rename a file", "rename",
     "seccomp; Landlock (no REMOVE_FILE)", BlockedRename},
    {"blocked-link", "blocked operations", "hard-link a file", "link (link)", "seccomp",
     BlockedLink},
    {"blocked-mknod", "blocked operations", "create a FIFO", "mknod (mknod)",
     "seccomp; Landlock (no MAKE_FIFO)", BlockedMknod},
    {"blocked-truncate", "blocked operations", "truncate a file, and open it with O_TRUNC",
     "truncate (truncate)", "seccomp; Landlock (no TRUNCATE)", BlockedTruncate},
    {"blocked-fallocate", "blocked operations", "punch a hole in a file", "fallocate (truncate)",
     "seccomp", BlockedFallocate},
    {"blocked-xattr", "blocked operations", "set and remove an extended attribute",
     "setxattr (xattr) removexattr (xattr)", "seccomp", BlockedXattr},
    {"rename-over", "blocked operations", "replace a file by renaming another over it",
     "rename renameat2", "seccomp (delete covers replacing renames); Landlock", RenameOver},
};

int List() {
  std::printf("[");
  bool first = true;
  for (const Probe& p : kProbes) {
    std::printf("%s\n {\"name\":%s,\"category\":%s,\"what\":%s,\"expect\":[", first ? "" : ",",
                Json(p.name).c_str(), Json(p.category).c_str(), Json(p.what).c_str());
    std::string e = p.expect;
    // Space-separated, but "x (y)" stays one item.
    std::vector<std::string> items;
    size_t i = 0;
    while (i < e.size()) {
      size_t end = e.find(' ', i);
      if (end == std::string::npos) end = e.size();
      if (end < e.size() && e[end + 1] == '(') end = e.find(')', end) + 1;
      items.push_back(e.substr(i, end - i));
      i = end + 1;
    }
    for (size_t k = 0; k < items.size(); ++k) {
      std::printf("%s%s", k ? "," : "", Json(items[k]).c_str());
    }
    std::printf("],\"stopped_by\":%s}", Json(p.stopped_by).c_str());
    first = false;
  }
  std::printf("\n]\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: attack list | attack PROBE [--dir D] [--pid N] [--port P] "
                 "[--abstract NAME] [--secret FILE] [--fd N] [--token T]\n");
    return 2;
  }
  std::string name = argv[1];
  if (name == "list") return List();
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      a.dir = v;
    else if (k == "--pid")
      a.pid = std::atol(v.c_str());
    else if (k == "--port")
      a.port = std::atoi(v.c_str());
    else if (k == "--abstract")
      a.abstract = v;
    else if (k == "--secret")
      a.secret = v;
    else if (k == "--fd")
      a.fd = std::atoi(v.c_str());
    else if (k == "--token")
      a.token = v;
    else {
      std::fprintf(stderr, "attack: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (name == "noop") {
    Run r("noop");
    Noop(r, a);
    return r.Finish();
  }
  for (const Probe& p : kProbes) {
    if (name == p.name) {
      Run r(p.name);
      p.run(r, a);
      return r.Finish();
    }
  }
  std::fprintf(stderr, "attack: no probe named %s (attack list)\n", name.c_str());
  return 2;
}
