#include "sandbox/seccomp/compiler.h"

#include <fmt/format.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <memory>

#include "base/unique_fd.h"
#include "sandbox/seccomp/blocked_operations.h"
#include "sandbox/seccomp/bpf.h"
#include "sandbox/seccomp/syscalls.h"

namespace hive::seccomp {
namespace {

// A rule of hive-run's prefix, resolved for one ABI.
struct LowCondition {
  uint32_t index, mask, value;
  bool not_equal = false;  // holds when (arg & mask) != value
  bool high = false;       // the high 32 bits of the argument instead of the low
};
struct OverrideRule {
  uint32_t nr;
  std::vector<LowCondition> conds;
  uint32_t ret;
  std::string type, note;
};
struct AbiSection {
  uint32_t arch;  // AUDIT_ARCH_*; SCMP_ARCH_X32 for x32
  std::vector<OverrideRule> rules;
};

uint32_t ActionValue(const Action& a) {
  switch (a.kind) {
    case ActionKind::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case ActionKind::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case ActionKind::kTrap:
      return SCMP_ACT_TRAP;
    case ActionKind::kErrno:
      return SCMP_ACT_ERRNO(a.data);
    // A profile's NOTIFY is answered by hive-run, which denies it.
    case ActionKind::kNotify:
      return SCMP_ACT_ERRNO(EPERM);
    case ActionKind::kTrace:
      return SCMP_ACT_TRACE(a.data);
    case ActionKind::kLog:
      return SCMP_ACT_LOG;
    case ActionKind::kAllow:
      return SCMP_ACT_ALLOW;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare CompareValue(Compare c) {
  switch (c) {
    case Compare::kNe:
      return SCMP_CMP_NE;
    case Compare::kLt:
      return SCMP_CMP_LT;
    case Compare::kLe:
      return SCMP_CMP_LE;
    case Compare::kEq:
      return SCMP_CMP_EQ;
    case Compare::kGe:
      return SCMP_CMP_GE;
    case Compare::kGt:
      return SCMP_CMP_GT;
    case Compare::kMaskedEq:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

// Go's names for this machine, as Docker's `includes.arches` spells them.
bool MatchesNativeArch(const std::vector<std::string>& arches) {
  uint32_t native = NativeArch();
  for (const std::string& a : arches) {
    if (native == AUDIT_ARCH_X86_64 && (a == "amd64" || a == "x86_64")) return true;
    if (native == AUDIT_ARCH_AARCH64 && (a == "arm64" || a == "aarch64")) return true;
    if (a == ArchName(native)) return true;
  }
  return false;
}

bool KernelAtLeast(const std::string& version, int major, int minor) {
  int want_major = 0, want_minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &want_major, &want_minor) < 1) return false;
  return major > want_major || (major == want_major && minor >= want_minor);
}

bool HasAll(const std::vector<std::string>& need, const std::vector<std::string>& have) {
  return std::all_of(need.begin(), need.end(), [&](const std::string& c) {
    return std::find(have.begin(), have.end(), c) != have.end();
  });
}
bool HasAny(const std::vector<std::string>& need, const std::vector<std::string>& have) {
  return std::any_of(need.begin(), need.end(), [&](const std::string& c) {
    return std::find(have.begin(), have.end(), c) != have.end();
  });
}

}  // namespace

// Docker's semantics: includes must all hold, any exclude removes the rule.
bool RuleApplies(const SyscallRule& r, const CompileOptions& o) {
  if (!r.includes.arches.empty() && !MatchesNativeArch(r.includes.arches)) return false;
  if (!r.includes.caps.empty() && !HasAll(r.includes.caps, o.capabilities)) return false;
  if (!r.includes.min_kernel.empty() &&
      !KernelAtLeast(r.includes.min_kernel, o.kernel_major, o.kernel_minor)) {
    return false;
  }
  if (!r.excludes.arches.empty() && MatchesNativeArch(r.excludes.arches)) return false;
  if (!r.excludes.caps.empty() && HasAny(r.excludes.caps, o.capabilities)) return false;
  if (!r.excludes.min_kernel.empty() &&
      KernelAtLeast(r.excludes.min_kernel, o.kernel_major, o.kernel_minor)) {
    return false;
  }
  return true;
}

namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Result<std::vector<sock_filter>> Export(scmp_filter_ctx ctx) {
  UniqueFd fd(memfd_create("hive-seccomp", MFD_CLOEXEC));
  if (!fd.valid()) return Errno("memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) return Errno("seccomp_export_bpf", -rc);
  off_t size = lseek(fd.get(), 0, SEEK_END);
  if (size < 0 || size % sizeof(sock_filter) != 0) return Errno("seccomp_export_bpf: size");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(fd.get(), prog.data(), static_cast<size_t>(size), 0) != size) {
    return Errno("seccomp_export_bpf: read back");
  }
  return prog;
}

void AddOverride(AbiSection* section, const OperationSyscall& call, uint32_t ret,
                 const std::string& type, const std::string& note) {
  int nr = SyscallNumber(section->arch, call.name);
  if (nr < 0) return;  // not a syscall on this ABI (aarch64 has no unlink, ...)
  OverrideRule r{static_cast<uint32_t>(nr), {}, ret, type, note};
  if (call.arg >= 0) {
    r.conds.push_back({static_cast<uint32_t>(call.arg), call.mask, call.value});
  }
  section->rules.push_back(std::move(r));
}

// hive-run's prefix: per ABI, the override rules, then (native only) ENOSYS above the
// highest syscall the profile names; everything else falls through to libseccomp's program.
std::vector<sock_filter> EmitPrefix(const std::vector<AbiSection>& sections, int highest,
                                    std::vector<RetLabel>* labels) {
  using bpf::Jump;
  using bpf::Stmt;
  std::vector<sock_filter> code;
  std::vector<size_t> to_end;  // `ja` instructions to point past the prefix
  const uint32_t native = NativeArch();
  const uint32_t kArchOff = offsetof(seccomp_data, arch);
  const uint32_t kNrOff = offsetof(seccomp_data, nr);

  for (size_t s = 0; s < sections.size(); ++s) {
    const AbiSection& sec = sections[s];
    bool is_x32 = sec.arch == SCMP_ARCH_X32;
    bool is_native = sec.arch == native;
    if (sec.rules.empty() && !(is_native && highest >= 0)) continue;
    std::vector<size_t> to_next;  // `ja` instructions to the next section
    uint32_t audit_arch = is_x32 ? AUDIT_ARCH_X86_64 : sec.arch;
    code.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kArchOff));
    code.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, audit_arch, 1, 0));
    to_next.push_back(code.size());
    code.push_back(Stmt(BPF_JMP | BPF_JA, 0));
    if (audit_arch == AUDIT_ARCH_X86_64) {
      // One audit arch carries both x86-64 and x32 numbers; the x32 bit tells them apart.
      code.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kNrOff));
      code.push_back(
          Jump(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, is_x32 ? 1 : 0, is_x32 ? 0 : 1));
      to_next.push_back(code.size());
      code.push_back(Stmt(BPF_JMP | BPF_JA, 0));
    }
    for (const OverrideRule& r : sec.rules) {
      // ld nr; jeq nr; { ld arg; [and mask]; jeq value }*; ret
      size_t rest = 1;  // the ret
      for (const LowCondition& c : r.conds) rest += c.mask == 0xffffffffu ? 2 : 3;
      code.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kNrOff));
      code.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, r.nr, 0, static_cast<uint8_t>(rest)));
      for (const LowCondition& c : r.conds) {
        rest -= c.mask == 0xffffffffu ? 2 : 3;
        // Little-endian seccomp_data (x86-64, arm64): the high half follows the low one.
        code.push_back(
            Stmt(BPF_LD | BPF_W | BPF_ABS, bpf::ArgLowOffset(c.index) + (c.high ? 4 : 0)));
        if (c.mask != 0xffffffffu) code.push_back(Stmt(BPF_ALU | BPF_AND | BPF_K, c.mask));
        if (c.not_equal) {
          code.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, c.value, static_cast<uint8_t>(rest), 0));
        } else {
          code.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, c.value, 0, static_cast<uint8_t>(rest)));
        }
      }
      labels->push_back({static_cast<uint32_t>(code.size()), r.type, r.note});
      code.push_back(Stmt(BPF_RET | BPF_K, r.ret));
    }
    if (is_native && highest >= 0) {
      code.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kNrOff));
      code.push_back(Jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(highest), 0, 1));
      code.push_back(Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
    }
    to_end.push_back(code.size());
    code.push_back(Stmt(BPF_JMP | BPF_JA, 0));
    for (size_t j : to_next) code[j].k = static_cast<uint32_t>(code.size() - (j + 1));
  }
  for (size_t j : to_end) code[j].k = static_cast<uint32_t>(code.size() - (j + 1));
  return code;
}

