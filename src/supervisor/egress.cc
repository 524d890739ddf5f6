#include "supervisor/egress.h"

#include "base/files.h"
#include "base/log.h"
#include "supervisor/egress_state.h"

namespace hive {
using namespace egress;  // NOLINT: the shared constants
namespace {

uint64_t Cookie(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) return 0;
  return cookie;
}

int SockInt(int fd, int level, int name) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) != 0) return -1;
  return v;
}

bool IsLocal(const net::IpAddress& ip) {
  const std::string range = net::PrivateRange(ip);
  return range == "loopback" || range == "unspecified";
}

// The thread's process (pidfd_open wants a thread group leader unless PIDFD_THREAD).
int OpenPidfd(pid_t tid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
  if (fd >= 0 || errno != EINVAL) return fd;
  Result<std::string> status = ReadFile(fmt::format("/proc/{}/status", tid));
  if (!status.ok()) return -1;
  const size_t at = status->find("\nTgid:");
  if (at == std::string::npos) return -1;
  return static_cast<int>(syscall(SYS_pidfd_open, std::atoi(status->c_str() + at + 6), 0));
}

// The O_CLOEXEC bit of the sandbox's descriptor: a pidfd_getfd copy always has it.
bool CloexecOf(pid_t tid, int fd) {
  Result<std::string> info = ReadFile(fmt::format("/proc/{}/fdinfo/{}", tid, fd));
  if (!info.ok()) return false;
  const size_t at = info->find("flags:");
  if (at == std::string::npos) return false;
  return (std::strtoul(info->c_str() + at + 6, nullptr, 8) & O_CLOEXEC) != 0;
}

}  // namespace

