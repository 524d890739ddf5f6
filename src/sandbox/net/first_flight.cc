#include "sandbox/net/first_flight.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

namespace hive::net {
namespace {

FirstFlight Bad(const std::string& why) {
  FirstFlight f;
  f.kind = FirstFlight::kUnparseable;
  f.error = why;
  return f;
}

size_t Get16(const uint8_t* p) { return static_cast<size_t>(p[0] << 8 | p[1]); }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

FirstFlight ParseTls(const uint8_t* buf, size_t len) {
  // The handshake messages, reassembled from consecutive handshake records.
  std::vector<uint8_t> hs;
  size_t pos = 0;
  size_t need = 0;  // the ClientHello's full length, once known
  while (true) {
    if (need > 0 && hs.size() >= need) break;
    if (pos + 5 > len) return FirstFlight{};
    if (buf[pos] != 0x16) return Bad("a TLS record other than a handshake before the ClientHello");
    const size_t rec = Get16(buf + pos + 3);
    if (rec == 0 || rec > 16384 + 256) return Bad("a TLS record of a bad length");
    if (pos + 5 + rec > len) return FirstFlight{};
    hs.insert(hs.end(), buf + pos + 5, buf + pos + 5 + rec);
    pos += 5 + rec;
    if (need == 0 && hs.size() >= 4) {
      if (hs[0] != 1) return Bad("the first TLS handshake message is not a ClientHello");
      need = 4 + (static_cast<size_t>(hs[1]) << 16 | static_cast<size_t>(hs[2]) << 8 | hs[3]);
      if (need > kMaxFirstFlight) return Bad("a ClientHello larger than 64 KiB");
    }
  }
  const uint8_t* p = hs.data() + 4;
  const uint8_t* end = hs.data() + need;
  auto take = [&](size_t n) {
    if (static_cast<size_t>(end - p) < n) return false;
    p += n;
    return true;
  };
  if (!take(2 + 32)) return Bad("a truncated ClientHello");  // version, random
  if (p >= end) return Bad("a truncated ClientHello");
  if (!take(1 + static_cast<size_t>(p[0]))) return Bad("a truncated ClientHello");  // session
  if (end - p < 2 || !take(2 + Get16(p))) return Bad("a truncated ClientHello");    // ciphers
  if (p >= end || !take(1 + static_cast<size_t>(p[0]))) return Bad("a truncated ClientHello");
  FirstFlight f;
  f.kind = FirstFlight::kTls;
  if (p == end) {
    f.error = "no server_name";
    return f;
  }
  if (end - p < 2) return Bad("a truncated ClientHello");
  const uint8_t* ext_end = p + 2 + Get16(p);
  if (ext_end > end) return Bad("a truncated ClientHello");
  p += 2;
  bool seen_sni = false;
  while (p + 4 <= ext_end) {
    const size_t type = Get16(p), elen = Get16(p + 2);
    p += 4;
    if (p + elen > ext_end) return Bad("a truncated ClientHello extension");
    if (type == 0xfe0d) f.ech = true;
    if (type == 0) {
      if (seen_sni) return Bad("two server_name extensions");
      seen_sni = true;
      // server_name_list: one host_name entry is all a client sends.
      if (elen < 5) return Bad("a bad server_name extension");
      const uint8_t* q = p + 2;
      const uint8_t* qend = p + std::min(elen, 2 + Get16(p));
      while (q + 3 <= qend) {
        const uint8_t kind = q[0];
        const size_t nlen = Get16(q + 1);
        if (q + 3 + nlen > qend) return Bad("a bad server_name extension");
        if (kind == 0) {
          if (!f.name.empty()) return Bad("two host names in server_name");
          f.name = Lower(std::string(reinterpret_cast<const char*>(q + 3), nlen));
        }
        q += 3 + nlen;
      }
    }
    p += elen;
  }
  if (f.name.empty()) f.error = "no server_name";
  return f;
}

FirstFlight ParseHttp(const uint8_t* buf, size_t len) {
  const std::string_view text(reinterpret_cast<const char*>(buf), len);
  const size_t head_end = text.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (len >= 16 * 1024) return Bad("an HTTP request head larger than 16 KiB");
    // Methods are upper-case tokens: anything else is not HTTP, whatever follows.
    for (size_t i = 0; i < len && buf[i] != ' '; ++i) {
      if (!std::isupper(buf[i])) return Bad("neither a TLS ClientHello nor an HTTP request");
    }
    return FirstFlight{};
  }
  const std::string_view head = text.substr(0, head_end);
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Bad("a malformed HTTP request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c));
      })) {
    return Bad("neither a TLS ClientHello nor an HTTP request");
  }
  if (line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return Bad("not an HTTP/1.x request (HTTP/2 prior knowledge is not inspected)");
  }
  if (method == "CONNECT") return Bad("an HTTP CONNECT request (a tunnel to anywhere)");
  FirstFlight f;
  f.kind = FirstFlight::kHttp;
  std::string host;
  int hosts = 0;
  size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t e = head.find("\r\n", at);
    if (e == std::string_view::npos) e = head.size();
    const std::string_view h = head.substr(at, e - at);
    at = e + 2;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string key = Lower(std::string(h.substr(0, colon)));
    std::string value(h.substr(colon + 1));
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    if (key == "host") {
      ++hosts;
      host = value;
    } else if (key == "upgrade" && Lower(value).find("h2c") != std::string::npos) {
      return Bad("an h2c upgrade (HTTP/2 is not inspected)");
    }
  }
  if (hosts > 1) return Bad("two Host headers");
  // The absolute form names the host in the target; it must agree with Host.
  if (target.rfind("http://", 0) == 0 || target.rfind("HTTP://", 0) == 0) {
    std::string authority(target.substr(7, target.find('/', 7) - 7));
    if (!host.empty() && Lower(authority) != Lower(host)) {
      return Bad("the request target and Host name different hosts");
    }
    host = authority;
  }
  if (host.empty()) {
    f.error = "no Host";
    return f;
  }
  // Strip the port; a bracketed IPv6 literal stays recognisably an address.
  if (host[0] == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (size_t c = host.rfind(':'); c != std::string::npos) {
    host = host.substr(0, c);
  }
  f.name = Lower(host);
  return f;
}

}  // namespace

FirstFlight ParseFirstFlight(const uint8_t* buf, size_t len) {
  if (len == 0) return FirstFlight{};
  if (buf[0] == 0x16) return ParseTls(buf, len);
  FirstFlight f = ParseHttp(buf, len);
  if (f.kind == FirstFlight::kIncomplete && len >= kMaxFirstFlight) {
    return Bad("no complete request in the first 64 KiB");
  }
  return f;
}

}  // namespace hive::net