// security.network with allowed domains (supervisor/egress.h): the calls that can reach
// outside go to the supervisor, which decides on its own copy of the address; the ways
// around it are denied here, in the kernel, and recorded.
void AddEgressRules(AbiSection* s) {
  auto add = [&](const char* name, std::vector<LowCondition> conds, uint32_t ret,
                 const std::string& type, const std::string& note) {
    const int nr = SyscallNumber(s->arch, name);
    if (nr < 0) return;
    s->rules.push_back({static_cast<uint32_t>(nr), std::move(conds), ret, type, note});
  };
  const uint32_t kAll = 0xffffffffu;
  const uint32_t kEperm = SECCOMP_RET_ERRNO | EPERM;
  // The decision: answered by the supervisor's handler; EPERM when no listener holds it.
  for (const char* name : {"connect", "bind", "listen"}) add(name, {}, kEperm, "egress", name);
  // TCP Fast Open connects without connect(2); decided before the sendto rules below.
  const uint32_t kFastOpen = 0x20000000;  // MSG_FASTOPEN
  const uint32_t kNotSupp = SECCOMP_RET_ERRNO | EOPNOTSUPP;
  add("sendto", {{3, kFastOpen, kFastOpen}}, kNotSupp, "network", "TCP Fast Open");
  add("sendmsg", {{2, kFastOpen, kFastOpen}}, kNotSupp, "network", "TCP Fast Open");
  add("sendmmsg", {{3, kFastOpen, kFastOpen}}, kNotSupp, "network", "TCP Fast Open");
  // sendto with a destination (either half of the pointer non-zero): UDP anywhere but the
  // resolver is refused and recorded. The netns has no route out, so a datagram that got past
  // this would still go nowhere.
  add("sendto", {{4, kAll, 0, true, false}}, kEperm, "egress", "sendto");
  add("sendto", {{4, kAll, 0, true, true}}, kEperm, "egress", "sendto");
  // io_uring connects and sends without a system call seccomp sees.
  for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
    add(name, {}, kEperm, "network", "io_uring");
  }
  // Raw and packet sockets; AF_VSOCK is not network-namespaced at all.
  const uint32_t kNoFamily = SECCOMP_RET_ERRNO | EAFNOSUPPORT;
  add("socket", {{0, kAll, 17}}, kNoFamily, "network", "AF_PACKET");
  add("socket", {{0, kAll, 40}}, kNoFamily, "network", "AF_VSOCK");
  for (uint32_t family : {2u, 10u}) {  // AF_INET, AF_INET6
    for (uint32_t type : {3u, 10u}) {  // SOCK_RAW, SOCK_PACKET
      add("socket", {{0, kAll, family}, {1, 0xf, type}}, kEperm, "network", "raw socket");
    }
  }
  // i386 multiplexes every socket call through socketcall(2), out of a filter's reach.
  add("socketcall", {}, kEperm, "network", "socketcall");
}

