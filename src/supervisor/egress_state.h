// Egress::State: what the parts of per-domain network access share — the decision
// (egress.cc), the resolver (egress_resolver.cc) and the inspection relay (egress_relay.cc).
// Private to src/supervisor.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "base/unique_fd.h"
#include "sandbox/net/allowlist.h"
#include "sandbox/net/dns.h"
#include "sandbox/net/first_flight.h"
#include "sandbox/net/http_stream.h"
#include "sandbox/network.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#include "supervisor/egress.h"

namespace hive {
namespace egress {

// The resolver's address inside the sandbox (systemd-resolved's stub address, so images that
// expect it find it).
inline constexpr char kResolverIp[] = "127.0.0.53";
inline constexpr uint16_t kDnsPort = 53;
// How long the supervisor waits for an allowed connect before it answers ETIMEDOUT, when the
// sandbox's socket sets no SO_SNDTIMEO of its own.
inline constexpr int kConnectTimeoutMs = 20000;
// How long the supervisor's loop itself waits for a connect before the connector takes it.
inline constexpr int kInlineConnectMs = 2;
inline constexpr int kUpstreamTimeoutMs = 2000;
// The TTL handed to clients; bindings last for the whole run, so a client re-asking is cheap.
inline constexpr uint32_t kMaxClientTtl = 300;
// Bounds on what a run can make the supervisor remember.
inline constexpr size_t kMaxBindings = 8192;
inline constexpr size_t kMaxRecords = 512;
// Inspected connections: how long the client has to send its first flight, and how many may
// be relayed at once (each has a thread).
inline constexpr int kFirstFlightTimeoutMs = 10000;
inline constexpr int kMaxFlows = 256;

}  // namespace egress

struct Egress::State {
  NetworkSpec spec;
  net::Allowlist allow;
  std::vector<net::IpAddress> upstream;
  uint64_t host_cookie = 0, sandbox_cookie = 0;
  int listener_fd = -1;
  UniqueFd dns, stop;
  std::thread resolver;
  // The relay for inspect_ports: listeners inside the sandbox's namespace, to which the
  // supervisor connects the sandbox's own socket; what the client sends first is checked
  // before anything is dialled.
  UniqueFd relay4, relay6;
  sockaddr_in relay4_addr{};
  sockaddr_in6 relay6_addr{};
  std::thread relay;
  // Relayed connections, each with its thread and whether it is done; the relay thread
  // joins the finished ones as it accepts new ones, Stop joins the rest.
  std::list<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> flow_threads;
  std::atomic<int> active_flows{0};
  struct Flow {
    std::string name;     // the name the address is bound to ("" for an IP/CIDR entry)
    std::string ip_rule;  // the IP/CIDR entry that allowed it, or ""
    net::IpAddress ip;
    uint16_t port = 0;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    int domain = AF_INET;
  };

  mutable std::mutex mu;  // everything below: the resolver thread and the decisions share it
  std::map<std::string, std::set<std::string>> bindings;  // ip -> names
  // (domain, ip, port, verdict, reason) -> count
  std::map<std::tuple<std::string, std::string, uint16_t, std::string, std::string>, uint64_t>
      connections;
  std::map<std::pair<std::string, std::string>, uint64_t> queries;  // (name, verdict)
  std::vector<std::string> connection_order, query_order;
  uint64_t dropped = 0;
  std::map<uint16_t, Flow> flows;  // by the sandbox socket's local port, until accepted

  // Connects made on the sandbox's behalf that are still under way: the connector thread
  // waits for them and answers their notifications, so that the supervisor's own loop
  // (timeouts, signals, other notifications) never waits for a remote host.
  struct Pending {
    uint64_t id = 0;
    int target_fd = -1;
    bool cloexec = false, nonblock = false;
    UniqueFd hs;
    std::chrono::steady_clock::time_point deadline;
    std::string domain, ip, reason;
    uint16_t port = 0;
  };
  std::mutex queue_mu;
  std::vector<Pending> queue;  // handed to the connector
  UniqueFd wake;
  std::thread connector;
  void Connect();
  void Finish(Pending& p, int err);

  void RecordConnection(const std::string& domain, const std::string& ip, uint16_t port,
                        const std::string& verdict, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_tuple(domain, ip, port, verdict, reason);
    auto it = connections.find(key);
    if (it != connections.end()) {
      ++it->second;
    } else if (connections.size() < egress::kMaxRecords) {
      connections.emplace(key, 1);
    } else {
      ++dropped;
    }
  }
  void RecordQuery(const std::string& name, const std::string& verdict) {
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_pair(name, verdict);
    auto it = queries.find(key);
    if (it != queries.end()) {
      ++it->second;
    } else if (queries.size() < egress::kMaxRecords) {
      queries.emplace(key, 1);
    } else {
      ++dropped;
    }
  }

  void Serve();
  void Relay();
  void RelayFlow(UniqueFd client, Flow flow);
  std::vector<uint8_t> Answer(const uint8_t* buf, size_t len);
  net::dns::UpstreamAnswer Forward(const std::string& name, uint16_t qtype);
};

}  // namespace hive
