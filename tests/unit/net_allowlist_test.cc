// The network allowlist: names, wildcards, IPs/CIDRs, private ranges, ports; and the policy
// keys that carry them.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include "hive/policy.h"
#include "sandbox/net/allowlist.h"
#include "sandbox/net/dns.h"
#include "sandbox/net/first_flight.h"
#include "sandbox/net/http_stream.h"

namespace {

hive::net::Allowlist List(const std::vector<std::string>& entries) {
  auto a = hive::net::Allowlist::Parse(entries);
  REQUIRE(a.ok());
  return std::move(a).value();
}

hive::net::IpAddress Ip(const std::string& text) {
  hive::net::IpAddress ip;
  REQUIRE(hive::net::ParseIp(text, &ip));
  return ip;
}

std::string PolicyError(const std::string& yaml) {
  auto r = hive::ParsePolicy(yaml, "p.yml", "/base");
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("rule: exact names match case-insensitively, trailing dot ignored") {
  auto a = List({"api.example.com"});
  CHECK(a.NameRule("api.example.com") == "api.example.com");
  CHECK(a.NameRule("API.Example.COM") == "api.example.com");
  CHECK(a.NameRule("api.example.com.") == "api.example.com");
  CHECK(a.NameRule("api.example.com.evil.com").empty());
  CHECK(a.NameRule("evilapi.example.com").empty());
  CHECK(a.NameRule("x.api.example.com").empty());
  CHECK(a.NameRule("example.com").empty());
}

TEST_CASE("rule: a wildcard matches names below it at a label boundary, not the apex") {
  auto a = List({"*.Example.com."});
  CHECK(a.NameRule("www.example.com") == "*.Example.com.");
  CHECK(a.NameRule("a.b.EXAMPLE.com") == "*.Example.com.");
  CHECK(a.NameRule("example.com").empty());
  CHECK(a.NameRule("evilexample.com").empty());
  CHECK(a.NameRule("example.com.evil.org").empty());
  CHECK(a.NameRule(".example.com").empty());
  auto both = List({"*.example.com", "example.com"});
  CHECK(both.NameRule("example.com") == "example.com");
}

TEST_CASE("rule: non-ASCII and malformed names are never allowed") {
  auto a = List({"xn--bcher-kva.example"});
  CHECK(a.NameRule("XN--BCHER-KVA.example") == "xn--bcher-kva.example");
  CHECK(a.NameRule("b\xc3\xbc"
                   "cher.example")
            .empty());
  CHECK(a.NameRule("xn--bcher-kva.example\\000").empty());
  CHECK(a.NameRule("").empty());
  CHECK(a.NameRule("..").empty());
}

TEST_CASE("rule: bad entries are refused with their index and why") {
  auto bad = [](const std::string& e) {
    auto r = hive::net::Allowlist::Parse({"ok.test", e});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind("[1]: ", 0) == 0);
    return r.status().message();
  };
  CHECK(bad("b\xc3\xbc"
            "cher.de")
            .find("xn--") != std::string::npos);
  CHECK(bad("a.*.example.com").find("first label") != std::string::npos);
  CHECK(bad("*.com").find("top-level") != std::string::npos);
  CHECK(bad("*").find("first label") != std::string::npos);
  CHECK(bad("10.0.0.0/33").find("not an IP address") != std::string::npos);
  CHECK(bad("exa mple.com").find("not allowed") != std::string::npos);
  CHECK(bad("-bad.com").find("not allowed") != std::string::npos);
  CHECK(bad("").find("empty") != std::string::npos);
  CHECK(bad(std::string(64, 'a') + ".com").find("63") != std::string::npos);
}

TEST_CASE("rule: IPs and CIDRs match addresses, v4-mapped IPv6 included") {
  auto a = List({"203.0.113.0/24", "2001:db8::99", "198.51.100.7"});
  CHECK(a.AddressRule(Ip("203.0.113.200")) == "203.0.113.0/24");
  CHECK(a.AddressRule(Ip("::ffff:203.0.113.5")) == "203.0.113.0/24");
  CHECK(a.AddressRule(Ip("203.0.114.1")).empty());
  CHECK(a.AddressRule(Ip("2001:db8::99")) == "2001:db8::99");
  CHECK(a.AddressRule(Ip("2001:db8::98")).empty());
  CHECK(a.AddressRule(Ip("198.51.100.7")) == "198.51.100.7");
  CHECK(a.AddressRule(Ip("198.51.100.8")).empty());
  // An IP entry is not a name.
  CHECK(a.NameRule("198.51.100.7").empty());
}

TEST_CASE("rule: private, loopback, link-local and metadata ranges are named") {
  CHECK(hive::net::PrivateRange(Ip("10.1.2.3")) == "private (RFC 1918)");
  CHECK(hive::net::PrivateRange(Ip("172.31.0.1")) == "private (RFC 1918)");
  CHECK(hive::net::PrivateRange(Ip("172.32.0.1")).empty());
  CHECK(hive::net::PrivateRange(Ip("192.168.0.1")) == "private (RFC 1918)");
  CHECK(hive::net::PrivateRange(Ip("127.0.0.1")) == "loopback");
  CHECK(hive::net::PrivateRange(Ip("::1")) == "loopback");
  CHECK(hive::net::PrivateRange(Ip("::ffff:127.0.0.1")) == "loopback");
  CHECK(hive::net::PrivateRange(Ip("169.254.169.254")) == "cloud metadata");
  CHECK(hive::net::PrivateRange(Ip("::ffff:169.254.169.254")) == "cloud metadata");
  CHECK(hive::net::PrivateRange(Ip("169.254.1.1")) == "link-local");
  CHECK(hive::net::PrivateRange(Ip("fd12:3456:789a::1")) == "unique local (fc00::/7)");
  CHECK(hive::net::PrivateRange(Ip("fe80::1")) == "link-local");
  CHECK(hive::net::PrivateRange(Ip("0.0.0.0")) == "unspecified");
  CHECK(hive::net::PrivateRange(Ip("::")) == "unspecified");
  CHECK(hive::net::PrivateRange(Ip("100.64.0.1")) == "shared address space (RFC 6598)");
  CHECK(hive::net::PrivateRange(Ip("224.0.0.1")) == "multicast");
  CHECK(hive::net::PrivateRange(Ip("203.0.113.10")).empty());
  CHECK(hive::net::PrivateRange(Ip("2001:db8::10")).empty());
}

TEST_CASE("rule: blocked ports win, allowed_ports narrows") {
  std::string why;
  CHECK(hive::net::PortAllowed(443, {22}, {}, &why));
  CHECK_FALSE(hive::net::PortAllowed(22, {22}, {}, &why));
  CHECK(why == "blocked port");
  CHECK_FALSE(hive::net::PortAllowed(22, {22}, {22, 443}, &why));
  CHECK_FALSE(hive::net::PortAllowed(80, {}, {443}, &why));
  CHECK(why == "port not in allowed_ports");
  CHECK(hive::net::PortAllowed(443, {}, {443}, &why));
}

TEST_CASE("policy: network keys load and carry into the RunSpec") {
  auto p = hive::ParsePolicy(
      "security:\n  network:\n    allowed_domains: [allowed.test, '*.wild.test', 203.0.113.99]\n"
      "    blocked_ports: [22]\n    allowed_ports: [80, 443]\n"
      "    upstream_dns: [203.0.113.53, '2001:db8::53']\n    inspect_ports: []\n",
      "p.yml", "/base");
  REQUIRE(p.ok());
  CHECK(p->network.allowed_domains.size() == 3);
  CHECK(p->network.allowed_ports == std::vector<uint16_t>{80, 443});
  CHECK(p->network.upstream_dns == std::vector<std::string>{"203.0.113.53", "2001:db8::53"});
  CHECK(p->network.inspect_ports.empty());
  auto d =
      hive::ParsePolicy("security:\n  network:\n    allowed_domains: [a.test]\n", "p.yml", "/");
  REQUIRE(d.ok());
  CHECK(d->network.inspect_ports == std::vector<uint16_t>{80, 443});
  hive::SandboxRequest req;
  req.run_id = "t";
  req.command = {"/bin/true"};
  auto spec = hive::CompileRunSpec(*p, req);
  REQUIRE(spec.ok());
  CHECK(spec->hive.network.enabled);
  CHECK(spec->hive.network.allowed_domains == p->network.allowed_domains);
  CHECK(spec->hive.network.blocked_ports == std::vector<uint16_t>{22});
  CHECK(spec->hive.network.upstream_dns.size() == 2);
  CHECK(spec->hive.root.files.at("/etc/resolv.conf").find("nameserver 127.0.0.53") == 0);
  CHECK(spec->hive.root.files.at("/etc/nsswitch.conf").find("hosts: files dns") !=
        std::string::npos);
}

TEST_CASE("policy: an empty allowlist keeps the network off") {
  auto p = hive::ParsePolicy("security:\n  network:\n    allowed_domains: []\n", "p.yml", "/b");
  REQUIRE(p.ok());
  hive::SandboxRequest req;
  req.run_id = "t";
  req.command = {"/bin/true"};
  auto spec = hive::CompileRunSpec(*p, req);
  REQUIRE(spec.ok());
  CHECK_FALSE(spec->hive.network.enabled);
  CHECK(spec->hive.root.files.count("/etc/resolv.conf") == 0);
}

TEST_CASE("policy: bad network values name the field") {
  CHECK(PolicyError("security:\n  network:\n    allowed_domains: [ok.test, 'a.*.b']\n") ==
        "p.yml:3:32: security.network.allowed_domains[1]: \"a.*.b\": `*` is allowed only as the "
        "whole first label (*.example.com)");
  CHECK(PolicyError("security:\n  network:\n    upstream_dns: [dns.example]\n")
            .find("security.network.upstream_dns[0]: expected an IP address") != std::string::npos);
  CHECK(PolicyError("security:\n  network:\n    allowed_ports: [0]\n")
            .find("security.network.allowed_ports[0]") != std::string::npos);
  CHECK(PolicyError("security:\n  network:\n    inspect_ports: [443, 70000]\n")
            .find("security.network.inspect_ports[1]") != std::string::npos);
  CHECK(PolicyError("security:\n  network:\n    proxy: x\n")
            .find("security.network.proxy: unknown key") != std::string::npos);
}

namespace {

std::vector<uint8_t> ClientHello(const std::string& sni, bool ech = false, size_t split = 0) {
  std::vector<uint8_t> ext;
  auto put16 = [](std::vector<uint8_t>* v, size_t x) {
    v->push_back(static_cast<uint8_t>(x >> 8));
    v->push_back(static_cast<uint8_t>(x));
  };
  if (!sni.empty()) {
    put16(&ext, 0);
    put16(&ext, sni.size() + 5);
    put16(&ext, sni.size() + 3);
    ext.push_back(0);
    put16(&ext, sni.size());
    ext.insert(ext.end(), sni.begin(), sni.end());
  }
  if (ech) {
    put16(&ext, 0xfe0d);
    put16(&ext, 1);
    ext.push_back(0);
  }
  std::vector<uint8_t> body = {3, 3};
  body.insert(body.end(), 32, 7);  // random
  body.push_back(0);               // session id
  put16(&body, 2);                 // cipher suites
  body.push_back(0x13);
  body.push_back(0x01);
  body.push_back(1);  // compression
  body.push_back(0);
  put16(&body, ext.size());
  body.insert(body.end(), ext.begin(), ext.end());
  std::vector<uint8_t> hs = {1, 0};
  put16(&hs, body.size());
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<uint8_t> out;
  // One record, or two when `split` cuts the handshake.
  const size_t cut = split == 0 ? hs.size() : split;
  for (auto [from, to] : {std::pair<size_t, size_t>{0, cut}, {cut, hs.size()}}) {
    if (from == to) continue;
    out.push_back(0x16);
    out.push_back(3);
    out.push_back(1);
    put16(&out, to - from);
    out.insert(out.end(), hs.begin() + static_cast<long>(from), hs.begin() + static_cast<long>(to));
  }
  return out;
}

hive::net::FirstFlight Flight(const std::string& s) {
  return hive::net::ParseFirstFlight(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

TEST_CASE("first flight: the TLS server_name, across records, and what is missing") {
  using hive::net::FirstFlight;
  auto hello = ClientHello("API.Allowed.test");
  auto f = hive::net::ParseFirstFlight(hello.data(), hello.size());
  CHECK(f.kind == FirstFlight::kTls);
  CHECK(f.name == "api.allowed.test");
  CHECK_FALSE(f.ech);
  // Every shorter prefix asks for more bytes, never decides.
  for (size_t n = 1; n < hello.size(); ++n) {
    CHECK(hive::net::ParseFirstFlight(hello.data(), n).kind == FirstFlight::kIncomplete);
  }
  auto split = ClientHello("allowed.test", true, 20);
  f = hive::net::ParseFirstFlight(split.data(), split.size());
  CHECK(f.kind == FirstFlight::kTls);
  CHECK(f.name == "allowed.test");
  CHECK(f.ech);
  auto none = ClientHello("");
  f = hive::net::ParseFirstFlight(none.data(), none.size());
  CHECK(f.kind == FirstFlight::kTls);
  CHECK(f.name.empty());
  CHECK(f.error == "no server_name");
  std::vector<uint8_t> alert = {0x15, 3, 3, 0, 2, 2, 40};
  CHECK(hive::net::ParseFirstFlight(alert.data(), alert.size()).kind == FirstFlight::kUnparseable);
}

TEST_CASE("first flight: the HTTP Host, its port stripped; tunnels and h2 refused") {
  using hive::net::FirstFlight;
  auto f = Flight("GET / HTTP/1.1\r\nHost: Allowed.test:8080\r\nAccept: */*\r\n\r\n");
  CHECK(f.kind == FirstFlight::kHttp);
  CHECK(f.name == "allowed.test");
  CHECK(Flight("GET / HTTP/1.1\r\nHost: allowed.test\r\n").kind == FirstFlight::kIncomplete);
  CHECK(Flight("GET http://other.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n").kind ==
        FirstFlight::kUnparseable);
  CHECK(Flight("GET http://allowed.test/x HTTP/1.1\r\n\r\n").name == "allowed.test");
  CHECK(Flight("CONNECT other.test:443 HTTP/1.1\r\nHost: allowed.test\r\n\r\n").kind ==
        FirstFlight::kUnparseable);
  CHECK(Flight("GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n").kind ==
        FirstFlight::kUnparseable);
  CHECK(Flight("GET / HTTP/1.1\r\nHost: a.test\r\nUpgrade: h2c\r\n\r\n").kind ==
        FirstFlight::kUnparseable);
  CHECK(Flight("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").kind == FirstFlight::kUnparseable);
  CHECK(Flight("SSH-2.0-OpenSSH\r\n").kind == FirstFlight::kUnparseable);
  CHECK(Flight("GET / HTTP/1.1\r\n\r\n").error == "no Host");
  CHECK(Flight("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n").name == "[2001:db8::1]");
}

namespace {

// An upstream answer: header, the question, then records (owner, type, rdata).
struct Rr {
  std::string owner;
  uint16_t type;
  std::vector<uint8_t> rdata;
};

void PutName(std::vector<uint8_t>* out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out->push_back(static_cast<uint8_t>(dot - start));
    out->insert(out->end(), name.begin() + static_cast<long>(start),
                name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out->push_back(0);
}

std::vector<uint8_t> Upstream(uint16_t id, const std::string& q, uint16_t qtype,
                              const std::vector<Rr>& rrs, int rcode = 0) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(id >> 8),
                              static_cast<uint8_t>(id),
                              0x81,
                              static_cast<uint8_t>(0x80 | rcode),
                              0,
                              1,
                              0,
                              static_cast<uint8_t>(rrs.size()),
                              0,
                              0,
                              0,
                              0};
  PutName(&out, q);
  out.insert(out.end(), {0, static_cast<uint8_t>(qtype), 0, 1});
  for (const Rr& r : rrs) {
    PutName(&out, r.owner);
    out.insert(out.end(),
               {0, static_cast<uint8_t>(r.type), 0, 1, 0, 0, 1, 0,
                static_cast<uint8_t>(r.rdata.size() >> 8), static_cast<uint8_t>(r.rdata.size())});
    out.insert(out.end(), r.rdata.begin(), r.rdata.end());
  }
  return out;
}

std::vector<uint8_t> NameData(const std::string& name) {
  std::vector<uint8_t> v;
  PutName(&v, name);
  return v;
}

}  // namespace

TEST_CASE("dns: a question is read, a query built, the answer's CNAME chain followed") {
  namespace dns = hive::net::dns;
  auto query = dns::BuildQuery(0x1234, "chain.allowed.test", dns::kTypeA);
  dns::Question q;
  REQUIRE(dns::ParseQuestion(query.data(), query.size(), &q));
  CHECK(q.id == 0x1234);
  CHECK(q.name == "chain.allowed.test");
  CHECK(q.qtype == dns::kTypeA);
  auto up = Upstream(7, "chain.allowed.test", dns::kTypeA,
                     {{"chain.allowed.test", dns::kTypeCname, NameData("edge1.cdn.test")},
                      {"edge1.cdn.test", dns::kTypeCname, NameData("edge2.cdn.test")},
                      {"edge2.cdn.test", dns::kTypeA, {203, 0, 113, 12}},
                      {"unrelated.test", dns::kTypeA, {10, 0, 0, 1}}});
  auto a = dns::ParseAnswer(up.data(), up.size(), 7, "chain.allowed.test", dns::kTypeA);
  REQUIRE(a.ok);
  REQUIRE(a.addrs.size() == 1);  // the record of a name outside the chain is ignored
  CHECK(a.addrs[0].ip.ToString() == "203.0.113.12");
  // Another id, another question: not our answer.
  CHECK_FALSE(dns::ParseAnswer(up.data(), up.size(), 8, "chain.allowed.test", dns::kTypeA).ok);
  CHECK_FALSE(dns::ParseAnswer(up.data(), up.size(), 7, "other.test", dns::kTypeA).ok);
  // A loop ends in SERVFAIL with no address.
  auto loop = Upstream(9, "loop1.test", dns::kTypeA,
                       {{"loop1.test", dns::kTypeCname, NameData("loop2.test")},
                        {"loop2.test", dns::kTypeCname, NameData("loop1.test")}});
  a = dns::ParseAnswer(loop.data(), loop.size(), 9, "loop1.test", dns::kTypeA);
  CHECK(a.addrs.empty());
  CHECK(a.rcode == dns::kServFail);
  // A compression pointer to itself is refused, not followed forever.
  std::vector<uint8_t> evil = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  CHECK_FALSE(dns::ParseAnswer(evil.data(), evil.size(), 1, "x", dns::kTypeA).ok);
  // The client's answer: its id and question, the addresses as the question's own records.
  auto out = dns::BuildAnswer(q, dns::kNoError, {{Ip("203.0.113.12"), 60}});
  dns::Question echoed;
  CHECK_FALSE(dns::ParseQuestion(out.data(), out.size(), &echoed));  // a response, not a query
  auto back = dns::ParseAnswer(out.data(), out.size(), 0x1234, "chain.allowed.test", dns::kTypeA);
  REQUIRE(back.ok);
  REQUIRE(back.addrs.size() == 1);
  CHECK(back.addrs[0].ttl == 60);
  auto nx = dns::BuildAnswer(q, dns::kNxDomain, {});
  CHECK((nx[3] & 0xf) == dns::kNxDomain);
}

TEST_CASE("http stream: every request's Host is checked; bodies pass by their framing") {
  std::vector<std::string> asked;
  auto check = [&](const std::string& host) {
    asked.push_back(host);
    return host == "allowed.test" ? std::string() : "HTTP Host `" + host + "` refused";
  };
  auto feed = [&](hive::net::HttpRequestStream& s, const std::string& in, std::string* out,
                  std::string* why) {
    return s.Feed(reinterpret_cast<const uint8_t*>(in.data()), in.size(), check, out, why);
  };
  hive::net::HttpRequestStream s;
  std::string out, why;
  // A body that looks like a request head is body, not a request.
  const std::string post =
      "POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 40\r\n\r\n"
      "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n....";
  REQUIRE(post.size() - post.find("GET") == 40);
  CHECK(feed(s, post, &out, &why));
  CHECK(out == post);
  // Chunked, fed one byte at a time: the head is held until complete, then checked.
  const std::string chunked =
      "PUT /x HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n";
  out.clear();
  for (char c : chunked) CHECK(feed(s, std::string(1, c), &out, &why));
  CHECK(out == chunked);
  // The next request on the same connection names another host: refused before it is sent.
  out.clear();
  CHECK_FALSE(feed(s, "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n", &out, &why));
  CHECK(out.empty());
  CHECK(why == "HTTP Host `other.test` refused");
  CHECK(asked == std::vector<std::string>{"allowed.test", "allowed.test", "other.test"});
  // Two framings (request smuggling) and bad sizes are refused.
  hive::net::HttpRequestStream t;
  CHECK_FALSE(feed(t,
                   "POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 3\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
                   &out, &why));
  hive::net::HttpRequestStream u;
  CHECK_FALSE(feed(u,
                   "POST / HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "zz\r\n",
                   &out, &why));
  hive::net::HttpRequestStream v;
  CHECK_FALSE(feed(v, "GET / HTTP/1.1\r\n\r\n", &out, &why));
  CHECK(why == "HTTP Host: no Host");
}
