#include "script_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <vector>
#include <stdexcept>

namespace peoplesync::testing {
namespace {
std::mutex g_fds_mutex;

// Reads one request (headers plus Content-Length body); false on EOF/error.
bool read_request(int fd, std::string& pending) {
  for (;;) {
    const auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      const auto cl = pending.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(pending.substr(cl + 16));
      if (pending.size() >= end + 4 + length) {
        pending.erase(0, end + 4 + length);
        return true;
      }
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
}
}  // namespace

ScriptServer::ScriptServer(std::vector<Behaviour> script) : script_(std::move(script)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0)
    throw std::runtime_error("ScriptServer: bind/listen failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { run(); });
}

ScriptServer::~ScriptServer() { stop(); }

void ScriptServer::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  {
    std::lock_guard lock(g_fds_mutex);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
}

std::string ScriptServer::response(int status, const std::string& body, const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

void ScriptServer::run() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections_;
    {
      std::lock_guard lock(g_fds_mutex);
      open_fds_.push_back(fd);
    }
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void ScriptServer::serve(int fd) {
  std::string pending;
  while (!stopping_ && read_request(fd, pending)) {
    const int index = requests_++;
    const Behaviour b = index < static_cast<int>(script_.size()) ? script_[index] : script_.back();
    bool keep = true;
    switch (b.kind) {
      case Behaviour::Kind::reply:
        ::send(fd, b.reply.data(), b.reply.size(), MSG_NOSIGNAL);
        break;
      case Behaviour::Kind::reply_and_close:
        ::send(fd, b.reply.data(), b.reply.size(), MSG_NOSIGNAL);
        keep = false;
        break;
      case Behaviour::Kind::close_after_read:
        keep = false;
        break;
      case Behaviour::Kind::never_answer: {
        char c;
        while (!stopping_ && ::recv(fd, &c, 1, 0) > 0) {
        }
        keep = false;
        break;
      }
      case Behaviour::Kind::trickle:
        for (char c : b.reply) {
          if (stopping_ || ::send(fd, &c, 1, MSG_NOSIGNAL) <= 0) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(b.trickle_ms));
        }
        break;
    }
    if (!keep) break;
  }
  std::lock_guard lock(g_fds_mutex);
  std::erase(open_fds_, fd);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace peoplesync::testing
