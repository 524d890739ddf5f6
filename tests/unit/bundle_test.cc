// config.json parsing: JSON paths in errors, unknown properties ignored, the ceiling rules.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "base/files.h"
#include "hive/bundle.h"
#include "hive/run.h"
#include "supervisor/container.h"
#include "temp_dir.h"
#include "sandbox/seccomp/oci_profile.h"

namespace {

const char* kMinimal = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"], "cwd": "/", "env": ["A=1"]},
  "root": {"path": "rootfs", "readonly": true},
  "somethingNew": {"ignored": true}
})";

std::string ErrorOf(const std::string& json) {
  auto r = hive::ParseOciConfig(json, "config.json", "/b");
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("minimal config parses; unknown properties are ignored") {
  auto c = hive::ParseOciConfig(kMinimal, "config.json", "/b");
  REQUIRE(c.ok());
  CHECK(c->process.args == std::vector<std::string>{"sh"});
  CHECK(c->root.path == "/b/rootfs");
  CHECK(c->root.readonly);
}

TEST_CASE("type errors name the JSON path") {
  CHECK(ErrorOf(R"({"process": {"args": ["sh", 1]}, "root": {"path": "r"}})") ==
        "config.json: process.args[1]: expected a string, got number");
  CHECK(ErrorOf(R"({"process": {"args": ["sh"], "user": {"uid": -1}}, "root": {"path": "r"}})")
            .find("process.user.uid") != std::string::npos);
  CHECK(ErrorOf(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
                   "mounts": [{"destination": "rel"}]})")
            .find("mounts[0].destination: must be absolute") != std::string::npos);
  CHECK(ErrorOf(R"({"process": {"args": ["sh"], "rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1,
                   "hard": 1}]}, "root": {"path": "r"}})")
            .find("process.rlimits[0].type") != std::string::npos);
  CHECK(ErrorOf(R"({"process": {"args": []}, "root": {"path": "r"}})")
            .find("process.args: must not be empty") != std::string::npos);
  CHECK(ErrorOf(R"({"root": {"path": "r"}})").find("process: missing") != std::string::npos);
  CHECK(ErrorOf("[1,2]").find("(root)") != std::string::npos);
  CHECK(ErrorOf("{").find("invalid JSON") != std::string::npos);
}

TEST_CASE("linux.seccomp is kept and compiled; what it cannot honour is refused by name") {
  auto c = hive::ParseOciConfig(
      R"({"process": {"args": ["sh"]}, "root": {"path": "r"}, "linux": {"seccomp":
      {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
       "syscalls": [{"names": ["read", "write", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                              {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}}})",
      "config.json", "/b");
  REQUIRE(c.ok());
  REQUIRE_FALSE(c->linux.seccomp_oci.empty());
  CHECK(hive::SupervisorRefusal(*c).message().find("linux.seccomp") == std::string::npos);
  auto f = hive::seccomp::CompileOciProfile(c->linux.seccomp_oci);
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  CHECK(f->program.size() > 4);
  for (const char* bad : {R"({"defaultAction": "SCMP_ACT_NOTIFY"})",
                          R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x"})",
                          R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_X"]})",
                          R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                              "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1,
                              "op": "SCMP_CMP_LIKE"}]}]})"}) {
    auto r = hive::seccomp::CompileOciProfile(bad);
    CHECK_FALSE(r.ok());
    CHECK_MESSAGE(r.status().message().rfind("linux.seccomp", 0) == 0, r.status().message());
  }
}

