#include "supervisor/event_loop.h"

#include <fmt/format.h>
#include <sys/epoll.h>

#include <cerrno>

namespace hive {

EventLoop::EventLoop() : ep_(epoll_create1(EPOLL_CLOEXEC)) {}

Status EventLoop::Add(int fd, Handler handler) {
  if (!ep_.valid()) return Errno("epoll_create1");
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Errno(fmt::format("epoll_ctl add fd {}", fd));
  }
  handlers_[fd] = std::move(handler);
  return Ok();
}

void EventLoop::Remove(int fd) {
  if (handlers_.erase(fd) > 0) epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

bool EventLoop::Turn(int target) {
  struct epoll_event events[8];
  int n = epoll_wait(ep_.get(), events, 8, -1);
  if (n < 0) {
    // Nothing to wait on would spin: stop rather than loop (EINTR is only a retry).
    if (errno != EINTR) stopped_ = true;
    return false;
  }
  bool hit = false;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == target) {
      hit = true;
      continue;
    }
    auto it = handlers_.find(fd);
    if (it == handlers_.end()) continue;  // removed by an earlier handler of this turn
    // Copied: the handler may Remove() itself.
    Handler h = it->second;
    h(events[i].events);
  }
  return hit;
}

void EventLoop::Run() {
  while (!stopped_) Turn(-1);
}

bool EventLoop::WaitReadable(int fd) {
  // Registered only while waited for: a readable descriptor nobody reads would make every
  // later epoll_wait return at once.
  if (stopped_ || !Add(fd, nullptr).ok()) return false;
  bool ready = false;
  while (!stopped_ && !ready) ready = Turn(fd);
  Remove(fd);
  return ready;
}

}  // namespace hive
