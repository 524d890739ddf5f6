// The inspection relay: the first flight of each inspected connection checked, then bytes
// copied both ways.
#include "base/log.h"
#include "supervisor/egress_state.h"

namespace hive {
using namespace egress;  // NOLINT: the shared constants

namespace {

// A reset, not a clean close: the client must not take a refusal for an empty answer.
void Reset(int fd) {
  linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

bool SendAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void Egress::State::Relay() {
  for (;;) {
    pollfd p[3] = {{relay4.get(), POLLIN, 0}, {relay6.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[2].revents) return;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & POLLIN)) continue;
      sockaddr_storage peer{};
      socklen_t peer_len = sizeof peer;
      UniqueFd c(accept4(p[i].fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
      if (!c.valid()) continue;
      const uint16_t peer_port = ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
      std::optional<Flow> flow;
      {
        std::lock_guard<std::mutex> lock(mu);
        auto it = flows.find(peer_port);
        if (it != flows.end()) {
          flow = it->second;
          flows.erase(it);
        }
      }
      if (!flow) {
        // Only connections the supervisor made reach a destination; one the sandbox made to
        // the relay's port by itself goes nowhere.
        RecordConnection("", "", 0, "denied",
                         "a connection to the inspection relay that the "
                         "supervisor did not make");
        Reset(c.get());
        continue;
      }
      if (active_flows.load() >= kMaxFlows) {
        RecordConnection(flow->name, flow->ip.ToString(), flow->port, "denied",
                         "too many inspected connections at once");
        Reset(c.get());
        continue;
      }
      for (auto it = flow_threads.begin(); it != flow_threads.end();) {
        if (it->second->load()) {
          it->first.join();
          it = flow_threads.erase(it);
        } else {
          ++it;
        }
      }
      ++active_flows;
      auto done = std::make_shared<std::atomic<bool>>(false);
      flow_threads.emplace_back(std::thread([this, done, fd = c.Release(), f = *flow]() mutable {
                                  RelayFlow(UniqueFd(fd), std::move(f));
                                  done->store(true);
                                }),
                                done);
    }
  }
}

void Egress::State::RelayFlow(UniqueFd client, Flow flow) {
  struct Done {
    std::atomic<int>& n;
    ~Done() { --n; }
  } done{active_flows};
  const std::string ip_text = flow.ip.ToString();
  std::vector<uint8_t> first;
  net::FirstFlight f;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kFirstFlightTimeoutMs);
  while (f.kind == net::FirstFlight::kIncomplete) {
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now())
                                          .count());
    pollfd p[2] = {{client.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    if (left <= 0 || poll(p, 2, left) <= 0 || p[1].revents) {
      f.kind = net::FirstFlight::kUnparseable;
      f.error = "no complete first flight within 10 s";
      break;
    }
    uint8_t buf[16384];
    const ssize_t n = recv(client.get(), buf, sizeof buf, 0);
    if (n <= 0) return;  // the client gave up before asking for anything
    first.insert(first.end(), buf, buf + n);
    f = net::ParseFirstFlight(first.data(), first.size());
  }
  const char* what = f.kind == net::FirstFlight::kTls ? "TLS SNI" : "HTTP Host";
  // The name the client asks for must be allowed and one this address was resolved for
  // (an IP/CIDR entry's address needs neither). "" when it passes.
  auto name_refused = [&](const std::string& asked) -> std::string {
    net::IpAddress literal;
    if (net::ParseIp(asked, &literal) || (asked.size() > 2 && asked.front() == '[')) {
      return flow.ip_rule.empty() ? fmt::format("{} `{}` is an IP address", what, asked) : "";
    }
    if (allow.NameRule(asked).empty()) {
      return fmt::format("{} `{}` is not in allowed_domains", what, asked);
    }
    if (!flow.ip_rule.empty()) return "";
    std::string unused;
    const std::string name = net::NormalizeName(asked, &unused);
    std::lock_guard<std::mutex> lock(mu);
    auto it = bindings.find(ip_text);
    if (it == bindings.end() || !it->second.count(name)) {
      return fmt::format("{} `{}` is not a name {} was resolved for", what, asked, ip_text);
    }
    return "";
  };
  std::string why;
  if (f.kind == net::FirstFlight::kUnparseable) {
    why = "unparseable first flight: " + f.error;
  } else if (f.name.empty()) {
    if (flow.ip_rule.empty()) why = fmt::format("{}: {}", what, f.error);
  } else {
    why = name_refused(f.name);
  }
  const std::string shown_name = flow.name.empty() ? f.name : flow.name;
  if (!why.empty()) {
    RecordConnection(shown_name, ip_text, flow.port, "denied", why);
    Reset(client.get());
    return;
  }
  const std::string reason = (flow.ip_rule.empty() ? fmt::format("name `{}`", flow.name)
                                                   : fmt::format("address `{}`", flow.ip_rule)) +
                             (f.name.empty() ? "" : fmt::format(", {} `{}`", what, f.name)) +
                             // ECH offered anyway (HTTPS answers are empty): the outer name passed;
                             // the inner one is not visible to anyone but the server.
                             (f.ech ? ", encrypted_client_hello offered" : "");
  UniqueFd up(socket(flow.domain, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP));
  int err = up.valid() ? 0 : errno;
  if (err == 0 && connect(up.get(), reinterpret_cast<sockaddr*>(&flow.addr), flow.addr_len) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p = {up.get(), POLLOUT, 0};
      if (poll(&p, 1, kConnectTimeoutMs) <= 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof err;
        if (getsockopt(up.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
  }
  if (err != 0) {
    RecordConnection(shown_name, ip_text, flow.port, "allowed",
                     fmt::format("{}; connect failed: {}", reason, strerror(err)));
    Reset(client.get());
    return;
  }
  RecordConnection(shown_name, ip_text, flow.port, "allowed", reason);
  fcntl(up.get(), F_SETFL, 0);
  const int one = 1;
  setsockopt(up.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // HTTP: every request on the connection is checked, not only the first (keep-alive,
  // pipelining); TLS: the bytes after the ClientHello are opaque.
  const bool http = f.kind == net::FirstFlight::kHttp;
  net::HttpRequestStream requests;
  auto check = [&](const std::string& host) { return name_refused(host); };
  auto to_upstream = [&](const uint8_t* data, size_t n) {
    if (!http) return SendAll(up.get(), data, n);
    std::string forward, no;
    if (!requests.Feed(data, n, check, &forward, &no)) {
      RecordConnection(shown_name, ip_text, flow.port, "denied", "a later request: " + no);
      Reset(client.get());
      Reset(up.get());
      return false;
    }
    return SendAll(up.get(), reinterpret_cast<const uint8_t*>(forward.data()), forward.size());
  };
  if (!to_upstream(first.data(), first.size())) return;
  // Bytes both ways until both sides are done.
  bool client_open = true, up_open = true;
  uint8_t buf[65536];
  while (client_open || up_open) {
    pollfd p[3] = {{client_open ? client.get() : -1, POLLIN, 0},
                   {up_open ? up.get() : -1, POLLIN, 0},
                   {stop.get(), POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[2].revents) return;
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      const int from = i == 0 ? client.get() : up.get();
      const int to = i == 0 ? up.get() : client.get();
      const ssize_t n = recv(from, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0) {
          Reset(to);
          return;
        }
        shutdown(to, SHUT_WR);
        (i == 0 ? client_open : up_open) = false;
        continue;
      }
      if (i == 0 ? !to_upstream(buf, static_cast<size_t>(n))
                 : !SendAll(to, buf, static_cast<size_t>(n))) {
        Reset(from);
        return;
      }
    }
  }
}

}  // namespace hive