TEST_CASE("fields the supervisor cannot honour yet are kept, then refused by name") {
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
      "linux": {"namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "pid"},
      {"type": "network", "path": "/proc/1/ns/net"}, {"type": "uts"}, {"type": "ipc"},
      {"type": "cgroup", "path": "/proc/1/ns/cgroup"}]}})", "config.json", "/b");
  REQUIRE(c.ok());
  CHECK(c->linux.namespaces[3].path == "/proc/1/ns/net");
  // A network namespace is joined (judged when it is opened); a cgroup one never.
  hive::Status s = hive::SupervisorRefusal(*c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("linux.namespaces[6].path") != std::string::npos);
  c->linux.namespaces[6].path.clear();
  CHECK(hive::SupervisorRefusal(*c).ok());

  auto refused = [](const std::string& linux_or_top, const char* field) {
    auto spec = hive::ParseOciConfig(
        R"({"process": {"args": ["sh"]}, "root": {"path": "r"}, )" + linux_or_top + "}",
        "config.json", "/b");
    REQUIRE_MESSAGE(spec.ok(), spec.status().message());
    for (const std::string& t : hive::SandboxNamespaces()) {
      if (!spec->HasNamespace(t)) spec->linux.namespaces.push_back({t, ""});
    }
    hive::Status st = hive::SupervisorRefusal(*spec);
    CHECK_FALSE(st.ok());
    CHECK_MESSAGE(st.message().rfind(field, 0) == 0, st.message());
  };
  refused(R"("hooks": {"prestart": [{"path": "/bin/true"}]})", "hooks");
  refused(R"("hostname": "h", "linux": {"namespaces": [{"type": "uts", "path": "/u"}]})",
          "hostname");
  refused(R"("linux": {"namespaces": [{"type": "time"}]})", "linux.namespaces[0]");
  refused(R"("linux": {"devices": [{"type": "c", "path": "/dev/fuse"}]})", "linux.devices");
  refused(R"("linux": {"rootfsPropagation": "shared"})", "linux.rootfsPropagation");
  // A config that leaves a namespace out would run with less isolation than it says.
  auto few = hive::ParseOciConfig(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
      "linux": {"namespaces": [{"type": "pid"}]}})", "config.json", "/b");
  REQUIRE(few.ok());
  CHECK(hive::SupervisorRefusal(*few).message().find("no `user` namespace") != std::string::npos);
  // A resource hive-run does not apply is refused when read, never dropped.
  CHECK(ErrorOf(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
                   "linux": {"resources": {"memory": {"reservation": 1}}}})")
            .find("linux.resources.memory.reservation: not supported") != std::string::npos);
}

TEST_CASE("ceiling: the config may tighten the policy but not loosen it") {
  hive::Bundle b;
  b.dir = "/b";
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"]}, "root": {"path": "r",
      "readonly": true}, "linux": {"resources": {"memory": {"limit": 104857600},
      "pids": {"limit": 10}}}})", "config.json", "/b");
  REQUIRE(c.ok());
  b.config = *c;
  hive::Policy policy = hive::DefaultPolicy();
  hive::SandboxRequest req;
  auto spec = hive::CompileRunSpec(policy, req, &b.config);
  REQUIRE(spec.ok());
  CHECK(spec->linux.resources.memory_limit == int64_t{100} << 20);
  CHECK(spec->linux.resources.pids_limit == 10);

  policy.execution.max_processes = 5;
  auto refused = hive::CompileRunSpec(policy, req, &b.config);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("asks for 10; security.execution.max_processes is 5") !=
        std::string::npos);
}

TEST_CASE("ceiling: a writable rootfs and extra capabilities are refused") {
  hive::Bundle b;
  b.dir = "/b";
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"], "capabilities":
      {"bounding": ["CAP_NET_RAW"]}}, "root": {"path": "r", "readonly": true}})", "config.json", "/b");
  REQUIRE(c.ok());
  b.config = *c;
  hive::SandboxRequest req;
  auto spec = hive::CompileRunSpec(hive::DefaultPolicy(), req, &b.config);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().find("CAP_NET_RAW") != std::string::npos);
  b.config.process.capabilities = hive::CapabilitySets{};
  b.config.root.readonly = false;
  spec = hive::CompileRunSpec(hive::DefaultPolicy(), req, &b.config);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().find("root.readonly") != std::string::npos);
}