Result<std::unique_ptr<Egress>> Egress::Create(const NetworkSpec& spec) {
  auto refuse = [](const std::string& why) {
    return Error(Code::kUnsupported,
                 "security.network.allowed_domains: per-domain network access " + why);
  };
  // What enforcement stands on; without any of it the run does not start (never open).
  utsname u{};
  uname(&u);
  // Tests pretend an older kernel (only ever a refusal more, never one less).
  if (const char* fake = std::getenv("HIVE_RUN_TEST_KERNEL"); fake != nullptr && *fake) {
    std::snprintf(u.release, sizeof u.release, "%s", fake);
  }
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  if (major < 5 || (major == 5 && minor < 19)) {
    return refuse(fmt::format(
        "needs seccomp user notification with WAIT_KILLABLE_RECV and ADDFD (Linux 5.19+); this "
        "kernel is {}",
        u.release));
  }
  if (!seccomp::NotifySupported()) return refuse("needs seccomp user notification");
  if (geteuid() != 0) {
    return refuse(
        "needs hive-run to run as root (the resolver is bound inside the sandbox's "
        "network namespace)");
  }
  if (Result<std::string> yama = ReadFile("/proc/sys/kernel/yama/ptrace_scope");
      yama.ok() && std::atoi(yama->c_str()) >= 3) {
    return refuse(
        "needs to read the sandbox's connect addresses, which "
        "kernel.yama.ptrace_scope=3 forbids");
  }
  UniqueFd probe(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const uint64_t host_cookie = probe.valid() ? Cookie(probe.get()) : 0;
  if (host_cookie == 0) return refuse("needs SO_NETNS_COOKIE (Linux 5.14+)");

  std::unique_ptr<Egress> e(new Egress());
  e->s_ = std::make_unique<State>();
  State& s = *e->s_;
  s.spec = spec;
  s.host_cookie = host_cookie;
  auto allow = net::Allowlist::Parse(spec.allowed_domains);
  if (!allow.ok()) return allow.status().Wrap("security.network.allowed_domains");
  s.allow = std::move(allow).value();
  for (const std::string& text : spec.upstream_dns) {
    net::IpAddress ip;
    if (!net::ParseIp(text, &ip)) {
      return Error(Code::kInvalidArgument,
                   fmt::format("security.network.upstream_dns: `{}` is not an IP address", text));
    }
    s.upstream.push_back(ip);
  }
  if (s.upstream.empty()) {
    return Error(Code::kInvalidArgument, "security.network.upstream_dns: no nameserver");
  }
  return e;
}

Egress::~Egress() { Stop(); }

Status Egress::Attach(pid_t pid) {
  State& s = *s_;
  UniqueFd ns(open(fmt::format("/proc/{}/ns/net", pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return Errno("open the sandbox's network namespace");
  // A short-lived thread enters the namespace: a socket stays in the namespace it was made
  // in, whichever thread uses it later; the supervisor itself never leaves the host's.
  Status result;
  int dns_fd = -1;
  std::thread t([&]() {
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      result = Errno("enter the sandbox's network namespace");
      return;
    }
    if (int r = net::LoopbackUp(); r < 0) {
      result = Errno("bring up lo in the sandbox", -r);
      return;
    }
    dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (dns_fd < 0) {
      result = Errno("resolver socket");
      return;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kDnsPort);
    inet_pton(AF_INET, kResolverIp, &a.sin_addr);
    if (bind(dns_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      result = Errno(fmt::format("bind the resolver at {}:{}", kResolverIp, kDnsPort));
      return;
    }
    if (s.spec.inspect_ports.empty()) return;
    s.relay4.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    s.relay4_addr.sin_family = AF_INET;
    s.relay4_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof s.relay4_addr;
    if (!s.relay4.valid() ||
        bind(s.relay4.get(), reinterpret_cast<sockaddr*>(&s.relay4_addr), len) != 0 ||
        listen(s.relay4.get(), 4096) != 0 ||
        getsockname(s.relay4.get(), reinterpret_cast<sockaddr*>(&s.relay4_addr), &len) != 0) {
      result = Errno("the inspection relay's listener in the sandbox");
      return;
    }
    // IPv6 sockets get their own listener at ::1 (none when the kernel has no IPv6).
    s.relay6.Reset(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    s.relay6_addr.sin6_family = AF_INET6;
    s.relay6_addr.sin6_addr = in6addr_loopback;
    len = sizeof s.relay6_addr;
    if (!s.relay6.valid() ||
        bind(s.relay6.get(), reinterpret_cast<sockaddr*>(&s.relay6_addr), len) != 0 ||
        listen(s.relay6.get(), 4096) != 0 ||
        getsockname(s.relay6.get(), reinterpret_cast<sockaddr*>(&s.relay6_addr), &len) != 0) {
      s.relay6.Reset();
    }
  });
  t.join();
  s.dns.Reset(dns_fd);
  HIVE_TRY(result);
  s.sandbox_cookie = Cookie(s.dns.get());
  if (s.sandbox_cookie == 0 || s.sandbox_cookie == s.host_cookie) {
    return Error(Code::kInternal, "the resolver's socket is not in the sandbox's namespace");
  }
  s.stop.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s.stop.valid()) return Errno("eventfd");
  s.resolver = std::thread([&s]() { s.Serve(); });
  s.wake.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s.wake.valid()) return Errno("eventfd");
  s.connector = std::thread([&s]() { s.Connect(); });
  if (s.relay4.valid()) s.relay = std::thread([&s]() { s.Relay(); });
  HIVE_LOG(kDebug, "network: resolver at {}:{} in the sandbox, upstream {}", kResolverIp, kDnsPort,
           fmt::join(s.spec.upstream_dns, ", "));
  return Ok();
}

void Egress::SetListener(int fd) { s_->listener_fd = fd; }

void Egress::Stop() {
  if (!s_ || !s_->resolver.joinable()) return;
  const uint64_t one = 1;
  if (write(s_->stop.get(), &one, sizeof one) < 0) {
  }
  s_->resolver.join();
  if (s_->relay.joinable()) s_->relay.join();
  if (s_->connector.joinable()) s_->connector.join();
  for (auto& [t, done] : s_->flow_threads) t.join();
  s_->flow_threads.clear();
}

seccomp::Response Egress::Decide(const seccomp::Notification& n) {
  using seccomp::Response;
  State& s = *s_;
  const std::string call = n.note;  // connect, bind, listen, sendto
  const int fd = static_cast<int>(n.args[0]);
  const bool is_sendto = call == "sendto";

  // The address, copied once: every check below is on this copy.
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (call == "connect" || call == "bind" || is_sendto) {
    const uint64_t ptr = is_sendto ? n.args[4] : n.args[1];
    const uint64_t len = is_sendto ? n.args[5] : n.args[2];
    if (len < sizeof(sa_family_t) || len > sizeof addr) return Response::Errno(EINVAL);
    iovec local = {&addr, static_cast<size_t>(len)};
    iovec remote = {reinterpret_cast<void*>(ptr), static_cast<size_t>(len)};
    if (process_vm_readv(n.pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(len)) {
      return Response::Errno(EFAULT);
    }
    addr_len = static_cast<socklen_t>(len);
  }
  // The thread may be gone and its id reused: everything read so far must be its.
  uint64_t id = n.id;
  if (s.listener_fd >= 0 && ioctl(s.listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) {
    return Response::Errno(ENOENT);
  }
  UniqueFd pidfd(OpenPidfd(n.pid));
  if (!pidfd.valid()) return Response::Errno(ESRCH);
  UniqueFd sk(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!sk.valid()) return Response::Errno(errno == EBADF ? EBADF : EPERM);
  const uint64_t cookie = Cookie(sk.get());
  if (cookie == 0) return Response::Errno(ENOTSOCK);
  const sa_family_t family = addr.ss_family;

  if (cookie == s.host_cookie) {
    // A socket the supervisor connected and installed: it stays as it is. connect(AF_UNSPEC)
    // would disconnect it and leave a host socket free to go anywhere.
    if (call == "connect" && family != AF_UNSPEC) return Response::Errno(EISCONN);
    if (is_sendto) return Response::Errno(EISCONN);
    s.RecordConnection("", "", 0, "denied",
                       fmt::format("{} on a connection the supervisor made", call));
    return Response::Errno(EPERM);
  }
  if (cookie != s.sandbox_cookie) {
    s.RecordConnection("", "", 0, "denied", "socket of another network namespace");
    return Response::Errno(EPERM);
  }
  // In the sandbox's own namespace, binding, listening, Unix sockets and loopback stay there:
  // the kernel does them, and nothing there leads out.
  if (call == "bind" || call == "listen") return Response::Continue();
  if (family != AF_INET && family != AF_INET6) return Response::Continue();

  net::IpAddress ip;
  uint16_t port = 0;
  ip.family = family;
  if (family == AF_INET) {
    if (addr_len < sizeof(sockaddr_in)) return Response::Errno(EINVAL);
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    std::memcpy(ip.bytes, &a->sin_addr, 4);
    port = ntohs(a->sin_port);
  } else {
    if (addr_len < sizeof(sockaddr_in6)) return Response::Errno(EINVAL);
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    std::memcpy(ip.bytes, &a->sin6_addr, 16);
    port = ntohs(a->sin6_port);
  }
  ip = ip.Canonical();
  if (IsLocal(ip)) return Response::Continue();
  const std::string ip_text = ip.ToString();

  const int type = SockInt(sk.get(), SOL_SOCKET, SO_TYPE);
  if (type == SOCK_DGRAM && !is_sendto) {
    // A UDP connect sends nothing; in a namespace without routes it fails (ENETUNREACH) as it
    // should. glibc connects one to each address it sorts.
    return Response::Continue();
  }
  std::string names;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.bindings.find(ip_text);
    if (it != s.bindings.end()) names = *it->second.begin();
  }
  auto refuse = [&](const std::string& reason, int err) {
    s.RecordConnection(names, ip_text, port, "denied", reason);
    HIVE_LOG(kDebug, "network: {} {} {}:{} refused: {}", call, names, ip_text, port, reason);
    return Response::Errno(err);
  };
  if (type == SOCK_DGRAM) return refuse("UDP datagram: only DNS to the resolver", EPERM);
  if (type != SOCK_STREAM) return refuse("not a TCP socket", EPERM);
  if (is_sendto) return refuse("sendto with an address on a TCP socket", EPERM);
  const int protocol = SockInt(sk.get(), SOL_SOCKET, SO_PROTOCOL);
  if (protocol != IPPROTO_TCP) return refuse("not TCP", EPERM);

  std::string why;
  if (!net::PortAllowed(port, s.spec.blocked_ports, s.spec.allowed_ports, &why)) {
    return refuse(why, ECONNREFUSED);
  }
  const std::string ip_rule = s.allow.AddressRule(ip);
  if (ip_rule.empty()) {
    if (names.empty())
      return refuse("not in allowed_domains (no allowed name resolved to it)", EPERM);
    if (const std::string range = net::PrivateRange(ip); !range.empty()) {
      return refuse(fmt::format("{} address", range), EPERM);
    }
  }
  const std::string reason =
      ip_rule.empty() ? fmt::format("name `{}`", names) : fmt::format("address `{}`", ip_rule);
  const int domain = SockInt(sk.get(), SOL_SOCKET, SO_DOMAIN);
  const auto& inspect = s.spec.inspect_ports;
  if (std::find(inspect.begin(), inspect.end(), port) != inspect.end()) {
    // Inspected: the sandbox's own socket is connected to the relay inside its namespace,
    // registered by its local port; the relay checks the first flight, then dials.
    if (domain == AF_INET6 && !s.relay6.valid()) return refuse("no IPv6 inspection relay", EPERM);
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (getsockname(sk.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      return Response::Errno(errno);
    }
    uint16_t local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    if (local_port == 0) {
      sockaddr_storage any{};
      socklen_t any_len;
      if (domain == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&any);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        any_len = sizeof *a;
      } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&any);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        any_len = sizeof *a;
      }
      if (bind(sk.get(), reinterpret_cast<sockaddr*>(&any), any_len) != 0 ||
          getsockname(sk.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
        return Response::Errno(errno);
      }
      local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    }
    State::Flow flow;
    flow.name = ip_rule.empty() ? names : "";
    flow.ip_rule = ip_rule;
    flow.ip = ip;
    flow.port = port;
    flow.addr = addr;
    flow.addr_len = addr_len;
    flow.domain = domain;
    bool full = false;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      full = s.flows.size() >= static_cast<size_t>(kMaxFlows);
      if (!full) s.flows[local_port] = flow;
    }
    if (full) return refuse("too many inspected connections waiting", EAGAIN);
    const int rc =
        domain == AF_INET
            ? connect(sk.get(), reinterpret_cast<sockaddr*>(&s.relay4_addr), sizeof s.relay4_addr)
            : connect(sk.get(), reinterpret_cast<sockaddr*>(&s.relay6_addr), sizeof s.relay6_addr);
    if (rc != 0 && errno != EINPROGRESS) {
      const int e = errno;
      std::lock_guard<std::mutex> lock(s.mu);
      s.flows.erase(local_port);
      return Response::Errno(e);
    }
    return rc == 0 ? Response::Value(0) : Response::Errno(EINPROGRESS);
  }

  // On the sandbox's behalf, from the host's namespace, to the address we checked.
  UniqueFd hs(socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!hs.valid()) return refuse(fmt::format("socket: {}", strerror(errno)), EPERM);
  for (auto [level, opt] : {std::pair<int, int>{IPPROTO_TCP, TCP_NODELAY},
                            {SOL_SOCKET, SO_KEEPALIVE},
                            {IPPROTO_TCP, TCP_KEEPIDLE},
                            {IPPROTO_TCP, TCP_KEEPINTVL},
                            {IPPROTO_TCP, TCP_KEEPCNT},
                            {IPPROTO_TCP, TCP_USER_TIMEOUT}}) {
    const int v = SockInt(sk.get(), level, opt);
    if (v > 0) setsockopt(hs.get(), level, opt, &v, sizeof v);
  }
  if (domain == AF_INET6) {
    const int v6only = SockInt(sk.get(), IPPROTO_IPV6, IPV6_V6ONLY);
    if (v6only >= 0) setsockopt(hs.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  for (int opt : {SO_RCVTIMEO, SO_SNDTIMEO}) {
    timeval tv{};
    socklen_t len = sizeof tv;
    if (getsockopt(sk.get(), SOL_SOCKET, opt, &tv, &len) == 0) {
      setsockopt(hs.get(), SOL_SOCKET, opt, &tv, sizeof tv);
    }
  }
  linger lg{};
  socklen_t lg_len = sizeof lg;
  if (getsockopt(sk.get(), SOL_SOCKET, SO_LINGER, &lg, &lg_len) == 0 && lg.l_onoff) {
    setsockopt(hs.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  int timeout_ms = kConnectTimeoutMs;
  {
    timeval tv{};
    socklen_t len = sizeof tv;
    if (getsockopt(sk.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 &&
        (tv.tv_sec > 0 || tv.tv_usec > 0)) {
      timeout_ms =
          std::min<int>(timeout_ms, static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000));
      timeout_ms = std::max(timeout_ms, 1);
    }
  }
  State::Pending p;
  p.id = n.id;
  p.target_fd = fd;
  p.cloexec = CloexecOf(n.pid, fd);
  // The file status flags (O_NONBLOCK) belong to the sandbox's open file; kept on ours.
  const int fl = fcntl(sk.get(), F_GETFL);
  p.nonblock = fl >= 0 && (fl & O_NONBLOCK);
  p.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  p.domain = names;
  p.ip = ip_text;
  p.port = port;
  p.reason = reason;
  int rc = connect(hs.get(), reinterpret_cast<sockaddr*>(&addr), addr_len);
  if (rc != 0 && errno == EINPROGRESS) {
    // A nearby host answers within a few hundred microseconds: waiting that long here saves
    // the hand-over to the connector thread; anything slower is handed over.
    pollfd pf = {hs.get(), POLLOUT, 0};
    if (poll(&pf, 1, kInlineConnectMs) > 0) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (getsockopt(hs.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
      p.hs = std::move(hs);
      s.Finish(p, so_error);
      return Response::Deferred();
    }
    errno = EINPROGRESS;
  }
  p.hs = std::move(hs);
  if (rc != 0 && errno == EINPROGRESS && s.connector.joinable()) {
    {
      std::lock_guard<std::mutex> lock(s.queue_mu);
      s.queue.push_back(std::move(p));
    }
    const uint64_t one = 1;
    if (write(s.wake.get(), &one, sizeof one) < 0) {
    }
    return Response::Deferred();
  }
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    // No connector (not attached): wait here.
    pollfd pf = {p.hs.get(), POLLOUT, 0};
    if (poll(&pf, 1, timeout_ms) <= 0) {
      err = ETIMEDOUT;
    } else {
      socklen_t len = sizeof err;
      if (getsockopt(p.hs.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
  }
  s.Finish(p, err);
  return Response::Deferred();
}

void Egress::State::Connect() {
  std::vector<Pending> pending;
  for (;;) {
    std::vector<pollfd> fds = {{stop.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
    auto now = std::chrono::steady_clock::now();
    int timeout = -1;
    for (const Pending& p : pending) {
      fds.push_back({p.hs.get(), POLLOUT, 0});
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now).count();
      timeout = timeout < 0 ? static_cast<int>(std::max<int64_t>(left, 0))
                            : std::min(timeout, static_cast<int>(std::max<int64_t>(left, 0)));
    }
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents) {
      // The run is over: whoever still waits is gone with the sandbox.
      for (Pending& p : pending) Finish(p, ECONNABORTED);
      return;
    }
    now = std::chrono::steady_clock::now();
    std::vector<Pending> still;
    for (size_t i = 0; i < pending.size(); ++i) {
      Pending& p = pending[i];
      if (fds[i + 2].revents) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(p.hs.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        Finish(p, err);
      } else if (now >= p.deadline) {
        Finish(p, ETIMEDOUT);
      } else {
        still.push_back(std::move(p));
      }
    }
    pending = std::move(still);
    if (fds[1].revents) {
      uint64_t n;
      if (read(wake.get(), &n, sizeof n) < 0) {
      }
      std::lock_guard<std::mutex> lock(queue_mu);
      for (Pending& p : queue) pending.push_back(std::move(p));
      queue.clear();
    }
  }
}

void Egress::State::Finish(Pending& p, int err) {
  using seccomp::Response;
  if (err != 0) {
    // The sandbox's socket is untouched; it gets the kernel's own answer.
    RecordConnection(p.domain, p.ip, p.port, "allowed",
                     fmt::format("{}; connect failed: {}", p.reason, strerror(err)));
    (void)seccomp::Answer(listener_fd, p.id, Response::Errno(err));
    return;
  }
  fcntl(p.hs.get(), F_SETFL, p.nonblock ? O_NONBLOCK : 0);
  RecordConnection(p.domain, p.ip, p.port, "allowed", p.reason);
  Response r;
  r.kind = Response::Kind::kInjectFd;
  r.fd = p.hs.get();
  r.target_fd = p.target_fd;
  r.cloexec = p.cloexec;
  r.value = 0;
  // Our copy is closed right after: the connection must end when the sandbox closes it.
  (void)seccomp::Answer(listener_fd, p.id, r);
  p.hs.Reset();
}

nlohmann::json Egress::ReportJson() const {
  const State& s = *s_;
  std::lock_guard<std::mutex> lock(s.mu);
  nlohmann::json j;
  j["allowed_domains"] = s.spec.allowed_domains;
  j["upstream_dns"] = s.spec.upstream_dns;
  j["connections"] = nlohmann::json::array();
  for (const auto& [k, count] : s.connections) {
    const auto& [domain, ip, port, verdict, reason] = k;
    j["connections"].push_back(
        {{"domain", domain.empty() ? nlohmann::json(nullptr) : nlohmann::json(domain)},
         {"ip", ip.empty() ? nlohmann::json(nullptr) : nlohmann::json(ip)},
         {"port", port},
         {"verdict", verdict},
         {"reason", reason},
         {"count", count}});
  }
  j["dns"] = nlohmann::json::array();
  for (const auto& [k, count] : s.queries) {
    j["dns"].push_back({{"name", k.first}, {"verdict", k.second}, {"count", count}});
  }
  if (s.dropped > 0) j["records_dropped"] = s.dropped;
  return j;
}

std::vector<seccomp::Denial> Egress::Refusals() const {
  const State& s = *s_;
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<seccomp::Denial> out;
  for (const auto& [k, count] : s.connections) {
    const auto& [domain, ip, port, verdict, reason] = k;
    if (verdict != "denied") continue;
    std::string where;
    if (ip.empty()) {
      where = "socket";
    } else if (port == 0) {
      where = fmt::format("DNS answer {}", ip);
    } else {
      where = ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", ip, port)
                                                : fmt::format("{}:{}", ip, port);
    }
    if (!domain.empty()) where += fmt::format(" ({})", domain);
    out.push_back({"network", fmt::format("{} refused: {}", where, reason), count});
  }
  for (const auto& [k, count] : s.queries) {
    if (k.second != "denied") continue;
    out.push_back({"network",
                   fmt::format("DNS query for {} refused: not in allowed_domains (NXDOMAIN, not "
                               "forwarded)",
                               k.first),
                   count});
  }
  return out;
}

}  // namespace hive
