// The policy validator: one test per rule, no privileges needed.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include <fmt/format.h>

#include "base/files.h"
#include "base/user_text.h"
#include "hive/policy.h"
#include "temp_dir.h"

namespace {

hive::Result<hive::Policy> Parse(const std::string& yaml) {
  return hive::ParsePolicy(yaml, "p.yml", "/base");
}

std::string ErrorOf(const std::string& yaml) {
  auto r = Parse(yaml);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("empty document is the default policy") {
  auto p = Parse("");
  REQUIRE(p.ok());
  CHECK(p->execution.memory_mb == 512);
  CHECK(p->execution.max_processes == 64);
  CHECK(p->execution.timeout_seconds == 300);
  CHECK(p->network.allowed_domains.empty());
}

TEST_CASE("the built-in policy's sha256 is that of its YAML rendering") {
  // DefaultPolicy() carries the hash as a constant; a change of defaults must update it.
  const hive::Policy p = hive::DefaultPolicy();
  CHECK(p.sha256 == hive::Sha256Hex(hive::PolicyToYaml(p)));
}

TEST_CASE("seed policy loads with its values") {
  // The seeds' security_policy.yml, comments and all.
  auto text = hive::ReadFile(HIVE_FIXTURES "/security_policy.yml");
  REQUIRE(text.ok());
  auto p = Parse(*text);
  REQUIRE(p.ok());
  CHECK(p->execution.max_processes == 5);
  CHECK(p->filesystem.allowed_paths ==
        std::vector<std::string>{"/tmp", "/base/data", "/base/logs"});
  CHECK(p->filesystem.blocked_operations.size() == 3);
  CHECK(p->network.blocked_ports == std::vector<uint16_t>{22, 23, 3389});
  CHECK(p->monitoring.alert_thresholds.execution_time == 250);
  CHECK(p->sha256.size() == 64);
}

TEST_CASE("rule: integers must be integers, with file:line:col and key path") {
  std::string e = ErrorOf("security:\n  execution:\n    memory_mb: lots\n");
  CHECK(e == "p.yml:3:16: security.execution.memory_mb: expected a non-negative integer, got \"lots\"");
}

TEST_CASE("rule: negative numbers are refused") {
  CHECK(ErrorOf("security:\n  execution:\n    max_processes: -1\n").find("max_processes") !=
        std::string::npos);
}

TEST_CASE("rule: unknown keys are refused and the known ones listed") {
  std::string e = ErrorOf("security:\n  executon: {}\n");
  CHECK(e.find("p.yml:2:3: security.executon: unknown key") != std::string::npos);
  CHECK(e.find("execution") != std::string::npos);
  CHECK(ErrorOf("other: 1\n").find("other: unknown key") != std::string::npos);
}

TEST_CASE("rule: wrong container types are refused") {
  CHECK(ErrorOf("security:\n  filesystem:\n    allowed_paths: /tmp\n")
            .find("security.filesystem.allowed_paths: expected a list") != std::string::npos);
  CHECK(ErrorOf("security: [1]\n").find("security: expected a mapping") != std::string::npos);
}

TEST_CASE("rule: ports are 1..65535") {
  CHECK(ErrorOf("security:\n  network:\n    blocked_ports: [0]\n").find("blocked_ports[0]") !=
        std::string::npos);
  CHECK(ErrorOf("security:\n  network:\n    blocked_ports: [65536]\n").find("out of range") !=
        std::string::npos);
}

TEST_CASE("rule: blocked operations are a closed set") {
  CHECK(ErrorOf("security:\n  filesystem:\n    blocked_operations: [explode]\n")
            .find("blocked_operations[0]: expected one of delete") != std::string::npos);
}

TEST_CASE("rule: allowed_domains takes names, wildcards, IPs and CIDRs, nothing else") {
  CHECK(Parse("security:\n  network:\n    allowed_domains: [example.org, '*.example.net', "
              "192.0.2.1, '198.51.100.0/24']\n")
            .ok());
  CHECK(ErrorOf("security:\n  network:\n    allowed_domains: ['http://example.org']\n")
            .find("security.network.allowed_domains[0]") != std::string::npos);
}

TEST_CASE("rule: duplicate keys are refused") {
  CHECK(ErrorOf("security:\n  execution:\n    memory_mb: 1\n    memory_mb: 2\n")
            .find("duplicate key") != std::string::npos);
}

TEST_CASE("rule: capabilities are named CAP_*") {
  CHECK(ErrorOf("security:\n  process:\n    capabilities: [net_admin]\n").find("CAP_") !=
        std::string::npos);
}

TEST_CASE("rule: invalid YAML names the position") {
  CHECK(ErrorOf("security: {\n").find("p.yml:") == 0);
}

TEST_CASE("effective policy round-trips through YAML") {
  auto p = Parse("security:\n  execution:\n    memory_mb: 128\n    cpus: 0.5\n");
  REQUIRE(p.ok());
  std::string yaml = hive::PolicyToYaml(*p);
  auto again = hive::ParsePolicy(yaml, "shown.yml", "/");
  REQUIRE(again.ok());
  CHECK(again->execution.memory_mb == 128);
  CHECK(again->execution.cpus == doctest::Approx(0.5));
  CHECK(hive::PolicyToYaml(*again) == yaml);
}

TEST_CASE("rule: numbers past a field's range are refused, never wrapped") {
  // 2^32 + 1 processes was accepted and written to pids.max, which refused it: no limit at all.
  CHECK(ErrorOf("security:\n  execution:\n    max_processes: 4294967297\n") ==
        "p.yml:3:20: security.execution.max_processes: 4294967297 is out of range (0..4194304)");
  // 2^44 + 512 MiB is 512 MiB once multiplied into bytes in 64 bits.
  CHECK(ErrorOf("security:\n  execution:\n    memory_mb: 17592186044928\n")
            .find("memory_mb: 17592186044928 is out of range (0..1073741824)") !=
        std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    memory_mb: 99999999999999999999\n")
            .find("99999999999999999999 is out of range") != std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    file_size_mb: 17592186044416\n")
            .find("file_size_mb") != std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    cpu_seconds: 18446744073709551615\n")
            .find("cpu_seconds") != std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    max_open_files: 4294967296\n")
            .find("max_open_files") != std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    timeout_seconds: 1e400\n")
            .find("timeout_seconds: 1e400 is out of range (0..31536000)") != std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    timeout_seconds: -5\n")
            .find("timeout_seconds: expected a non-negative number, got \"-5\"") !=
        std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    cpus: 0.001\n")
            .find("cpus: 0.001 is out of range (0 for no limit, or 0.01..4096)") !=
        std::string::npos);
  CHECK(ErrorOf("security:\n  execution:\n    io: {read_bps: 18446744073709551615}\n")
            .find("io.read_bps") != std::string::npos);
  auto top = Parse("security:\n  execution:\n    memory_mb: 1073741824\n    max_processes: "
                   "4194304\n    cpus: 0.01\n");
  REQUIRE(top.ok());
  CHECK(top->execution.memory_mb == hive::kMaxMegabytes);
}

TEST_CASE("one number parser for the policy and the command line") {
  CHECK(hive::ParseUnsigned("512", 1, 1024).value() == 512);
  CHECK(hive::ParseUnsigned("18446744073709551616", 0, UINT64_MAX).status().message() ==
        "18446744073709551616 is out of range (0..18446744073709551615)");
  CHECK(hive::ParseUnsigned("0", 1, 10).status().message() == "0 is out of range (1..10)");
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0"}) {
    CHECK_FALSE(hive::ParseUnsigned(bad, 0, 100).ok());
  }
  CHECK(hive::ParseDecimal("0.5", 0, 1).value() == doctest::Approx(0.5));
  CHECK(hive::ParseDecimal("300", 0, 300).value() == 300);
  CHECK(hive::ParseDecimal("1e-05", 0, 1).value() == doctest::Approx(1e-5));
  CHECK(hive::ParseDecimal("2.5E+2", 0, 300).value() == doctest::Approx(250));
  for (const char* bad : {"", ".", "-1", "e3", "1e", "1e+", "nan", "inf", "0x1p3", "1.2.3", "1,5",
                          " 1"}) {
    CHECK_FALSE(hive::ParseDecimal(bad, 0, 1e9).ok());
  }
  CHECK(hive::ParseDecimal("300.5", 0, 300).status().message() == "300.5 is out of range (0..300)");
}

TEST_CASE("quantities with units go through the one parser, ranged in the base unit") {
  using hive::ParseQuantity;
  CHECK(ParseQuantity("5m", hive::kDurationUnits, 0, 31536000, "s").value() == 300);
  CHECK(ParseQuantity("90", hive::kDurationUnits, 0, 31536000, "s").value() == 90);
  CHECK(ParseQuantity("1.5h", hive::kDurationUnits, 0, 31536000, "s").value() == 5400);
  CHECK(ParseQuantity("2G", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB").value() == 2048);
  CHECK(ParseQuantity("2GiB", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB").value() == 2048);
  CHECK(ParseQuantity("512m", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB").value() == 512);
  CHECK(ParseQuantity("0.5G", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB", true).value() == 512);
  CHECK(ParseQuantity("1.5M", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB", true).status().message() ==
        "\"1.5M\" is not a whole number of MiB");
  CHECK(ParseQuantity("2X", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB").status().message().find(
            "unknown unit in \"2X\"") == 0);
  CHECK(ParseQuantity("2000T", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB").status().message() ==
        "\"2000T\" is out of range (1..1073741824 MiB)");
  for (const char* bad : {"", "m", "-5m", "5 m", "1e999G", "nanG", "0x10"}) {
    CHECK_FALSE(ParseQuantity(bad, hive::kSizeUnitsMiB, 1, 1 << 30, "MiB").ok());
  }
  // Whole quantities take no exponent, like the policy's integers; durations do, like its
  // decimals.
  CHECK_FALSE(ParseQuantity("1e3", hive::kSizeUnitsMiB, 1, 1 << 30, "MiB", true).ok());
  CHECK(ParseQuantity("1e3", hive::kDurationUnits, 0, 31536000, "s").value() == 1000);
}

TEST_CASE("messages quote at most the offending token, cut short") {
  CHECK(hive::Quoted("ab\"c\n") == "\"ab\\\"c\\n\"");
  const std::string long_token(100, 'x');
  CHECK(hive::Quoted(long_token) == "\"" + std::string(hive::kQuotedMax, 'x') + "…\"");
  // Never half a UTF-8 character.
  CHECK(hive::Quoted(std::string(39, 'a') + "éé") == "\"" + std::string(39, 'a') + "…\"");
  const std::string secret = "root:$6$salt$0123456789abcdefSECRETSECRETSECRET:19000:0:99999:7:::";
  std::string e = ErrorOf("security:\n  execution:\n    memory_mb: " + secret + "\n");
  CHECK(e.find("SECRETSECRETSECRET") == std::string::npos);
  e = ErrorOf(secret + "\ndaemon:*:19000:0:99999:7:::\n");
  CHECK(e.find("SECRETSECRETSECRET") == std::string::npos);
  CHECK(e.find("daemon") == std::string::npos);
}

TEST_CASE("rule: a policy is one YAML document") {
  // Reading only the first document would silently drop what the second one says.
  CHECK(ErrorOf("security:\n  execution:\n    memory_mb: 64\n---\nsecurity:\n  execution:\n"
                "    memory_mb: 99999\n")
            .find("p.yml:5: a policy is one YAML document") == 0);
  CHECK(Parse("---\nsecurity: {}\n").ok());
}

TEST_CASE("rule: env.set keys are not duplicated") {
  CHECK(ErrorOf("security:\n  process:\n    env:\n      set: {A: '1', A: '2'}\n")
            .find("security.process.env.set.A: duplicate key") != std::string::npos);
}

TEST_CASE("rule: a bundle's own policy may not choose the audit log") {
  const std::string yaml =
      "security:\n  execution:\n    memory_mb: 64\n  audit:\n    log: /x.log\n";
  auto bundle = hive::ParsePolicy(yaml, "b/policy.yml", "/b", hive::PolicyOrigin::kBundle);
  REQUIRE_FALSE(bundle.ok());
  CHECK(bundle.status().message().find("b/policy.yml:4:3: security.audit: a bundle's own policy "
                                       "may not choose the audit log") == 0);
  CHECK_FALSE(hive::ParsePolicy("security:\n  audit: {}\n", "b/policy.yml", "/b",
                                hive::PolicyOrigin::kBundle)
                  .ok());
  auto ok = hive::ParsePolicy("security:\n  execution: {memory_mb: 64}\n", "b/policy.yml", "/b",
                              hive::PolicyOrigin::kBundle);
  CHECK(ok.ok());
  // The operator's policy (--policy) still may.
  auto op = hive::ParsePolicy(yaml, "op.yml", "/");
  REQUIRE(op.ok());
  CHECK(op->audit.log == "/x.log");
}

TEST_CASE("policy files are regular files under a size cap") {
  hive::testing::TempDir dir;
  // A regression would block in open() (FIFO) or read forever (/dev/zero): fail instead.
  alarm(30);
  const std::string fifo = dir.path() + "/fifo.yml";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto f = hive::LoadPolicyFile(fifo);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message() == "policy `" + fifo + "` is a FIFO, not a regular file");
  auto z = hive::LoadPolicyFile("/dev/zero");
  REQUIRE_FALSE(z.ok());
  CHECK(z.status().message() == "policy `/dev/zero` is a character device, not a regular file");
  auto d = hive::LoadPolicyFile(dir.path());
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("is a directory") != std::string::npos);
  alarm(0);
  const std::string big = dir.Write("big.yml", std::string(hive::kPolicyInput.max_bytes + 1, '#'));
  auto b = hive::LoadPolicyFile(big);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message() ==
        fmt::format("policy `{}` is 1048577 bytes, more than the limit of 1048576 bytes for a "
                    "policy",
                    big));
  const std::string fits = dir.Write("fits.yml", "security: {}\n" +
                                                     std::string(hive::kPolicyInput.max_bytes - 13,
                                                                 '#'));
  CHECK(hive::LoadPolicyFile(fits).ok());
}

TEST_CASE("rule: limits cannot be made optional") {
  std::string e = ErrorOf("security:\n  execution:\n    require_limits: false\n");
  CHECK(e.find("security.execution.require_limits: false is not accepted") != std::string::npos);
  CHECK(Parse("security:\n  execution:\n    require_limits: true\n").ok());
}

TEST_CASE("rule: process.allowed_binaries and tools_dirs load, relative to the base") {
  auto p = Parse("security:\n  process:\n    allowed_binaries: [ls, python3]\n"
                 "    tools_dirs: [./tools/bin, /opt/t]\n");
  REQUIRE(p.ok());
  REQUIRE(p->process.allowed_binaries.has_value());
  CHECK(*p->process.allowed_binaries == std::vector<std::string>{"ls", "python3"});
  CHECK(p->process.tools_dirs == std::vector<std::string>{"/base/tools/bin", "/opt/t"});
  // Absent: exec is not restricted; an empty list is the built-in list, still enforced.
  CHECK_FALSE(Parse("security: {}\n")->process.allowed_binaries.has_value());
  CHECK(Parse("security:\n  process:\n    allowed_binaries: []\n")
            ->process.allowed_binaries.has_value());
  CHECK(ErrorOf("security:\n  process:\n    allowed_binaries: ls\n").find("expected a list") !=
        std::string::npos);
  CHECK(ErrorOf("security:\n  process:\n    allowed_binaries: ['']\n").find("empty name") !=
        std::string::npos);
  // Shown only when set, so that the built-in policy's identity does not move.
  CHECK(hive::PolicyToYaml(*p).find("allowed_binaries: [ls, python3]") != std::string::npos);
  CHECK(hive::PolicyToYaml(hive::DefaultPolicy()).find("allowed_binaries") == std::string::npos);
}

TEST_CASE("rule: a policy below the working directory resolves against it (the seeds' layout)") {
  char buf[4096];
  REQUIRE(getcwd(buf, sizeof buf) != nullptr);
  const std::string cwd = buf;
  if (cwd != "/") {
    CHECK(hive::RelativePathBase(cwd + "/scripts/config") == cwd);
    CHECK(hive::RelativePathBase(cwd) == cwd);
  }
  CHECK(hive::RelativePathBase("/nonexistent-elsewhere/x") == "/nonexistent-elsewhere/x");
}

TEST_CASE("rule: allow_oci_hooks is a boolean, off by default, shown once set") {
  auto p = Parse("");
  REQUIRE(p.ok());
  CHECK_FALSE(p->process.allow_oci_hooks);
  CHECK(hive::PolicyToYaml(*p).find("allow_oci_hooks") == std::string::npos);
  p = Parse("security:\n  process:\n    allow_oci_hooks: true\n");
  REQUIRE(p.ok());
  CHECK(p->process.allow_oci_hooks);
  CHECK(hive::PolicyToYaml(*p).find("allow_oci_hooks: true") != std::string::npos);
  auto bad = Parse("security:\n  process:\n    allow_oci_hooks: sometimes\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("security.process.allow_oci_hooks") != std::string::npos);
}

// NoWeakerThan: the comparison that lets a container select a stricter shipped policy
// (annotation org.hive-run.policy) and never a weaker one.
namespace {

hive::Policy Node() {
  auto p = hive::ParsePolicy(
      "security:\n"
      "  execution: {timeout_seconds: 600, cpu_seconds: 100, memory_mb: 1024, file_size_mb: 50,\n"
      "              max_processes: 100, max_open_files: 1024, cpus: 2,\n"
      "              io: {read_bps: 1000000, write_bps: 1000000}, tmp_size_mb: 64}\n"
      "  filesystem: {allowed_paths: [/srv/data], read_only_paths: [/srv/ro],\n"
      "               blocked_operations: [chmod], writable_rootfs: false,\n"
      "               engine_files_writable: false}\n"
      "  network: {allowed_domains: [api.example.com, '*.example.org', 10.0.0.0/8],\n"
      "            blocked_ports: [22], allowed_ports: [443], inspect_ports: [443],\n"
      "            upstream_dns: [192.0.2.53]}\n"
      "  process: {seccomp_profile: default, capabilities: [CAP_NET_BIND_SERVICE, CAP_KILL],\n"
      "            allowed_binaries: [python3], tools_dirs: [/opt/tools],\n"
      "            env: {pass: [LANG]}}\n",
      "node.yml", "/");
  REQUIRE(p.ok());
  return *p;
}

// The message NoWeakerThan gives for `chosen` against Node(), "" when it is no weaker.
std::string WeakerKey(const hive::Policy& chosen) {
  hive::Status s = hive::NoWeakerThan(chosen, Node());
  return s.ok() ? "" : s.message();
}

}  // namespace

TEST_CASE("rule: a policy is no weaker than itself") {
  CHECK(hive::NoWeakerThan(Node(), Node()).ok());
  auto c = hive::ContainerPolicy();
  REQUIRE(c.ok());
  CHECK(hive::NoWeakerThan(*c, *c).ok());
}

TEST_CASE("rule: each weaker field is refused with its key path and both values") {
  struct Case {
    std::function<void(hive::Policy&)> loosen;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](hive::Policy& p) { p.execution.timeout_seconds = 0; },
       "security.execution.timeout_seconds 0 (unlimited) > 600"},
      {[](hive::Policy& p) { p.execution.cpu_seconds = 101; },
       "security.execution.cpu_seconds 101 > 100"},
      {[](hive::Policy& p) { p.execution.memory_mb = 4096; },
       "security.execution.memory_mb 4096 > 1024"},
      {[](hive::Policy& p) { p.execution.file_size_mb = 0; },
       "security.execution.file_size_mb 0 (unlimited) > 50"},
      {[](hive::Policy& p) { p.execution.max_processes = 101; },
       "security.execution.max_processes 101 > 100"},
      {[](hive::Policy& p) { p.execution.max_open_files = 2048; },
       "security.execution.max_open_files 2048 > 1024"},
      {[](hive::Policy& p) { p.execution.cpus = 0; }, "security.execution.cpus 0 (unlimited) > 2"},
      {[](hive::Policy& p) { p.execution.io_read_bps = 0; },
       "security.execution.io.read_bps 0 (unlimited) > 1000000"},
      {[](hive::Policy& p) { p.execution.io_write_bps = 2000000; },
       "security.execution.io.write_bps 2000000 > 1000000"},
      {[](hive::Policy& p) { p.execution.tmp_size_mb = 128; },
       "security.execution.tmp_size_mb 128 > 64"},
      {[](hive::Policy& p) { p.filesystem.allowed_paths = {"/srv"}; },
       "security.filesystem.allowed_paths has `/srv`, not inside any of [/srv/data]"},
      {[](hive::Policy& p) { p.filesystem.read_only_paths = {"/etc"}; },
       "security.filesystem.read_only_paths has `/etc`"},
      {[](hive::Policy& p) { p.filesystem.blocked_operations = {}; },
       "security.filesystem.blocked_operations [] lacks chmod of [chmod]"},
      {[](hive::Policy& p) { p.filesystem.writable_rootfs = true; },
       "security.filesystem.writable_rootfs true > false"},
      {[](hive::Policy& p) { p.filesystem.engine_files_writable = true; },
       "security.filesystem.engine_files_writable true > false"},
      {[](hive::Policy& p) { p.network.allowed_domains = {"other.example.com"}; },
       "security.network.allowed_domains has other.example.com"},
      {[](hive::Policy& p) { p.network.allowed_domains = {"*.example.com"}; },
       "security.network.allowed_domains has *.example.com"},
      {[](hive::Policy& p) { p.network.allowed_domains = {"10.0.0.0/7"}; },
       "security.network.allowed_domains has 10.0.0.0/7"},
      {[](hive::Policy& p) { p.network.blocked_ports = {}; },
       "security.network.blocked_ports [] lacks 22"},
      {[](hive::Policy& p) { p.network.allowed_ports = {}; },
       "security.network.allowed_ports [] (every port) is wider than [443]"},
      {[](hive::Policy& p) { p.network.allowed_ports = {443, 80}; },
       "security.network.allowed_ports has 80, not in [443]"},
      {[](hive::Policy& p) { p.network.inspect_ports = {}; },
       "security.network.inspect_ports [] lacks 443"},
      {[](hive::Policy& p) { p.network.upstream_dns = {}; },
       "security.network.upstream_dns [] is not [192.0.2.53]"},
      {[](hive::Policy& p) { p.process.seccomp_profile = "permissive"; },
       "security.process.seccomp_profile `permissive` is not `default` or stricter"},
      {[](hive::Policy& p) { p.process.seccomp_profile = "unconfined"; },
       "security.process.seccomp_profile `unconfined`"},
      {[](hive::Policy& p) { p.process.seccomp_profile = "/etc/my.json"; },
       "security.process.seccomp_profile `/etc/my.json`"},
      {[](hive::Policy& p) { p.process.capabilities.push_back("CAP_CHOWN"); },
       "security.process.capabilities has CAP_CHOWN, not in [CAP_NET_BIND_SERVICE, CAP_KILL]"},
      {[](hive::Policy& p) { p.process.allow_oci_hooks = true; },
       "security.process.allow_oci_hooks true > false"},
      {[](hive::Policy& p) { p.process.host_namespaces = {"network"}; },
       "security.process.host_namespaces has network, not in []"},
      {[](hive::Policy& p) { p.process.allowed_binaries.reset(); },
       "security.process.allowed_binaries unset (any program) is wider than [python3]"},
      {[](hive::Policy& p) { p.process.allowed_binaries->push_back("bash"); },
       "security.process.allowed_binaries has bash, not in [python3]"},
      {[](hive::Policy& p) { p.process.tools_dirs = {"/opt"}; },
       "security.process.tools_dirs has `/opt`"},
      {[](hive::Policy& p) { p.process.env_pass.push_back("AWS_SECRET_ACCESS_KEY"); },
       "security.process.env.pass has AWS_SECRET_ACCESS_KEY, not in [LANG]"},
      {[](hive::Policy& p) { p.landlock.best_effort = true; },
       "security.landlock.best_effort true > false"},
  };
  for (const Case& c : cases) {
    hive::Policy chosen = Node();
    c.loosen(chosen);
    const std::string message = WeakerKey(chosen);
    INFO("expected: " << c.message << "; got: " << message);
    CHECK(message.find(c.message) == 0);
  }
}

TEST_CASE("rule: refuse_at may only refuse more") {
  hive::Policy node = Node();
  node.analysis.refuse_at = "high";
  hive::Policy chosen = node;
  chosen.analysis.refuse_at = "critical";
  CHECK(hive::NoWeakerThan(chosen, node).message().find("security.analysis.refuse_at") == 0);
  chosen.analysis.refuse_at = "medium";
  CHECK(hive::NoWeakerThan(chosen, node).ok());
}

TEST_CASE("rule: a stricter policy in every field is accepted") {
  hive::Policy chosen = Node();
  hive::ExecutionLimits& e = chosen.execution;
  e.timeout_seconds = 60;
  e.cpu_seconds = 10;
  e.memory_mb = 256;
  e.file_size_mb = 10;
  e.max_processes = 10;
  e.max_open_files = 64;
  e.cpus = 1;
  e.io_read_bps = e.io_write_bps = 1000;
  e.tmp_size_mb = 16;
  chosen.filesystem.allowed_paths = {"/srv/data/sub"};
  chosen.filesystem.read_only_paths = {"/srv/ro/x", "/srv/data/y"};
  chosen.filesystem.blocked_operations = {"chmod", "delete"};
  chosen.network.allowed_domains = {"api.example.com", "*.a.example.org", "b.example.org",
                                    "10.1.2.3", "10.0.0.0/8"};
  chosen.network.blocked_ports = {22, 25};
  chosen.network.inspect_ports = {443, 80};
  chosen.process.seccomp_profile = "strict";
  chosen.process.capabilities = {"CAP_KILL"};
  chosen.process.tools_dirs = {"/opt/tools/bin"};
  chosen.process.env_pass = {};
  chosen.analysis.refuse_at = "low";
  CHECK(hive::NoWeakerThan(chosen, Node()).ok());
  // No network at all: its ports and resolver loosen nothing.
  hive::Policy offline = Node();
  offline.network = {};
  offline.network.allowed_domains = {};
  offline.network.blocked_ports = {};
  CHECK(hive::NoWeakerThan(offline, Node()).ok());
}

TEST_CASE("the shipped container policies: container-restricted is no weaker than container") {
  CHECK(hive::ShippedContainerPolicyNames() ==
        std::vector<std::string>{"container", "container-restricted"});
  auto container = hive::ShippedContainerPolicy("container");
  auto restricted = hive::ShippedContainerPolicy("container-restricted");
  REQUIRE(container.ok());
  REQUIRE(restricted.ok());
  CHECK(restricted->source == "<built-in container-restricted>");
  CHECK(restricted->process.capabilities == std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  CHECK(hive::NoWeakerThan(*restricted, *container).ok());
  CHECK(hive::NoWeakerThan(*container, *restricted).message() ==
        "security.execution.memory_mb 4096 > 1024");
  CHECK(hive::CheckPolicyReferences(*restricted).ok());
  auto unknown = hive::ShippedContainerPolicy("../../etc/shadow");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() ==
        "\"../../etc/shadow\" is not a policy shipped with hive-run (known: container, "
        "container-restricted)");
}

TEST_CASE("rule: host_namespaces lists network, uts, ipc, pid only, empty by default") {
  auto p = Parse("");
  REQUIRE(p.ok());
  CHECK(p->process.host_namespaces.empty());
  CHECK(hive::PolicyToYaml(*p).find("host_namespaces") == std::string::npos);
  p = Parse("security:\n  process:\n    host_namespaces: [network, uts, ipc, pid]\n");
  REQUIRE(p.ok());
  CHECK(p->process.host_namespaces ==
        std::vector<std::string>{"network", "uts", "ipc", "pid"});
  CHECK(hive::PolicyToYaml(*p).find("host_namespaces: [network, uts, ipc, pid]") !=
        std::string::npos);
  for (const char* bad : {"user", "mount", "cgroup", "time", "net"}) {
    auto r = Parse(std::string("security:\n  process:\n    host_namespaces: [uts, ") + bad +
                   "]\n");
    REQUIRE_FALSE(r.ok());
    const std::string& m = r.status().message();
    CHECK(m.find(":3:") != std::string::npos);  // file:line:col
    CHECK(m.find("security.process.host_namespaces[1]") != std::string::npos);
    CHECK(m.find(bad) != std::string::npos);
  }
}