TEST_CASE("the built-in container ceiling admits an engine's default container, no more") {
  auto policy = hive::ContainerPolicy();
  REQUIRE(policy.ok());
  CHECK(policy->filesystem.writable_rootfs);
  CHECK(policy->process.capabilities.size() == 14);
  hive::Bundle b;
  b.dir = "/b";
  // podman 4.3's default: a writable root, its 14 capabilities, 2048 pids, high rlimits.
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"], "capabilities": {"bounding":
      ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
       "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
       "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}]},
      "root": {"path": "r"}, "linux": {"resources": {"pids": {"limit": 2048}}}})",
                                "config.json", "/b");
  REQUIRE(c.ok());
  CHECK_FALSE(c->root.readonly);
  b.config = *c;
  hive::SandboxRequest req;
  auto spec = hive::CompileRunSpec(*policy, req, &b.config);
  REQUIRE_MESSAGE(spec.ok(), spec.status().message());
  CHECK_FALSE(spec->root.readonly);
  CHECK(spec->linux.resources.pids_limit == 2048);
  CHECK(std::find(spec->hive.writable_paths.begin(), spec->hive.writable_paths.end(), "/") !=
        spec->hive.writable_paths.end());
  // More than the ceiling is refused with both values named.
  b.config.linux.resources.pids_limit = 5000;
  spec = hive::CompileRunSpec(*policy, req, &b.config);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().find("asks for 5000; security.execution.max_processes is 4096") !=
        std::string::npos);
  // The scripts' default policy still refuses the writable root, naming the key.
  b.config.linux.resources.pids_limit = 64;
  b.config.process.capabilities = hive::CapabilitySets{};
  b.config.process.rlimits.clear();
  spec = hive::CompileRunSpec(hive::DefaultPolicy(), req, &b.config);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().find("security.filesystem.writable_rootfs") != std::string::npos);
}

TEST_CASE("rlimits from the policy: cpu soft below hard, no core dumps") {
  hive::Policy policy = hive::DefaultPolicy();
  hive::SandboxRequest req;
  req.command = {"/bin/true"};
  auto spec = hive::CompileRunSpec(policy, req);
  REQUIRE(spec.ok());
  CHECK(spec->process.args == std::vector<std::string>{"/bin/true"});
  CHECK(spec->linux.uid_mappings.at(0).host_id != 0);
}

TEST_CASE("SUDO_UID goes through the number parser") {
  if (::getuid() != 0) return;  // read only when hive-run runs as root
  hive::SandboxRequest req;
  req.command = {"/bin/true"};
  ::setenv("SUDO_UID", "-1", 1);  // (uid_t)-1: files would belong to "no one"
  auto spec = hive::CompileRunSpec(hive::DefaultPolicy(), req);
  ::setenv("SUDO_UID", "4294967297", 1);
  auto wrapped = hive::CompileRunSpec(hive::DefaultPolicy(), req);
  ::setenv("SUDO_UID", "1000", 1);
  auto ok = hive::CompileRunSpec(hive::DefaultPolicy(), req);
  ::unsetenv("SUDO_UID");
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message() ==
        "SUDO_UID: expected a non-negative integer, got \"-1\"");
  REQUIRE_FALSE(wrapped.ok());
  CHECK(wrapped.status().message() == "SUDO_UID: 4294967297 is out of range (0..4294967294)");
  REQUIRE(ok.ok());
  CHECK(ok->hive.owner_uid == 1000);
}

TEST_CASE("interpreter by extension") {
  CHECK(hive::InterpreterFor("x.py")->at(0) == "python3");
  CHECK(hive::InterpreterFor("x.sh")->at(0) == "/bin/sh");
  CHECK_FALSE(hive::InterpreterFor("/nonexistent/x").ok());
}

TEST_CASE("duplicate keys are refused with their JSON path") {
  // nlohmann keeps the last one; which one counts must not depend on the reader.
  CHECK(ErrorOf(R"({"process": {"args": ["sh"], "args": ["rm", "-rf", "/"]},
                   "root": {"path": "r"}})") == "config.json: process.args: duplicate key");
  CHECK(ErrorOf(R"({"process": {"args": ["sh"]}, "root": {"path": "r"}, "mounts": [{"destination":
                   "/a"}, {"destination": "/b", "type": "tmpfs", "type": "bind"}]})") ==
        "config.json: mounts[1].type: duplicate key");
  CHECK(ErrorOf(R"({"root": {"path": "r"}, "process": {"args": ["sh"]},
                   "root": {"path": "/"}})") == "config.json: root: duplicate key");
}

