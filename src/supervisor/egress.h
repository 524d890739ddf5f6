// hive::Egress: per-domain network access for one run (security.network.allowed_domains).
//
// The sandbox keeps its own network namespace with only `lo`: nothing it does by itself can
// leave. Three things are added, all owned by the supervisor:
//   - a resolver bound at 127.0.0.53:53 *inside* that namespace (its /etc/resolv.conf points
//     there). It answers A/AAAA for allowed names by asking upstream_dns, NXDOMAIN for every
//     other name (never forwarded: a query name cannot carry data out), NODATA for other
//     types (HTTPS/SVCB included: no ECH configs, no address hints), and binds each address
//     it hands out to the name it was asked for. Private, loopback, link-local and metadata
//     addresses in an answer are dropped unless an IP/CIDR entry lists them (DNS rebinding).
//   - the decision on connect/bind/listen/sendto-with-an-address, which the seccomp filter
//     sends here (label "egress"). The supervisor reads the address itself, decides on its own
//     copy, and for an allowed destination connects a socket of its own, in the host's
//     namespace, and installs it over the sandbox's descriptor (SECCOMP_IOCTL_NOTIF_ADDFD with
//     SETFD): a thread rewriting the address after the check changes nothing. Everything else
//     is refused at once (EPERM; the kernel's own error for an allowed one that fails).
//   - on inspect_ports, a relay inside the same namespace instead of the direct hand-over:
//     the sandbox's own socket is connected to it, and the TLS SNI / HTTP Host of what the
//     client sends must be allowed and bound to the address before anything is dialled.
//   - the record: connections and DNS answers aggregated for the report, each refusal a
//     `network` violation.
// The decision and the connector are in egress.cc, the resolver in egress_resolver.cc, the
// relay in egress_relay.cc; egress_state.h is what they share.
//
//   HIVE_ASSIGN_OR_RETURN(auto egress, Egress::Create(spec.hive.network));   // parent, early
//   HIVE_TRY(egress->Attach(child_pid));      // after clone, before the child's go-ahead
//   egress->SetListener(listener.fd());
//   listener.Handle("egress", [&](const auto& n) { return egress->Decide(n); });
//   ...; egress->Stop(); report["network"] = egress->ReportJson();
#pragma once

#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {

class Egress {
 public:
  // Checks that this host can enforce it (kernel features, YAMA, privileges) and refuses,
  // naming what is missing, when it cannot.
  static Result<std::unique_ptr<Egress>> Create(const NetworkSpec& spec);
  ~Egress();

  // The sandbox's namespace (pid: its pid 1): brings `lo` up, binds the resolver there and
  // starts it.
  Status Attach(pid_t pid);
  // The seccomp listener the notifications come from (to check they are still valid).
  void SetListener(int fd);
  // Answers one "egress" notification.
  seccomp::Response Decide(const seccomp::Notification& n);
  // Stops the resolver. Idempotent.
  void Stop();

  // {allowed_domains, connections: [{domain, ip, port, verdict, reason, count}],
  //  dns: [{name, verdict, count}]}
  nlohmann::json ReportJson() const;
  // One entry per refused (destination, reason) and per refused name: type "network".
  std::vector<seccomp::Denial> Refusals() const;

  struct State;

 private:
  Egress() = default;
  std::unique_ptr<State> s_;
};

}  // namespace hive