// Every denial but ENOSYS (not a denial: "this kernel has no such call") and errno 0 (a
// profile's fake success) goes to the supervisor, and so do the watched calls, which the
// errno variant allows.
std::vector<sock_filter> NotifyVariant(std::vector<sock_filter> prog,
                                       const std::vector<RetLabel>& labels) {
  for (sock_filter& in : prog) {
    if (in.code != (BPF_RET | BPF_K)) continue;
    if ((in.k & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ERRNO) continue;
    uint32_t err = in.k & SECCOMP_RET_DATA;
    if (err == ENOSYS || err == 0) continue;
    in.k = SECCOMP_RET_USER_NOTIF;
  }
  for (const RetLabel& l : labels) {
    if (l.type == kWatchLabel) prog[l.index].k = SECCOMP_RET_USER_NOTIF;
  }
  return prog;
}

}  // namespace

Result<Filter> Compile(const Profile* profile, const CompileOptions& options) {
  CompileOptions o = options;
  if (o.kernel_major == 0) {
    utsname u{};
    uname(&u);
    std::sscanf(u.release, "%d.%d", &o.kernel_major, &o.kernel_minor);
  }
  const uint32_t native = NativeArch();
  Filter f;
  f.notify = o.notify;
  f.blocked_operations = o.blocked_operations;
  f.deny_inet_sockets = o.deny_inet_sockets;
  f.deny_hugetlb = o.deny_hugetlb;
  f.egress = o.egress;

  Action default_action{ActionKind::kAllow, 0};
  std::vector<uint32_t> arches = {native};
  if (profile) {
    f.profile_name = profile->name;
    f.profile_sha256 = profile->sha256;
    default_action = profile->default_action;
    for (const std::string& name : profile->architectures) {
      uint32_t a = ResolveArch(name);
      // A profile written for several machines lists foreign ABIs: they cannot reach us.
      if (a != 0 && IsCompatibleArch(a) &&
          std::find(arches.begin(), arches.end(), a) == arches.end()) {
        arches.push_back(a);
      }
    }
    for (const std::string& flag : profile->flags) {
      if (flag == "SECCOMP_FILTER_FLAG_LOG") f.flags |= SECCOMP_FILTER_FLAG_LOG;
      if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") f.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      // TSYNC is moot (the child is single-threaded); WAIT_KILLABLE_RECV is always asked for.
    }
  }
  for (uint32_t a : arches) f.arches.push_back(ArchName(a));

  Ctx ctx(seccomp_init(ActionValue(default_action)));
  if (!ctx) return Error(Code::kInternal, "seccomp_init failed");
  for (uint32_t a : arches) {
    if (a == native) continue;
    if (int rc = seccomp_arch_add(ctx.get(), a); rc < 0 && rc != -EEXIST) {
      return Errno("seccomp_arch_add " + ArchName(a), -rc);
    }
  }
  // Any other ABI (i386 or x32 when the profile does not list them) is a denial to record.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
  // The child loads the program itself; libseccomp must not touch no_new_privs.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  // A binary tree of syscall numbers: a large allowlist costs a few comparisons, not hundreds.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  std::vector<AbiSection> sections;
  for (uint32_t a : arches) sections.push_back({a, {}});

  // Rules hive-run adds for the policy come first: they win over anything the profile says.
  for (const std::string& op : o.blocked_operations) {
    const auto& calls = SyscallsForOperation(op);
    if (calls.empty()) {
      return Error(Code::kInvalidArgument,
                   fmt::format("blocked operation \"{}\" is not one of delete, chmod, chown, "
                               "rename, link, mknod, truncate, xattr",
                               op));
    }
    for (AbiSection& s : sections) {
      for (const OperationSyscall& c : calls) {
        AddOverride(&s, c, SECCOMP_RET_ERRNO | EPERM, "blocked_operation", op);
      }
    }
  }
  if (o.watch_exits && o.notify) {
    for (AbiSection& s : sections) {
      AddOverride(&s, OperationSyscall{"exit_group"}, SECCOMP_RET_ALLOW, kWatchLabel, "exit");
    }
  }
  if (o.egress) {
    for (AbiSection& s : sections) AddEgressRules(&s);
  }
  if (o.deny_inet_sockets) {
    for (AbiSection& s : sections) {
      for (const OperationSyscall& c : NetworkOffSyscalls()) {
        AddOverride(&s, c, SECCOMP_RET_ERRNO | EPERM, "network", "network off");
      }
    }
  }
  if (o.deny_hugetlb) {
    for (AbiSection& s : sections) {
      for (const OperationSyscall& c : HugetlbSyscalls()) {
        AddOverride(&s, c, SECCOMP_RET_ERRNO | EPERM, "hugepages", "hugepageLimits 0");
      }
    }
  }

  int highest = -1;
  if (profile) {
    for (size_t i = 0; i < profile->syscalls.size(); ++i) {
      const SyscallRule& rule = profile->syscalls[i];
      for (const std::string& name : rule.names) {
        int nr = SyscallNumber(native, name);
        if (nr >= 0 && !(nr & static_cast<int>(kX32SyscallBit))) highest = std::max(highest, nr);
        bool known = nr >= 0 || seccomp_syscall_resolve_name(name.c_str()) != __NR_SCMP_ERROR;
        if (!known && std::find(f.unknown_syscalls.begin(), f.unknown_syscalls.end(), name) ==
                          f.unknown_syscalls.end()) {
          f.unknown_syscalls.push_back(name);
        }
      }
      if (!RuleApplies(rule, o)) continue;
      Action action = rule.action;
      if (rule.override) {
        for (AbiSection& s : sections) {
          for (const std::string& name : rule.names) {
            int nr = SyscallNumber(s.arch, name);
            if (nr < 0) continue;
            OverrideRule r{
                static_cast<uint32_t>(nr), {}, ActionValue(action), "syscall", rule.label};
            for (const ArgCondition& a : rule.args) {
              uint32_t mask =
                  a.op == Compare::kMaskedEq ? static_cast<uint32_t>(a.value) : 0xffffffffu;
              uint32_t value =
                  static_cast<uint32_t>(a.op == Compare::kMaskedEq ? a.value_two : a.value);
              r.conds.push_back({a.index, mask, value});
            }
            s.rules.push_back(std::move(r));
          }
        }
        continue;
      }
      if (ActionValue(action) == ActionValue(default_action)) continue;  // libseccomp refuses these
      std::vector<scmp_arg_cmp> conds;
      for (const ArgCondition& a : rule.args) {
        conds.push_back(scmp_arg_cmp{a.index, CompareValue(a.op), a.value, a.value_two});
      }
      for (const std::string& name : rule.names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) nr = SyscallNumber(native, name);  // newer than libseccomp
        if (nr == __NR_SCMP_ERROR || nr == -1) continue;  // unknown: listed in unknown_syscalls
        int rc = seccomp_rule_add_array(ctx.get(), ActionValue(action), nr,
                                        static_cast<unsigned>(conds.size()),
                                        conds.empty() ? nullptr : conds.data());
        if (rc < 0 && rc != -EEXIST) {
          return Errno(fmt::format("{}: syscalls[{}]: add rule for `{}`", profile->source, i, name),
                       -rc);
        }
      }
    }
  }
  f.highest_syscall = highest;

  HIVE_ASSIGN_OR_RETURN(std::vector<sock_filter> body, Export(ctx.get()));
  std::vector<sock_filter> prog = EmitPrefix(sections, highest, &f.labels);
  prog.insert(prog.end(), body.begin(), body.end());
  if (prog.size() > BPF_MAXINSNS) {
    return Error(Code::kInvalidArgument,
                 fmt::format("seccomp program has {} instructions, the kernel takes {}",
                             prog.size(), BPF_MAXINSNS));
  }
  if (o.notify) {
    // The payload hands its listener to the supervisor with read(2) and write(2) after the
    // filter is on; were they denied, the call would wait for a listener nobody holds yet.
    for (const char* name : {"read", "write"}) {
      seccomp_data d{};
      d.arch = native;
      d.nr = SyscallNumber(native, name);
      if (bpf::Run(prog, d).action != SECCOMP_RET_ALLOW) {
        return Error(Code::kInvalidArgument,
                     fmt::format("{}: the profile denies {}(2), which every sandboxed program "
                                 "(and hive-run's hand-over of the seccomp listener) needs",
                                 profile ? profile->source : "seccomp", name));
      }
    }
  }
  f.errno_program = prog;
  f.watch_exits = o.watch_exits && o.notify;
  f.program = o.notify ? NotifyVariant(std::move(prog), f.labels) : std::move(prog);
  return f;
}

}  // namespace hive::seccomp