TEST_CASE("numbers are range-checked, never wrapped") {
  auto with = [](const std::string& process, const std::string& linux) {
    return ErrorOf(R"({"process": {"args": ["sh"])" + process + R"(}, "root": {"path": "r"},
                   "linux": {)" + linux + "}}");
  };
  // (uid_t)-1 is "no id" to setuid().
  CHECK(with(R"(, "user": {"uid": 4294967295})", "") ==
        "config.json: process.user.uid: 4294967295 is out of range (0..4294967294)");
  CHECK(with(R"(, "user": {"gid": 4294967296})", "").find("process.user.gid") !=
        std::string::npos);
  CHECK(with(R"(, "user": {"additionalGids": [1, -2]})", "")
            .find("process.user.additionalGids[1]: -2 is out of range") != std::string::npos);
  CHECK(with(R"(, "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1e30}])", "")
            .find("process.rlimits[0].hard") != std::string::npos);
  CHECK(with("", R"("resources": {"memory": {"limit": 18446744073709551615}})")
            .find("linux.resources.memory.limit: 18446744073709551615 is out of range") !=
        std::string::npos);
  CHECK(with("", R"("resources": {"pids": {"limit": 4294967297}})") ==
        "config.json: linux.resources.pids.limit: 4294967297 is out of range (at most 4194304)");
  CHECK(with("", R"("resources": {"cpu": {"quota": 100000, "period": 0}})")
            .find("linux.resources.cpu.period: 0 is out of range (1000..1000000)") !=
        std::string::npos);
  CHECK(with("", R"("resources": {"cpu": {"quota": 9223372036854775807, "period": 1000}})")
            .find("linux.resources.cpu.quota") != std::string::npos);
  CHECK(with("", R"("uidMappings": [{"containerID": 0, "hostID": 4294967000, "size": 1000}])")
            .find("linux.uidMappings[0].size: 1000 is out of range") != std::string::npos);
  CHECK(with("", R"("gidMappings": [{"containerID": 0, "hostID": 100000, "size": 0}])")
            .find("linux.gidMappings[0].size") != std::string::npos);
  // -1 is the OCI spelling of "no limit": the policy's limit stays.
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
      "linux": {"resources": {"memory": {"limit": -1}, "pids": {"limit": -1}}}})", "config.json",
                                "/b");
  REQUIRE(c.ok());
  CHECK_FALSE(c->linux.resources.memory_limit.has_value());
  CHECK_FALSE(c->linux.resources.pids_limit.has_value());
}

TEST_CASE("errors quote at most the offending token") {
  const std::string secret = "root:$6$salt$0123456789abcdefSECRETSECRETSECRET:19000:0:99999:7:::";
  std::string e = ErrorOf(R"({"process": {"args": ["sh"], "env": [")" + secret +
                          R"("]}, "root": {"path": "r"}})");
  CHECK(e.find("process.env[0]: expected NAME=VALUE, got \"root:$6$") != std::string::npos);
  CHECK(e.find("SECRETSECRETSECRET") == std::string::npos);
  // Not JSON at all: nlohmann's message would carry the text it last read.
  e = ErrorOf(R"({"process": ")" + secret + "\n" + secret + R"("})");
  CHECK(e.find("config.json:") == 0);
  CHECK(e.find("SECRETSECRETSECRET") == std::string::npos);
  e = ErrorOf(R"({"process": {"args": ["sh"], "user": {"uid": {"x": ")" + secret +
              R"("}}}, "root": {"path": "r"}})");
  CHECK(e == "config.json: process.user.uid: expected an unsigned integer, got object");
}

