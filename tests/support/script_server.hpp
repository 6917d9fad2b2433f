#pragma once
// A tiny plain-HTTP server on 127.0.0.1 for transport tests, written on
// blocking POSIX sockets in its own thread (no Beast, so it compiles fast).
// Each accepted request is answered by the scripted Behaviour of its index.
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace peoplesync::testing {

struct Behaviour {
  enum class Kind {
    reply,              // send `reply` (a full HTTP response), keep the connection
    reply_and_close,    // send `reply`, then close
    close_after_read,   // read the request, close without answering
    never_answer,       // read the request, hold the connection until stop()
    trickle,            // send `reply` one byte every `trickle_ms`
  };
  Kind kind = Kind::reply;
  std::string reply;
  int trickle_ms = 0;
};

class ScriptServer {
 public:
  explicit ScriptServer(std::vector<Behaviour> script);
  ~ScriptServer();
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  void stop();

  static std::string response(int status, const std::string& body, const std::string& extra_headers = "");

 private:
  void run();
  void serve(int fd);

  std::vector<Behaviour> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::thread acceptor_;
};

}  // namespace peoplesync::testing
