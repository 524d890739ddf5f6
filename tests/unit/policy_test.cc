// The policy validator: one test per rule, no privileges needed.
#include <doctest/doctest.h>

#include "base/files.h"
#include "hive/policy.h"

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

TEST_CASE("rule: per-domain network access is refused rather than granting all network") {
  CHECK(ErrorOf("security:\n  network:\n    allowed_domains: [example.org]\n")
            .find("not supported") != std::string::npos);
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