TEST_CASE("bundle files may not lead outside the bundle") {
  hive::testing::TempDir dir;
  const std::string secret = dir.Write("secret", "security:\n  SECRETSECRETSECRET: 1\n", 0600);
  const std::string b = dir.Dir("b", 0755);
  dir.Dir("b/rootfs", 0755);
  dir.Write("b/config.json", kMinimal);
  SUBCASE("policy.yml symlinked to a file elsewhere") {
    REQUIRE(::symlink(secret.c_str(), (b + "/policy.yml").c_str()) == 0);
    auto r = hive::LoadBundle(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("policy `" + b + "/policy.yml` leads outside `" + b + "`") !=
          std::string::npos);
    CHECK(r.status().message().find("SECRET") == std::string::npos);
  }
  SUBCASE("relative symlink up and out") {
    REQUIRE(::symlink("../secret", (b + "/policy.yml").c_str()) == 0);
    CHECK_FALSE(hive::LoadBundle(b).ok());
  }
  SUBCASE("config.json symlinked out") {
    std::filesystem::remove(b + "/config.json");
    const std::string outside = dir.Write("config.json", kMinimal);
    REQUIRE(::symlink(outside.c_str(), (b + "/config.json").c_str()) == 0);
    auto r = hive::LoadBundle(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("leads outside") != std::string::npos);
  }
  SUBCASE("a symlink that stays inside is followed") {
    dir.Write("b/inner.yml", "security:\n  execution:\n    memory_mb: 64\n");
    REQUIRE(::symlink("inner.yml", (b + "/policy.yml").c_str()) == 0);
    auto r = hive::LoadBundle(b);
    REQUIRE(r.ok());
    auto p = hive::LoadBundlePolicy(*r);
    REQUIRE(p.ok());
    CHECK(p->execution.memory_mb == 64);
  }
  SUBCASE("a seccomp profile named by a relative path stays inside too") {
    dir.Write("b/policy.yml", "security:\n  process:\n    seccomp_profile: ./prof.yaml\n");
    REQUIRE(::symlink(secret.c_str(), (b + "/prof.yaml").c_str()) == 0);
    auto r = hive::LoadBundle(b);
    REQUIRE(r.ok());
    auto p = hive::LoadBundlePolicy(*r);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("security.process.seccomp_profile: seccomp profile `" + b +
                                    "/./prof.yaml` leads outside") != std::string::npos);
    std::filesystem::remove(b + "/prof.yaml");
    dir.Dir("b/seccomp", 0755);
    dir.Write("b/seccomp/mine.yaml", "defaultAction: SCMP_ACT_ALLOW\n");
    REQUIRE(::symlink("seccomp/mine.yaml", (b + "/prof.yaml").c_str()) == 0);
    p = hive::LoadBundlePolicy(*r);
    REQUIRE(p.ok());
    // Pinned to the file it resolved to, which the run then reads.
    CHECK(p->process.seccomp_profile == std::filesystem::canonical(b + "/seccomp/mine.yaml"));
  }
  SUBCASE("no policy.yml: the built-in policy") {
    auto r = hive::LoadBundle(b);
    REQUIRE(r.ok());
    CHECK_FALSE(r->policy_text.has_value());
    CHECK(hive::LoadBundlePolicy(*r)->sha256 == hive::DefaultPolicy().sha256);
  }
  SUBCASE("a FIFO is refused, not waited on") {
    alarm(30);  // a regression would block in open(): fail instead of hanging the suite
    REQUIRE(::mkfifo((b + "/policy.yml").c_str(), 0644) == 0);
    auto r = hive::LoadBundle(b);
    alarm(0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("is a FIFO, not a regular file") != std::string::npos);
  }
  SUBCASE("config.json over the cap") {
    dir.Write("b/config.json", std::string(hive::kBundleConfigInput.max_bytes + 1, ' '));
    auto r = hive::LoadBundle(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("more than the limit of 4194304 bytes") != std::string::npos);
  }
  SUBCASE("the bundle's policy may not choose the audit log") {
    dir.Write("b/policy.yml", "security:\n  audit:\n    log: /tmp/elsewhere.log\n");
    auto r = hive::LoadBundle(b);
    REQUIRE(r.ok());
    auto p = hive::LoadBundlePolicy(*r);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find(b + "/policy.yml:2:3: security.audit:") == 0);
  }
}

TEST_CASE("many environment variables: first-set order, later sources override in place") {
  // 100 000 variables took minutes when each one was looked up by a scan of the others.
  std::string env;
  constexpr int kVars = 100000;
  for (int i = 0; i < kVars; ++i) env += fmt::format("{}\"V{}={}\"", i ? "," : "", i, i);
  env += ",\"V7=last\"";
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"], "env": [)" + env +
                                    R"(]}, "root": {"path": "r", "readonly": true}})",
                                "config.json", "/b");
  REQUIRE(c.ok());
  hive::Bundle b;
  b.dir = "/b";
  b.config = *c;
  hive::SandboxRequest req;
  req.env = {"V9=cli"};
  auto spec = hive::CompileRunSpec(hive::DefaultPolicy(), req, &b.config);
  REQUIRE(spec.ok());
  const std::vector<std::string>& out = spec->process.env;
  REQUIRE(out.size() >= kVars);
  CHECK(out[0].rfind("PATH=", 0) == 0);
  CHECK(out[1] == "HOME=/tmp");
  CHECK(out[2] == "V0=0");
  CHECK(out[2 + 7] == "V7=last");
  CHECK(out[2 + 9] == "V9=cli");
  CHECK(out[2 + kVars - 1] == fmt::format("V{}={}", kVars - 1, kVars - 1));
}

