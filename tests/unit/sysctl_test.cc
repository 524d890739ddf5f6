// linux.sysctl: which keys a container may set (its namespaces' own), and that a key can only
// name a file under /proc/sys. No privileges: Prepare only reads the host's /proc/sys.
#include "sandbox/sysctl.h"

#include <doctest/doctest.h>

#include <string>

using hive::sysctl::Owned;
using hive::sysctl::Prepare;

namespace {

constexpr Owned kAllOwn{true, true, true};

std::string ErrorOf(const std::string& key, const Owned& owned = kAllOwn) {
  auto r = Prepare({{key, "1"}}, owned);
  return r.ok() ? "" : r.status().message();
}

}  // namespace

TEST_CASE("namespaced keys become /proc/sys paths") {
  auto r = Prepare({{"net.ipv4.ip_unprivileged_port_start", "80"},
                    {"kernel.shmmni", "2048"},
                    {"kernel.hostname", "h"},
                    {"net/ipv4/ip_forward", "1"}},
                   kAllOwn);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  REQUIRE(r->size() == 4);
  // std::map order: kernel.hostname, kernel.shmmni, net.ipv4..., net/ipv4/...
  CHECK((*r)[0].uts_call == 1);
  CHECK((*r)[1].path == "/proc/sys/kernel/shmmni");
  CHECK((*r)[2].path == "/proc/sys/net/ipv4/ip_unprivileged_port_start");
  CHECK((*r)[2].value == "80");
  CHECK((*r)[3].path == "/proc/sys/net/ipv4/ip_forward");
}

TEST_CASE("a key that would change the host is refused, named") {
  for (const char* key : {"kernel.panic", "vm.overcommit_memory", "kernel.shm_next_id_x",
                          "fs.file-max", "kernel/randomize_va_space"}) {
    const std::string e = ErrorOf(key);
    CHECK_MESSAGE(e.find(std::string("linux.sysctl.") + key) == 0, e);
  }
  CHECK(ErrorOf("net.ipv4.ip_forward", {false, true, true}).find("network namespace is shared") !=
        std::string::npos);
  CHECK(ErrorOf("kernel.sem", {true, false, true}).find("ipc namespace is shared") !=
        std::string::npos);
  CHECK(ErrorOf("fs.mqueue.msg_max", {true, false, true}).find("ipc") != std::string::npos);
  CHECK(ErrorOf("kernel.domainname", {true, true, false}).find("uts") != std::string::npos);
}

TEST_CASE("a key cannot leave /proc/sys") {
  for (const char* key : {"net.ipv4.../../kernel.panic", "net/../../etc/passwd", "net..ipv4",
                          "net.ipv4.", ".net", "", "net.ipv4.conf.a b", "net.ipv4\n"}) {
    const std::string e = ErrorOf(key);
    CHECK_MESSAGE(e.find("linux.sysctl.") == 0, e);
  }
  CHECK(ErrorOf("net.ipv4.no_such_sysctl").find("no such sysctl") != std::string::npos);
}
