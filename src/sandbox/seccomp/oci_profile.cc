#include "sandbox/seccomp/oci_profile.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace hive::seccomp {
namespace {

Status Refuse(const std::string& field, const std::string& why) {
  return Error(Code::kUnsupported, fmt::format("linux.seccomp.{}: {}", field, why));
}

Result<uint32_t> Action(const std::string& name, const nlohmann::json& errno_ret,
                        const std::string& field) {
  uint32_t err = EPERM;
  if (!errno_ret.is_null()) {
    if (!errno_ret.is_number_unsigned() || errno_ret.get<uint64_t>() > 4095) {
      return Refuse(field, "errnoRet must be a number from 0 to 4095");
    }
    err = errno_ret.get<uint32_t>();
  }
  if (name == "SCMP_ACT_ALLOW") return uint32_t{SCMP_ACT_ALLOW};
  if (name == "SCMP_ACT_ERRNO") return uint32_t{SCMP_ACT_ERRNO(err)};
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") {
    return uint32_t{SCMP_ACT_KILL_THREAD};
  }
  if (name == "SCMP_ACT_KILL_PROCESS") return uint32_t{SCMP_ACT_KILL_PROCESS};
  if (name == "SCMP_ACT_TRAP") return uint32_t{SCMP_ACT_TRAP};
  if (name == "SCMP_ACT_TRACE") return uint32_t{SCMP_ACT_TRACE(err)};
  if (name == "SCMP_ACT_LOG") return uint32_t{SCMP_ACT_LOG};
  return Refuse(field, fmt::format("action `{}` is not supported (SCMP_ACT_NOTIFY needs a "
                                   "listenerPath, which hive-run does not serve)",
                                   name));
}

Result<scmp_compare> Operator(const std::string& op, const std::string& field) {
  static const std::pair<const char*, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (const auto& [name, value] : kOps) {
    if (op == name) return value;
  }
  return Refuse(field, fmt::format("operator `{}` is not supported", op));
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

}  // namespace

Result<OciFilter> CompileOciProfile(const std::string& json_text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return Error(Code::kInvalidArgument, fmt::format("linux.seccomp: {}", e.what()));
  }
  try {
    OciFilter out;
    if (j.contains("listenerPath") && !j["listenerPath"].get<std::string>().empty()) {
      return Refuse("listenerPath", "seccomp agents are not supported");
    }
    HIVE_ASSIGN_OR_RETURN(
        uint32_t default_action,
        Action(j.value("defaultAction", std::string()),
               j.contains("defaultErrnoRet") ? j["defaultErrnoRet"] : nlohmann::json(),
               "defaultAction"));
    std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(default_action));
    if (!ctx) return Error(Code::kInternal, "linux.seccomp: seccomp_init failed");
    // The filter is loaded by the child, with no_new_privs already set.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    if (j.contains("architectures")) {
      for (const auto& a : j["architectures"]) {
        std::string name = a.get<std::string>();
        if (name.rfind("SCMP_ARCH_", 0) != 0) return Refuse("architectures", name);
        name = name.substr(10);
        for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
        const uint32_t arch = seccomp_arch_resolve_name(name.c_str());
        if (arch == 0) {
          return Refuse("architectures", fmt::format("`{}` is not known here", a.get<std::string>()));
        }
        const int r = seccomp_arch_add(ctx.get(), arch);
        if (r < 0 && r != -EEXIST) {
          return Refuse("architectures", fmt::format("`{}`: {}", a.get<std::string>(), strerror(-r)));
        }
      }
    }
    if (j.contains("flags")) {
      for (const auto& f : j["flags"]) {
        const std::string flag = f.get<std::string>();
        if (flag == "SECCOMP_FILTER_FLAG_LOG") {
          out.flags |= SECCOMP_FILTER_FLAG_LOG;
        } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
          out.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        } else if (flag != "SECCOMP_FILTER_FLAG_TSYNC") {  // one thread at install: moot
          return Refuse("flags", fmt::format("`{}` is not supported", flag));
        }
      }
    }
    const nlohmann::json syscalls = j.value("syscalls", nlohmann::json::array());
    for (size_t i = 0; i < syscalls.size(); ++i) {
      const nlohmann::json& s = syscalls[i];
      const std::string field = fmt::format("syscalls[{}]", i);
      HIVE_ASSIGN_OR_RETURN(
          uint32_t action,
          Action(s.value("action", std::string()),
                 s.contains("errnoRet") ? s["errnoRet"] : nlohmann::json(), field + ".action"));
      if (action == default_action) continue;  // libseccomp refuses such rules; they are moot
      std::vector<scmp_arg_cmp> conds;
      bool same_index = false;
      std::vector<bool> seen(6, false);
      for (const auto& a : s.value("args", nlohmann::json::array())) {
        const unsigned index = a.at("index").get<unsigned>();
        if (index > 5) return Refuse(field + ".args", "index above 5");
        HIVE_ASSIGN_OR_RETURN(scmp_compare op, Operator(a.at("op").get<std::string>(), field));
        if (seen[index]) same_index = true;
        seen[index] = true;
        conds.push_back({index, op, a.at("value").get<uint64_t>(), a.value("valueTwo", uint64_t{0})});
      }
      for (const auto& n : s.value("names", nlohmann::json::array())) {
        const std::string name = n.get<std::string>();
        const int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // not a call of this kernel's ABIs
        int r;
        if (!same_index) {
          r = seccomp_rule_add_array(ctx.get(), action, nr, static_cast<unsigned>(conds.size()),
                                     conds.data());
        } else {
          // Two conditions on one argument are alternatives (runc's reading): one rule each.
          r = 0;
          for (const scmp_arg_cmp& c : conds) {
            r = seccomp_rule_add_array(ctx.get(), action, nr, 1, &c);
            if (r < 0) break;
          }
        }
        if (r < 0 && r != -EEXIST) {
          return Refuse(field, fmt::format("`{}`: {}", name, strerror(-r)));
        }
      }
    }
    UniqueFd mem(memfd_create("hive-oci-seccomp", MFD_CLOEXEC));
    if (!mem.valid()) return Errno("memfd_create");
    if (int r = seccomp_export_bpf(ctx.get(), mem.get()); r < 0) {
      return Error(Code::kInternal, fmt::format("linux.seccomp: export: {}", strerror(-r)));
    }
    struct stat st;
    if (fstat(mem.get(), &st) != 0) return Errno("fstat");
    out.program.resize(static_cast<size_t>(st.st_size) / sizeof(sock_filter));
    if (pread(mem.get(), out.program.data(), out.program.size() * sizeof(sock_filter), 0) !=
        static_cast<ssize_t>(out.program.size() * sizeof(sock_filter))) {
      return Errno("read the compiled filter");
    }
    if (out.program.empty() || out.program.size() > BPF_MAXINSNS) {
      return Refuse("syscalls", fmt::format("the filter has {} instructions; the kernel takes "
                                            "1 to {}",
                                            out.program.size(), BPF_MAXINSNS));
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Error(Code::kInvalidArgument, fmt::format("linux.seccomp: {}", e.what()));
  }
}

}  // namespace hive::seccomp