TEST_CASE("rule: hooks need the policy's allow_oci_hooks and an absolute path") {
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"]}, "root": {"path": "r",
      "readonly": true}, "hooks": {"poststart": [{"path": "/bin/true"}],
      "createRuntime": [{"path": "hook"}]}})", "config.json", "/b");
  REQUIRE(c.ok());
  hive::SandboxRequest req;
  hive::Policy policy = hive::DefaultPolicy();
  auto spec = hive::CompileRunSpec(policy, req, &*c);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().rfind("hooks.createRuntime[0]", 0) == 0);
  CHECK(spec.status().message().find("allow_oci_hooks: false") != std::string::npos);
  policy.process.allow_oci_hooks = true;
  spec = hive::CompileRunSpec(policy, req, &*c);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().rfind("hooks.createRuntime[0].path", 0) == 0);
  c->hooks.create_runtime.clear();
  spec = hive::CompileRunSpec(policy, req, &*c);
  REQUIRE_MESSAGE(spec.ok(), spec.status().message());
  CHECK(spec->hooks.poststart.size() == 1);
  // Only a caller that runs them accepts hooks; a bundle run refuses them.
  for (const std::string& t : hive::SandboxNamespaces()) {
    if (!spec->HasNamespace(t)) spec->linux.namespaces.push_back({t, ""});
  }
  CHECK(hive::SupervisorRefusal(*spec, /*runs_oci_hooks=*/true).ok());
  CHECK(hive::SupervisorRefusal(*spec).message().rfind("hooks", 0) == 0);
}

TEST_CASE("rule: update's resources: fields by name, no lifting, no swap, no shares") {
  auto ok = hive::ParseResourcesUpdate(R"({"memory": {"limit": 33554432}, "pids": {"limit": 5},
      "cpu": {"quota": 50000, "period": 100000}})", "<stdin>");
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  CHECK(ok->memory_limit == 33554432);
  CHECK(ok->pids_limit == 5);
  CHECK(ok->cpu_quota == 50000);
  auto refused = [](const std::string& json, const char* field) {
    auto r = hive::ParseResourcesUpdate(json, "<stdin>");
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.status().message().find(field) != std::string::npos, r.status().message());
  };
  refused(R"({"hugepageLimits": []})", "linux.resources.hugepageLimits");
  refused(R"({"memory": {"kernel": 1}})", "linux.resources.memory.kernel");
  refused(R"({"memory": {"limit": -1}})", "linux.resources.memory.limit");
  refused(R"({"cpu": {"shares": 512}})", "linux.resources.cpu.shares");
  refused(R"({"cpu": {"quota": 50000}})", "linux.resources.cpu.quota");
}

TEST_CASE("mount options: noexec is applied; a bind option hive-run does not apply is refused") {
  auto c = hive::ParseOciConfig(R"({
    "process": {"args": ["sh"]}, "root": {"path": "rootfs"},
    "mounts": [{"destination": "/data", "type": "bind", "source": "/srv",
                "options": ["rbind", "noexec", "ro"]},
               {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                "options": ["noexec", "size=1m"]}]})",
                                "config.json", "/b");
  REQUIRE(c.ok());
  CHECK(c->mounts[0].no_exec);
  CHECK(c->mounts[0].read_only);
  CHECK(c->mounts[1].no_exec);
  CHECK(c->mounts[1].data == "size=1m");
  for (const char* option : {"rro", "idmap", "rshared"}) {
    const std::string m = ErrorOf(std::string(R"({"process": {"args": ["sh"]},
      "root": {"path": "rootfs"}, "mounts": [{"destination": "/d", "type": "bind",
      "source": "/srv", "options": ["rbind", ")") + option + R"("]}]})");
    CHECK(m.find("mounts[0].options") != std::string::npos);
    CHECK(m.find(option) != std::string::npos);
  }
}
