// The sandbox's resolver: answers inside the sandbox's namespace, forwards allowed names.
#include "base/log.h"
#include "supervisor/egress_state.h"

namespace hive {
using namespace egress;  // NOLINT: the shared constants

void Egress::State::Serve() {
  uint8_t buf[1500];
  for (;;) {
    pollfd p[2] = {{dns.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        recvfrom(dns.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    std::vector<uint8_t> out = Answer(buf, static_cast<size_t>(n));
    if (out.empty()) continue;
    if (sendto(dns.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len) <
        0) {
    }
  }
}

std::vector<uint8_t> Egress::State::Answer(const uint8_t* buf, size_t len) {
  namespace dns = net::dns;
  dns::Question q;
  if (!dns::ParseQuestion(buf, len, &q)) return {};  // not a query: no answer at all
  std::string why;
  std::string name = net::NormalizeName(q.name, &why);
  const std::string shown = name.empty() ? q.name.substr(0, 255) : name;
  if (name.empty() || allow.NameRule(name).empty()) {
    // Never forwarded: the name itself could be the message.
    RecordQuery(shown, "denied");
    return dns::BuildAnswer(q, dns::kNxDomain, {});
  }
  if (q.qclass != dns::kClassIn) return dns::BuildAnswer(q, dns::kRefused, {});
  if (q.qtype == 255) return dns::BuildAnswer(q, dns::kNotImp, {});
  if (q.qtype != dns::kTypeA && q.qtype != dns::kTypeAaaa) {
    // HTTPS/SVCB (no ECH configs, no address hints that bypass the binding), TXT, MX, ...
    RecordQuery(name, "allowed");
    return dns::BuildAnswer(q, dns::kNoError, {});
  }
  dns::UpstreamAnswer a = Forward(name, q.qtype);
  if (!a.ok) {
    RecordQuery(name, "allowed");
    return dns::BuildAnswer(q, dns::kServFail, {});
  }
  std::vector<dns::Address> kept;
  for (dns::Address addr : a.addrs) {
    addr.ip = addr.ip.Canonical();
    const std::string range = net::PrivateRange(addr.ip);
    if (!range.empty() && allow.AddressRule(addr.ip).empty()) {
      // DNS rebinding: an allowed name must not lead into the host's or a private network.
      RecordConnection(name, addr.ip.ToString(), 0, "denied", fmt::format("in a {} range", range));
      continue;
    }
    addr.ttl = std::min(addr.ttl, kMaxClientTtl);
    kept.push_back(addr);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const dns::Address& addr : kept) {
      if (bindings.size() >= kMaxBindings && !bindings.count(addr.ip.ToString())) break;
      bindings[addr.ip.ToString()].insert(name);
    }
  }
  RecordQuery(name, "allowed");
  return dns::BuildAnswer(q, a.rcode, kept);
}

net::dns::UpstreamAnswer Egress::State::Forward(const std::string& name, uint16_t qtype) {
  namespace dns = net::dns;
  static thread_local std::mt19937 rng{std::random_device{}()};
  for (const net::IpAddress& server : upstream) {
    sockaddr_storage ss{};
    socklen_t ss_len = 0;
    if (server.family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(kDnsPort);
      std::memcpy(&a->sin_addr, server.bytes, 4);
      ss_len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(kDnsPort);
      std::memcpy(&a->sin6_addr, server.bytes, 16);
      ss_len = sizeof *a;
    }
    // A fresh id and source port per question; the client's own bytes never go upstream.
    const uint16_t id = static_cast<uint16_t>(rng());
    const std::vector<uint8_t> query = dns::BuildQuery(id, name, qtype);
    if (query.empty()) return {};
    uint8_t buf[4096];
    UniqueFd udp(socket(server.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!udp.valid() || connect(udp.get(), reinterpret_cast<sockaddr*>(&ss), ss_len) != 0 ||
        send(udp.get(), query.data(), query.size(), 0) < 0) {
      continue;
    }
    dns::UpstreamAnswer a;
    for (int tries = 0; tries < 4 && !a.ok; ++tries) {
      pollfd p = {udp.get(), POLLIN, 0};
      if (poll(&p, 1, kUpstreamTimeoutMs) <= 0) break;
      const ssize_t n = recv(udp.get(), buf, sizeof buf, 0);
      if (n > 0) a = dns::ParseAnswer(buf, static_cast<size_t>(n), id, name, qtype);
    }
    if (a.ok && !a.truncated) return a;
    // Truncated (or no UDP answer): the same question over TCP.
    UniqueFd tcp(socket(server.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!tcp.valid()) continue;
    timeval tv = {kUpstreamTimeoutMs / 1000, 0};
    setsockopt(tcp.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(tcp.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(tcp.get(), reinterpret_cast<sockaddr*>(&ss), ss_len) != 0) continue;
    std::vector<uint8_t> framed = {static_cast<uint8_t>(query.size() >> 8),
                                   static_cast<uint8_t>(query.size())};
    framed.insert(framed.end(), query.begin(), query.end());
    if (send(tcp.get(), framed.data(), framed.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(framed.size())) {
      continue;
    }
    uint8_t hdr[2];
    if (recv(tcp.get(), hdr, 2, MSG_WAITALL) != 2) continue;
    const size_t want = static_cast<size_t>(hdr[0] << 8 | hdr[1]);
    if (want > sizeof buf) continue;
    if (recv(tcp.get(), buf, want, MSG_WAITALL) != static_cast<ssize_t>(want)) continue;
    a = dns::ParseAnswer(buf, want, id, name, qtype);
    if (a.ok) return a;
  }
  return {};
}

}  // namespace hive
