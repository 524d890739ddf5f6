#include "sandbox/net/allowlist.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "base/user_text.h"

namespace hive::net {
namespace {

size_t Size(int family) { return family == AF_INET ? 4 : 16; }

bool IsV4Mapped(const IpAddress& ip) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return ip.family == AF_INET6 && std::memcmp(ip.bytes, kPrefix, 12) == 0;
}

bool InRange(const IpAddress& ip, const char* cidr) {
  Cidr c;
  return ParseCidr(cidr, &c) && c.Contains(ip);
}

}  // namespace

bool IpAddress::operator==(const IpAddress& o) const {
  return family == o.family && std::memcmp(bytes, o.bytes, Size(family)) == 0;
}

IpAddress IpAddress::Canonical() const {
  if (!IsV4Mapped(*this)) return *this;
  IpAddress v4;
  v4.family = AF_INET;
  std::memcpy(v4.bytes, bytes + 12, 4);
  return v4;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "?";
  inet_ntop(family, bytes, buf, sizeof buf);
  return buf;
}

bool ParseIp(const std::string& text, IpAddress* out) {
  IpAddress ip;
  if (inet_pton(AF_INET, text.c_str(), ip.bytes) == 1) {
    ip.family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), ip.bytes) == 1) {
    ip.family = AF_INET6;
  } else {
    return false;
  }
  *out = ip;
  return true;
}

bool Cidr::Contains(const IpAddress& raw) const {
  const IpAddress ip = raw.Canonical();
  if (ip.family != base.family) return false;
  int bits = prefix;
  for (size_t i = 0; i < Size(ip.family) && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

bool ParseCidr(const std::string& text, Cidr* out) {
  Cidr c;
  const size_t slash = text.find('/');
  if (!ParseIp(text.substr(0, slash), &c.base)) return false;
  c.base = c.base.Canonical();
  const int max = c.base.family == AF_INET ? 32 : 128;
  c.prefix = max;
  if (slash != std::string::npos) {
    const std::string bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        !std::all_of(bits.begin(), bits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return false;
    }
    c.prefix = std::stoi(bits);
    if (c.prefix > max) return false;
  }
  *out = c;
  return true;
}

std::string NormalizeName(const std::string& raw, std::string* why) {
  std::string name = raw;
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) {
    *why = "empty name";
    return "";
  }
  if (name.size() > 253) {
    *why = "longer than 253 characters";
    return "";
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const size_t len = dot - start;
    if (len == 0 || len > 63) {
      *why = len == 0 ? "empty label" : "a label longer than 63 characters";
      return "";
    }
    for (size_t i = start; i < dot; ++i) {
      const unsigned char ch = static_cast<unsigned char>(name[i]);
      if (ch >= 0x80) {
        *why = "not ASCII: write an internationalised name in its ASCII (xn--) form";
        return "";
      }
      const bool ok = std::isalnum(ch) || ch == '_' || (ch == '-' && i != start && i + 1 != dot);
      if (!ok) {
        *why = fmt::format("character {} is not allowed in a host name",
                           Quoted(std::string(1, static_cast<char>(ch))));
        return "";
      }
      name[i] = static_cast<char>(std::tolower(ch));
    }
    start = dot + 1;
  }
  return name;
}

std::string PrivateRange(const IpAddress& raw) {
  const IpAddress ip = raw.Canonical();
  struct Range {
    const char* cidr;
    const char* why;
  };
  static const Range kRanges[] = {
      {"127.0.0.0/8", "loopback"},
      {"0.0.0.0/8", "unspecified"},
      {"10.0.0.0/8", "private (RFC 1918)"},
      {"172.16.0.0/12", "private (RFC 1918)"},
      {"192.168.0.0/16", "private (RFC 1918)"},
      {"100.64.0.0/10", "shared address space (RFC 6598)"},
      {"169.254.169.254/32", "cloud metadata"},
      {"169.254.0.0/16", "link-local"},
      {"192.0.0.0/24", "reserved"},
      {"198.18.0.0/15", "reserved"},
      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved"},
      {"::1/128", "loopback"},
      {"::/128", "unspecified"},
      {"::/96", "reserved"},
      {"fd00:ec2::254/128", "cloud metadata"},
      {"fc00::/7", "unique local (fc00::/7)"},
      {"fe80::/10", "link-local"},
      {"ff00::/8", "multicast"},
      {"64:ff9b::/96", "reserved"},
  };
  for (const Range& r : kRanges) {
    if (InRange(ip, r.cidr)) return r.why;
  }
  return "";
}

Result<Allowlist> Allowlist::Parse(const std::vector<std::string>& entries) {
  Allowlist a;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& e = entries[i];
    auto fail = [&](const std::string& why) {
      return Error(Code::kInvalidArgument, fmt::format("[{}]: {}: {}", i, Quoted(e), why));
    };
    Cidr cidr;
    if (ParseCidr(e, &cidr)) {
      a.cidrs_.push_back({cidr, e});
      continue;
    }
    if (e.find('/') != std::string::npos || e.find(':') != std::string::npos) {
      return fail("not an IP address, CIDR or host name");
    }
    std::string why;
    if (e.rfind("*.", 0) == 0) {
      const std::string suffix = NormalizeName(e.substr(2), &why);
      if (suffix.empty()) return fail(why);
      if (suffix.find('.') == std::string::npos) {
        return fail("a wildcard must name a domain below a top-level domain (*.example.com)");
      }
      a.wildcard_.push_back({suffix, e});
      continue;
    }
    if (e.find('*') != std::string::npos) {
      return fail("`*` is allowed only as the whole first label (*.example.com)");
    }
    const std::string name = NormalizeName(e, &why);
    if (name.empty()) return fail(why);
    a.exact_.push_back({name, e});
  }
  return a;
}

std::string Allowlist::NameRule(const std::string& raw) const {
  std::string why;
  const std::string name = NormalizeName(raw, &why);
  if (name.empty()) return "";
  for (const Named& n : exact_) {
    if (n.name == name) return n.entry;
  }
  for (const Named& w : wildcard_) {
    // At least one label more than the suffix, ending at a label boundary.
    if (name.size() > w.name.size() + 1 &&
        name.compare(name.size() - w.name.size(), w.name.size(), w.name) == 0 &&
        name[name.size() - w.name.size() - 1] == '.') {
      return w.entry;
    }
  }
  return "";
}

std::string Allowlist::AddressRule(const IpAddress& ip) const {
  for (const Listed& l : cidrs_) {
    if (l.cidr.Contains(ip)) return l.entry;
  }
  return "";
}

bool PortAllowed(uint16_t port, const std::vector<uint16_t>& blocked,
                 const std::vector<uint16_t>& allowed, std::string* why) {
  if (std::find(blocked.begin(), blocked.end(), port) != blocked.end()) {
    *why = "blocked port";
    return false;
  }
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), port) == allowed.end()) {
    *why = "port not in allowed_ports";
    return false;
  }
  return true;
}

}  // namespace hive::net
