#include "sandbox/network.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hive::net {

int LoopbackUp() noexcept {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_NEWLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  // A new network namespace's loopback is always index 1 (LOOPBACK_IFINDEX); asking for it
  // by name would cost another socket.
  req.ifi.ifi_index = 1;
  req.ifi.ifi_flags = IFF_UP;
  req.ifi.ifi_change = IFF_UP;
  struct sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &req, sizeof req, 0, reinterpret_cast<struct sockaddr*>(&kernel),
             sizeof kernel) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  int err = n < 0 ? errno : 0;
  close(fd);
  if (n < 0) return -err;
  auto* reply = reinterpret_cast<struct nlmsghdr*>(buf);
  if (reply->nlmsg_type == NLMSG_ERROR) {
    auto* e = static_cast<struct nlmsgerr*>(NLMSG_DATA(reply));
    return e->error;  // 0 is the ack
  }
  return 0;
}

}  // namespace hive::net
